import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fnnet import layers, testing


@jax.custom_jvp
def wrong_square(x):
    return x**2


@wrong_square.defjvp
def _wrong_square_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return x**2, 3 * x * t  # the true derivative is 2x


@pytest.mark.slow
def test_check_grads_names_leaf_index_and_both_values_of_a_wrong_gradient():
    params = {"good": jnp.array([1.0, 2.0]), "bad": {"w": jnp.array([[0.0, 0.0], [0.0, 2.0]])}}

    def f(p):
        return jnp.sum(p["good"] ** 2) + jnp.sum(wrong_square(p["bad"]["w"]))

    with pytest.raises(
        AssertionError,
        match=r"leaf \['bad'\]\['w'\] index \(1, 1\): jax.grad gives 6, central finite differences give 4 ",
    ):
        testing.check_grads(f, params)


def test_check_grads_passes_and_returns_float64_gradients():
    params = {"w": jnp.array([0.3, -1.2], jnp.float32)}
    analytic, numeric = testing.check_grads(lambda p, x: jnp.sum(jnp.sin(p["w"] * x)), params, jnp.array([2.0, 3.0]))
    assert analytic["w"].dtype == jnp.float64
    np.testing.assert_allclose(analytic["w"], numeric["w"], rtol=1e-8)
    np.testing.assert_allclose(
        analytic["w"],
        [2 * np.cos(2 * np.float64(np.float32(0.3))), 3 * np.cos(3 * np.float64(np.float32(-1.2)))],
        rtol=1e-12,
    )


def test_check_grads_needs_a_scalar():
    with pytest.raises(ValueError, match="scalar"):
        testing.check_grads(lambda p: p * 2, jnp.ones(3))


@pytest.mark.slow
def test_numerical_grad_in_chunks_matches_in_one_go():
    with jax.enable_x64(True):
        x = jnp.linspace(-1.0, 1.0, 7, dtype=jnp.float64)
        f = lambda v: jnp.sum(jnp.tanh(v) * jnp.arange(7))  # noqa: E731
        np.testing.assert_allclose(testing.numerical_grad(f, x, chunk=3), testing.numerical_grad(f, x), rtol=1e-12)
        np.testing.assert_allclose(testing.numerical_grad(f, x), jax.grad(f)(x), rtol=1e-8)


@pytest.mark.slow
@given(data=st.data())
def test_strategies_build_models_that_run_on_their_batches(data):
    model, input_shape = data.draw(testing.mlps(min_depth=2, max_depth=3, max_width=5))
    x = data.draw(testing.batches(input_shape, min_size=2, max_size=3))
    dense = [layer for _, layer in model.layers]
    assert 2 <= len(dense) <= 3 and all(layer.kind == "Dense" for layer in dense)
    assert x.dtype == np.float64 and x.shape[1:] == input_shape and 2 <= len(x) <= 3
    assert np.all(np.abs(x) <= 3)
    y = model.apply(model.init(jax.random.key(0), input_shape), x)
    assert y.shape == (len(x), *model.output_shape(input_shape))
    assert isinstance(model, layers.Layer)
