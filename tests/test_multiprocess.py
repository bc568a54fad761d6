"""Two processes x 2 CPU devices (jax.distributed, gloo) train as one process x 4 devices does.

Each run is tests/multiprocess_worker.py in fresh interpreters: the device
count and the distributed runtime are fixed when JAX starts. The workers
write their results as JSON; here they are compared.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

import fnnet as fn

WORKER = Path(__file__).with_name("multiprocess_worker.py")
ROOT = WORKER.parent.parent
TIMEOUT = 240


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(folder, runs):
    """Start ``runs`` (name -> (device_count, worker args)) together; their JSON results by name."""
    procs = {}
    for name, (devices, args) in runs.items():
        env = {
            **os.environ,
            "JAX_PLATFORMS": "cpu",
            "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        log = open(folder / f"{name}.log", "w")
        procs[name] = (
            subprocess.Popen(
                [sys.executable, str(WORKER), str(folder / f"{name}.json"), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            ),
            log,
        )
    deadline, failed = time.monotonic() + TIMEOUT, None
    try:
        while any(proc.poll() is None for proc, _ in procs.values()):
            failed = next((name for name, (proc, _) in procs.items() if proc.poll() not in (None, 0)), None)
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for proc, log in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            log.close()
    for name, (proc, _) in procs.items():
        if proc.returncode != 0:
            tail = (folder / f"{name}.log").read_text()[-4000:]
            print(f"--- {name} (exit {proc.returncode}) ---\n{tail}", file=sys.stderr)
    bad = {name: proc.returncode for name, (proc, _) in procs.items() if proc.returncode != 0}
    assert not bad, f"workers failed or timed out after {TIMEOUT} s (first failure: {failed}): {bad}"
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in runs}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    port = str(_free_port())
    return _run(
        tmp_path_factory.mktemp("multiprocess"),
        {
            "process0": (2, ["0", "2", port]),
            "process1": (2, ["1", "2", port]),
            "single": (4, []),
        },
    )


def _section(results, run, name):
    """A worker's results for one section; its traceback fails the test."""
    section = results[run][name]
    assert "error" not in section, f"{run} failed in {name}:\n{section['error']}"
    return section


def _close(multi, single, path=""):
    """Nested results agree within 1e-5 (same keys, in the same order)."""
    if isinstance(single, dict):
        assert list(multi) == list(single), path
        for name in single:
            _close(multi[name], single[name], f"{path}/{name}")
    else:
        np.testing.assert_allclose(multi, single, rtol=0, atol=1e-5, err_msg=path)


@pytest.mark.slow
def test_the_runs_have_the_devices_they_claim(results):
    assert [results[n]["processes"] for n in ("process0", "process1", "single")] == [2, 2, 1]
    assert all(results[n]["devices"] == 4 for n in results)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["arrays", "stream", "sweep"])
def test_both_processes_report_the_same(results, name):
    assert _section(results, "process0", name) == _section(results, "process1", name)


@pytest.mark.slow
def test_two_processes_give_the_loss_curve_of_one_process_within_1e_5(results):
    multi, single = _section(results, "process0", "arrays"), _section(results, "single", "arrays")
    assert list(single["history"]) == ["loss", "mae", "val_loss", "val_mae"]
    assert all(len(values) == 4 for values in single["history"].values())
    _close(multi["history"], single["history"])
    _close(multi["kernel"], single["kernel"])


@pytest.mark.slow
def test_evaluate_and_predict_across_processes(results):
    multi, single = _section(results, "process0", "arrays"), _section(results, "single", "arrays")
    assert list(single["evaluate"]) == ["loss", "mae"]
    _close(multi["evaluate"], single["evaluate"])
    assert np.shape(multi["predict"]) == (76, 1)
    _close(multi["predict"], single["predict"])


@pytest.mark.slow
def test_streamed_batches_each_process_feeding_its_half(results):
    _close(_section(results, "process0", "stream"), _section(results, "single", "stream"))


@pytest.mark.slow
def test_a_sweep_splits_its_variants_over_the_processes(results):
    multi, single = _section(results, "process0", "sweep"), _section(results, "single", "sweep")
    assert np.shape(single["history"]["loss"]) == (4, 3)
    _close(multi, single)


@pytest.mark.slow
def test_on_a_mesh_of_two_processes_process_0_alone_writes_and_both_read_the_files(results):
    first, second = _section(results, "process0", "saving"), _section(results, "process1", "saving")
    names = ["job_of_2.safetensors", "job_of_2_checkpoint.safetensors"]
    assert (first["writes"], second["writes"]) == (names, [])
    assert first["files"] == second["files"] == names  # both present for both once save returns; no .tmp left
    assert (
        first["same_model"] and second["same_model"] and first["step"] == second["step"] == 2 * 5
    )  # 76 samples in batches of 16
    assert first["resumed_equals_continued"] and second["resumed_equals_continued"]
    single = _section(results, "single", "saving")
    assert single["writes"] == ["job_of_1.safetensors", "job_of_1_checkpoint.safetensors"]
    for section in (first, second):
        _close(
            {"kernel": section["kernel"], "predict": section["predict"]},
            {"kernel": single["kernel"], "predict": single["predict"]},
        )


# --- the one-process behaviour of the multi-process helpers (in this interpreter) ---------------------


def test_one_process_feeds_the_whole_batch():
    mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
    assert fn.parallel.process_slice(12, mesh) == fn.parallel.process_slice(12, None) == slice(0, 12)
    fn.parallel.check_batch_size(12, mesh, local=True)


def test_place_batch_shards_the_batch_axis_and_fetch_brings_numpy_back():
    mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
    x = np.arange(12.0, dtype=np.float32).reshape(6, 2)
    placed = fn.parallel.place_batch({"x": x, "w": np.ones(6, np.float32)}, mesh)
    assert placed["x"].sharding.spec == jax.sharding.PartitionSpec("data")
    fetched = fn.parallel.fetch(placed)
    assert isinstance(fetched["x"], np.ndarray)
    np.testing.assert_array_equal(fetched["x"], x)
    replicated = fn.parallel.place((x, None), mesh)
    assert replicated[1] is None and replicated[0].sharding.spec == jax.sharding.PartitionSpec()
    key = jax.random.key(0)
    assert fn.parallel.fetch({"key": key})["key"] is key
