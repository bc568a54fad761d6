"""Random image augmentations as pure functions of a ``jax.random`` key.

Images are channels-last, as in Keras: one image is ``(H, W)`` or
``(H, W, C)``, a batch is ``(N, H, W)`` or ``(N, H, W, C)``. Flat images are
reshaped by the caller first, e.g. the digits' 64 features with
``x.reshape(-1, 8, 8)``.

The deterministic transforms (:func:`flip_left_right`, :func:`flip_up_down`,
:func:`rotate`, :func:`translate`) act on one image. The random ones are
:class:`Augmentation` values: ``aug.sample(key, image)`` transforms one image,
and ``aug(key, images)`` transforms a batch with one key per image (the
per-sample function vmapped over ``jax.random.split(key, N)``). A trainer
that already holds per-sample keys can ``jax.vmap(aug.sample)`` itself.
:func:`compose` chains augmentations into one. Everything is pure and
traceable, so it runs under ``jit`` and ``vmap`` on the device.

An augmentation is a value, not a closure: it holds a module-level per-sample
function and its hyperparameters, and two built from the same configuration
are equal and hash equally (``random_flip("horizontal") ==
random_flip("horizontal")``). Passed to ``jax.jit`` as a static argument (as
``fit(..., augment=aug)`` does), an equal freshly built one reuses the
compiled program instead of retracing.

    aug = compose(random_flip("horizontal"), random_rotation(0.05),
                  random_translation(0.1, 0.1))
    images = jax.jit(aug)(key, x.reshape(-1, 8, 8))
"""

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.core
import jax.numpy as jnp
from jax.typing import ArrayLike
from jax.scipy.ndimage import map_coordinates

from fnnet._checks import function, hyperparameter, real_array
from fnnet.keys import as_key
from fnnet.protocols import KeyLike

__all__ = [
    "Augmentation",
    "compose",
    "flip_left_right",
    "flip_up_down",
    "random_flip",
    "random_rotation",
    "random_translation",
    "rotate",
    "translate",
]


def _check_image(image: ArrayLike, leading: tuple[str, ...] = ()) -> None:
    """Raise unless ``image`` is ``leading + (H, W)`` or ``leading + (H, W, C)`` of real numbers."""
    shape = jnp.shape(real_array("images" if leading else "image", image))
    if len(shape) - len(leading) not in (2, 3):
        lead = "".join(f"{d}, " for d in leading)
        raise ValueError(
            f"expected {'a batch of images' if leading else 'an image'} of shape "
            f"({lead}H, W) or ({lead}H, W, C), got shape {shape}; reshape flat images "
            "first, e.g. x.reshape(-1, 8, 8)"
        )
    if not jnp.issubdtype(jnp.result_type(image), jnp.number):
        raise TypeError(f"expected images of numbers, got dtype {jnp.result_type(image)}")
    if 0 in shape[len(leading) :]:
        raise ValueError(f"expected {'images' if leading else 'an image'} of at least one pixel, got shape {shape}")


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """A random image transform: a per-sample function and the hyperparameters it takes.

    ``aug.sample(key, image)`` is ``fn(key, image, *args)``; it transforms one
    image of shape ``(H, W)`` or ``(H, W, C)``. Calling the augmentation,
    ``aug(key, images)``, transforms a batch ``(N, H, W[, C])`` with the
    independent keys ``jax.random.split(key, N)``; ``jax.jit(aug)`` compiles it.

    Equality and hashing are by value: the same ``fn`` object and equal
    ``args``. The built-in augmentations hold a module-level ``fn`` (named
    after their kind) and their hyperparameters as Python numbers and strings.
    A user's own augmentation wraps a per-sample function,
    ``Augmentation(fn)`` with ``fn(key, image) -> image``, and equals another
    one when it wraps the same function object; hyperparameters can be passed
    by value, ``Augmentation(fn, (0.3,))`` sampling ``fn(key, image, 0.3)``.
    ``args`` must be hashable to use the augmentation as a static argument.
    """

    fn: Callable[..., jax.Array]
    args: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(
                f"Augmentation wraps a per-sample function fn(key, image) -> image, got {type(self.fn).__name__}"
            )
        if not isinstance(self.args, (tuple, list)):
            raise TypeError(f"args must be a tuple of the values fn takes after (key, image), got {self.args!r}")
        object.__setattr__(self, "args", tuple(self.args))

    def sample(self, key: jax.Array, image: ArrayLike) -> jax.Array:
        """Transform one image with ``key``: ``fn(key, image, *args)``."""
        return self.fn(key, image, *self.args)

    def __call__(self, key: KeyLike, images: ArrayLike) -> jax.Array:
        _check_image(images, leading=("N",))
        keys = jax.random.split(as_key(key), jnp.shape(images)[0])
        return jax.vmap(self.sample)(keys, images)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"Augmentation({name}, {self.args!r})"


def _compose(key: jax.Array, image: jax.Array, *augmentations: "Augmentation") -> jax.Array:
    keys = jax.random.split(key, len(augmentations))
    for aug, k in zip(augmentations, keys, strict=True):
        image = aug.sample(k, image)
    return image


def compose(*augmentations: Augmentation) -> Augmentation:
    """Chain augmentations into one that applies them in order, each with its own key.

    The composed ``sample(key, image)`` splits ``key`` into one key per
    augmentation, ``k_1, ..., k_n``, and returns
    ``a_n.sample(k_n, ... a_1.sample(k_1, image))``. ``compose()`` is the
    identity. It holds the tuple of its parts, so ``compose(a, b) ==
    compose(a, b)`` whenever the parts are equal.
    """
    for i, aug in enumerate(augmentations):
        if not isinstance(aug, Augmentation):
            function(f"augmentations[{i}]", aug, factories=(random_flip, random_rotation, random_translation))
            raise TypeError(
                f"compose expects Augmentation values, got augmentations[{i}] of type {type(aug).__name__}; "
                "wrap a per-sample function (key, image) -> image as Augmentation(fn)"
            )
    return Augmentation(_compose, augmentations)


# --- deterministic transforms of one image -----------------------------------


def flip_left_right(image: ArrayLike) -> jax.Array:
    """Mirror an image horizontally: column ``j`` becomes column ``W - 1 - j``."""
    _check_image(image)
    return jnp.flip(image, axis=1)


def flip_up_down(image: ArrayLike) -> jax.Array:
    """Mirror an image vertically: row ``i`` becomes row ``H - 1 - i``."""
    _check_image(image)
    return jnp.flip(image, axis=0)


def _resample(image: ArrayLike, source: Callable[[jax.Array, jax.Array], Any]) -> jax.Array:
    """``out[i, j] = image[source(i, j)]``, bilinear, 0 outside the image.

    ``source`` maps the output's row and column grids to the (fractional)
    source rows and columns; channels are resampled alike.
    """
    height, width = jnp.shape(image)[:2]
    rows, cols = jnp.meshgrid(jnp.arange(height), jnp.arange(width), indexing="ij")
    coordinates = source(rows.astype(jnp.float32), cols.astype(jnp.float32))

    def one_channel(channel: ArrayLike) -> jax.Array:
        return map_coordinates(channel, coordinates, order=1, mode="constant", cval=0)

    if jnp.ndim(image) == 2:
        return one_channel(image)
    return jax.vmap(one_channel, in_axes=2, out_axes=2)(image)


def rotate(image: ArrayLike, angle: ArrayLike) -> jax.Array:
    """Rotate an image by ``angle`` radians counter-clockwise about its center.

    Output pixel ``(i, j)`` takes the bilinear value of the input at
    ``(ci + cos(a) di + sin(a) dj, cj + cos(a) dj - sin(a) di)``, where
    ``(di, dj) = (i - ci, j - cj)`` and ``(ci, cj) = ((H - 1) / 2, (W - 1) / 2)``;
    pixels from outside the image are 0. ``rotate(image, pi / 2)`` equals
    ``numpy.rot90(image)``.
    """
    _check_image(image)
    hyperparameter("angle", angle)
    height, width = jnp.shape(image)[:2]
    center_row, center_col = (height - 1) / 2, (width - 1) / 2
    cos, sin = jnp.cos(angle), jnp.sin(angle)

    def source(rows: jax.Array, cols: jax.Array) -> tuple[jax.Array, jax.Array]:
        di, dj = rows - center_row, cols - center_col
        return center_row + cos * di + sin * dj, center_col + cos * dj - sin * di

    return _resample(image, source)


def translate(image: ArrayLike, dy: ArrayLike, dx: ArrayLike) -> jax.Array:
    """Shift an image ``dy`` pixels down and ``dx`` pixels right (fractions interpolate).

    ``out[i, j] = image[i - dy, j - dx]``, bilinear; pixels shifted in from
    outside are 0.
    """
    _check_image(image)
    hyperparameter("dy", dy)
    hyperparameter("dx", dx)
    return _resample(image, lambda rows, cols: (rows - dy, cols - dx))


# --- random augmentations (Keras preprocessing layers) -----------------------

_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")

Factor = float | tuple[float, float] | list[float]
"""Keras's factor: ``f`` means ``(-f, f)``, a pair ``(lower, upper)`` itself."""


def _random_flip(key: jax.Array, image: jax.Array, mode: str) -> jax.Array:
    flips = {
        "horizontal": [flip_left_right],
        "vertical": [flip_up_down],
        "horizontal_and_vertical": [flip_left_right, flip_up_down],
    }[mode]
    for flip, k in zip(flips, jax.random.split(key, len(flips)), strict=True):
        image = jnp.where(jax.random.bernoulli(k), flip(image), image)
    return image


def random_flip(mode: Literal["horizontal", "vertical", "horizontal_and_vertical"] = "horizontal") -> Augmentation:
    """Flip each image with probability 1/2, as Keras ``RandomFlip(mode)``.

    ``"horizontal"`` mirrors left-right, ``"vertical"`` up-down, and
    ``"horizontal_and_vertical"`` does each independently.
    """
    if mode not in _FLIP_MODES:
        raise ValueError(f"mode must be one of {_FLIP_MODES}, got {mode!r}")
    return Augmentation(_random_flip, (mode,))


def _factor_range(name: str, factor: Factor, scale: float = 1.0, bound: float | None = None) -> tuple[Any, ...]:
    """Keras's factor convention, times ``scale``: ``f`` means ``(-f, f)``, a pair ``(lo, hi)`` itself.

    Concrete bounds come back as Python floats (exactly the scaled values), so
    an augmentation holding them hashes; traced ones pass through.
    """
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{name} must be a number or a pair (lower, upper), got {factor!r}")
        low, high = (hyperparameter(name, f, low=None if bound is None else -bound, high=bound) for f in factor)
        if low > high:
            raise ValueError(f"{name} must have lower <= upper, got {factor!r}")
    else:
        hyperparameter(name, factor, low=0.0, high=bound)
        low, high = -factor, factor
    return tuple(b if isinstance(b, jax.core.Tracer) else float(b) for b in (scale * low, scale * high))


def _uniform(key: jax.Array, low: ArrayLike, high: ArrayLike) -> jax.Array:
    return jax.random.uniform(key, minval=low, maxval=high)


def _random_rotation(key: jax.Array, image: jax.Array, low: float, high: float) -> jax.Array:
    return rotate(image, _uniform(key, low, high))


def random_rotation(factor: Factor) -> Augmentation:
    """Rotate each image by a random angle, as Keras ``RandomRotation(factor)`` with zero fill.

    The angle is uniform in ``[lower, upper] * 2 pi`` radians, counter-clockwise
    for positive values; ``factor = f`` means ``(-f, f)``, so ``0.1`` rotates
    by up to 36 degrees either way. The augmentation holds the angle bounds.
    """
    return Augmentation(_random_rotation, _factor_range("factor", factor, scale=2 * math.pi))


def _random_translation(
    key: jax.Array, image: jax.Array, rows: tuple[float, float], cols: tuple[float, float]
) -> jax.Array:
    _check_image(image)
    height, width = jnp.shape(image)[:2]
    key_rows, key_cols = jax.random.split(key)
    return translate(image, _uniform(key_rows, *rows) * height, _uniform(key_cols, *cols) * width)


def random_translation(height_factor: Factor, width_factor: Factor) -> Augmentation:
    """Shift each image randomly, as Keras ``RandomTranslation`` with zero fill.

    The vertical shift is uniform in ``[lower, upper] * H`` pixels (positive
    moves down), the horizontal one in ``[lower, upper] * W`` (positive moves
    right); a factor ``f`` means ``(-f, f)``.
    """
    rows = _factor_range("height_factor", height_factor, bound=1.0)  # Keras's: at most the image's size
    cols = _factor_range("width_factor", width_factor, bound=1.0)
    return Augmentation(_random_translation, (rows, cols))
