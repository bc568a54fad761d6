"""Metrics ``(y_true, y_pred, sample_weight=None) -> scalar``: what to watch, not to minimise.

Like the losses, each metric is a weighted mean over samples of a
per-sample value, so a partial batch with 0/1 weights gives the exact mean.

- ``binary_accuracy``: fraction of outputs with ``(p > threshold) == y``, labels in {0, 1}.
- ``categorical_accuracy``: ``argmax p == argmax y`` for one-hot ``y``.
- ``sparse_categorical_accuracy``: ``argmax p == y`` for integer ``y``.
- ``accuracy``: one of the three, chosen from the shapes as Keras's
  ``"accuracy"`` is: a single output column is binary, ``y_true`` shaped like
  ``y_pred`` is one-hot, integer labels of shape ``(N,)`` are sparse.
- ``mae``, ``mse``, and every other loss by name (``"categorical_crossentropy"``, ...).
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from fnnet import losses
from fnnet._registry import lookup

Metric = Callable[..., jax.Array]


def binary_accuracy(y_true, y_pred, sample_weight=None, *, threshold=0.5):
    """Mean over samples of ``mean_k [(p_k > threshold) == y_k]``."""
    y_true, y_pred = losses.as_float_pair("binary_accuracy", y_true, y_pred)
    hits = (y_pred > threshold).astype(y_pred.dtype) == y_true
    per_sample = jnp.mean(hits.reshape(hits.shape[0], -1), axis=1, dtype=y_pred.dtype)
    return losses.weighted_mean(per_sample, sample_weight)


def categorical_accuracy(y_true, y_pred, sample_weight=None):
    """Fraction of samples with ``argmax p == argmax y`` (one-hot ``y_true``)."""
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_pred.ndim != 2:
        raise ValueError(
            f"categorical_accuracy expects one-hot y_true and y_pred of one shape (N, num_classes), "
            f"got {y_true.shape} and {y_pred.shape}"
        )
    return _fraction_equal(jnp.argmax(y_true, axis=-1), y_pred, sample_weight)


def sparse_categorical_accuracy(y_true, y_pred, sample_weight=None):
    """Fraction of samples with ``argmax p == y`` (integer ``y_true`` of shape ``(N,)``)."""
    y_pred = jnp.asarray(y_pred)
    labels = losses.integer_labels("sparse_categorical_accuracy", jnp.asarray(y_true), y_pred)
    return _fraction_equal(labels, y_pred, sample_weight)


def _fraction_equal(labels, y_pred, sample_weight):
    hits = jnp.argmax(y_pred, axis=-1) == labels
    dtype = jnp.promote_types(y_pred.dtype, jnp.float32)
    return losses.weighted_mean(hits.reshape(hits.shape[0], -1).mean(axis=1, dtype=dtype), sample_weight)


def accuracy(y_true, y_pred, sample_weight=None):
    """Binary, categorical or sparse accuracy, chosen from the shapes of the arguments."""
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred, sample_weight)
    if y_true.shape == y_pred.shape:
        return categorical_accuracy(y_true, y_pred, sample_weight)
    return sparse_categorical_accuracy(y_true, y_pred, sample_weight)


mae = mean_absolute_error = losses.mean_absolute_error
mse = mean_squared_error = losses.mean_squared_error

BY_NAME = {
    **losses.BY_NAME,  # every loss is a metric too, as in Keras
    "accuracy": accuracy,
    "acc": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mae": mae,
    "mean_absolute_error": mae,
    "mse": mse,
    "mean_squared_error": mse,
}


def check_labels(metric, y_true, output_shape):
    """Check on the host the label values a metric needs (``losses.check_labels`` for the losses).

    ``sparse_categorical_accuracy`` (and ``accuracy`` on sparse labels):
    integers in ``[0, C)``; ``binary_accuracy`` (and ``accuracy`` on one
    output column): values in ``{0, 1}`` or ``[0, 1]``.
    """
    if metric is accuracy:
        single = len(output_shape) == 0 or output_shape[-1] == 1
        categorical = tuple(jnp.shape(y_true)[1:]) == tuple(output_shape)
        metric = binary_accuracy if single else categorical_accuracy if categorical else sparse_categorical_accuracy
    if metric is sparse_categorical_accuracy:
        losses.check_class_labels(metric.__name__, y_true, output_shape[-1])
    elif metric is binary_accuracy:
        losses.check_probabilities(metric.__name__, y_true)
    else:
        losses.check_labels(metric, y_true, output_shape)


def get(name_or_callable) -> Metric:
    """Return the metric called ``name`` (Keras names), or a callable as is."""
    return lookup("metric", BY_NAME, name_or_callable)
