"""Checkpoints: a whole ``TrainState``, the epoch, the history and the callbacks' states in one file.

A checkpoint is ``save_model``'s file (so ``load_model`` opens it too) with,
besides ``params/...``,

- ``opt_state/...``: the optax state's leaves by path (``opt_state/0/mu/dense/kernel``);
- ``step``: the optimizer step count, a 0-d integer tensor;
- ``key``: ``jax.random.key_data(state.key)``, with the implementation's
  name (``threefry2x32``, ``rbg``, ...) in the metadata as ``key_impl``;
- ``callbacks/<i>/params/...``: params-shaped trees a callback keeps
  (``EarlyStopping``'s ``best_params``), by the callback's position;
- metadata ``format`` ``"fnnet.checkpoint/1"``, ``epoch`` (the number of
  epochs completed, the index of the next), ``history`` (``{name: [...]}``)
  and ``callbacks_state`` (the list of ``callback.get_state()``), as JSON.

An optax state is a tree of NamedTuples the file cannot rebuild by itself
(nothing named in a file is imported): ``load_checkpoint`` restores it
against a template, ``like=``, whose tree the file must match.
"""

import json
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np
import optax

from fnnet import parallel
from fnnet.saving import container, model_io, trees
from fnnet.layers import Layer
from fnnet.protocols import Params, ShapeLike
from fnnet.keys import as_key
from fnnet.state import TrainState
from fnnet.training import Trainer


class Checkpoint(NamedTuple):
    """What ``load_checkpoint`` returns.

    ``state``: the ``TrainState`` (``opt_state`` None unless ``like=`` was
    given); ``model``: rebuilt from the config; ``epoch``: epochs completed;
    ``history``: ``{name: [per-epoch values]}``; ``callbacks_state``: the
    list of ``get_state()`` dicts (None when none were saved);
    ``callbacks_params``: ``{callback position: params tree}``.
    """

    state: TrainState
    model: Layer
    epoch: int
    history: dict[str, list[float]]
    callbacks_state: list[dict[str, Any]] | None
    callbacks_params: dict[int, Params]


def _json(name: str, value: object) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"a checkpoint's {name} must be JSON-serializable: {error}") from None


def key_impl_name(key: jax.Array) -> str:
    """The name ``jax.random.wrap_key_data(data, impl=name)`` rebuilds ``key``'s implementation from."""
    impl = jax.random.key_impl(key)
    return impl if isinstance(impl, str) else getattr(impl, "name", str(impl))


def save_checkpoint(
    path: str | os.PathLike[str],
    state: TrainState,
    *,
    model: Layer,
    epoch: int,
    history: Mapping[str, Sequence[float]] | None = None,
    callbacks_state: Sequence[Mapping[str, Any]] | None = None,
    callbacks_params: Mapping[int, Params] | None = None,
    input_shape: ShapeLike | None = None,
) -> str:
    """Write the whole ``state`` of a run, with its model, epoch, history and callbacks, to ``path``.

    Args:
        path: the file (atomic write: a failure leaves an earlier file intact).
        state: the ``TrainState`` (params, optax state, step, typed key).
        model: the model being trained (its config goes in the file).
        epoch: the number of epochs completed.
        history: ``{name: [values]}`` so far (``history.history``).
        callbacks_state: the callbacks' ``get_state()`` dicts, in order.
        callbacks_params: ``{position: params tree}`` a callback keeps besides.
        input_shape: as for ``save_model``.

    Returns:
        The path.
    """
    if not isinstance(state, TrainState):
        raise TypeError(f"state must be a fnnet TrainState (save_checkpoint takes one), got {type(state).__name__}")
    _check_records(history, callbacks_state, callbacks_params)
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch must be a non-negative int (the epochs completed), got {epoch!r}")
    tensors, metadata = model_io.model_entries(
        model, state.params, input_shape=input_shape, format=model_io.CHECKPOINT_FORMAT
    )
    tensors.update(trees.flatten(state.opt_state, "opt_state"))
    key = as_key(state.key)
    step, key_data = parallel.fetch((state.step, jax.random.key_data(key)))
    tensors["step"], tensors["key"] = np.asarray(step), np.asarray(key_data)
    for position, tree in (callbacks_params or {}).items():
        tensors.update(trees.flatten(tree, f"callbacks/{int(position)}/params"))
    states = None if callbacks_state is None else list(callbacks_state)
    metadata.update(
        epoch=str(int(epoch)),
        history=_json("history", dict(history or {})),
        callbacks_state=_json("callbacks_state", states),
        key_impl=key_impl_name(key),
    )
    return container.write(path, tensors, metadata)


def _check_records(history, callbacks_state, callbacks_params):
    """``history`` ``{name: [numbers]}``, ``callbacks_state`` a list of dicts, ``callbacks_params`` ``{int: tree}``."""
    if history is not None and (
        not isinstance(history, Mapping)
        or not all(
            isinstance(name, str)
            and isinstance(values, Sequence)
            and not isinstance(values, str)
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
            for name, values in history.items()
        )
    ):
        raise TypeError(f"history must be a dict {{name: [numbers]}} (History.history), got {history!r}")
    if callbacks_state is not None and (
        isinstance(callbacks_state, (str, Mapping))
        or not isinstance(callbacks_state, Sequence)
        or not all(isinstance(s, Mapping) for s in callbacks_state)
    ):
        raise TypeError(
            f"callbacks_state must be a list of dicts (each callback's get_state()), got {callbacks_state!r}"
        )
    if callbacks_params is not None and (
        not isinstance(callbacks_params, Mapping)
        or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 0 for k in callbacks_params)
    ):
        raise TypeError(f"callbacks_params must be a dict {{callback position: params}}, got {callbacks_params!r}")


def _templates(like, params_template):
    """``(params, opt_state, step, key)`` templates from ``like`` (None where there is none)."""
    if like is None:
        return params_template, None, None, None
    if isinstance(like, TrainState):
        return like.params, like.opt_state, like.step, like.key
    optimizer = getattr(like, "optimizer", like)  # a Trainer, or an optax GradientTransformation
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
        raise TypeError(f"like must be a TrainState, an optax optimizer or a Trainer, got {type(like).__name__}")
    return params_template, jax.eval_shape(optimizer.init, params_template), None, None


def _restore_key(path, tensors, metadata, template):
    if "key" not in tensors or "key_impl" not in metadata:
        raise ValueError(
            f"{path!r}: a checkpoint holds the tensor 'key' and the metadata 'key_impl'; this file lacks them"
        )
    name = metadata["key_impl"]
    if template is not None and key_impl_name(template) != name:
        raise ValueError(f"{path!r}: key: the state expects a {key_impl_name(template)} key, the file holds {name}")
    data = tensors["key"]
    if template is not None:
        trees.check_leaf("key", data, jax.random.key_data(template), "the state")
        data = trees.place_like(data, jax.random.key_data(template))
    try:
        return jax.random.wrap_key_data(data, impl=name)
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(
            f"{path!r}: key: cannot rebuild a {name!r} key from data of shape {np.shape(data)} and "
            f"dtype {np.dtype(data.dtype)}: {error}"
        ) from None


def _restore_step(path, tensors, template):
    step = tensors.get("step")
    if step is None or step.shape != () or not np.issubdtype(step.dtype, np.integer):
        raise ValueError(
            f"{path!r}: step must be a 0-d integer tensor, the file holds "
            f"{'none' if step is None else f'shape {step.shape}, dtype {step.dtype}'}"
        )
    if template is None:
        return jax.numpy.asarray(step)
    trees.check_leaf("step", step, template, "the state")
    return trees.place_like(step, template)


def _check_names(path, tensors):
    for name in tensors:
        parts = name.split("/")
        known = (
            name in ("step", "key")
            or parts[0] in ("params", "opt_state")
            or (len(parts) > 3 and parts[0] == "callbacks" and parts[1].isdigit() and parts[2] == "params")
        )
        if not known:
            raise ValueError(f"{path!r}: the tensor {name!r} is not part of an fnnet checkpoint")


def load_checkpoint(
    path: str | os.PathLike[str], *, like: "TrainState | optax.GradientTransformation | Trainer | None" = None
) -> Checkpoint:
    """A ``Checkpoint(state, model, epoch, history, callbacks_state, callbacks_params)`` from ``path``.

    Args:
        path: a file written by ``save_checkpoint`` (or ``ModelCheckpoint``,
            ``BackupAndRestore``).
        like: the template the file must match: a ``TrainState`` (every
            leaf's name, shape and dtype, the key's implementation; restored
            arrays take its leaves' shardings), or an optax optimizer (or a
            ``Trainer``), whose ``init`` of the params gives the optimizer
            state's tree. None: ``state.opt_state`` is None.

    Raises ``ValueError`` naming the file and the leaf for anything that does
    not match, as ``load_model`` does; nothing is unpickled or executed.

    Examples:
        >>> import jax, optax, os, tempfile, fnnet as fn
        >>> model = fn.Sequential([fn.layers.Dense(1)])
        >>> optimizer = optax.adam(1e-3)
        >>> state = fn.training.init_state(model.init(jax.random.key(0), (2,)), optimizer, jax.random.key(1))
        >>> path = fn.save_checkpoint(os.path.join(tempfile.mkdtemp(), "c.safetensors"), state, model=model, epoch=3)
        >>> checkpoint = fn.load_checkpoint(path, like=state)
        >>> checkpoint.epoch, int(checkpoint.state.step), checkpoint.model == model
        (3, 0, True)
    """
    tensors, metadata = container.read(path)
    if metadata.get("format") == model_io.MODEL_FORMAT:
        raise ValueError(
            f"{path!r} is a model file ({model_io.MODEL_FORMAT}), not a checkpoint: open it with fn.load_model"
        )
    if metadata.get("format") != model_io.CHECKPOINT_FORMAT:
        raise ValueError(f"{path!r}: format {metadata.get('format')!r} is not {model_io.CHECKPOINT_FORMAT!r}")
    _check_names(path, tensors)
    model, config_template = model_io.rebuild(path, metadata)
    params_template, opt_template, step_template, key_template = _templates(like, config_template)
    try:
        trees.check(tensors, "params", config_template, "the model's config")
        params = trees.restore(tensors, "params", params_template, "the given params")
        opt_state = (
            None if opt_template is None else trees.restore(tensors, "opt_state", opt_template, "the optimizer state")
        )
        positions = sorted({int(name.split("/")[1]) for name in tensors if name.startswith("callbacks/")})
        callbacks_params = {
            i: trees.restore(tensors, f"callbacks/{i}/params", params_template, "the params") for i in positions
        }
    except ValueError as error:
        raise ValueError(f"{path!r}: {error}") from None
    state = TrainState(
        params,
        opt_state,
        _restore_step(path, tensors, step_template),
        _restore_key(path, tensors, metadata, key_template),
    )
    epoch = model_io.metadata_field(path, metadata, "epoch")
    history = model_io.metadata_field(path, metadata, "history")
    callbacks_state = model_io.metadata_field(path, metadata, "callbacks_state")
    if type(epoch) is not int or epoch < 0:
        raise ValueError(f"{path!r}: epoch must be a non-negative int, the file holds {epoch!r}")
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise ValueError(f"{path!r}: history must map names to lists, the file holds {type(history).__name__}")
    if callbacks_state is not None and not isinstance(callbacks_state, list):
        raise ValueError(f"{path!r}: callbacks_state must be a list, the file holds {type(callbacks_state).__name__}")
    return Checkpoint(state, model, epoch, history, callbacks_state, callbacks_params)
