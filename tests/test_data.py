"""fnnet.data: one-hot labels, scalers fitted on the training set only, splits, minibatches."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnnet import data

KEY = jax.random.key(0)


# --- to_categorical / from_categorical ---------------------------------------


def test_to_categorical_matches_keras_layout():
    out = data.to_categorical([0, 2, 1, 2], 4)
    assert out.dtype == np.float32 and out.shape == (4, 4)
    np.testing.assert_array_equal(out, np.eye(4, dtype=np.float32)[[0, 2, 1, 2]])


def test_to_categorical_infers_num_classes_and_drops_trailing_unit_axis():
    out = data.to_categorical(np.array([[1], [3]]))
    assert out.shape == (2, 4)
    np.testing.assert_array_equal(out.argmax(axis=1), [1, 3])


def test_to_categorical_keeps_leading_shape_and_accepts_whole_floats():
    out = data.to_categorical(np.array([[0.0, 1.0], [2.0, 1.0]]), 3, dtype="float64")
    assert out.shape == (2, 2, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(data.from_categorical(out), [[0, 1], [2, 1]])


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda k: st.tuples(st.just(k), st.lists(st.integers(0, k - 1), min_size=1, max_size=30))
    )
)
def test_one_hot_round_trip(case):
    num_classes, labels = case
    one_hot = data.to_categorical(labels, num_classes)
    assert one_hot.shape == (len(labels), num_classes)
    np.testing.assert_array_equal(one_hot.sum(axis=1), 1.0)
    back = data.from_categorical(one_hot)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, labels)


def test_from_categorical_takes_argmax_of_scores():
    np.testing.assert_array_equal(data.from_categorical([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]), [1, 0])


@pytest.mark.parametrize(
    "labels, num_classes, error, words",
    [
        ([0, -1, 2], 3, ValueError, ">= 0, got -1"),
        ([0, 1.5], 3, ValueError, "whole numbers"),
        ([0, 3], 3, ValueError, "< num_classes = 3, got 3"),
        ([0, np.nan], 3, ValueError, "NaN"),
        ([], 3, ValueError, "empty"),
        (["a", "b"], 3, TypeError, "numbers"),
        ([0, 1], 0, ValueError, "num_classes"),
        ([0, 1], 2.5, TypeError, "num_classes"),
    ],
)
def test_to_categorical_rejects_bad_labels(labels, num_classes, error, words):
    with pytest.raises(error, match=words):
        data.to_categorical(labels, num_classes)


def test_from_categorical_rejects_scalars_and_empty():
    with pytest.raises(ValueError, match="class axis"):
        data.from_categorical(1.0)
    with pytest.raises(ValueError, match="empty"):
        data.from_categorical(np.zeros((0, 3)))


# --- standardize / minmax_scale ----------------------------------------------


@pytest.fixture
def train_test():
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, size=(200, 5)).astype(np.float32)
    test = rng.normal(-1.0, 0.5, size=(50, 5)).astype(np.float32)
    return train, test


def test_standardize_uses_training_statistics_only(train_test):
    train, test = train_test
    train_s, test_s, scaler = data.standardize(train, test)
    np.testing.assert_allclose(train_s.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train_s.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(scaler.shift, train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(scaler.scale, train.std(axis=0), rtol=1e-5)
    np.testing.assert_allclose(test_s, (test - train.mean(0)) / train.std(0), rtol=1e-4, atol=1e-5)
    assert abs(test_s.mean()) > 1.0  # the test set's own statistics were not used


def test_scaler_is_a_callable_invertible_pytree(train_test):
    train, test = train_test
    _, test_s, scaler = data.standardize(train, test)
    assert len(jax.tree.leaves(scaler)) == 2
    np.testing.assert_allclose(scaler(test), test_s)
    np.testing.assert_allclose(jax.jit(lambda s, x: s(x))(scaler, test), test_s, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scaler.inverse(test_s), test, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scaler(test[0]), test_s[0])  # one sample without the batch axis


def test_scaler_rejects_samples_of_another_shape(train_test):
    train, _ = train_test
    *_, scaler = data.standardize(train)
    with pytest.raises(ValueError, match=r"shape \(5,\), got an array of shape \(3, 4\)"):
        scaler(np.zeros((3, 4)))


def test_standardize_keeps_constant_features_finite():
    train = np.array([[1.0, 0.1], [2.0, 0.1], [3.0, 0.1]])
    (train_s, scaler) = data.standardize(train)
    assert train_s.dtype == np.float64
    np.testing.assert_array_equal(scaler.scale[1], 1.0)
    np.testing.assert_allclose(train_s[:, 1], 0.0, atol=1e-12)


def test_standardize_turns_integer_images_into_float32():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    images_s, scaler = data.standardize(images)
    assert images_s.dtype == np.float32 and scaler.shift.shape == (3, 4)


def test_minmax_scale_maps_training_range_onto_feature_range(train_test):
    train, test = train_test
    train_s, test_s, scaler = data.minmax_scale(train, test)
    np.testing.assert_allclose(train_s.min(axis=0), -1.0, atol=1e-6)
    np.testing.assert_allclose(train_s.max(axis=0), 1.0, atol=1e-6)
    lo, hi = train.min(0), train.max(0)
    np.testing.assert_allclose(test_s, -1 + 2 * (test - lo) / (hi - lo), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse(train_s), train, rtol=1e-5, atol=1e-5)


def test_minmax_scale_custom_range_and_constant_feature():
    train = np.array([[0.0, 5.0], [10.0, 5.0]])
    (train_s, _) = data.minmax_scale(train, feature_range=(0, 1))
    np.testing.assert_allclose(train_s, [[0.0, 0.0], [1.0, 0.0]])


@pytest.mark.parametrize("scale", [data.standardize, data.minmax_scale])
def test_scalers_reject_bad_input(scale):
    with pytest.raises(ValueError, match="empty"):
        scale(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"others\[0\] has samples of shape \(4,\), expected \(3,\)"):
        scale(np.ones((5, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        scale(np.array([[1.0], [np.inf]]))
    with pytest.raises(ValueError, match="scalar"):
        scale(np.float32(1.0))


def test_minmax_scale_rejects_bad_feature_range():
    with pytest.raises(ValueError, match="low < high"):
        data.minmax_scale(np.ones((3, 1)), feature_range=(1, -1))
    with pytest.raises(ValueError, match="feature_range"):
        data.minmax_scale(np.ones((3, 1)), feature_range=(0, 1, 2))


# --- train_val_test_split ----------------------------------------------------


def _as_rows(parts):
    return np.concatenate([x for x, _ in parts])


def test_split_sizes_and_partition():
    x, y = np.arange(10).reshape(10, 1), np.arange(10) % 2
    parts = data.train_val_test_split(x, y, key=KEY)
    assert [len(px) for px, _ in parts] == [6, 2, 2]
    np.testing.assert_array_equal(np.sort(_as_rows(parts)[:, 0]), np.arange(10))
    for px, py in parts:  # x and y stay paired
        np.testing.assert_array_equal(px[:, 0] % 2, py)


@settings(max_examples=30, deadline=None)
@given(
    n=st.sampled_from([1, 2, 3, 7, 10, 59]),
    weights=st.lists(st.integers(0, 5), min_size=1, max_size=4).filter(any),
    seed=st.integers(0, 2**31 - 1),
)
def test_split_is_a_partition_for_any_fractions(n, weights, seed):
    fractions = [w / sum(weights) for w in weights]
    x = np.arange(n)
    parts = data.train_val_test_split(x, x, fractions, key=jax.random.key(seed))
    assert len(parts) == len(fractions)
    np.testing.assert_array_equal(np.sort(_as_rows(parts)), x)
    for (px, _), f in zip(parts, fractions):
        assert abs(len(px) - f * n) <= 1


def test_split_is_deterministic_under_a_key_and_accepts_old_keys():
    x = np.arange(50)
    first = data.train_val_test_split(x, x, key=jax.random.key(3))
    again = data.train_val_test_split(x, x, key=jax.random.key(3))
    other = data.train_val_test_split(x, x, key=jax.random.key(4))
    old = data.train_val_test_split(x, x, key=jax.random.PRNGKey(3))
    np.testing.assert_array_equal(_as_rows(first), _as_rows(again))
    assert not np.array_equal(_as_rows(first), _as_rows(other))
    np.testing.assert_array_equal(np.sort(_as_rows(old)), x)


@pytest.mark.parametrize("one_hot", [False, True])
def test_stratified_split_keeps_class_ratios(one_hot):
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    y = data.to_categorical(labels, 3) if one_hot else labels
    parts = data.train_val_test_split(np.arange(100), y, (0.5, 0.3, 0.2), key=KEY, stratify=True)
    for (px, py), fraction in zip(parts, (0.5, 0.3, 0.2)):
        np.testing.assert_array_equal(labels[px], data.from_categorical(py) if one_hot else py)
        np.testing.assert_array_equal(np.bincount(labels[px], minlength=3), np.round(fraction * np.array([50, 30, 20])))
    # Shuffled: the classes are interleaved, not in blocks.
    assert len(set(labels[parts[0][0][:10]])) > 1


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(fractions=(0.5, 0.2, 0.2)), "sum to 1"),
        (dict(fractions=(1.2, -0.2)), "fractions"),
        (dict(fractions=()), "sum to 1"),
    ],
)
def test_split_rejects_bad_fractions(kwargs, words):
    with pytest.raises(ValueError, match=words):
        data.train_val_test_split(np.arange(10), np.arange(10), key=KEY, **kwargs)


def test_split_rejects_bad_data():
    with pytest.raises(ValueError, match="x and y must have the same number of samples, got 10 and 9"):
        data.train_val_test_split(np.arange(10), np.arange(9), key=KEY)
    with pytest.raises(ValueError, match="x is empty"):
        data.train_val_test_split(np.zeros((0, 2)), np.zeros(0), key=KEY)
    with pytest.raises(ValueError, match="at least 2 samples of every class"):
        data.train_val_test_split(np.arange(4), np.array([0.1, 0.2, 0.2, 0.1]) + [0, 0, 0, 1], key=KEY, stratify=True)
    with pytest.raises(TypeError):
        data.train_val_test_split(np.arange(4), np.arange(4), key=None)


# --- batches -----------------------------------------------------------------


def test_batches_in_data_order_without_key():
    x, y = np.arange(10) * 10, np.arange(10)
    got = list(data.batches(x, y, batch_size=4))
    assert [len(bx) for bx, _ in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([by for _, by in got]), y)
    np.testing.assert_array_equal(got[1][0], [40, 50, 60, 70])


def test_batches_shuffle_with_key_is_deterministic_and_covers_every_sample():
    x = np.arange(20)
    first = np.concatenate([b for (b,) in data.batches(x, batch_size=6, key=KEY)])
    again = np.concatenate([b for (b,) in data.batches(x, batch_size=6, key=KEY)])
    other = np.concatenate([b for (b,) in data.batches(x, batch_size=6, key=jax.random.key(9))])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other) and not np.array_equal(first, x)
    np.testing.assert_array_equal(np.sort(first), x)


def test_batches_drop_remainder_and_clamp():
    x = np.arange(10)
    assert [len(b) for (b,) in data.batches(x, batch_size=4, drop_remainder=True)] == [4, 4]
    assert [len(b) for (b,) in data.batches(x, batch_size=64)] == [10]
    assert [len(b) for (b,) in data.batches(x, batch_size=64, drop_remainder=True)] == [10]


def test_batches_checks_arguments_when_called():
    with pytest.raises(
        ValueError, match=r"arrays\[0\] and arrays\[1\] must have the same number of samples, got 3 and 2"
    ):
        data.batches(np.arange(3), np.arange(2), batch_size=1)
    with pytest.raises(ValueError, match="batch_size"):
        data.batches(np.arange(3), batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        data.batches(np.arange(3), batch_size=1.5)
    with pytest.raises(TypeError, match="at least one array"):
        data.batches(batch_size=2)
    with pytest.raises(ValueError, match="empty"):
        data.batches(np.zeros(0), batch_size=2)
