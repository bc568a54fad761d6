"""The 2-D datasets of the TensorFlow Neural Network Playground (playground.tensorflow.org).

The generative definitions follow the Playground's ``src/dataset.ts``
(tensorflow/playground, Apache-2.0). ``noise`` is the Playground's noise
slider divided by 100, a fraction in ``[0, 0.5]``, and means per dataset:

- ``circle``: half the points at radius ``U(0, 2.5)`` (label 1), half at
  ``U(3.5, 5)`` (label 0), at uniform angles. The label is ``|p + e| < 2.5``
  for an offset ``e ~ U(-5, 5)^2 * noise``; the point itself is not moved.
- ``xor``: ``p ~ U(-5, 5)^2``, pushed 0.3 away from each axis; label
  ``(p + e)_x (p + e)_y >= 0`` with ``e ~ U(-5, 5)^2 * noise``.
- ``gauss``: half the points ``~ N((2, 2), s^2 I)`` (label 1), half
  ``~ N((-2, -2), s^2 I)`` (label 0), variance ``s^2 = 0.5 + 7 noise``
  (0.5 to 4).
- ``spiral``: two interleaved arms of 1.75 turns, radius growing to 5, the
  second turned by pi (label 0); each point moved by ``U(-1, 1)^2 * noise``.
- ``plane`` (regression): ``p ~ U(-6, 6)^2``, target ``((p + e)_x + (p + e)_y) / 10``
  with ``e ~ U(-6, 6)^2 * noise``.
- ``multigauss`` (regression): ``p ~ U(-6, 6)^2``; six bumps at
  ``x in {-4, 0, 4}``, ``y in {2.5, -2.5}`` with alternating signs; the target
  at ``p + e`` (``e ~ U(-6, 6)^2 * noise``) is ``sign * max(0, 1 - d / 2)``
  of the bump whose value is largest in magnitude, ``d`` the distance to it.

The Playground's labels -1/1 become 0/1 here.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from fnnet._checks import hyperparameter
from fnnet.keys import as_key
from fnnet.protocols import KeyLike

__all__ = ["CLASSIFICATION", "REGRESSION", "make"]

CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
REGRESSION = ("plane", "multigauss")


def _uniform(key, shape, low, high):
    return jax.random.uniform(key, shape, minval=low, maxval=high)


def _offset(key, n, noise, radius):
    """The Playground's label noise: a ``U(-radius, radius)^2 * noise`` offset per point."""
    return _uniform(key, (n, 2), -radius, radius) * noise


def _first_half(n):
    """True for the first ``n - n // 2`` points, the Playground's positive examples."""
    return jnp.arange(n) < n - n // 2


def _circle(key, n, noise):
    radius = 5.0
    key_inside, key_outside, key_angle, key_noise = jax.random.split(key, 4)
    r = jnp.where(
        _first_half(n), _uniform(key_inside, (n,), 0.0, radius * 0.5), _uniform(key_outside, (n,), radius * 0.7, radius)
    )
    angle = _uniform(key_angle, (n,), 0.0, 2 * math.pi)
    points = jnp.stack([r * jnp.sin(angle), r * jnp.cos(angle)], axis=1)
    noisy = points + _offset(key_noise, n, noise, radius)
    return points, jnp.where(jnp.linalg.norm(noisy, axis=1) < radius * 0.5, 1.0, -1.0)


def _xor(key, n, noise):
    key_points, key_noise = jax.random.split(key)
    points = _uniform(key_points, (n, 2), -5.0, 5.0)
    points = points + jnp.where(points > 0, 0.3, -0.3)
    noisy = points + _offset(key_noise, n, noise, 5.0)
    return points, jnp.where(noisy[:, 0] * noisy[:, 1] >= 0, 1.0, -1.0)


def _gauss(key, n, noise):
    variance = 0.5 + noise * (4.0 - 0.5) / 0.5
    positive = _first_half(n)
    centers = jnp.where(positive, 2.0, -2.0)[:, None]
    points = centers + jnp.sqrt(variance) * jax.random.normal(key, (n, 2))
    return points, jnp.where(positive, 1.0, -1.0)


def _spiral(key, n, noise):
    def arm(count, turn):
        t = jnp.arange(count) / count
        angle = 1.75 * t * 2 * math.pi + turn
        return jnp.stack([5 * t * jnp.sin(angle), 5 * t * jnp.cos(angle)], axis=1)

    positive = _first_half(n)
    points = jnp.concatenate([arm(n - n // 2, 0.0), arm(n // 2, math.pi)])
    points = points + _uniform(key, (n, 2), -1.0, 1.0) * noise
    return points, jnp.where(positive, 1.0, -1.0)


def _plane(key, n, noise):
    key_points, key_noise = jax.random.split(key)
    points = _uniform(key_points, (n, 2), -6.0, 6.0)
    noisy = points + _offset(key_noise, n, noise, 6.0)
    return points, noisy.sum(axis=1) / 10


_BUMPS = jnp.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
_BUMP_SIGNS = jnp.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])


def _multigauss(key, n, noise):
    key_points, key_noise = jax.random.split(key)
    points = _uniform(key_points, (n, 2), -6.0, 6.0)
    noisy = points + _offset(key_noise, n, noise, 6.0)
    distance = jnp.linalg.norm(noisy[:, None, :] - _BUMPS[None, :, :], axis=-1)
    values = _BUMP_SIGNS[None, :] * jnp.clip(1 - distance / 2, 0.0, 1.0)
    strongest = jnp.argmax(jnp.abs(values), axis=1)
    return points, jnp.take_along_axis(values, strongest[:, None], axis=1)[:, 0]


_GENERATORS = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "plane": _plane,
    "multigauss": _multigauss,
}


def make(name: str, n: int, *, noise: float = 0.0, key: KeyLike) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points of the Playground dataset ``name``, shuffled with ``key``.

    Returns ``(x, y)`` as NumPy float32: ``x`` of shape ``(n, 2)``, ``y`` of
    shape ``(n,)``, with labels 0/1 for the classification sets
    (:data:`CLASSIFICATION`; ``n - n // 2`` of class 1, ``n // 2`` of class 0)
    and real targets for the regression sets (:data:`REGRESSION`).
    ``noise`` in ``[0, 0.5]`` is the Playground's slider / 100 (see the module
    docstring for what it does to each set). The same key gives the same data.
    """
    if not isinstance(name, str) or name not in _GENERATORS:
        error = ValueError if isinstance(name, str) else TypeError
        raise error(f"name: unknown playground dataset {name!r}; valid names: {', '.join(_GENERATORS)}")
    hyperparameter("n", n, integer=True, low=1, high=np.iinfo(np.int32).max)
    hyperparameter("noise", noise, low=0.0, high=0.5)
    x, y = _sample(name, int(n), as_key(key), float(noise))
    return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _sample(name, n, key, noise):
    key_data, key_order = jax.random.split(key)
    x, y = _GENERATORS[name](key_data, n, noise)
    if name in CLASSIFICATION:
        y = (y + 1) / 2
    order = jax.random.permutation(key_order, n)
    return x[order], y[order]
