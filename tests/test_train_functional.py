"""Training functional models: several inputs, several outputs with a loss each, loss_weights, per-output
metrics logged with Keras's names, and a chain-shaped Model training as the equal Sequential."""

import jax
import numpy as np
import pytest

import fnnet as fn
from fnnet import layers


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(48, 3)).astype(np.float32)
    deep = rng.normal(size=(48, 5)).astype(np.float32)
    digit = (wide[:, 0] + deep[:, 0] > 0).astype(np.int32) + (deep[:, 1] > 0.5)
    size = (wide[:, 1:2] - deep[:, 2:3]).astype(np.float32)
    return wide, deep, digit, size


def wide_and_deep():
    wide = fn.Input((3,), name="wide")
    deep = fn.Input((5,), name="deep")
    h = layers.Dense(8, activation="relu")(deep)
    h = layers.Concatenate()([wide, h])
    digit = layers.Dense(3, activation="softmax", name="digit")(h)
    size = layers.Dense(1, name="size")(h)
    return fn.Model([wide, deep], [digit, size])


@pytest.mark.slow
def test_several_inputs_and_outputs_train_with_per_output_losses_and_keras_log_names(data):
    wide, deep, digit, size = data
    model = wide_and_deep()
    trainer = fn.compile(
        model,
        loss={"digit": "sparse_categorical_crossentropy", "size": "mse"},
        loss_weights={"digit": 1.0, "size": 0.5},
        optimizer="adam",
        metrics={"digit": ["accuracy"], "size": ["mae"]},
    )
    params = model.init(jax.random.key(0))
    state, history = trainer.fit(
        params,
        [wide, deep],
        {"digit": digit, "size": size},
        epochs=20,
        batch_size=16,
        validation_split=0.25,
        key=jax.random.key(1),
        verbose=0,
    )
    assert list(history.history) == [
        "loss",
        "digit_loss",
        "size_loss",
        "digit_accuracy",
        "size_mae",
        "val_loss",
        "val_digit_loss",
        "val_size_loss",
        "val_digit_accuracy",
        "val_size_mae",
    ]
    logs = trainer.evaluate(state, [wide, deep], [digit, size], return_dict=True)
    assert logs["loss"] == pytest.approx(logs["digit_loss"] + 0.5 * logs["size_loss"], rel=1e-5)
    assert history.history["loss"][-1] < history.history["loss"][0]
    digit_out, size_out = trainer.predict(state, [wide, deep])
    assert digit_out.shape == (48, 3) and size_out.shape == (48, 1)
    np.testing.assert_allclose(digit_out, model.apply(state.params, [wide, deep])[0], rtol=1e-6)


def test_several_outputs_need_a_loss_each_and_labels_are_checked_per_output(data):
    wide, deep, digit, size = data
    model = wide_and_deep()
    with pytest.raises(ValueError, match=r"no loss for the outputs \['size'\]"):
        fn.compile(model, loss={"digit": "sparse_categorical_crossentropy"}, optimizer="sgd")
    with pytest.raises(ValueError, match="outputs \\['shape'\\] the model does not have"):
        fn.compile(model, loss={"digit": "mse", "size": "mse", "shape": "mse"}, optimizer="sgd")
    trainer = fn.compile(model, loss=["sparse_categorical_crossentropy", "mse"], optimizer="sgd")
    params = model.init(jax.random.key(0))
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        trainer.fit(params, [wide, deep], [digit + 3, size], key=jax.random.key(0), verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        trainer.fit(params, [wide, deep[:40]], [digit, size], key=jax.random.key(0), verbose=0)
    with pytest.raises(ValueError, match="does not fit"):
        trainer.fit(params, [wide, deep], [digit, np.ones((48, 2), np.float32)], key=jax.random.key(0), verbose=0)
    with pytest.raises(ValueError, match="several outputs"):
        fn.compile(fn.Sequential([layers.Dense(1)]), loss={"dense": "mse"}, optimizer="sgd")


def test_a_chain_shaped_model_trains_as_the_equal_sequential(data):
    wide, _, _, size = data
    inputs = fn.Input((3,))
    h = layers.Dense(6, activation="tanh")(inputs)
    chain = fn.Model(inputs, layers.Dense(1)(h))
    stack = fn.Sequential([layers.Dense(6, activation="tanh"), layers.Dense(1)])
    runs = []
    for model in (chain, stack):
        trainer = fn.compile(model, "mse", "sgd", metrics=["mae"])
        params = model.init(jax.random.key(0), (3,))
        runs.append(trainer.fit(params, wide, size, epochs=3, batch_size=8, key=jax.random.key(1), verbose=0))
    (chain_state, chain_history), (stack_state, stack_history) = runs
    assert chain_history.history == stack_history.history
    for a, b in zip(jax.tree_util.tree_leaves(chain_state.params), jax.tree_util.tree_leaves(stack_state.params)):
        np.testing.assert_array_equal(a, b)
