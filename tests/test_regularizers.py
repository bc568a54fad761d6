import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnnet as fn
from fnnet import layers, regularizers
from fnnet.testing import check_grads

nonzero = st.floats(-3, 3, allow_nan=False, width=64).filter(lambda v: abs(v) > 1e-3)  # l1 kinks at 0


@st.composite
def params_trees(draw):
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return {
        "dense": {
            "kernel": draw(hnp.arrays(np.float64, (n, m), elements=nonzero)),
            "bias": draw(hnp.arrays(np.float64, (m,), elements=nonzero)),
        },
        "dense_1": {"kernel": draw(hnp.arrays(np.float64, (m, 2), elements=nonzero))},
    }


REGULARIZERS = {
    "l1": regularizers.l1(0.3),
    "l2": regularizers.l2(0.7),
    "l1_l2": regularizers.l1_l2(0.2, 0.5),
    "l2_every_leaf": regularizers.l2(0.4, where=regularizers.every_leaf),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REGULARIZERS))
@given(params=params_trees())
def test_grad_matches_finite_differences(name, params):
    check_grads(REGULARIZERS[name], params)


def test_formulas_over_kernels_only_by_default():
    params = {"a": {"kernel": jnp.array([[1.0, -2.0]]), "bias": jnp.array([10.0])}, "b": {"kernel": jnp.array([3.0])}}
    assert regularizers.l1(0.1)(params) == pytest.approx(0.1 * 6)
    assert regularizers.l2(0.1)(params) == pytest.approx(0.1 * 14)
    assert regularizers.l1_l2(0.1, 0.01)(params) == pytest.approx(0.6 + 0.14)
    assert regularizers.l2(0.1, where=regularizers.every_leaf)(params) == pytest.approx(0.1 * 114)
    bias_grad = jax.grad(regularizers.l2(0.1))(params)["a"]["bias"]
    np.testing.assert_array_equal(bias_grad, [0.0])


def test_custom_leaf_selection_by_path():
    only_bias = regularizers.l1(1.0, where=lambda path: path[-1].key == "bias")
    params = {"d": {"kernel": jnp.ones((2, 2)), "bias": jnp.array([-2.0, 1.0])}}
    assert only_bias(params) == pytest.approx(3.0)


def test_a_bare_array_is_penalised_whole():
    assert regularizers.l2(0.5)(jnp.array([1.0, 2.0])) == pytest.approx(2.5)


def test_keras_default_rates():
    w = jnp.array([2.0])
    assert regularizers.l1()(w) == pytest.approx(0.02)
    assert regularizers.l2()(w) == pytest.approx(0.04)
    assert regularizers.l1_l2()(w) == 0.0


def test_total_sums_regularizers():
    w = {"kernel": jnp.array([1.0, -1.0])}
    assert regularizers.total(regularizers.l1(1.0), regularizers.l2(2.0))(w) == pytest.approx(6.0)
    assert regularizers.total()(w) == 0.0
    with pytest.raises(TypeError, match="callables"):
        regularizers.total(0.1)


@pytest.mark.slow
def test_objective_composes_loss_layer_penalties_and_extra_regularizers():
    model = fn.Sequential([layers.Dense(3, "tanh", kernel_regularizer=regularizers.l2(0.1)), layers.Dense(2)])
    params = model.init(jax.random.key(0), (4,))
    x, y = jax.random.normal(jax.random.key(1), (5, 4)), jax.random.normal(jax.random.key(2), (5, 2))
    extra = regularizers.l1(0.01)
    J = fn.objective(model, "mse", extra)
    expected = fn.losses.mse(y, model.apply(params, x)) + 0.1 * jnp.sum(params["dense"]["kernel"] ** 2) + extra(params)
    np.testing.assert_allclose(J(params, x, y), expected, rtol=1e-6)
    check_grads(J, params, x, y)


def test_objective_with_a_users_loss_and_sample_weight():
    model = fn.Sequential([layers.Dense(1)])
    params = model.init(jax.random.key(0), (2,))
    x, y = jnp.ones((3, 2)), jnp.zeros((3, 1))
    J = fn.objective(model, lambda y_true, y_pred: jnp.mean(jnp.abs(y_pred - y_true)))
    assert J(params, x, y) == pytest.approx(fn.losses.mae(y, model.apply(params, x)))
    J = fn.objective(model, "mse", weighted_loss="mean")
    assert J(params, x, y, sample_weight=jnp.array([1.0, 0.0, 0.0])) == pytest.approx(J(params, x[:1], y[:1]))
    J = fn.objective(model, "mse")  # Keras's sum_i w_i l_i / N: the zero-weight samples still count in N
    assert J(params, x, y, sample_weight=jnp.array([1.0, 0.0, 0.0])) == pytest.approx(J(params, x[:1], y[:1]) / 3)


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_jit_and_vmap_over_stacked_params(name):
    reg = REGULARIZERS[name]
    stacked = {"kernel": jnp.arange(12.0).reshape(3, 2, 2) - 6, "bias": jnp.ones((3, 2))}
    values = jax.vmap(reg)(stacked)
    np.testing.assert_allclose(values[1], reg({"kernel": stacked["kernel"][1], "bias": stacked["bias"][1]}), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(reg)(stacked), reg(stacked), rtol=1e-6)


def test_rate_swept_under_vmap():
    w = jnp.array([1.0, 2.0])
    values = jax.vmap(lambda rate: regularizers.l2(rate)(w))(jnp.array([0.0, 0.1, 1.0]))
    np.testing.assert_allclose(values, [0.0, 0.5, 5.0], rtol=1e-6)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_rates(bad):
    with pytest.raises(ValueError, match="l2 rate must be"):
        regularizers.l2(bad)


def test_non_numeric_rate():
    with pytest.raises(TypeError, match="l1 rate must be a number"):
        regularizers.l1("0.1")
