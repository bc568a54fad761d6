"""Sweep axes that change the network's shape (issue 20): units, depth, per-layer widths, activation.

Every variant is padded into the largest network and masked; each must
equal the same network trained alone with ``fit`` from the same keys.
"""

import chex
import jax
import numpy as np
import pytest

import fnnet as fn
from fnnet import layers, regularizers

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 3)).astype(np.float32)
Y = (X[:, :1] * X[:, 1:2] + np.sin(X[:, 2:3])).astype(np.float32)
FIT = dict(epochs=3, batch_size=16)
KEY = 5


def mlp(units=4, depth=1, activation="tanh", l2=0.0, dropout=0.0):
    hidden = []
    for _ in range(depth):
        hidden.append(layers.Dense(units, activation, kernel_regularizer=regularizers.l2(l2)))
        if dropout:
            hidden.append(layers.Dropout(dropout))
    return fn.Sequential([*hidden, layers.Dense(1)])


def sweep(build, variants, optimizer="sgd", **options):
    arguments = dict(loss="mse", optimizer=optimizer, key=jax.random.key(KEY), verbose=0, **FIT)
    return fn.sweep.fit(build, X, Y, variants, **(arguments | options))


def alone(build, values, optimizer="sgd", params=None, **fit):
    """Variant ``values`` built and trained alone with ``fit``, with the keys the sweep gives it."""
    values = dict(values)
    rate = values.pop("learning_rate", None)
    init_key, fit_key = fn.sweep.variant_keys(jax.random.key(KEY), values.pop("seed", 0))
    model = build(**values)
    optimizer = optimizer if rate is None else fn.optimizers.get(optimizer, learning_rate=rate)
    trainer = fn.compile(model, "mse", optimizer)
    params = model.init(init_key, X.shape[1:]) if params is None else params
    return trainer.fit(params, X, Y, key=fit_key, verbose=0, **(FIT | fit))


def assert_every_variant_trains_as_alone(result, build, optimizer="sgd", rtol=1e-5, atol=1e-6):
    for k in range(len(result.history["loss"])):
        values = {name: fn.sweep.shapes.value_of(v, k) for name, v in result.variants.items()}
        state, history = alone(build, values, optimizer)
        np.testing.assert_allclose(result.history["loss"][k], history.history["loss"], rtol=rtol, atol=atol)
        chex.assert_trees_all_equal_shapes(result.params(k), state.params)
        chex.assert_trees_all_close(result.params(k), state.params, rtol=rtol, atol=atol)


def test_width_variants_train_as_each_network_alone():
    result = sweep(mlp, fn.sweep.grid(units=[1, 3, 8]))
    assert result.states.params["dense"]["kernel"].shape == (3, 3, 8)  # padded to the widest
    assert result.params(0)["dense"]["kernel"].shape == (3, 1)  # each variant's own
    assert_every_variant_trains_as_alone(result, mlp)


@pytest.mark.slow
def test_width_and_depth_with_adam_and_l2_train_as_each_network_alone():
    variants = fn.sweep.grid(units=[2, 6], depth=[1, 3], l2=[0.0, 0.01], learning_rate=[0.01, 0.1])
    result = sweep(mlp, variants, optimizer="adam")
    assert_every_variant_trains_as_alone(result, mlp, optimizer="adam")


@pytest.mark.slow
def test_depth_variants_lack_layers_that_pass_their_input_through():
    result = sweep(mlp, fn.sweep.grid(depth=[1, 2, 3], units=[5]))
    assert sorted(result.params(0)) == ["dense", "dense_1"]  # one hidden layer and the head
    assert sorted(result.params(2)) == ["dense", "dense_1", "dense_2", "dense_3"]
    assert_every_variant_trains_as_alone(result, mlp)


@pytest.mark.slow
def test_float64_variants_equal_their_networks_alone_to_1e_10():
    with jax.enable_x64(True):
        global X, Y
        x32, y32 = X, Y
        X, Y = X.astype(np.float64), Y.astype(np.float64)
        try:
            result = sweep(mlp, fn.sweep.grid(units=[2, 7], depth=[1, 2]), optimizer="adam", dtype_policy="float64")
            for k in range(4):
                values = {name: fn.sweep.shapes.value_of(v, k) for name, v in result.variants.items()}
                init_key, fit_key = fn.sweep.variant_keys(jax.random.key(KEY), 0)
                model = mlp(**values)
                trainer = fn.compile(model, "mse", "adam", dtype_policy="float64")
                state, history = trainer.fit(model.init(init_key, (3,), "float64"), X, Y, key=fit_key, verbose=0, **FIT)
                np.testing.assert_allclose(result.history["loss"][k], history.history["loss"], rtol=1e-10)
                chex.assert_trees_all_close(result.params(k), state.params, rtol=1e-10, atol=1e-12)
        finally:
            X, Y = x32, y32


@pytest.mark.slow
def test_per_layer_widths_and_activation_are_axes():
    def build(widths=(4,), activation="tanh"):
        return fn.Sequential([layers.Dense(w, activation) for w in widths] + [layers.Dense(1)])

    variants = fn.sweep.grid(widths=[(6, 6), (3,), (2, 5)], activation=["tanh", "relu"])
    result = sweep(build, variants)
    assert result.params(2)["dense"]["kernel"].shape == (3, 3)  # widths (3,), tanh
    assert result.best_hyperparameters["widths"] in [(6, 6), (3,), (2, 5)]
    assert_every_variant_trains_as_alone(result, build)


def test_each_activation_trains_as_its_own_program():
    def build(units=3, activation="tanh"):
        return fn.Sequential([layers.Dense(units, activation), layers.Dense(1)])

    before = fn.training.TRACES["sweep_epoch"]
    result = sweep(build, fn.sweep.grid(units=[2, 4], activation=["tanh", "relu", "sigmoid"]))
    assert fn.training.TRACES["sweep_epoch"] - before == 3  # one program per activation, no lax.switch
    assert_every_variant_trains_as_alone(result, build)


@pytest.mark.slow
def test_functional_models_and_batch_normalization_with_a_width_axis():
    def build(units=4):
        inputs = fn.Input((3,))
        hidden = layers.BatchNormalization()(layers.Dense(units, "relu")(inputs))
        return fn.Model(inputs, layers.Dense(1)(hidden))

    result = sweep(build, fn.sweep.grid(units=[2, 5]), optimizer="adam")
    assert_every_variant_trains_as_alone(result, build, optimizer="adam", rtol=1e-4, atol=1e-5)


def test_masked_units_stay_zero_and_the_ensemble_averages_the_variants_own_outputs():
    result = sweep(mlp, fn.sweep.grid(units=[2, 6], depth=[1, 2]), optimizer="adamw")
    kernels = np.asarray(result.states.params["dense_1"]["kernel"])
    assert not kernels[0, 2:].any() and not kernels[0, :, 1:].any()  # units 2, depth 1: head (2, 1) in (6, 6)
    own = [result.model(k).apply(result.params(k), X) for k in range(4)]
    np.testing.assert_allclose(result.predict(X), np.mean(own, axis=0), rtol=1e-5, atol=1e-6)


def test_each_variant_saves_as_its_own_network(tmp_path):
    result = sweep(mlp, fn.sweep.grid(units=[2, 6]))
    model, params = fn.load_model(result.save_model(tmp_path / "small.safetensors", k=0))
    assert params["dense"]["kernel"].shape == (3, 2)
    np.testing.assert_allclose(model.apply(params, X), result.model(0).apply(result.params(0), X), rtol=1e-6)


def test_initial_params_as_one_tree_per_variant_of_its_own_shapes():
    variants = fn.sweep.grid(units=[2, 6])
    starts = [mlp(units=u).init(jax.random.key(10 + u), (3,)) for u in (2, 6)]
    result = sweep(mlp, variants, initial_params=starts)
    for k, units in enumerate((2, 6)):
        state, history = alone(mlp, {"units": units}, params=starts[k])
        np.testing.assert_allclose(result.history["loss"][k], history.history["loss"], rtol=1e-5)
    with pytest.raises(ValueError, match=r"initial_params\[1\]\['dense'\]\['bias'\] must have shape \(6,\)"):
        sweep(mlp, variants, initial_params=[starts[0], starts[0]])
    with pytest.raises(ValueError, match="one params tree per variant"):
        sweep(mlp, variants, initial_params=starts[:1])


@pytest.mark.slow
def test_halving_and_chunks_with_shape_axes_equal_the_full_sweep():
    variants = fn.sweep.grid(units=[1, 4, 8], learning_rate=[0.003, 0.03, 0.3])
    options = dict(validation_split=0.25, epochs=9)
    full = sweep(mlp, variants, **options)
    halved = sweep(mlp, variants, schedule=fn.sweep.halving(eta=3), max_variants_per_program=4, **options)
    trained = ~np.isnan(halved.history["loss"])
    assert trained.sum() == 9 * 1 + 3 * 2 + 1 * 6  # 9 variants 1 epoch, 3 on to epoch 3, 1 on to epoch 9
    np.testing.assert_allclose(halved.history["loss"][trained], full.history["loss"][trained], rtol=1e-5)
    winner = int(np.flatnonzero(trained[:, -1])[0])
    chex.assert_trees_all_close(halved.params(winner), full.params(winner), rtol=1e-5, atol=1e-6)


def test_dropout_with_a_width_axis_trains_each_variant_at_its_rate():
    result = sweep(mlp, fn.sweep.grid(units=[2, 8], dropout=[0.0, 0.5]))
    assert np.all(np.isfinite(result.history["loss"]))
    for k in (0, 2):  # without dropout: exactly as alone
        values = {name: fn.sweep.shapes.value_of(v, k) for name, v in result.variants.items()}
        np.testing.assert_allclose(result.history["loss"][k], alone(mlp, values)[1].history["loss"], rtol=1e-5)


def test_layers_that_mix_padded_units_are_refused_before_training():
    def softmax_inside(units=2):
        return fn.Sequential([layers.Dense(units, "softmax"), layers.Dense(1)])

    with pytest.raises(ValueError, match="computes other outputs when padded.*softmax"):
        sweep(softmax_inside, fn.sweep.grid(units=[2, 4]))


def test_a_lacking_layer_must_keep_the_shape():
    def widening(widths=(4,)):
        return fn.Sequential([layers.Dense(w, "tanh") for w in widths] + [layers.Dense(1)])

    with pytest.raises(ValueError, match="lacks layer 'dense_1'.*maps shape \\(4,\\) to \\(8,\\)"):
        sweep(widening, fn.sweep.grid(widths=[(4,), (4, 8)]))


def test_a_choice_axis_may_not_change_the_params():
    def bias(units=3, use_bias=True):
        return fn.Sequential([layers.Dense(units, use_bias=use_bias), layers.Dense(1)])

    with pytest.raises(ValueError, match="have different params"):
        sweep(bias, fn.sweep.grid(use_bias=[True, False]))
