"""Functional graphs (Keras's functional API): ``Input``, ``Model``, and their configs.

``Input(shape)`` is a symbolic tensor; calling layers on it records a graph
(``fnnet.layers.symbolic``); ``Model(inputs, outputs)`` is an ordinary
``Layer`` whose params are a dict from layer name to params, built and run
by ``fnnet.models.graph``.

A model's config is Keras's (registered as ``"Functional"``, rebuilt by
``functional_from_config``):
``{"class_name": "Functional", "config": {"name": ..., "layers": [...],
"input_layers": ..., "output_layers": ...}}`` where each layer entry is
``{"class_name", "name", "config", "inbound_nodes"}``; an inbound node is
``{"args": [structure], "kwargs": {}}`` whose tensors are
``{"class_name": "__keras_tensor__", "config": {"shape": [None, ...],
"keras_history": [layer name, node index, tensor index]}}`` (Keras 3).
``input_layers``/``output_layers`` are ``[name, node, tensor]`` triples in
the structure the model was given: one triple, a list or a dict of them.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

from fnnet._checks import dtype as check_dtype, flag
from fnnet.keys import as_key
from fnnet.layers.base import Layer, ModelLayer, as_shape, blame, check_layer, check_param_names, from_config, layer
from fnnet.layers.base import register
from fnnet.layers import symbolic
from fnnet.layers.symbolic import SymbolicTensor, Tensors, check_arrays, is_shape, leaves, map_structure
from fnnet.models import graph as graph_lib
from fnnet.protocols import ShapeLike

__all__ = [
    "Input",
    "InputLayer",
    "Model",
    "call_layer",
    "functional_from_config",
    "graph_arguments",
    "input_names",
    "output_names",
]


def _label_of(model_name: str | None) -> str:
    return "Model" if model_name is None else f"Model {model_name!r}"


def Input(shape: ShapeLike, name: str | None = None, dtype: DTypeLike = "float32") -> SymbolicTensor:
    """A symbolic input of samples of ``shape`` (without the batch axis), as Keras's ``Input``."""
    shape = as_shape(shape, "shape")
    return SymbolicTensor(shape, input_layer=InputLayer(shape, name=name, dtype=dtype))


def InputLayer(
    batch_shape: Sequence[Any] | None = None,
    name: str | None = None,
    dtype: DTypeLike = "float32",
    shape: ShapeLike | None = None,
) -> Layer:
    """The layer behind an ``Input``: no params, ``y = x``; config ``{"batch_shape": [None, ...], "name"}``."""
    if shape is None:
        if not isinstance(batch_shape, (list, tuple)) or not batch_shape:
            raise TypeError(f"InputLayer needs shape or batch_shape, got {batch_shape!r}")
        shape = tuple(batch_shape[1:]) if batch_shape[0] is None else tuple(batch_shape)
    shape = as_shape(shape)

    def init(key, input_shape=None, dtype=jnp.float32):
        return {}

    def apply(params, x, *, key=None, training=False):
        return x

    return layer(
        "InputLayer",
        init,
        apply,
        lambda p: jnp.asarray(0.0),
        lambda s: shape,
        name=name,
        arguments={"batch_shape": [None, *shape], "dtype": str(check_dtype("dtype", dtype))},
    )


def Model(inputs: Tensors, outputs: Tensors, name: str | None = None) -> ModelLayer:
    """A functional graph from its ``inputs`` to its ``outputs`` (each a tensor, a list or a dict), as a ``Layer``.

    ``init(key, input_shape=None, dtype=float32)`` takes the shapes from the
    Inputs; ``apply(params, x)`` takes and returns the structures given (a
    dict keyed by Input names works too); ``apply_train`` returns each
    layer's updates under its name.

    Examples:
        >>> import jax, jax.numpy as jnp, fnnet as fn
        >>> inputs = fn.Input((4,), name="x")
        >>> h = fn.layers.Dense(8, activation="relu")(inputs)
        >>> outputs = fn.layers.Dense(2, name="out")(fn.layers.Add()([h, fn.layers.Dense(8)(h)]))
        >>> model = fn.Model(inputs, outputs)
        >>> params = model.init(jax.random.key(0))
        >>> sorted(params), model.apply(params, jnp.ones((3, 4))).shape
        (['dense', 'dense_1', 'out'], (3, 2))
    """
    graph = graph_lib.build(inputs, outputs)
    graph_lib.check_shared_params(graph)
    input_shapes = graph_lib.shapes_of(inputs)

    def check_input_shape(input_shape, where="init"):
        if input_shape is None:
            return
        if any(isinstance(t, SymbolicTensor) for t in leaves(input_shape)):
            raise TypeError(
                f"{_label_of(name)}.{where} takes a key and, optionally, the input shape without the batch "
                f"axis, got the symbolic tensor {input_shape!r}; a Model's shapes come from its Inputs: "
                "model.init(key)"
            )
        given = as_shape(input_shape) if is_shape(tuple(input_shape)) else map_structure(as_shape, input_shape)
        if map_structure(tuple, given) != map_structure(tuple, input_shapes):
            raise ValueError(f"this Model's Inputs have shape {input_shapes}, got input shape {input_shape}")

    def init(key, input_shape=None, dtype=jnp.float32):
        check_input_shape(input_shape)
        key = as_key(key)
        params, first = {}, {}
        for node, layer_name, _call in graph.nodes:
            first.setdefault(layer_name, node)
        for index, (layer_name, child) in enumerate(graph.layers):
            with blame(layer_name):
                child_params = child.init(
                    jax.random.fold_in(key, index), graph_lib.shapes_of(first[layer_name].inbound), dtype
                )
            if child_params:
                params[layer_name] = child_params
        return params

    def output_shape(input_shape=None):
        check_input_shape(input_shape, "output_shape")
        return graph_lib.shapes_of(graph.outputs)

    def apply(params, x, *, key=None, training=False):
        check_arrays(x, f"{_label_of(name)}.apply")
        check_param_names(params, graph.layers)
        return graph_lib.run(graph, params, x, key, training=flag("training", training))[0]

    def train(params, x, *, key=None, sample_weight=None):
        check_arrays(x, f"{_label_of(name)}.apply_train")
        check_param_names(params, graph.layers)
        return graph_lib.run(graph, params, x, key, sample_weight=sample_weight, train=True)

    def penalty(params):
        return sum((child.penalty(params[n]) for n, child in graph.layers if n in params), jnp.asarray(0.0))

    stateless = all(child.train is None for _, child in graph.layers)
    return ModelLayer(
        layer(
            "Functional",
            init,
            apply,
            penalty,
            output_shape,
            name=name,
            arguments=graph_arguments(graph),
            layers=graph.layers,
            train=None if stateless else train,
            graph=graph,
        )
    )


def call_layer(layer_value: Layer, inputs: Any) -> Any:
    """``layer_value(inputs)`` on symbolic tensors (what calling a layer does), with ``layer_value`` checked."""
    return symbolic.call_layer(check_layer("layer_value", layer_value), inputs)


def output_names(model: Layer) -> tuple[str, ...] | None:
    """A functional model's output names: the dict's keys, else the producing layers' names; None otherwise."""
    graph = check_layer("model", model).graph
    if graph is None:
        return None
    if isinstance(graph.outputs, dict):
        return tuple(graph.outputs)
    return tuple(
        graph.names[id(t.node.layer)] if t.node is not None else graph.names[id(t.input_layer)]
        for t in leaves(graph.outputs)
    )


def input_names(model: Layer) -> tuple[str, ...] | None:
    """A functional model's Input names, in order; None for other layers."""
    return None if check_layer("model", model).graph is None else tuple(n for n, _ in model.graph.input_layers)


register("InputLayer", InputLayer)


class _Inner:
    """A layer's config without its class name, written only when the model's config is."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer

    def get_config(self) -> dict[str, Any]:
        return self.layer.get_config()["config"]


def graph_arguments(graph: graph_lib.Graph) -> dict[str, Any]:
    """The ``Functional`` config's arguments (``layers``, ``input_layers``, ``output_layers``) of a graph."""
    history = graph_lib.history(graph)

    def keras_tensor(tensor: SymbolicTensor) -> dict[str, Any]:
        return {
            "class_name": "__keras_tensor__",
            "config": {"shape": [None, *tensor.shape], "keras_history": history(tensor)},
        }

    entries = [
        {"class_name": "InputLayer", "name": name, "config": _Inner(child), "inbound_nodes": []}
        for name, child in graph.input_layers
    ]
    for name, child in graph.layers:
        nodes = [
            {"args": [map_structure(keras_tensor, node.inbound)], "kwargs": {}}
            for node, node_name, _ in graph.nodes
            if node_name == name
        ]
        entries.append({"class_name": child.kind, "name": name, "config": _Inner(child), "inbound_nodes": nodes})
    return {
        "layers": entries,
        "input_layers": map_structure(history, graph.inputs),
        "output_layers": map_structure(history, graph.outputs),
    }


def _is_history(value: object) -> bool:
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)


def _decode(tree: Any, lookup: Callable[[Any], Any]) -> Any:
    """A structure of ``[name, node, tensor]`` triples (or Keras tensors) as symbolic tensors."""
    if isinstance(tree, dict) and tree.get("class_name") == "__keras_tensor__":
        return lookup(tree["config"]["keras_history"])
    if _is_history(tree):
        return lookup(tree)
    if isinstance(tree, dict):
        return {k: _decode(v, lookup) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_decode(v, lookup) for v in tree]
    raise ValueError(f"a Functional config holds {tree!r} where a tensor reference was expected")


def _references(tree) -> list:
    """The ``(layer name, node index)`` pairs a structure of tensor references names, in order."""
    if isinstance(tree, dict) and tree.get("class_name") == "__keras_tensor__":
        return _references(tree.get("config", {}).get("keras_history"))
    if _is_history(tree):
        return [(tree[0], tree[1])]
    if isinstance(tree, dict):
        return [pair for value in tree.values() for pair in _references(value)]
    if isinstance(tree, list):
        return [pair for value in tree for pair in _references(value)]
    return []


def _node_label(layer_name, index):
    return f"layer {layer_name!r} (node {index})"


def _why_unordered(waiting, made, counts) -> str:
    """Why no waiting node can run: it takes a layer or a node the config lacks, or the nodes form a cycle."""
    waits = {}
    for layer_name, index, node in waiting:
        needs = _references(node["args"]) + ([(layer_name, index - 1)] if index else [])
        for name, node_index in needs:
            if name not in counts:
                return f"{_node_label(layer_name, index)} takes a tensor of the unknown layer {name!r}"
            if not (isinstance(node_index, int) and 0 <= node_index < counts[name]):
                return (
                    f"{_node_label(layer_name, index)} takes node {node_index!r} of layer {name!r}, which has "
                    f"{counts[name]} node(s)"
                )
        waits[(layer_name, index)] = [pair for pair in needs if pair not in made]
    path, pair = [], next(iter(waits))
    while pair not in path:  # each waiting node waits on another waiting one: follow them until one repeats
        path.append(pair)
        pair = waits[pair][0]
    cycle = [*path[path.index(pair) :], pair]
    return (
        "its nodes form a cycle, each taking the output of the next: "
        + " <- ".join(_node_label(*pair) for pair in cycle)
        + "; a graph's layers cannot depend on themselves"
    )


def functional_from_config(
    layers: Sequence[Mapping[str, Any]], input_layers: Any, output_layers: Any, name: str | None = None
) -> ModelLayer:
    """Rebuild a functional ``Model`` from its config: layers from the registry, calls replayed in order.

    A config whose nodes cannot be ordered (a cycle, a reference to a layer or
    node that is not in it) raises a ValueError naming the layers.
    """
    outputs, pending = {}, []  # (layer name, node index) -> outputs
    built, counts = {}, {}
    for entry in layers:
        if entry["name"] in built:
            raise ValueError(f"a Functional config lists two layers named {entry['name']!r}")
        layer = from_config({"class_name": entry["class_name"], "config": entry["config"]})
        if entry["class_name"] == "InputLayer":
            outputs[(entry["name"], 0)] = Input(layer.output_shape(None), name=layer.name)
        built[entry["name"]] = layer
        counts[entry["name"]] = 1 if entry["class_name"] == "InputLayer" else len(entry["inbound_nodes"])
        pending += [(entry["name"], index, node) for index, node in enumerate(entry["inbound_nodes"])]

    def lookup(history):
        layer_name, node_index, tensor_index = history
        if (layer_name, node_index) not in outputs:
            raise KeyError((layer_name, node_index))
        made = leaves(outputs[(layer_name, node_index)])
        if not (isinstance(tensor_index, int) and 0 <= tensor_index < len(made)):
            raise ValueError(
                f"a Functional config takes output {tensor_index!r} of {_node_label(*history[:2])}, "
                f"which has {len(made)} output(s)"
            )
        return made[tensor_index]

    while pending:
        waiting = []
        for layer_name, index, node in pending:
            try:
                args = _decode(node["args"][0], lookup)
            except KeyError:
                waiting.append((layer_name, index, node))
                continue
            if index and (layer_name, index - 1) not in outputs:
                waiting.append((layer_name, index, node))
                continue
            outputs[(layer_name, index)] = built[layer_name](args)
        if len(waiting) == len(pending):
            why = _why_unordered(waiting, outputs, counts)
            raise ValueError(f"a Functional config's nodes cannot be ordered: {why}")
        pending = waiting
    try:
        inputs, model_outputs = _decode(input_layers, lookup), _decode(output_layers, lookup)
    except KeyError as error:
        layer_name, node_index = error.args[0]
        if layer_name not in counts:
            raise ValueError(f"a Functional config's inputs or outputs name the unknown layer {layer_name!r}") from None
        raise ValueError(
            f"a Functional config's inputs or outputs take node {node_index!r} of layer {layer_name!r}, "
            f"which has {counts[layer_name]} node(s)"
        ) from None
    return Model(inputs, model_outputs, name=name)


register("Functional", functional_from_config)
