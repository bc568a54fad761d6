import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnnet import initializers

FAN_IN, FAN_OUT = 400, 600
SHAPE = (FAN_IN, FAN_OUT)
TRUNCATION = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]

# name -> (variance, uniform bound or None)
EXPECTED = {
    "uniform": (0.1**2 / 12, 0.05),
    "normal": (0.05**2, None),
    "lecun_uniform": (1 / FAN_IN, math.sqrt(3 / FAN_IN)),
    "lecun_normal": (1 / FAN_IN, None),
    "glorot_uniform": (2 / (FAN_IN + FAN_OUT), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "glorot_normal": (2 / (FAN_IN + FAN_OUT), None),
    "he_uniform": (2 / FAN_IN, math.sqrt(6 / FAN_IN)),
    "he_normal": (2 / FAN_IN, None),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_statistics_match_the_formulas(name):
    variance, bound = EXPECTED[name]
    w = initializers.get(name)(jax.random.key(0), SHAPE)
    assert w.dtype == jnp.float32 and w.shape == SHAPE
    w = np.asarray(w, np.float64)
    assert abs(w.mean()) < 4 * math.sqrt(variance / w.size)
    assert w.var() == pytest.approx(variance, rel=0.02)
    if bound is not None:  # uniform: inside the limit, and reaching close to it
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound
    elif name != "normal":  # truncated normals stop at two std of the untruncated normal
        assert np.abs(w).max() <= 2 * math.sqrt(variance) / TRUNCATION + 1e-6


def test_constant_initializers_and_default_dtype():
    assert initializers.zeros(jax.random.key(0), (2, 3)).dtype == jnp.float32
    np.testing.assert_array_equal(initializers.zeros(jax.random.key(0), (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.ones(jax.random.key(0), (4,)), np.ones(4))
    assert initializers.glorot_uniform(jax.random.key(0), (3, 2), jnp.bfloat16).dtype == jnp.bfloat16


def test_custom_bounds():
    w = initializers.random_uniform(2.0, 3.0)(jax.random.key(1), (1000,))
    assert 2.0 <= float(w.min()) and float(w.max()) < 3.0
    w = initializers.random_normal(5.0, 0.0)(jax.random.key(1), (10,))
    np.testing.assert_allclose(w, 5.0)
    with pytest.raises(ValueError, match="minval < maxval"):
        initializers.random_uniform(1.0, 1.0)
    with pytest.raises(ValueError, match="stddev >= 0"):
        initializers.random_normal(0.0, -1.0)


@pytest.mark.parametrize("name", sorted(EXPECTED) + ["zeros", "ones"])
@pytest.mark.slow
def test_deterministic_jit_and_vmap(name):
    init = initializers.get(name)
    key = jax.random.key(3)
    np.testing.assert_array_equal(init(key, (5, 4)), init(key, (5, 4)))
    np.testing.assert_allclose(jax.jit(init, static_argnums=1)(key, (5, 4)), init(key, (5, 4)), rtol=1e-6)
    keys = jax.random.split(key, 3)
    stacked = jax.vmap(lambda k: init(k, (5, 4)))(keys)
    assert stacked.shape == (3, 5, 4)
    np.testing.assert_allclose(stacked[1], init(keys[1], (5, 4)), rtol=1e-6)


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown initializer 'xavier'.*glorot_uniform.*he_normal"):
        initializers.get("xavier")
    assert initializers.get("random_uniform") is initializers.uniform
