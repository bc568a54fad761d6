"""Boundary checks on hyperparameters, with messages that say what was expected and given."""

import math
import numbers

import jax
import numpy as np


def hyperparameter(name, value, *, integer=False, low=None, high=None, high_inclusive=True):
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
    too_low = low is not None and scalar < low
    too_high = high is not None and (scalar > high if high_inclusive else scalar >= high)
    if too_low or too_high:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        interval = f"[{lo}, {hi}{']' if high_inclusive and high is not None else ')'}"
        raise ValueError(f"{name} must be {kind} in {interval}, got {value!r}")
    return value


def flag(name, value):
    """Check that ``value`` is a bool (``"no"``, 0 or None would be read as one silently); returns it as a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} of type {type(value).__name__}")
    return bool(value)
