"""The host side of ``fit``, ``evaluate`` and ``predict``: checks of what they are given, before anything compiles.

``prepare`` is ``fit``'s and ``evaluate``'s one door: it checks ``x``, ``y``
and the weights, holds out the validation part, clamps the batch size and
places the arrays, and returns a ``Data`` value that the ``Trainer`` hands to
the compiled programs. Checks that depend only on shapes (does ``y`` fit the
model's outputs under the loss and every metric; do the params fit ``x``)
are abstract evaluations cached by shape, so they run once per shape. Value
checks (finite inputs, label values) are one vectorized NumPy pass per call;
a ``jax.Array`` (immutable) that passed is remembered and not checked again.
Host batches for streaming are checked, padded to the first batch's size
with weight-0 rows, and stacked into chunks that one compiled scan trains.
"""

import dataclasses
import functools
import math
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from fnnet import data as data_lib, losses, metrics as metrics_lib, parallel, precision
from fnnet._checks import naming
from fnnet.data import count, is_structured, take
from fnnet.training import outputs
from fnnet.training.epoch import Samples
from fnnet.training.step import Objective
from fnnet.training.weights import sample_weights

_VERIFIED = {}  # id(array) -> (weakref(array), set of facts established about it)


def _known(array, fact):
    entry = _VERIFIED.get(id(array))
    return entry is not None and entry[0]() is array and fact in entry[1]


def _remember(array, fact):
    if not isinstance(array, jax.Array):
        return  # NumPy arrays are mutable: check them on every call
    entry = _VERIFIED.get(id(array))
    if entry is None or entry[0]() is not array:
        key = id(array)
        entry = _VERIFIED[key] = (weakref.ref(array, lambda _: _VERIFIED.pop(key, None)), set())
    entry[1].add(fact)


def as_samples(array, name):
    """A numeric array with at least one sample and only finite values (float64 -> float32 without x64)."""
    array = data_lib.samples(name, array)
    if np.dtype(array.dtype) == np.float64 and not precision.x64_enabled():
        array = np.asarray(array, np.float32)
    if jnp.issubdtype(array.dtype, jnp.inexact) and not _known(array, "finite"):
        data_lib.check_finite(name, array)
        _remember(array, "finite")
    return array


def _signature(tree):
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((np.shape(leaf), np.dtype(leaf.dtype)) for leaf in leaves)


def _abstract(signature):
    treedef, leaves = signature
    return jax.tree_util.tree_unflatten(treedef, [jax.ShapeDtypeStruct(s, d) for s, d in leaves])


def samples(data, name):
    """``as_samples`` of an array, or of every array of a list/tuple/dict (several inputs or outputs)."""
    if not is_structured(data):
        return as_samples(data, name)
    if not data:
        raise ValueError(f"{name} must hold arrays, got an empty {type(data).__name__}")
    checked = jax.tree_util.tree_map_with_path(
        lambda path, leaf: as_samples(leaf, f"{name}{jax.tree_util.keystr(path)}"),
        data,
        is_leaf=lambda node: not is_structured(node),
    )
    data_lib.same_length(
        {
            f"{name}{jax.tree_util.keystr(path)}": len(leaf)
            for path, leaf in jax.tree_util.tree_flatten_with_path(checked)[0]
        }
    )
    return checked


def _shapes(tree):
    return jax.tree_util.tree_map(lambda leaf: tuple(leaf.shape), tree)


@functools.lru_cache(maxsize=256)
def _output_shape(model, params_signature, x_signature):
    out = jax.eval_shape(model.apply, _abstract(params_signature), _abstract(x_signature))
    return jax.tree_util.tree_map(lambda leaf: tuple(leaf.shape), out)


@functools.lru_cache(maxsize=256)
def abstract_params(model, input_shape, dtype="float32"):
    """The params tree ``model.init`` builds for ``input_shape``, as shapes and dtypes (nothing computed).

    ``input_shape`` None: a functional model's own Inputs give the shapes.
    """
    return jax.eval_shape(lambda: model.init(jax.random.key(0), input_shape, dtype))


@functools.lru_cache(maxsize=256)
def _params_problem(model, params_signature, input_shape):
    """Where ``params`` differ from the tree ``model.init`` builds: a missing or extra leaf, or a shape."""
    expected = jax.tree_util.tree_flatten_with_path(abstract_params(model, input_shape))[0]
    treedef, leaves = params_signature
    given = dict(
        zip(
            (
                jax.tree_util.keystr(path)
                for path, _ in jax.tree_util.tree_flatten_with_path(
                    jax.tree_util.tree_unflatten(treedef, [0] * len(leaves))
                )[0]
            ),
            (shape for shape, _ in leaves),
        )
    )
    wanted = {jax.tree_util.keystr(path): tuple(leaf.shape) for path, leaf in expected}
    for name in sorted(set(wanted) | set(given)):
        if name not in given:
            return f"params{name} is missing (the model's init builds it with shape {wanted[name]})"
        if name not in wanted:
            return f"params{name} belongs to no layer of this model"
        if tuple(given[name]) != wanted[name]:
            return f"params{name} has shape {tuple(given[name])}, but this model's init builds {wanted[name]}"
    return None


def check_params(model, params, x):
    """``params`` against the tree ``model.init`` builds for inputs like ``x``: names and shapes, once per shape."""
    input_shape = None if is_structured(x) else tuple(x.shape[1:])
    problem = _params_problem(model, _signature(params), input_shape)
    if problem:
        raise ValueError(f"params do not fit the model for inputs of shape {_shapes(x)}: {problem}")


def output_shape(model, params, x):
    """The shape of ``model.apply(params, x)`` (a structure of shapes for several outputs), cached by shapes."""
    return _output_shape(model, _signature(params), _signature(x))


@functools.lru_cache(maxsize=256)
def _label_shape_problem(objective, y_signature, out_signature):
    """Why labels of this shape do not fit outputs of this shape under the loss or a metric, or None."""
    out = jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(s.shape, jnp.float32), _abstract(out_signature))
    y = _abstract(y_signature)
    weight = jax.ShapeDtypeStruct(jax.tree_util.tree_leaves(out)[0].shape[:1], jnp.float32)
    for name, fn in (("loss", objective.loss), *objective.metrics):
        try:
            jax.eval_shape(lambda *args, fn=fn: fn(*args), y, out, weight)  # a lambda: fn may not be weak-referenceable
        except ValueError as error:
            return f"under the {name}: {error}"
        except (TypeError, KeyError, IndexError) as error:  # y and the outputs are structured differently
            return f"under the {name}: {type(error).__name__}: {error}"
    return None


def _check_values(fn, y, out_shape, is_loss):
    """The host checks of label values for one loss or metric (per output for several outputs)."""
    for where, part in outputs.label_parts(fn):
        if isinstance(part, losses.PerSample):
            continue
        labels, shape = (y, out_shape) if where is None else (y[where], out_shape[where])
        (losses.check_labels if is_loss else metrics_lib.check_labels)(part, np.asarray(labels), shape[1:])


def _is_shape(node):
    return isinstance(node, tuple) and all(isinstance(d, int) for d in node)


def check_labels(objective, y, out_shape, y_name):
    """``y`` against the model's outputs under the loss and every metric: shapes, then label values."""
    out_signature = _signature(
        jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(s, jnp.float32), out_shape, is_leaf=_is_shape)
    )
    problem = _label_shape_problem(objective, _signature(y), out_signature)
    if problem:
        batchless = jax.tree_util.tree_map(lambda shape: (None, *shape[1:]), out_shape, is_leaf=_is_shape)
        raise ValueError(
            f"{y_name} of shape {_shapes(y)} does not fit the model's outputs of shape {batchless} {problem}"
        )
    fact = ("labels", objective, out_signature)
    leaves = jax.tree_util.tree_leaves(y)
    if all(_known(leaf, fact) for leaf in leaves):
        return
    for name, fn in (("loss", objective.loss), *objective.metrics):
        try:
            _check_values(fn, y, out_shape, name == "loss")
        except ValueError as error:
            raise ValueError(f"{y_name}: {error}") from error
    for leaf in leaves:
        _remember(leaf, fact)


def several(model, side) -> bool:
    """Whether ``model`` takes several ``"inputs"`` or gives several ``"outputs"`` (a list or dict of them)."""
    graph = getattr(model, "graph", None)
    return graph is not None and is_structured(getattr(graph, side))


def one_array(data, model, side, name):
    """A Python list or tuple given for a model's one input or output: the array it spells, as Keras reads it."""
    if several(model, side) or not isinstance(data, (list, tuple)):
        return data
    try:
        return np.asarray(data)
    except ValueError as error:
        raise ValueError(f"{name} given as a list must be rectangular, one row per sample ({error})") from None


def check_data(objective, params, x, y, x_name="x", y_name="y"):
    """Checked ``(x, y)``: numeric, finite, equally long; params that fit the model; labels that fit the loss."""
    model = objective.model
    x, y = one_array(x, model, "inputs", x_name), one_array(y, model, "outputs", y_name)
    x, y = samples(x, x_name), samples(outputs.arrange(model, y), y_name)
    data_lib.same_length({x_name: count(x), y_name: count(y)})
    with naming(x_name):  # x against the params: names the layer, and the array
        out_shape = output_shape(objective.model, params, x)
    check_params(objective.model, params, x)
    check_labels(objective, y, out_shape, y_name)
    return x, y


def pair(data, what="validation_data"):
    """``(x, y)`` from a pair, or a ValueError saying what was expected."""
    try:
        x, y = data
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a pair (x, y), got {type(data).__name__}") from None
    return x, y


def split_validation(samples: Samples, validation_split: float) -> tuple[Samples, Samples | None]:
    """``(train, val)``: the last ``validation_split`` of the samples held out (before shuffling), as Keras."""
    if not validation_split:
        return samples, None
    n = count(samples.x)
    split = int(math.floor(n * (1 - validation_split)))
    data_lib.check_validation_split(validation_split, n, n - split)
    return take(samples, slice(None, split)), take(samples, slice(split, None))


def validation(objective: Objective, params: Any, validation_data: Any) -> Samples:
    """Checked validation ``Samples`` from ``(x, y)`` or ``(x, y, sample_weight)``."""
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 3:
        val_x, val_y, val_weight = validation_data
    else:
        (val_x, val_y), val_weight = pair(validation_data), None
    val_x, val_y = check_data(objective, params, val_x, val_y, "validation x", "validation y")
    return Samples(val_x, val_y, sample_weights(val_weight, None, val_y, count(val_x), "validation sample_weight"))


def padded_batches(batches, objective, params, divisor=1):
    """Host batches as ``Samples``, checked as ``check_data`` checks, padded with weight-0 rows to the first's size.

    The first batch's size must be a multiple of ``divisor`` (the devices of a mesh).
    """
    size = None
    for number, batch in enumerate(batches):
        xb, yb = check_data(
            objective, params, *pair(batch, f"batch {number}"), f"batch {number} x", f"batch {number} y"
        )
        if size is None:
            size = count(xb)
            if size % divisor:
                raise ValueError(f"batch 0 has {size} samples; it must divide evenly over {divisor} devices")
        if count(xb) > size:
            raise ValueError(f"batch {number} has {count(xb)} samples, more than the first batch's {size}")
        pad = size - count(xb)
        weight = np.concatenate([np.ones(count(xb), np.float32), np.zeros(pad, np.float32)])
        xb, yb = jax.tree_util.tree_map(
            lambda part, pad=pad: np.concatenate([part, np.repeat(part[:1], pad, 0)]) if pad else np.asarray(part),
            (xb, yb),
        )
        yield Samples(xb, yb, weight)


def chunks(batches, max_bytes=64 * 2**20, max_batches=128):
    """Group padded batches into stacked chunks (``Samples`` of ``(C, batch, ...)``) of at most ``max_bytes``."""
    group, size = [], 0

    def stacked():
        return jax.tree_util.tree_map(lambda *parts: np.stack(parts), *group)

    for batch in batches:
        group.append(batch)
        size += sum(part.nbytes for part in jax.tree_util.tree_leaves(batch))
        if size >= max_bytes or len(group) == max_batches:
            yield stacked()
            group, size = [], 0
    if group:
        yield stacked()


@dataclasses.dataclass(frozen=True)
class Stream:
    """``fit``'s iterable of host ``(x, y)`` batches: each pass yields placed ``Samples`` chunks ``(C, batch, ...)``.

    Fields: ``batches`` (the user's iterable, one pass per epoch); ``objective`` and ``params`` (what every batch
    is checked against, as ``check_data`` checks); ``mesh`` (the chunks' rows are split over its data axis);
    ``divisor`` (the devices a batch is split over: the first batch's size must be a multiple).
    """

    batches: Iterable[Any]
    objective: Objective
    params: Any
    mesh: Mesh | None
    divisor: int

    def __iter__(self) -> Iterator[Samples]:
        for chunk in chunks(padded_batches(self.batches, self.objective, self.params, self.divisor)):
            yield parallel.place_batch(chunk, self.mesh, axis=1)


@dataclasses.dataclass(frozen=True)
class Data:
    """What ``prepare`` returns: the checked data of one ``fit`` or ``evaluate``, placed for the compiled programs.

    Fields:
        samples: the ``Samples`` trained on (``fit``) or measured (``evaluate``), on the device(s); None for a stream.
        stream: a ``Stream`` of host batches (``fit`` given batches and ``y=None``), else None.
        val: the validation ``Samples`` (``validation_split`` or ``validation_data``), on the device(s), or None.
        count: the number of ``samples`` (0 for a stream).
        val_count: the number of ``val`` samples (0 without validation).
        batch_size: samples per step, clamped to ``count`` (a stream's is its first batch's: 0 here).
        num_batches: steps per epoch, ``ceil(count / batch_size)`` (0 for a stream).
        mesh: the mesh the arrays are replicated on (None: one device).
    """

    samples: Samples | None = None
    stream: Stream | None = None
    val: Samples | None = None
    count: int = 0
    val_count: int = 0
    batch_size: int = 0
    num_batches: int = 0
    mesh: Mesh | None = None


def prepare(
    objective: Objective,
    params: Any,
    x: Any,
    y: Any = None,
    *,
    sample_weight: Any = None,
    class_weight: Any = None,
    validation_split: float = 0.0,
    validation_data: Any = None,
    batch_size: int = 32,
    epochs: int = 1,
    mesh: Mesh | None = None,
    batches: bool = True,
) -> Data:
    """``fit``'s (and ``evaluate``'s) data, checked against ``objective`` and ``params`` and placed on ``mesh``.

    ``x`` and ``y`` arrays (or structures of arrays) become ``Data.samples``,
    weighted by ``sample_weight`` times ``class_weight`` (``sample_weights``),
    with the validation part split off (``split_validation``) or checked
    (``validation``). With ``y=None`` and ``batches`` (``fit``'s; ``evaluate``
    passes False), ``x`` is an iterable of ``(x, y)`` batches: ``Data.stream``.
    The arguments' own ranges (``batch_size >= 1``, ...) are the caller's checks.
    """
    if y is None and batches:
        if validation_split:
            raise ValueError("validation_split needs arrays x and y; with batches pass validation_data")
        if not isinstance(x, Iterable) or isinstance(x, (np.ndarray, jax.Array)):
            raise TypeError(f"with y=None, x must be an iterable of (x, y) batches, got {type(x).__name__}")
        if iter(x) is x and epochs > 1:
            raise ValueError(
                "an iterator of batches can be consumed only once; for epochs > 1 pass a re-iterable "
                "(a list, or an object whose __iter__ starts a new pass)"
            )
        val = None if validation_data is None else parallel.place(validation(objective, params, validation_data), mesh)
        return Data(
            stream=Stream(x, objective, params, mesh, parallel.data_devices(mesh, local=True)),
            val=val,
            val_count=0 if val is None else count(val.x),
            mesh=mesh,
        )
    x, y = check_data(objective, params, x, y)
    train = Samples(x, y, sample_weights(sample_weight, class_weight, y, count(x)))
    if validation_data is not None:
        val = validation(objective, params, validation_data)
    else:
        train, val = split_validation(train, validation_split)
    n = count(train.x)
    batch_size = min(batch_size, n)
    parallel.check_batch_size(batch_size, mesh)
    train, val = parallel.place((train, val), mesh)
    return Data(
        samples=train,
        val=val,
        count=n,
        val_count=0 if val is None else count(val.x),
        batch_size=batch_size,
        num_batches=-(-n // batch_size),
        mesh=mesh,
    )
