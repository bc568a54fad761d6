"""Boundary checks on hyperparameters, with messages that say what was expected and given."""

import math
import numbers
from typing import TypeVar, cast

import jax
import jax.core
import numpy as np

T = TypeVar("T")


def hyperparameter(name: str, value: T, *, integer: bool = False, low: float | None = None, high: float | None = None,
                   high_inclusive: bool = True) -> T:
    """Check that ``value`` is a finite (integer) number in ``[low, high]`` (or ``[low, high)``).

    A traced value (a hyperparameter swept under ``vmap``) cannot be checked
    here and is passed through. Returns the value.
    """
    if isinstance(value, jax.core.Tracer):
        return value
    kind = "an integer" if integer else "a number"
    expected = numbers.Integral if integer else numbers.Real
    if isinstance(value, (np.ndarray, jax.Array)) and value.ndim == 0:
        scalar = value.item()
    else:
        scalar = value
    if isinstance(scalar, bool) or not isinstance(scalar, expected):
        raise TypeError(f"{name} must be {kind}, got {value!r} of type {type(value).__name__}")
    if not math.isfinite(scalar):
        raise ValueError(f"{name} must be finite, got {value!r}")
    number = cast(float, scalar)  # an Integral or a Real: it compares with floats
    too_low = low is not None and number < low
    too_high = high is not None and (number > high if high_inclusive else number >= high)
    if too_low or too_high:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        interval = f"[{lo}, {hi}{']' if high_inclusive and high is not None else ')'}"
        raise ValueError(f"{name} must be {kind} in {interval}, got {value!r}")
    return value


def flag(name: str, value: object) -> bool:
    """Check that ``value`` is a bool (``"no"``, 0 or None would be read as one silently); returns it as a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} of type {type(value).__name__}")
    return bool(value)


def as_tuple(value, name) -> tuple:
    """A tuple of ``value``'s items; one callable or string alone is ``(value,)``, None is ``()``.

    Keras users pass a single regularizer or metric where a list goes; a
    value that is neither one item nor an iterable is a ``TypeError`` naming
    ``name``.
    """
    if value is None:
        return ()
    if callable(value) or isinstance(value, str):
        return (value,)
    if isinstance(value, (dict, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list (or one item), got {value!r} of type {type(value).__name__}")
    return tuple(value)
