"""Metrics ``(y_true, y_pred, sample_weight=None) -> scalar``: what to watch, not to minimise.

Most metrics, like the losses, are a weighted mean over samples of a
per-sample value, so a partial batch with 0/1 weights gives the exact mean
and the mean of batch means (weighted by the batches' weights) is exact over
an epoch:

- ``binary_accuracy``: fraction of outputs with ``(p > threshold) == y``, labels in {0, 1}.
- ``categorical_accuracy``: ``argmax p == argmax y`` for one-hot ``y``.
- ``sparse_categorical_accuracy``: ``argmax p == y`` for integer ``y``.
- ``accuracy``: one of the three, chosen from the shapes as Keras's
  ``"accuracy"`` is: a single output column is binary, ``y_true`` shaped like
  ``y_pred`` is one-hot, integer labels of shape ``(N,)`` are sparse.
- ``top_k_categorical_accuracy`` (one-hot ``y``) and ``sparse_top_k_categorical_accuracy``
  (integer ``y``): the true class's score is among the ``k = 5`` largest (ties count
  as in, as Keras's ``in_top_k``); ``TopKCategoricalAccuracy(k)`` and
  ``SparseTopKCategoricalAccuracy(k)`` fix another ``k``.
- ``mae``, ``mse``, and every other loss by name (``"categorical_crossentropy"``, ...), as a
  ``LossMetric``: the weighted mean ``sum_i w_i l_i / sum_i w_i`` of its per-sample values.

``precision``, ``recall``, ``auc`` and ``f1_score`` are not means of
per-sample values: they are ratios of counts over the whole data. They are
``StreamingMetric`` values (``is_streaming(metric)``), pure pytrees of
sufficient statistics: ``init()`` zeros, ``update(stats, y_true, y_pred,
sample_weight)`` adds one batch's weighted counts, ``result(stats)`` the
value, so batches fed one after another give exactly the value on all the
data (see ``fnnet.metrics.streaming``).
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet import losses
from fnnet._checks import function, hyperparameter
from fnnet._registry import lookup
from fnnet.metrics.streaming import (
    AUC,
    F1Score,
    Precision,
    Recall,
    StreamingMetric as StreamingMetric,  # re-exported: fn.metrics.StreamingMetric
    auc,
    binary_confusion,
    confusion_curve,
    f1_score,
    is_streaming,
    precision,
    recall,
)
from fnnet.protocols import Metric, MetricLike  # Metric: the protocol every metric here satisfies


def binary_accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, threshold: float = 0.5
) -> jax.Array:
    """Mean over samples of ``mean_k [(p_k > threshold) == y_k]``."""
    hyperparameter("threshold", threshold)
    y_true, y_pred = losses.as_float_pair("binary_accuracy", y_true, y_pred)
    hits = (y_pred > threshold).astype(y_pred.dtype) == y_true
    per_sample = jnp.mean(hits.reshape(hits.shape[0], -1), axis=1, dtype=y_pred.dtype)
    return losses.weighted_mean(per_sample, sample_weight)


def categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Fraction of samples with ``argmax p == argmax y`` (one-hot ``y_true``)."""
    y_true, y_pred = losses.as_arrays("categorical_accuracy", y_true, y_pred)
    if y_true.shape != y_pred.shape or y_pred.ndim != 2:
        raise ValueError(
            f"categorical_accuracy expects one-hot y_true and y_pred of one shape (N, num_classes), "
            f"got {y_true.shape} and {y_pred.shape}"
        )
    return _fraction_equal(jnp.argmax(y_true, axis=-1), y_pred, sample_weight)


def sparse_categorical_accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None
) -> jax.Array:
    """Fraction of samples with ``argmax p == y`` (integer ``y_true`` of shape ``(N,)``)."""
    y_true, y_pred = losses.as_arrays("sparse_categorical_accuracy", y_true, y_pred)
    labels = losses.integer_labels("sparse_categorical_accuracy", y_true, y_pred)
    return _fraction_equal(labels, y_pred, sample_weight)


def _fraction_equal(labels: jax.Array, y_pred: jax.Array, sample_weight: ArrayLike | None) -> jax.Array:
    hits = jnp.argmax(y_pred, axis=-1) == labels
    dtype = jnp.promote_types(y_pred.dtype, jnp.float32)
    return losses.weighted_mean(hits.reshape(hits.shape[0], -1).mean(axis=1, dtype=dtype), sample_weight)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Binary, categorical or sparse accuracy, chosen from the shapes of the arguments."""
    y_true, y_pred = losses.as_arrays("accuracy", y_true, y_pred)
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred, sample_weight)
    if y_true.shape == y_pred.shape:
        return categorical_accuracy(y_true, y_pred, sample_weight)
    return sparse_categorical_accuracy(y_true, y_pred, sample_weight)


def top_k_categorical_accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, k: int = 5
) -> jax.Array:
    """Fraction of samples whose true class (``argmax y``, one-hot ``y_true``) is among the ``k`` top scores.

    The true class is in when fewer than ``k`` classes score strictly higher
    (ties count as in, as Keras's ``in_top_k``); a NaN score is never in.
    """
    hyperparameter("k", k, integer=True, low=1)
    y_true, y_pred = losses.as_arrays("top_k_categorical_accuracy", y_true, y_pred)
    if y_true.shape != y_pred.shape or y_pred.ndim != 2:
        raise ValueError(
            f"top_k_categorical_accuracy expects one-hot y_true and y_pred of one shape (N, num_classes), "
            f"got {y_true.shape} and {y_pred.shape}; integer labels need sparse_top_k_categorical_accuracy"
        )
    return _fraction_in_top_k(jnp.argmax(y_true, axis=-1), y_pred, k, sample_weight)


def sparse_top_k_categorical_accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, k: int = 5
) -> jax.Array:
    """Fraction of samples whose integer label ``y`` is among the ``k`` top scores (ties count as in)."""
    hyperparameter("k", k, integer=True, low=1)
    y_true, y_pred = losses.as_arrays("sparse_top_k_categorical_accuracy", y_true, y_pred)
    labels = losses.integer_labels("sparse_top_k_categorical_accuracy", y_true, y_pred)
    return _fraction_in_top_k(labels, y_pred, k, sample_weight)


def _fraction_in_top_k(labels: jax.Array, y_pred: jax.Array, k: int, sample_weight: ArrayLike | None) -> jax.Array:
    at_label = jnp.take_along_axis(y_pred, labels[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)  # as Keras: NaN is no large score
    hits = jnp.sum(y_pred > at_label, axis=-1) < k
    dtype = jnp.promote_types(y_pred.dtype, jnp.float32)
    return losses.weighted_mean(hits.reshape(hits.shape[0], -1).mean(axis=1, dtype=dtype), sample_weight)


def TopKCategoricalAccuracy(k: int = 5) -> losses.WithOptions:  # noqa: N802 - Keras's class name
    """``top_k_categorical_accuracy`` with ``k`` fixed, as a hashable value for ``compile``."""
    hyperparameter("k", k, integer=True, low=1)
    return losses.configure(top_k_categorical_accuracy, k=int(k))


def SparseTopKCategoricalAccuracy(k: int = 5) -> losses.WithOptions:  # noqa: N802 - Keras's class name
    """``sparse_top_k_categorical_accuracy`` with ``k`` fixed, as a hashable value for ``compile``."""
    hyperparameter("k", k, integer=True, low=1)
    return losses.configure(sparse_top_k_categorical_accuracy, k=int(k))


@dataclasses.dataclass(frozen=True)
class LossMetric:
    """A loss watched as a metric, as Keras's ``MeanMetricWrapper``: ``sum_i w_i l_i / sum_i w_i``.

    A loss reduces as ``sum_i w_i l_i / N`` (Keras's loss reduction); a
    metric is a weighted mean, so this rescales by ``N / sum_i w_i``
    (a batch whose weights are all 0 gives 0). A frozen dataclass, not a
    tuple: equal ones hash equal, ``jax.jit`` takes it, and ``compile``
    never mistakes it for a list of metrics.
    """

    loss: Callable[..., jax.Array]

    def __post_init__(self) -> None:
        function("loss", self.loss, factories=(losses.Huber,))

    @property
    def __name__(self) -> str:  # noqa: PLW3201 - logged under its loss's name, as Keras logs a function metric
        return getattr(losses.unconfigured(self.loss), "__name__", type(self.loss).__name__)

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
        value = self.loss(y_true, y_pred, sample_weight)
        if sample_weight is None:
            return value
        total = jnp.sum(jnp.asarray(sample_weight, value.dtype))
        return value * (jnp.shape(sample_weight)[0] / jnp.where(total == 0, 1, total))


_LOSSES = frozenset(losses.BY_NAME.values())
FACTORIES = (AUC, F1Score, Precision, Recall, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, losses.Huber)
"""Metric factories, which ``get`` refuses uncalled (``AUC`` where ``AUC()`` goes)."""

mae = mean_absolute_error = LossMetric(losses.mean_absolute_error)
mse = mean_squared_error = LossMetric(losses.mean_squared_error)

BY_NAME = {
    **{name: LossMetric(loss) for name, loss in losses.BY_NAME.items()},  # every loss is a metric too, as in Keras
    "accuracy": accuracy,
    "acc": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mae": mae,
    "mean_absolute_error": mae,
    "mse": mse,
    "mean_squared_error": mse,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "precision": precision,
    "recall": recall,
    "auc": auc,
    "f1_score": f1_score,
}


def check_labels(metric: Callable[..., Any], y_true: ArrayLike, output_shape: Sequence[int]) -> None:
    """Check on the host the label values a metric needs (``losses.check_labels`` for the losses).

    ``sparse_categorical_accuracy`` (and ``accuracy`` on sparse labels):
    integers in ``[0, C)``; ``binary_accuracy`` (and ``accuracy`` on one
    output column): values in ``{0, 1}`` or ``[0, 1]``;
    ``sparse_top_k_categorical_accuracy``: integers in ``[0, C)``; the
    streaming ``precision``, ``recall``, ``auc``, ``f1_score``: labels in
    ``{0, 1}`` only (they count each label as a positive or a negative).
    """
    if is_streaming(metric):
        if metric.counts in (binary_confusion, confusion_curve):
            losses.check_binary(metric.name, y_true)
        return
    if isinstance(metric, LossMetric):
        losses.check_labels(metric.loss, y_true, output_shape)
        return
    metric = losses.unconfigured(metric)
    if metric is accuracy:
        single = len(output_shape) == 0 or output_shape[-1] == 1
        categorical = tuple(jnp.shape(y_true)[1:]) == tuple(output_shape)
        metric = binary_accuracy if single else categorical_accuracy if categorical else sparse_categorical_accuracy
    if metric in (sparse_categorical_accuracy, sparse_top_k_categorical_accuracy):
        losses.check_class_labels(metric.__name__, y_true, output_shape[-1])
    elif metric is binary_accuracy:
        losses.check_probabilities(metric.__name__, y_true)
    else:
        losses.check_labels(metric, y_true, output_shape)


def get(name_or_callable: MetricLike) -> Metric:
    """Return the metric called ``name`` (Keras names), or a callable as is (a loss as its ``LossMetric``)."""
    metric = lookup("metric", BY_NAME, name_or_callable, factories=FACTORIES)
    return LossMetric(metric) if _is_loss(metric) else metric


def metric_name(metric: object) -> str:
    """A metric's log name: the string given, or the callable's ``__name__`` (else its type's)."""
    return metric if isinstance(metric, str) else getattr(metric, "__name__", type(metric).__name__)


def _is_loss(fn: Callable[..., Any]) -> bool:
    try:
        return losses.unconfigured(fn) in _LOSSES
    except TypeError:  # an unhashable callable is no fnnet loss
        return False
