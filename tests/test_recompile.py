"""Changing a number never recompiles (issue 20): optimizers by name that differ only in the numbers held in
their state (learning rate, momentum, betas, weight decay, clipping values) compare equal and share compiled
programs, while each run still trains with its own numbers."""

import copy

import jax
import numpy as np
import optax
import pytest

import fnnet as fn
from fnnet import named_optimizer

MODEL = fn.Sequential([fn.layers.Dense(8, activation="relu"), fn.layers.Dense(1)])
RATES = (0.001, 0.01, 0.1)


def regression(n=64):
    x = np.random.default_rng(0).normal(size=(n, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)


def train(optimizer, epochs=2):
    x, y = regression()
    trainer = fn.compile(MODEL, "mse", optimizer)
    state, history = trainer.fit(
        MODEL.init(jax.random.key(0), (3,)), x, y, epochs=epochs, batch_size=16, key=jax.random.key(1), verbose=0
    )
    return state, history


def test_a_loop_over_learning_rates_traces_the_epoch_once_and_trains_with_each_rate():
    runs = {}
    for index, rate in enumerate(RATES):
        runs[rate] = train(fn.optimizers.get("adam", learning_rate=rate))[0]
        if index == 0:
            traces = dict(fn.training.TRACES)
    assert dict(fn.training.TRACES) == traces  # one program for the three rates
    for rate, state in runs.items():
        assert float(state.opt_state.hyperparams["learning_rate"]) == np.float32(rate)
    assert not np.array_equal(runs[RATES[0]].params["dense"]["kernel"], runs[RATES[2]].params["dense"]["kernel"])
    for rate, state in runs.items():
        jax.clear_caches()  # a fresh program, traced with a fresh optimizer (another request, another object)
        fresh = fn.optimizers.get("adam", learning_rate=rate, beta_1=0.9)
        assert fresh is not fn.optimizers.get("adam", learning_rate=rate) and fresh == fn.optimizers.get("adam")
        alone = train(fresh)[0]
        for shared, own in zip(jax.tree_util.tree_leaves(state.params), jax.tree_util.tree_leaves(alone.params)):
            np.testing.assert_array_equal(shared, own)


@pytest.mark.parametrize(
    "first, second",
    [
        (("adam", {"learning_rate": 0.1}), ("adam", {"learning_rate": 0.2})),
        (("adam", {}), ("adam", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7})),
        (("sgd", {"momentum": 0.5}), ("sgd", {"momentum": 0.9, "learning_rate": 0.1})),
        (("sgd", {"momentum": 0.5, "nesterov": True}), ("sgd", {"momentum": 0.9, "nesterov": True})),
        (("adamw", {"weight_decay": 0.1}), ("adamw", {"weight_decay": 0.01})),
        (("rmsprop", {"rho": 0.8, "weight_decay": 0.1}), ("rmsprop", {"rho": 0.95, "weight_decay": 0.2})),
        (("adam", {"clipnorm": 1.0}), ("adam", {"clipnorm": 2.0})),
        (("adam", {"learning_rate": np.float32(0.01)}), ("adam", {"learning_rate": 0.02})),
    ],
)
def test_optimizers_differing_only_in_numbers_held_in_the_state_are_equal(first, second):
    a, b = fn.optimizers.get(first[0], **first[1]), fn.optimizers.get(second[0], **second[1])
    assert a == b and not a != b and hash(a) == hash(b)
    assert fn.compile(MODEL, "mse", a) == fn.compile(MODEL, "mse", b)


SCHEDULE = fn.optimizers.exponential_decay(0.1, 4, 0.5)


@pytest.mark.parametrize(
    "first, second",
    [
        (("adam", {}), ("sgd", {"learning_rate": 0.001})),
        (("adam", {}), ("nadam", {})),
        (("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.9, "nesterov": True})),
        (("sgd", {}), ("sgd", {"momentum": 0.9})),  # momentum=None: no velocity at all
        (("adam", {}), ("adam", {"amsgrad": True})),
        (("adam", {}), ("adam", {"clipnorm": 1.0})),
        (("adam", {"clipnorm": 1.0}), ("adam", {"clipvalue": 1.0})),
        (("adam", {"clipnorm": 1.0}), ("adam", {"global_clipnorm": 1.0})),
        (("adam", {}), ("adam", {"weight_decay": 0.01})),
        (("rmsprop", {}), ("rmsprop", {"centered": True})),
        (("adam", {"learning_rate": 0.1}), ("adam", {"learning_rate": SCHEDULE})),
        (("adam", {"learning_rate": SCHEDULE}), ("adam", {"learning_rate": fn.optimizers.step_decay(0.1, 0.5, 4)})),
        (("adagrad", {}), ("adagrad", {"initial_accumulator_value": 0.2})),  # the first state is filled with it
        (("adam", {"learning_rate": 1}), ("adam", {"learning_rate": 0.5})),  # an int rate: an int in the state
    ],
)
def test_optimizers_that_compile_differently_are_unequal(first, second):
    a, b = fn.optimizers.get(first[0], **first[1]), fn.optimizers.get(second[0], **second[1])
    assert a != b and not a == b


def test_equal_optimizers_start_from_their_own_numbers():
    params = {"w": np.zeros(2, np.float32)}
    a = fn.optimizers.get("sgd", learning_rate=0.1, momentum=0.5)
    b = fn.optimizers.get("sgd", learning_rate=0.2, momentum=0.9)
    assert a == b
    for optimizer, rate, momentum in ((a, 0.1, 0.5), (b, 0.2, 0.9)):
        hyperparams = optimizer.init(params).hyperparams
        assert float(hyperparams["learning_rate"]) == np.float32(rate)
        assert float(hyperparams["momentum"]) == np.float32(momentum)
    assert named_optimizer.injected_values(b) == {"learning_rate": 0.2, "momentum": 0.9}
    assert named_optimizer.injected_values(fn.optimizers.get(fn.optimizers.get("sgd"))) == {"learning_rate": 0.01}


def test_a_numpy_scalar_rate_is_held_in_the_state():
    optimizer = fn.optimizers.get("adam", learning_rate=np.float32(0.01))
    assert "learning_rate" in fn.optimizers.hyperparameter_names(optimizer.init({"w": np.zeros(2, np.float32)}))


def test_a_named_optimizer_copies_and_a_replaced_one_is_equal_to_itself_only():
    optimizer = fn.optimizers.get("adam", learning_rate=0.1)
    assert copy.deepcopy(optimizer) == optimizer
    assert copy.deepcopy(optimizer).hyperparameters["learning_rate"] == 0.1
    replaced = optimizer._replace(update=optimizer.update)
    assert isinstance(replaced, optax.GradientTransformation) and replaced == replaced
    assert replaced == optimizer._replace() != fn.optimizers.get("adam", learning_rate=0.2)._replace()
    assert replaced != optimizer  # its functions may be anything: no program to compare
    assert named_optimizer.injected_values(replaced) == {}


@pytest.mark.slow
def test_a_sweep_with_an_equal_optimizer_compiles_nothing_and_uses_its_own_numbers():
    x, y = regression()
    results = {}
    for index, rate in enumerate((0.01, 0.05)):
        results[rate] = fn.sweep.fit(
            MODEL,
            x,
            y,
            fn.sweep.grid(seed=[0, 1]),
            loss="mse",
            optimizer=fn.optimizers.get("sgd", learning_rate=rate, momentum=0.5 + index / 4),
            epochs=2,
            batch_size=16,
            key=jax.random.key(0),
            verbose=0,
        )
        if index == 0:
            traces = dict(fn.training.TRACES)
    assert dict(fn.training.TRACES) == traces
    for index, (rate, result) in enumerate(results.items()):
        hyperparams = result.states.opt_state.hyperparams
        np.testing.assert_array_equal(hyperparams["learning_rate"], np.float32([rate, rate]))
        np.testing.assert_array_equal(hyperparams["momentum"], np.float32([0.5 + index / 4] * 2))
        init_key, fit_key = fn.sweep.variant_keys(jax.random.key(0), 1)
        trainer = fn.compile(MODEL, "mse", fn.optimizers.get("sgd", learning_rate=rate, momentum=0.5 + index / 4))
        _, alone = trainer.fit(MODEL.init(init_key, (3,)), x, y, epochs=2, batch_size=16, key=fit_key, verbose=0)
        np.testing.assert_allclose(result.history["loss"][1], alone.history["loss"], rtol=1e-5)


def test_a_schedule_logs_the_learning_rate_of_the_next_step_as_keras_does():
    state, history = train(fn.optimizers.get("sgd", learning_rate=SCHEDULE), epochs=3)
    assert list(history.history) == ["loss", "learning_rate"]
    steps_per_epoch = 64 // 16
    expected = [float(SCHEDULE(steps_per_epoch * (epoch + 1))) for epoch in range(3)]
    assert history.history["learning_rate"] == expected
    assert named_optimizer.scheduled_learning_rate(fn.optimizers.get("sgd"), state.opt_state) is None


def test_a_constant_rate_is_not_logged_as_in_keras():
    _, history = train(fn.optimizers.get("sgd", learning_rate=0.1))
    assert list(history.history) == ["loss"]  # Keras 3 logs the rate only from the callbacks that change it
