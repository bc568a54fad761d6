"""The objective training minimises, and the pure train step.

``J(params, x, y) = loss(y, model.apply(params, x)) + model.penalty(params)
+ sum_r r(params)``: the model's own layer regularizers plus any extra ones
over the whole params tree. The step is one ``jax.value_and_grad`` of ``J``
and one optax update; it is pure, so it jits, scans and vmaps.
"""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from fnnet._checks import as_tuple, describe, flag, function
from fnnet.layers.base import check_layer
from fnnet.layers.params import merge_updates
from fnnet import augment as augment_lib
from fnnet import layers, losses, metrics as metrics_lib, optimizers, precision, regularizers as regularizers_lib
from fnnet.protocols import (
    Augment,
    DTypePolicyName,
    KeyLike,
    LossSpec,
    LossWeights,
    MetricsSpec,
    OptimizerLike,
    Params,
    WeightedLoss,
)
from fnnet.training import checks as checks_lib, outputs
from fnnet.state import TrainState, step_key

Step = Callable[..., tuple[TrainState, dict[str, jax.Array]]]
"""A train step ``(state, x, y, sample_weight=None, mask=None) -> (state, metrics)``."""


class Objective(NamedTuple):
    """A model, its loss, the metrics to watch, extra regularizers and a dtype policy: what training minimises.

    Calling it is ``J(params, x, y, *, key=None, training=False,
    sample_weight=None) = loss(y, model(x)) + penalty(params)``, the forward
    pass under ``policy`` (see ``fnnet.precision``). ``weighted_loss`` says
    how sample weights reduce the loss (``batch_loss``): Keras's
    ``"sum_over_batch_size"``, ``sum_i w_i l_i / n`` over the batch's ``n``
    real samples, or ``"mean"``, ``sum_i w_i l_i / sum_i w_i``. Equal parts
    make equal, equally hashing objectives, so compiled programs keyed by an
    objective are shared.
    """

    model: layers.Layer
    loss: Callable[..., jax.Array]  # (y_true, y_pred, sample_weight) -> scalar
    metrics: tuple[tuple[str, Any], ...] = ()  # ((name, weighted metric), ...)
    regularizers: tuple[regularizers_lib.Regularizer, ...] = ()
    policy: precision.Policy = precision.POLICIES["float32"]
    weighted_loss: str = "sum_over_batch_size"

    def __call__(
        self,
        params: Params,
        x: Any,
        y: Any,
        *,
        key: KeyLike | None = None,
        training: bool = False,
        sample_weight: ArrayLike | None = None,
    ) -> jax.Array:
        y_pred = self.apply(params, x, key=key, training=training)
        return self.batch_loss(y, y_pred, sample_weight) + self.penalty(params)

    def batch_loss(
        self, y: Any, y_pred: Any, sample_weight: ArrayLike | None = None, mask: ArrayLike | None = None
    ) -> jax.Array:
        """The loss of one batch (without the penalty), reduced as ``weighted_loss`` says.

        ``mask`` marks the real rows of a padded batch with 1 (None: every
        row is real); ``sample_weight`` is already 0 on the others.
        """
        return self.loss(y, y_pred, sample_weight) * self.loss_factor(sample_weight, mask)

    def loss_factor(self, sample_weight: ArrayLike | None = None, mask: ArrayLike | None = None) -> jax.Array | float:
        """What turns a loss's ``sum_i w_i l_i / rows`` (every loss reduces as Keras) into ``weighted_loss``'s.

        ``rows / n`` for the ``n`` real rows (``"sum_over_batch_size"``) or
        ``rows / sum_i w_i`` (``"mean"``); 1 for an unweighted batch.
        """
        if sample_weight is None or (mask is None and self.weighted_loss == "sum_over_batch_size"):
            return 1.0
        counted = sample_weight if self.weighted_loss == "mean" else mask
        assert counted is not None  # "sum_over_batch_size" gets here with a mask only
        divisor = jnp.sum(counted)
        return jnp.shape(sample_weight)[0] / jnp.where(divisor == 0, 1, divisor)

    def loss_weight(
        self, rows: int, sample_weight: ArrayLike | None = None, mask: ArrayLike | None = None
    ) -> jax.Array:
        """What one batch's loss weighs in the epoch's mean: its real rows (Keras), or its total weight (``"mean"``)."""
        if self.weighted_loss == "mean" and sample_weight is not None:
            return jnp.sum(sample_weight)
        return jnp.asarray(rows, jnp.float32) if mask is None else jnp.sum(mask)

    def apply(self, params: Params, x: Any, *, key: KeyLike | None = None, training: bool = False) -> Any:
        """The model's outputs under the policy: computed in its compute dtype, returned in at least float32."""
        policy = self.policy
        y = self.model.apply(policy.cast_params(params), policy.cast_inputs(x), key=key, training=training)
        return policy.cast_output(y)

    def apply_train(
        self, params: Params, x: Any, *, key: KeyLike | None = None, sample_weight: ArrayLike | None = None
    ) -> tuple[Any, Params]:
        """``(outputs, updates)`` of the model's training pass under the policy; see ``Layer.apply_train``."""
        policy = self.policy
        y, updates = self.model.apply_train(
            policy.cast_params(params), policy.cast_inputs(x), key=key, sample_weight=sample_weight
        )
        return policy.cast_output(y), policy.cast_updates(updates)

    def penalty(self, params: Params) -> jax.Array:
        """``model.penalty(params) + sum_r r(params)``."""
        return regularizers_lib.total(self.model.penalty, *self.regularizers)(params)

    @property
    def names(self) -> tuple[str, ...]:
        """The logged names in Keras's order: ``loss``, then the metrics as given."""
        return ("loss", *(name for name, _ in self.metrics))

    def scores(
        self,
        params: Params,
        y: Any,
        y_pred: Any,
        sample_weight: ArrayLike | None = None,
        loss: jax.Array | None = None,
        mask: ArrayLike | None = None,
    ) -> dict[str, jax.Array]:
        """The loss (with penalty; computed unless given) and every metric on one batch."""
        if loss is None:
            loss = self.batch_loss(y, y_pred, sample_weight, mask) + self.penalty(params)
        factor = self.loss_factor(sample_weight, mask)
        return {
            "loss": loss,
            **{name: m(y, y_pred, sample_weight) * (factor if _is_loss_part(m) else 1) for name, m in self.metrics},
        }

    def init_logs(self) -> dict[str, Any]:
        """Running statistics of the logs before the first batch (float32, float64 under ``float64``).

        The loss and each mean metric keep ``(sum_b W_b v_b, sum_b W_b)`` over
        batches ``b`` of total weight ``W_b``; a streaming metric (precision,
        AUC, ...) keeps its own sufficient statistics.
        """
        zero = jnp.zeros((), self.policy.output_dtype)
        stats = {"loss": (zero, zero)}
        for name, metric in self.metrics:
            stats[name] = metric.init(zero.dtype) if _is_streaming(metric) else (zero, zero)
        return stats

    def update_logs(
        self,
        stats: dict[str, Any],
        y: Any,
        y_pred: Any,
        loss: jax.Array,
        sample_weight: ArrayLike | None = None,
        mask: ArrayLike | None = None,
    ) -> dict[str, Any]:
        """``stats`` after one batch whose loss (with penalty) is ``loss``; traceable.

        The loss and each output's loss weigh ``loss_weight`` (Keras: the
        real rows), each mean metric the batch's total sample weight (the
        rows when unweighted).
        """
        rows = jax.tree_util.tree_leaves(y_pred)[0].shape[0]
        weight = jnp.asarray(rows, loss.dtype) if sample_weight is None else jnp.sum(sample_weight).astype(loss.dtype)

        def add(pair, value, weight):
            total, count = pair
            return total + (value * weight).astype(total.dtype), count + weight.astype(count.dtype)

        loss_weight = self.loss_weight(rows, sample_weight, mask).astype(loss.dtype)
        new = {"loss": add(stats["loss"], loss, loss_weight)}
        for name, metric in self.metrics:
            if _is_streaming(metric):
                new[name] = metric.update(stats[name], y, y_pred, sample_weight)
            elif _is_loss_part(metric):
                value = metric(y, y_pred, sample_weight) * self.loss_factor(sample_weight, mask)
                new[name] = add(stats[name], value, loss_weight)
            else:
                new[name] = add(stats[name], metric(y, y_pred, sample_weight), weight)
        return new

    def logs(self, stats: dict[str, Any]) -> dict[str, jax.Array]:
        """The epoch's logs from its statistics: weighted means, and each streaming metric's result."""
        out = {}
        for name, metric in (("loss", None), *self.metrics):
            if metric is not None and _is_streaming(metric):
                out[name] = metric.result(stats[name])
            else:
                total, count = stats[name]
                out[name] = total / jnp.where(count == 0, 1, count)
        return out


def _is_loss_part(metric: object) -> bool:
    return isinstance(metric, outputs.OutputMetric) and metric.is_loss


def _is_streaming(metric: object) -> bool:
    if isinstance(metric, outputs.OutputMetric):
        return metric.streaming
    return metrics_lib.is_streaming(metric)


def objective(
    model: layers.Layer,
    loss: LossSpec,
    *regularizers: regularizers_lib.Regularizer,
    metrics: MetricsSpec = (),
    loss_weights: LossWeights | None = None,
    dtype_policy: DTypePolicyName | precision.Policy = "float32",
    weighted_loss: WeightedLoss = "sum_over_batch_size",
) -> Objective:
    """The ``Objective`` of ``model`` under ``loss`` (a name or callable) plus ``regularizers``.

    For a model with several outputs, ``loss``, ``loss_weights`` and
    ``metrics`` may be given per output (see ``fnnet.training.outputs``).
    ``weighted_loss`` is ``"sum_over_batch_size"`` (Keras: ``sum_i w_i l_i / n``)
    or ``"mean"`` (``sum_i w_i l_i / sum_i w_i``); see ``Objective.batch_loss``.

    Examples:
        >>> import jax, jax.numpy as jnp, fnnet as fn
        >>> model = fn.Sequential([fn.layers.Dense(1)])
        >>> J = fn.objective(model, "mse", fn.regularizers.l2(1e-4))
        >>> params = model.init(jax.random.key(0), (3,))
        >>> J(params, jnp.ones((4, 3)), jnp.zeros((4, 1))).shape
        ()
    """
    check_layer("model", model)
    for i, r in enumerate(regularizers):
        if not callable(r):
            raise TypeError(f"regularizers must be callables (params) -> scalar, got {r!r}")
        function(f"regularizers[{i}]", r, factories=regularizers_lib.FACTORIES)
    if weighted_loss == "mean_with_sample_weight":  # Keras's name for the same reduction
        weighted_loss = "mean"
    if weighted_loss not in losses.WEIGHTED_LOSS_REDUCTIONS:
        raise ValueError(
            f"weighted_loss must be one of {list(losses.WEIGHTED_LOSS_REDUCTIONS)} "
            f"(Keras's sum_i w_i l_i / n, or sum_i w_i l_i / sum_i w_i), got {weighted_loss!r}"
        )
    loss, named = outputs.objective_parts(model, loss, loss_weights, metrics)
    names = [name for name, _ in named]
    duplicates = sorted({n for n in names if names.count(n) > 1} | ({"loss"} & set(names)))
    if duplicates:
        raise ValueError(f"metrics must have distinct names other than 'loss', got {duplicates}")
    return Objective(model, loss, named, tuple(regularizers), precision.get(dtype_policy), weighted_loss)


def check_objective(value: object) -> "Objective":
    """A ``Trainer``'s ``objective``: an ``Objective`` (``fn.objective(model, loss, ...)``'s), not the factory."""
    if not isinstance(value, Objective):
        function("objective", value, factories=(objective,))
        raise TypeError(
            f"objective must be an Objective, as fn.objective(model, loss, ...) returns, got {describe(value)}"
        )
    return value


def augmentation(augment: Any) -> Augment | None:
    """``augment`` of ``fit`` and ``train_step``: None or a callable ``(key, x_batch) -> x_batch``, not a factory."""
    if augment is None:
        return None
    return function(
        "augment",
        augment,
        factories=(augment_lib.random_flip, augment_lib.random_rotation, augment_lib.random_translation),
    )


def make_update(
    objective: Objective, optimizer: optax.GradientTransformation, augment: Augment | None = None, checks: bool = False
) -> Callable[..., tuple[TrainState, jax.Array, Any]]:
    """``(state, x, y, sample_weight=None, mask=None) -> (state, loss, y_pred)``: one step of ``objective``.

    ``mask`` marks a padded batch's real rows (see ``Objective.batch_loss``).
    ``checks=True`` adds ``checkify`` checks of the batch and the loss
    (``fnnet.training.checks``); the caller functionalizes them.

    The model's training pass (``apply_train``) gives the outputs and the new
    values of its non-trainable leaves; the optimizer's updates of those
    leaves are dropped (AdamW's decay included) and the new values put in.
    """

    def update(state, x, y, sample_weight=None, mask=None):
        dropout_key, augment_key = jax.random.split(step_key(state))
        if augment is not None:
            x = augment(augment_key, x)

        def total_loss(params):
            y_pred, moving = objective.apply_train(params, x, key=dropout_key, sample_weight=sample_weight)
            loss = objective.batch_loss(y, y_pred, sample_weight, mask)
            return loss + objective.penalty(params), (y_pred, moving)

        (loss, (y_pred, moving)), grads = jax.value_and_grad(total_loss, has_aux=True)(state.params)
        if checks:
            checks_lib.check_batch(objective, state.step, x, y, y_pred)
            checks_lib.check_loss(state.step, loss)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        trainable = layers.trainable_mask(objective.model, state.params)
        if not all(jax.tree_util.tree_leaves(trainable)):
            updates = jax.tree_util.tree_map(lambda u, t: u if t else jnp.zeros_like(u), updates, trainable)
        params = merge_updates(optax.apply_updates(state.params, updates), moving)
        if jax.tree_util.tree_structure(params) != jax.tree_util.tree_structure(state.params):
            extra = sorted(set(_paths(params)) - set(_paths(state.params)))
            raise ValueError(
                f"the model's apply_train returned updates for leaves its params do not have: {extra}; "
                "a layer's updates may only give new values of its own (non-trainable) params"
            )
        return TrainState(params, opt_state, state.step + 1, state.key), loss, y_pred

    return update


def make_step(
    objective: Objective, optimizer: optax.GradientTransformation, augment: Augment | None = None, checks: bool = False
) -> Step:
    """The train step of ``objective`` under an optax ``optimizer``; see ``train_step``."""
    update = make_update(objective, optimizer, augment, checks)

    def step(state, x, y, sample_weight=None, mask=None):
        new, loss, y_pred = update(state, x, y, sample_weight, mask)
        return new, objective.scores(state.params, y, y_pred, sample_weight, loss=loss, mask=mask)

    return step


def train_step(
    model: layers.Layer,
    loss: LossSpec,
    optimizer: OptimizerLike,
    metrics: MetricsSpec = (),
    regularizers: Sequence[regularizers_lib.Regularizer] = (),
    augment: Augment | None = None,
    dtype_policy: DTypePolicyName | precision.Policy = "float32",
    weighted_loss: WeightedLoss = "sum_over_batch_size",
    checks: bool = False,
) -> Step:
    """The pure train step ``(state, x, y, sample_weight=None, mask=None) -> (state, metrics)``.

    One ``jax.value_and_grad`` of ``J = loss(y, model(x)) + penalties`` and
    one optax update; ``metrics`` holds the batch's loss (with penalty) and
    each metric, before the update. ``augment(key, x)`` transforms the batch
    first. Jit it, scan it, or vmap it over stacked states. A batch padded
    to a fixed size passes its 0/1 real rows as ``mask`` (and 0 weights on
    the padding): the loss then divides by the real rows, as ``fit`` does.

    Args:
        model: a fnnet ``Layer`` (``Sequential``, ...).
        loss: a loss name (``"mse"``) or ``(y_true, y_pred[, sample_weight])`` callable.
        optimizer: an optax ``GradientTransformation`` or a Keras name (``"adam"``).
        metrics: metric names or callables.
        regularizers: extra ``(params) -> scalar`` penalties.
        augment: an optional ``(key, x) -> x`` augmentation.
        dtype_policy: ``"float32"``, ``"mixed_bfloat16"`` or ``"float64"`` (``fnnet.precision``).
        weighted_loss: ``"sum_over_batch_size"`` (Keras: ``sum_i w_i l_i / N``) or
            ``"mean"`` (``sum_i w_i l_i / sum_i w_i``).
        checks: True: the step is compiled with ``jax.experimental.checkify``
            checks and raises ``checkify.JaxRuntimeError`` on NaN or infinite
            inputs, labels the loss cannot take (out of range, NaN) and a NaN
            or infinite loss, naming the step. It is then a host function
            (jitted inside), not one to vmap or scan; see ``fnnet.training.checks``.

    Returns:
        The step function ``(state, x, y, sample_weight=None, mask=None) -> (state, metrics)``.

    Examples:
        >>> import jax, jax.numpy as jnp, fnnet as fn
        >>> model = fn.Sequential([fn.layers.Dense(1)])
        >>> step = jax.jit(fn.train_step(model, "mse", "sgd"))
        >>> state = fn.training.init_state(model.init(jax.random.key(0), (2,)),
        ...                                fn.optimizers.get("sgd"), jax.random.key(1))
        >>> state, logs = step(state, jnp.ones((4, 2)), jnp.zeros((4, 1)))
        >>> int(state.step), sorted(logs)
        (1, ['loss'])
    """
    obj = objective(
        model,
        loss,
        *as_tuple(regularizers, "regularizers"),
        metrics=metrics,
        dtype_policy=dtype_policy,
        weighted_loss=weighted_loss,
    )
    augment = augmentation(augment)
    if flag("checks", checks):
        return checks_lib.raising(make_step(obj, optimizers.get(optimizer), augment, checks=True))
    return make_step(obj, optimizers.get(optimizer), augment)


def _paths(tree: Params) -> list[str]:
    return [jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_leaves_with_path(tree)]
