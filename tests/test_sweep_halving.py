"""Successive halving inside one sweep (issue 20): fn.sweep.fit(..., schedule=fn.sweep.halving(eta, min_epochs))."""

import jax
import numpy as np
import pytest

import fnnet as fn

RNG = np.random.default_rng(1)
X = RNG.normal(size=(64, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32) > 0).astype(np.float32)
RATES = np.geomspace(0.003, 1.0, 9)


def model():
    return fn.Sequential([fn.layers.Dense(4, activation="tanh"), fn.layers.Dense(1, activation="sigmoid")])


def sweep(variants, **options):
    arguments = dict(
        loss="binary_crossentropy",
        optimizer="sgd",
        metrics=["accuracy"],
        epochs=9,
        batch_size=8,
        validation_split=0.25,
        key=jax.random.key(3),
        verbose=0,
    )
    return fn.sweep.fit(model, X, Y, variants, **(arguments | options))


def test_rungs_are_min_epochs_times_powers_of_eta():
    assert fn.sweep.halving(eta=3).rungs(27) == [1, 3, 9, 27]
    assert fn.sweep.halving(eta=3).rungs(10) == [1, 3, 9, 10]
    assert fn.sweep.halving(eta=2, min_epochs=2).rungs(10) == [2, 4, 8, 10]
    assert fn.sweep.halving(eta=4, min_epochs=5).rungs(3) == [3]


@pytest.mark.parametrize(
    "variants", [fn.sweep.grid(learning_rate=RATES), fn.sweep.grid(learning_rate=RATES[::3], seed=[0, 1, 2])]
)
def test_survivors_train_exactly_as_in_the_full_sweep(variants):
    full = sweep(variants)
    halved = sweep(variants, schedule=fn.sweep.halving(eta=3))
    trained = ~np.isnan(halved.history["loss"])
    assert trained.sum(axis=1).tolist().count(9) == 1  # one variant reaches the end
    assert sorted(trained.sum(axis=1).tolist()) == [1] * 6 + [3] * 2 + [9]
    assert trained.sum() == 9 * 1 + 3 * 2 + 1 * 6  # 21 model-epochs instead of 81
    for name, values in halved.history.items():
        np.testing.assert_allclose(values[trained], full.history[name][trained], rtol=1e-6)
    # who survives: the best by val_loss (the monitor) so far, at each rung
    best_after_1 = np.argsort(full.history["val_loss"][:, 0])[:3]
    assert set(np.flatnonzero(trained[:, 1])) == set(best_after_1)
    winner = int(np.flatnonzero(trained[:, -1])[0])
    for a, b in zip(jax.tree_util.tree_leaves(halved.params(winner)), jax.tree_util.tree_leaves(full.params(winner))):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert halved.best_index == winner  # its best is below every best a culled variant had when culled


def test_halving_with_early_stopping_keeps_the_stopped_out():
    stop = fn.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=0.5)  # everyone stops at once
    halved = sweep(fn.sweep.grid(learning_rate=RATES), schedule=fn.sweep.halving(eta=3), early_stopping=stop)
    assert halved.history["loss"].shape == (9, 2)  # the first rung, and the epoch that stopped the survivors
    assert np.isnan(halved.history["loss"][:, 1]).sum() == 6


@pytest.mark.parametrize(
    "bad, error",
    [
        (dict(eta=1), ValueError),
        (dict(eta=2.5), TypeError),
        (dict(min_epochs=0), ValueError),
        (dict(eta=True), TypeError),
    ],
)
def test_a_bad_schedule_is_named(bad, error):
    with pytest.raises(error, match="eta|min_epochs"):
        fn.sweep.halving(**bad)


def test_schedule_must_be_a_halving():
    with pytest.raises(TypeError, match="schedule must be fn.sweep.halving"):
        sweep(fn.sweep.grid(learning_rate=RATES), schedule=3)


def test_halving_in_chunks_equals_halving_in_one_program():
    variants = fn.sweep.grid(learning_rate=RATES)
    one = sweep(variants, schedule=fn.sweep.halving(eta=3))
    chunked = sweep(variants, schedule=fn.sweep.halving(eta=3), max_variants_per_program=2)
    for name, values in one.history.items():
        np.testing.assert_allclose(chunked.history[name], values, rtol=1e-6)
    assert chunked.best_index == one.best_index
    for a, b in zip(
        jax.tree_util.tree_leaves((chunked.states.params, chunked.states.step)),
        jax.tree_util.tree_leaves((one.states.params, one.states.step)),
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
