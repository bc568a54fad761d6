"""Configs of functional graphs in Keras's layout, and their rebuilding (registered as ``"Functional"``).

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

from fnnet import functional
from fnnet.layers.base import Layer, ModelLayer, from_config, register


class _Inner:
    """A layer's config without its class name, written only when the model's config is."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer

    def get_config(self) -> dict[str, Any]:
        return self.layer.get_config()["config"]


def graph_arguments(graph: functional.Graph) -> dict[str, Any]:
    """The ``Functional`` config's arguments (``layers``, ``input_layers``, ``output_layers``) of a graph."""
    history = functional.history(graph)

    def keras_tensor(tensor: functional.SymbolicTensor) -> dict[str, Any]:
        return {"class_name": "__keras_tensor__",
                "config": {"shape": [None, *tensor.shape], "keras_history": history(tensor)}}

    entries = [{"class_name": "InputLayer", "name": name, "config": _Inner(layer), "inbound_nodes": []}
               for name, layer in graph.input_layers]
    for name, layer in graph.layers:
        nodes = [{"args": [functional.map_structure(keras_tensor, node.inbound)], "kwargs": {}}
                 for node, node_name, _ in graph.nodes if node_name == name]
        entries.append({"class_name": layer.kind, "name": name, "config": _Inner(layer), "inbound_nodes": nodes})
    return {"layers": entries, "input_layers": functional.map_structure(history, graph.inputs),
            "output_layers": functional.map_structure(history, graph.outputs)}


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
                return (f"{_node_label(layer_name, index)} takes node {node_index!r} of layer {name!r}, which has "
                        f"{counts[name]} node(s)")
        waits[(layer_name, index)] = [pair for pair in needs if pair not in made]
    path, pair = [], next(iter(waits))
    while pair not in path:  # each waiting node waits on another waiting one: follow them until one repeats
        path.append(pair)
        pair = waits[pair][0]
    cycle = [*path[path.index(pair):], pair]
    return ("its nodes form a cycle, each taking the output of the next: "
            + " <- ".join(_node_label(*pair) for pair in cycle) + "; a graph's layers cannot depend on themselves")


def functional_from_config(layers: Sequence[Mapping[str, Any]], input_layers: Any, output_layers: Any,
                           name: str | None = None) -> ModelLayer:
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
            outputs[(entry["name"], 0)] = functional.Input(layer.output_shape(None), name=layer.name)
        built[entry["name"]] = layer
        counts[entry["name"]] = 1 if entry["class_name"] == "InputLayer" else len(entry["inbound_nodes"])
        pending += [(entry["name"], index, node) for index, node in enumerate(entry["inbound_nodes"])]

    def lookup(history):
        layer_name, node_index, tensor_index = history
        if (layer_name, node_index) not in outputs:
            raise KeyError((layer_name, node_index))
        made = functional.leaves(outputs[(layer_name, node_index)])
        if not (isinstance(tensor_index, int) and 0 <= tensor_index < len(made)):
            raise ValueError(f"a Functional config takes output {tensor_index!r} of {_node_label(*history[:2])}, "
                             f"which has {len(made)} output(s)")
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
        raise ValueError(f"a Functional config's inputs or outputs take node {node_index!r} of layer {layer_name!r}, "
                         f"which has {counts[layer_name]} node(s)") from None
    return functional.Model(inputs, model_outputs, name=name)


register("Functional", functional_from_config)
