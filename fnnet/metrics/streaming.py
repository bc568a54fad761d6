"""Metrics that are not means of per-sample values: precision, recall, AUC, F1, from streamed counts.

A ``StreamingMetric`` is a value (a frozen dataclass of module-level
functions and hyperparameters: equal configurations compare and hash equal,
so compiled programs keyed by them are shared) whose statistics are a pytree
of arrays:

- ``init(dtype=float32) -> stats``: zeros;
- ``update(stats, y_true, y_pred, sample_weight=None) -> stats``: ``stats``
  plus the batch's weighted counts (a sample of weight ``w`` counts ``w``
  times; weight-0 rows, such as padding, change nothing);
- ``result(stats) -> scalar``: the metric from the counts;
- ``metric(y_true, y_pred, sample_weight=None) = result(update(init(), ...))``
  on one batch.

Because the statistics are sums, feeding batches one after another gives
exactly the result on all the data; they ``jit``, ``scan`` and ``vmap``.

Binary decisions, as Keras's ``Precision``, ``Recall``, ``AUC`` (not
``multi_label``) and ``F1Score(average="micro")``: every output element is
one decision, labels in ``{0, 1}`` (one sigmoid column, or several
independent ones, micro-averaged), predicted positive when ``p > threshold``.

| metric | definition |
| --- | --- |
| ``precision`` | ``TP / (TP + FP)`` at threshold 0.5 (0 when nothing is predicted positive) |
| ``recall`` | ``TP / (TP + FN)`` at threshold 0.5 (0 when there are no positives) |
| ``f1_score`` | ``2 TP / (2 TP + FP + FN)`` at threshold 0.5 (0 when all are 0): the binary F1, Keras's ``F1Score(average="micro", threshold=0.5)`` without its 1e-7 fuzz |
| ``auc`` | area under the ROC curve, Keras's ``AUC(num_thresholds=200, curve="ROC", summation_method="interpolation")``: TPR and FPR at thresholds ``[-1e-7, 1/199, ..., 198/199, 1 + 1e-7]`` (p clipped to [0, 1]), summed by trapezoids ``sum_i (FPR_i - FPR_{i+1}) (TPR_i + TPR_{i+1}) / 2`` |
"""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeGuard

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from fnnet import losses
from fnnet._checks import function, hyperparameter


@dataclasses.dataclass(frozen=True)
class StreamingMetric:
    """A metric computed from sums over the data: ``init``, ``update``, ``result`` (see the module).

    ``counts(y_true, y_pred, sample_weight, **options)`` gives one batch's
    statistics (a dict of arrays), ``shapes(**options)`` their shapes and
    ``finish(stats, **options)`` the value; ``options`` are the sorted
    ``(name, value)`` hyperparameters. A frozen dataclass (not a tuple, so
    ``compile`` never reads it as a list of metrics); ``__name__`` is
    ``name``, the name in the logs.
    """

    name: str
    counts: Callable[..., dict[str, jax.Array]]
    shapes: Callable[..., dict[str, tuple[int, ...]]]
    finish: Callable[..., jax.Array]
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"a StreamingMetric's name must be a non-empty string, got {self.name!r}")
        for field in ("counts", "shapes", "finish"):
            function(field, getattr(self, field))
        if not isinstance(self.options, tuple) or not all(
            isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) for o in self.options
        ):
            raise TypeError(f"options must be a tuple of (name, value) pairs, got {self.options!r}")

    @property
    def __name__(self) -> str:
        return self.name

    def init(self, dtype: DTypeLike = jnp.float32) -> dict[str, jax.Array]:
        """The statistics before any data: zeros."""
        return {key: jnp.zeros(shape, dtype) for key, shape in self.shapes(**dict(self.options)).items()}

    def update(
        self, stats: dict[str, jax.Array], y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> dict[str, jax.Array]:
        """``stats`` plus this batch's weighted counts."""
        batch = self.counts(y_true, y_pred, sample_weight, **dict(self.options))
        return {key: stats[key] + batch[key].astype(stats[key].dtype) for key in stats}

    def result(self, stats: dict[str, jax.Array]) -> jax.Array:
        """The metric's value from the accumulated statistics."""
        return self.finish(stats, **dict(self.options))

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
        """``result(update(init(), y_true, y_pred, sample_weight))``: the metric on one batch (compiled)."""
        y_true, y_pred = losses.as_arrays(self.name, y_true, y_pred)
        if sample_weight is not None:
            losses.check_sample_weight(sample_weight)
            sample_weight = jnp.asarray(sample_weight)
        return _on_one_batch(self, y_true, y_pred, sample_weight)


@functools.partial(jax.jit, static_argnums=0)
def _on_one_batch(
    metric: StreamingMetric, y_true: jax.Array, y_pred: jax.Array, sample_weight: jax.Array | None
) -> jax.Array:
    return metric.result(metric.update(metric.init(_dtype(y_pred)), y_true, y_pred, sample_weight))


def is_streaming(metric: object) -> TypeGuard[StreamingMetric]:
    """Whether ``metric`` is a ``StreamingMetric`` (accumulate its statistics; do not average batch values)."""
    return isinstance(metric, StreamingMetric)


def _dtype(y_pred: ArrayLike) -> DTypeLike:
    return jnp.promote_types(jnp.asarray(y_pred).dtype, jnp.float32)


def _decisions(
    name: str, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Flat ``(is positive label, prediction, weight)`` over every output element of every sample."""
    y_true, y_pred = losses.as_float_pair(name, y_true, y_pred)
    if sample_weight is None:
        weights = jnp.ones(y_pred.shape, y_pred.dtype)
    else:
        losses.check_sample_weight(sample_weight)
        sample_weight = jnp.asarray(sample_weight, y_pred.dtype)
        if sample_weight.shape != y_pred.shape[:1]:
            raise ValueError(
                f"sample_weight must have shape {y_pred.shape[:1]} (one weight per sample), got {sample_weight.shape}"
            )
        weights = jnp.broadcast_to(sample_weight.reshape(-1, *(1,) * (y_pred.ndim - 1)), y_pred.shape)
    return (y_true != 0).ravel(), y_pred.ravel(), weights.ravel()


def binary_confusion(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, threshold: float = 0.5
) -> dict[str, jax.Array]:
    """Weighted counts ``{"tp", "fp", "fn"}`` of the decisions ``p > threshold`` against labels ``y != 0``."""
    hyperparameter("threshold", threshold, low=0, high=1)
    actual, y_pred, weights = _decisions("binary confusion counts", y_true, y_pred, sample_weight)
    predicted = y_pred > threshold
    return {
        "tp": jnp.sum(weights * (actual & predicted)),
        "fp": jnp.sum(weights * (~actual & predicted)),
        "fn": jnp.sum(weights * (actual & ~predicted)),
    }


def _scalar_counts(threshold: float) -> dict[str, tuple[int, ...]]:
    return {"tp": (), "fp": (), "fn": ()}


def _divide(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """``numerator / denominator``, and 0 where the denominator is 0 (Keras's ``divide_no_nan``)."""
    return jnp.where(denominator == 0, 0, numerator / jnp.where(denominator == 0, 1, denominator))


def precision_of(stats: dict[str, jax.Array], threshold: float) -> jax.Array:
    """``TP / (TP + FP)``, 0 when nothing is predicted positive."""
    return _divide(stats["tp"], stats["tp"] + stats["fp"])


def recall_of(stats: dict[str, jax.Array], threshold: float) -> jax.Array:
    """``TP / (TP + FN)``, 0 when there are no positive labels."""
    return _divide(stats["tp"], stats["tp"] + stats["fn"])


def f1_of(stats: dict[str, jax.Array], threshold: float) -> jax.Array:
    """``2 TP / (2 TP + FP + FN)``, the harmonic mean of precision and recall (0 when all counts are 0)."""
    return _divide(2 * stats["tp"], 2 * stats["tp"] + stats["fp"] + stats["fn"])


def _threshold(threshold: float) -> tuple[tuple[str, float]]:
    hyperparameter("threshold", threshold, low=0, high=1)
    return (("threshold", float(threshold)),)


def Precision(threshold: float = 0.5) -> StreamingMetric:  # noqa: N802 - Keras's class name
    """Precision ``TP / (TP + FP)`` of the decisions ``p > threshold``, exact over streamed batches."""
    return StreamingMetric("precision", binary_confusion, _scalar_counts, precision_of, _threshold(threshold))


def Recall(threshold: float = 0.5) -> StreamingMetric:  # noqa: N802 - Keras's class name
    """Recall ``TP / (TP + FN)`` of the decisions ``p > threshold``, exact over streamed batches."""
    return StreamingMetric("recall", binary_confusion, _scalar_counts, recall_of, _threshold(threshold))


def F1Score(threshold: float = 0.5) -> StreamingMetric:  # noqa: N802 - Keras's class name
    """Binary F1 ``2 TP / (2 TP + FP + FN)`` of the decisions ``p > threshold`` (micro over outputs)."""
    return StreamingMetric("f1_score", binary_confusion, _scalar_counts, f1_of, _threshold(threshold))


def confusion_curve(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, num_thresholds: int = 200
) -> dict[str, jax.Array]:
    """Weighted ``{"tp", "fp", "tn", "fn"}`` of shape ``(num_thresholds,)`` at Keras's even thresholds.

    Threshold ``i`` is ``i / (T - 1)`` for ``0 < i < T - 1``, with ``-1e-7``
    and ``1 + 1e-7`` at the ends; ``p``, clipped to [0, 1], is positive
    when ``p > threshold``. Each prediction goes into one bucket (its highest
    threshold passed) and a reversed cumulative sum gives the counts, in
    ``O(N + T)`` as Keras's optimised update.
    """
    _num_thresholds(num_thresholds)
    actual, y_pred, weights = _decisions("auc", y_true, y_pred, sample_weight)
    p = jnp.clip(y_pred, 0, 1)
    bucket = jnp.clip(jnp.ceil(p * (num_thresholds - 1)) - 1, 0, num_thresholds - 1).astype(jnp.int32)
    positives, negatives = weights * actual, weights * ~actual

    def passed(values: jax.Array) -> jax.Array:
        per_bucket = jnp.zeros(num_thresholds, values.dtype).at[bucket].add(values)
        return jnp.cumsum(per_bucket[::-1])[::-1]

    tp, fp = passed(positives), passed(negatives)
    return {"tp": tp, "fp": fp, "tn": jnp.sum(negatives) - fp, "fn": jnp.sum(positives) - tp}


def _curve_counts(num_thresholds: int) -> dict[str, tuple[int, ...]]:
    return {key: (num_thresholds,) for key in ("tp", "fp", "tn", "fn")}


def roc_auc_of(stats: dict[str, jax.Array], num_thresholds: int) -> jax.Array:
    """Trapezoidal area under ``(FPR, TPR)`` over the thresholds (Keras's ``"interpolation"`` for ROC)."""
    tpr = _divide(stats["tp"], stats["tp"] + stats["fn"])
    fpr = _divide(stats["fp"], stats["fp"] + stats["tn"])
    return jnp.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)


def _num_thresholds(num_thresholds: int) -> int:
    """At least 3 thresholds, and few enough for the int32 bucket indices of ``confusion_curve``."""
    return hyperparameter("num_thresholds", num_thresholds, integer=True, low=3, high=np.iinfo(np.int32).max)


def AUC(num_thresholds: int = 200) -> StreamingMetric:  # noqa: N802 - Keras's class name
    """Area under the ROC curve from counts at ``num_thresholds`` even thresholds, as Keras's ``AUC``."""
    _num_thresholds(num_thresholds)
    return StreamingMetric(
        "auc", confusion_curve, _curve_counts, roc_auc_of, (("num_thresholds", int(num_thresholds)),)
    )


precision = Precision()
recall = Recall()
f1_score = F1Score()
auc = AUC()
