import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fnnet import activations
from fnnet.testing import check_grads

NAMES = [
    "linear",
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "softmax",
    "selu",
    "gelu",
    "swish",
    "silu",
    "softplus",
    "softsign",
    "hard_sigmoid",
    "exponential",
    "relu6",
    "mish",
]
KINKS = {
    "step": (0,),
    "relu": (0,),
    "leaky_relu": (0,),
    "elu": (0,),
    "selu": (0,),
    "relu6": (0, 6),
    "hard_sigmoid": (-3, 3),
}


def away_from_kinks(name):
    """Float64 vectors; every entry is at least 1e-3 from the activation's kinks."""
    elements = st.floats(-6, 6, allow_nan=False, width=64)
    kinks = KINKS.get(name, ())
    if kinks:
        elements = elements.filter(lambda v: all(abs(v - kink) > 1e-3 for kink in kinks))
    return hnp.arrays(np.float64, st.integers(1, 6), elements=elements)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_grad_matches_finite_differences(name, data):
    x = data.draw(away_from_kinks(name))
    weights = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-2, 2, width=64)))
    fn = activations.get(name)
    check_grads(lambda x, w: jnp.sum(fn(x) * w), x, weights)


def test_textbook_values():
    x = jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(activations.linear(x), x)
    np.testing.assert_array_equal(activations.step(x), [0, 0, 1, 1, 1])
    np.testing.assert_allclose(activations.sigmoid(x), 1 / (1 + np.exp(-np.asarray(x))), rtol=1e-6)
    np.testing.assert_allclose(activations.tanh(x), np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(activations.relu(x), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(activations.leaky_relu(x), [-0.4, -0.1, 0, 0.5, 2], rtol=1e-6)
    np.testing.assert_allclose(activations.elu(x), [np.exp(-2) - 1, np.exp(-0.5) - 1, 0, 0.5, 2], rtol=1e-6)
    z = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(activations.softmax(z), np.exp(z) / np.exp(z).sum(), rtol=1e-6)


def test_issue_10_activations_by_their_formulas():
    x = np.array([-7.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 7.0])
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    softplus = np.log1p(np.exp(x))
    expected = {
        "selu": scale * np.where(x > 0, x, alpha * (np.exp(x) - 1)),
        "gelu": x * 0.5 * (1 + np.vectorize(math.erf)(x / np.sqrt(2))),
        "swish": x / (1 + np.exp(-x)),
        "silu": x / (1 + np.exp(-x)),
        "softplus": softplus,
        "softsign": x / (np.abs(x) + 1),
        "hard_sigmoid": [0, 0, 1 / 3, 5 / 12, 0.5, 7 / 12, 2 / 3, 1, 1],
        "exponential": np.exp(x),
        "relu6": [0, 0, 0, 0, 0, 0.5, 1, 3, 6],
        "mish": x * np.tanh(softplus),
    }
    for name, values in expected.items():
        np.testing.assert_allclose(activations.get(name)(jnp.asarray(x)), values, rtol=1e-6, atol=1e-7, err_msg=name)
    assert float(activations.selu(1.0)) == pytest.approx(scale)
    assert float(activations.gelu(1.0)) == pytest.approx(0.8413447460685429)  # 1 * Phi(1)
    assert float(activations.gelu(1.0, approximate=True)) == pytest.approx(0.8411919906082768)
    assert float(activations.mish(1.0)) == pytest.approx(0.8650983882673103)
    assert activations.get("silu") is activations.swish and activations.name_of(activations.silu) == "swish"


def test_step_is_the_perceptron_threshold_with_zero_gradient():
    assert activations.step(jnp.array(0.0)) == 1.0
    assert jax.grad(activations.step)(0.5) == 0.0


def test_softmax_is_finite_for_huge_logits():
    logits = jnp.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(np.asarray(logits)) / np.exp(np.asarray(logits)).sum(axis=-1, keepdims=True)
    assert not np.all(np.isfinite(naive))  # the naive formula overflows here
    p = activations.softmax(logits)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-6)


@given(hnp.arrays(np.float64, (3, 4), elements=st.floats(-30, 30, width=64)))
def test_softmax_agrees_with_naive_form_where_finite(logits):
    with jax.enable_x64(True):
        naive = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        np.testing.assert_allclose(activations.softmax(jnp.asarray(logits)), naive, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", NAMES)
def test_jit_and_vmap(name):
    fn = activations.get(name)
    x = jax.random.normal(jax.random.key(0), (5, 3))
    np.testing.assert_allclose(jax.jit(fn)(x), fn(x), rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(fn)(x), fn(x), rtol=1e-6)


def test_get_accepts_callables_and_none():
    assert activations.get(None) is activations.linear
    assert activations.get(jnp.sin) is jnp.sin


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'rellu'.*leaky_relu.*relu.*softmax"):
        activations.get("rellu")
    with pytest.raises(TypeError, match="activation must be a name or a callable"):
        activations.get(3)
