"""The engine's per-call guarantees: compiled once per configuration, the documented shuffle,
no key derivation without randomness, immutability, and thread safety."""

import threading

import chex
import jax
import numpy as np
import optax
import pytest

import fnnet as fn
from fnnet import layers
from fnnet.training import epoch as programs
from fnnet.state import shuffle_seed


def regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)


MODEL = fn.Sequential([layers.Dense(4, "tanh"), layers.Dense(1)])


@pytest.mark.slow
def test_an_equal_compile_and_an_equal_augmentation_reuse_the_compiled_epoch():
    x, y = regression()
    params = MODEL.init(jax.random.key(0), (3,))
    first = fn.compile(MODEL, "mse", "adam", metrics=["mae"])
    first.fit(params, x, y, epochs=2, batch_size=16, key=jax.random.key(1), verbose=0)
    traces = dict(fn.training.TRACES)
    second = fn.compile(MODEL, "mse", "adam", metrics=["mae"])
    assert second == first and hash(second) == hash(first)
    second.fit(params, x, y, epochs=1, batch_size=16, key=jax.random.key(2), verbose=0)
    second.evaluate(params, x, y, return_dict=True)
    assert fn.training.TRACES["fit_epoch"] == traces["fit_epoch"]
    third = fn.compile(MODEL, "mse", "adam", metrics=["mse"])  # another metric: another program
    assert third != first
    third.fit(params, x, y, epochs=1, batch_size=16, key=jax.random.key(2), verbose=0)
    assert fn.training.TRACES["fit_epoch"] == traces["fit_epoch"] + 1


def test_an_equal_freshly_built_augmentation_does_not_retrace():
    images = np.random.default_rng(0).normal(size=(32, 4, 4)).astype(np.float32)
    model = fn.Sequential([layers.Flatten(), layers.Dense(1)])
    trainer = fn.compile(model, "mse", "sgd")
    params = model.init(jax.random.key(0), (4, 4))
    for _ in range(2):
        trainer.fit(
            params,
            images,
            images[:, :1, 0],
            batch_size=8,
            key=jax.random.key(0),
            verbose=0,
            augment=fn.augment.random_flip("horizontal"),
        )
        if _ == 0:
            traces = fn.training.TRACES["fit_epoch"]
    assert fn.training.TRACES["fit_epoch"] == traces


@pytest.mark.slow
def test_a_second_equal_sweep_compiles_nothing():
    x, y = regression()
    variants = fn.sweep.grid(learning_rate=[0.01, 0.1])
    for call in range(2):
        fn.sweep.fit(
            MODEL,
            x,
            y,
            variants,
            loss="mse",
            optimizer="sgd",
            epochs=2,
            batch_size=16,
            key=jax.random.key(call),
            verbose=0,
        )
        if call == 0:
            traces = dict(fn.training.TRACES)
    assert {name: fn.training.TRACES[name] for name in traces} == traces


def test_the_shuffle_is_the_documented_host_permutation():
    """Epoch e of a run with key k and steps_per_epoch s trains on the order
    ``default_rng(shuffle_seed(key_data(k), e * s)).permutation(n)``."""
    x, y = regression(n=12)
    model = fn.Sequential([layers.Dense(1, kernel_initializer="zeros")])
    trainer = fn.compile(model, "mse", optax.sgd(0.1))
    params = model.init(jax.random.key(0), (3,))
    key = jax.random.key(5)
    state, _ = trainer.fit(params, x, y, epochs=2, batch_size=4, key=key, verbose=0)
    step = jax.jit(fn.train_step(model, "mse", optax.sgd(0.1)))
    manual = fn.training.init_state(params, optax.sgd(0.1), key)
    key_data = np.asarray(jax.random.key_data(key))
    for epoch in range(2):
        order = np.random.default_rng(shuffle_seed(key_data, epoch * 3)).permutation(12)
        np.testing.assert_array_equal(programs.batch_order(key_data, epoch * 3, 12, 4), order)
        for batch in order.reshape(3, 4):
            manual, _ = step(manual, x[batch], y[batch])
    chex.assert_trees_all_close(state.params, manual.params, rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_steps_without_dropout_derive_no_keys():
    x, y = regression()
    state = fn.training.init_state(MODEL.init(jax.random.key(0), (3,)), fn.optimizers.get("sgd"), jax.random.key(1))
    order = np.arange(64, dtype=np.int32)

    def compiled_text(model):
        trainer = fn.compile(model, "mse", "sgd")
        return (
            programs.fit_epoch.lower(
                state,
                programs.Samples(x, y),
                order,
                None,
                np.int32(0),
                objective=trainer.objective,
                optimizer=trainer.optimizer,
                batch_size=16,
                augment=None,
                mesh=None,
                report_every=0,
            )
            .compile()
            .as_text()
            .lower()
        )

    assert "threefry" not in compiled_text(MODEL)
    with_dropout = fn.Sequential([layers.Dense(4, "tanh"), layers.Dropout(0.5), layers.Dense(1)])
    assert "threefry" in compiled_text(with_dropout)


def test_a_trainer_is_immutable():
    trainer = fn.compile(MODEL, "mse", "sgd")
    with pytest.raises(AttributeError, match="immutable"):
        trainer.loss = "mae"
    with pytest.raises(AttributeError, match="immutable"):
        trainer.optimizer = optax.adam(1e-3)


def test_a_decaying_schedule_changes_the_rate_between_steps():
    x, y = regression(n=8)
    model = fn.Sequential([layers.Dense(1, kernel_initializer="zeros")])
    params = model.init(jax.random.key(0), (3,))
    schedule = fn.optimizers.exponential_decay(0.1, decay_steps=1, decay_rate=0.5)
    trainer = fn.compile(model, "mse", optax.sgd(schedule))
    state, _ = trainer.fit(params, x, y, epochs=1, batch_size=4, shuffle=False, key=jax.random.key(0), verbose=0)
    grad = jax.grad(fn.objective(model, "mse"))
    manual = params
    for t, rows in enumerate((slice(0, 4), slice(4, 8))):
        manual = jax.tree_util.tree_map(
            lambda p, g, lr=0.1 * 0.5**t: p - lr * g, manual, grad(manual, x[rows], y[rows])
        )
    chex.assert_trees_all_close(state.params, manual, rtol=1e-6)
    constant = fn.compile(model, "mse", optax.sgd(0.1)).fit(
        params, x, y, epochs=1, batch_size=4, shuffle=False, key=jax.random.key(0), verbose=0
    )[0]
    assert not np.allclose(constant.params["dense"]["kernel"], state.params["dense"]["kernel"])


@pytest.mark.slow
def test_concurrent_fits_equal_their_sequential_runs():
    x, y = regression()
    trainer = fn.compile(MODEL, "mse", "adam", metrics=["mae"])
    params = MODEL.init(jax.random.key(0), (3,))
    sequential = {
        seed: trainer.fit(params, x, y, epochs=3, batch_size=8, key=jax.random.key(seed), verbose=0)
        for seed in (1, 2, 3)
    }
    concurrent, errors = {}, []

    def run(seed):
        try:
            concurrent[seed] = trainer.fit(params, x, y, epochs=3, batch_size=8, key=jax.random.key(seed), verbose=1)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in sequential]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for seed, (state, history) in sequential.items():
        assert concurrent[seed][1].history == history.history
        chex.assert_trees_all_equal(concurrent[seed][0].params, state.params)


def test_device_arrays_are_checked_once_and_still_rejected_when_bad():
    x, y = regression()
    trainer = fn.compile(MODEL, "mse", "sgd")
    params = MODEL.init(jax.random.key(0), (3,))
    bad = jax.numpy.asarray(x).at[3, 1].set(np.nan)
    for _ in range(2):  # the second call must not trust a cached verdict for another array
        with pytest.raises(ValueError, match="x holds 1 NaN or infinite values"):
            trainer.fit(params, bad, y, key=jax.random.key(0), verbose=0)
    good = jax.numpy.asarray(x)
    trainer.fit(params, good, y, key=jax.random.key(0), verbose=0)
    trainer.fit(params, good, y, key=jax.random.key(0), verbose=0)


def test_keras_habits_get_messages_that_say_what_to_do():
    x, y = regression()
    trainer = fn.compile(MODEL, "mse", "sgd")
    params = MODEL.init(jax.random.key(0), (3,))
    with pytest.raises(TypeError, match=r"first argument is the model's params.*fit\(params, x, y"):
        trainer.fit(x, y, epochs=1, key=jax.random.key(0), verbose=0)
    with pytest.raises(ValueError, match=r"got x of shape \(3,\); for one sample pass x\[None\]"):
        trainer.predict(params, x[0])
    assert trainer.predict(params, x[None, 0]).shape == (1, 1)
    with pytest.raises(TypeError, match="shuffle must be True or False, got 'no'"):
        trainer.fit(params, x, y, shuffle="no", key=jax.random.key(0), verbose=0)
    with pytest.raises(ValueError, match="at least one layer"):
        fn.Sequential([])
    one_metric = fn.compile(MODEL, "mse", "sgd", metrics="mae")  # a single name works as a list of one
    assert list(one_metric.evaluate(params, x, y, return_dict=True)) == ["loss", "mae"]


def test_params_of_another_architecture_are_rejected_naming_the_layer_or_leaf():
    x, y = regression()
    trainer = fn.compile(MODEL, "mse", "sgd")
    narrow = fn.Sequential([layers.Dense(2, "tanh"), layers.Dense(1)]).init(jax.random.key(0), (3,))
    for run in (lambda: trainer.fit(narrow, x, y, key=jax.random.key(0), verbose=0), lambda: MODEL.apply(narrow, x)):
        with pytest.raises(ValueError, match=r"layer 'dense': expects a kernel of shape \(inputs, 4\), got \(3, 2\)"):
            run()
    missing = {"dense": MODEL.init(jax.random.key(0), (3,))["dense"]}
    for run in (lambda: trainer.evaluate(missing, x, y, return_dict=True), lambda: MODEL.apply(missing, x)):
        with pytest.raises(
            ValueError, match=r"layer 'dense_1': expects params with entries \['bias', 'kernel'\], got \[\]"
        ):
            run()
    # a leaf no layer checks itself is named by the abstract comparison with the model's init
    dropout_model = fn.Sequential([layers.Dense(1), layers.Dropout(0.1)])
    extra = {**dropout_model.init(jax.random.key(0), (3,)), "dropout": {"w": np.ones(1, np.float32)}}
    with pytest.raises(ValueError, match=r"params\['dropout'\]\['w'\] belongs to no layer of this model"):
        fn.training.inputs.check_params(dropout_model, extra, x)


@pytest.mark.parametrize(
    "loss, labels, message",
    [
        ("binary_crossentropy", [0.0, 1.0, 2.0], r"binary_crossentropy expects labels in \{0, 1\}.*from 0 to 2"),
        ("hinge", [2.0, 5.0, 1.0], r"hinge expects labels in \{-1, 1\} or \{0, 1\}, got values \[1.0, 2.0, 5.0\]"),
    ],
)
def test_label_values_are_checked_for_every_loss_that_constrains_them(loss, labels, message):
    x, _ = regression(n=3)
    model = fn.Sequential([layers.Dense(1, "sigmoid")])
    trainer = fn.compile(model, loss, "sgd")
    with pytest.raises(ValueError, match=message):
        trainer.fit(
            model.init(jax.random.key(0), (3,)),
            x,
            np.asarray(labels, np.float32)[:, None],
            key=jax.random.key(0),
            verbose=0,
        )
