"""The losses of issue 10 against NumPy transcriptions of Keras 3's formulas, epsilons included."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fnnet as fn
from fnnet import losses

EPS = 1e-7  # keras.backend.epsilon()

Y = np.array([[0.0, 1.0, 2.0], [1.5, -0.5, 0.0], [3.0, 0.2, -1.0]])
P = np.array([[0.1, 1.3, -0.5], [1.0, 0.5, 0.3], [0.4, 0.2, 2.5]])


def keras_huber(y, p, delta=1.0):
    e = np.abs(p - y)
    return np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), axis=-1)


def keras_log_cosh(y, p):
    return np.mean(np.log(np.cosh(p - y)), axis=-1)


def keras_mape(y, p):
    return 100 * np.mean(np.abs((y - p) / np.maximum(np.abs(y), EPS)), axis=-1)


def keras_msle(y, p):
    return np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2, axis=-1)


def keras_cosine(y, p):
    def normalize(x):
        return x * np.minimum(1 / np.sqrt(np.sum(x**2, axis=-1, keepdims=True)), 1 / EPS)

    with np.errstate(divide="ignore"):
        return -np.sum(normalize(y) * normalize(p), axis=-1)


def keras_kld(y, p):
    y, p = np.clip(y, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(y * np.log(y / p), axis=-1)


def keras_poisson(y, p):
    return np.mean(p - y * np.log(p + EPS), axis=-1)


def keras_squared_hinge(y, p):
    y = 2 * y - 1 if np.all((y == 0) | (y == 1)) else y
    return np.mean(np.maximum(1 - y * p, 0) ** 2, axis=-1)


def keras_categorical_hinge(y, p):
    pos, neg = np.sum(y * p, axis=-1), np.max((1 - y) * p, axis=-1)
    return np.maximum(neg - pos + 1, 0)


def check(loss, reference, y, p, weights=None):
    with jax.enable_x64(True):
        y64, p64 = jnp.asarray(y, jnp.float64), jnp.asarray(p, jnp.float64)
        expected = np.average(reference(np.asarray(y, np.float64), np.asarray(p, np.float64)), weights=weights)
        np.testing.assert_allclose(
            loss(y64, p64, sample_weight=None if weights is None else jnp.asarray(weights)),
            expected,
            rtol=1e-12,
            atol=1e-12,
        )
    np.testing.assert_allclose(
        loss(jnp.asarray(y, jnp.float32), jnp.asarray(p, jnp.float32)), np.mean(reference(y, p)), rtol=2e-5, atol=1e-6
    )


def test_huber_log_cosh_mape_msle_cosine_match_keras():
    check(losses.huber, keras_huber, Y, P)
    check(losses.Huber(delta=0.5), lambda y, p: keras_huber(y, p, 0.5), Y, P)
    check(losses.log_cosh, keras_log_cosh, Y, P)
    check(losses.mape, keras_mape, Y, P)  # y = 0 divides by 1e-7, as in Keras
    check(losses.msle, keras_msle, np.abs(Y), P)  # a negative prediction counts as 1e-7


def test_cosine_similarity_matches_keras():
    check(losses.cosine_similarity, keras_cosine, Y, P)
    check(
        losses.cosine_similarity,
        keras_cosine,
        np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]]),
        np.array([[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]),
    )  # Keras's doc example: [0, -1, 1]
    check(losses.cosine_similarity, keras_cosine, Y, np.zeros_like(P))  # zero vectors give 0


def test_kl_divergence_poisson_and_hinges_match_keras():
    y_dist = np.array([[0.0, 0.3, 0.7], [0.5, 0.5, 0.0]])
    p_dist = np.array([[0.2, 0.2, 0.6], [0.0, 0.9, 0.1]])  # a 0 probability is clipped to 1e-7
    check(losses.kl_divergence, keras_kld, y_dist, p_dist)
    check(
        losses.poisson,
        keras_poisson,
        np.array([[0.0, 2.0, 5.0], [1.0, 1.0, 0.0]]),
        np.array([[0.5, 1.5, 4.0], [1e-3, 2.0, 0.0]]),
    )
    signs = np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0], [1.0, 1.0, -1.0]])
    check(losses.squared_hinge, keras_squared_hinge, signs, P)
    check(losses.squared_hinge, keras_squared_hinge, (signs + 1) / 2, P)  # {0, 1} read as {-1, 1}
    one_hot = np.eye(3)[[1, 0, 2]]
    check(losses.categorical_hinge, keras_categorical_hinge, one_hot, P)


def test_hand_computed_values():
    assert losses.huber(jnp.array([[0.0, 0.0]]), jnp.array([[0.5, 3.0]])) == pytest.approx((0.125 + 2.5) / 2)
    assert losses.huber(jnp.array([[0.0, 1.0], [0.0, 0.0]]), jnp.array([[0.6, 0.4], [0.4, 0.6]])) == pytest.approx(
        0.155
    )  # Keras's doc example
    assert losses.log_cosh(jnp.array([[0.0, 1.0], [0.0, 0.0]]), jnp.array([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx(
        0.108, abs=1e-3
    )  # Keras's doc example
    assert losses.mape(jnp.array([[2.0, 4.0]]), jnp.array([[1.0, 5.0]])) == pytest.approx(37.5)
    assert losses.categorical_hinge(jnp.array([[0.0, 1.0, 0.0]]), jnp.array([[0.3, 0.8, 0.5]])) == pytest.approx(0.7)
    assert losses.squared_hinge(jnp.array([[1.0, 0.0]]), jnp.array([[0.5, 0.5]])) == pytest.approx((0.25 + 2.25) / 2)
    assert losses.cosine_similarity(jnp.array([[1.0, 0.0]]), jnp.array([[2.0, 0.0]])) == pytest.approx(-1.0)


def test_sample_weights_and_large_errors():
    weights = np.array([2.0, 0.0, 1.0])
    for loss, reference in [
        (losses.huber, keras_huber),
        (losses.log_cosh, keras_log_cosh),
        (losses.cosine_similarity, keras_cosine),
        (losses.categorical_hinge, keras_categorical_hinge),
    ]:
        y = np.eye(3)[[1, 0, 2]] if loss is losses.categorical_hinge else Y
        check(loss, reference, y, P, weights)
    big = losses.log_cosh(jnp.zeros((1, 1)), jnp.full((1, 1), 1e4))  # cosh overflows, log_cosh does not
    assert np.isfinite(big) and big == pytest.approx(1e4 - np.log(2), rel=1e-6)


def test_registry_names_and_aliases():
    for name, loss in [
        ("huber", losses.huber),
        ("log_cosh", losses.log_cosh),
        ("kld", losses.kl_divergence),
        ("kl_divergence", losses.kl_divergence),
        ("poisson", losses.poisson),
        ("squared_hinge", losses.squared_hinge),
        ("categorical_hinge", losses.categorical_hinge),
        ("cosine_similarity", losses.cosine_similarity),
        ("mape", losses.mape),
        ("mean_absolute_percentage_error", losses.mape),
        ("msle", losses.msle),
        ("mean_squared_logarithmic_error", losses.msle),
    ]:
        assert losses.get(name) is loss and fn.metrics.get(name) == fn.metrics.LossMetric(loss)


def test_configured_losses_are_values():
    assert losses.Huber(2.0) == losses.Huber(delta=2) and hash(losses.Huber(2.0)) == hash(losses.Huber(2))
    assert losses.Huber(2.0) != losses.Huber(1.0)
    assert losses.Huber(2.0).__name__ == "huber"
    assert losses.Huber()(jnp.zeros((1, 1)), jnp.ones((1, 1))) == losses.huber(jnp.zeros((1, 1)), jnp.ones((1, 1)))
    with pytest.raises(ValueError, match="delta must be"):
        losses.Huber(-1.0)
    objective = fn.objective(fn.Sequential([fn.layers.Dense(1)]), losses.Huber(0.5))
    assert objective == fn.objective(fn.Sequential([fn.layers.Dense(1)]), losses.Huber(0.5))


@pytest.mark.parametrize(
    "name, y_true, message",
    [
        ("squared_hinge", [[0.5], [1.0]], r"squared_hinge expects labels in \{-1, 1\} or \{0, 1\}"),
        ("categorical_hinge", [[1.0, 1.0], [0.0, 1.0]], "categorical_hinge expects one-hot"),
        ("categorical_hinge", [[0.5, 0.5], [0.0, 1.0]], "categorical_hinge expects one-hot"),
        ("kl_divergence", [[-0.5, 1.5], [0.0, 1.0]], r"kl_divergence expects .*\[0, 1\].*from -0.5 to 1.5"),
        ("poisson", [[-1.0], [2.0]], "poisson expects non-negative targets, got values down to -1"),
        ("mean_squared_logarithmic_error", [[-1.0], [2.0]], "non-negative"),
    ],
)
def test_label_checks(name, y_true, message):
    with pytest.raises(ValueError, match=message):
        losses.check_labels(losses.get(name), np.asarray(y_true), (np.shape(y_true)[1],))


def test_label_checks_accept_valid_labels_and_see_through_options():
    losses.check_labels(losses.categorical_hinge, np.eye(3)[[0, 2]], (3,))
    losses.check_labels(losses.squared_hinge, np.array([[-1.0], [1.0]]), (1,))
    losses.check_labels(losses.poisson, np.array([[0.0], [3.0]]), (1,))
    with pytest.raises(ValueError, match="poisson"):
        losses.check_labels(losses.configure(losses.poisson), np.array([[-1.0]]), (1,))


def test_fit_checks_labels_before_training():
    model = fn.Sequential([fn.layers.Dense(2, activation="softmax")])
    trainer = fn.compile(model, "categorical_hinge", "sgd")
    params = model.init(jax.random.key(0), (3,))
    with pytest.raises(ValueError, match="one-hot"):
        trainer.fit(
            params,
            np.ones((4, 3), np.float32),
            np.full((4, 2), 0.5, np.float32),
            epochs=1,
            key=jax.random.key(0),
            verbose=0,
        )
