"""``save_model`` and ``load_model``: a model's config and params in one safetensors file.

The file holds the params under ``params/<layer>/<leaf>`` (nested dicts
joined with ``/``) and, in the header's metadata (strings: JSON where the
value is not text),

- ``format``: ``"fnnet.model/1"`` (a checkpoint says ``"fnnet.checkpoint/1"``);
- ``fnnet_version``;
- ``config``: ``model.get_config()``;
- ``input_shape``: the input shape without the batch axis (``null`` for a
  functional ``fn.Model``, whose ``Input``s know theirs);
- ``dtype``: the params' floating dtype (``"float32"``, ``"bfloat16"``, ...).

Loading rebuilds the model through ``fnnet.layers.from_config`` (the
registry alone: nothing a file names is imported or executed) and restores
every array against the tree ``model.init`` builds for that input shape and
dtype (``jax.eval_shape``: nothing is computed), so a file whose arrays do
not fit its config raises ``ValueError`` naming the leaf.
"""

import functools
import json
import os
from importlib.metadata import version
from typing import Any

import jax
import numpy as np

from fnnet import layers, precision
from fnnet.protocols import Params, ShapeLike
from fnnet.saving import container, trees
from fnnet.state import check_params

MODEL_FORMAT = "fnnet.model/1"
CHECKPOINT_FORMAT = "fnnet.checkpoint/1"
FORMATS = (MODEL_FORMAT, CHECKPOINT_FORMAT)


def is_functional(model: layers.Layer) -> bool:
    """Whether ``model`` is a functional ``fn.Model`` (its ``Input``s give the shapes)."""
    return getattr(model, "graph", None) is not None


def params_template(model, input_shape, dtype):
    """The params tree ``model.init`` builds, as ``jax.ShapeDtypeStruct`` leaves (nothing computed; cached)."""
    shape = None if is_functional(model) else tuple(input_shape)
    return _template(model, shape, jax.numpy.dtype(dtype).name, precision.x64_enabled())


@functools.lru_cache(maxsize=64)
def _template(model, input_shape, dtype, x64):
    key = jax.random.key(0)
    return jax.eval_shape(lambda: model.init(key, input_shape, jax.numpy.dtype(dtype)))


def params_dtype(params) -> np.dtype:
    """The one floating dtype of ``params`` (float32 when it has no floating leaf); ValueError for several."""
    dtypes = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        if jax.numpy.issubdtype(leaf.dtype, jax.numpy.floating):
            dtypes.setdefault(np.dtype(leaf.dtype), jax.tree_util.keystr(path))
    if len(dtypes) > 1:
        found = ", ".join(f"{dtype} (e.g. {where})" for dtype, where in dtypes.items())
        raise ValueError(
            f"the params mix floating dtypes, {found}; save params of one dtype, as model.init "
            "makes them (cast with jax.tree.map(lambda p: p.astype(dtype), params))"
        )
    return next(iter(dtypes), np.dtype(np.float32))


def _shape_candidates(params):
    """Input shapes to try for a model without one: ``(d,)`` for the dims of the params' leaves, first first."""
    seen = []
    for leaf in jax.tree_util.tree_leaves(params):
        for dim in np.shape(leaf):
            if (dim,) not in seen:
                seen.append((dim,))
    return seen


def _fits(template, params):
    try:
        return jax.tree_util.tree_structure(template) == jax.tree_util.tree_structure(params) and all(
            np.shape(a) == tuple(b.shape)
            for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(template))
        )
    except (TypeError, ValueError):
        return False


def resolve_input_shape(model, params, input_shape, dtype):
    """The input shape to store: ``None`` for a functional model, else the given or an inferred one."""
    if is_functional(model):
        if input_shape is not None:
            raise ValueError("a functional fn.Model knows its input shapes from its Inputs; do not pass input_shape")
        return None
    if input_shape is not None:
        return list(layers.base.as_shape(input_shape))
    for candidate in _shape_candidates(params):
        try:
            template = params_template(model, candidate, dtype)
        except (TypeError, ValueError):
            continue
        if _fits(template, params):
            return list(candidate)
    raise ValueError(
        f"cannot tell the input shape of this {model.kind} from its params; pass "
        "input_shape= (without the batch axis), the one given to model.init"
    )


def model_entries(
    model: layers.Layer, params: Params, *, input_shape: ShapeLike | None = None, format: str = MODEL_FORMAT
) -> tuple[dict[str, Any], dict[str, str]]:  # noqa: A002
    """``(tensors, metadata)`` of a model file; the params are checked against ``model.init``'s tree."""
    if not isinstance(model, layers.Layer):
        raise TypeError(f"model must be an fnnet model (a Layer), got {type(model).__name__}")
    check_params("params", params)
    try:
        config = model.get_config()
    except TypeError as error:
        raise TypeError(f"this model cannot be saved: {error}") from None
    dtype = params_dtype(params)
    input_shape = resolve_input_shape(model, params, input_shape, dtype)
    template = params_template(model, input_shape, dtype)
    tensors = trees.flatten(params, "params")
    trees.check(tensors, "params", template, "the model")  # the check load_model makes, now
    metadata = {
        "format": format,
        "fnnet_version": version("fnnet"),
        "config": json.dumps(config),
        "input_shape": json.dumps(input_shape),
        "dtype": dtype.name,
    }
    return tensors, metadata


def save_model(
    path: str | os.PathLike[str], model: layers.Layer, params: Params, *, input_shape: ShapeLike | None = None
) -> str:
    """Write ``model`` and ``params`` to one safetensors file at ``path``, atomically.

    Args:
        path: the file to write (``.safetensors`` by convention); a failed
            write leaves an earlier file there intact.
        model: an fnnet model (``Sequential``, ``Model``, or a layer) with a
            config (layers built from fnnet's constructors or registered kinds).
        params: its params, the tree ``model.init`` returns, one floating dtype.
        input_shape: the input shape without the batch axis, for a model that
            is not functional; by default the smallest ``(d,)`` whose params
            have these shapes (pass it for models that start with ``Reshape``).

    Returns:
        The path.

    Examples:
        >>> import jax, os, tempfile, fnnet as fn
        >>> model = fn.Sequential([fn.layers.Dense(2)])
        >>> params = model.init(jax.random.key(0), (3,))
        >>> path = fn.save_model(os.path.join(tempfile.mkdtemp(), "m.safetensors"), model, params)
        >>> loaded, restored = fn.load_model(path)
        >>> loaded == model, bool((restored["dense"]["kernel"] == params["dense"]["kernel"]).all())
        (True, True)
    """
    tensors, metadata = model_entries(model, params, input_shape=input_shape)
    return container.write(path, tensors, metadata)


def metadata_field(path, metadata, name, decode=json.loads):
    """A metadata field, decoded; ValueError naming the file and field when missing or malformed."""
    if name not in metadata:
        raise ValueError(f"{path!r}: the header metadata lacks {name!r}; it is not an fnnet file")
    try:
        return decode(metadata[name])
    except ValueError as error:
        raise ValueError(f"{path!r}: the metadata field {name!r} is malformed: {error}") from None


def rebuild(path: str | os.PathLike[str], metadata: dict[str, str]) -> tuple[layers.Layer, Params]:
    """``(model, params template)`` from a file's metadata, through the layer registry only."""
    fmt = metadata.get("format")
    if fmt not in FORMATS:
        raise ValueError(f"{path!r}: format {fmt!r} is not one fnnet reads ({', '.join(FORMATS)})")
    config = metadata_field(path, metadata, "config")
    input_shape = metadata_field(path, metadata, "input_shape")
    dtype = metadata_field(path, metadata, "dtype", str)
    try:
        model = layers.from_config(config)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise ValueError(f"{path!r}: the model config cannot be rebuilt: {error}") from None
    if dtype not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"{path!r}: the params dtype {dtype!r} is not a floating dtype")
    if dtype == "float64" and not precision.x64_enabled():
        raise ValueError(
            f"{path!r} holds float64 params: enable jax_enable_x64 "
            "(jax.config.update('jax_enable_x64', True)) before loading it"
        )
    try:
        if not is_functional(model):
            input_shape = layers.base.as_shape(input_shape)
            model = model._replace(build_input_shape=input_shape)  # summary() defaults to the stored shape
        template = params_template(model, input_shape, dtype)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path!r}: the model config does not build for input shape {input_shape}: {error}") from None
    return model, template


def restore_params(path: str | os.PathLike[str], tensors: dict[str, Any], template: Params) -> Params:
    """The params from ``tensors``, checked against ``template``; ValueError naming the file and leaf."""
    try:
        return trees.restore(tensors, "params", template, "the model's config")
    except ValueError as error:
        raise ValueError(f"{path!r}: {error}") from None


def load_model(path: str | os.PathLike[str]) -> tuple[layers.Layer, Params]:
    """``(model, params)`` from a file written by ``save_model`` or ``save_checkpoint``.

    The model is rebuilt from its config by the layer registry (a user's
    kind must be ``fn.layers.register``-ed first); the params are restored
    against ``model.init``'s tree and must match it in every name, shape and
    dtype. Raises ``ValueError`` naming the problem for a truncated,
    tampered, foreign or mismatched file; nothing is unpickled or executed.
    """
    tensors, metadata = container.read(path)
    model, template = rebuild(path, metadata)
    return model, restore_params(path, tensors, template)
