"""The ``Callback`` base class, ``History``, ``Resume`` and ``run_hooks``: how ``fit`` calls the hooks.

Before training, ``fit`` calls ``set_training(trainer, callbacks)`` on every
callback (so a checkpointing callback can reach the model and the other
callbacks' states), then the ``on_train_begin`` hooks, then ``resume(state)``:
the first callback that returns a ``Resume`` (``BackupAndRestore`` after a
crash) sets the state, the epoch to continue from, the history so far and the
callbacks' states.

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
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from fnnet._checks import flag, hyperparameter
from fnnet.protocols import CallbackLike, Logs

if TYPE_CHECKING:  # training builds on the callbacks: its types are for the checker only
    from fnnet.training import Trainer, TrainState


class Resume(NamedTuple):
    """Where a resumed run continues: its state, the number of epochs done, the history and callback states."""

    state: TrainState
    epoch: int
    history: dict[str, list[float]]
    # one get_state() dict per callback fit was given, in order (History not included)
    callback_states: list[dict[str, Any]]


class Callback:
    """Base class: every hook does nothing; set ``stop_training = True`` to stop.

    ``get_state()``/``set_state(state)`` hold what a callback must remember
    across a checkpoint (JSON-serializable); the base has nothing to keep.
    ``get_state() -> dict`` gives the counters a stateful callback keeps
    (epochs waited, the best value so far, ...) as numbers, strings,
    booleans, None, lists and dicts (an infinite value is written as None),
    and ``set_state(dict)`` puts them back exactly, so that a resumed run
    decides as the uninterrupted one would. ``fit`` calls ``set_state``
    after ``on_train_begin`` (through ``resume``); a callback restored
    before ``fit`` keeps its state through ``on_train_begin`` too. Arrays
    (such as ``EarlyStopping.best_params``) are not in it: a checkpoint
    stores those as tensors. The defaults: ``{}`` and a no-op.
    """

    stop_training: bool = False
    trainer: Trainer | None = None
    callbacks: Sequence[Callback] = ()

    def set_training(self, trainer: Trainer, callbacks: Sequence[Callback]) -> None:
        """Called by ``fit`` first: the ``Trainer`` and the user's callbacks, in order (``History`` last)."""
        self.trainer, self.callbacks = trainer, callbacks

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        return None

    def resume(self, state: TrainState) -> Resume | None:
        """A ``Resume`` to continue an interrupted run from, or None (the default)."""
        return None

    def on_epoch_begin(self, epoch: int, state: TrainState) -> TrainState | None:
        return None

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        return None

    def on_train_end(self, state: TrainState) -> TrainState | None:
        return None

    def get_state(self) -> dict[str, Any]:
        """What this callback counts, as a JSON-serializable dict (``{}``: nothing)."""
        return {}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore what ``get_state`` returned (the default keeps nothing)."""
        return None


class History(Callback):
    """Records every epoch's logs: ``history[name]`` lists the values, ``epoch`` the epoch indices."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        self.history, self.epoch = {}, []

    def get_state(self) -> dict[str, Any]:
        return {"history": self.history, "epoch": self.epoch}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.history = {name: list(values) for name, values in state["history"].items()}
        self.epoch = list(state["epoch"])

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)


def as_list(callbacks: Callback | Iterable[Callback] | None) -> list[Callback]:
    """``callbacks`` as a list: one ``Callback`` alone is ``[callback]`` (Keras users pass one); others are named."""
    if isinstance(callbacks, Callback):
        return [callbacks]
    if callbacks is None:
        return []
    if not isinstance(callbacks, Iterable) or isinstance(callbacks, (str, bytes, dict)):
        raise TypeError(f"callbacks must be a list of fnnet.callbacks.Callback, got {callbacks!r}")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be fnnet.callbacks.Callback instances, got {callback!r}")
    return callbacks


def run_hooks(callbacks: Iterable[CallbackLike], hook: str, state: TrainState, *args: Any) -> TrainState:
    """Call ``hook`` on every callback in order; a hook returning a state replaces the current one."""
    for callback in callbacks:
        new = getattr(callback, hook)(*args, state)
        state = state if new is None else new
    return state


def resume(callbacks: Sequence[Callback], history: History, state: TrainState) -> tuple[TrainState, int]:
    """``(state, first epoch)`` after the first callback's ``Resume``, applied to ``callbacks`` and ``history``.

    Without one, ``(state, 0)``. ``callbacks`` are the user's, in order; the
    ``Resume`` must hold one state per callback.
    """
    for callback in callbacks:
        found = callback.resume(state)
        if found is not None:
            if len(found.callback_states) != len(callbacks):
                raise ValueError(f"the checkpoint holds the states of {len(found.callback_states)} callbacks, but "
                                 f"fit was given {len(callbacks)}; resume with the callbacks of the interrupted run")
            for other, saved in zip(callbacks, found.callback_states):
                other.set_state(saved)
            history.set_state({"history": found.history, "epoch": list(range(found.epoch))})
            return found.state, found.epoch
    return state, 0


def monitored_value(callback_name: str, monitor: str, logs: Mapping[str, float], *,
                    required: bool = True) -> Any:
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
        raise TypeError(f"monitor must be a log name (a str such as 'val_loss'), got {monitor!r} of type "
                        f"{type(monitor).__name__}")
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
    return int(hyperparameter("verbose", int(verbose) if isinstance(verbose, bool) else verbose, integer=True,
                              low=0, high=1))


def json_number(value: Any) -> float | None:
    """A float for JSON: ``None`` for an infinite or NaN value (strict JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def from_json_number(value: float | None, default: float) -> float:
    """The float ``json_number`` wrote, or ``default`` for ``None``."""
    return default if value is None else float(value)
