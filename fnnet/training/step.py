"""The objective training minimises, and the pure train step.

``J(params, x, y) = loss(y, model.apply(params, x)) + model.penalty(params)
+ sum_r r(params)``: the model's own layer regularizers plus any extra ones
over the whole params tree. The step is one ``jax.value_and_grad`` of ``J``
and one optax update; it is pure, so it jits, scans and vmaps.
"""

import inspect
from typing import Any, NamedTuple

import jax
import optax

from fnnet import losses, metrics as metrics_lib, optimizers, regularizers as regularizers_lib
from fnnet.training.state import TrainState, step_key


class PerSample(NamedTuple):
    """A user's ``(y_true, y_pred) -> scalar`` made weighted: evaluated per sample, then averaged.

    ``PerSample(fn)(y_true, y_pred, w) = sum_i w_i fn(y_i, p_i) / sum_i w_i``.
    """

    fn: Any

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = jax.vmap(lambda t, p: self.fn(t[None], p[None]))(y_true, y_pred)
        return losses.weighted_mean(values, sample_weight)


def weighted(fn):
    """``fn`` if it takes ``sample_weight`` (every fnnet loss and metric does), else ``PerSample(fn)``."""
    try:
        takes_weights = "sample_weight" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_weights = False
    return fn if takes_weights else PerSample(fn)


class Objective(NamedTuple):
    """A model, its loss, the metrics to watch and extra regularizers: what training minimises.

    Calling it is ``J(params, x, y, *, key=None, training=False,
    sample_weight=None) = loss(y, model(x)) + penalty(params)``. Equal parts
    make equal, equally hashing objectives, so compiled programs keyed by an
    objective are shared.
    """

    model: Any
    loss: Any  # (y_true, y_pred, sample_weight) -> scalar
    metrics: tuple = ()  # ((name, weighted metric), ...)
    regularizers: tuple = ()

    def __call__(self, params, x, y, *, key=None, training=False, sample_weight=None):
        y_pred = self.model.apply(params, x, key=key, training=training)
        return self.loss(y, y_pred, sample_weight) + self.penalty(params)

    def penalty(self, params):
        """``model.penalty(params) + sum_r r(params)``."""
        return regularizers_lib.total(self.model.penalty, *self.regularizers)(params)

    @property
    def names(self) -> tuple:
        """The logged names in Keras's order: ``loss``, then the metrics as given."""
        return ("loss", *(name for name, _ in self.metrics))

    def scores(self, params, y, y_pred, sample_weight=None, loss=None):
        """The loss (with penalty; computed unless given) and every metric on one batch."""
        if loss is None:
            loss = self.loss(y, y_pred, sample_weight) + self.penalty(params)
        return {"loss": loss, **{name: m(y, y_pred, sample_weight) for name, m in self.metrics}}


def metric_name(metric) -> str:
    """A metric's log name: the string given, or the callable's ``__name__``."""
    return metric if isinstance(metric, str) else getattr(metric, "__name__", type(metric).__name__)


def objective(model, loss, *regularizers, metrics=()) -> Objective:
    """The ``Objective`` of ``model`` under ``loss`` (a name or callable) plus ``regularizers``.

    Example:
        >>> import jax, jax.numpy as jnp, fnnet as fn
        >>> model = fn.Sequential([fn.layers.Dense(1)])
        >>> J = fn.objective(model, "mse", fn.regularizers.l2(1e-4))
        >>> params = model.init(jax.random.key(0), (3,))
        >>> J(params, jnp.ones((4, 3)), jnp.zeros((4, 1))).shape
        ()
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    for r in regularizers:
        if not callable(r):
            raise TypeError(f"regularizers must be callables (params) -> scalar, got {r!r}")
    named = tuple((metric_name(m), weighted(metrics_lib.get(m))) for m in metrics)
    names = [name for name, _ in named]
    duplicates = sorted({n for n in names if names.count(n) > 1} | ({"loss"} & set(names)))
    if duplicates:
        raise ValueError(f"metrics must have distinct names other than 'loss', got {duplicates}")
    return Objective(model, weighted(losses.get(loss)), named, tuple(regularizers))


def make_step(objective: Objective, optimizer, augment=None):
    """The train step of ``objective`` under an optax ``optimizer``; see ``train_step``."""

    def step(state, x, y, sample_weight=None):
        dropout_key, augment_key = jax.random.split(step_key(state))
        if augment is not None:
            x = augment(augment_key, x)

        def total_loss(params):
            y_pred = objective.model.apply(params, x, key=dropout_key, training=True)
            return objective.loss(y, y_pred, sample_weight) + objective.penalty(params), y_pred

        (loss, y_pred), grads = jax.value_and_grad(total_loss, has_aux=True)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        scores = objective.scores(state.params, y, y_pred, sample_weight, loss=loss)
        return TrainState(params, opt_state, state.step + 1, state.key), scores

    return step


def train_step(model, loss, optimizer, metrics=(), regularizers=(), augment=None):
    """The pure train step ``(state, x, y, sample_weight=None) -> (state, metrics)``.

    One ``jax.value_and_grad`` of ``J = loss(y, model(x)) + penalties`` and
    one optax update; ``metrics`` holds the batch's loss (with penalty) and
    each metric, before the update. ``augment(key, x)`` transforms the batch
    first. Jit it, scan it, or vmap it over stacked states.

    Args:
        model: a fnnet ``Layer`` (``Sequential``, ...).
        loss: a loss name (``"mse"``) or ``(y_true, y_pred[, sample_weight])`` callable.
        optimizer: an optax ``GradientTransformation`` or a Keras name (``"adam"``).
        metrics: metric names or callables.
        regularizers: extra ``(params) -> scalar`` penalties.
        augment: an optional ``(key, x) -> x`` augmentation.

    Returns:
        The step function ``(state, x, y, sample_weight=None) -> (state, metrics)``.

    Example:
        >>> import jax, jax.numpy as jnp, fnnet as fn
        >>> model = fn.Sequential([fn.layers.Dense(1)])
        >>> step = jax.jit(fn.train_step(model, "mse", "sgd"))
        >>> state = fn.training.init_state(model.init(jax.random.key(0), (2,)),
        ...                                fn.optimizers.get("sgd"), jax.random.key(1))
        >>> state, logs = step(state, jnp.ones((4, 2)), jnp.zeros((4, 1)))
        >>> int(state.step), sorted(logs)
        (1, ['loss'])
    """
    return make_step(objective(model, loss, *regularizers, metrics=metrics), optimizers.get(optimizer), augment)
