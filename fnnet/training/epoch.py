"""One epoch as one compiled program: a ``lax.scan`` of the train step over the minibatches.

The batch order is drawn on the host (``batch_order``) and copied in, so a
shuffle costs the same on every backend; the data stay on the device and
each step gathers its rows. When the batch size does not divide the number
of samples, the order is padded with sample 0 and every step gets 0/1 sample
weights and the same 0/1 ``mask`` of its real rows, so the loss (Keras's
``sum_i w_i l_i / n`` over the ``n`` real rows), its gradient and the metrics
are exact over real samples; otherwise the steps are unweighted. Validation runs in the same
program. Python runs only between epochs.

The compiled programs (``fit_epoch``, ``fit_chunk``, ``evaluate``,
``predict``) are module-level ``jax.jit`` functions whose static arguments
are the ``Objective``, the optimizer and the shapes, so equal
configurations share one compiled program across trainers and calls.
``TRACES`` counts how often each was traced.
"""

import collections
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from fnnet import parallel, progress
from fnnet.data import count, take
from fnnet.state import shuffle_seed
from fnnet.training.step import make_update

TRACES = collections.Counter()
"""How many times each compiled program was traced, by name; tests count recompiles with it."""


class Samples(NamedTuple):
    """The arrays a compiled program runs on, as one pytree (``fnnet.training.inputs.prepare`` builds them).

    Fields:
        x: the inputs, one sample per row (a list, tuple or dict of arrays for several inputs).
        y: the targets, likewise (several outputs: in the structure of the model's outputs).
        weight: ``(N,)`` float32 sample weights, or None: every sample weighs 1.

    Stacked host batches (``fit_chunk``) have a leading chunk axis before the rows.
    """

    x: Any
    y: Any
    weight: Any = None


def batch_order(key_data, step, n, batch_size, shuffle=True) -> np.ndarray:
    """The epoch's sample order, ``(ceil(n / batch_size) * batch_size,)`` int32, padded with sample 0.

    A permutation of ``range(n)`` drawn by NumPy from ``shuffle_seed(key_data,
    step)``, or ``range(n)`` without shuffling.
    """
    num_batches = -(-n // batch_size)
    order = np.zeros(num_batches * batch_size, np.int32)
    order[:n] = np.random.default_rng(shuffle_seed(key_data, step)).permutation(n) if shuffle else np.arange(n)
    return order


def padding_weights(n, batch_size):
    """``(num_batches, batch_size)`` 0/1 weights marking real samples, or None when every batch is full."""
    num_batches = -(-n // batch_size)
    if num_batches * batch_size == n:
        return None
    return (np.arange(num_batches * batch_size) < n).astype(np.float32).reshape(num_batches, batch_size)


def train_epoch(
    objective,
    optimizer,
    state,
    x,
    y,
    order,
    sample_weight=None,
    *,
    batch_size,
    augment=None,
    mesh=None,
    report=None,
    report_every=0,
    checks=False,
):
    """Traceable epoch over ``x[order]`` in batches; returns ``(state, logs)``, exact weighted means.

    ``sample_weight`` (``(N,)`` or None) weighs each sample in the loss, its
    gradient and the logs; padded positions weigh 0. ``report(done, stats)``
    runs every ``report_every`` batches (the progress bar).
    """
    update = make_update(objective, optimizer, augment, checks)
    indices = order.reshape(-1, batch_size)
    padding = padding_weights(count(x), batch_size)

    def body(carry, batch):
        state, stats, done = carry
        index, pad = batch if padding is not None else (batch, None)
        weight = pad if sample_weight is None else sample_weight[index] * (1 if pad is None else pad)
        xb, yb, wb, mb = parallel.shard_batch((take(x, index), take(y, index), weight, pad), mesh)
        new, loss, y_pred = update(state, xb, yb, wb, mb)
        stats = objective.update_logs(stats, yb, y_pred, loss, wb, mb)
        if report_every:
            emit = report
            assert emit is not None  # report_every asks for it
            done = done + 1
            jax.lax.cond(done % report_every == 0, lambda: emit(done, objective.logs(stats)), lambda: None)
        return (new, stats, done), None

    batches = indices if padding is None else (indices, padding)
    carry = (state, objective.init_logs(), jnp.zeros((), jnp.int32))
    (state, stats, _), _ = jax.lax.scan(body, carry, batches)
    return state, objective.logs(stats)


def evaluate_batches(objective, params, x, y, sample_weight=None, *, batch_size, mesh=None):
    """Loss (with penalty) and metrics over ``(x, y)`` in inference mode, traceable; exact weighted means."""
    padding = padding_weights(count(x), batch_size)
    weights = padding
    if sample_weight is not None:
        weights = _in_batches(sample_weight, batch_size) * (1 if padding is None else padding)
    xs, ys = (_in_batches(a, batch_size) for a in (x, y))
    penalty = objective.penalty(params)

    def body(stats, batch):
        xb, yb, weight, mask = parallel.shard_batch(batch, mesh)
        y_pred = objective.apply(params, xb)
        loss = objective.batch_loss(yb, y_pred, weight, mask) + penalty
        return objective.update_logs(stats, yb, y_pred, loss, weight, mask), None

    stats, _ = jax.lax.scan(body, objective.init_logs(), (xs, ys, weights, padding))
    return objective.logs(stats)


def _in_batches(data, batch_size):
    """``(num_batches, batch_size, ...)`` of an array (or of each array of a structure), padded with its first row."""

    def batched(array):
        pad = -len(array) % batch_size
        if pad:
            array = jnp.concatenate([array, jnp.repeat(array[:1], pad, axis=0)])
        return array.reshape(-1, batch_size, *array.shape[1:])

    return jax.tree_util.tree_map(batched, data)


def _report(token):
    return lambda done, logs: jax.debug.callback(progress.report, token, done, logs)


@functools.partial(
    jax.jit, static_argnames=("objective", "optimizer", "batch_size", "augment", "mesh", "report_every", "checks")
)
def fit_epoch(
    state, train, order, val, token, *, objective, optimizer, batch_size, augment, mesh, report_every, checks=False
):
    """The compiled epoch of ``Trainer.fit``: training on ``train`` (``Samples``), then validation on ``val``.

    ``order`` is ``batch_order``'s, ``val`` None skips validation, ``token``
    is the progress bar's. With ``checks=True`` it returns ``(checkify error,
    (state, logs))``; the caller throws the error.
    """
    TRACES["fit_epoch"] += 1

    def run(state):
        state, logs = train_epoch(
            objective,
            optimizer,
            state,
            train.x,
            train.y,
            order,
            train.weight,
            batch_size=batch_size,
            augment=augment,
            mesh=mesh,
            report=_report(token),
            report_every=report_every,
            checks=checks,
        )
        if val is not None:
            scores = evaluate_batches(
                objective, state.params, val.x, val.y, val.weight, batch_size=min(batch_size, count(val.x)), mesh=mesh
            )
            logs |= {f"val_{name}": value for name, value in scores.items()}
        return state, logs

    return checkify.checkify(run)(state) if checks else run(state)


@functools.partial(jax.jit, static_argnames=("objective", "optimizer", "augment", "mesh", "checks"))
def fit_chunk(state, stats, chunk, *, objective, optimizer, augment, mesh, checks=False):
    """A scan of the step over ``chunk``, stacked host batches (``Samples`` of ``(C, batch, ...)``); adds to ``stats``.

    The chunk's weights are the padding's 0/1 (its real rows). With
    ``checks=True`` it returns ``(checkify error, (state, stats))``, as ``fit_epoch``.
    """
    TRACES["fit_chunk"] += 1
    update = make_update(objective, optimizer, augment, checks)

    def body(carry, batch):
        state, stats = carry
        xb, yb, wb = parallel.shard_batch(batch, mesh)
        new, loss, y_pred = update(state, xb, yb, wb, wb)
        return (new, objective.update_logs(stats, yb, y_pred, loss, wb, wb)), None

    if stats is None:
        stats = objective.init_logs()

    def run(carry):
        return jax.lax.scan(body, carry, (chunk.x, chunk.y, chunk.weight))[0]

    return checkify.checkify(run)((state, stats)) if checks else run((state, stats))


@functools.partial(jax.jit, static_argnames=("objective", "batch_size", "mesh"))
def evaluate(params, samples, *, objective, batch_size, mesh):
    """The compiled ``Trainer.evaluate`` over ``samples`` (``Samples``), and fit's validation of streamed batches."""
    TRACES["evaluate"] += 1
    return evaluate_batches(objective, params, samples.x, samples.y, samples.weight, batch_size=batch_size, mesh=mesh)


@functools.partial(jax.jit, static_argnames=("objective", "batch_size", "mesh"))
def predict(params, x, *, objective, batch_size, mesh):
    """The compiled ``Trainer.predict``: the model's outputs in inference mode (under the policy), batch by batch."""
    TRACES["predict"] += 1

    def body(_, xb):
        return None, objective.apply(params, parallel.shard_batch(xb, mesh))

    _, outputs = jax.lax.scan(body, None, _in_batches(x, batch_size))
    n = count(x)
    return jax.tree_util.tree_map(lambda out: out.reshape(-1, *out.shape[2:])[:n], outputs)
