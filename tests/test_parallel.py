"""Data-parallel training on 8 simulated CPU devices matches the single-device run.

The device count is fixed when JAX starts, so the comparison runs in a
subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=8.
"""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import fnnet as fn

SCRIPT = textwrap.dedent("""
    import json
    import jax, numpy as np
    import fnnet as fn
    from fnnet import layers

    assert jax.device_count() == 8, jax.devices()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)).astype(np.float32)   # 100 samples: the last batch of 32 is partial
    y = fn.data.to_categorical((x[:, 0] + x[:, 1] > 0).astype(int), 2)
    model = fn.Sequential([layers.Dense(16, "tanh"), layers.Dropout(0.2), layers.Dense(2, "softmax")])
    trainer = fn.compile(model, "categorical_crossentropy", "adam", metrics=["accuracy"])
    params = model.init(jax.random.key(0), (6,))
    results = {}
    for name, mesh in (("single", None), ("mesh", fn.parallel.local_mesh())):
        state, history = trainer.fit(params, x, y, epochs=4, batch_size=32, validation_split=0.2,
                                     key=jax.random.key(1), verbose=0, mesh=mesh)
        results[name] = {
            "history": history.history,
            "kernel": np.asarray(state.params["dense"]["kernel"]).tolist(),
            "evaluate": trainer.evaluate(state, x, y, batch_size=16, mesh=mesh, return_dict=True),
            "predict": trainer.predict(state, x, batch_size=8, mesh=mesh).tolist(),
            "sharding": str(state.params["dense"]["kernel"].sharding),
            "replicated": all(leaf.is_fully_replicated for leaf in jax.tree_util.tree_leaves(state.params)),
        }
    sweeps = {}
    for name, mesh in (("single", None), ("mesh", fn.parallel.local_mesh())):
        result = fn.sweep.fit(model, x, y, fn.sweep.grid(learning_rate=[1e-3, 3e-3, 1e-2, 3e-2], seed=[0, 1]),
                              loss="categorical_crossentropy", metrics=["accuracy"], epochs=3, batch_size=16,
                              validation_split=0.2, key=jax.random.key(2), verbose=0, mesh=mesh)
        sweeps[name] = {"history": {k: v.tolist() for k, v in result.history.items()},
                        "kernel": np.asarray(result.states.params["dense"]["kernel"]).tolist(),
                        "sharding": str(result.states.params["dense"]["kernel"].sharding)}
    twice = {name: np.tile(value, 2) for name, value in fn.sweep.grid(learning_rate=[1e-3, 3e-3, 1e-2, 3e-2],
                                                                      seed=[0, 1]).items()}
    chunked = fn.sweep.fit(model, x, y, twice, loss="categorical_crossentropy", metrics=["accuracy"], epochs=3,
                           batch_size=16, validation_split=0.2, key=jax.random.key(2), verbose=0, mesh="local",
                           max_variants_per_program=8)  # two chunks of 8, each sharded over the 8 devices
    sweeps["mesh_chunks"] = {"history": {k: v.tolist() for k, v in chunked.history.items()}}
    def build(units, depth):
        return fn.Sequential([layers.Dense(units, "tanh") for _ in range(depth)] + [layers.Dense(2, "softmax")])

    for name, mesh in (("single", None), ("mesh", "local")):
        halved = fn.sweep.fit(model, x, y, fn.sweep.grid(learning_rate=np.geomspace(1e-3, 1.0, 9)),
                              loss="categorical_crossentropy", epochs=9, batch_size=16, validation_split=0.2,
                              key=jax.random.key(2), verbose=0, mesh=mesh, schedule=fn.sweep.halving(eta=3))
        shaped = fn.sweep.fit(build, x, y, fn.sweep.grid(units=[2, 8], depth=[1, 2], seed=[0, 1]),
                              loss="categorical_crossentropy", epochs=2, batch_size=16, optimizer="sgd",
                              key=jax.random.key(2), verbose=0, mesh=mesh)
        sweeps["halving_" + name] = {k: np.nan_to_num(v, nan=-1.0).tolist() for k, v in halved.history.items()}
        sweeps["shapes_" + name] = {"loss": shaped.history["loss"].tolist(),
                                    "kernel": np.asarray(shaped.params(6)["dense_1"]["kernel"]).tolist()}
    results["sweep"] = sweeps
    try:
        fn.sweep.fit(model, x, y, fn.sweep.seeds(3), loss="categorical_crossentropy", key=jax.random.key(2),
                     verbose=0, mesh="local")
    except ValueError as error:
        results["sweep_error"] = str(error)
    try:
        trainer.fit(params, x, y, batch_size=30, key=jax.random.key(1), verbose=0, mesh="local")
    except ValueError as error:
        results["error"] = str(error)
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def results():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_loss_curve_on_8_devices_matches_one_device_within_1e_5(results):
    single, mesh = results["single"]["history"], results["mesh"]["history"]
    assert list(single) == list(mesh) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    for name in single:
        np.testing.assert_allclose(mesh[name], single[name], rtol=0, atol=1e-5)
    np.testing.assert_allclose(results["mesh"]["kernel"], results["single"]["kernel"], atol=1e-5)


@pytest.mark.slow
def test_evaluate_and_predict_on_the_mesh(results):
    for name, value in results["single"]["evaluate"].items():
        assert results["mesh"]["evaluate"][name] == pytest.approx(value, abs=1e-5)
    np.testing.assert_allclose(results["mesh"]["predict"], results["single"]["predict"], atol=1e-5)


@pytest.mark.slow
def test_parameters_are_replicated_over_the_mesh(results):
    assert "NamedSharding" in results["mesh"]["sharding"]
    assert results["mesh"]["replicated"] is True


@pytest.mark.slow
def test_a_sweep_over_8_devices_equals_its_single_device_run(results):
    single, mesh = results["sweep"]["single"], results["sweep"]["mesh"]
    assert "spec=P('data',)" in mesh["sharding"]  # the variant axis is split over the devices
    for name in single["history"]:
        np.testing.assert_allclose(mesh["history"][name], single["history"][name], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mesh["kernel"], single["kernel"], rtol=1e-5, atol=1e-6)
    assert "K = 3 variants cannot be split evenly over the 8 devices" in results["sweep_error"]


@pytest.mark.slow
def test_a_sweep_in_chunks_over_8_devices_equals_one_program(results):
    single, chunks = results["sweep"]["single"], results["sweep"]["mesh_chunks"]
    for name in single["history"]:
        both = np.asarray(chunks["history"][name])
        for half in (both[:8], both[8:]):  # the same 8 variants twice: each chunk equals the single-device sweep
            np.testing.assert_allclose(half, single["history"][name], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_halving_and_shape_axes_over_8_devices_equal_their_single_device_runs(results):
    sweeps = results["sweep"]
    for name, single in sweeps["halving_single"].items():  # 9, then 3 survivors: filled up to 8 per program
        np.testing.assert_allclose(sweeps["halving_mesh"][name], single, rtol=1e-5, atol=1e-6)
    for name, single in sweeps["shapes_single"].items():
        np.testing.assert_allclose(sweeps["shapes_mesh"][name], single, rtol=1e-5, atol=1e-6)
    assert np.shape(sweeps["shapes_single"]["kernel"]) == (8, 8)  # variant 6: units 8, depth 2


@pytest.mark.slow
def test_batch_size_must_split_over_the_devices(results):
    assert "batch_size 30 must be divisible by the 8 devices" in results["error"]


def test_mesh_argument_is_checked():
    model = fn.Sequential([fn.layers.Dense(1)])
    trainer = fn.compile(model, "mse", "sgd")
    with pytest.raises(TypeError, match="mesh must be a jax.sharding.Mesh, 'local' or None"):
        trainer.predict(model.init(jax.random.key(0), (1,)), np.ones((2, 1)), mesh="all")
