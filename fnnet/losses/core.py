"""What every loss shares: the weighted mean over samples, weighting a user's callable, aligned pairs, label checks.

These are public so that ``metrics`` and ``training`` use them too; the
losses themselves live in ``regression``, ``probabilistic`` and ``hinge``.
"""

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from fnnet._checks import function, real_array

EPSILON = 1e-7
"""Keras's fuzz factor: probabilities are clipped to ``[EPSILON, 1 - EPSILON]``."""


WEIGHTED_LOSS_REDUCTIONS = ("sum_over_batch_size", "mean")
"""How a weighted loss is reduced: Keras's ``sum_i w_i l_i / N`` (the default) or ``sum_i w_i l_i / sum_i w_i``."""


def is_concrete(*arrays: Any) -> bool:
    """Whether every array has values (none is a tracer): called eagerly, not inside ``jit``, ``grad`` or ``vmap``."""
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def check_sample_weight(sample_weight: ArrayLike) -> None:
    """Real numbers; when concrete, finite and non-negative (inside ``jit``: ``fit`` checks them first)."""
    real_array("sample_weight", sample_weight)
    if is_concrete(sample_weight):
        values = np.asarray(sample_weight)
        if values.size and (not np.all(np.isfinite(values)) or values.min() < 0):
            raise ValueError(
                f"sample_weight must be finite and non-negative, got values from {np.nanmin(values):g} "
                f"to {np.nanmax(values):g}" + (" and NaN" if np.isnan(values).any() else "")
            )


def _weights(per_sample: jax.Array, sample_weight: ArrayLike) -> jax.Array:
    check_sample_weight(sample_weight)
    sample_weight = jnp.asarray(sample_weight, per_sample.dtype)
    if sample_weight.shape != per_sample.shape:
        raise ValueError(
            f"sample_weight must have shape {per_sample.shape} (one weight per sample), got {sample_weight.shape}"
        )
    return sample_weight


def _per_sample(per_sample: ArrayLike) -> jax.Array:
    """One real value per sample: shape ``(N,)`` with ``N >= 1`` (the mean of no values is NaN)."""
    per_sample = jnp.asarray(real_array("per_sample", per_sample))
    if per_sample.ndim != 1 or per_sample.shape[0] == 0:
        raise ValueError(f"per_sample must have shape (N,) with N >= 1 (one value per sample), got {per_sample.shape}")
    return per_sample


def weighted_mean(per_sample: jax.Array, sample_weight: ArrayLike | None = None) -> jax.Array:
    """``sum_i w_i l_i / sum_i w_i`` of per-sample values ``l`` of shape ``(N,)``: how metrics average.

    With ``sample_weight=None`` it is the plain mean; a batch whose weights
    are all zero has mean 0. Weights 0/1 mask out padded samples exactly.
    """
    per_sample = _per_sample(per_sample)
    if sample_weight is None:
        return jnp.mean(per_sample)
    sample_weight = _weights(per_sample, sample_weight)
    total = jnp.sum(sample_weight)
    return jnp.sum(sample_weight * per_sample) / jnp.where(total == 0, 1, total)


def sum_over_batch_size(per_sample: jax.Array, sample_weight: ArrayLike | None = None) -> jax.Array:
    """``sum_i w_i l_i / N`` of per-sample values ``l`` of shape ``(N,)``: how every loss reduces, as Keras 3.

    With ``sample_weight=None`` it is the plain mean. Weights scale the loss
    and its gradient (``class_weight={1: 10}`` trains as in Keras); training
    divides by the real samples only (``Objective.batch_loss``).
    """
    per_sample = _per_sample(per_sample)
    if sample_weight is None:
        return jnp.mean(per_sample)
    return jnp.sum(_weights(per_sample, sample_weight) * per_sample) / per_sample.shape[0]


class PerSample(NamedTuple):
    """A user's ``(y_true, y_pred) -> scalar`` made weighted: evaluated per sample, then reduced.

    ``PerSample(fn, reduce)(y_true, y_pred, w) = reduce([fn(y_i, p_i)]_i, w)``:
    ``sum_over_batch_size`` for a loss, ``weighted_mean`` for a metric.
    """

    fn: Callable[..., Any]
    reduce: Callable[[jax.Array, ArrayLike | None], jax.Array] = weighted_mean

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
        values = jax.vmap(lambda t, p: self.fn(t[None], p[None]))(y_true, y_pred)
        return self.reduce(values, sample_weight)


def weighted(
    fn: Callable[..., Any],
    reduce: Callable[[jax.Array, ArrayLike | None], jax.Array] = weighted_mean,
) -> Callable[..., jax.Array]:
    """``fn`` if it takes ``sample_weight`` (every fnnet loss and metric does), else ``PerSample(fn, reduce)``."""
    try:
        takes_weights = "sample_weight" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_weights = False
    return fn if takes_weights else PerSample(fn, reduce)


def as_float_pair(name: str, y_true: ArrayLike, y_pred: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Aligned float arrays of equal shape ``(N, ...)``, or a ValueError naming both shapes.

    Called on concrete arrays (not inside ``jit``) it also checks what
    ``fit`` checks before compiling: at least one sample, finite values.
    """
    y_true, y_pred = as_arrays(name, y_true, y_pred)
    if y_true.shape == y_pred.shape[:-1] and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    elif y_pred.shape == y_true.shape[:-1] and y_true.shape[-1] == 1:
        y_pred = y_pred[..., None]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; they must match"
        )
    dtype = jnp.promote_types(y_pred.dtype, jnp.float32)
    return y_true.astype(dtype), y_pred.astype(dtype)


def with_feature_axis(y_true: jax.Array, y_pred: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(N,)`` arrays as ``(N, 1)``: for losses that reduce over the last (feature) axis."""
    if y_pred.ndim == 1:
        return y_true[:, None], y_pred[:, None]
    return y_true, y_pred


def features_axes(x: jax.Array) -> tuple[int, ...]:
    """Every axis but the batch axis."""
    return tuple(range(1, x.ndim))


def mean_over_features(elementwise: jax.Array, sample_weight: ArrayLike | None) -> jax.Array:
    """Weighted mean over samples of the per-sample mean over all output features."""
    return sum_over_batch_size(jnp.mean(elementwise, axis=features_axes(elementwise)), sample_weight)


def flatten_samples(per_position: jax.Array) -> jax.Array:
    """Average any non-batch axes left after reducing the class axis: one value per sample."""
    return jnp.mean(per_position.reshape(per_position.shape[0], -1), axis=1)


@dataclasses.dataclass(frozen=True)
class WithOptions:
    """A loss or metric with keyword options fixed, by value: ``WithOptions(huber, (("delta", 2.0),))``.

    Calling it is ``fn(y_true, y_pred, sample_weight, **options)``. Unlike a
    closure or ``functools.partial``, equal ones compare and hash equal, so
    compiled programs keyed by a loss are shared; ``__name__`` is ``fn``'s
    (the name in the logs). Build it with ``configure(fn, **options)``. It is
    a frozen dataclass, not a tuple, so that ``compile`` never mistakes it
    for a list of losses or metrics (one per output).
    """

    fn: Callable[..., jax.Array]
    options: tuple[tuple[str, Any], ...] = ()  # sorted (name, value) pairs

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
        return self.fn(y_true, y_pred, sample_weight, **dict(self.options))

    @property
    def __name__(self) -> str:
        return self.fn.__name__


def configure(fn: Callable[..., jax.Array], **options: Any) -> WithOptions:
    """``fn`` with keyword ``options`` fixed, as a hashable value (see ``WithOptions``)."""
    return WithOptions(function("fn", fn), tuple(sorted(options.items())))


def unconfigured(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The loss or metric inside a ``WithOptions`` (its label checks are those of ``fn``), else ``fn``."""
    return fn.fn if isinstance(fn, WithOptions) else fn


def as_arrays(name: str, y_true: ArrayLike, y_pred: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """``y_true`` and ``y_pred`` as JAX arrays of real numbers with a batch axis, checked by ``check_samples``."""
    y_true = jnp.asarray(real_array(f"{name}: y_true", y_true))
    y_pred = jnp.asarray(real_array(f"{name}: y_pred", y_pred))
    check_samples(name, y_true, y_pred)
    return y_true, y_pred


def check_samples(name: str, y_true: jax.Array, y_pred: jax.Array) -> None:
    """A batch axis, real (not complex) numbers; when concrete, at least one sample and finite values."""
    if y_pred.ndim == 0 or y_true.ndim == 0:
        raise ValueError(
            f"{name} needs a leading batch axis, got y_true shape {y_true.shape} and y_pred shape {y_pred.shape}"
        )
    for label, array in (("y_true", y_true), ("y_pred", y_pred)):
        if not (
            jnp.issubdtype(array.dtype, jnp.integer)
            or jnp.issubdtype(array.dtype, jnp.floating)
            or array.dtype == jnp.bool_
        ):
            raise TypeError(f"{name} takes real numbers, got {label} of dtype {array.dtype}")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"{name} needs one y_true per sample of y_pred, got y_true shape {y_true.shape} and y_pred "
            f"shape {y_pred.shape}"
        )
    if not is_concrete(y_true, y_pred):
        return
    if y_pred.shape[0] == 0 or y_true.shape[0] == 0:
        raise ValueError(
            f"{name} needs at least one sample, got y_true shape {y_true.shape} and y_pred shape {y_pred.shape}"
        )
    for label, array in (("y_true", y_true), ("y_pred", y_pred)):
        if jnp.issubdtype(array.dtype, jnp.inexact) and not bool(jnp.all(jnp.isfinite(array))):
            raise ValueError(f"{name}: {label} holds NaN or inf")


def check_label_values(check: Callable[[str, ArrayLike], None], name: str, y_true: jax.Array) -> None:
    """``check(name, y_true)``, a host label check, when ``y_true`` is concrete: an eager call checks as ``fit``."""
    if is_concrete(y_true):
        check(name, y_true)


def integer_labels(name: str, y_true: jax.Array, y_pred: jax.Array) -> jax.Array:
    """Integer labels of shape ``y_pred.shape[:-1]``; values are checked when concrete."""
    y_true, y_pred = as_arrays(name, y_true, y_pred)
    if y_pred.ndim < 2:
        raise ValueError(f"{name} expects y_pred of shape (N, num_classes), got {y_pred.shape}")
    if y_true.shape == y_pred.shape[:-1] + (1,):
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        hint = " One-hot labels need categorical_crossentropy." if y_true.shape == y_pred.shape else ""
        raise ValueError(
            f"{name} expects integer labels of shape {y_pred.shape[:-1]} for y_pred of shape "
            f"{y_pred.shape}, got y_true of shape {y_true.shape}.{hint}"
        )
    if not isinstance(y_true, jax.core.Tracer) and y_true.size:
        check_class_labels(name, y_true, y_pred.shape[-1])
    return y_true.astype(jnp.int32)


def check_class_labels(name: str, y_true: ArrayLike, num_classes: int) -> None:
    """Host check: ``y_true`` holds integer class labels in ``[0, num_classes)``."""
    values = np.asarray(y_true)
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        raise ValueError(f"{name} expects integer class labels, got non-integer values in y_true")
    if values.min() < 0 or values.max() >= num_classes:
        raise ValueError(
            f"{name} expects labels in [0, {num_classes}) for {num_classes} classes (the last axis of the "
            f"predictions, y_pred), got labels from {values.min():g} to {values.max():g}"
        )


def check_probabilities(name: str, y_true: ArrayLike) -> None:
    """Host check: ``y_true`` holds values in ``[0, 1]`` (labels or probabilities)."""
    values = np.asarray(y_true)
    if values.min() < 0 or values.max() > 1:
        raise ValueError(
            f"{name} expects labels in {{0, 1}} (or probabilities in [0, 1]), "
            f"got values from {values.min():g} to {values.max():g}"
        )


def check_binary(name: str, y_true: ArrayLike) -> None:
    """Host check: ``y_true`` holds only the labels 0 and 1."""
    values = np.asarray(y_true)
    if not np.all((values == 0) | (values == 1)):
        found = np.unique(values)[:6]
        raise ValueError(f"{name} expects labels in {{0, 1}}, got values {found.tolist()}")


def check_signs(name: str, y_true: ArrayLike) -> None:
    """Host check: ``y_true`` holds labels in ``{-1, 1}`` or in ``{0, 1}``."""
    values = np.asarray(y_true)
    is_one = values == 1
    if not (np.all(is_one | (values == -1)) or np.all(is_one | (values == 0))):
        found = np.unique(values)[:6]
        raise ValueError(f"{name} expects labels in {{-1, 1}} or {{0, 1}}, got values {found.tolist()}")


def check_non_negative(name: str, y_true: ArrayLike) -> None:
    """Host check: ``y_true`` holds no negative value."""
    values = np.asarray(y_true)
    if values.size and values.min() < 0:
        raise ValueError(f"{name} expects non-negative targets, got values down to {values.min():g}")


def check_one_hot(name: str, y_true: ArrayLike) -> None:
    """Host check: every row of ``y_true`` (along its last axis) is one-hot."""
    values = np.asarray(y_true)
    binary = np.all((values == 0) | (values == 1))
    if not binary or values.ndim < 2 or not np.all(values.sum(axis=-1) == 1):
        raise ValueError(
            f"{name} expects one-hot labels of shape (N, num_classes) (each row one 1, the rest 0); "
            "encode integer labels with fn.data.to_categorical(labels, num_classes)"
        )
