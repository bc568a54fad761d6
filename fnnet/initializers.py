"""Weight initializers ``(key, shape, dtype=float32) -> array`` with Keras's defaults.

For a kernel of shape ``(fan_in, fan_out)`` (more generally ``fan_in =
shape[-2] * receptive field``, ``fan_out = shape[-1] * receptive field``):

| initializer | draws |
| --- | --- |
| ``zeros`` | 0 |
| ``ones`` | 1 |
| ``uniform`` | U(-0.05, 0.05)                       (Keras RandomUniform) |
| ``normal`` | N(0, 0.05^2)                         (Keras RandomNormal) |
| ``lecun_uniform`` | U(-l, l),  l = sqrt(3 / fan_in) |
| ``lecun_normal`` | truncated N with std sqrt(1 / fan_in) |
| ``glorot_uniform`` | U(-l, l),  l = sqrt(6 / (fan_in + fan_out))   (Keras default) |
| ``glorot_normal`` | truncated N with std sqrt(2 / (fan_in + fan_out)) |
| ``he_uniform`` | U(-l, l),  l = sqrt(6 / fan_in) |
| ``he_normal`` | truncated N with std sqrt(2 / fan_in) |

The truncated normals are cut at two standard deviations and rescaled so the
variance is exactly the stated one, as in Keras. All variance-scaling ones
are ``jax.nn.initializers``; ``random_uniform``/``random_normal`` build the
Keras random initializers with other bounds.
"""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

from fnnet._checks import dtype as check_dtype, hyperparameter, shape as check_shape
from fnnet._registry import lookup
from fnnet.keys import as_key

Initializer = Callable[..., jax.Array]


@dataclasses.dataclass(frozen=True)
class RandomUniform:
    """Initializer drawing from U(minval, maxval) (Keras ``RandomUniform``); a value with a config."""

    minval: float = -0.05
    maxval: float = 0.05

    def __post_init__(self) -> None:
        hyperparameter("minval", self.minval)
        hyperparameter("maxval", self.maxval)
        if not self.minval < self.maxval:
            raise ValueError(f"RandomUniform needs minval < maxval, got minval={self.minval} and maxval={self.maxval}")

    def __call__(self, key: jax.Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> jax.Array:
        return jax.random.uniform(*_checked(key, shape, dtype), self.minval, self.maxval)

    def get_config(self) -> dict[str, Any]:
        return {"class_name": "RandomUniform", "config": {"minval": self.minval, "maxval": self.maxval}}


@dataclasses.dataclass(frozen=True)
class RandomNormal:
    """Initializer drawing from N(mean, stddev^2) (Keras ``RandomNormal``); a value with a config."""

    mean: float = 0.0
    stddev: float = 0.05

    def __post_init__(self) -> None:
        hyperparameter("mean", self.mean)
        hyperparameter("stddev", self.stddev, low=0)

    def __call__(self, key: jax.Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> jax.Array:
        return self.mean + self.stddev * jax.random.normal(*_checked(key, shape, dtype))

    def get_config(self) -> dict[str, Any]:
        return {"class_name": "RandomNormal", "config": {"mean": self.mean, "stddev": self.stddev}}


def random_uniform(minval: float = -0.05, maxval: float = 0.05) -> Initializer:
    """Initializer drawing from U(minval, maxval) (Keras ``RandomUniform``)."""
    return RandomUniform(float(hyperparameter("minval", minval)), float(hyperparameter("maxval", maxval)))


def random_normal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    """Initializer drawing from N(mean, stddev^2) (Keras ``RandomNormal``)."""
    if hyperparameter("stddev", stddev) < 0:
        raise ValueError(f"random_normal needs stddev >= 0, got {stddev}")
    return RandomNormal(float(hyperparameter("mean", mean)), float(stddev))


def _checked(key: object, shape: object, dtype: object) -> tuple[jax.Array, tuple[int, ...], DTypeLike]:
    """An initializer's arguments checked: a key (or int seed), a shape of positive ints, a floating dtype."""
    checked_dtype = check_dtype("dtype", dtype)
    if not jnp.issubdtype(checked_dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype for weights (float32, bfloat16, ...), got {checked_dtype}")
    return as_key(key), check_shape("shape", shape), checked_dtype


def _float32_default(jax_initializer: Callable[..., jax.Array], name: str, doc: str, fans: bool = False) -> Initializer:
    """Give a ``jax.nn.initializers`` function Keras's float32 default dtype (``fans``: it needs ``(in, out)``)."""

    def init(key: jax.Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> jax.Array:
        key, shape, dtype = _checked(key, shape, dtype)
        if fans and len(shape) < 2:
            raise ValueError(
                f"{name} computes fan_in and fan_out from a shape of 2 or more dimensions "
                f"(fan_in, fan_out), got shape {shape}"
            )
        return jax_initializer(key, shape, dtype)

    init.__name__ = init.__qualname__ = name
    init.__doc__ = doc
    return init


_nn = jax.nn.initializers
zeros = _float32_default(_nn.zeros, "zeros", "All zeros.")
ones = _float32_default(_nn.ones, "ones", "All ones.")
uniform = _float32_default(random_uniform(), "uniform", "U(-0.05, 0.05), Keras's RandomUniform defaults.")
normal = _float32_default(random_normal(), "normal", "N(0, 0.05^2), Keras's RandomNormal defaults.")
lecun_uniform = _float32_default(_nn.lecun_uniform(), "lecun_uniform", "U(-l, l), l = sqrt(3 / fan_in).", fans=True)
lecun_normal = _float32_default(
    _nn.lecun_normal(), "lecun_normal", "Truncated normal with std sqrt(1 / fan_in).", fans=True
)
glorot_uniform = _float32_default(
    _nn.glorot_uniform(), "glorot_uniform", "U(-l, l), l = sqrt(6 / (fan_in + fan_out)) (Keras's default).", fans=True
)
glorot_normal = _float32_default(
    _nn.glorot_normal(), "glorot_normal", "Truncated normal with std sqrt(2 / (fan_in + fan_out)).", fans=True
)
he_uniform = _float32_default(_nn.he_uniform(), "he_uniform", "U(-l, l), l = sqrt(6 / fan_in).", fans=True)
he_normal = _float32_default(_nn.he_normal(), "he_normal", "Truncated normal with std sqrt(2 / fan_in).", fans=True)

_BY_NAME = {
    f.__name__: f
    for f in (
        zeros,
        ones,
        uniform,
        normal,
        lecun_uniform,
        lecun_normal,
        glorot_uniform,
        glorot_normal,
        he_uniform,
        he_normal,
    )
}
_BY_NAME |= {"random_uniform": uniform, "random_normal": normal}


_NAME_OF = {id(f): name for name, f in _BY_NAME.items() if name not in ("random_uniform", "random_normal")}
_BY_CLASS = {"RandomUniform": random_uniform, "RandomNormal": random_normal}


def get(name_or_callable: str | Mapping[str, Any] | Initializer) -> Initializer:
    """Return the initializer called ``name`` (Keras names) or built from a config, or a callable as is."""
    if isinstance(name_or_callable, dict) and name_or_callable.get("class_name") in _BY_CLASS:
        return _BY_CLASS[name_or_callable["class_name"]](**name_or_callable.get("config", {}))
    return lookup(
        "initializer",
        _BY_NAME,
        name_or_callable,
        factories=(RandomUniform, RandomNormal, random_uniform, random_normal),
    )


def name_of(initializer: object) -> str | None:
    """The registry name of one of this module's initializers (``glorot_uniform``), else None."""
    return _NAME_OF.get(id(initializer)) if callable(initializer) else None


def serialize(initializer: str | Mapping[str, Any] | Initializer) -> str | Mapping[str, Any] | Initializer:
    """An initializer as a config value: its name, or the initializer itself (configs come from ``get_config()``)."""
    if isinstance(initializer, (str, Mapping)):
        get(initializer)  # a name or config that resolves
        return initializer
    name = name_of(initializer)
    return get(initializer) if name is None else name
