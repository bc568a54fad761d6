"""fnnet.datasets: the embedded digits, MNIST-1D and the Playground's 2-D sets."""

import random

import jax
import numpy as np
import pytest

from fnnet.datasets import digits, mnist1d, playground

KEY = jax.random.key(0)


# --- digits ------------------------------------------------------------------


def test_digits_shapes_dtypes_and_ranges():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1501, 64) and x_test.shape == (296, 64)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32
    assert y_train.shape == (1501,) and y_test.shape == (296,)
    for x, y in [(x_train, y_train), (x_test, y_test)]:
        assert x.min() == 0 and x.max() == 16 and np.all(x == np.round(x))
        np.testing.assert_array_equal(np.unique(y), np.arange(10))
    per_digit = np.bincount(y_train) + np.bincount(y_test)
    np.testing.assert_array_equal(np.bincount(y_test), per_digit // 6)  # stratified: a sixth of each digit


def test_digits_are_the_same_on_every_call():
    (x1, y1), (t1, _) = digits.load_data()
    (x2, y2), (t2, _) = digits.load_data()
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    x1[0, 0] = 99  # each call returns fresh arrays
    assert digits.load_data()[0][0][0, 0] != 99


def test_digits_look_like_digits():
    """Class means differ: a zero has an empty center, a one does not."""
    (x, y), _ = digits.load_data()
    mean_zero = x[y == 0].mean(axis=0).reshape(8, 8)
    mean_one = x[y == 1].mean(axis=0).reshape(8, 8)
    assert mean_zero[3:5, 3:5].mean() < 4 < mean_one[3:5, 3:5].mean()


# --- MNIST-1D ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist1d_data():
    return mnist1d.load_data()


@pytest.mark.slow
def test_mnist1d_reproduces_the_package_generator(mnist1d_data):
    from mnist1d.data import get_dataset_args, make_dataset

    reference = make_dataset(get_dataset_args())
    (x_train, y_train), (x_test, y_test) = mnist1d_data
    assert x_train.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32
    np.testing.assert_array_equal(x_train, reference["x"].astype(np.float32))
    np.testing.assert_array_equal(x_test, reference["x_test"].astype(np.float32))
    np.testing.assert_array_equal(y_train, reference["y"])
    np.testing.assert_array_equal(y_test, reference["y_test"])
    np.testing.assert_array_equal(np.unique(y_train), np.arange(10))


@pytest.mark.slow
def test_mnist1d_leaves_the_global_random_state_alone():
    np.random.seed(123)
    random.seed(123)
    expected = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    mnist1d.load_data()
    assert (np.random.rand(), random.random()) == expected


# --- playground --------------------------------------------------------------

ALL = playground.CLASSIFICATION + playground.REGRESSION


@pytest.mark.parametrize("name", ALL)
@pytest.mark.slow
def test_playground_shapes_dtypes_and_determinism(name):
    x, y = playground.make(name, 101, noise=0.2, key=KEY)
    assert x.shape == (101, 2) and y.shape == (101,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    again = playground.make(name, 101, noise=0.2, key=jax.random.key(0))
    other = playground.make(name, 101, noise=0.2, key=jax.random.key(1))
    np.testing.assert_array_equal(x, again[0])
    np.testing.assert_array_equal(y, again[1])
    assert not np.array_equal(x, other[0])
    assert playground.make(name, 5, key=jax.random.PRNGKey(0))[0].shape == (5, 2)


@pytest.mark.parametrize("name", ["gauss", "spiral"])
def test_playground_classes_are_balanced_and_shuffled(name):
    _, y = playground.make(name, 201, key=KEY)
    assert set(np.unique(y)) == {0.0, 1.0}
    assert y.sum() == 101  # n - n // 2 positives, as the Playground's first half
    assert 0 < y[:100].sum() < 100  # not in blocks


def test_circle_structure_without_noise():
    x, y = playground.make("circle", 400, key=KEY)
    radius = np.linalg.norm(x, axis=1)
    assert y.sum() == 200
    assert np.all(radius[y == 1] < 2.5)
    assert np.all((radius[y == 0] >= 3.5) & (radius[y == 0] <= 5.0))


def test_xor_structure_without_noise():
    x, y = playground.make("xor", 400, key=KEY)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(np.float32))
    assert np.all((np.abs(x) >= 0.3) & (np.abs(x) <= 5.3))
    assert 120 < y.sum() < 280  # the four quadrants are equally likely


def test_gauss_structure_and_noise_widens_it():
    for noise, variance in [(0.0, 0.5), (0.5, 4.0)]:
        x, y = playground.make("gauss", 4000, noise=noise, key=KEY)
        np.testing.assert_allclose(x[y == 1].mean(axis=0), [2, 2], atol=0.15)
        np.testing.assert_allclose(x[y == 0].mean(axis=0), [-2, -2], atol=0.15)
        np.testing.assert_allclose(x[y == 1].var(axis=0), variance, rtol=0.1)


def test_spiral_structure_and_noise_moves_points():
    x, y = playground.make("spiral", 400, key=KEY)
    radius = np.linalg.norm(x, axis=1)
    assert radius.max() < 5.0 + 1e-5
    # The two arms are the same curve turned by pi: mirroring one onto the other.
    arm_one = x[y == 1][np.argsort(radius[y == 1])]
    arm_zero = x[y == 0][np.argsort(radius[y == 0])]
    np.testing.assert_allclose(arm_one, -arm_zero, atol=1e-5)
    noisy, _ = playground.make("spiral", 400, noise=0.5, key=KEY)
    moved = np.abs(noisy - x)  # same key: the same curve positions, plus U(-1, 1) * 0.5 offsets
    assert moved.max() <= 0.5 + 1e-5 and moved.mean() > 0.2


def _label_disagreement(name, noise):
    x, y = playground.make(name, 2000, noise=noise, key=KEY)
    rule = {"circle": np.linalg.norm(x, axis=1) < 2.5, "xor": x[:, 0] * x[:, 1] >= 0}[name]
    return np.mean(y != rule)


@pytest.mark.parametrize("name", ["circle", "xor"])
def test_noise_flips_labels_near_the_boundary(name):
    assert _label_disagreement(name, 0.0) == 0
    assert 0 < _label_disagreement(name, 0.1) < _label_disagreement(name, 0.5) < 0.5


def test_plane_targets():
    x, y = playground.make("plane", 500, key=KEY)
    np.testing.assert_allclose(y, x.sum(axis=1) / 10, atol=1e-6)
    assert np.all(np.abs(x) <= 6)
    x, y = playground.make("plane", 500, noise=0.5, key=KEY)
    residual = np.abs(y - x.sum(axis=1) / 10)
    assert residual.max() <= 0.6 + 1e-5 and residual.mean() > 0.1


def test_multigauss_targets():
    x, y = playground.make("multigauss", 3000, key=KEY)
    assert np.all(np.abs(y) <= 1) and np.all(np.abs(x) <= 6)
    near = np.linalg.norm(x - [-4, 2.5], axis=1) < 0.5  # a positive bump: 1 - d / 2 > 0.75
    np.testing.assert_allclose(y[near], 1 - np.linalg.norm(x[near] - [-4, 2.5], axis=1) / 2, atol=1e-5)
    near = np.linalg.norm(x - [0, 2.5], axis=1) < 0.5  # a negative one
    assert near.any() and np.all(y[near] < -0.7)
    far = (
        np.min(
            np.linalg.norm(x[:, None] - [[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]], axis=2),
            axis=1,
        )
        > 2
    )
    np.testing.assert_array_equal(y[far], 0)
    noisy_x, noisy_y = playground.make("multigauss", 3000, noise=0.5, key=KEY)
    np.testing.assert_array_equal(noisy_x, x)  # noise moves where the target is read, not the point
    assert np.mean(noisy_y != y) > 0.3


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(name="moons", n=10), ValueError, "unknown playground dataset 'moons'; valid names: circle"),
        (dict(name="circle", n=10, noise=0.6), ValueError, r"noise must be a number in \[0.0, 0.5\]"),
        (dict(name="circle", n=10, noise=-0.1), ValueError, "noise"),
        (dict(name="circle", n=0), ValueError, "n must be an integer"),
        (dict(name="circle", n=2.5), TypeError, "n must be an integer"),
    ],
)
def test_playground_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        playground.make(key=KEY, **kwargs)
