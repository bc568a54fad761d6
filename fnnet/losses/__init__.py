"""Losses ``(y_true, y_pred, sample_weight=None) -> scalar``, averaged over samples.

The first axis of ``y_true`` and ``y_pred`` is the batch; each loss first
computes one value ``l_i`` per sample (over its output features), then
reduces as Keras 3 does, ``sum_i w_i l_i / N`` over the ``N`` samples (the
plain mean when ``sample_weight`` is None): a weight of 10 makes a sample
count, and pull the gradient, ten times as much. ``compile(...,
weighted_loss="mean")`` divides by ``sum_i w_i`` instead. Labels of shape ``(N,)`` and predictions of shape
``(N, 1)`` are aligned; any other shape mismatch is a ``ValueError``.
Formulas, clipping and epsilons (``EPSILON = 1e-7``) are Keras 3's.

| loss | per-sample value |
| --- | --- |
| ``mean_squared_error`` (``"mse"``) | l_i = mean_k (y_ik - p_ik)^2 |
| ``mean_absolute_error`` (``"mae"``) | ``l_i = mean_k |y_ik - p_ik|`` |
| ``sum_squared_error`` (``"sse"``) | l_i = sum_k (y_ik - p_ik)^2 |
| ``huber`` (``Huber(delta)``) | ``l_i = mean_k h(p_ik - y_ik), h(e) = e^2/2 if |e| <= delta else delta |e| - delta^2/2; delta = 1 by default`` |
| ``log_cosh`` | l_i = mean_k log cosh(p_ik - y_ik) |
| ``mean_absolute_percentage_error`` (``"mape"``) | ``l_i = 100 mean_k |y_ik - p_ik| / max(|y_ik|, 1e-7)`` |
| ``mean_squared_logarithmic_error`` (``"msle"``) | l_i = mean_k (log(max(p, 1e-7) + 1) - log(max(y, 1e-7) + 1))^2 |
| ``cosine_similarity`` | ``l_i = -sum_k y_ik p_ik / (||y_i|| ||p_i||), norms >= 1e-7`` |
| ``hinge`` | l_i = mean_k max(1 - y_ik p_ik, 0), y in {-1, 1} (labels in {0, 1} are mapped to {-1, 1}) |
| ``squared_hinge`` | l_i = mean_k max(1 - y_ik p_ik, 0)^2, y as for hinge |
| ``categorical_hinge`` | l_i = max(max_k (1 - y_ik) p_ik - sum_k y_ik p_ik + 1, 0), y one-hot |
| ``binary_crossentropy`` | l_i = -mean_k [y log p + (1 - y) log(1 - p)] |
| ``categorical_crossentropy`` | l_i = -sum_k y_ik log p_ik, y one-hot |
| ``sparse_categorical_crossentropy`` | l_i = -log p_{i, y_i}, y integer labels |
| ``kl_divergence`` (``"kld"``) | l_i = sum_k y_ik log(y_ik / p_ik), both clipped to [1e-7, 1] |
| ``poisson`` | l_i = mean_k [p_ik - y_ik log(p_ik + 1e-7)] |

The cross-entropies take probabilities, clipped to ``[1e-7, 1 - 1e-7]`` as
Keras does so that saturated outputs (p exactly 0 or 1) give a finite loss,
or logits with ``from_logits=True``, computed stably by optax. A loss with
other keyword options than its defaults is a value, not a closure:
``Huber(delta=2.0)`` or ``configure(loss, **options)`` (equal ones hash
equal, so they share compiled programs).
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet._checks import hyperparameter
from fnnet._registry import lookup
from fnnet.losses.core import (
    EPSILON,
    WEIGHTED_LOSS_REDUCTIONS,
    PerSample,
    WithOptions,
    as_arrays,
    as_float_pair,
    check_binary,
    check_class_labels,
    check_label_values,
    check_sample_weight,
    check_samples,
    check_non_negative,
    check_one_hot,
    check_probabilities,
    check_signs,
    configure,
    integer_labels,
    is_concrete,
    sum_over_batch_size,
    unconfigured,
    weighted,
    weighted_mean,
)
from fnnet.losses.hinge import categorical_hinge, hinge, squared_hinge
from fnnet.losses.probabilistic import (
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from fnnet.losses.regression import (
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    sum_squared_error,
)
from fnnet.protocols import Loss, LossLike  # Loss: the protocol every loss here satisfies


def Huber(delta: float = 1.0) -> WithOptions:  # noqa: N802 - Keras's class name
    """The ``huber`` loss with its ``delta`` fixed, as a hashable value (Keras ``Huber(delta)``)."""
    hyperparameter("delta", delta, low=0, low_inclusive=False)
    return configure(huber, delta=float(delta))


def check_labels(loss: Callable[..., Any], y_true: ArrayLike, output_shape: Sequence[int]) -> None:
    """Check the label values a loss needs, on the host, once per call before training.

    ``sparse_categorical_crossentropy``: integers in ``[0, C)`` for outputs
    ``(..., C)``; ``binary_crossentropy`` and ``kl_divergence``: values in
    ``[0, 1]``; ``hinge`` and ``squared_hinge``: ``{-1, 1}`` or ``{0, 1}``;
    ``categorical_hinge``: one-hot rows; ``poisson`` and
    ``mean_squared_logarithmic_error``: non-negative values. Other losses (and
    users' callables) take any real labels. Raises ``ValueError`` naming the
    loss and the values found.
    """
    loss = unconfigured(loss)
    if loss is sparse_categorical_crossentropy:
        check_class_labels(loss.__name__, y_true, output_shape[-1])
    elif loss in (binary_crossentropy, kl_divergence):
        check_probabilities(loss.__name__, y_true)
    elif loss in (hinge, squared_hinge):
        check_signs(loss.__name__, y_true)
    elif loss is categorical_hinge:
        check_one_hot(loss.__name__, y_true)
    elif loss in (poisson, mean_squared_logarithmic_error):
        check_non_negative(loss.__name__, y_true)


_RULES = {
    sparse_categorical_crossentropy: "integer class indices in [0, C)",
    binary_crossentropy: "values in [0, 1]",
    kl_divergence: "values in [0, 1]",
    hinge: "-1/1 or 0/1",
    squared_hinge: "-1/1 or 0/1",
    categorical_hinge: "one-hot rows",
    poisson: "non-negative values",
    mean_squared_logarithmic_error: "non-negative values",
}


def label_rule(loss: Callable[..., Any]) -> str | None:
    """The label values ``loss`` takes, in words (None: any real value)."""
    return _RULES.get(unconfigured(loss))


def labels_in_range(loss: Callable[..., Any], y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Traced: whether every label is a value ``loss`` takes (``check_labels``'s rules, ``label_rule``).

    The check of ``fit(..., checks=True)`` inside ``jit``, where
    ``check_labels`` cannot see values.
    """
    loss, y = unconfigured(loss), jnp.asarray(y_true)
    if loss is sparse_categorical_crossentropy:
        ok = (y == jnp.round(y)) & (y >= 0) & (y < jnp.shape(y_pred)[-1])
    elif loss in (binary_crossentropy, kl_divergence):
        ok = (y >= 0) & (y <= 1)
    elif loss in (hinge, squared_hinge):
        ok = jnp.all((y == 1) | (y == -1)) | jnp.all((y == 1) | (y == 0))
    elif loss is categorical_hinge:
        ok = jnp.all((y == 0) | (y == 1)) & jnp.all(jnp.sum(y, axis=-1) == 1)
    elif loss in (poisson, mean_squared_logarithmic_error):
        ok = y >= 0
    else:
        ok = True
    return jnp.all(ok)


mse = mean_squared_error
mae = mean_absolute_error
sse = sum_squared_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error
kld = kl_divergence

BY_NAME = {
    f.__name__: f
    for f in (
        mean_squared_error,
        mean_absolute_error,
        sum_squared_error,
        huber,
        log_cosh,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        cosine_similarity,
        hinge,
        squared_hinge,
        categorical_hinge,
        binary_crossentropy,
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        kl_divergence,
        poisson,
    )
}
BY_NAME |= {"mse": mse, "mae": mae, "sse": sse, "mape": mape, "msle": msle, "kld": kld}


def get(name_or_callable: LossLike) -> Loss:
    """Return the loss called ``name`` (Keras names and ``mse``/``mae``/``sse``/...), or a callable as is."""
    return lookup("loss", BY_NAME, name_or_callable, factories=(Huber,))


__all__ = [
    "BY_NAME",
    "EPSILON",
    "WEIGHTED_LOSS_REDUCTIONS",
    "Huber",
    "Loss",
    "PerSample",
    "WithOptions",
    "as_arrays",
    "as_float_pair",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_hinge",
    "check_binary",
    "check_class_labels",
    "check_label_values",
    "check_labels",
    "check_sample_weight",
    "check_samples",
    "is_concrete",
    "label_rule",
    "labels_in_range",
    "check_non_negative",
    "check_one_hot",
    "check_probabilities",
    "check_signs",
    "configure",
    "cosine_similarity",
    "get",
    "hinge",
    "huber",
    "integer_labels",
    "kl_divergence",
    "kld",
    "log_cosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "sparse_categorical_crossentropy",
    "sse",
    "squared_hinge",
    "sum_over_batch_size",
    "sum_squared_error",
    "unconfigured",
    "weighted",
    "weighted_mean",
]
