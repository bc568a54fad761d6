"""Losses of predicted probabilities and rates: the cross-entropies, KL divergence, Poisson.

The cross-entropies take probabilities, clipped to ``[1e-7, 1 - 1e-7]`` as
Keras does so that saturated outputs (p exactly 0 or 1) give a finite loss,
or logits with ``from_logits=True``, computed stably by optax.
"""

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from fnnet._checks import flag
from fnnet.losses.core import (
    EPSILON,
    as_arrays,
    as_float_pair,
    check_label_values,
    check_non_negative,
    check_probabilities,
    flatten_samples,
    integer_labels,
    mean_over_features,
    sum_over_batch_size,
    with_feature_axis,
)


def binary_crossentropy(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, from_logits: bool = False
) -> jax.Array:
    """Mean over samples of ``-mean_k [y log p + (1 - y) log(1 - p)]``.

    ``y_pred`` holds probabilities (clipped to ``[1e-7, 1 - 1e-7]``), or
    logits ``z`` with ``p = sigmoid(z)`` when ``from_logits=True``.
    """
    y_true, y_pred = as_float_pair("binary_crossentropy", y_true, y_pred)
    check_label_values(check_probabilities, "binary_crossentropy", y_true)
    if flag("from_logits", from_logits):
        elementwise = optax.sigmoid_binary_cross_entropy(y_pred, y_true)
    else:
        p = jnp.clip(y_pred, EPSILON, 1 - EPSILON)
        elementwise = -(y_true * jnp.log(p) + (1 - y_true) * jnp.log1p(-p))
    return mean_over_features(elementwise, sample_weight)


def categorical_crossentropy(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, from_logits: bool = False
) -> jax.Array:
    """Mean over samples of ``-sum_k y_k log p_k`` for one-hot (or soft) ``y_true``.

    ``y_pred`` holds probabilities (renormalised to sum 1, then clipped to
    ``[1e-7, 1 - 1e-7]``, as Keras does), or logits when ``from_logits=True``.
    """
    y_true, y_pred = as_arrays("categorical_crossentropy", y_true, y_pred)
    if y_true.shape != y_pred.shape:
        hint = (
            " Integer class labels need sparse_categorical_crossentropy, or one-hot "
            "encoding first with fn.data.to_categorical(labels, num_classes)."
            if jnp.issubdtype(y_true.dtype, jnp.integer) or y_true.ndim < y_pred.ndim
            else ""
        )
        raise ValueError(
            f"categorical_crossentropy expects one-hot y_true of the same shape as y_pred "
            f"{y_pred.shape}, got y_true of shape {y_true.shape} and dtype {y_true.dtype}.{hint}"
        )
    y_true, y_pred = as_float_pair("categorical_crossentropy", y_true, y_pred)
    if flag("from_logits", from_logits):
        per_sample = optax.softmax_cross_entropy(y_pred, y_true)
    else:
        p = jnp.clip(y_pred / jnp.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        per_sample = -jnp.sum(y_true * jnp.log(p), axis=-1)
    return sum_over_batch_size(flatten_samples(per_sample), sample_weight)


def sparse_categorical_crossentropy(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None, *, from_logits: bool = False
) -> jax.Array:
    """Mean over samples of ``-log p_{y}`` for integer labels ``y`` in ``[0, C)``.

    ``y_true`` has shape ``(N,)`` (or ``(N, 1)``) and ``y_pred`` ``(N, C)``;
    probabilities are clipped as in ``categorical_crossentropy``, logits
    (``from_logits=True``) go through optax.
    """
    y_true, y_pred = as_arrays("sparse_categorical_crossentropy", y_true, y_pred)
    labels = integer_labels("sparse_categorical_crossentropy", y_true, y_pred)
    y_pred = y_pred.astype(jnp.promote_types(y_pred.dtype, jnp.float32))
    if flag("from_logits", from_logits):
        per_sample = optax.softmax_cross_entropy_with_integer_labels(y_pred, labels)
    else:
        p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
        p_true = jnp.take_along_axis(p, labels[..., None], axis=-1)[..., 0]
        per_sample = -jnp.log(jnp.clip(p_true, EPSILON, 1 - EPSILON))
    return sum_over_batch_size(flatten_samples(per_sample), sample_weight)


def kl_divergence(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``sum_k y_k log(y_k / p_k)`` (Kullback-Leibler, Keras's ``"kld"``).

    Both ``y_true`` and ``y_pred`` are clipped to ``[1e-7, 1]`` first, as
    Keras does, so zero probabilities give finite values; the sum runs over
    the last axis (the distribution).
    """
    y_true, y_pred = with_feature_axis(*as_float_pair("kl_divergence", y_true, y_pred))
    check_label_values(check_probabilities, "kl_divergence", y_true)
    y_true, y_pred = jnp.clip(y_true, EPSILON, 1), jnp.clip(y_pred, EPSILON, 1)
    per_position = jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)
    return sum_over_batch_size(flatten_samples(per_position), sample_weight)


def poisson(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> jax.Array:
    """Mean over samples of ``mean_k [p_k - y_k log(p_k + 1e-7)]``: the Poisson negative log-likelihood.

    ``p`` is the predicted rate (positive, e.g. from a softplus or
    exponential output) and ``y`` the observed count (non-negative); the
    constant ``log y!`` is left out, as in Keras.
    """
    y_true, y_pred = as_float_pair("poisson", y_true, y_pred)
    check_label_values(check_non_negative, "poisson", y_true)
    return mean_over_features(y_pred - y_true * jnp.log(y_pred + EPSILON), sample_weight)
