"""What every experiment shares: the command line, the output files, the data it reuses.

Each experiment is ``python experiments/<name>.py [--quick] [--out DIR]`` and
writes ``DIR/<name>.png`` (the figure) and ``DIR/<name>.json``: the numbers
behind the figure, the configuration, the seeds, fnnet's and JAX's versions,
whether it was a ``--quick`` run, and its wall-clock and CPU seconds.
Non-finite numbers (a diverged loss) are written as ``null``.
"""

import argparse
import functools
import json
import math
import os
import pathlib
import platform
import re
import sys
import time

# The clock starts before JAX and fnnet are imported: the seconds written are the whole run's (CPU seconds are
# the process's own, all threads, since it started).
_START_WALL, _START_CPU = time.perf_counter(), 0.0

if "--quick" in sys.argv[1:] and "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    # A --quick run is tiny and mostly compiling: compile fast (LLVM at -O0) rather than run fast. XLA reads the
    # flag when JAX starts its backend, so every experiment imports this module before jax and fnnet.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

import fnnet as fn  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)

plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3, "legend.fontsize": 8})


def restart_clock():
    """Count the seconds written by ``save`` from now (run_all.py runs several experiments in one process)."""
    global _START_WALL, _START_CPU
    _START_WALL, _START_CPU = time.perf_counter(), time.process_time()


def parse_args(doc, **options):
    """``--quick`` and ``--out DIR`` (default ``out``), plus ``options``: ``name=(type, default, help)``
    (``type`` bool makes a flag)."""
    parser = argparse.ArgumentParser(description=doc.strip().split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run (for the tests)")
    parser.add_argument("--out", default="out", help="folder for <name>.png and <name>.json (default: out)")
    for name, (kind, default, text) in options.items():
        if kind is bool:
            parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=text)
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    arguments = parser.parse_args()
    fn.enable_compilation_cache()  # a second run loads the programs this one compiles (FNNET_COMPILATION_CACHE=0: off)
    return arguments


def jsonable(value):
    """NumPy and JAX values as plain JSON: lists, floats (non-finite as None), ints, strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.ndarray, jax.Array)):
        return jsonable(np.asarray(value).tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value


def dumps(record):
    """JSON with one key per line, and each list of plain numbers on one line (curves stay readable and small)."""
    text = json.dumps(record, indent=1)
    return (
        re.sub(
            r"\[\s*((?:-?[\d.eE+-]+|null)(?:,\s*(?:-?[\d.eE+-]+|null))*)\s*\]",
            lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
            text,
        )
        + "\n"
    )


def save(name, args, fig, *, config, seeds, results):
    """Write ``<out>/<name>.png`` and ``<out>/<name>.json``; print where, and the seconds taken."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{name}.png", bbox_inches="tight")
    plt.close(fig)
    record = {
        "experiment": name,
        "fnnet_version": fn.__version__,
        "jax_version": jax.__version__,
        "platform": f"{platform.machine()} {jax.default_backend()}",
        "quick": args.quick,
        "config": config,
        "seeds": seeds,
        "results": results,
        "wall_seconds": time.perf_counter() - _START_WALL,
        "cpu_seconds": time.process_time() - _START_CPU,
    }
    (out / f"{name}.json").write_text(dumps(jsonable(record)))
    print(f"wrote {out / name}.png and {out / name}.json in {record['wall_seconds']:.1f} s")
    return record


def digits(seed=0):
    """The embedded digits, shuffled once (they come grouped by writer) and standardized on the training part.

    Returns ``(x_train, y_train), (x_test, y_test)`` with integer labels.
    """
    (x_train, y_train), (x_test, y_test) = fn.datasets.digits.load_data()
    order = np.random.default_rng(seed).permutation(len(x_train))
    x_train, y_train = x_train[order], y_train[order]
    x_train, x_test, _ = fn.data.standardize(x_train, x_test)
    return (np.asarray(x_train, np.float32), y_train), (np.asarray(x_test, np.float32), y_test)


@functools.cache
def mnist1d():
    """``fn.datasets.mnist1d.load_data()``, generated once per process (it takes seconds; run_all.py reuses it)."""
    return fn.datasets.mnist1d.load_data()


def mean_std(history, name):
    """Mean and standard deviation over the variant axis of a sweep's ``(K, epochs)`` history."""
    values = np.asarray(history[name], np.float64)
    return values.mean(axis=0), values.std(axis=0)
