"""``Sequential``: a stack of layers applied in order, itself a ``Layer`` (registered as ``"Sequential"``).

Its params are a dict from layer name (``"dense"``, ``"dense_1"``, ..., or
the ``name=`` given) to that layer's params; parameter-free layers have no
entry. The child at position ``i`` gets the key ``fold_in(key, i)`` in
``init`` and in ``apply``.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet import layers as layers_package
from fnnet._checks import describe, flag
from fnnet.keys import as_key, optional_key
from fnnet.layers.base import Layer, ModelLayer, as_shape, automatic_names, blame, check_param_names, from_config
from fnnet.layers.base import layer, register
from fnnet.layers.symbolic import SymbolicTensor, check_arrays

__all__ = ["Sequential"]


def Sequential(layers: Iterable[Layer], *, name: str | None = None) -> ModelLayer:
    """A stack of layers applied in order, itself a ``Layer``: ``y = f_n(... f_1(x))``.

    Layers without a ``name=`` get Keras's automatic names, restarting for
    every model. ``init`` plans every layer's output shape first, so a
    mismatch names the layer; ``apply`` derives each random layer's key from
    ``key`` with ``jax.random.fold_in`` by position. ``apply_train`` threads
    the keys the same way and returns each child's updates under its name.

    Args:
        layers: the ``Layer`` values, first applied first.
        name: the model's name.

    Returns:
        A ``Layer`` whose params map each parametrized layer's name to its params.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from fnnet.layers import Dense, Dropout
        >>> model = Sequential([Dense(8, activation="relu"), Dropout(0.5), Dense(2)])
        >>> params = model.init(jax.random.key(0), (4,))
        >>> sorted(params), model.apply(params, jnp.ones((3, 4))).shape
        (['dense', 'dense_1'], (3, 2))
    """
    if isinstance(layers, Layer):
        raise TypeError("Sequential takes a list of layers, got one layer: Sequential([layer])")
    if isinstance(layers, (str, bytes, dict)) or not isinstance(layers, Iterable):
        raise TypeError(f"Sequential takes a list of fnnet layers, got {describe(layers)}")
    layers = tuple(layers)
    if not layers:
        raise ValueError("Sequential needs at least one layer, got an empty list")
    for child in layers:
        if not isinstance(child, Layer):
            raise TypeError(f"Sequential takes fnnet layers, got {type(child).__name__}: {child!r}")
    named = tuple(zip(automatic_names(layers), layers))
    label = "Sequential" if name is None else f"Sequential {name!r}"

    def shape_of(input_shape, where):
        if isinstance(input_shape, SymbolicTensor):
            raise TypeError(
                f"{label}.{where} takes the input shape without the batch axis, e.g. (3,), got the "
                f"symbolic tensor {input_shape!r}; to use the model in a graph, call it: model(tensor)"
            )
        return as_shape(input_shape)

    def output_shape(input_shape):
        shape = shape_of(input_shape, "output_shape")
        for layer_name, child in named:
            with blame(layer_name):
                shape = tuple(child.output_shape(shape))
        return shape

    def init(key, input_shape, dtype=jnp.float32):
        shape = shape_of(input_shape, "init")
        key = as_key(key)
        params = {}
        for index, (layer_name, child) in enumerate(named):
            with blame(layer_name):
                layer_params = child.init(jax.random.fold_in(key, index), shape, dtype)
                shape = tuple(child.output_shape(shape))
            if layer_params:
                params[layer_name] = layer_params
        return params

    def apply(params, x, *, key=None, training=False):
        check_arrays(x, f"{label}.apply")
        check_param_names(params, named)
        key, training = optional_key(key), flag("training", training)
        for index, (layer_name, child) in enumerate(named):
            layer_key = None if key is None else jax.random.fold_in(key, index)
            with blame(layer_name):
                x = child.apply(params.get(layer_name, {}), x, key=layer_key, training=training)
        return x

    def train(params, x, *, key=None, sample_weight=None):
        check_arrays(x, f"{label}.apply_train")
        check_param_names(params, named)
        key = optional_key(key)
        updates = {}
        for index, (layer_name, child) in enumerate(named):
            layer_key = None if key is None else jax.random.fold_in(key, index)
            with blame(layer_name):
                x, child_updates = child.apply_train(
                    params.get(layer_name, {}), x, key=layer_key, sample_weight=sample_weight
                )
            if child_updates:
                updates[layer_name] = child_updates
        return x, updates

    def penalty(params):
        check_param_names(params, named)
        return sum((child.penalty(params[n]) for n, child in named if n in params), jnp.asarray(0.0))

    stateless = all(child.train is None for child in layers)
    return ModelLayer(
        layer(
            "Sequential",
            init,
            apply,
            penalty,
            output_shape,
            name=name,
            arguments={"layers": layers},
            layers=named,
            train=None if stateless else train,
        )
    )


def _sequential_from_config(layers: Sequence[Any], name: str | None = None) -> ModelLayer:
    return Sequential([from_config(c) if isinstance(c, dict) else c for c in layers], name=name)


register("Sequential", _sequential_from_config)
layers_package.MOVED["Sequential"] = ("fn.Sequential (fnnet.models.Sequential)", Sequential)
