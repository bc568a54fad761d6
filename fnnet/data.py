"""Data preparation on the host: one-hot labels, feature scaling, splits, minibatches.

Everything here takes and returns NumPy arrays and checks its input at the
boundary (shapes, dtypes, label ranges, empty or non-finite data). Those
checks of samples (``samples``, ``check_finite``, ``same_length``,
``check_validation_split``) are the ones ``fit`` runs too, with the same
words; ``count`` and ``take`` read a structure of sample arrays (traceable). Random
choices (splits, shuffles) take a ``jax.random`` key; the same key gives the
same result. Inside ``jit`` use ``jax.nn.one_hot`` and a fitted
:class:`Scaler`, which are traceable.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from fnnet._checks import dtype as check_dtype, flag, hyperparameter, real_array
from fnnet.keys import as_key
from fnnet.protocols import KeyLike

__all__ = [
    "Scaler",
    "batches",
    "from_categorical",
    "minmax_scale",
    "standardize",
    "to_categorical",
    "train_val_test_split",
]


# --- samples: the checks every function here and fit's inputs share ---------


def is_structured(data: Any) -> bool:
    """Whether ``data`` is several arrays (a list, tuple or dict: a model's several inputs or outputs)."""
    return isinstance(data, (list, tuple, dict))


def is_real(dtype: DTypeLike) -> bool:
    """Whether ``dtype`` holds real numbers: booleans, integers or floats (bfloat16 too), not complex or strings."""
    dtype = np.dtype(dtype)
    return dtype == np.bool_ or bool(jnp.issubdtype(dtype, jnp.integer)) or bool(jnp.issubdtype(dtype, jnp.floating))


def numeric(name: str, x: Any) -> Any:
    """``x`` as an array of real numbers: a ``jax.Array`` as it is, anything else as a NumPy array."""
    array = x if isinstance(x, jax.Array) else np.asarray(x)
    if not is_real(array.dtype):
        raise TypeError(f"{name} must be numeric (real numbers), got dtype {np.dtype(array.dtype)}")
    return array


def samples(name: str, x: Any) -> Any:
    """``numeric(name, x)`` with a leading sample axis holding at least one sample (values are not read)."""
    array = numeric(name, x)
    if array.ndim == 0:
        raise ValueError(f"{name} must have a leading sample axis holding at least one sample, got a scalar")
    if len(array) == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); expected at least one sample")
    return array


@jax.jit
def _count_non_finite(array: jax.Array) -> jax.Array:
    return jnp.sum(~jnp.isfinite(array))


def check_finite(name: str, x: Any) -> None:
    """Raise ``ValueError`` counting the NaN or infinite values of a numeric array (none in integers or booleans)."""
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return
    bad = int(_count_non_finite(x) if isinstance(x, jax.Array) else np.size(x) - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(f"{name} holds {bad} NaN or infinite values")


def _listed(words: Iterable[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def same_length(lengths: Mapping[str, int]) -> None:
    """Raise ``ValueError`` unless the named arrays (``{name: number of samples}``) have one number of samples."""
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"{_listed(lengths)} must have the same number of samples, got {_listed(str(n) for n in lengths.values())}"
        )


def count(arrays: Any) -> int:
    """The number of samples of an array, or of the arrays of a list, tuple or dict (their first axis)."""
    return len(jax.tree_util.tree_leaves(arrays)[0])


def take(arrays: Any, index: Any) -> Any:
    """``arrays[index]`` of an array, or of every array of a list, tuple or dict; traceable."""
    return jax.tree_util.tree_map(lambda leaf: leaf[index], arrays)


def _numeric(name: str, x: ArrayLike) -> np.ndarray:
    """``x`` as a non-empty NumPy array of real numbers."""
    array: np.ndarray = numeric(name, np.asarray(x))
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); expected at least one sample")
    return array


def _samples(name: str, x: ArrayLike) -> np.ndarray:
    """``x`` as a NumPy array of samples (``samples``), and not empty."""
    return _numeric(name, samples(name, np.asarray(x)))


# --- one-hot labels ----------------------------------------------------------


def to_categorical(labels: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = "float32") -> np.ndarray:
    """One-hot encode class labels, as ``keras.utils.to_categorical``.

    ``labels`` of shape ``S`` (a trailing axis of size 1 is dropped, as in
    Keras) become an array of shape ``S + (num_classes,)`` with
    ``out[..., k] = 1`` where ``labels == k`` and 0 elsewhere.
    ``num_classes`` defaults to ``max(labels) + 1``. Labels must be whole
    numbers in ``[0, num_classes)``; floats such as ``1.0`` are accepted.
    """
    labels = _numeric("labels", labels)
    if labels.dtype.kind == "f":
        check_finite("labels", labels)
        fractional = labels[labels != np.round(labels)]
        if fractional.size:
            raise ValueError(f"labels must be whole numbers (class indices), got {fractional[0]}")
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.min() < 0:
        raise ValueError(f"labels must be >= 0, got {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    hyperparameter("num_classes", num_classes, integer=True, low=1, high=np.iinfo(np.int32).max)
    dtype = check_dtype("dtype", dtype)
    if labels.max() >= num_classes:
        raise ValueError(f"labels must be < num_classes = {num_classes}, got {labels.max()}")
    return np.eye(num_classes, dtype=dtype)[labels]


def from_categorical(one_hot: ArrayLike) -> np.ndarray:
    """Class labels from one-hot rows (or class scores): ``argmax`` over the last axis.

    The inverse of :func:`to_categorical`: shape ``S + (k,)`` becomes ``S``,
    dtype int64.
    """
    one_hot = _numeric("one_hot", one_hot)
    if one_hot.ndim == 0:
        raise ValueError("one_hot must have a class axis, got a scalar")
    check_finite("one_hot", one_hot)  # argmax would pick a NaN's class
    return np.argmax(one_hot, axis=-1).astype(np.int64)


# --- feature scaling ---------------------------------------------------------


class Scaler(NamedTuple):
    """A fitted feature scaling ``x -> (x - shift) / scale``, a pytree of two arrays.

    ``shift`` and ``scale`` have the shape of one sample. Calling the scaler
    transforms ``x`` of shape ``(..., *shift.shape)`` (NumPy or JAX, inside
    ``jit`` too); :meth:`inverse` undoes it.
    """

    shift: np.ndarray
    scale: np.ndarray

    def __call__(self, x: Any) -> Any:
        self._check_features(x)
        shift, scale = self._aligned(x)
        return (x - shift) / scale

    def inverse(self, y: Any) -> Any:
        """``y * scale + shift``: back to the original units."""
        self._check_features(y)
        shift, scale = self._aligned(y)
        return y * scale + shift

    def _aligned(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``shift`` and ``scale`` with ``x``'s leading axes as explicit 1s (no implicit rank promotion)."""
        lead = (1,) * (np.ndim(x) - np.ndim(self.shift))
        shift = np.reshape(self.shift, lead + np.shape(self.shift))
        return shift, np.reshape(self.scale, lead + np.shape(self.scale))

    def _check_features(self, x: ArrayLike) -> None:
        for name, stats in (("shift", self.shift), ("scale", self.scale)):
            if isinstance(stats, (np.ndarray, np.generic)):  # a fitted scaler's (traced ones are checked when fitted)
                values = real_array(f"Scaler {name}", stats)
                if not np.all(np.isfinite(values)) or (name == "scale" and np.any(values == 0)):
                    raise ValueError(
                        f"Scaler {name} must be finite{' and nonzero' if name == 'scale' else ''}, got {stats!r}"
                    )
        if np.shape(self.scale) != np.shape(self.shift):
            raise ValueError(
                f"Scaler shift and scale must have one shape, got {np.shape(self.shift)} and {np.shape(self.scale)}"
            )
        shape = np.shape(self.shift)
        if np.ndim(x) < len(shape) or np.shape(x)[np.ndim(x) - len(shape) :] != shape:
            raise ValueError(f"the scaler was fitted on samples of shape {shape}, got an array of shape {np.shape(x)}")


def _fit(
    train: ArrayLike, others: Sequence[ArrayLike], statistics: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
) -> tuple[Any, ...]:
    """Fit ``Scaler(*statistics(train as float64))`` and apply it to train and others."""
    named = {"train": train, **{f"others[{i}]": x for i, x in enumerate(others)}}
    arrays: list[np.ndarray] = []
    for name, x in named.items():
        x = _samples(name, x)
        check_finite(name, x)
        if arrays and x.shape[1:] != arrays[0].shape[1:]:
            raise ValueError(f"{name} has samples of shape {x.shape[1:]}, expected {arrays[0].shape[1:]} as in train")
        arrays.append(x)
    first = arrays[0]
    dtype = first.dtype if first.dtype.kind == "f" else np.dtype(np.float32)
    shift, scale = statistics(first.astype(np.float64))
    scaler = Scaler(shift.astype(dtype), scale.astype(dtype))
    return (*(scaler(x.astype(dtype)) for x in arrays), scaler)


def standardize(train: ArrayLike, *others: ArrayLike) -> tuple[Any, ...]:
    """Scale every feature to zero mean and unit variance, as scikit-learn's ``StandardScaler``.

    The mean and the (population) standard deviation of each feature are
    computed over the samples (axis 0) of ``train`` only and applied to
    ``train`` and each of ``others``: ``(x - mean) / std``. A constant feature
    keeps scale 1 (it becomes 0), as in scikit-learn.

    Returns the scaled arrays in the order given, then the fitted
    :class:`Scaler` (``shift = mean``, ``scale = std``). Floating inputs keep
    their dtype; others become float32.
    """

    def statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, mean, var = len(x), x.mean(axis=0), x.var(axis=0)
        eps = np.finfo(np.float64).eps
        constant = var <= n * eps * var + (n * mean * eps) ** 2  # scikit-learn's rule
        return mean, np.where(constant, 1.0, np.sqrt(var))

    return _fit(train, others, statistics)


def minmax_scale(train: ArrayLike, *others: ArrayLike, feature_range: tuple[float, float] = (-1, 1)) -> tuple[Any, ...]:
    """Map every feature of ``train`` linearly onto ``feature_range = (a, b)``, as ``MinMaxScaler``.

    ``x -> a + (x - min) * (b - a) / (max - min)`` with ``min`` and ``max``
    per feature over the samples of ``train`` only; ``others`` get the same
    map (and may fall outside the range). A constant feature maps to ``a``.

    Returns the scaled arrays in the order given, then the fitted
    :class:`Scaler` (``scale = (max - min) / (b - a)``,
    ``shift = min - a * scale``).
    """
    if not isinstance(feature_range, (tuple, list)):
        raise TypeError(f"feature_range must be a pair (low, high), got {feature_range!r}")
    if len(feature_range) != 2:
        raise ValueError(f"feature_range must be (low, high), got {feature_range!r}")
    low, high = (hyperparameter("feature_range", v) for v in feature_range)
    if not low < high:
        raise ValueError(f"feature_range must have low < high, got {feature_range!r}")

    def statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        data_min, data_range = x.min(axis=0), np.ptp(x, axis=0)
        data_range = np.where(data_range < 10 * np.finfo(np.float64).eps, 1.0, data_range)
        scale = data_range / (high - low)
        return data_min - low * scale, scale

    return _fit(train, others, statistics)


# --- splits and minibatches --------------------------------------------------


def _class_ids(y: np.ndarray) -> np.ndarray:
    """An integer class per sample: the index of its distinct row of ``y``."""
    rows = y.reshape(len(y), -1)
    classes, ids, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        rare = classes[np.argmin(counts)].tolist()
        raise ValueError(f"stratify=True needs at least 2 samples of every class, y = {rare} has 1 (is y continuous?)")
    return ids.reshape(-1)


def check_validation_split(validation_split: float, n: int, n_val: int) -> None:
    """Raise ``ValueError`` when holding out ``n_val`` of ``n`` samples (``validation_split``'s) leaves a side empty."""
    if n_val == 0 or n_val == n:
        raise ValueError(
            f"validation_split={validation_split} of {n} samples leaves {n - n_val} for training and "
            f"{n_val} for validation; both need at least one"
        )


def train_val_test_split(
    x: ArrayLike, y: ArrayLike, fractions: Sequence[float] = (0.6, 0.2, 0.2), *, key: KeyLike, stratify: bool = False
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Shuffle ``(x, y)`` with ``key`` and cut it into parts of the given fractions.

    Returns one ``(x_part, y_part)`` pair per fraction, in order: by default
    ``(x_train, y_train), (x_val, y_val), (x_test, y_test)``. With ``n``
    samples, part ``k`` receives
    ``round(n * (f_0 + ... + f_k)) - round(n * (f_0 + ... + f_{k-1}))`` of
    them, so the parts add up to ``n``. With ``stratify=True`` that rule is
    applied within every class (the distinct rows of ``y``: integer labels or
    one-hot rows), so each part keeps the class ratios up to one sample per
    class. Every sample lands in exactly one part.
    """
    x, y = _samples("x", x), _samples("y", y)
    same_length({"x": len(x), "y": len(y)})
    stratify = flag("stratify", stratify)
    if isinstance(fractions, (str, bytes, dict)) or not isinstance(fractions, Sequence):
        raise TypeError(f"fractions must be a sequence of numbers summing to 1, got {fractions!r}")
    fractions = [hyperparameter("fractions", f, low=0.0, high=1.0) for f in fractions]
    if not fractions or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {fractions} (sum {sum(fractions)})")
    order = np.asarray(jax.random.permutation(as_key(key), len(x)))
    # Positions in the shuffled order, grouped by class when stratifying.
    if stratify:
        ids = _class_ids(y)[order]
        groups = [np.flatnonzero(ids == c) for c in range(ids.max() + 1)]
    else:
        groups = [np.arange(len(x))]
    parts = [[] for _ in fractions]
    for group in groups:
        cuts = np.round(np.cumsum(fractions)[:-1] * len(group)).astype(int)
        for part, positions in zip(parts, np.split(group, cuts), strict=True):
            part.append(positions)
    indices = [order[np.sort(np.concatenate(part))] for part in parts]
    return tuple((x[i], y[i]) for i in indices)


def batches(
    *arrays: ArrayLike, batch_size: int, key: KeyLike | None = None, drop_remainder: bool = False
) -> Iterator[tuple[np.ndarray, ...]]:
    """One pass over minibatches of ``arrays``, which share their first axis.

    Yields tuples ``(a[idx] for a in arrays)`` of ``batch_size`` samples, the
    last one smaller unless ``drop_remainder``; a ``batch_size`` larger than
    ``n`` is clamped to ``n`` (one batch of everything). Without ``key`` the samples come
    in data order, with it in the order ``jax.random.permutation(key, n)``:
    split a new key for every epoch. Arguments are checked when called, not
    when iterated.
    """
    if not arrays:
        raise TypeError("batches needs at least one array")
    samples = [_samples(f"arrays[{i}]", a) for i, a in enumerate(arrays)]
    same_length({f"arrays[{i}]": len(a) for i, a in enumerate(samples)})
    hyperparameter("batch_size", batch_size, integer=True, low=1)
    n = len(samples[0])
    batch_size = min(batch_size, n)
    order = np.arange(n) if key is None else np.asarray(jax.random.permutation(as_key(key), n))
    stop = n - n % batch_size if flag("drop_remainder", drop_remainder) else n
    return (tuple(a[order[i : i + batch_size]] for a in samples) for i in range(0, stop, batch_size))
