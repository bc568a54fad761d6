"""Dtype policies: float32 by default, mixed_bfloat16 (float32 params, bfloat16 compute, float32 loss),
float64 end to end; optimizers by name keep float32 state for low-precision params."""

import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fnnet as fn
from fnnet import layers, regularizers

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    return x, (x[:, :1] - x[:, 1:2] > 0).astype(np.float32)


def model():
    return fn.Sequential(
        [layers.Dense(8, "tanh", kernel_regularizer=regularizers.l2(1e-3)), layers.Dense(1, "sigmoid")]
    )


def dtypes(tree):
    return {str(leaf.dtype) for leaf in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(leaf.dtype, jnp.floating)}


def test_policies_by_name_and_bad_names():
    assert fn.precision.get("mixed_bfloat16") == fn.precision.Policy("mixed_bfloat16", "float32", "bfloat16")
    with pytest.raises(ValueError, match="unknown dtype_policy 'bfloat16'; valid names: float32, mixed_bfloat16"):
        fn.compile(model(), "mse", "sgd", dtype_policy="bfloat16")
    with pytest.raises(TypeError, match="dtype_policy must be a name"):
        fn.compile(model(), "mse", "sgd", dtype_policy=jnp.bfloat16)


def test_float64_without_x64_is_refused():
    if jax.config.jax_enable_x64:
        pytest.skip("64-bit mode is on in this run")
    with pytest.raises(ValueError, match="needs 64-bit mode"):
        fn.compile(model(), "mse", "sgd", dtype_policy="float64")


@pytest.mark.slow
def test_mixed_bfloat16_computes_in_bfloat16_and_scores_in_float32(data):
    x, y = data
    net = model()
    trainer = fn.compile(net, "binary_crossentropy", "adam", metrics=["accuracy"], dtype_policy="mixed_bfloat16")
    params = net.init(jax.random.key(0), (3,))
    objective = trainer.objective
    jaxpr = str(jax.make_jaxpr(lambda p: objective.apply(p, x))(params))
    assert "bf16[64,8]" in jaxpr and "dot_general" in jaxpr  # the hidden layer's matmul is in bfloat16
    assert objective.apply(params, x).dtype == jnp.float32
    scores = jax.eval_shape(lambda p: objective.scores(p, y, objective.apply(p, x)), params)
    assert {name: str(s.dtype) for name, s in scores.items()} == {"loss": "float32", "accuracy": "float32"}
    grads = jax.grad(lambda p: objective(p, x, y))(params)
    assert dtypes(grads) == {"float32"}
    state, history = trainer.fit(params, x, y, epochs=5, batch_size=16, key=jax.random.key(1), verbose=0)
    assert dtypes(state.params) == {"float32"} and dtypes(state.opt_state) == {"float32"}
    assert np.all(np.isfinite(history.history["loss"])) and history.history["loss"][-1] < history.history["loss"][0]
    float32 = fn.compile(net, "binary_crossentropy", "adam", metrics=["accuracy"])
    reference = float32.evaluate(state, x, y, return_dict=True)["loss"]
    assert trainer.evaluate(state, x, y, return_dict=True)["loss"] == pytest.approx(reference, rel=2e-2)
    assert trainer.predict(state, x).dtype == np.float32


@pytest.mark.parametrize("optimizer", ["adam", "amsgrad", "nadam", "rmsprop", "adamax"])
@pytest.mark.parametrize("low", [jnp.bfloat16, jnp.float16])
def test_optimizers_by_name_keep_float32_state_for_low_precision_params(data, optimizer, low):
    x, y = data
    net = model()
    params = jax.tree_util.tree_map(lambda leaf: leaf.astype(low), net.init(jax.random.key(0), (3,)))
    opt = fn.optimizers.get(optimizer, learning_rate=0.01)
    state = fn.training.init_state(params, opt, jax.random.key(1))
    assert dtypes(state.opt_state) <= {"float32"}
    step = jax.jit(fn.train_step(net, "binary_crossentropy", opt))
    losses = []
    for _ in range(40):
        state, logs = step(state, x.astype(low), y)
        losses.append(float(logs["loss"]))
    assert dtypes(state.params) == {np.dtype(low).name} and dtypes(state.opt_state) <= {"float32"}
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_low_precision_params_are_cast_up_and_higher_precision_is_refused(data):
    x, y = data
    net = model()
    bf16 = jax.tree_util.tree_map(lambda leaf: leaf.astype(jnp.bfloat16), net.init(jax.random.key(0), (3,)))
    trainer = fn.compile(net, "binary_crossentropy", "adam")
    state, history = trainer.fit(bf16, x, y, epochs=2, key=jax.random.key(1), verbose=0)
    assert dtypes(state.params) == {"float32"} and np.all(np.isfinite(history.history["loss"]))
    with pytest.raises(ValueError, match=r"state's params\['dense'\]\['bias'\] are bfloat16"):
        trainer.fit(fn.training.init_state(bf16, trainer.optimizer, jax.random.key(0)), x, y, verbose=0)


def test_bfloat16_and_float16_inputs_are_numbers(data):
    x, y = data
    net = model()
    trainer = fn.compile(net, "binary_crossentropy", "sgd", metrics=["accuracy"])
    params = net.init(jax.random.key(0), (3,))
    for low in (jnp.bfloat16, jnp.float16):
        state, history = trainer.fit(params, jnp.asarray(x, low), y, epochs=1, key=jax.random.key(1), verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert trainer.predict(state, x.astype(low)).dtype == np.float32


@pytest.mark.slow
def test_float64_policy_trains_end_to_end_and_check_grads_works_on_the_trained_loss(data):
    x, y = data
    net = model()
    with jax.enable_x64(True):
        trainer = fn.compile(net, "binary_crossentropy", "adam", metrics=["accuracy"], dtype_policy="float64")
        state, history = trainer.fit(
            net.init(jax.random.key(0), (3,)),
            x,
            y,
            epochs=5,
            batch_size=16,
            validation_split=0.25,
            key=jax.random.key(1),
            verbose=0,
        )
        assert dtypes(state.params) == {"float64"} and dtypes(state.opt_state) == {"float64"}
        assert history.history["loss"][-1] < history.history["loss"][0]
        assert trainer.predict(state, x).dtype == np.float64
        fn.testing.check_grads(lambda p: trainer.objective(p, x, y), state.params)
        sweep = fn.sweep.fit(
            net,
            x,
            y,
            fn.sweep.grid(learning_rate=[0.01, 0.1]),
            loss="binary_crossentropy",
            epochs=2,
            batch_size=16,
            key=jax.random.key(0),
            verbose=0,
            dtype_policy="float64",
        )
        assert dtypes(sweep.states.params) == {"float64"}
        folds = fn.sweep.cross_validate(
            net,
            x,
            y,
            folds=2,
            loss="binary_crossentropy",
            epochs=1,
            batch_size=16,
            key=jax.random.key(0),
            dtype_policy="float64",
        )
        assert np.all(np.isfinite(folds.history["val_loss"]))


@pytest.mark.slow
def test_every_test_of_test_train_passes_under_the_float64_policy():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_train.py", "--dtype-policy", "float64"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
