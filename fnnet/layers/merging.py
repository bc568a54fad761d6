"""Merge layers of functional graphs: each takes a list of inputs (``apply(params, [x1, x2, ...])``).

- ``Add``:       ``y = x1 + x2 + ...``
- ``Subtract``:  ``y = x1 - x2``               (exactly two inputs)
- ``Multiply``:  ``y = x1 * x2 * ...``
- ``Average``:   ``y = (x1 + ... + xn) / n``
- ``Maximum``, ``Minimum``: elementwise ``max`` / ``min``
- ``Concatenate(axis=-1)``: joined along ``axis`` (Keras's: it counts the batch axis)

Elementwise merges need shapes that broadcast (equal, or 1 where they
differ) and equal ranks; ``init`` and ``output_shape`` take the list of
input shapes. They have no params.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fnnet._checks import hyperparameter
from fnnet.layers.base import Layer, as_shape, layer, no_penalty, register


def _shapes(kind: str, input_shapes: Any, exactly: int | None = None) -> list[tuple[int, ...]]:
    if not isinstance(input_shapes, (list, tuple)) or not input_shapes or isinstance(input_shapes[0], int):
        raise TypeError(f"{kind} takes a list of inputs, got input shape {input_shapes!r}")
    shapes = [as_shape(s) for s in input_shapes]
    if exactly is not None and len(shapes) != exactly:
        raise ValueError(f"{kind} takes exactly {exactly} inputs, got {len(shapes)}")
    if exactly is None and len(shapes) < 2:
        raise ValueError(f"{kind} takes at least 2 inputs, got {len(shapes)}")
    return shapes


def _inputs(kind: str, xs: Sequence[jax.Array]) -> list[jax.Array]:
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"{kind} takes a list of arrays, got {type(xs).__name__}")
    return list(xs)


def _elementwise(
    kind: str, combine: Callable[[list[jax.Array]], jax.Array], exactly: int | None = None, *, name: str | None = None
) -> Layer:
    def output_shape(input_shapes):
        shapes = _shapes(kind, input_shapes, exactly)
        if len({len(s) for s in shapes}) != 1:
            raise ValueError(f"{kind} needs inputs of equal rank, got shapes {[(None, *s) for s in shapes]}")
        try:
            return tuple(np.broadcast_shapes(*shapes))
        except ValueError:
            raise ValueError(f"{kind} needs inputs of equal shapes, got {[(None, *s) for s in shapes]}") from None

    def init(key, input_shapes, dtype=jnp.float32):
        output_shape(input_shapes)
        return {}

    def apply(params, xs, *, key=None, training=False):
        xs = _inputs(kind, xs)
        output_shape([tuple(jnp.shape(x)[1:]) for x in xs])
        return combine(xs)

    return layer(kind, init, apply, no_penalty, output_shape, name=name)


def Add(*, name: str | None = None) -> Layer:
    """``y = x1 + x2 + ...`` (Keras ``Add``), e.g. a residual connection."""
    return _elementwise("Add", lambda xs: functools.reduce(jnp.add, xs), name=name)


def Subtract(*, name: str | None = None) -> Layer:
    """``y = x1 - x2`` (Keras ``Subtract``): exactly two inputs."""
    return _elementwise("Subtract", lambda xs: xs[0] - xs[1], 2, name=name)


def Multiply(*, name: str | None = None) -> Layer:
    """``y = x1 * x2 * ...`` elementwise (Keras ``Multiply``)."""
    return _elementwise("Multiply", lambda xs: functools.reduce(jnp.multiply, xs), name=name)


def Average(*, name: str | None = None) -> Layer:
    """``y = (x1 + ... + xn) / n`` (Keras ``Average``)."""
    return _elementwise("Average", lambda xs: functools.reduce(jnp.add, xs) / len(xs), name=name)


def Maximum(*, name: str | None = None) -> Layer:
    """``y = max(x1, x2, ...)`` elementwise (Keras ``Maximum``)."""
    return _elementwise("Maximum", lambda xs: functools.reduce(jnp.maximum, xs), name=name)


def Minimum(*, name: str | None = None) -> Layer:
    """``y = min(x1, x2, ...)`` elementwise (Keras ``Minimum``)."""
    return _elementwise("Minimum", lambda xs: functools.reduce(jnp.minimum, xs), name=name)


def Concatenate(axis: int = -1, *, name: str | None = None) -> Layer:
    """Join the inputs along ``axis`` (Keras ``Concatenate``; ``axis`` counts the batch axis, -1 the last)."""
    axis = int(hyperparameter("Concatenate axis", axis, integer=True))

    def output_shape(input_shapes):
        shapes = _shapes("Concatenate", input_shapes)
        ndim = len(shapes[0]) + 1
        if len({len(s) for s in shapes}) != 1 or not -ndim <= axis < ndim or axis % ndim == 0:
            raise ValueError(
                f"Concatenate(axis={axis}) needs inputs of equal rank with a feature axis {axis}, "
                f"got shapes {[(None, *s) for s in shapes]}"
            )
        index = axis % ndim - 1
        rest = {s[:index] + s[index + 1 :] for s in shapes}
        if len(rest) != 1:
            raise ValueError(
                f"Concatenate(axis={axis}) needs inputs whose shapes agree except along axis {axis}, "
                f"got {[(None, *s) for s in shapes]}"
            )
        shape = list(shapes[0])
        shape[index] = sum(s[index] for s in shapes)
        return tuple(shape)

    def init(key, input_shapes, dtype=jnp.float32):
        output_shape(input_shapes)
        return {}

    def apply(params, xs, *, key=None, training=False):
        xs = _inputs("Concatenate", xs)
        output_shape([tuple(jnp.shape(x)[1:]) for x in xs])
        return jnp.concatenate(xs, axis=axis)

    return layer("Concatenate", init, apply, no_penalty, output_shape, name=name, arguments={"axis": axis})


MERGES = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate)
"""Every merge layer kind: these take a list of inputs."""

for _factory in MERGES:
    register(_factory.__name__, _factory)
