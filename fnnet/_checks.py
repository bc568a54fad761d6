"""Boundary checks on hyperparameters, with messages that say what was expected and given."""

import contextlib
import math
import numbers
import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

import jax
import jax.core
import jax.numpy as jnp
import numpy as np

T = TypeVar("T")


def hyperparameter(
    name: str,
    value: T,
    *,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    high_inclusive: bool = True,
    low_inclusive: bool = True,
) -> T:
    """Check that ``value`` is a finite (integer) number in ``[low, high]`` (or ``[low, high)``, ``(low, high]``).

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
    too_low = low is not None and (number < low if low_inclusive else number <= low)
    too_high = high is not None and (number > high if high_inclusive else number >= high)
    if too_low or too_high:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        interval = (
            f"{'[' if low_inclusive and low is not None else '('}{lo}, "
            f"{hi}{']' if high_inclusive and high is not None else ')'}"
        )
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


def describe(value: object) -> str:
    """``value`` for a message: an array by its shape and dtype, anything else by its repr and type."""
    if isinstance(value, (np.ndarray, jax.Array)):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return f"{text if len(text) <= 80 else text[:77] + '...'} of type {type(value).__name__}"


def one_of(name: str, value: T, choices: Sequence[str]) -> T:
    """Check that ``value`` is one of the names ``choices`` (a ``Literal``'s values); returns it."""
    if not isinstance(value, str) or value not in choices:
        error = ValueError if isinstance(value, str) else TypeError
        raise error(f"{name} must be one of {', '.join(map(repr, choices))}, got {describe(value)}")
    return value


def function(name: str, value: T, *, factories: Sequence[Callable[..., Any]] = ()) -> T:
    """Check that ``value`` is callable, and not one of ``factories`` passed uncalled (``l2`` for ``l2(1e-4)``)."""
    for factory in factories:
        if value is factory:
            label = getattr(factory, "__qualname__", repr(factory))
            raise TypeError(
                f"{name} got the factory {label} itself; call it and pass what it returns, e.g. {label}(...)"
            )
    if not callable(value):
        raise TypeError(f"{name} must be a callable, got {describe(value)}")
    return value


def path_like(name: str, value: object) -> str:
    """Check that ``value`` is a non-empty ``str`` or ``os.PathLike`` path; returns it as a ``str``."""
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(path, str):
        raise TypeError(f"{name} must be a path (a str or os.PathLike), got {describe(value)}")
    if not path:
        raise ValueError(f"{name} must be a path, got an empty string")
    return path


def shape(name: str, value: object, *, low: int = 1) -> tuple[int, ...]:
    """Check that ``value`` is an int or a sequence of ints ``>= low`` (a shape); returns it as a tuple."""
    dims = (value,) if isinstance(value, numbers.Integral) else value
    if (
        isinstance(dims, (str, bytes, dict))
        or not isinstance(dims, Sequence)
        or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in dims)
    ):
        raise TypeError(f"{name} must be an int or a tuple of ints, got {describe(value)}")
    if any(d < low for d in dims):
        raise ValueError(f"{name} must hold ints >= {low}, got {tuple(dims)!r}")
    return tuple(int(d) for d in dims)


def dtype(name: str, value: Any) -> np.dtype:
    """Check that ``value`` names a dtype (``"float32"``, ``jnp.bfloat16``, ...); returns it as a NumPy dtype."""
    if (
        value is None
        or isinstance(value, (bool, numbers.Number))
        or (isinstance(value, str) and not (value.isprintable() and value.strip() == value))
    ):
        raise TypeError(f"{name} must be a dtype such as 'float32', got {describe(value)}")
    try:
        found = jnp.dtype(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a dtype such as 'float32', got {describe(value)}") from None
    numeric = found.kind in "biufc" or jnp.issubdtype(
        found, jnp.floating
    )  # not timedelta64, which NumPy calls a number
    if not numeric or found.itemsize > (
        16 if jnp.issubdtype(found, jnp.complexfloating) else 8
    ):  # float128: no JAX dtype
        raise TypeError(f"{name} must be a dtype of numbers such as 'float32', got {value!r} ({found})")
    return found


def axis(name: str, value: object, ndim: int) -> int:
    """Check that ``value`` is an int axis of an array of ``ndim`` dimensions (negative counts from the end)."""
    hyperparameter(name, value, integer=True)
    if not -ndim <= cast(int, value) < ndim:
        raise ValueError(f"{name} must be an axis in [{-ndim}, {ndim}) of an array of {ndim} dimensions, got {value}")
    return int(cast(int, value))


def real_array(name: str, value: object) -> Any:
    """``value`` as an array of real numbers (bool, int or float), or a ``TypeError`` naming ``name``.

    JAX arrays and tracers are checked by their dtype alone (no pass over the
    values, nothing that stops ``jit``); anything else goes through ``np.asarray``.
    """
    if isinstance(value, (jax.Array, np.ndarray, jax.core.Tracer)):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be an array of numbers, got {describe(value)}") from None
    dtype_ = array.dtype
    if not (dtype_ == np.bool_ or jnp.issubdtype(dtype_, jnp.integer) or jnp.issubdtype(dtype_, jnp.floating)):
        got = f"dtype {dtype_}" if isinstance(value, (jax.Array, np.ndarray, jax.core.Tracer)) else describe(value)
        raise TypeError(f"{name} must hold real numbers (bool, int or float), got {got}")
    return array


@contextlib.contextmanager
def naming(name: str) -> Iterator[None]:
    """Prefix ``"{name}: "`` to a TypeError or ValueError raised inside that does not name ``name`` already.

    For arguments resolved by a shared function (``initializers.get`` says
    "unknown initializer"; ``Dense`` has two initializer arguments).
    """
    try:
        yield
    except (TypeError, ValueError) as error:
        if type(error) not in (TypeError, ValueError) or re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", str(error)):
            raise
        raise type(error)(f"{name}: {error}") from error


def resolve(name: str, get: Callable[[Any], T], value: object) -> T:
    """``get(value)`` (a registry lookup such as ``initializers.get``) with its errors naming the argument ``name``."""
    with naming(name):
        return get(value)
