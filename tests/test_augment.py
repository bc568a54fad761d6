"""fnnet.augment: geometry of the transforms, identities, jit/vmap with per-sample keys."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fnnet import augment
from fnnet.datasets import digits

KEY = jax.random.key(0)


def _images(seed, shape):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


image_shapes = st.tuples(st.integers(1, 9), st.integers(1, 9)).flatmap(lambda hw: st.sampled_from([hw, hw + (3,)]))


@given(shape=image_shapes, seed=st.integers(0, 1000))
@pytest.mark.slow
def test_flips_applied_twice_are_the_identity(shape, seed):
    image = _images(seed, shape)
    np.testing.assert_array_equal(augment.flip_left_right(augment.flip_left_right(image)), image)
    np.testing.assert_array_equal(augment.flip_up_down(augment.flip_up_down(image)), image)
    np.testing.assert_array_equal(augment.flip_left_right(image), np.flip(image, axis=1))
    np.testing.assert_array_equal(augment.flip_up_down(image), np.flip(image, axis=0))


@pytest.mark.parametrize("shape", [(7, 5), (6, 6, 2)])
def test_rotation_and_translation_by_zero_are_the_identity(shape):
    image = _images(1, shape)
    np.testing.assert_allclose(augment.rotate(image, 0.0), image, atol=1e-6)
    np.testing.assert_allclose(augment.translate(image, 0.0, 0.0), image, atol=1e-6)
    images = _images(2, (4,) + shape)
    np.testing.assert_allclose(augment.random_rotation(0.0)(KEY, images), images, atol=1e-6)
    np.testing.assert_allclose(augment.random_translation(0.0, 0.0)(KEY, images), images, atol=1e-6)


def test_rotation_by_quarter_turn_is_counter_clockwise_rot90():
    image = _images(3, (6, 6, 2))
    np.testing.assert_allclose(augment.rotate(image, math.pi / 2), np.rot90(image), atol=1e-5)
    np.testing.assert_allclose(augment.rotate(image, 2 * math.pi), image, atol=1e-5)


def test_integer_translation_shifts_down_right_with_zero_fill():
    image = _images(4, (5, 6))
    shifted = np.asarray(augment.translate(image, 2, -1))
    np.testing.assert_allclose(shifted[2:, :-1], image[:-2, 1:], atol=1e-6)
    np.testing.assert_array_equal(shifted[:2], 0)
    np.testing.assert_array_equal(shifted[:, -1], 0)


def test_integer_images_keep_their_dtype():
    image = np.arange(16, dtype=np.uint8).reshape(4, 4)
    assert augment.rotate(image, 0.3).dtype == np.uint8
    np.testing.assert_array_equal(augment.translate(image, 0, 0), image)


def _center_of_mass(image):
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


@pytest.mark.parametrize("angle", [0.4, -1.0, 2.5])
def test_rotated_digit_keeps_its_mass_about_the_center(angle):
    (x, _), _ = digits.load_data()
    image = np.zeros((16, 16), np.float32)
    image[4:12, 4:12] = x[7].reshape(8, 8)  # room to turn without losing the corners
    rotated = np.asarray(augment.rotate(image, angle))
    center = np.array([7.5, 7.5])
    di, dj = _center_of_mass(image) - center
    # Counter-clockwise on screen (rows grow downward).
    expected = center + [math.cos(angle) * di - math.sin(angle) * dj, math.sin(angle) * di + math.cos(angle) * dj]
    np.testing.assert_allclose(_center_of_mass(rotated), expected, atol=0.25)
    assert abs(rotated.sum() / image.sum() - 1) < 0.05


def test_random_flip_flips_about_half_of_the_samples():
    images = _images(5, (200, 4, 4))
    out = np.asarray(augment.random_flip("horizontal")(KEY, images))
    flipped = np.all(out == images[:, :, ::-1], axis=(1, 2))
    kept = np.all(out == images, axis=(1, 2))
    assert np.all(flipped | kept)
    assert 70 < flipped.sum() < 130


def test_random_flip_both_ways_produces_all_four_variants():
    images = np.broadcast_to(_images(6, (3, 3)), (100, 3, 3))
    out = np.asarray(augment.random_flip("horizontal_and_vertical")(KEY, images))
    variants = {np.flip(images[0], axes).tobytes() for axes in [(), (0,), (1,), (0, 1)]}
    assert {o.tobytes() for o in out} == variants


def _pipeline():
    return augment.compose(
        augment.random_flip("horizontal"), augment.random_rotation(0.1), augment.random_translation(0.2, (-0.1, 0.3))
    )


@pytest.mark.slow
def test_augmentation_runs_under_jit_and_vmap_with_per_sample_keys():
    aug = _pipeline()
    images = _images(7, (8, 6, 6, 1))
    batch = aug(KEY, images)
    assert batch.shape == images.shape and batch.dtype == images.dtype
    np.testing.assert_allclose(jax.jit(aug)(KEY, images), batch, atol=1e-5)
    keys = jax.random.split(KEY, len(images))
    np.testing.assert_allclose(jax.jit(jax.vmap(aug.sample))(keys, images), batch, atol=1e-5)
    # Each sample got its own key: the same image is augmented differently across the batch.
    same = np.broadcast_to(images[0], images.shape)
    out = np.asarray(aug(KEY, same))
    assert len({o.tobytes() for o in out}) == len(out)


@pytest.mark.slow
def test_augmentation_is_deterministic_under_a_key_and_accepts_old_keys():
    aug = _pipeline()
    images = _images(8, (4, 5, 5))
    np.testing.assert_array_equal(aug(KEY, images), aug(jax.random.key(0), images))
    assert not np.allclose(aug(KEY, images), aug(jax.random.key(1), images))
    assert aug(jax.random.PRNGKey(0), images).shape == images.shape


def test_compose_chains_in_order_and_empty_is_identity():
    images = _images(9, (3, 4, 4))
    np.testing.assert_array_equal(augment.compose()(KEY, images), images)
    always_flip = augment.Augmentation(lambda key, image: augment.flip_left_right(image))
    shift = augment.Augmentation(lambda key, image: augment.translate(image, 0, 1))
    ordered = augment.compose(always_flip, shift)(KEY, images)
    np.testing.assert_allclose(ordered[:, :, 1:], images[:, :, ::-1][:, :, :-1], atol=1e-6)


def test_random_translation_moves_within_its_factor():
    image = np.zeros((1, 21, 21), np.float32)
    image[0, 10, 10] = 1.0
    keys = jax.random.split(KEY, 64)
    shift = augment.random_translation((0.1, 0.2), 0.0)
    out = np.asarray(jax.vmap(shift.sample)(keys, np.broadcast_to(image[0], (64, 21, 21))))
    rows = np.array([_center_of_mass(o)[0] for o in out]) - 10
    assert np.all((rows >= 0.1 * 21 - 1e-3) & (rows <= 0.2 * 21 + 1e-3))
    np.testing.assert_allclose([_center_of_mass(o)[1] for o in out], 10, atol=1e-4)


@pytest.mark.parametrize(
    "call",
    [
        lambda: augment.random_flip()(KEY, np.zeros((5, 64))),
        lambda: augment.random_rotation(0.1)(KEY, np.zeros((2, 3, 4, 5, 6))),
        lambda: augment.rotate(np.zeros(64), 0.1),
        lambda: augment.translate(np.zeros((1, 2, 3, 4)), 1, 1),
        lambda: augment.flip_left_right(np.zeros(5)),
        lambda: augment.random_translation(0.1, 0.1).sample(KEY, np.zeros(8)),
    ],
)
def test_non_image_shapes_are_rejected(call):
    with pytest.raises(ValueError, match=r"expected (a batch of images|an image) of shape .*got shape"):
        call()


def test_flat_digits_error_says_how_to_reshape():
    with pytest.raises(ValueError, match=r"\(N, H, W\).*got shape \(5, 64\).*reshape"):
        augment.random_flip()(KEY, jnp.zeros((5, 64)))


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: augment.random_flip("diagonal"), ValueError, "mode must be one of"),
        (lambda: augment.random_rotation(-0.1), ValueError, "factor"),
        (lambda: augment.random_rotation((0.2, 0.1)), ValueError, "lower <= upper"),
        (lambda: augment.random_rotation((0.1, 0.2, 0.3)), ValueError, "pair"),
        (lambda: augment.random_rotation("big"), TypeError, "factor"),
        (lambda: augment.random_translation(0.1, float("nan")), ValueError, "width_factor"),
        (lambda: augment.compose(augment.flip_left_right), TypeError, "Augmentation"),
    ],
)
def test_bad_hyperparameters_are_rejected(make, error, words):
    with pytest.raises(error, match=words):
        make()


# --- augmentations are values: equal configs are equal, hash equally, share a compiled program ---


def _user_fn(key, image, shift=0):
    return augment.translate(image, 0, shift)


EQUAL_PAIRS = {
    "flip": lambda: augment.random_flip("horizontal"),
    "flip default": lambda: (augment.random_flip(), augment.random_flip("horizontal")),
    "rotation": lambda: augment.random_rotation(0.05),
    "rotation pair": lambda: (augment.random_rotation([0.1, 0.2]), augment.random_rotation((0.1, 0.2))),
    "rotation symmetric": lambda: (augment.random_rotation(0.1), augment.random_rotation((-0.1, 0.1))),
    "rotation 0-d array": lambda: augment.random_rotation(jnp.float32(0.1)),
    "translation": lambda: augment.random_translation(0.1, (0.0, 0.2)),
    "pipeline": _pipeline,
    "compose nested": lambda: augment.compose(_pipeline(), augment.compose()),
    "empty compose": augment.compose,
    "user function": lambda: augment.Augmentation(_user_fn),
    "user function with args": lambda: augment.Augmentation(_user_fn, (1,)),
}


@pytest.mark.parametrize("build", EQUAL_PAIRS.values(), ids=EQUAL_PAIRS.keys())
def test_equal_configurations_are_equal_and_hash_equally(build):
    built = build()
    first, second = built if isinstance(built, tuple) else (built, build())
    assert first is not second
    assert first == second and not first != second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


_flip, _rot = augment.random_flip("horizontal"), augment.random_rotation(0.1)
UNEQUAL_PAIRS = {
    "rotation factor": (augment.random_rotation(0.05), augment.random_rotation(0.1)),
    "rotation range": (augment.random_rotation((0.0, 0.1)), augment.random_rotation((-0.1, 0.1))),
    "flip mode": (augment.random_flip("horizontal"), augment.random_flip("vertical")),
    "flip both": (augment.random_flip("horizontal"), augment.random_flip("horizontal_and_vertical")),
    "translation": (augment.random_translation(0.1, 0.1), augment.random_translation(0.1, 0.2)),
    "translation axes": (augment.random_translation(0.1, 0.2), augment.random_translation(0.2, 0.1)),
    "kind": (augment.random_rotation(0.1), augment.random_translation(0.1, 0.1)),
    "compose order": (augment.compose(_flip, _rot), augment.compose(_rot, _flip)),
    "compose part": (augment.compose(_flip, _rot), augment.compose(_flip, augment.random_rotation(0.2))),
    "compose length": (augment.compose(_flip), augment.compose(_flip, _flip)),
    "compose of one": (augment.compose(_flip), _flip),
    "user functions": (augment.Augmentation(lambda key, image: image), augment.Augmentation(lambda key, image: image)),
    "user args": (augment.Augmentation(_user_fn, (1,)), augment.Augmentation(_user_fn, (2,))),
}


@pytest.mark.parametrize("first, second", UNEQUAL_PAIRS.values(), ids=UNEQUAL_PAIRS.keys())
def test_different_configurations_are_unequal(first, second):
    assert first != second and not first == second
    assert len({first, second}) == 2


def test_user_function_receives_its_args():
    images = _images(10, (2, 4, 5))
    shifted = augment.Augmentation(_user_fn, [1])(KEY, images)
    np.testing.assert_allclose(shifted, [augment.translate(image, 0, 1) for image in images], atol=1e-6)
    with pytest.raises(TypeError, match="per-sample function"):
        augment.Augmentation(0.5)


def _counting_jit():
    traces = []

    def apply(key, images, aug):
        traces.append(aug)
        return aug(key, images)

    return jax.jit(apply, static_argnums=2), traces


@pytest.mark.parametrize(
    "build, other",
    [
        (lambda: augment.random_rotation(0.05), lambda: augment.random_rotation(0.1)),
        (lambda: augment.random_flip("horizontal"), lambda: augment.random_flip("vertical")),
        (_pipeline, lambda: augment.compose(augment.random_flip("horizontal"), augment.random_rotation(0.1))),
    ],
)
def test_equal_fresh_augmentations_trace_once_and_different_ones_twice(build, other):
    images = _images(11, (3, 6, 6))
    apply, traces = _counting_jit()
    first = apply(KEY, images, build())
    second = apply(KEY, images, build())
    assert len(traces) == 1
    np.testing.assert_array_equal(first, second)
    apply(KEY, images, other())
    assert len(traces) == 2
