"""Margin losses for classifiers with outputs in the real line: hinge, squared and categorical hinge."""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet.losses.core import (
    as_float_pair,
    check_label_values,
    check_one_hot,
    check_signs,
    flatten_samples,
    mean_over_features,
    sum_over_batch_size,
)


def as_signs(y_true: jax.Array) -> jax.Array:
    """Labels in ``{0, 1}`` read as ``{-1, 1}`` (Keras's conversion); ``{-1, 1}`` kept."""
    return jnp.where(y_true == 0, -1, y_true)


def hinge(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``mean_k max(1 - y_k p_k, 0)``; labels 0 are read as -1."""
    y_true, y_pred = as_float_pair("hinge", y_true, y_pred)
    check_label_values(check_signs, "hinge", y_true)
    return mean_over_features(jnp.maximum(1 - as_signs(y_true) * y_pred, 0), sample_weight)


def squared_hinge(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``mean_k max(1 - y_k p_k, 0)^2``; labels in {-1, 1}, 0 read as -1."""
    y_true, y_pred = as_float_pair("squared_hinge", y_true, y_pred)
    check_label_values(check_signs, "squared_hinge", y_true)
    return mean_over_features(jnp.square(jnp.maximum(1 - as_signs(y_true) * y_pred, 0)), sample_weight)


def categorical_hinge(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``max(neg - pos + 1, 0)`` for one-hot ``y_true``.

    ``pos = sum_k y_k p_k`` is the true class's score and ``neg = max_k (1 -
    y_k) p_k`` the best other score (Keras's ``categorical_hinge``).
    """
    y_true, y_pred = as_float_pair("categorical_hinge", y_true, y_pred)
    check_label_values(check_one_hot, "categorical_hinge", y_true)
    if y_pred.ndim < 2:
        raise ValueError(
            f"categorical_hinge expects one-hot y_true and y_pred of shape (N, num_classes), got {y_pred.shape}"
        )
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1 - y_true) * y_pred, axis=-1)
    return sum_over_batch_size(flatten_samples(jnp.maximum(neg - pos + 1, 0)), sample_weight)
