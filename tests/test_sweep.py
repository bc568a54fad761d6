import chex
import jax
import numpy as np
import pytest

import fnnet as fn
from fnnet import callbacks, layers, regularizers


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    x = (rng.normal(0, 2, (3, 5))[labels] + rng.normal(0, 1, (60, 5))).astype(np.float32)
    return x, labels.astype(np.int32)


def build(l2, dropout):
    return fn.Sequential(
        [
            layers.Dense(8, "relu", kernel_regularizer=regularizers.l2(l2)),
            layers.Dropout(dropout),
            layers.Dense(3, "softmax"),
        ]
    )


COMMON = dict(
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
    epochs=4,
    batch_size=16,
    validation_split=0.25,
    verbose=0,
)
FIT = {k: v for k, v in COMMON.items() if k not in ("loss", "metrics")}  # COMMON's arguments of Trainer.fit


def alone(x, y, seed, learning_rate, l2, dropout, **kwargs):
    """The same configuration trained alone with fit, with the variant's keys."""
    init_key, fit_key = fn.sweep.variant_keys(jax.random.key(7), seed)
    model = build(l2, dropout)
    trainer = fn.compile(
        model,
        "sparse_categorical_crossentropy",
        fn.optimizers.get("adam", learning_rate=learning_rate),
        metrics=["accuracy"],
    )
    return trainer.fit(model.init(init_key, x.shape[1:]), x, y, key=fit_key, **(FIT | kwargs))


def assert_variant_equals(result, k, state, history):
    """Variant k of a sweep has the curves and the params of the run trained alone."""
    for name, curve in history.history.items():
        np.testing.assert_allclose(result.history[name][k], curve, rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(result.params(k), state.params, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_every_variant_equals_the_same_configuration_trained_alone(data):
    x, y = data
    variants = fn.sweep.grid(learning_rate=[1e-3, 3e-2], l2=[0.0, 1e-2], dropout=[0.0, 0.3], seed=[0, 1])
    result = fn.sweep.fit(build, x, y, variants, optimizer="adam", key=jax.random.key(7), **COMMON)
    assert all(values.shape == (16, 4) for values in result.history.values())
    for k in (0, 5, 10, 15):
        values = {name: v[k].item() for name, v in variants.items()}
        assert_variant_equals(result, k, *alone(x, y, **values))


@pytest.mark.slow
def test_early_stopping_per_variant(data):
    x, y = data
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=0, restore_best_weights=True)
    variants = {"learning_rate": np.array([1e-3, 3e-2, 0.3]), "l2": np.zeros(3), "dropout": np.zeros(3)}
    result = fn.sweep.fit(
        build, x, y, variants, optimizer="adam", key=jax.random.key(7), early_stopping=stop, **{**COMMON, "epochs": 30}
    )
    epochs_run = (~np.isnan(result.history["val_loss"])).sum(axis=1)
    assert epochs_run.min() < epochs_run.max()  # the variants stopped on their own
    for k in range(3):
        values = {name: v[k].item() for name, v in variants.items()}
        state, history = alone(
            x,
            y,
            seed=0,
            **values,
            callbacks=[callbacks.EarlyStopping(monitor="val_loss", patience=0, restore_best_weights=True)],
            epochs=30,
        )
        assert len(history.epoch) == epochs_run[k]
        np.testing.assert_allclose(
            result.history["val_loss"][k, : epochs_run[k]], history.history["val_loss"], rtol=1e-5
        )
        chex.assert_trees_all_close(result.params(k), state.params, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_best_variant_by_the_monitored_metric(data):
    x, y = data
    variants = fn.sweep.grid(learning_rate=[1e-5, 3e-2], l2=[0.0], dropout=[0.0])
    result = fn.sweep.fit(
        build, x, y, variants, optimizer="adam", key=jax.random.key(7), monitor="val_accuracy", **COMMON
    )
    best_by_hand = int(np.argmax(np.nanmax(result.history["val_accuracy"], axis=1)))
    assert result.best_index == best_by_hand == 1
    assert result.best_hyperparameters == {"learning_rate": pytest.approx(3e-2), "l2": 0.0, "dropout": 0.0}
    assert result.model(1).layers[0][1].kind == "Dense"


@pytest.mark.slow
def test_seed_ensemble_and_its_mean_prediction(data):
    x, y = data
    model = build(0.0, 0.0)
    result = fn.sweep.fit(model, x, y, fn.sweep.seeds(4), optimizer="adam", key=jax.random.key(3), **COMMON)
    kernels = [np.asarray(result.params(k)["dense"]["kernel"]) for k in range(4)]
    assert not np.allclose(kernels[0], kernels[1])
    members = np.stack([model.apply(result.params(k), x) for k in range(4)])
    np.testing.assert_allclose(result.predict(x), members.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.predict(x).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_optimizer_hyperparameters_other_than_the_learning_rate(data):
    x, y = data
    result = fn.sweep.fit(
        build(0.0, 0.0),
        x,
        y,
        {"momentum": np.array([0.0, 0.9])},
        optimizer=fn.optimizers.get("sgd", learning_rate=0.1, momentum=0.5),
        key=jax.random.key(0),
        **COMMON,
    )
    assert not np.allclose(result.history["loss"][0], result.history["loss"][1])


@pytest.mark.slow
def test_cross_validation_trains_every_fold(data):
    x, y = data
    cv = fn.sweep.cross_validate(
        build(0.0, 0.0),
        x,
        y,
        folds=4,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        epochs=3,
        batch_size=16,
        key=jax.random.key(0),
    )
    assert cv.history["val_loss"].shape == (4, 3) and cv.scores["val_accuracy"].shape == (4,)
    assert len(set(np.round(cv.scores["val_loss"], 6))) == 4  # four different validation folds
    assert cv.mean["val_loss"] == pytest.approx(float(np.mean(cv.scores["val_loss"])))
    # fold 0 equals training alone on the other folds and validating on fold 0
    order = np.asarray(jax.random.permutation(jax.random.fold_in(jax.random.key(0), 1), len(x)))
    parts = order.reshape(4, 15)
    init_key, fit_key = fn.sweep.variant_keys(jax.random.key(0), 0)
    model = build(0.0, 0.0)
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "adam", metrics=["accuracy"])
    train = np.concatenate(parts[1:])
    _, history = trainer.fit(
        model.init(init_key, (5,)),
        x[train],
        y[train],
        epochs=3,
        batch_size=16,
        validation_data=(x[parts[0]], y[parts[0]]),
        key=fit_key,
        verbose=0,
    )
    np.testing.assert_allclose(cv.history["val_loss"][0], history.history["val_loss"], rtol=1e-5)


def test_variant_builders():
    g = fn.sweep.grid(learning_rate=[1e-3, 1e-2, 1e-1], l2=[0.0, 1e-4])
    assert len(g["learning_rate"]) == 6 and sorted(set(zip(g["learning_rate"], g["l2"]))) == sorted(
        (a, b) for a in [1e-3, 1e-2, 1e-1] for b in [0.0, 1e-4]
    )
    r = fn.sweep.random_search(
        jax.random.key(0), 50, learning_rate=("log_uniform", 1e-4, 1e-1), dropout=("uniform", 0.0, 0.5), width=[8, 16]
    )
    assert np.all((r["learning_rate"] >= 1e-4) & (r["learning_rate"] <= 1e-1))
    assert np.all((r["dropout"] >= 0) & (r["dropout"] < 0.5)) and set(r["width"]) == {8, 16}
    assert np.mean(r["learning_rate"] < 1e-2) > 0.4  # log-uniform: half the draws below the geometric middle
    again = fn.sweep.random_search(
        jax.random.key(0), 50, learning_rate=("log_uniform", 1e-4, 1e-1), dropout=("uniform", 0.0, 0.5), width=[8, 16]
    )
    np.testing.assert_array_equal(again["learning_rate"], r["learning_rate"])
    np.testing.assert_array_equal(fn.sweep.seeds(3)["seed"], [0, 1, 2])


def test_bad_sweeps_name_the_valid_choices(data):
    x, y = data
    kw = dict(optimizer="adam", key=jax.random.key(0), **COMMON)
    with pytest.raises(
        ValueError, match=r"no model or optimizer hyperparameter named 'lr'.*'learning_rate'.*'l2', 'dropout'"
    ):
        fn.sweep.fit(build, x, y, {"lr": np.array([0.1])}, **kw)
    with pytest.raises(ValueError, match="K >= 1"):
        fn.sweep.fit(build, x, y, {"learning_rate": np.array([])}, **kw)
    with pytest.raises(ValueError, match="same length K"):
        fn.sweep.fit(build, x, y, {"learning_rate": np.array([0.1, 0.2]), "l2": np.array([0.0])}, **kw)
    with pytest.raises(ValueError, match=r"monitor 'val_f1' is not recorded.*'val_accuracy'"):
        fn.sweep.fit(
            build(0.0, 0.0), x, y, {"learning_rate": np.array([0.1])}, **{**kw, "monitor": "val_f1", "mode": "max"}
        )
    with pytest.raises(ValueError, match=r"builder needs a variant axis for \['dropout'\]"):
        fn.sweep.fit(build, x, y, {"l2": np.array([0.1])}, **kw)
    with pytest.raises(ValueError, match="seeds needs k >= 1"):
        fn.sweep.seeds(0)
    with pytest.raises(ValueError, match="grid axis 'l2' has no values"):
        fn.sweep.grid(l2=[])
    with pytest.raises(ValueError, match="folds must be an integer >= 2"):
        fn.sweep.cross_validate(build(0.0, 0.0), x, y, folds=1, loss="mse", key=jax.random.key(0))


@pytest.mark.slow
def test_a_swept_momentum_equals_training_that_variant_alone(data):
    x, y = data
    model = build(0.0, 0.0)
    result = fn.sweep.fit(
        model,
        x,
        y,
        {"momentum": np.array([0.0, 0.9])},
        optimizer=fn.optimizers.get("sgd", learning_rate=0.1, momentum=0.5),
        key=jax.random.key(0),
        **COMMON,
    )
    init_key, fit_key = fn.sweep.variant_keys(jax.random.key(0), 0)
    for k, momentum in enumerate((0.0, 0.9)):
        trainer = fn.compile(
            model,
            "sparse_categorical_crossentropy",
            fn.optimizers.get("sgd", learning_rate=0.1, momentum=momentum),
            metrics=["accuracy"],
        )
        assert_variant_equals(result, k, *trainer.fit(model.init(init_key, x.shape[1:]), x, y, key=fit_key, **FIT))


@pytest.mark.slow
def test_initial_params_start_every_variant_from_the_given_params(data):
    x, y = data
    model = build(0.0, 0.0)
    first = fn.sweep.fit(model, x, y, fn.sweep.seeds(2), optimizer="adam", key=jax.random.key(0), **COMMON)
    tuned = fn.sweep.fit(
        model,
        x,
        y,
        fn.sweep.grid(learning_rate=[0.0, 1e-3]),
        optimizer="adam",
        initial_params=first.states.params,
        key=jax.random.key(1),
        **COMMON,
    )
    chex.assert_trees_all_close(tuned.params(0), first.params(0))  # learning rate 0: unchanged
    assert not np.allclose(tuned.params(1)["dense"]["kernel"], first.params(1)["dense"]["kernel"])
    # variant 1 equals fine-tuning variant 1's params alone
    trainer = fn.compile(
        model, "sparse_categorical_crossentropy", fn.optimizers.get("adam", learning_rate=1e-3), metrics=["accuracy"]
    )
    _, fit_key = fn.sweep.variant_keys(jax.random.key(1), 0)
    assert_variant_equals(tuned, 1, *trainer.fit(first.params(1), x, y, key=fit_key, **FIT))
    with pytest.raises(ValueError, match=r"initial_params\['dense'\]\['bias'\] must have shape \(3, 8\).*got \(2, 8\)"):
        fn.sweep.fit(
            model,
            x,
            y,
            fn.sweep.seeds(3),
            optimizer="adam",
            initial_params=first.states.params,
            key=jax.random.key(1),
            **COMMON,
        )


@pytest.mark.parametrize(
    "variants, error, message",
    [
        (
            {"learning_rate": np.array([0.1, -0.01])},
            ValueError,
            r"variant learning_rate must be a number in \[0, inf\)",
        ),
        ({"learning_rate": np.array([0.1, np.nan])}, ValueError, "variant learning_rate must be finite"),
        ({"seed": np.array([0.5, 1.5])}, TypeError, "variant seed must be an integer"),
        ({"seed": np.array([-1, 2])}, ValueError, r"variant seed must be an integer in \[0, inf\)"),
    ],
)
def test_every_swept_value_is_checked_before_compiling(data, variants, error, message):
    x, y = data
    with pytest.raises(error, match=message):
        fn.sweep.fit(build(0.0, 0.0), x, y, variants, optimizer="adam", key=jax.random.key(0), **COMMON)


def test_builder_values_are_checked_by_the_builder(data):
    x, y = data
    with pytest.raises(ValueError, match=r"Dropout rate must be a number in \[0, 1\)"):
        fn.sweep.fit(
            build,
            x,
            y,
            {"l2": np.array([0.0, 0.0]), "dropout": np.array([0.1, 1.5])},
            optimizer="adam",
            key=jax.random.key(0),
            **COMMON,
        )


def test_unknown_distributions_and_conflicting_monitors_are_errors(data):
    x, y = data
    with pytest.raises(ValueError, match=r"must be one of \['uniform', 'log_uniform'\].*'loguniform'"):
        fn.sweep.random_search(jax.random.key(0), 4, learning_rate=("loguniform", 1e-4, 1e-1))
    with pytest.raises(ValueError, match="uniform for 'dropout' needs low < high"):
        fn.sweep.random_search(jax.random.key(0), 4, dropout=("uniform", 0.5, 0.1))
    stop = callbacks.EarlyStopping(monitor="val_loss")
    with pytest.raises(ValueError, match="monitor='val_accuracy' but early_stopping monitors 'val_loss'"):
        fn.sweep.fit(
            build(0.0, 0.0),
            x,
            y,
            fn.sweep.seeds(2),
            optimizer="adam",
            key=jax.random.key(0),
            early_stopping=stop,
            monitor="val_accuracy",
            **COMMON,
        )
