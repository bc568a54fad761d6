"""K variants of one configuration trained as one compiled program: ``jax.vmap`` over stacked states.

A sweep trains every variant inside the same scanned epoch as ``fit``,
vmapped over a stacked ``TrainState``. Variant ``k`` equals, to float
tolerance, the same configuration trained alone: ``init_key, fit_key =
variant_keys(key, seed_k)``, ``params = build(**kw_k).init(init_key,
shape)`` and ``trainer.fit(params, ..., key=fit_key)`` with the optimizer's
hyperparameters set to the variant's values. Model-builder values are
passed traced, so the builder may not branch on them.

The programs (initialization, epoch, early-stopping update) are jitted once
per configuration: a second sweep of an equal configuration compiles
nothing. With ``mesh=`` the variant axis is sharded over the mesh's first
axis (K must divide evenly); data are replicated.

With ``early_stopping=EarlyStopping(...)`` each variant stops on its own
(its state stops changing; later epochs are NaN in its history) and the
program ends when all have stopped or the epochs run out.
"""

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet import callbacks as callbacks_lib, layers, parallel
from fnnet._checks import as_tuple, flag, hyperparameter
from fnnet.training import epoch as programs
from fnnet.state import init_state
from fnnet.training.step import objective
from fnnet.sweep.variants import variant_keys


class Fixed(NamedTuple):
    """A builder without hyperparameters: always the same model."""

    model: layers.Layer

    def __call__(self) -> layers.Layer:
        return self.model


def as_builder(model: layers.Layer | Callable[..., layers.Layer]) -> Callable[..., layers.Layer]:
    """``build(**hyperparameters) -> Layer``: a builder as is, a ``Layer`` as ``Fixed(layer)``."""
    if isinstance(model, layers.Layer):
        return Fixed(model)
    if callable(model):
        return model
    raise TypeError(f"model must be a fnnet Layer or a function (**hyperparameters) -> Layer, got {model!r}")


def builder_parameters(build: Callable[..., layers.Layer]) -> dict[str, bool]:
    """The builder's keyword arguments, each mapped to whether it has a default."""
    if isinstance(build, Fixed):
        return {}
    return {name: p.default is not inspect.Parameter.empty for name, p in inspect.signature(build).parameters.items()}


def check_run(epochs, batch_size, validation_split, shuffle, verbose, metrics, regularizers):
    """The arguments a sweep shares with ``Trainer.fit``, checked as it checks them; ``(metrics, regularizers)``."""
    hyperparameter("epochs", epochs, integer=True, low=0, high=np.iinfo(np.int32).max)
    hyperparameter("batch_size", batch_size, integer=True, low=1)
    hyperparameter("validation_split", validation_split, low=0, high=1, high_inclusive=False)
    flag("shuffle", shuffle)
    hyperparameter("verbose", verbose, integer=True, low=0, high=2)
    return as_tuple(metrics, "metrics"), as_tuple(regularizers, "regularizers")


def as_arrays(values: dict[str, np.ndarray]) -> dict[str, jax.Array]:
    """Swept values as device arrays; floats in float32, as the optimizer state and the model hold them."""
    return {n: jnp.asarray(v, jnp.float32 if np.issubdtype(v.dtype, np.floating) else None) for n, v in values.items()}


class Spec(NamedTuple):
    """Everything static about a sweep's programs; equal specs share compiled programs."""

    build: Any
    loss: Any
    metrics: tuple
    regularizers: tuple
    optimizer: Any
    policy: Any

    def objective(self, model_values):
        return objective(
            self.build(**model_values), self.loss, *self.regularizers, metrics=self.metrics, dtype_policy=self.policy
        )


def _with_values(state, optimizer_values):
    return state.with_hyperparameters(**optimizer_values)


@functools.partial(jax.jit, static_argnames=("spec", "input_shape", "mesh"))
def init_states(key, seeds, model_values, optimizer_values, initial_params, *, spec, input_shape, mesh):
    """Each variant's initial ``TrainState``, stacked (from ``initial_params`` when given).

    ``optimizer_values`` hold every number the optimizer keeps in its state
    (``named_optimizer.injected_values``, then the swept ones): the program
    is shared by equal optimizers, whose ``init`` differs in those numbers.
    ``seeds`` is one seed per variant, or a single seed every variant shares
    (no seed axis): its random draws are then made once, not once per variant.
    """
    programs.TRACES["sweep_init"] += 1

    def one(seed, model_kw, optimizer_kw, params):
        init_key, fit_key = variant_keys(key, seed)
        if params is None:
            params = spec.build(**model_kw).init(init_key, input_shape, spec.policy.param_dtype)
        return _with_values(init_state(params, spec.optimizer, fit_key), optimizer_kw)

    seed_axis = None if jnp.ndim(seeds) == 0 else 0
    states = jax.vmap(one, in_axes=(seed_axis, 0, 0, 0))(seeds, model_values, optimizer_values, initial_params)
    return parallel.shard_batch(states, mesh)


@functools.partial(jax.jit, static_argnames=("spec", "batch_size", "order_axis", "data_axis", "mesh"))
def sweep_epoch(
    states, model_values, active, x, y, order, val_x, val_y, *, spec, batch_size, order_axis, data_axis, mesh
):
    """One epoch of every variant; a stopped variant (``active`` False) keeps its state."""
    programs.TRACES["sweep_epoch"] += 1

    def one(state, model_kw, active, x, y, order, val_x, val_y):
        obj = spec.objective(model_kw)
        new, logs = programs.train_epoch(obj, spec.optimizer, state, x, y, order, batch_size=batch_size)
        if val_x is not None:
            val = programs.evaluate_batches(obj, new.params, val_x, val_y, batch_size=min(batch_size, len(val_x)))
            logs |= {f"val_{name}": value for name, value in val.items()}
        return optax.tree_utils.tree_where(active, new, state), logs

    val_axis = data_axis if val_x is not None else None
    states, model_values, active = parallel.shard_batch((states, model_values, active), mesh)
    return jax.vmap(one, in_axes=(0, 0, 0, data_axis, data_axis, order_axis, val_axis, val_axis))(
        states, model_values, active, x, y, order, val_x, val_y
    )


@jax.jit
def update_stopping(stopping, values, epoch, active):
    """Every active variant's early-stopping state after ``epoch``."""
    new = jax.vmap(lambda s, v: s.update(v, epoch))(stopping, values)
    return jax.vmap(optax.tree_utils.tree_where)(active, new, stopping)


keep_best = jax.jit(jax.vmap(callbacks_lib.keep_best, in_axes=(0, None, 0, 0)))


class Run(NamedTuple):
    """A stacked training to run: the spec, the data and how the epochs go."""

    spec: Spec
    data: tuple  # (x, y, val_x, val_y), data_axis 0 when stacked per variant
    data_axis: int | None
    batch_size: int
    shuffle: bool
    shared_order: bool  # every variant has the same key: one shuffle for all
    mesh: Any


class Carry(NamedTuple):
    """What the epochs carry besides the states: early stopping, the best params so far, who still trains."""

    stopping: Any  # every variant's EarlyStoppingState, stacked
    best_params: Any  # with restore_best_weights: each variant's params at its best epoch so far
    active: np.ndarray  # (K,) bool: not stopped early


def start(states, early_stopping, sign, epochs) -> Carry:
    """The carry of K fresh variants (an ``EarlyStopping`` or, without one, a rule that never stops)."""
    k = len(states.step)
    rule = early_stopping.rule if early_stopping is not None else callbacks_lib.EarlyStoppingRule(sign, patience=epochs)
    stopping = jax.tree_util.tree_map(
        lambda leaf: jnp.broadcast_to(leaf, (k,)), callbacks_lib.EarlyStoppingState.start(rule)
    )
    return Carry(stopping, states.params, np.ones(k, bool))


def finish(states, carry: Carry, early_stopping):
    """``(states, best)``: the final states (each variant's best params with ``restore_best_weights``) and bests."""
    if early_stopping is not None and early_stopping.restore_best_weights:
        states = states._replace(params=carry.best_params)
    return states, np.asarray(parallel.fetch(carry.stopping.best), np.float64)


def train_stacked(run: Run, states, model_values, epochs, early_stopping, monitor, sign, verbose, chunk=None):
    """Run the stacked epochs; returns the ``(K, epochs)`` history, the final states and each variant's best.

    ``chunk``: train at most this many variants per program (see ``train_chunks``).
    """
    carry = start(states, early_stopping, sign, epochs)
    history, states, carry = train_chunks(
        run, states, model_values, range(epochs), early_stopping, monitor, sign, verbose, carry, chunk
    )
    return (history, *finish(states, carry, early_stopping))


def take(tree, index):
    """Every leaf's rows ``index`` (the variants ``index`` of a stacked tree)."""
    return jax.tree_util.tree_map(lambda leaf: leaf[index], tree)


def train_chunks(run: Run, states, model_values, epochs: range, early_stopping, monitor, sign, verbose, carry, chunk):
    """``train_epochs`` over consecutive chunks of at most ``chunk`` variants (None: one), joined as one sweep's.

    With a mesh a chunk that does not divide over its devices is filled up
    with stopped copies of its first variant (computed, then dropped).
    Histories are NaN-padded to the longest chunk's (a chunk whose variants
    all stopped early ran fewer epochs).
    """
    k = len(states.step)
    chunk = k if chunk is None else chunk
    devices = 1 if run.mesh is None else run.mesh.shape[run.mesh.axis_names[0]]
    pieces = []
    for first in range(0, k, chunk):
        part = np.arange(first, min(first + chunk, k))
        index = np.concatenate([part, np.full(-len(part) % devices, part[0])])
        if len(index) == k:  # the whole sweep in one program, as it is
            return train_epochs(run, states, model_values, epochs, early_stopping, monitor, sign, verbose, carry)
        part_carry = take(carry, index)
        part_carry.active[len(part) :] = False
        history, part_states, part_carry = train_epochs(
            run,
            take(states, index),
            take(model_values, index),
            epochs,
            early_stopping,
            monitor,
            sign,
            verbose,
            part_carry,
        )
        kept = slice(0, len(part))
        pieces.append(({n: v[kept] for n, v in history.items()}, take(part_states, kept), take(part_carry, kept)))
    if len(pieces) == 1:
        return pieces[0]
    ran = max((values.shape[1] for history, _, _ in pieces for values in history.values()), default=0)
    history = {
        name: np.concatenate(
            [np.pad(h[name], ((0, 0), (0, ran - h[name].shape[1])), constant_values=np.nan) for h, _, _ in pieces]
        )
        for name in pieces[0][0]
    }
    states, carry = (jax.tree_util.tree_map(_concatenate, *trees) for trees in list(zip(*pieces))[1:])
    return history, states, carry


def _concatenate(*leaves):
    return np.concatenate(leaves) if isinstance(leaves[0], np.ndarray) else jnp.concatenate(leaves)


def train_epochs(run: Run, states, model_values, epochs: range, early_stopping, monitor, sign, verbose, carry: Carry):
    """The stacked epochs ``epochs`` (absolute indices) from ``carry``; ``(history, states, carry)``.

    ``history[name]`` is ``(K, epochs run)``: fewer than ``len(epochs)`` when every variant stopped early.
    """
    x, y, val_x, val_y = parallel.place(run.data, run.mesh)
    n = x.shape[1] if run.data_axis == 0 else x.shape[0]
    batch_size = min(run.batch_size, n)
    num_batches = -(-n // batch_size)
    k = len(states.step)
    restore = early_stopping is not None and early_stopping.restore_best_weights
    stopping, best_params, active = carry.stopping, carry.best_params, carry.active.copy()
    key_data = parallel.fetch(jax.random.key_data(states.key))
    steps = np.asarray(parallel.fetch(states.step)).astype(np.int64)
    history = {}
    for epoch in epochs:
        if not active.any():
            break
        began = time.perf_counter()
        if run.shared_order:
            order = programs.batch_order(key_data[0], steps.max(), n, batch_size, run.shuffle)
        else:
            order = np.stack(
                [programs.batch_order(key_data[i], steps[i], n, batch_size, run.shuffle) for i in range(k)]
            )
        states, logs = sweep_epoch(
            states,
            model_values,
            parallel.place(active, run.mesh),
            x,
            y,
            parallel.place(order, run.mesh),
            val_x,
            val_y,
            spec=run.spec,
            batch_size=batch_size,
            order_axis=None if run.shared_order else 0,
            data_axis=run.data_axis,
            mesh=run.mesh,
        )
        logs = {
            name: np.where(active, np.asarray(value, np.float64), np.nan)
            for name, value in parallel.fetch(logs).items()
        }
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        stopping = update_stopping(stopping, jnp.asarray(logs[monitor]), epoch, jnp.asarray(active))
        if restore:
            best_params = keep_best(stopping, epoch, states.params, best_params)
        steps += num_batches * active
        if verbose:
            print(
                f"Epoch {epoch + 1}/{epochs.stop} - {time.perf_counter() - began:.2f}s - "
                f"{int(active.sum())}/{k} variants training - best {monitor} "
                f"{float(np.nanmax(sign * logs[monitor])) * sign:.4f}",
                flush=True,
            )
        active = active & ~np.asarray(parallel.fetch(stopping.stop))
    history = {name: np.stack(values, axis=1) for name, values in history.items()}
    return history, states, Carry(stopping, best_params, active)
