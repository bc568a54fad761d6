"""Functional graphs (Keras's functional API): ``Input``, calling layers on symbolic tensors, ``Model``.

``Input(shape)`` is a symbolic tensor; ``layer(tensor)`` (or ``layer([t1,
t2])`` for merges) plans the layer's output shape and returns a new
symbolic tensor, so a mismatch raises when the graph is built, naming the
layer. ``Model(inputs, outputs)`` is an ordinary ``Layer`` whose params are
a dict from layer name to params. Layer ``i`` (in order of first use,
Inputs not counted) gets ``fold_in(key, i)`` in ``init`` and ``apply``, as
in ``Sequential``, so a chain-shaped graph equals the ``Sequential`` of its
layers. Calling one layer object twice shares its params; its ``k``-th call
(``k >= 1``) gets the key ``fold_in(fold_in(key, i), k)``. In ``apply_train``
each call of a shared layer starts from the moving statistics its previous
call left (as Keras does), so a shared ``BatchNormalization`` counts every
call's batch.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike, DTypeLike

from fnnet._checks import dtype as check_dtype, flag
from fnnet.keys import as_key, optional_key
from fnnet.layers.base import Layer, ModelLayer, as_shape, automatic_names, blame, check_layer, check_param_names, layer
from fnnet.layers.base import merge_updates, register
from fnnet.protocols import KeyLike, Params, PyTree, ShapeLike


class SymbolicTensor:
    """A placeholder for an array in a graph: its shape (without batch) and the call that makes it.

    ``node`` is the ``Node`` that produced it (None for an ``Input``),
    ``path`` the key of this tensor in a multi-output node's outputs.
    """

    __slots__ = ("shape", "node", "path", "input_layer")

    def __init__(self, shape: tuple[int, ...], node: "Node | None" = None, path: tuple[Any, ...] = (),
                 input_layer: Layer | None = None) -> None:
        self.shape, self.node, self.path, self.input_layer = shape, node, path, input_layer

    def __repr__(self) -> str:
        if self.node is None:
            source = None if self.input_layer is None else self.input_layer.name
        else:
            source = self.node.layer.name or self.node.layer.kind
        return f"<SymbolicTensor shape={(None, *self.shape)} from {source or 'an unnamed Input'!r}>"

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        """A symbolic tensor holds no values: converting it to an array is a TypeError that says so."""
        raise TypeError(f"{self!r} is symbolic (an fn.Input or a layer's output in a graph being built) and holds no "
                        "values; build graphs with layer(tensor) and fn.Model(inputs, outputs), and give arrays "
                        "to model.apply(params, x), fit, evaluate and predict")


Tensors = SymbolicTensor | Sequence[SymbolicTensor] | Mapping[str, SymbolicTensor]
"""A ``Model``'s inputs or outputs: one symbolic tensor, a list or a dict of them."""


class Node(NamedTuple):
    """One call of ``layer`` on the symbolic tensors ``inbound`` (a tensor, list or dict of them)."""

    layer: Any
    inbound: Any
    outputs: Any  # a SymbolicTensor, or a list/dict of them for a multi-output model


def map_structure(fn: Callable[[Any], Any], tree: Any) -> Any:
    """Apply ``fn`` to each leaf of a nest of lists, tuples and dicts (symbolic tensors are leaves)."""
    if isinstance(tree, dict):
        return {k: map_structure(fn, v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)) and not _is_shape(tree):
        return [map_structure(fn, v) for v in tree]
    return fn(tree)


def leaves(tree: Any) -> list[Any]:
    """The leaves of a nest of lists, tuples and dicts, in order (dicts by insertion)."""
    out = []
    map_structure(out.append, tree)
    return out


def check_arrays(x: Any, where: str) -> None:
    """A TypeError naming ``where`` when ``x`` (an array, or a list or dict of them) holds a symbolic tensor."""
    found = [t for t in leaves(x) if isinstance(t, SymbolicTensor)]
    if found:
        raise TypeError(f"{where} takes arrays, got the symbolic tensor {found[0]!r}; fn.Input and layer outputs "
                        "only build graphs: call the model on them, model(tensor), or give it arrays")


def _is_shape(value: object) -> bool:
    return isinstance(value, tuple) and all(isinstance(d, int) and not isinstance(d, bool) for d in value)


def _label(layer_value: Layer) -> str:
    return f"layer {layer_value.name!r} ({layer_value.kind})" if layer_value.name else f"{layer_value.kind} layer"


def _label_of(model_name: str | None) -> str:
    return "Model" if model_name is None else f"Model {model_name!r}"


def Input(shape: ShapeLike, name: str | None = None, dtype: DTypeLike = "float32") -> SymbolicTensor:
    """A symbolic input of samples of ``shape`` (without the batch axis), as Keras's ``Input``."""
    shape = as_shape(shape, "shape")
    return SymbolicTensor(shape, input_layer=InputLayer(shape, name=name, dtype=dtype))


def InputLayer(batch_shape: Sequence[Any] | None = None, name: str | None = None, dtype: DTypeLike = "float32",
               shape: ShapeLike | None = None) -> Layer:
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

    return layer("InputLayer", init, apply, lambda p: jnp.asarray(0.0), lambda s: shape, name=name,
                 arguments={"batch_shape": [None, *shape], "dtype": str(check_dtype("dtype", dtype))})


def call_layer(layer_value: Layer, inputs: Any) -> Any:
    """``layer(inputs)`` on symbolic tensors: the output tensor(s), after checking the shapes."""
    check_layer("layer_value", layer_value)
    given = leaves(inputs)
    if not given or not all(isinstance(t, SymbolicTensor) for t in given):
        raise TypeError(f"{_label(layer_value)} was called on {type(inputs).__name__}; call layers on fn.Input "
                        "tensors (or lists of them) to build a Model, and use layer.apply(params, x) on arrays")
    shapes = map_structure(lambda t: t.shape, inputs)
    if isinstance(shapes, list) and isinstance(inputs, tuple):
        shapes = list(shapes)
    try:
        out_shape = layer_value.output_shape(shapes)
    except (ValueError, TypeError) as error:
        shown = map_structure(lambda s: (None, *s), shapes)
        raise type(error)(f"{_label(layer_value)} cannot take inputs of shape {shown}: {error}") from error
    if _is_shape(tuple(out_shape)) and not isinstance(out_shape, dict):
        outputs = SymbolicTensor(tuple(out_shape))
    else:
        outputs = _tensors(out_shape, ())
    node = Node(layer_value, inputs, outputs)
    for tensor in leaves(outputs):
        tensor.node = node
    return outputs


def _tensors(shapes: Any, path: tuple[Any, ...]) -> Any:
    """Symbolic tensors for a structure of output shapes, each knowing its path in it."""
    if isinstance(shapes, dict):
        return {k: _tensors(v, (*path, k)) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and not _is_shape(tuple(shapes)):
        return [_tensors(v, (*path, i)) for i, v in enumerate(shapes)]
    return SymbolicTensor(tuple(shapes), None, path)


class Graph(NamedTuple):
    """A built graph: its Inputs and outputs (as given), named layers and nodes in the order they run."""

    inputs: Any
    outputs: Any
    input_layers: tuple[tuple[str, Layer], ...]  # ((name, InputLayer), ...)
    layers: tuple[tuple[str, Layer], ...]  # ((name, layer), ...) in order of first use: layer i gets fold_in(key, i)
    nodes: tuple[tuple[Node, str, int], ...]  # (node, name, call number) in an order that runs
    names: dict[int, str]  # id(layer) -> name (Inputs included)


def _build(inputs: Any, outputs: Any) -> Graph:
    for what, tree in (("inputs", inputs), ("outputs", outputs)):
        found = leaves(tree)
        if not found or not all(isinstance(t, SymbolicTensor) for t in found):
            raise TypeError(f"Model {what} must be symbolic tensors (fn.Input, or layers called on them), "
                            f"a list or a dict of them, got {tree!r}")
    given_inputs = leaves(inputs)
    if any(t.node is not None for t in given_inputs):
        raise ValueError("Model inputs must be fn.Input tensors, not layer outputs")
    order, seen, done = [], set(), object()

    def check_input(tensor: SymbolicTensor, consumer: Layer | None) -> None:
        if all(tensor.input_layer is not t.input_layer for t in given_inputs):
            user = "an output of the Model is" if consumer is None else f"{_label(consumer)} takes"
            raise ValueError(f"graph disconnected: {user} {tensor!r}, an Input that is not among the Model's inputs "
                             f"{given_inputs}; give it in fn.Model(inputs=...)")

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
    return Graph(inputs, outputs, tuple((by_id[id(x)], x) for x in input_layers),
                 tuple((by_id[id(x)], x) for x in unique), tuple(nodes), by_id)


def _input_arrays(graph: Graph, x: Any) -> list[Any]:
    """The arrays given for the graph's Inputs, in their order: from one array, a list or a dict."""
    names = [n for n, _ in graph.input_layers]
    keys = list(graph.inputs) if isinstance(graph.inputs, dict) else names
    if isinstance(x, dict):
        chosen = keys if set(keys) <= set(x) else names
        missing = [k for k in chosen if k not in x]
        extra = sorted(set(x) - set(chosen))
        if missing or extra:
            raise ValueError(f"the model takes inputs {keys}" + (f" (or by Input name {names})" if keys != names else "")
                             + f", got a dict with keys {sorted(x)}")
        return [x[k] for k in chosen]
    if isinstance(x, (list, tuple)):
        if len(x) != len(names):
            raise ValueError(f"the model takes {len(names)} inputs {names}, got a {type(x).__name__} of {len(x)}")
        return list(x)
    if len(names) != 1:
        raise ValueError(f"the model takes {len(names)} inputs {names}: give a list or a dict of arrays")
    return [x]


def _run(graph: Graph, params: Params, x: Any, key: KeyLike | None, training: bool = False,
         sample_weight: ArrayLike | None = None, train: bool = False) -> tuple[Any, Params]:
    """Run the graph's nodes in order; ``(outputs, updates)``."""
    indices = {name: i for i, (name, _) in enumerate(graph.layers)}
    values = {id(t): v for t, v in zip(leaves(graph.inputs), _input_arrays(graph, x))}
    updates = {}
    key = optional_key(key)
    for node, name, call in graph.nodes:
        layer_key = None if key is None else jax.random.fold_in(key, indices[name])
        if layer_key is not None and call:
            layer_key = jax.random.fold_in(layer_key, call)
        args = map_structure(lambda t: values[id(t)], node.inbound)
        with blame(name):
            if train:  # a shared layer's next call starts from the statistics its previous call left, as in Keras
                y, layer_updates = node.layer.apply_train(merge_updates(params.get(name, {}), updates.get(name, {})),
                                                          args, key=layer_key, sample_weight=sample_weight)
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


def _shapes_of(tree: Any) -> Any:
    shapes = map_structure(lambda t: t.shape, tree)
    return shapes if isinstance(shapes, dict) or not isinstance(shapes, list) else list(shapes)


def Model(inputs: Tensors, outputs: Tensors, name: str | None = None) -> ModelLayer:
    """A functional graph from its ``inputs`` to its ``outputs`` (each a tensor, a list or a dict), as a ``Layer``.

    ``init(key, input_shape=None, dtype=float32)`` takes the shapes from the
    Inputs; ``apply(params, x)`` takes and returns the structures given (a
    dict keyed by Input names works too); ``apply_train`` returns each
    layer's updates under its name.

    Example:
        >>> import jax, jax.numpy as jnp, fnnet as fn
        >>> inputs = fn.Input((4,), name="x")
        >>> h = fn.layers.Dense(8, activation="relu")(inputs)
        >>> outputs = fn.layers.Dense(2, name="out")(fn.layers.Add()([h, fn.layers.Dense(8)(h)]))
        >>> model = fn.Model(inputs, outputs)
        >>> params = model.init(jax.random.key(0))
        >>> sorted(params), model.apply(params, jnp.ones((3, 4))).shape
        (['dense', 'dense_1', 'out'], (3, 2))
    """
    graph = _build(inputs, outputs)
    check_shared_params(graph)
    input_shapes = _shapes_of(inputs)

    def check_input_shape(input_shape, where="init"):
        if input_shape is None:
            return
        if any(isinstance(t, SymbolicTensor) for t in leaves(input_shape)):
            raise TypeError(f"{_label_of(name)}.{where} takes a key and, optionally, the input shape without the batch "
                            f"axis, got the symbolic tensor {input_shape!r}; a Model's shapes come from its Inputs: "
                            "model.init(key)")
        given = as_shape(input_shape) if _is_shape(tuple(input_shape)) else map_structure(as_shape, input_shape)
        if map_structure(tuple, given) != map_structure(tuple, input_shapes):
            raise ValueError(f"this Model's Inputs have shape {input_shapes}, got input shape {input_shape}")

    def init(key, input_shape=None, dtype=jnp.float32):
        check_input_shape(input_shape)
        key = as_key(key)
        params, first = {}, {}
        for node, layer_name, call in graph.nodes:
            first.setdefault(layer_name, node)
        for index, (layer_name, child) in enumerate(graph.layers):
            with blame(layer_name):
                child_params = child.init(jax.random.fold_in(key, index), _shapes_of(first[layer_name].inbound), dtype)
            if child_params:
                params[layer_name] = child_params
        return params

    def output_shape(input_shape=None):
        check_input_shape(input_shape, "output_shape")
        return _shapes_of(graph.outputs)

    def apply(params, x, *, key=None, training=False):
        check_arrays(x, f"{_label_of(name)}.apply")
        check_param_names(params, graph.layers)
        return _run(graph, params, x, key, training=flag("training", training))[0]

    def train(params, x, *, key=None, sample_weight=None):
        check_arrays(x, f"{_label_of(name)}.apply_train")
        check_param_names(params, graph.layers)
        return _run(graph, params, x, key, sample_weight=sample_weight, train=True)

    def penalty(params):
        return sum((child.penalty(params[n]) for n, child in graph.layers if n in params), jnp.asarray(0.0))

    from fnnet import model_config  # the config layout of graphs lives on its own

    stateless = all(child.train is None for _, child in graph.layers)
    return ModelLayer(layer("Functional", init, apply, penalty, output_shape, name=name,
                            arguments=model_config.graph_arguments(graph), layers=graph.layers,
                            train=None if stateless else train, graph=graph))


def check_shared_params(graph: Graph) -> None:
    """A layer called more than once builds the same params for every call, else a ValueError naming it."""
    calls = {}
    for node, name, call in graph.nodes:
        calls.setdefault(name, []).append(node)
    for name, nodes in calls.items():
        if len(nodes) < 2:
            continue
        built = [jax.eval_shape(lambda n=n: n.layer.init(jax.random.key(0), _shapes_of(n.inbound))) for n in nodes]
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


def output_names(model: Layer) -> tuple[str, ...] | None:
    """A functional model's output names: the dict's keys, else the producing layers' names; None otherwise."""
    graph = check_layer("model", model).graph
    if graph is None:
        return None
    if isinstance(graph.outputs, dict):
        return tuple(graph.outputs)
    return tuple(graph.names[id(t.node.layer)] if t.node is not None else graph.names[id(t.input_layer)]
                 for t in leaves(graph.outputs))


def input_names(model: Layer) -> tuple[str, ...] | None:
    """A functional model's Input names, in order; None for other layers."""
    return None if check_layer("model", model).graph is None else tuple(n for n, _ in model.graph.input_layers)


register("InputLayer", InputLayer)
