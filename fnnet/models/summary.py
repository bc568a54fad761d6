"""``summary``: Keras's table of a model's layers, output shapes and parameter counts; ``count_params``.

``Layer.summary(...)`` (``model.summary()``, as in Keras) calls the
``summary`` of this module: the models package installs it in
``fnnet.layers.base`` (``set_summary_writer``), since layers sit below models.
"""

import math
from collections.abc import Callable, Sequence

import jax

from fnnet._checks import describe, function
from fnnet.layers.base import Layer, as_shape, check_layer, set_summary_writer, snake_case
from fnnet.layers.params import trainable_mask
from fnnet.layers.symbolic import leaves, map_structure
from fnnet.models import graph as graph_lib
from fnnet.protocols import Params, ShapeLike

__all__ = ["count_params", "summary"]


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
    return "\n".join(
        [
            f'Model: "{title}"',
            line(header),
            rule,
            *(line(row) for row in rows),
            rule,
            f"Total params: {total:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
        ]
    )


def _graph_summary(model: Layer, print_fn: Callable[[str], object]) -> str:
    graph = model.graph
    of = graph_lib.history(graph)
    params = jax.eval_shape(lambda: model.init(jax.random.key(0)))
    rows = [
        (f"{name} ({layer.kind})", str((None, *layer.output_shape(None))), "0", "-")
        for name, layer in graph.input_layers
    ]
    for name, layer in graph.layers:
        nodes = [node for node, node_name, _ in graph.nodes if node_name == name]
        shape = map_structure(lambda t: (None, *t.shape), nodes[0].outputs)
        sources = [of(t) for node in nodes for t in leaves(node.inbound)]
        count, _ = count_params(layer, params.get(name, {}))
        rows.append(
            (f"{name} ({layer.kind})", str(shape), f"{count:,}", ", ".join(f"{s[0]}[{s[1]}][{s[2]}]" for s in sources))
        )
    total, trainable = count_params(model, params)
    text = _table(
        model.name or snake_case(model.kind),
        ("Layer (type)", "Output Shape", "Param #", "Connected to"),
        rows,
        total,
        trainable,
    )
    print_fn(text)
    return text


def summary(model: Layer, input_shape: ShapeLike | None = None, print_fn: Callable[[str], object] = print) -> str:
    """Print (and return) a Keras-style table: each layer's name (type), output shape and parameter count.

    A functional ``Model`` needs no ``input_shape`` and adds Keras's
    "Connected to" column (``layer[node][tensor]``); a model from
    ``load_model`` defaults to the input shape stored in its file
    (``model.build_input_shape``). Ends with ``Total
    params``, ``Trainable params`` and ``Non-trainable params`` (moving
    statistics of ``BatchNormalization``).
    """
    check_layer("model", model)
    function("print_fn", print_fn)
    if model.graph is not None:
        return _graph_summary(model, print_fn)
    if input_shape is None:
        input_shape = model.build_input_shape
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
    text = _table(
        model.name or snake_case(model.kind), ("Layer (type)", "Output Shape", "Param #"), rows, total, trainable
    )
    print_fn(text)
    return text


set_summary_writer(summary)
