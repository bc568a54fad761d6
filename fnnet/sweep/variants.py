"""Variants of one configuration: a dict of equal-length arrays, one entry per variant.

``grid`` crosses axes, ``random_search`` draws them, ``seeds`` makes an
ensemble. Each name is ``"seed"``, an optimizer hyperparameter held in the
optimizer state, or a keyword argument of the model builder; ``check``
validates every value before anything compiles.
"""

import itertools
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from fnnet._checks import hyperparameter
from fnnet.keys import as_key
from fnnet.protocols import KeyLike

DISTRIBUTIONS = ("uniform", "log_uniform")


def grid(**axes: Sequence[Any]) -> dict[str, np.ndarray]:
    """Every combination of the given values: ``grid(learning_rate=[1e-3, 1e-2], l2=[0, 1e-4])`` has 4 variants.

    Examples:
        >>> {name: values.tolist() for name, values in grid(learning_rate=[0.1, 0.01], seed=[0, 1]).items()}
        {'learning_rate': [0.1, 0.1, 0.01, 0.01], 'seed': [0, 1, 0, 1]}
    """
    if not axes:
        raise ValueError("grid needs at least one axis, e.g. grid(learning_rate=[1e-3, 1e-2])")
    for name, values in axes.items():
        if not _is_list(values):
            raise ValueError(f"grid axis {name!r} needs a list of values, got {values!r}")
        if len(values) < 1:
            raise ValueError(f"grid axis {name!r} has no values")
    combos = list(itertools.product(*axes.values()))
    return {name: axis([combo[i] for combo in combos]) for i, name in enumerate(axes)}


def _is_list(values: object) -> bool:
    return isinstance(values, (list, tuple)) or (isinstance(values, np.ndarray) and values.ndim == 1)


def axis(values: Any) -> np.ndarray:
    """One axis's K values as a 1-D array; per-layer lists (``[(64, 32), (16,)]``) as an array of tuples."""
    if isinstance(values, np.ndarray) and values.ndim == 2:
        values = [tuple(row) for row in values.tolist()]
    if isinstance(values, (list, tuple)) and any(isinstance(v, (list, tuple, np.ndarray)) for v in values):
        out = np.empty(len(values), object)
        out[:] = [tuple(np.asarray(v).tolist()) for v in values]
        return out
    return np.atleast_1d(np.asarray(values))


def random_search(key: KeyLike, k: int, **distributions: tuple[str, float, float] | list[Any]) -> dict[str, np.ndarray]:
    """``k`` random variants; each distribution is ``("uniform", low, high)``, ``("log_uniform", low, high)``
    or a list of choices."""
    _check_k("random_search", k)
    out = {}
    for index, (name, dist) in enumerate(distributions.items()):
        draw_key = jax.random.fold_in(as_key(key), index)
        if isinstance(dist, tuple) and dist and isinstance(dist[0], str):
            kind, low, high = _distribution(name, dist)
            if kind == "log_uniform":
                low, high = np.log(low), np.log(high)
            values = np.asarray(jax.random.uniform(draw_key, (k,), minval=low, maxval=high))
            out[name] = np.exp(values) if kind == "log_uniform" else values
        elif isinstance(dist, list) and dist:
            out[name] = axis(dist)[np.asarray(jax.random.randint(draw_key, (k,), 0, len(dist)))]
        else:
            raise ValueError(
                f"distribution for {name!r} must be ('uniform', low, high), ('log_uniform', low, high) "
                f"or a non-empty list of choices, got {dist!r}"
            )
    return out


def _distribution(name: str, dist: Sequence[Any]) -> tuple[str, float, float]:
    if len(dist) != 3 or dist[0] not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution for {name!r} must be one of {list(DISTRIBUTIONS)} as (kind, low, high), got {dist!r}"
        )
    kind, low, high = dist
    hyperparameter(f"{name} low", low)
    hyperparameter(f"{name} high", high)
    if not low < high or (kind == "log_uniform" and low <= 0):
        bound = "0 < low < high" if kind == "log_uniform" else "low < high"
        raise ValueError(f"{kind} for {name!r} needs {bound}, got {low}, {high}")
    return kind, low, high


def _check_k(who: str, k: int) -> None:
    """``k`` variants: an int from 1 up to the int32 range the seeds are kept in."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= np.iinfo(np.int32).max:
        raise ValueError(f"{who} needs k >= 1 variants (an int of the int32 range), got {k!r}")


def seeds(k: int) -> dict[str, np.ndarray]:
    """``k`` variants differing only in their seed: an ensemble."""
    _check_k("seeds", k)
    return {"seed": np.arange(k)}


def variant_keys(key: jax.Array, seed: int | jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(init_key, fit_key)`` of the variant with this seed: ``split(fold_in(key, seed))``."""
    hyperparameter("seed", seed, integer=True, low=0, high=np.iinfo(np.uint32).max)
    init_key, fit_key = jax.random.split(jax.random.fold_in(as_key(key), seed))
    return init_key, fit_key


def check(variants, builder_names, optimizer_names) -> tuple[dict, int]:
    """The variants as 1-D arrays of one length K, every value valid; returns ``(variants, K)``.

    Seeds are integers >= 0; optimizer hyperparameters finite numbers >= 0
    (as ``optimizers.get`` checks them); names must be ``"seed"``, an
    optimizer hyperparameter or a builder argument, and every builder
    argument without a default needs an axis.
    """
    if not isinstance(variants, dict) or not variants:
        raise ValueError(
            "variants must be a non-empty dict of name -> values; build one with grid, random_search or seeds"
        )
    variants = {name: axis(values) for name, values in variants.items()}
    lengths = {name: len(values) for name, values in variants.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"every variant axis needs the same length K, got {lengths}")
    k = next(iter(lengths.values()))
    if k < 1:
        raise ValueError(f"a sweep needs K >= 1 variants, got K = {k}")
    unknown = sorted(set(variants) - {"seed", *optimizer_names, *builder_names})
    if unknown:
        raise ValueError(
            f"no model or optimizer hyperparameter named {', '.join(map(repr, unknown))}; valid choices: "
            f"'seed', optimizer {list(optimizer_names)}, model builder {list(builder_names)}"
        )
    required = [n for n, has_default in builder_names.items() if n not in variants and not has_default]
    if required:
        raise ValueError(f"the model builder needs a variant axis for {required}: it has no default for them")
    for name, values in variants.items():
        if name in builder_names:
            continue  # the builder checks its own arguments when the sweep builds each variant
        for value in values.tolist():
            hyperparameter(f"variant {name}", value, integer=name == "seed", low=0)
    return variants, k
