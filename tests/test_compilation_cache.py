"""fn.enable_compilation_cache (issue 20): fnnet's programs compile once per machine.

The cache is turned on only in subprocesses here: in the test process it
would change every later test's compilation.
"""

import json
import os
import subprocess
import sys

import pytest

import fnnet as fn

FIT = """
import collections, json, time
import jax
events = collections.Counter()
jax.monitoring.register_event_listener(lambda name, **kw: events.__setitem__(name, events[name] + 1))
import numpy as np, fnnet as fn
folder = fn.enable_compilation_cache()
model = fn.Sequential([fn.layers.Dense(8, activation="tanh"), fn.layers.Dropout(0.1), fn.layers.Dense(1)])
trainer = fn.compile(model, "mse", "adam", metrics=["mae"])
x = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
y = x[:, :1] * 2
start = time.perf_counter()
state, history = trainer.fit(model.init(jax.random.key(0), (2,)), x, y, epochs=2, batch_size=10,
                             validation_split=0.2, key=jax.random.key(1), verbose=0)
loss = trainer.evaluate(state, x, y, return_dict=True)["loss"]
prediction = trainer.predict(state, x[:5])
hits, misses = events["/jax/compilation_cache/cache_hits"], events["/jax/compilation_cache/cache_misses"]
print(json.dumps({"folder": folder, "hits": hits, "misses": misses, "loss": float(loss),
                  "history": history.history["loss"], "seconds": time.perf_counter() - start}))
"""


def run_fit(environment):
    done = subprocess.run(
        [sys.executable, "-c", FIT], env={**os.environ, **environment}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_second_process_loads_every_program_from_the_cache(tmp_path):
    folder = str(tmp_path / "cache")
    first = run_fit({"FNNET_COMPILATION_CACHE": folder})
    second = run_fit({"FNNET_COMPILATION_CACHE": folder})
    assert first["folder"] == second["folder"] == folder
    assert first["misses"] > 0 and os.listdir(folder)
    assert second["misses"] == 0 and second["hits"] == first["misses"]  # nothing run-specific is baked in
    assert second["history"] == first["history"] and second["loss"] == first["loss"]


@pytest.mark.slow
def test_zero_turns_the_cache_off(tmp_path):
    result = run_fit({"FNNET_COMPILATION_CACHE": "0"})
    assert result["folder"] is None and result["hits"] == 0


def test_zero_returns_none_and_changes_nothing(monkeypatch):
    import jax

    monkeypatch.setenv("FNNET_COMPILATION_CACHE", "0")
    before = jax.config.jax_compilation_cache_dir
    assert fn.enable_compilation_cache() is None
    assert jax.config.jax_compilation_cache_dir == before


def test_the_default_folder_is_under_the_users_cache_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert fn.compilation.default_cache_dir() == os.path.join(str(tmp_path), "fnnet", "jax-compilation")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert fn.compilation.default_cache_dir() == os.path.join(
        os.path.expanduser("~"), ".cache", "fnnet", "jax-compilation"
    )


def test_a_bad_path_is_named_before_anything_changes(tmp_path):
    import jax

    before = jax.config.jax_compilation_cache_dir
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ValueError, match="must be a folder for the compilation cache, got the file"):
        fn.enable_compilation_cache(file)
    with pytest.raises(TypeError, match="path must be a path"):
        fn.enable_compilation_cache(3)
    with pytest.raises(ValueError, match="path must be a path, got an empty string"):
        fn.enable_compilation_cache("")
    assert jax.config.jax_compilation_cache_dir == before
