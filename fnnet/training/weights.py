"""Per-sample weights for ``fit`` and ``evaluate``: ``sample_weight`` times ``class_weight[class]``, checked."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from fnnet import data as data_lib
from fnnet._checks import hyperparameter
from fnnet.data import is_structured

__all__ = ["classes_of", "sample_weights"]


def classes_of(y: Any) -> np.ndarray:
    """Each sample's class: the label, the argmax of a one-hot row, or a 0/1 value."""
    if is_structured(y):
        raise ValueError("class_weight needs one output's labels; with several outputs pass sample_weight")
    values = np.asarray(y)
    if values.ndim >= 2 and values.shape[-1] > 1:
        return np.argmax(values.reshape(len(values), -1), axis=-1)
    return values.reshape(len(values))


def sample_weights(
    sample_weight: Any, class_weight: Mapping[Any, float] | None, y: Any, n: int, name: str = "sample_weight"
) -> np.ndarray | None:
    """The ``(n,)`` float32 weights of ``sample_weight`` times ``class_weight[class]``, or None for neither.

    Raises ``ValueError``/``TypeError`` for a wrong shape, negative, NaN or
    infinite weights, all-zero weights, or a ``class_weight`` that is not a
    ``{int class: non-negative weight}`` dict.
    """
    if sample_weight is None and class_weight is None:
        return None
    weight = np.ones(n, np.float32)
    if sample_weight is not None:
        given = data_lib.numeric(name, np.asarray(sample_weight))
        if given.shape not in ((n,), (n, 1)):
            raise ValueError(f"{name} must have shape ({n},), one weight per sample, got shape {given.shape}")
        weight = given.reshape(n).astype(np.float32)
    if class_weight is not None:
        if not isinstance(class_weight, dict) or not class_weight:
            raise TypeError(f"class_weight must be a non-empty dict {{class: weight}}, got {class_weight!r}")
        for label, value in class_weight.items():
            if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or label < 0:
                raise ValueError(f"class_weight keys must be class indices (ints >= 0), got {label!r}")
            hyperparameter(f"class_weight[{label}]", value, low=0)
        one_hot = np.ndim(y) >= 2 and np.shape(y)[-1] > 1 and not is_structured(y)
        if one_hot and max(class_weight) >= np.shape(y)[-1]:
            raise ValueError(
                f"class_weight names class {max(class_weight)}, but the one-hot y has {np.shape(y)[-1]} classes"
            )
        classes = classes_of(y)
        if np.any(classes != np.round(classes)):
            raise ValueError("class_weight needs class labels (integers, one-hot rows or 0/1), got non-integer y")
        table = np.ones(int(max(max(class_weight), classes.max())) + 1, np.float32)
        for label, value in class_weight.items():
            table[int(label)] = value
        weight = weight * table[classes.astype(np.int64)]
    if not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise ValueError(
            f"{name} must be finite and non-negative, got values from {np.nanmin(weight):g} "
            f"to {np.nanmax(weight):g}" + (" and NaN" if np.isnan(weight).any() else "")
        )
    if not weight.any():
        raise ValueError(f"{name} is zero for every sample: nothing would be trained or measured")
    return weight
