"""fn.sweep.fit(max_variants_per_program=N) (issue 20): chunks of variants, one program each, equal one program."""

import jax
import numpy as np
import pytest

import fnnet as fn

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32) > 0).astype(np.float32)


def model(units=4):
    return fn.Sequential([fn.layers.Dense(units, activation="tanh"), fn.layers.Dense(1, activation="sigmoid")])


def sweep(variants, chunk, **options):
    arguments = dict(
        loss="binary_crossentropy",
        optimizer="sgd",
        metrics=["accuracy"],
        epochs=4,
        batch_size=8,
        validation_split=0.25,
        key=jax.random.key(3),
        verbose=0,
    )
    return fn.sweep.fit(model, X, Y, variants, max_variants_per_program=chunk, **(arguments | options))


def assert_same_sweep(chunked, whole):
    assert chunked.history.keys() == whole.history.keys()
    for name in whole.history:
        np.testing.assert_allclose(chunked.history[name], whole.history[name], rtol=1e-6, equal_nan=True)
    for a, b in zip(jax.tree_util.tree_leaves(chunked.states), jax.tree_util.tree_leaves(whole.states)):
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    assert chunked.best_index == whole.best_index


@pytest.mark.parametrize("chunk", [1, 2, 4, 5])
def test_chunks_equal_one_program_with_one_shared_order(chunk):
    variants = fn.sweep.grid(learning_rate=[0.01, 0.05, 0.1, 0.3, 0.6])
    assert_same_sweep(sweep(variants, chunk), sweep(variants, None))


def test_chunks_equal_one_program_with_a_seed_axis():
    variants = fn.sweep.grid(learning_rate=[0.05, 0.3], seed=[0, 1, 2])
    assert_same_sweep(sweep(variants, 4), sweep(variants, None))


def test_a_chunk_that_stops_early_is_padded_as_one_program_pads():
    variants = fn.sweep.grid(learning_rate=[1e-6, 2e-6, 0.3, 0.5])  # the first chunk stops at once
    stop = fn.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=1e-3, restore_best_weights=True)
    chunked, whole = (
        sweep(variants, 2, early_stopping=stop, epochs=6),
        sweep(variants, None, early_stopping=stop, epochs=6),
    )
    assert np.isnan(chunked.history["loss"][:2, -1]).all()  # stopped, NaN after
    assert_same_sweep(chunked, whole)


def test_chunks_of_one_size_share_one_program():
    variants = fn.sweep.grid(learning_rate=np.geomspace(0.01, 0.5, 8))
    sweep(variants, 4, epochs=1)  # compiles
    before = fn.training.TRACES["sweep_epoch"]
    sweep({"learning_rate": variants["learning_rate"][::-1]}, 4, epochs=1)
    assert fn.training.TRACES["sweep_epoch"] == before


@pytest.mark.parametrize(
    "bad, error",
    [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError), ("4", TypeError), ("Auto", TypeError)],
)
def test_a_bad_chunk_size_is_named(bad, error):
    with pytest.raises(error, match="max_variants_per_program"):
        sweep(fn.sweep.grid(learning_rate=[0.1, 0.2]), bad)


def test_auto_chunks_by_the_free_memory(monkeypatch):
    variants = fn.sweep.grid(learning_rate=np.geomspace(0.01, 0.5, 8))
    one = fn.state.init_state(model().init(jax.random.key(0), (3,)), fn.optimizers.get("sgd"), jax.random.key(0))
    per_variant = fn.sweep.memory.variant_bytes(one, one.params, 8)
    data = X.nbytes + Y.nbytes
    monkeypatch.setattr(fn.sweep.memory, "free_bytes", lambda device=None: data + 2 * 3 * per_variant)
    assert fn.sweep.memory.variants_per_program(8, per_variant, data) == 3
    chosen = []
    choose = fn.sweep.memory.variants_per_program
    monkeypatch.setattr(fn.sweep.memory, "variants_per_program", lambda *a: chosen.append(choose(*a)) or chosen[-1])
    auto = sweep(variants, "auto")
    assert chosen == [3]  # fit chose chunks of 3, 3 and 2 variants
    assert_same_sweep(auto, sweep(variants, None))
    monkeypatch.setattr(fn.sweep.memory, "free_bytes", lambda device=None: 1 << 40)
    assert fn.sweep.memory.variants_per_program(8, per_variant, data) is None  # all fit: one program
