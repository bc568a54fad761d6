"""First calls with JAX's persistent compilation cache (``fn.enable_compilation_cache``): a fresh process against a
second fresh process that finds the first one's programs.

    python benchmarks/bench_compile_cache.py            # W1, W2 (first fit) and W3 (first sweep call), 3 rounds
    python benchmarks/bench_compile_cache.py --rounds 1 --samples 2000

Each round uses a new empty cache folder and runs, per workload, three fresh processes one after another:
``off`` (``FNNET_COMPILATION_CACHE=0``), ``cold`` (the cache on, empty: compiles and writes) and ``warm`` (the
same folder: loads). Timed in each process: ``fn.compile`` plus the first ``trainer.fit(params, x, y, epochs=1)``
(W1, W2) or the first ``fn.sweep.fit`` over 32 learning rates (W3), data on the device, to completion; the
import of JAX and fnnet is not timed. Medians over rounds; cache hits and misses from ``jax.monitoring``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

RUN = """
import collections, json, sys, time
import jax, jax.numpy as jnp, numpy as np
events = collections.Counter()
jax.monitoring.register_event_listener(lambda name, **kw: events.__setitem__(name, events[name] + 1))
sys.path.insert(0, "benchmarks")
import fnnet as fn
import workloads
fn.enable_compilation_cache()
name, samples = sys.argv[1], int(sys.argv[2])
w = workloads.WORKLOADS["W2" if name == "W3" else name]._replace(samples=samples)
x, y = (jnp.asarray(a) for a in workloads.make_data(w))
model = workloads.fnnet_model(w)
params = model.init(jax.random.key(0), x.shape[1:])
jax.block_until_ready(params)
start = time.perf_counter()
if name == "W3":
    grid = fn.sweep.grid(learning_rate=np.geomspace(1e-3, 0.3, 32))
    result = fn.sweep.fit(model, x, y, grid, loss=w.loss, optimizer=w.optimizer, epochs=1, batch_size=w.batch_size,
                          key=jax.random.key(0), verbose=0)
    jax.block_until_ready(result.history)
else:
    trainer = fn.compile(model, w.loss, workloads.fnnet_optimizer(w))
    state, _ = trainer.fit(params, x, y, epochs=1, batch_size=w.batch_size, key=jax.random.key(0), verbose=0)
    jax.block_until_ready(state.params)
print(json.dumps({"seconds": time.perf_counter() - start, "hits": events["/jax/compilation_cache/cache_hits"],
                  "misses": events["/jax/compilation_cache/cache_misses"]}))
"""


def first_call(workload, samples, cache):
    environment = {**os.environ, "FNNET_COMPILATION_CACHE": cache}
    done = subprocess.run(
        [sys.executable, "-c", RUN, workload, str(samples)], env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2", "W3"], choices=["W1", "W2", "W3"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=None, help="samples per workload (default: its own)")
    arguments = parser.parse_args()
    defaults = {"W1": 60_000, "W2": 10_000, "W3": 10_000}
    rows = {}
    for _ in range(arguments.rounds):
        with tempfile.TemporaryDirectory() as folder:
            for workload in arguments.workloads:
                samples = arguments.samples or defaults[workload]
                runs = {
                    "off": first_call(workload, samples, "0"),
                    "cold": first_call(workload, samples, os.path.join(folder, workload)),
                    "warm": first_call(workload, samples, os.path.join(folder, workload)),
                }
                for kind, run in runs.items():
                    rows.setdefault(workload, {}).setdefault(kind, []).append(run)
    print(
        "| workload | cache off | cold (compiles, writes) | warm (second process) | warm / off | warm hits / misses |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for workload, kinds in rows.items():
        median = {kind: statistics.median(run["seconds"] for run in runs) for kind, runs in kinds.items()}
        warm = kinds["warm"][-1]
        print(
            f"| {workload} | {median['off']:.3f} s | {median['cold']:.3f} s | {median['warm']:.3f} s | "
            f"{median['warm'] / median['off']:.2f}x | {warm['hits']} / {warm['misses']} |"
        )


if __name__ == "__main__":
    main()
