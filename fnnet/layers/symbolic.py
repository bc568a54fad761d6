"""Symbolic tensors and nodes: how calling a layer on ``fn.Input`` tensors records a graph.

``layer(tensor)`` (or ``layer([t1, t2])`` for merges) plans the layer's
output shape and returns new ``SymbolicTensor``s whose ``node`` remembers the
call (Keras keeps this in ``ops/node.py``, below ``Layer``). A mismatch raises
when the graph is built, naming the layer. ``fnnet.models`` turns the
recorded calls into a ``Model``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

__all__ = [
    "Node",
    "Recordable",
    "SymbolicTensor",
    "Tensors",
    "call_layer",
    "check_arrays",
    "is_shape",
    "leaves",
    "map_structure",
]


class Recordable(Protocol):
    """What recording a call needs of a layer (``fnnet.layers.Layer``, which sits above, has it)."""

    @property
    def name(self) -> str | None: ...

    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def output_shape(self) -> Callable[..., Any]: ...


class SymbolicTensor:
    """A placeholder for an array in a graph: its shape (without batch) and the call that makes it.

    ``node`` is the ``Node`` that produced it (None for an ``Input``),
    ``path`` the key of this tensor in a multi-output node's outputs.
    """

    __slots__ = ("shape", "node", "path", "input_layer")

    def __init__(
        self,
        shape: tuple[int, ...],
        node: "Node | None" = None,
        path: tuple[Any, ...] = (),
        input_layer: Recordable | None = None,
    ) -> None:
        self.shape, self.node, self.path, self.input_layer = shape, node, path, input_layer

    def __repr__(self) -> str:
        if self.node is None:
            source = None if self.input_layer is None else self.input_layer.name
        else:
            source = self.node.layer.name or self.node.layer.kind
        return f"<SymbolicTensor shape={(None, *self.shape)} from {source or 'an unnamed Input'!r}>"

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        """A symbolic tensor holds no values: converting it to an array is a TypeError that says so."""
        raise TypeError(
            f"{self!r} is symbolic (an fn.Input or a layer's output in a graph being built) and holds no "
            "values; build graphs with layer(tensor) and fn.Model(inputs, outputs), and give arrays "
            "to model.apply(params, x), fit, evaluate and predict"
        )


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
    if isinstance(tree, (list, tuple)) and not is_shape(tree):
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
        raise TypeError(
            f"{where} takes arrays, got the symbolic tensor {found[0]!r}; fn.Input and layer outputs "
            "only build graphs: call the model on them, model(tensor), or give it arrays"
        )


def is_shape(value: object) -> bool:
    """Whether ``value`` is a tuple of ints: a shape, which structures treat as a leaf."""
    return isinstance(value, tuple) and all(isinstance(d, int) and not isinstance(d, bool) for d in value)


def call_layer(layer_value: Recordable, inputs: Any) -> Any:
    """``layer(inputs)`` on symbolic tensors: the output tensor(s), after checking the shapes."""
    given = leaves(inputs)
    if not given or not all(isinstance(t, SymbolicTensor) for t in given):
        raise TypeError(
            f"{layer_value.label} was called on {type(inputs).__name__}; call layers on fn.Input "
            "tensors (or lists of them) to build a Model, and use layer.apply(params, x) on arrays"
        )
    shapes = map_structure(lambda t: t.shape, inputs)
    if isinstance(shapes, list) and isinstance(inputs, tuple):
        shapes = list(shapes)
    try:
        out_shape = layer_value.output_shape(shapes)
    except (ValueError, TypeError) as error:
        shown = map_structure(lambda s: (None, *s), shapes)
        raise type(error)(f"{layer_value.label} cannot take inputs of shape {shown}: {error}") from error
    if is_shape(tuple(out_shape)) and not isinstance(out_shape, dict):
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
    if isinstance(shapes, (list, tuple)) and not is_shape(tuple(shapes)):
        return [_tensors(v, (*path, i)) for i, v in enumerate(shapes)]
    return SymbolicTensor(tuple(shapes), None, path)
