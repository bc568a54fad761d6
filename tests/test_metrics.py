import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import metrics


def test_accuracy_picks_binary_categorical_or_sparse_from_shapes():
    probs = jnp.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    labels = jnp.array([1, 0, 1, 2])  # right, right, wrong, wrong
    assert metrics.accuracy(labels, probs) == pytest.approx(0.5)
    assert metrics.accuracy(jax.nn.one_hot(labels, 3), probs) == pytest.approx(0.5)
    assert metrics.accuracy(labels[:, None], probs) == pytest.approx(0.5)
    binary = jnp.array([[0.9], [0.4], [0.6], [0.1]])
    assert metrics.accuracy(jnp.array([1.0, 0.0, 0.0, 0.0]), binary) == pytest.approx(0.75)
    assert metrics.accuracy(jnp.array([[1.0], [0.0], [0.0], [0.0]]), binary) == pytest.approx(0.75)


def test_binary_accuracy_threshold_and_multiple_outputs():
    y = jnp.array([[1.0, 0.0], [1.0, 1.0]])
    p = jnp.array([[0.6, 0.6], [0.7, 0.2]])
    assert metrics.binary_accuracy(y, p) == pytest.approx(0.5)
    assert metrics.binary_accuracy(y, p, threshold=0.65) == pytest.approx(0.5)
    assert metrics.binary_accuracy(y, p, threshold=0.1) == pytest.approx(0.75)


def test_categorical_and_sparse_accuracy():
    p = jnp.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert metrics.categorical_accuracy(jnp.array([[0, 1], [0, 1], [0, 1]]), p) == pytest.approx(2 / 3)
    assert metrics.sparse_categorical_accuracy(jnp.array([1, 1, 1]), p) == pytest.approx(2 / 3)


def test_sample_weight_gives_exact_means_over_real_samples():
    p = jnp.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    labels = jnp.array([1, 1, 0])
    assert metrics.accuracy(labels, p, sample_weight=jnp.array([1.0, 1.0, 0.0])) == pytest.approx(0.5)
    assert metrics.mae(jnp.zeros((2, 1)), jnp.array([[1.0], [3.0]]), jnp.array([1.0, 0.0])) == pytest.approx(1.0)


def test_regression_metrics_are_the_losses():
    y, p = jnp.array([[1.0, 2.0]]), jnp.array([[2.0, 4.0]])
    assert metrics.get("mae")(y, p) == pytest.approx(1.5)
    assert metrics.get("mse")(y, p) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "name", ["accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "mae", "mse"]
)
@pytest.mark.slow
def test_jit_and_vmap(name):
    p = jax.nn.softmax(jax.random.normal(jax.random.key(0), (2, 5, 3)))
    labels = jax.random.randint(jax.random.key(1), (2, 5), 0, 3)
    if name == "binary_accuracy":
        y = (jax.random.uniform(jax.random.key(1), (2, 5, 3)) > 0.5).astype(jnp.float32)
    elif name in ("categorical_accuracy", "mae", "mse"):
        y = jax.nn.one_hot(labels, 3)
    else:
        y = labels
    metric = metrics.get(name)
    batched = jax.vmap(metric)(y, p)
    np.testing.assert_allclose(batched[1], metric(y[1], p[1]), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(metric)(y[0], p[0]), metric(y[0], p[0]), rtol=1e-6)


def test_bad_shapes_and_names():
    with pytest.raises(ValueError, match=r"one shape \(N, num_classes\).*\(3, 2\).*\(3, 4\)"):
        metrics.categorical_accuracy(jnp.ones((3, 2)), jnp.ones((3, 4)))
    with pytest.raises(ValueError, match=r"labels in \[0, 2\)"):
        metrics.sparse_categorical_accuracy(jnp.array([0, 5]), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="unknown metric 'acuracy'.*accuracy.*mse"):
        metrics.get("acuracy")
