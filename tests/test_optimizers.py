import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from fnnet import optimizers

KERAS_LEARNING_RATES = {"sgd": 0.01, "adam": 0.001, "amsgrad": 0.001, "adagrad": 0.001,
                        "adadelta": 0.001, "rmsprop": 0.001, "adamax": 0.001, "nadam": 0.001}
OPTAX = {"sgd": optax.sgd, "adam": optax.adam, "amsgrad": optax.amsgrad, "adagrad": optax.adagrad,
         "adadelta": optax.adadelta, "rmsprop": optax.rmsprop, "adamax": optax.adamax, "nadam": optax.nadam}


def run(transformation, steps=3):
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    state = transformation.init(params)
    for _ in range(steps):
        grads = jax.grad(lambda p: jnp.sum(p["w"] ** 2) + jnp.sum(jnp.sin(p["w"])))(params)
        updates, state = transformation.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    return params, state


@pytest.mark.parametrize("name", sorted(KERAS_LEARNING_RATES))
def test_named_optimizer_is_optax_with_keras_learning_rate(name):
    params, state = run(optimizers.get(name))
    assert state.hyperparams["learning_rate"] == pytest.approx(KERAS_LEARNING_RATES[name])
    reference, _ = run(OPTAX[name](KERAS_LEARNING_RATES[name]))
    np.testing.assert_allclose(params["w"], reference["w"], rtol=1e-6)


def test_hyperparameters_are_passed_to_optax():
    params, _ = run(optimizers.get("sgd", learning_rate=0.1, momentum=0.9, nesterov=True))
    reference, _ = run(optax.sgd(0.1, momentum=0.9, nesterov=True))
    np.testing.assert_allclose(params["w"], reference["w"], rtol=1e-6)


def test_learning_rate_can_change_in_the_state_without_recompiling():
    opt = optimizers.get("sgd", learning_rate=0.1)
    params = {"w": jnp.ones(2)}
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = opt.update({"w": jnp.ones(2)}, state, params)
        return optax.apply_updates(params, updates), state

    state = opt.init(params)
    params, state = step(params, state)
    state.hyperparams["learning_rate"] = jnp.asarray(0.5, jnp.float32)  # same dtype: no retrace
    params, state = step(params, state)
    np.testing.assert_allclose(params["w"], [1 - 0.1 - 0.5] * 2, rtol=1e-6)
    assert len(traces) == 1


def test_transformations_pass_through():
    adam = optax.adam(1e-2)
    assert optimizers.get(adam) is adam
    with pytest.raises(ValueError, match="already configured"):
        optimizers.get(adam, learning_rate=0.1)


def test_schedules():
    step = optimizers.step_decay(0.1, drop=0.5, steps_per_drop=10)
    np.testing.assert_allclose([step(0), step(9), step(10), step(25)], [0.1, 0.1, 0.05, 0.025], rtol=1e-6)
    exp = optimizers.exponential_decay(0.1, decay_steps=10, decay_rate=0.5)
    np.testing.assert_allclose([exp(0), exp(5), exp(20)], [0.1, 0.1 * 0.5**0.5, 0.025], rtol=1e-6)
    stair = optimizers.exponential_decay(0.1, 10, 0.5, staircase=True)
    np.testing.assert_allclose([stair(5), stair(10)], [0.1, 0.05], rtol=1e-6)
    inv = optimizers.inverse_time_decay(0.1, decay_steps=10, decay_rate=1.0)
    np.testing.assert_allclose([inv(0), inv(10), inv(30)], [0.1, 0.05, 0.025], rtol=1e-6)
    inv_stair = optimizers.inverse_time_decay(0.1, 10, 1.0, staircase=True)
    np.testing.assert_allclose([inv_stair(5), inv_stair(15)], [0.1, 0.05], rtol=1e-6)
    np.testing.assert_allclose(jax.jit(inv)(jnp.asarray(10)), 0.05, rtol=1e-6)


def test_schedule_drives_a_named_optimizer():
    opt = optimizers.get("sgd", learning_rate=optimizers.step_decay(1.0, 0.5, 1))
    params, state = {"w": jnp.zeros(())}, None
    state = opt.init(params)
    lrs = []
    for _ in range(3):
        updates, state = opt.update({"w": jnp.ones(())}, state, params)
        lrs.append(float(-updates["w"]))
    np.testing.assert_allclose(lrs, [1.0, 0.5, 0.25], rtol=1e-6)


def test_bad_names_and_hyperparameters():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'.*adam.*sgd"):
        optimizers.get("adamw")
    with pytest.raises(ValueError, match="adam has no hyperparameter beta_1; valid ones: learning_rate, b1, b2"):
        optimizers.get("adam", beta_1=0.9)
    with pytest.raises(ValueError, match="learning_rate must be a number in"):
        optimizers.get("sgd", learning_rate=-1.0)
    with pytest.raises(TypeError, match="optimizer must be a name"):
        optimizers.get(0.01)
    with pytest.raises(ValueError, match="steps_per_drop must be an integer in"):
        optimizers.step_decay(0.1, 0.5, 0)
