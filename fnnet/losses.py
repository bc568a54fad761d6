"""Losses ``(y_true, y_pred, sample_weight=None) -> scalar``, averaged over samples.

The first axis of ``y_true`` and ``y_pred`` is the batch; each loss first
computes one value ``l_i`` per sample (over its output features), then
returns the weighted mean ``sum_i w_i l_i / sum_i w_i`` (the plain mean when
``sample_weight`` is None). Labels of shape ``(N,)`` and predictions of shape
``(N, 1)`` are aligned; any other shape mismatch is a ``ValueError``.

=====================================  ==========================================
``mean_squared_error`` (``"mse"``)     l_i = mean_k (y_ik - p_ik)^2
``mean_absolute_error`` (``"mae"``)    l_i = mean_k |y_ik - p_ik|
``sum_squared_error`` (``"sse"``)      l_i = sum_k (y_ik - p_ik)^2
``hinge``                              l_i = mean_k max(1 - y_ik p_ik, 0), y in {-1, 1}
                                       (labels in {0, 1} are mapped to {-1, 1})
``binary_crossentropy``                l_i = -mean_k [y log p + (1 - y) log(1 - p)]
``categorical_crossentropy``           l_i = -sum_k y_ik log p_ik, y one-hot
``sparse_categorical_crossentropy``    l_i = -log p_{i, y_i}, y integer labels
=====================================  ==========================================

The cross-entropies take probabilities, clipped to ``[1e-7, 1 - 1e-7]`` as
Keras does so that saturated outputs (p exactly 0 or 1) give a finite loss,
or logits with ``from_logits=True``, computed stably by optax.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet._registry import lookup

Loss = Callable[..., jax.Array]

EPSILON = 1e-7
"""Keras's fuzz factor: probabilities are clipped to ``[EPSILON, 1 - EPSILON]``."""


def weighted_mean(per_sample, sample_weight=None):
    """``sum_i w_i l_i / sum_i w_i`` of per-sample values ``l`` of shape ``(N,)``.

    With ``sample_weight=None`` it is the plain mean; a batch whose weights
    are all zero has mean 0. Weights 0/1 mask out padded samples exactly.
    """
    if sample_weight is None:
        return jnp.mean(per_sample)
    sample_weight = jnp.asarray(sample_weight, per_sample.dtype)
    if sample_weight.shape != per_sample.shape:
        raise ValueError(
            f"sample_weight must have shape {per_sample.shape} (one weight per sample), "
            f"got {sample_weight.shape}"
        )
    total = jnp.sum(sample_weight)
    return jnp.sum(sample_weight * per_sample) / jnp.where(total == 0, 1, total)


def as_float_pair(name, y_true, y_pred):
    """Aligned float arrays of equal shape ``(N, ...)``, or a ValueError naming both shapes."""
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
    if y_pred.ndim == 0 or y_true.ndim == 0:
        raise ValueError(
            f"{name} needs a leading batch axis, got y_true shape {y_true.shape} and y_pred shape {y_pred.shape}"
        )
    if y_true.shape == y_pred.shape[:-1] and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    elif y_pred.shape == y_true.shape[:-1] and y_true.shape[-1] == 1:
        y_pred = y_pred[..., None]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "they must match"
        )
    dtype = jnp.promote_types(y_pred.dtype, jnp.float32)
    return y_true.astype(dtype), y_pred.astype(dtype)


def _features_axes(x):
    return tuple(range(1, x.ndim))


def mean_squared_error(y_true, y_pred, sample_weight=None):
    """Mean over samples of ``mean_k (y_k - p_k)^2``."""
    y_true, y_pred = as_float_pair("mean_squared_error", y_true, y_pred)
    per_sample = jnp.mean(jnp.square(y_pred - y_true), axis=_features_axes(y_pred))
    return weighted_mean(per_sample, sample_weight)


def mean_absolute_error(y_true, y_pred, sample_weight=None):
    """Mean over samples of ``mean_k |y_k - p_k|``."""
    y_true, y_pred = as_float_pair("mean_absolute_error", y_true, y_pred)
    per_sample = jnp.mean(jnp.abs(y_pred - y_true), axis=_features_axes(y_pred))
    return weighted_mean(per_sample, sample_weight)


def sum_squared_error(y_true, y_pred, sample_weight=None):
    """Mean over samples of ``sum_k (y_k - p_k)^2``: the lessons' SSE, per sample."""
    y_true, y_pred = as_float_pair("sum_squared_error", y_true, y_pred)
    per_sample = jnp.sum(jnp.square(y_pred - y_true), axis=_features_axes(y_pred))
    return weighted_mean(per_sample, sample_weight)


def hinge(y_true, y_pred, sample_weight=None):
    """Mean over samples of ``mean_k max(1 - y_k p_k, 0)``; labels 0 are read as -1."""
    y_true, y_pred = as_float_pair("hinge", y_true, y_pred)
    signs = jnp.where(y_true == 0, -1, y_true)
    per_sample = jnp.mean(jnp.maximum(1 - signs * y_pred, 0), axis=_features_axes(y_pred))
    return weighted_mean(per_sample, sample_weight)


def binary_crossentropy(y_true, y_pred, sample_weight=None, *, from_logits=False):
    """Mean over samples of ``-mean_k [y log p + (1 - y) log(1 - p)]``.

    ``y_pred`` holds probabilities (clipped to ``[1e-7, 1 - 1e-7]``), or
    logits ``z`` with ``p = sigmoid(z)`` when ``from_logits=True``.
    """
    y_true, y_pred = as_float_pair("binary_crossentropy", y_true, y_pred)
    if from_logits:
        elementwise = optax.sigmoid_binary_cross_entropy(y_pred, y_true)
    else:
        p = jnp.clip(y_pred, EPSILON, 1 - EPSILON)
        elementwise = -(y_true * jnp.log(p) + (1 - y_true) * jnp.log1p(-p))
    return weighted_mean(jnp.mean(elementwise, axis=_features_axes(y_pred)), sample_weight)


def categorical_crossentropy(y_true, y_pred, sample_weight=None, *, from_logits=False):
    """Mean over samples of ``-sum_k y_k log p_k`` for one-hot (or soft) ``y_true``.

    ``y_pred`` holds probabilities (renormalised to sum 1, then clipped to
    ``[1e-7, 1 - 1e-7]``, as Keras does), or logits when ``from_logits=True``.
    """
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
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
    if from_logits:
        per_sample = optax.softmax_cross_entropy(y_pred, y_true)
    else:
        p = jnp.clip(y_pred / jnp.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        per_sample = -jnp.sum(y_true * jnp.log(p), axis=-1)
    return weighted_mean(_flatten_samples(per_sample), sample_weight)


def sparse_categorical_crossentropy(y_true, y_pred, sample_weight=None, *, from_logits=False):
    """Mean over samples of ``-log p_{y}`` for integer labels ``y`` in ``[0, C)``.

    ``y_true`` has shape ``(N,)`` (or ``(N, 1)``) and ``y_pred`` ``(N, C)``;
    probabilities are clipped as in ``categorical_crossentropy``, logits
    (``from_logits=True``) go through optax.
    """
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
    labels = integer_labels("sparse_categorical_crossentropy", y_true, y_pred)
    y_pred = y_pred.astype(jnp.promote_types(y_pred.dtype, jnp.float32))
    if from_logits:
        per_sample = optax.softmax_cross_entropy_with_integer_labels(y_pred, labels)
    else:
        p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
        p_true = jnp.take_along_axis(p, labels[..., None], axis=-1)[..., 0]
        per_sample = -jnp.log(jnp.clip(p_true, EPSILON, 1 - EPSILON))
    return weighted_mean(_flatten_samples(per_sample), sample_weight)


def _flatten_samples(per_position):
    """Average any non-batch axes left after reducing the class axis."""
    return jnp.mean(per_position.reshape(per_position.shape[0], -1), axis=1)


def integer_labels(name, y_true, y_pred):
    """Integer labels of shape ``y_pred.shape[:-1]``; values are checked when concrete."""
    if y_pred.ndim < 2:
        raise ValueError(f"{name} expects y_pred of shape (N, num_classes), got {y_pred.shape}")
    if y_true.shape == y_pred.shape[:-1] + (1,):
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        hint = (
            " One-hot labels need categorical_crossentropy." if y_true.shape == y_pred.shape else ""
        )
        raise ValueError(
            f"{name} expects integer labels of shape {y_pred.shape[:-1]} for y_pred of shape "
            f"{y_pred.shape}, got y_true of shape {y_true.shape}.{hint}"
        )
    if not isinstance(y_true, jax.core.Tracer) and y_true.size:
        check_class_labels(name, y_true, y_pred.shape[-1])
    return y_true.astype(jnp.int32)


def check_class_labels(name, y_true, num_classes):
    """Host check: ``y_true`` holds integer class labels in ``[0, num_classes)``."""
    values = np.asarray(y_true)
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        raise ValueError(f"{name} expects integer class labels, got non-integer values in y_true")
    if values.min() < 0 or values.max() >= num_classes:
        raise ValueError(
            f"{name} expects labels in [0, {num_classes}) for {num_classes} classes, "
            f"got labels from {values.min():g} to {values.max():g}"
        )


def check_probabilities(name, y_true):
    """Host check: ``y_true`` holds values in ``[0, 1]`` (labels or probabilities)."""
    values = np.asarray(y_true)
    if values.min() < 0 or values.max() > 1:
        raise ValueError(
            f"{name} expects labels in {{0, 1}} (or probabilities in [0, 1]), "
            f"got values from {values.min():g} to {values.max():g}"
        )


def _check_signs(name, y_true):
    values = np.asarray(y_true)
    is_one = values == 1
    if not (np.all(is_one | (values == -1)) or np.all(is_one | (values == 0))):
        found = np.unique(values)[:6]
        raise ValueError(f"{name} expects labels in {{-1, 1}} or {{0, 1}}, got values {found.tolist()}")


def check_labels(loss, y_true, output_shape):
    """Check the label values a loss needs, on the host, once per call before training.

    ``sparse_categorical_crossentropy``: integers in ``[0, C)`` for outputs
    ``(..., C)``; ``binary_crossentropy``: values in ``[0, 1]``; ``hinge``:
    ``{-1, 1}`` or ``{0, 1}``. Other losses (and users' callables) take any
    real labels. Raises ``ValueError`` naming the loss and the values found.
    """
    if loss is sparse_categorical_crossentropy:
        check_class_labels(loss.__name__, y_true, output_shape[-1])
    elif loss is binary_crossentropy:
        check_probabilities(loss.__name__, y_true)
    elif loss is hinge:
        _check_signs(loss.__name__, y_true)


mse = mean_squared_error
mae = mean_absolute_error
sse = sum_squared_error

BY_NAME = {
    f.__name__: f
    for f in (
        mean_squared_error, mean_absolute_error, sum_squared_error, hinge,
        binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
    )
}
BY_NAME |= {"mse": mse, "mae": mae, "sse": sse}


def get(name_or_callable) -> Loss:
    """Return the loss called ``name`` (Keras names and ``mse``/``mae``/``sse``), or a callable as is."""
    return lookup("loss", BY_NAME, name_or_callable)
