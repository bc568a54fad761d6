"""With jax_enable_x64 on (as researchers turn it on for gradient checks), float32 data still
train in float32, on every path."""

import jax
import numpy as np
import pytest

import fnnet as fn
from fnnet import layers, regularizers


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    return x, (x[:, :1] + x[:, 1:2] > 0).astype(np.float32)


def model():
    return fn.Sequential(
        [layers.Dense(4, "tanh", kernel_regularizer=regularizers.l2(1e-3)), layers.Dense(1, "sigmoid")]
    )


@pytest.mark.slow
def test_fit_evaluate_predict_and_sweeps_train_float32_data_in_float32_under_x64(data):
    x, y = data
    net = model()
    with jax.enable_x64(True):
        trainer = fn.compile(
            net, "binary_crossentropy", "adam", metrics=["accuracy"], regularizers=[regularizers.l1(1e-4)]
        )
        params = net.init(jax.random.key(0), (3,))
        state, history = trainer.fit(
            params, x, y, epochs=3, batch_size=8, validation_split=0.25, key=jax.random.key(1), verbose=0
        )
        assert all(leaf.dtype == np.float32 for leaf in jax.tree_util.tree_leaves(state.params))
        assert np.all(np.isfinite(history.history["loss"])) and history.history["loss"][-1] < history.history["loss"][0]
        assert set(trainer.evaluate(state, x, y, return_dict=True)) == {"loss", "accuracy"}
        assert trainer.predict(state, x).dtype == np.float32
        result = fn.sweep.fit(
            net,
            x,
            y,
            fn.sweep.grid(learning_rate=[0.01, 0.1]),
            loss="binary_crossentropy",
            epochs=2,
            batch_size=8,
            key=jax.random.key(0),
            verbose=0,
        )
        assert np.all(np.isfinite(result.history["loss"]))
        cv = fn.sweep.cross_validate(
            net, x, y, folds=2, loss="binary_crossentropy", epochs=1, batch_size=8, key=jax.random.key(0)
        )
        assert np.all(np.isfinite(cv.history["val_loss"]))


@pytest.mark.slow
def test_float64_data_train_under_x64(data):
    x, y = data
    net = model()
    with jax.enable_x64(True):
        trainer = fn.compile(net, "binary_crossentropy", "sgd", dtype_policy="float64")
        params = jax.tree_util.tree_map(lambda leaf: leaf.astype(np.float64), net.init(jax.random.key(0), (3,)))
        with pytest.raises(ValueError, match=r"params\['dense'\]\['bias'\] is float64, but dtype_policy='float32'"):
            fn.compile(net, "binary_crossentropy", "sgd").fit(params, x, y, key=jax.random.key(1), verbose=0)
        state, history = trainer.fit(
            params, x.astype(np.float64), y.astype(np.float64), epochs=2, batch_size=8, key=jax.random.key(1), verbose=0
        )
        assert state.params["dense"]["kernel"].dtype == np.float64
        assert np.all(np.isfinite(history.history["loss"]))
