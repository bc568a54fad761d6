"""One epoch as one compiled program: a ``lax.scan`` of the train step over the minibatches.

The batch order is drawn on the host (``batch_order``) and copied in, so a
shuffle costs the same on every backend; the data stay on the device and
each step gathers its rows. When the batch size does not divide the number
of samples, the order is padded with sample 0 and every step gets 0/1 sample
weights, so the loss, the gradient and the metrics are exact means over real
samples; otherwise the steps are unweighted. Validation runs in the same
program. Python runs only between epochs.

The compiled programs (``fit_epoch``, ``fit_chunk``, ``evaluate``,
``predict``) are module-level ``jax.jit`` functions whose static arguments
are the ``Objective``, the optimizer and the shapes, so equal
configurations share one compiled program across trainers and calls.
``TRACES`` counts how often each was traced.
"""

import collections
import functools

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import parallel, progress
from fnnet.training.state import shuffle_seed
from fnnet.training.step import make_step

TRACES = collections.Counter()
"""How many times each compiled program was traced, by name; tests count recompiles with it."""


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


def _accumulate(sums, scores, count):
    return {name: sums[name] + (value * count).astype(sums[name].dtype) for name, value in scores.items()}


def _zeros(objective, x):
    """Running sums of the logs: float32, or float64 for float64 data (under ``jax_enable_x64``)."""
    dtype = jnp.float64 if x.dtype == jnp.float64 else jnp.float32
    return {name: jnp.zeros((), dtype) for name in objective.names}


def train_epoch(objective, optimizer, state, x, y, order, *, batch_size, augment=None, mesh=None,
                report=None, report_every=0):
    """Traceable epoch over ``x[order]`` in batches; returns ``(state, logs)``, exact means.

    ``report(done, sums)`` runs every ``report_every`` batches (the progress bar).
    """
    step = make_step(objective, optimizer, augment)
    n = len(x)
    indices = order.reshape(-1, batch_size)
    weights = padding_weights(n, batch_size)

    def body(carry, batch):
        state, sums, done = carry
        index, weight = batch if weights is not None else (batch, None)
        xb, yb, wb = parallel.shard_batch((x[index], y[index], weight), mesh)
        state, scores = step(state, xb, yb, wb)
        sums = _accumulate(sums, scores, batch_size if weight is None else jnp.sum(weight))
        if report_every:
            done = done + 1
            jax.lax.cond(done % report_every == 0, lambda: report(done, sums), lambda: None)
        return (state, sums, done), None

    batches = indices if weights is None else (indices, weights)
    (state, sums, _), _ = jax.lax.scan(body, (state, _zeros(objective, x), jnp.zeros((), jnp.int32)), batches)
    return state, {name: total / n for name, total in sums.items()}


def evaluate_batches(objective, params, x, y, *, batch_size, mesh=None):
    """Loss (with penalty) and metrics over ``(x, y)`` in inference mode, traceable; exact means."""
    n = len(x)
    weights = padding_weights(n, batch_size)
    xs, ys = (_in_batches(a, batch_size) for a in (x, y))

    def body(sums, batch):
        xb, yb, weight = parallel.shard_batch(batch, mesh)
        scores = objective.scores(params, yb, objective.model.apply(params, xb), weight)
        return _accumulate(sums, scores, batch_size if weight is None else jnp.sum(weight)), None

    sums, _ = jax.lax.scan(body, _zeros(objective, x), (xs, ys, weights))
    return {name: total / n for name, total in sums.items()}


def _in_batches(array, batch_size):
    """``(num_batches, batch_size, ...)``: ``array`` padded with copies of its first row."""
    pad = -len(array) % batch_size
    if pad:
        array = jnp.concatenate([array, jnp.repeat(array[:1], pad, axis=0)])
    return array.reshape(-1, batch_size, *array.shape[1:])


def _report(token):
    return lambda done, sums: jax.debug.callback(progress.report, token, done, sums)


@functools.partial(jax.jit, static_argnames=("objective", "optimizer", "batch_size", "augment", "mesh",
                                             "report_every"))
def fit_epoch(state, x, y, order, val_x, val_y, token, *, objective, optimizer, batch_size, augment, mesh,
              report_every):
    """The compiled epoch of ``Trainer.fit``: training, then validation when ``val_x`` is given."""
    TRACES["fit_epoch"] += 1
    state, logs = train_epoch(objective, optimizer, state, x, y, order, batch_size=batch_size, augment=augment,
                              mesh=mesh, report=_report(token), report_every=report_every)
    if val_x is not None:
        val = evaluate_batches(objective, state.params, val_x, val_y, batch_size=min(batch_size, len(val_x)),
                               mesh=mesh)
        logs |= {f"val_{name}": value for name, value in val.items()}
    return state, logs


@functools.partial(jax.jit, static_argnames=("objective", "optimizer", "augment", "mesh"))
def fit_chunk(state, sums, xs, ys, weights, *, objective, optimizer, augment, mesh):
    """A scan of the step over a chunk of stacked host batches ``(C, batch, ...)``; adds to ``sums``."""
    TRACES["fit_chunk"] += 1
    step = make_step(objective, optimizer, augment)

    def body(carry, batch):
        state, sums = carry
        xb, yb, wb = parallel.shard_batch(batch, mesh)
        state, scores = step(state, xb, yb, wb)
        return (state, _accumulate(sums, scores, jnp.sum(wb))), None

    if sums is None:
        sums = _zeros(objective, xs)
    (state, sums), _ = jax.lax.scan(body, (state, sums), (xs, ys, weights))
    return state, sums


@functools.partial(jax.jit, static_argnames=("objective", "batch_size", "mesh"))
def evaluate(params, x, y, *, objective, batch_size, mesh):
    """The compiled ``Trainer.evaluate``."""
    TRACES["evaluate"] += 1
    return evaluate_batches(objective, params, x, y, batch_size=batch_size, mesh=mesh)


@functools.partial(jax.jit, static_argnames=("model", "batch_size", "mesh"))
def predict(params, x, *, model, batch_size, mesh):
    """The compiled ``Trainer.predict``: the model's outputs in inference mode, batch by batch."""
    TRACES["predict"] += 1

    def body(_, xb):
        return None, model.apply(params, parallel.shard_batch(xb, mesh))

    _, outputs = jax.lax.scan(body, None, _in_batches(x, batch_size))
    return outputs.reshape(-1, *outputs.shape[2:])[: len(x)]
