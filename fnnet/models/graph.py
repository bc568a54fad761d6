"""Graphs of layer calls: a ``Model``'s layers in order, its nodes, and running them on arrays.

``build(inputs, outputs)`` walks back from the outputs through the recorded
nodes (``fnnet.layers.symbolic``). Layer ``i`` (in order of first use,
Inputs not counted) gets ``fold_in(key, i)`` in ``init`` and ``apply``, as
in ``Sequential``, so a chain-shaped graph equals the ``Sequential`` of its
layers. Calling one layer object twice shares its params; its ``k``-th call
(``k >= 1``) gets the key ``fold_in(fold_in(key, i), k)``. In ``apply_train``
each call of a shared layer starts from the moving statistics its previous
call left (as Keras does), so a shared ``BatchNormalization`` counts every
call's batch.
"""

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, cast

import jax
from jax.typing import ArrayLike

from fnnet.keys import optional_key
from fnnet.layers.base import Layer, automatic_names, blame
from fnnet.layers.params import merge_updates
from fnnet.layers.symbolic import Node, SymbolicTensor, leaves, map_structure
from fnnet.protocols import KeyLike, Params

__all__ = ["Graph", "build", "check_shared_params", "history", "input_arrays", "run", "shapes_of"]


class Graph(NamedTuple):
    """A built graph: its Inputs and outputs (as given), named layers and nodes in the order they run."""

    inputs: Any
    outputs: Any
    input_layers: tuple[tuple[str, Layer], ...]  # ((name, InputLayer), ...)
    layers: tuple[tuple[str, Layer], ...]  # ((name, layer), ...) in order of first use: layer i gets fold_in(key, i)
    nodes: tuple[tuple[Node, str, int], ...]  # (node, name, call number) in an order that runs
    names: dict[int, str]  # id(layer) -> name (Inputs included)


def build(inputs: Any, outputs: Any) -> Graph:
    """The graph from ``inputs`` to ``outputs``: its layers named and its nodes in an order that runs."""
    for what, tree in (("inputs", inputs), ("outputs", outputs)):
        found = leaves(tree)
        if not found or not all(isinstance(t, SymbolicTensor) for t in found):
            raise TypeError(
                f"Model {what} must be symbolic tensors (fn.Input, or layers called on them), "
                f"a list or a dict of them, got {tree!r}"
            )
    given_inputs = leaves(inputs)
    if any(t.node is not None for t in given_inputs):
        raise ValueError("Model inputs must be fn.Input tensors, not layer outputs")
    order, seen, done = [], set(), object()

    def check_input(tensor: SymbolicTensor, consumer: Layer | None) -> None:
        if all(tensor.input_layer is not t.input_layer for t in given_inputs):
            user = "an output of the Model is" if consumer is None else f"{consumer.label} takes"
            raise ValueError(
                f"graph disconnected: {user} {tensor!r}, an Input that is not among the Model's inputs "
                f"{given_inputs}; give it in fn.Model(inputs=...)"
            )

    def visit(root: SymbolicTensor) -> None:
        """Append the nodes ``root`` depends on, inbound first (a depth-first post-order, without recursion)."""
        # (tensor, the layer that takes it, its node's inbound tensors left)
        stack: list[tuple[SymbolicTensor, Layer | None, Iterator[Any] | None]] = [(root, None, None)]
        while stack:
            tensor, consumer, inbound = stack[-1]
            if inbound is None:
                if tensor.node is None or id(tensor.node) in seen:
                    if tensor.node is None:
                        check_input(tensor, consumer)
                    stack.pop()
                    continue
                seen.add(id(tensor.node))
                inbound = iter(leaves(tensor.node.inbound))
                stack[-1] = (tensor, consumer, inbound)
            following = next(inbound, done)
            if following is done:
                order.append(tensor.node)
                stack.pop()
            else:
                assert tensor.node is not None  # only a layer's output has inbound tensors
                stack.append((cast(SymbolicTensor, following), tensor.node.layer, None))

    for tensor in leaves(outputs):
        visit(tensor)
    unique, ids = [], set()
    for node in order:
        if id(node.layer) not in ids:
            ids.add(id(node.layer))
            unique.append(node.layer)
    input_layers = [t.input_layer for t in given_inputs]
    if len({id(x) for x in input_layers}) != len(input_layers):
        raise ValueError("the same Input is given twice among the Model's inputs")
    names = automatic_names([*input_layers, *unique])  # unique across the whole model
    by_id = {id(x): n for x, n in zip([*input_layers, *unique], names)}
    calls, nodes = {}, []
    for node in order:
        count = calls.get(id(node.layer), 0)
        calls[id(node.layer)] = count + 1
        nodes.append((node, by_id[id(node.layer)], count))
    return Graph(
        inputs,
        outputs,
        tuple((by_id[id(x)], x) for x in input_layers),
        tuple((by_id[id(x)], x) for x in unique),
        tuple(nodes),
        by_id,
    )


def input_arrays(graph: Graph, x: Any) -> list[Any]:
    """The arrays given for the graph's Inputs, in their order: from one array, a list or a dict."""
    names = [n for n, _ in graph.input_layers]
    keys = list(graph.inputs) if isinstance(graph.inputs, dict) else names
    if isinstance(x, dict):
        chosen = keys if set(keys) <= set(x) else names
        missing = [k for k in chosen if k not in x]
        extra = sorted(set(x) - set(chosen))
        if missing or extra:
            raise ValueError(
                f"the model takes inputs {keys}"
                + (f" (or by Input name {names})" if keys != names else "")
                + f", got a dict with keys {sorted(x)}"
            )
        return [x[k] for k in chosen]
    if isinstance(x, (list, tuple)):
        if len(x) != len(names):
            raise ValueError(f"the model takes {len(names)} inputs {names}, got a {type(x).__name__} of {len(x)}")
        return list(x)
    if len(names) != 1:
        raise ValueError(f"the model takes {len(names)} inputs {names}: give a list or a dict of arrays")
    return [x]


def run(
    graph: Graph,
    params: Params,
    x: Any,
    key: KeyLike | None,
    training: bool = False,
    sample_weight: ArrayLike | None = None,
    train: bool = False,
) -> tuple[Any, Params]:
    """Run the graph's nodes in order; ``(outputs, updates)``."""
    indices = {name: i for i, (name, _) in enumerate(graph.layers)}
    values = {id(t): v for t, v in zip(leaves(graph.inputs), input_arrays(graph, x))}
    updates = {}
    key = optional_key(key)
    for node, name, call in graph.nodes:
        layer_key = None if key is None else jax.random.fold_in(key, indices[name])
        if layer_key is not None and call:
            layer_key = jax.random.fold_in(layer_key, call)
        args = map_structure(lambda t: values[id(t)], node.inbound)
        with blame(name):
            if train:  # a shared layer's next call starts from the statistics its previous call left, as in Keras
                y, layer_updates = node.layer.apply_train(
                    merge_updates(params.get(name, {}), updates.get(name, {})),
                    args,
                    key=layer_key,
                    sample_weight=sample_weight,
                )
                if layer_updates:
                    updates[name] = merge_updates(updates.get(name, {}), layer_updates)
            else:
                y = node.layer.apply(params.get(name, {}), args, key=layer_key, training=training)
        for tensor in leaves(node.outputs):
            value = y
            for step in tensor.path:
                value = value[step]
            values[id(tensor)] = value
    return map_structure(lambda t: values[id(t)], graph.outputs), updates


def shapes_of(tree: Any) -> Any:
    """The shapes of a structure of symbolic tensors (a list for a list or tuple)."""
    shapes = map_structure(lambda t: t.shape, tree)
    return shapes if isinstance(shapes, dict) or not isinstance(shapes, list) else list(shapes)


def check_shared_params(graph: Graph) -> None:
    """A layer called more than once builds the same params for every call, else a ValueError naming it."""
    calls = {}
    for node, name, _call in graph.nodes:
        calls.setdefault(name, []).append(node)
    for name, nodes in calls.items():
        if len(nodes) < 2:
            continue
        built = [jax.eval_shape(lambda n=n: n.layer.init(jax.random.key(0), shapes_of(n.inbound))) for n in nodes]
        shapes = [jax.tree_util.tree_map(lambda leaf: leaf.shape, b) for b in built]
        if any(s != shapes[0] for s in shapes[1:]):
            raise ValueError(f"layer {name!r} is shared, but its calls need different params: {shapes}")


def history(graph: Graph) -> Callable[[SymbolicTensor], list[Any]]:
    """``tensor -> [layer name, node index, flat tensor index]`` (Keras's ``keras_history``) in ``graph``."""
    calls = {id(node): call for node, _, call in graph.nodes}

    def of(tensor: SymbolicTensor) -> list[Any]:
        if tensor.node is None:
            return [graph.names[id(tensor.input_layer)], 0, 0]
        flat = [id(t) for t in leaves(tensor.node.outputs)]
        return [graph.names[id(tensor.node.layer)], calls[id(tensor.node)], flat.index(id(tensor))]

    return of
