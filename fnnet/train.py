"""Training: the state, the pure step, one compiled epoch, and compile/fit/evaluate/predict.

- ``TrainState(params, opt_state, step, key)`` is a pytree; ``step`` counts
  optimizer steps. The dropout key of step ``t`` is
  ``fold_in(fold_in(key, 0), t)``, the shuffle key of the epoch starting at
  step ``t`` is ``fold_in(fold_in(key, 1), t)``: one seed reproduces a run.
- ``train_step(model, loss, optimizer, ...)`` is the pure, jit- and
  vmap-able ``(state, x, y, sample_weight=None) -> (state, metrics)``;
  ``jax.value_and_grad`` is its only backpropagation.
- An epoch is one ``jit`` of a ``lax.scan`` over the minibatches of a fresh
  permutation of the training data, which stays on the device. The last
  partial batch is padded with weight-0 samples, so the loss, the gradient
  and the metrics are exact means over real samples. Validation runs in the
  same program. Python runs only between epochs (callbacks, progress).
- ``compile(model, loss, optimizer, metrics, regularizers)`` returns a
  ``Trainer`` whose ``fit``/``evaluate``/``predict``/``predict_classes``
  follow Keras. With ``mesh=`` (a ``jax.sharding.Mesh``, or ``"local"`` for
  all local devices) the batch axis is sharded over the mesh's first axis and
  the parameters are replicated; ``jit`` inserts the gradient all-reduce.

The reported ``loss`` includes the regularization penalty, as in Keras;
metrics do not.
"""

import inspect
import itertools
import math
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet import callbacks as callbacks_lib
from fnnet import losses, metrics as metrics_lib, optimizers, parallel, regularizers as regularizers_lib
from fnnet._checks import hyperparameter
from fnnet.progress import Progress

_DROPOUT, _SHUFFLE = 0, 1


class TrainState(NamedTuple):
    """Everything training carries from step to step, as one pytree."""

    params: Any
    opt_state: Any
    step: jax.Array
    key: jax.Array


def init_state(params, optimizer, key) -> TrainState:
    """A fresh ``TrainState``: the optimizer's initial state, step 0, and the run's key."""
    return TrainState(params, optimizer.init(params), jnp.zeros((), jnp.int32), _as_key(key))


def _as_key(key):
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if isinstance(key, (jax.Array, np.ndarray)) and key.shape == (2,) and key.dtype == np.uint32:
        return jax.random.wrap_key_data(key)
    raise TypeError(f"key must be a jax.random.key(seed), got {key!r}")


def weighted(fn):
    """``fn(y_true, y_pred, sample_weight) -> scalar`` for a loss or metric.

    fnnet's losses and metrics take ``sample_weight`` themselves; a user's
    ``(y_true, y_pred)`` callable without it is evaluated per sample (with
    ``vmap``) and the per-sample values are averaged with the weights.
    """
    try:
        takes_weights = "sample_weight" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_weights = False
    if takes_weights:
        return fn

    def per_sample(y_true, y_pred, sample_weight):
        values = jax.vmap(lambda t, p: fn(t[None], p[None]))(y_true, y_pred)
        return losses.weighted_mean(values, sample_weight)

    return per_sample


class _Objective(NamedTuple):
    """The compiled pieces shared by the step, evaluation and prediction."""

    model: Any
    loss: Any  # weighted
    metrics: dict  # name -> weighted metric
    penalty: Any  # params -> scalar

    def scores(self, params, y, y_pred, sample_weight, loss=None):
        """The loss (with penalty; computed unless given) and every metric on one batch."""
        if loss is None:
            loss = self.loss(y, y_pred, sample_weight) + self.penalty(params)
        return {"loss": loss, **{name: m(y, y_pred, sample_weight) for name, m in self.metrics.items()}}


def _objective(model, loss, metrics, regularizers) -> _Objective:
    named = {}
    for metric in metrics:
        name = metric if isinstance(metric, str) else getattr(metric, "__name__", type(metric).__name__)
        named[name] = weighted(metrics_lib.get(metric))
    penalty = regularizers_lib.total(model.penalty, *regularizers)
    return _Objective(model, weighted(losses.get(loss)), named, penalty)


def _step_fn(objective, optimizer, augment=None):
    def step(state, x, y, sample_weight=None):
        if sample_weight is None:
            sample_weight = jnp.ones(jnp.shape(x)[0], jnp.float32)
        step_key = jax.random.fold_in(jax.random.fold_in(state.key, _DROPOUT), state.step)
        dropout_key, augment_key = jax.random.split(step_key)
        if augment is not None:
            x = augment(augment_key, x)

        def total_loss(params):
            y_pred = objective.model.apply(params, x, key=dropout_key, training=True)
            data_loss = objective.loss(y, y_pred, sample_weight)
            return data_loss + objective.penalty(params), y_pred

        (loss, y_pred), grads = jax.value_and_grad(total_loss, has_aux=True)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        scores = objective.scores(state.params, y, y_pred, sample_weight, loss=loss)
        return TrainState(params, opt_state, state.step + 1, state.key), scores

    return step


def train_step(model, loss, optimizer, metrics=(), regularizers=(), augment=None):
    """The pure train step ``(state, x, y, sample_weight=None) -> (state, metrics)``.

    One ``jax.value_and_grad`` of ``loss(y, model(x)) + penalties`` and one
    optax update; ``metrics`` holds the batch's loss (with penalty) and each
    metric. ``augment(key, x)`` transforms the batch first. Jit it, scan it,
    or vmap it over stacked states.
    """
    return _step_fn(_objective(model, loss, metrics, regularizers), optimizers.get(optimizer), augment)


def _batch_plan(key, n, batch_size, shuffle):
    """Sample indices ``(num_batches, batch_size)`` and weights; padding repeats sample 0 with weight 0."""
    num_batches = -(-n // batch_size)
    order = jax.random.permutation(key, n) if shuffle else jnp.arange(n)
    padding = num_batches * batch_size - n
    indices = jnp.concatenate([order, jnp.zeros(padding, order.dtype)])
    weights = (jnp.arange(num_batches * batch_size) < n).astype(jnp.float32)
    return indices.reshape(num_batches, batch_size), weights.reshape(num_batches, batch_size)


def _weighted_sums(scores, weight):
    return {name: value * weight for name, value in scores.items()}


def _add(a, b):
    return jax.tree_util.tree_map(jnp.add, a, b)


def _zero_sums(objective):
    return {name: jnp.zeros((), jnp.float32) for name in ("loss", *objective.metrics)}


def train_epoch(objective, optimizer, state, x, y, val_x=None, val_y=None, *, batch_size, shuffle=True,
                augment=None, mesh=None, report=None, report_every=0):
    """One epoch, traceable: a ``lax.scan`` of the step over the batches of a fresh permutation.

    Returns the new state and the epoch's logs (exact means over the
    samples, and the ``val_`` forms when validation data are given).
    ``report(done, sums)`` is traced every ``report_every`` batches; a
    progress bar reaches the host from it with ``jax.debug.callback``.
    """
    step = _step_fn(objective, optimizer, augment)
    shuffle_key = jax.random.fold_in(jax.random.fold_in(state.key, _SHUFFLE), state.step)
    indices, weights = _batch_plan(shuffle_key, len(x), batch_size, shuffle)

    def body(carry, batch):
        state, sums, done = carry
        index, weight = batch
        xb, yb = parallel.shard_batch((x[index], y[index]), mesh)
        state, scores = step(state, xb, yb, parallel.shard_batch(weight, mesh))
        sums = _add(sums, _weighted_sums(scores, jnp.sum(weight)))
        done = done + 1
        if report_every:
            jax.lax.cond(done % report_every == 0, lambda: report(done, sums), lambda: None)
        return (state, sums, done), None

    (state, sums, _), _ = jax.lax.scan(body, (state, _zero_sums(objective), jnp.zeros((), jnp.int32)),
                                       (indices, weights))
    logs = {name: total / len(x) for name, total in sums.items()}
    if val_x is not None:
        val = evaluate_batches(objective, state.params, val_x, val_y, batch_size=batch_size, mesh=mesh)
        logs |= {f"val_{name}": value for name, value in val.items()}
    return state, logs


def evaluate_batches(objective, params, x, y, *, batch_size, mesh=None):
    """Loss (with penalty) and metrics over ``(x, y)`` in inference mode, traceable; exact means."""
    indices, weights = _batch_plan(None, len(x), batch_size, shuffle=False)

    def body(sums, batch):
        index, weight = batch
        xb, yb = parallel.shard_batch((x[index], y[index]), mesh)
        y_pred = objective.model.apply(params, xb)
        return _add(sums, _weighted_sums(objective.scores(params, yb, y_pred, weight), jnp.sum(weight))), None

    sums, _ = jax.lax.scan(body, _zero_sums(objective), (indices, weights))
    return {name: total / len(x) for name, total in sums.items()}


class Trainer:
    """What ``compile`` returns: a model, loss, optimizer, metrics and regularizers, ready to train.

    Immutable; its jitted programs are built once and cached by shape, so
    repeated ``fit`` calls on data of the same shapes do not recompile.
    """

    def __init__(self, model, loss, optimizer, metrics=(), regularizers=()):
        self.model = model
        self.optimizer = optimizers.get(optimizer)
        self._objective = _objective(model, loss, metrics, regularizers)
        self._bars, self._tokens = {}, itertools.count()  # progress bars of the fits running now
        self.traces = 0  # how many times an epoch program was traced; tests count recompiles
        self._train_epoch = jax.jit(
            self._epoch_program, static_argnames=("batch_size", "shuffle", "augment", "mesh", "report_every")
        )
        self._evaluate = jax.jit(self._evaluate_program, static_argnames=("batch_size", "mesh"))
        self._predict = jax.jit(self._predict_program, static_argnames=("batch_size", "mesh"))
        self._train_batch = jax.jit(self._batch_program, static_argnames=("augment", "mesh"))

    # --- compiled programs ----------------------------------------------------

    def _epoch_program(self, state, x, y, val_x, val_y, token, *, batch_size, shuffle, augment, mesh,
                       report_every):
        self.traces += 1

        def report(done, sums):
            jax.debug.callback(self._report, token, done, sums)

        return train_epoch(self._objective, self.optimizer, state, x, y, val_x, val_y, batch_size=batch_size,
                           shuffle=shuffle, augment=augment, mesh=mesh, report=report, report_every=report_every)

    def _evaluate_program(self, params, x, y, *, batch_size, mesh):
        return evaluate_batches(self._objective, params, x, y, batch_size=batch_size, mesh=mesh)

    def _predict_program(self, params, x, *, batch_size, mesh):
        indices, _ = _batch_plan(None, len(x), batch_size, shuffle=False)

        def body(_, index):
            return None, self.model.apply(params, parallel.shard_batch(x[index], mesh))

        _, outputs = jax.lax.scan(body, None, indices)
        return outputs.reshape(-1, *outputs.shape[2:])[: len(x)]

    def _report(self, token, done, sums):
        bar = self._bars.get(int(token))
        if bar is not None:
            bar.update(int(done), {k: float(v) for k, v in sums.items()})

    # --- the Keras workflow -----------------------------------------------------

    def init_state(self, params, key) -> TrainState:
        """A fresh ``TrainState`` for ``params`` with this trainer's optimizer."""
        return init_state(params, self.optimizer, key)

    def fit(self, params_or_state, x, y=None, *, epochs=1, batch_size=32, validation_split=0.0,
            validation_data=None, shuffle=True, callbacks=(), key=None, verbose=1, augment=None, mesh=None):
        """Train for ``epochs`` epochs; returns ``(state, history)``.

        ``params_or_state``: initial params (then ``key`` is required) or a
        ``TrainState`` to continue from (its key unless ``key`` is given).
        ``x``, ``y``: arrays with one sample per row; or ``x`` an iterable of
        ``(x, y)`` batches and ``y=None`` for data that does not fit on the
        device. ``validation_split`` holds out the last fraction of the
        samples before shuffling, as Keras; ``validation_data=(x_val, y_val)``
        gives them directly. ``batch_size`` is clamped to the number of
        samples (``len(x)`` is full-batch gradient descent, 1 is SGD).
        ``augment(key, x_batch)`` runs inside the compiled step. ``verbose``:
        0 silent, 1 a progress bar per epoch, 2 a line per epoch.
        """
        hyperparameter("epochs", epochs, integer=True, low=0)
        hyperparameter("batch_size", batch_size, integer=True, low=1)
        hyperparameter("validation_split", validation_split, low=0, high=1, high_inclusive=False)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        for callback in callbacks:
            if not isinstance(callback, callbacks_lib.Callback):
                raise TypeError(f"callbacks must be fnnet.callbacks.Callback instances, got {callback!r}")
        mesh = parallel.resolve_mesh(mesh)
        state = self._start_state(params_or_state, key)
        if y is None:
            if validation_split:
                raise ValueError("validation_split needs arrays x and y; with batches pass validation_data")
            return self._fit_batches(state, x, epochs, validation_data, callbacks, verbose, augment, mesh)
        x, y, val_x, val_y = self._training_data(state.params, x, y, validation_split, validation_data)
        batch_size = min(batch_size, len(x))
        parallel.check_batch_size(batch_size, mesh)
        state, x, y, val_x, val_y = parallel.place((state, x, y, val_x, val_y), mesh)
        num_batches = -(-len(x) // batch_size)
        report_every = max(1, num_batches // 20) if verbose == 1 and mesh is None else 0
        token = next(self._tokens)
        self._bars[token] = progress = Progress(epochs, num_batches, batch_size, verbose)

        def run_epoch(state):
            return self._train_epoch(state, x, y, val_x, val_y, np.int32(token), batch_size=batch_size,
                                     shuffle=shuffle, augment=augment, mesh=mesh, report_every=report_every)

        try:
            return self._loop(state, epochs, run_epoch, progress, callbacks)
        finally:
            del self._bars[token]

    def _training_data(self, params, x, y, validation_split, validation_data):
        """Checked ``(x, y, val_x, val_y)``; ``validation_split`` takes the tail before shuffling, as Keras."""
        x, y = self._check_data(params, x, y, "x", "y")
        if validation_data is not None:
            return x, y, *self._check_data(params, *_pair(validation_data), "validation x", "validation y")
        if not validation_split:
            return x, y, None, None
        split = int(math.floor(len(x) * (1 - validation_split)))
        if split == 0 or split == len(x):
            raise ValueError(
                f"validation_split={validation_split} of {len(x)} samples leaves "
                f"{split} for training and {len(x) - split} for validation; both need at least one"
            )
        return x[:split], y[:split], x[split:], y[split:]

    def _start_state(self, params_or_state, key):
        if isinstance(params_or_state, TrainState):
            return params_or_state if key is None else params_or_state._replace(key=_as_key(key))
        if key is None:
            raise ValueError("fit from params needs key=jax.random.key(seed) for shuffling and dropout")
        return self.init_state(params_or_state, key)

    def _loop(self, state, epochs, run_epoch, progress, callbacks):
        history = callbacks_lib.History()
        all_callbacks = [*callbacks, history]
        state = _run_hooks(all_callbacks, "on_train_begin", state)
        try:
            for epoch in range(epochs):
                state = _run_hooks(all_callbacks, "on_epoch_begin", state, epoch)
                progress.begin_epoch(epoch)
                start = time.perf_counter()
                state, logs = run_epoch(state)
                logs = self._ordered_floats(logs)
                progress.end_epoch(logs, time.perf_counter() - start)
                state = _run_hooks(all_callbacks, "on_epoch_end", state, epoch, logs)
                if any(callback.stop_training for callback in all_callbacks):
                    break
        finally:
            progress.close()
        state = _run_hooks(all_callbacks, "on_train_end", state)
        return state, history

    def _ordered_floats(self, logs):
        """Logs as floats in Keras's order: loss, the metrics, then their ``val_`` forms."""
        names = ["loss", *self._objective.metrics]
        names += [f"val_{name}" for name in names]
        return {name: float(logs[name]) for name in names if name in logs}

    def _fit_batches(self, state, batches, epochs, validation_data, callbacks, verbose, augment, mesh):
        if not isinstance(batches, Iterable):
            raise TypeError(f"with y=None, x must be an iterable of (x, y) batches, got {type(batches).__name__}")
        if iter(batches) is batches and epochs > 1:
            raise ValueError(
                "an iterator of batches can be consumed only once; for epochs > 1 pass a re-iterable "
                "(a list, or an object whose __iter__ starts a new pass)"
            )
        val = None if validation_data is None else self._check_data(state.params, *_pair(validation_data),
                                                                    "validation x", "validation y")
        state = parallel.place(state, mesh)
        val = parallel.place(val, mesh)
        def run_epoch(state):
            sums, count, batch_size = None, 0, None
            for xb, yb, weight in _prefetch(self._padded_batches(state.params, batches, mesh), mesh):
                batch_size = batch_size or len(xb)
                state, batch_sums = self._train_batch(state, xb, yb, weight, augment=augment, mesh=mesh)
                sums = batch_sums if sums is None else _add(sums, batch_sums)
                count += int(weight.sum())
            if count == 0:
                raise ValueError("the iterable of batches yielded no samples")
            logs = {name: total / count for name, total in sums.items()}
            if val is not None:
                val_logs = self._evaluate(state.params, *val, batch_size=min(batch_size, len(val[0])), mesh=mesh)
                logs |= {f"val_{name}": value for name, value in val_logs.items()}
            return state, logs

        return self._loop(state, epochs, run_epoch, Progress(epochs, None, None, verbose), callbacks)

    def _batch_program(self, state, x, y, weight, *, augment, mesh):
        step = _step_fn(self._objective, self.optimizer, augment)
        state, scores = step(state, *parallel.shard_batch((x, y, weight), mesh))
        return state, _weighted_sums(scores, jnp.sum(weight))

    def _padded_batches(self, params, batches, mesh):
        """Checked host batches, each padded with weight-0 rows to the size of the first."""
        size = None
        for number, batch in enumerate(batches):
            xb, yb = self._check_data(params, *_pair(batch, f"batch {number}"), f"batch {number} x",
                                      f"batch {number} y")
            if size is None:
                size = len(xb)
                parallel.check_batch_size(size, mesh)
            if len(xb) > size:
                raise ValueError(f"batch {number} has {len(xb)} samples, more than the first batch's {size}")
            pad = size - len(xb)
            weight = np.concatenate([np.ones(len(xb), np.float32), np.zeros(pad, np.float32)])
            yield (np.concatenate([xb, np.repeat(xb[:1], pad, 0)]),
                   np.concatenate([yb, np.repeat(yb[:1], pad, 0)]), weight)

    def evaluate(self, params_or_state, x, y, *, batch_size=32, mesh=None):
        """Loss (with penalty) and metrics over ``(x, y)``, exact means over partial batches."""
        hyperparameter("batch_size", batch_size, integer=True, low=1)
        params = _params(params_or_state)
        mesh = parallel.resolve_mesh(mesh)
        x, y = self._check_data(params, x, y, "x", "y")
        batch_size = min(batch_size, len(x))
        parallel.check_batch_size(batch_size, mesh)
        params, x, y = parallel.place((params, x, y), mesh)
        return {name: float(v) for name, v in self._evaluate(params, x, y, batch_size=batch_size, mesh=mesh).items()}

    def predict(self, params_or_state, x, *, batch_size=32, mesh=None):
        """The model's outputs for ``x`` (inference mode), batched and jitted."""
        hyperparameter("batch_size", batch_size, integer=True, low=1)
        params = _params(params_or_state)
        mesh = parallel.resolve_mesh(mesh)
        x = _check_inputs(x, "x")
        _check_features(self.model, params, x)
        batch_size = min(batch_size, len(x))
        parallel.check_batch_size(batch_size, mesh)
        params, x = parallel.place((params, x), mesh)
        return np.asarray(self._predict(params, x, batch_size=batch_size, mesh=mesh))

    def predict_classes(self, params_or_state, x, *, batch_size=32, mesh=None):
        """Integer class labels: a single output column thresholded at 0.5, otherwise the argmax."""
        outputs = self.predict(params_or_state, x, batch_size=batch_size, mesh=mesh)
        if outputs.ndim == 1 or outputs.shape[-1] == 1:
            return (outputs.reshape(len(outputs)) > 0.5).astype(np.int32)
        return np.argmax(outputs, axis=-1).astype(np.int32)

    def _check_data(self, params, x, y, x_name, y_name):
        """Host-side checks before anything compiles: lengths, finiteness, and labels against outputs."""
        x, y = _check_inputs(x, x_name), _check_inputs(y, y_name)
        if len(x) != len(y):
            raise ValueError(f"{x_name} and {y_name} must have the same number of samples, got {len(x)} and {len(y)}")
        out = _check_features(self.model, params, x)
        # The loss and metrics check the labels themselves: their shapes abstractly, their values
        # against a placeholder prediction, in chunks of one size so these checks compile once.
        rows = 1024
        placeholder, weight = jnp.full((rows, *out.shape[1:]), 0.5, jnp.float32), jnp.ones(rows, jnp.float32)
        shapes = [jax.ShapeDtypeStruct(shape, dtype) for shape, dtype in
                  ((y.shape, y.dtype), ((len(y), *out.shape[1:]), jnp.float32), ((len(y),), jnp.float32))]
        for name, fn in {"loss": self._objective.loss, **self._objective.metrics}.items():
            try:
                jax.eval_shape(fn, *shapes)
                for start in range(0, len(y), rows):
                    chunk = y[start:start + rows]
                    fn(np.concatenate([chunk, np.repeat(chunk[:1], rows - len(chunk), 0)]), placeholder, weight)
            except ValueError as error:
                raise ValueError(f"{y_name} of shape {y.shape} does not fit the model's outputs of shape "
                                 f"{(None, *out.shape[1:])} under the {name}: {error}") from error
        return x, y


def _check_inputs(array, name):
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{name} must hold at least one sample, got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} holds {bad} NaN or infinite values")
    if array.dtype == np.float64 and not jax.config.jax_enable_x64:
        array = array.astype(np.float32)
    return array


def _check_features(model, params, x):
    """The model's output shape for ``x``, by abstract evaluation (no compilation)."""
    return jax.eval_shape(model.apply, params, jax.ShapeDtypeStruct((1, *x.shape[1:]), x.dtype))


def _pair(data, what="validation_data"):
    try:
        x, y = data
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a pair (x, y), got {type(data).__name__}") from None
    return x, y


def _params(params_or_state):
    return params_or_state.params if isinstance(params_or_state, TrainState) else params_or_state


def _run_hooks(all_callbacks, hook, state, *args):
    for callback in all_callbacks:
        new = getattr(callback, hook)(*args, state)
        state = state if new is None else new
    return state


def _prefetch(batches, mesh, ahead=2):
    """Yield device copies of host batches, ``ahead`` transfers in flight (device_put is asynchronous)."""
    queue = []
    for batch in batches:
        queue.append(parallel.place(batch, mesh))
        if len(queue) > ahead:
            yield queue.pop(0)
    yield from queue


def compile(model, loss, optimizer, metrics=(), regularizers=()) -> Trainer:  # noqa: A001 - Keras's name
    """A ``Trainer`` for ``model`` minimising ``loss`` (a name or callable) plus regularizers.

    ``optimizer`` is an optax transformation or a Keras name (``"adam"``);
    ``metrics`` are names or ``(y_true, y_pred)`` callables; ``regularizers``
    are extra ``(params) -> scalar`` penalties over the whole params tree,
    added to the layers' own.
    """
    return Trainer(model, loss, optimizer, metrics, regularizers)
