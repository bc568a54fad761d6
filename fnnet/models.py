"""Models: ``Sequential`` stacks, functional graphs (``Input``, ``Model``) and ``summary``.

A model is itself a ``Layer``. Its params are a dict from layer name
(``"dense"``, ``"dense_1"``, ..., or the ``name=`` given) to that layer's
params; parameter-free layers have no entry. The child at position ``i``
gets the key ``fold_in(key, i)`` in ``init`` and in ``apply``.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet.layers.base import Layer, as_shape, automatic_names, blame, from_config, layer, register, snake_case
from fnnet.layers.base import ModelLayer, check_layer, check_param_names, trainable_mask
from fnnet.protocols import Params, ShapeLike
from fnnet._checks import describe, flag, function
from fnnet.keys import as_key, optional_key
from fnnet import functional, model_config  # noqa: F401  (model_config registers "Functional")
from fnnet.functional import Input, Model, SymbolicTensor, call_layer, check_arrays, input_names, output_names

__all__ = ["Input", "Model", "ModelLayer", "Sequential", "SymbolicTensor", "call_layer", "count_params",
           "input_names", "output_names", "summary"]


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

    Example:
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
            raise TypeError(f"{label}.{where} takes the input shape without the batch axis, e.g. (3,), got the "
                            f"symbolic tensor {input_shape!r}; to use the model in a graph, call it: model(tensor)")
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
                x, child_updates = child.apply_train(params.get(layer_name, {}), x, key=layer_key,
                                                     sample_weight=sample_weight)
            if child_updates:
                updates[layer_name] = child_updates
        return x, updates

    def penalty(params):
        check_param_names(params, named)
        return sum((child.penalty(params[n]) for n, child in named if n in params), jnp.asarray(0.0))

    stateless = all(child.train is None for child in layers)
    return ModelLayer(layer("Sequential", init, apply, penalty, output_shape, name=name, arguments={"layers": layers},
                            layers=named, train=None if stateless else train))


def _sequential_from_config(layers: Sequence[Any], name: str | None = None) -> ModelLayer:
    return Sequential([from_config(c) if isinstance(c, dict) else c for c in layers], name=name)


register("Sequential", _sequential_from_config)


def count_params(model: Layer, params: Params) -> tuple[int, int]:
    """``(total, trainable)`` numbers of parameters of ``params`` (arrays or shapes)."""
    check_layer("model", model)
    if not isinstance(params, dict) or not all(hasattr(leaf, "shape") for leaf in jax.tree_util.tree_leaves(params)):
        raise TypeError(f"params must be a dict of arrays (or shapes) as model.init returns, got {describe(params)}")
    leaves = jax.tree_util.tree_leaves(params)
    masks = jax.tree_util.tree_leaves(trainable_mask(model, params)) if params else []
    total = sum(math.prod(leaf.shape) for leaf in leaves)
    trainable = sum(math.prod(leaf.shape) for leaf, keep in zip(leaves, masks) if keep)
    return total, trainable


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], total: int, trainable: int) -> str:
    widths = [max(len(row[i]) for row in [*rows, header]) + 2 for i in range(len(header))]
    line = lambda cells: "".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip()  # noqa: E731
    rule = "=" * sum(widths)
    return "\n".join([
        f'Model: "{title}"', line(header), rule, *(line(row) for row in rows), rule,
        f"Total params: {total:,}", f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ])


def _graph_summary(model: Layer, print_fn: Callable[[str], object]) -> str:
    graph = model.graph
    of = functional.history(graph)
    params = jax.eval_shape(lambda: model.init(jax.random.key(0)))
    rows = [(f"{name} ({layer.kind})", str((None, *layer.output_shape(None))), "0", "-")
            for name, layer in graph.input_layers]
    for name, layer in graph.layers:
        nodes = [node for node, node_name, _ in graph.nodes if node_name == name]
        shape = functional.map_structure(lambda t: (None, *t.shape), nodes[0].outputs)
        sources = [of(t) for node in nodes for t in functional.leaves(node.inbound)]
        count, _ = count_params(layer, params.get(name, {}))
        rows.append((f"{name} ({layer.kind})", str(shape), f"{count:,}",
                     ", ".join(f"{s[0]}[{s[1]}][{s[2]}]" for s in sources)))
    total, trainable = count_params(model, params)
    text = _table(model.name or snake_case(model.kind), ("Layer (type)", "Output Shape", "Param #", "Connected to"),
                  rows, total, trainable)
    print_fn(text)
    return text


def summary(model: Layer, input_shape: ShapeLike | None = None, print_fn: Callable[[str], object] = print) -> str:
    """Print (and return) a Keras-style table: each layer's name (type), output shape and parameter count.

    A functional ``Model`` needs no ``input_shape`` and adds Keras's
    "Connected to" column (``layer[node][tensor]``). Ends with ``Total
    params``, ``Trainable params`` and ``Non-trainable params`` (moving
    statistics of ``BatchNormalization``).
    """
    check_layer("model", model)
    function("print_fn", print_fn)
    if model.graph is not None:
        return _graph_summary(model, print_fn)
    if input_shape is None:
        raise TypeError(f"summary of a {model.kind} needs the input shape (without the batch axis)")
    shape = as_shape(input_shape)
    rows, total, trainable = [], 0, 0
    children = model.layers or ((model.name or snake_case(model.kind), model),)
    for child_name, child in children:
        params = jax.eval_shape(lambda child=child, shape=shape: child.init(jax.random.key(0), shape))
        count, count_trainable = count_params(child, params)
        shape = tuple(child.output_shape(shape))
        rows.append((f"{child_name} ({child.kind})", str((None, *shape)), f"{count:,}"))
        total, trainable = total + count, trainable + count_trainable
    text = _table(model.name or snake_case(model.kind), ("Layer (type)", "Output Shape", "Param #"), rows,
                  total, trainable)
    print_fn(text)
    return text
