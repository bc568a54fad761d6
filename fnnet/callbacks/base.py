"""What the callbacks share: the hooks' base class (from ``fnnet.training.hooks``, where ``fit`` calls them),
how a monitor is read and checked, and JSON numbers for callback states.

``monitored_value`` is how a callback with a ``monitor=`` reads it from an
epoch's logs. The first epoch decides: a monitor that the first epoch's logs
lack is a typo (or a ``val_`` log without validation data), so it raises a
ValueError there, before the callback does anything, listing the logs and
the closest name; it never silently disables the callback.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from typing import Any

from fnnet._checks import flag, hyperparameter
from fnnet.training.hooks import Callback, History, Resume, as_list, resume, run_hooks

__all__ = [
    "Callback",
    "History",
    "Resume",
    "as_list",
    "check_monitor",
    "check_sign",
    "check_verbose",
    "from_json_number",
    "json_number",
    "monitored_value",
    "resume",
    "run_hooks",
]


def monitored_value(callback_name: str, monitor: str, logs: Mapping[str, float], *, required: bool = True) -> Any:
    """``logs[monitor]``; for a monitor no log has, a ValueError (``required``) or None.

    The error names the callback, the monitor and the logs, with the closest
    log name (``difflib.get_close_matches``) or, for a ``val_`` monitor when
    no log is a ``val_`` one, that validation data is needed::

        EarlyStopping monitors 'val_los', which no log has; the logs are
        ['loss', 'accuracy', 'val_loss', 'val_accuracy'] (did you mean 'val_loss'?)

    The rule every monitoring callback follows: the first epoch decides. In
    the first epoch of a ``fit`` the monitor is required (a missing one is a
    typo, raised before the callback acts). After that, a callback may pass
    ``required=False`` and get None for an epoch whose logs lack it, then act
    as Keras does (``ModelCheckpoint`` warns and skips the epoch);
    ``EarlyStopping`` and ``ReduceLROnPlateau`` always require it.
    """
    check_monitor(monitor)
    required = flag("required", required)
    if not isinstance(logs, Mapping):
        raise TypeError(f"logs must be a dict of log name -> number, got {logs!r}")
    if monitor in logs:
        value = logs[monitor]
        if isinstance(value, (bool, str)) or not (isinstance(value, numbers.Real) or hasattr(value, "dtype")):
            raise TypeError(f"logs[{monitor!r}] must be a number, got {value!r}")
        return value  # NaN included: the callbacks treat a NaN epoch as no improvement
    if not required:
        return None
    names = list(logs)
    if monitor.startswith("val_") and not any(name.startswith("val_") for name in names):
        hint = " (val_ logs need validation data: pass validation_split or validation_data to fit)"
    else:
        close = difflib.get_close_matches(monitor, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"{callback_name} monitors {monitor!r}, which no log has; the logs are {names}{hint}")


def check_monitor(monitor: object) -> str:
    """A constructor's check of ``monitor``: a non-empty str (TypeError for another type). Returns it."""
    if not isinstance(monitor, str):
        raise TypeError(
            f"monitor must be a log name (a str such as 'val_loss'), got {monitor!r} of type {type(monitor).__name__}"
        )
    if not monitor:
        raise ValueError("monitor must be a log name such as 'val_loss', got ''")
    return monitor


def check_sign(sign: object) -> float:
    """A rule's ``sign``: +1 (the monitor is maximised) or -1 (minimised). Returns it."""
    if isinstance(sign, bool) or not isinstance(sign, numbers.Real) or sign not in (1, -1):
        raise ValueError(f"sign must be +1 (maximise the monitor) or -1 (minimise it), got {sign!r}")
    return float(sign)  # pyright: ignore[reportArgumentType]


def check_verbose(verbose: int) -> int:
    """A constructor's check of ``verbose``: 0 or 1 (True and False too, as 1 and 0). Returns it as an int."""
    return int(
        hyperparameter("verbose", int(verbose) if isinstance(verbose, bool) else verbose, integer=True, low=0, high=1)
    )


def json_number(value: Any) -> float | None:
    """A float for JSON: ``None`` for an infinite or NaN value (strict JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def from_json_number(value: float | None, default: float) -> float:
    """The float ``json_number`` wrote, or ``default`` for ``None``."""
    return default if value is None else float(value)
