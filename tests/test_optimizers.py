import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fnnet as fn
from fnnet import optimizers

KERAS_LEARNING_RATES = {
    "sgd": 0.01,
    "adam": 0.001,
    "adamw": 0.001,
    "amsgrad": 0.001,
    "adagrad": 0.001,
    "adadelta": 0.001,
    "rmsprop": 0.001,
    "adamax": 0.001,
    "nadam": 0.001,
}
OPTAX = {
    "sgd": optax.sgd,
    "adam": optax.adam,
    "adamw": optax.adamw,
    "amsgrad": optax.amsgrad,
    "adagrad": optax.adagrad,
    "adadelta": optax.adadelta,
    "rmsprop": optax.rmsprop,
    "adamax": optax.adamax,
    "nadam": optax.nadam,
}


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
    with pytest.raises(ValueError, match="unknown optimizer 'adamx'.*adam.*sgd"):
        optimizers.get("adamx")
    with pytest.raises(ValueError, match="learning_rate must be a number in"):
        optimizers.get("sgd", learning_rate=-1.0)
    with pytest.raises(TypeError, match="optimizer must be a name"):
        optimizers.get(0.01)
    with pytest.raises(ValueError, match="steps_per_drop must be an integer in"):
        optimizers.step_decay(0.1, 0.5, 0)


# Keras 3 argument names -> optax's: each case sets every Keras argument of one optimizer away from its default
# (each has an exactly equal optax build; the module's table says which equal Keras 3's own updates)
KERAS_NAMED = [
    ("sgd", dict(learning_rate=0.1, momentum=0.9), optax.sgd(0.1, momentum=0.9)),
    ("sgd", dict(momentum=0.5, nesterov=True), optax.sgd(0.01, momentum=0.5, nesterov=True)),
    ("adam", dict(beta_1=0.8, beta_2=0.99, epsilon=1e-3), optax.adam(1e-3, b1=0.8, b2=0.99, eps=1e-3)),
    ("adam", dict(amsgrad=True, beta_1=0.8, epsilon=1e-3), optax.amsgrad(1e-3, b1=0.8, eps=1e-3)),
    ("adam", dict(amsgrad=False, beta_2=0.9), optax.adam(1e-3, b2=0.9)),
    (
        "adamw",
        dict(weight_decay=0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
        optax.adamw(1e-3, b1=0.8, b2=0.99, eps=1e-3, weight_decay=0.1),
    ),
    (
        "adamw",
        dict(amsgrad=True, weight_decay=0.1),
        optax.chain(optax.amsgrad(1e-3), optax.add_decayed_weights(-1e-3 * 0.1)),
    ),
    ("amsgrad", dict(beta_1=0.8, beta_2=0.99, epsilon=1e-3), optax.amsgrad(1e-3, b1=0.8, b2=0.99, eps=1e-3)),
    (
        "adagrad",
        dict(initial_accumulator_value=0.5, epsilon=1e-3),
        optax.adagrad(1e-3, initial_accumulator_value=0.5, eps=1e-3),
    ),
    ("adadelta", dict(learning_rate=1.0, rho=0.8, epsilon=1e-3), optax.adadelta(1.0, rho=0.8, eps=1e-3)),
    (
        "rmsprop",
        dict(rho=0.8, momentum=0.5, epsilon=1e-3, centered=True),
        optax.rmsprop(1e-3, decay=0.8, momentum=0.5, eps=1e-3, centered=True),
    ),
    ("adamax", dict(beta_1=0.8, beta_2=0.99, epsilon=1e-3), optax.adamax(1e-3, b1=0.8, b2=0.99, eps=1e-3)),
    ("nadam", dict(beta_1=0.8, beta_2=0.99, epsilon=1e-3), optax.nadam(1e-3, b1=0.8, b2=0.99, eps=1e-3)),
]
GRADIENTS = [{"w": g[:3], "b": g[3:]} for g in 3 * jax.random.normal(jax.random.key(0), (6, 5))]


def run_on(transformation, gradients=GRADIENTS):
    """The params after one update per gradient (random, float32), from fixed ones."""
    params = {"w": jnp.array([1.0, -2.0, 3.0]), "b": jnp.array([0.5, -0.25])}
    state = transformation.init(params)
    for grads in gradients:
        updates, state = transformation.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    return params


def assert_same(transformation, reference):
    got, want = run_on(transformation), run_on(reference)
    for leaf in got:
        np.testing.assert_allclose(got[leaf], want[leaf], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, keras, reference", KERAS_NAMED, ids=[f"{c[0]}-{'-'.join(c[1])}" for c in KERAS_NAMED])
def test_keras_argument_names_map_to_optax(name, keras, reference):
    assert_same(optimizers.get(name, **keras), reference)


@pytest.mark.parametrize("name", sorted(KERAS_LEARNING_RATES))
def test_keras_weight_decay_is_decoupled_for_every_optimizer(name):
    """Keras's ``w -= lr * weight_decay * w`` beside the update; for adam, that is optax.adamw."""
    lr = KERAS_LEARNING_RATES[name]
    decayed = optax.chain(OPTAX[name](lr), optax.add_decayed_weights(-lr * 0.1))
    assert_same(optimizers.get(name, weight_decay=0.1), decayed)
    if name in ("adam", "adamw"):
        assert_same(optimizers.get(name, weight_decay=0.1), optax.adamw(lr, weight_decay=0.1))


def keras_clipnorm(max_norm):  # Keras's _clip_by_norm: g * c / max(||g||, c), each gradient array alone
    return optax.stateless(
        lambda updates, params=None: {
            k: g * max_norm / max(float(np.linalg.norm(g)), max_norm) for k, g in updates.items()
        }
    )


@pytest.mark.parametrize("name", sorted(KERAS_LEARNING_RATES))
@pytest.mark.parametrize(
    "clip, reference, limit",
    [
        ("clipnorm", keras_clipnorm, 4.0),
        ("clipvalue", optax.clip, 2.0),
        ("global_clipnorm", optax.clip_by_global_norm, 6.0),
    ],
)
def test_keras_gradient_clipping(name, clip, reference, limit):  # each limit clips some GRADIENTS and not others
    clipped = optax.chain(reference(limit), OPTAX[name](KERAS_LEARNING_RATES[name]))
    assert_same(optimizers.get(name, **{clip: limit}), clipped)


def test_keras_rmsprop_and_sgd_updates_by_keras_3_formulas():
    """Keras 3's update rules, written out: RMSprop's epsilon inside the sqrt; SGD's decoupled decay and clipnorm."""
    lr, rho, eps, mu, wd = 0.01, 0.8, 1e-3, 0.5, 0.1
    w, velocity, mean, momentum = np.array([1.0, -2.0, 3.0]), np.zeros(3), np.zeros(3), np.zeros(3)
    for grads in GRADIENTS:
        g = np.asarray(grads["w"], np.float64)
        velocity = rho * velocity + (1 - rho) * g**2
        mean = rho * mean + (1 - rho) * g
        momentum = mu * momentum + lr * g / np.sqrt(velocity - mean**2 + eps)
        w = w - momentum
    got = run_on(optimizers.get("rmsprop", learning_rate=lr, rho=rho, epsilon=eps, momentum=mu, centered=True))
    np.testing.assert_allclose(got["w"], w, rtol=1e-5)

    w, m = np.array([1.0, -2.0, 3.0]), np.zeros(3)
    for grads in GRADIENTS:
        g = np.asarray(grads["w"], np.float64)
        g = g * 1.5 / max(np.linalg.norm(g), 1.5)
        w = w - w * wd * lr
        m = mu * m - lr * g
        w = w + m
    got = run_on(optimizers.get("sgd", learning_rate=lr, momentum=mu, weight_decay=wd, clipnorm=1.5))
    np.testing.assert_allclose(got["w"], w, rtol=1e-5)


def test_keras_and_optax_names_give_the_same_optimizer():
    assert optimizers.get("rmsprop", rho=0.8, epsilon=1e-7) is optimizers.get("rmsprop", eps=1e-7, rho=0.8)
    assert optimizers.get("adam", beta_1=0.8) is optimizers.get("adam", b1=0.8)
    assert optimizers.get("adam", amsgrad=True) is optimizers.get("amsgrad")
    assert optimizers.get("sgd", weight_decay=None, clipnorm=None) is optimizers.get("sgd")
    assert_same(optimizers.get("rmsprop", rho=0.8), optax.rmsprop(1e-3, decay=0.8))
    state = optimizers.get("rmsprop", rho=0.8).init({"w": jnp.zeros(2)})
    assert float(state.hyperparams["decay"]) == pytest.approx(0.8)  # the state holds optax's names


def test_keras_extras_live_in_the_state_and_follow_the_learning_rate():
    """Callbacks set the rate in the state (ReduceLROnPlateau); the decoupled decay uses the new rate."""
    opt = optimizers.get("sgd", learning_rate=0.1, weight_decay=0.5, clipvalue=1.0)
    params = {"w": jnp.array([2.0])}
    state = opt.init(params)
    assert optimizers.hyperparameter_names(state) == ["clipvalue", "learning_rate", "weight_decay"]
    state = optimizers.set_hyperparameters(state, learning_rate=0.01, weight_decay=0.25)
    updates, _ = opt.update({"w": jnp.array([3.0])}, state, params)  # clipped to 1
    np.testing.assert_allclose(updates["w"], [-0.01 * 1.0 - 0.01 * 0.25 * 2.0], rtol=1e-6)


def test_train_state_with_hyperparameters_sets_the_rate_the_next_step_uses():
    model = fn.layers.Dense(1, use_bias=False)
    params = {"kernel": jnp.ones((1, 1))}
    state = fn.training.init_state(params, optimizers.get("sgd", learning_rate=0.1), jax.random.key(0))
    new = state.with_hyperparameters(learning_rate=0.5)
    assert isinstance(new, fn.TrainState)
    assert new.params is state.params and new.step is state.step and new.key is state.key
    assert float(optax.tree_utils.tree_get(new.opt_state, "learning_rate")) == 0.5
    assert float(optax.tree_utils.tree_get(state.opt_state, "learning_rate")) == pytest.approx(0.1)  # unchanged
    step = jax.jit(fn.train_step(model, "mse", optimizers.get("sgd", learning_rate=0.1)))
    x, y = jnp.ones((1, 1)), jnp.zeros((1, 1))  # loss (w - 0)^2: gradient 2 at w = 1
    after, _ = step(new, x, y)
    np.testing.assert_allclose(after.params["kernel"], [[1.0 - 0.5 * 2.0]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"holds no hyperparameter 'momentun'; it holds \['learning_rate'\]"):
        state.with_hyperparameters(momentun=0.9)


@pytest.mark.parametrize("name", ["rmsprop", "sgd", "adam"])
def test_keras_2_decay_is_refused_with_the_schedule_that_replaces_it(name):
    with pytest.raises(
        ValueError,
        match=r"Keras 2's decay= \(learning-rate decay\) is not an optimizer argument "
        r"in Keras 3, got decay=0\.5",
    ) as error:
        optimizers.get(name, learning_rate=0.1, decay=0.5)
    assert ("is Keras's rho=" in str(error.value)) == (name == "rmsprop")
    suggested = re.search(r"fn\.optimizers\.get\(.*\)\)", str(error.value)).group()
    opt = eval(suggested, {"fn": fn})
    state = opt.init({"w": jnp.zeros(())})
    rates = []
    for _ in range(4):  # the state holds the rate the last update used
        _, state = opt.update({"w": jnp.ones(())}, state, {"w": jnp.zeros(())})
        rates.append(float(state.hyperparams["learning_rate"]))
    np.testing.assert_allclose(rates, [0.1 / (1 + 0.5 * t) for t in range(4)], rtol=1e-6)  # Keras 2's rate


def test_unknown_arguments_name_the_accepted_ones_and_the_closest():
    with pytest.raises(
        TypeError,
        match=r"adam got an unexpected argument 'beta1' \(did you mean 'beta_1'\?\); "
        r"adam takes Keras's learning_rate, beta_1, .* or optax's b1, b2, eps",
    ):
        optimizers.get("adam", beta1=0.9)
    with pytest.raises(TypeError, match=r"'lr' \(did you mean 'learning_rate'\?\)"):
        optimizers.get("sgd", lr=0.1)
    with pytest.raises(TypeError, match=r"Keras's use_ema= has no equivalent"):
        optimizers.get("sgd", use_ema=True)
    with pytest.raises(TypeError, match=r"adam got both beta_1= and b1="):
        optimizers.get("adam", b1=0.9, beta_1=0.8)
    with pytest.raises(
        TypeError,
        match=r"adam with amsgrad=True \(optax.amsgrad\) got an unexpected argument "
        r"'nesterov'",
    ):
        optimizers.get("adam", amsgrad=True, nesterov=True)
    with pytest.raises(TypeError, match="amsgrad must be True or False, got 1"):
        optimizers.get("adam", amsgrad=1)
    with pytest.raises(
        ValueError, match="only one of clipnorm, clipvalue and global_clipnorm.*got clipnorm=1.0, clipvalue=2.0"
    ):
        optimizers.get("sgd", clipnorm=1.0, clipvalue=2.0)
