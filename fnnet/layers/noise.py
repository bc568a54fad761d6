"""Regularizing noise layers, active only in training (``training=True`` needs a ``key``), Keras's semantics.

- ``GaussianNoise(stddev)``:  ``y = x + stddev * n``,               n ~ N(0, 1)
- ``GaussianDropout(rate)``:  ``y = x * (1 + sqrt(rate / (1 - rate)) * n)``
- ``AlphaDropout(rate)``:     dropped inputs set to SELU's negative limit
  ``alpha' = -scale * alpha``, then ``y = a * x + b`` with ``a = ((1 - rate)
  (1 + rate alpha'^2))^(-1/2)``, ``b = -a alpha' rate``, so a standardized
  input keeps mean 0 and variance 1 (for SELU networks).

In inference (``training=False``) each is the identity.
"""

import jax
import jax.numpy as jnp

from fnnet._checks import flag, hyperparameter
from fnnet.keys import as_key
from fnnet.layers.base import Layer, as_shape, layer, no_params, no_penalty, register
from fnnet.protocols import KeyLike

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _needs_key(kind: str, key: KeyLike | None) -> jax.Array:
    """``key`` as a typed key (an int seed works); ValueError when there is none."""
    if key is None:
        raise ValueError(
            f"{kind} with training=True needs a random key: apply(params, x, key=jax.random.key(...), training=True)"
        )
    return as_key(key)


def _is_zero(value: object) -> bool:
    return isinstance(value, (int, float)) and value == 0  # a swept (traced) value is never skipped


def GaussianNoise(stddev: float, *, name: str | None = None) -> Layer:
    """Additive noise in training: ``y = x + stddev * n``, ``n ~ N(0, 1)`` (Keras ``GaussianNoise``)."""
    hyperparameter("GaussianNoise stddev", stddev, low=0)

    def apply(params, x, *, key=None, training=False):
        if not flag("training", training) or _is_zero(stddev):
            return x
        key = _needs_key("GaussianNoise", key)
        return x + stddev * jax.random.normal(key, jnp.shape(x), jnp.result_type(x))

    return layer("GaussianNoise", no_params, apply, no_penalty, as_shape, name=name, arguments={"stddev": stddev})


def GaussianDropout(rate: float, *, name: str | None = None) -> Layer:
    """Multiplicative noise in training: ``y = x * (1 + sqrt(rate / (1 - rate)) * n)``, ``n ~ N(0, 1)``."""
    hyperparameter("GaussianDropout rate", rate, low=0, high=1, high_inclusive=False)

    def apply(params, x, *, key=None, training=False):
        if not flag("training", training) or _is_zero(rate):
            return x
        key = _needs_key("GaussianDropout", key)
        stddev = jnp.sqrt(rate / (1.0 - rate))
        return x * (1 + stddev * jax.random.normal(key, jnp.shape(x), jnp.result_type(x)))

    return layer("GaussianDropout", no_params, apply, no_penalty, as_shape, name=name, arguments={"rate": rate})


def AlphaDropout(rate: float, *, name: str | None = None) -> Layer:
    """Dropout that keeps SELU's self-normalization (Klambauer et al. 2017), Keras ``AlphaDropout``.

    In training each input is kept with probability ``1 - rate``, else set to
    ``alpha' = -scale * alpha``; then ``y = a * x + b`` with ``a = ((1 - rate)
    * (1 + rate * alpha'^2))^(-1/2)`` and ``b = -a * alpha' * rate``.
    """
    hyperparameter("AlphaDropout rate", rate, low=0, high=1, high_inclusive=False)

    def apply(params, x, *, key=None, training=False):
        if not flag("training", training) or _is_zero(rate):
            return x
        key = _needs_key("AlphaDropout", key)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        keep = jax.random.bernoulli(key, 1 - rate, jnp.shape(x))
        a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * rate
        return a * jnp.where(keep, x, alpha_p) + b

    return layer("AlphaDropout", no_params, apply, no_penalty, as_shape, name=name, arguments={"rate": rate})


for _factory in (GaussianNoise, GaussianDropout, AlphaDropout):
    register(_factory.__name__, _factory)
