"""Regression losses: squared, absolute, Huber, log-cosh, percentage, logarithmic, cosine.

Each computes one value per sample over its output features, then the
weighted mean over samples; the formulas and epsilons are Keras 3's.
"""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet._checks import hyperparameter
from fnnet.losses.core import (
    EPSILON,
    as_float_pair,
    check_label_values,
    check_non_negative,
    flatten_samples,
    mean_over_features,
    sum_over_batch_size,
    with_feature_axis,
)


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``mean_k (y_k - p_k)^2``."""
    y_true, y_pred = as_float_pair("mean_squared_error", y_true, y_pred)
    return mean_over_features(jnp.square(y_pred - y_true), sample_weight)


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``mean_k |y_k - p_k|``."""
    y_true, y_pred = as_float_pair("mean_absolute_error", y_true, y_pred)
    return mean_over_features(jnp.abs(y_pred - y_true), sample_weight)


def sum_squared_error(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``sum_k (y_k - p_k)^2``: the lessons' SSE, per sample."""
    y_true, y_pred = as_float_pair("sum_squared_error", y_true, y_pred)
    per_sample = jnp.sum(jnp.square(y_pred - y_true), axis=tuple(range(1, y_pred.ndim)))
    return sum_over_batch_size(per_sample, sample_weight)


def huber(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, delta: float = 1.0
) -> jax.Array:
    """Mean over samples of ``mean_k h(p_k - y_k)``, Keras's ``huber`` (default ``delta=1``).

    ``h(e) = e^2 / 2`` where ``|e| <= delta``, else ``delta |e| - delta^2 / 2``:
    quadratic near 0, linear beyond ``delta``. ``Huber(delta)`` fixes another
    delta as a hashable loss for ``compile``.
    """
    hyperparameter("delta", delta, low=0, low_inclusive=False)
    y_true, y_pred = as_float_pair("huber", y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    elementwise = jnp.where(abs_error <= delta, 0.5 * jnp.square(error), delta * abs_error - 0.5 * delta**2)
    return mean_over_features(elementwise, sample_weight)


def log_cosh(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``mean_k log(cosh(p_k - y_k))``.

    Computed as ``e + softplus(-2 e) - log 2`` (Keras's form), finite for any
    error ``e``: about ``e^2 / 2`` for small errors, ``|e| - log 2`` for large.
    """
    y_true, y_pred = as_float_pair("log_cosh", y_true, y_pred)
    error = y_pred - y_true
    return mean_over_features(error + jax.nn.softplus(-2.0 * error) - jnp.log(2.0).astype(error.dtype), sample_weight)


def mean_absolute_percentage_error(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None
) -> jax.Array:
    """Mean over samples of ``100 mean_k |y_k - p_k| / max(|y_k|, 1e-7)`` (Keras's ``"mape"``)."""
    y_true, y_pred = as_float_pair("mean_absolute_percentage_error", y_true, y_pred)
    elementwise = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON))
    return 100.0 * mean_over_features(elementwise, sample_weight)


def mean_squared_logarithmic_error(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None
) -> jax.Array:
    """Mean over samples of ``mean_k (log(max(p_k, 1e-7) + 1) - log(max(y_k, 1e-7) + 1))^2`` (``"msle"``)."""
    y_true, y_pred = as_float_pair("mean_squared_logarithmic_error", y_true, y_pred)
    check_label_values(check_non_negative, "mean_squared_logarithmic_error", y_true)
    first, second = jnp.log(jnp.maximum(y_pred, EPSILON) + 1.0), jnp.log(jnp.maximum(y_true, EPSILON) + 1.0)
    return mean_over_features(jnp.square(first - second), sample_weight)


def l2_normalize(x: jax.Array, axis: int = -1) -> jax.Array:
    """``x / max(||x||, 1e-7)`` along ``axis``, Keras's ``normalize`` (a zero vector stays zero).

    Written as ``x * rsqrt(max(sum x^2, 1e-14))``, equal to Keras's
    ``x * min(rsqrt(sum x^2), 1e7)`` but with a finite gradient at 0.
    """
    return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(jnp.square(x), axis=axis, keepdims=True), EPSILON**2))


def cosine_similarity(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``-sum_k (y / ||y||)_k (p / ||p||)_k``, Keras's sign: -1 is best.

    The norms are taken over the last axis and floored at 1e-7, so a zero
    vector gives 0 (as in Keras).
    """
    y_true, y_pred = with_feature_axis(*as_float_pair("cosine_similarity", y_true, y_pred))
    per_position = -jnp.sum(l2_normalize(y_true) * l2_normalize(y_pred), axis=-1)
    return sum_over_batch_size(flatten_samples(per_position), sample_weight)
