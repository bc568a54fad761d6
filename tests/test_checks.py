"""The checked mode (``checks=True``): checkify raises inside jit on bad labels, NaN inputs and NaN losses."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.experimental import checkify

import fnnet as fn
from fnnet import layers

X = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
LABELS = np.arange(12) % 3


def classifier():
    return fn.Sequential([layers.Dense(3, "softmax")])


def step_and_state(loss="sparse_categorical_crossentropy", optimizer="sgd"):
    model = classifier()
    step = fn.train_step(model, loss, optimizer, checks=True)
    state = fn.training.init_state(model.init(0, (3,)), fn.optimizers.get(optimizer), 1)
    return step, state


def test_a_checked_step_equals_the_plain_one_on_good_data():
    step, state = step_and_state()
    plain = jax.jit(fn.train_step(classifier(), "sparse_categorical_crossentropy", "sgd"))
    checked_state, checked_logs = step(state, X, LABELS)
    plain_state, plain_logs = plain(state, X, LABELS)
    np.testing.assert_array_equal(checked_state.params["dense"]["kernel"], plain_state.params["dense"]["kernel"])
    assert float(checked_logs["loss"]) == float(plain_logs["loss"])


@pytest.mark.parametrize(
    "x, y, message",
    [
        (
            X,
            jnp.asarray(LABELS).at[4].set(3),
            r"y holds values sparse_categorical_crossentropy cannot take in the batch "
            r"of step 0 \(integer class indices in \[0, C\)\)",
        ),
        (X, jnp.asarray(LABELS, jnp.float32).at[2].set(jnp.nan), "y holds NaN or inf in the batch of step 0"),
        (jnp.asarray(X).at[1, 1].set(jnp.inf), LABELS, "x holds NaN or inf in the batch of step 0"),
    ],
)
def test_a_checked_step_raises_on_what_jit_cannot_see(x, y, message):
    step, state = step_and_state()
    with pytest.raises(checkify.JaxRuntimeError, match=message):
        step(state, x, y)


def test_a_nan_loss_is_named_with_its_step():
    model = fn.Sequential([layers.Dense(1)])
    step = fn.train_step(model, "mse", optax.sgd(1e30), checks=True)
    state = fn.training.init_state(model.init(0, (3,)), optax.sgd(1e30), 1)
    y = np.ones((12, 1), np.float32)
    with pytest.raises(checkify.JaxRuntimeError, match=r"the loss is (nan|inf) at step [1-9]"):
        for _ in range(5):
            state, _ = step(state, X * 1e10, y)


def test_fit_with_checks_trains_the_same_and_raises_on_what_only_the_compiled_step_sees():
    trainer = fn.compile(classifier(), "sparse_categorical_crossentropy", "sgd")
    params = trainer.model.init(0, (3,))
    checked, history = trainer.fit(params, X, LABELS, epochs=2, batch_size=5, key=0, verbose=0, checks=True)
    plain, plain_history = trainer.fit(params, X, LABELS, epochs=2, batch_size=5, key=0, verbose=0)
    np.testing.assert_array_equal(checked.params["dense"]["kernel"], plain.params["dense"]["kernel"])
    assert history.history == plain_history.history

    # an augmentation that makes NaN inside the compiled step: no host check can see it
    def nan_augment(key, batch):
        return batch * jnp.nan

    with pytest.raises(checkify.JaxRuntimeError, match="x holds NaN or inf in the batch of step 0"):
        trainer.fit(params, X, LABELS, epochs=1, key=0, verbose=0, checks=True, augment=nan_augment)
    batches = [(X[:6], LABELS[:6]), (X[6:], LABELS[6:])]
    streamed, _ = trainer.fit(params, batches, epochs=1, key=0, verbose=0, checks=True)
    with pytest.raises(TypeError, match="checks must be True or False"):
        trainer.fit(params, X, LABELS, key=0, verbose=0, checks="yes")
