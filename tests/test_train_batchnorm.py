"""Training with non-trainable leaves: BatchNormalization's moving statistics through fit, sweeps and a mesh."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fnnet as fn
from fnnet import layers


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(40, 3)) * 3 + 5).astype(np.float32)
    return x, (x[:, :1] - x[:, 1:2] > 0).astype(np.float32)


def net(momentum=0.9):
    return fn.Sequential(
        [
            layers.Dense(4),
            layers.BatchNormalization(momentum=momentum),
            layers.Activation("tanh"),
            layers.Dense(1, "sigmoid"),
        ]
    )


def test_fit_updates_the_moving_statistics_by_their_rule_and_never_through_the_optimizer(data):
    x, y = data
    model = net()
    params = model.init(jax.random.key(0), (3,))
    # AdamW would decay every leaf it updates; the moving statistics must follow their own rule only.
    trainer = fn.compile(model, "binary_crossentropy", optax.adamw(0.05, weight_decay=0.5))
    state, _ = trainer.fit(params, x, y, epochs=1, batch_size=len(x), shuffle=False, key=jax.random.key(1), verbose=0)
    h = x @ np.asarray(params["dense"]["kernel"]) + np.asarray(params["dense"]["bias"])
    bn = state.params["batch_normalization"]
    np.testing.assert_allclose(bn["moving_mean"], 0.1 * h.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn["moving_variance"], 0.9 + 0.1 * h.var(axis=0), rtol=1e-5)
    assert not np.allclose(bn["gamma"], params["batch_normalization"]["gamma"])  # trainable leaves do move


def test_padded_rows_of_a_partial_batch_change_no_statistic(data):
    x, y = data
    model = net(momentum=0.0)  # the moving statistics become the last batch's
    params = model.init(jax.random.key(0), (3,))
    trainer = fn.compile(model, "binary_crossentropy", optax.sgd(0.0))
    state, _ = trainer.fit(params, x, y, epochs=1, batch_size=16, shuffle=False, key=jax.random.key(1), verbose=0)
    last = x[32:] @ np.asarray(params["dense"]["kernel"]) + np.asarray(params["dense"]["bias"])  # 8 real rows, 8 padded
    bn = state.params["batch_normalization"]
    np.testing.assert_allclose(bn["moving_mean"], last.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn["moving_variance"], last.var(axis=0), rtol=1e-4)


def test_inference_uses_the_moving_statistics_and_summary_counts_them_non_trainable(data, capsys):
    x, y = data
    model = net()
    trainer = fn.compile(model, "binary_crossentropy", "adam", metrics=["accuracy"])
    state, history = trainer.fit(
        model.init(jax.random.key(0), (3,)), x, y, epochs=30, batch_size=8, key=jax.random.key(1), verbose=0
    )
    assert history.history["loss"][-1] < history.history["loss"][0]
    np.testing.assert_allclose(trainer.predict(state, x), model.apply(state.params, x), rtol=1e-6)
    assert trainer.evaluate(state, x, y, return_dict=True)["accuracy"] > 0.8
    text = model.summary((3,))
    assert "Non-trainable params: 8" in text


@pytest.mark.slow
def test_a_sweep_keeps_each_variants_statistics(data):
    x, y = data
    result = fn.sweep.fit(
        net(),
        x,
        y,
        fn.sweep.grid(learning_rate=[0.0, 0.1]),
        loss="binary_crossentropy",
        optimizer="sgd",
        epochs=2,
        batch_size=8,
        key=jax.random.key(0),
        verbose=0,
    )
    moving = result.states.params["batch_normalization"]["moving_mean"]
    assert moving.shape == (2, 4) and not np.allclose(moving[0], moving[1])
    alone = fn.compile(net(), "binary_crossentropy", fn.optimizers.get("sgd", learning_rate=0.1))
    init_key, fit_key = fn.sweep.variant_keys(jax.random.key(0), 0)
    state, _ = alone.fit(net().init(init_key, (3,)), x, y, epochs=2, batch_size=8, key=fit_key, verbose=0)
    np.testing.assert_allclose(moving[1], state.params["batch_normalization"]["moving_mean"], rtol=1e-5, atol=1e-6)


def test_train_step_returns_updated_statistics_under_jit_and_vmap(data):
    x, y = data
    model = net()
    step = jax.jit(jax.vmap(fn.train_step(model, "binary_crossentropy", "sgd"), in_axes=(0, None, None)))
    keys = jax.random.split(jax.random.key(0), 3)
    states = jax.vmap(lambda k: fn.training.init_state(model.init(k, (3,)), fn.optimizers.get("sgd"), k))(keys)
    new, logs = step(states, x, y)
    assert logs["loss"].shape == (3,)
    assert jnp.all(new.params["batch_normalization"]["moving_mean"] != 0)
