"""Weight initializers ``(key, shape, dtype=float32) -> array`` with Keras's defaults.

For a kernel of shape ``(fan_in, fan_out)`` (more generally ``fan_in =
shape[-2] * receptive field``, ``fan_out = shape[-1] * receptive field``):

=================  ===========================================================
``zeros``          0
``ones``           1
``uniform``        U(-0.05, 0.05)                       (Keras RandomUniform)
``normal``         N(0, 0.05^2)                         (Keras RandomNormal)
``lecun_uniform``  U(-l, l),  l = sqrt(3 / fan_in)
``lecun_normal``   truncated N with std sqrt(1 / fan_in)
``glorot_uniform`` U(-l, l),  l = sqrt(6 / (fan_in + fan_out))   (Keras default)
``glorot_normal``  truncated N with std sqrt(2 / (fan_in + fan_out))
``he_uniform``     U(-l, l),  l = sqrt(6 / fan_in)
``he_normal``      truncated N with std sqrt(2 / fan_in)
=================  ===========================================================

The truncated normals are cut at two standard deviations and rescaled so the
variance is exactly the stated one, as in Keras. All variance-scaling ones
are ``jax.nn.initializers``; ``random_uniform``/``random_normal`` build the
Keras random initializers with other bounds.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from fnnet._registry import lookup

Initializer = Callable[..., jax.Array]


def random_uniform(minval=-0.05, maxval=0.05) -> Initializer:
    """Initializer drawing from U(minval, maxval) (Keras ``RandomUniform``)."""
    if not minval < maxval:
        raise ValueError(f"random_uniform needs minval < maxval, got {minval} and {maxval}")

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, minval, maxval)

    return init


def random_normal(mean=0.0, stddev=0.05) -> Initializer:
    """Initializer drawing from N(mean, stddev^2) (Keras ``RandomNormal``)."""
    if not stddev >= 0:
        raise ValueError(f"random_normal needs stddev >= 0, got {stddev}")

    def init(key, shape, dtype=jnp.float32):
        return mean + stddev * jax.random.normal(key, shape, dtype)

    return init


def _float32_default(jax_initializer, name, doc) -> Initializer:
    """Give a ``jax.nn.initializers`` function Keras's float32 default dtype."""

    def init(key, shape, dtype=jnp.float32):
        return jax_initializer(key, shape, dtype)

    init.__name__ = init.__qualname__ = name
    init.__doc__ = doc
    return init


_nn = jax.nn.initializers
zeros = _float32_default(_nn.zeros, "zeros", "All zeros.")
ones = _float32_default(_nn.ones, "ones", "All ones.")
uniform = _float32_default(random_uniform(), "uniform", "U(-0.05, 0.05), Keras's RandomUniform defaults.")
normal = _float32_default(random_normal(), "normal", "N(0, 0.05^2), Keras's RandomNormal defaults.")
lecun_uniform = _float32_default(_nn.lecun_uniform(), "lecun_uniform", "U(-l, l), l = sqrt(3 / fan_in).")
lecun_normal = _float32_default(
    _nn.lecun_normal(), "lecun_normal", "Truncated normal with std sqrt(1 / fan_in)."
)
glorot_uniform = _float32_default(
    _nn.glorot_uniform(), "glorot_uniform", "U(-l, l), l = sqrt(6 / (fan_in + fan_out)) (Keras's default)."
)
glorot_normal = _float32_default(
    _nn.glorot_normal(), "glorot_normal", "Truncated normal with std sqrt(2 / (fan_in + fan_out))."
)
he_uniform = _float32_default(_nn.he_uniform(), "he_uniform", "U(-l, l), l = sqrt(6 / fan_in).")
he_normal = _float32_default(_nn.he_normal(), "he_normal", "Truncated normal with std sqrt(2 / fan_in).")

_BY_NAME = {
    f.__name__: f
    for f in (
        zeros, ones, uniform, normal, lecun_uniform, lecun_normal,
        glorot_uniform, glorot_normal, he_uniform, he_normal,
    )
}
_BY_NAME |= {"random_uniform": uniform, "random_normal": normal}


def get(name_or_callable) -> Initializer:
    """Return the initializer called ``name`` (Keras names), or a callable as is."""
    return lookup("initializer", _BY_NAME, name_or_callable)
