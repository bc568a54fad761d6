"""Run every experiment: ``python experiments/run_all.py [--quick] [--out DIR] [NAME ...]``.

Full runs (``make experiments``) start one process per experiment, so each
JSON's wall-clock and CPU seconds are that experiment's own, JAX's start
included. ``--quick`` runs (``make experiments-quick``, the tests) share one
process: JAX, fnnet and matplotlib start once (about 3 s each time saved) and
each experiment's seconds are counted from its own start. Prints a table of
the seconds and exits 1 if any experiment failed.
"""

import argparse
import pathlib
import subprocess
import sys
import time
import traceback

HERE = pathlib.Path(__file__).resolve().parent
EXPERIMENTS = [
    "backprop_delta_rule",
    "activations",
    "initialization",
    "learning_rate",
    "batch_size",
    "optimizers",
    "overfitting",
    "playground_lessons",
    "model_comparison",
    "mnist1d_table",
    "tune_digits",
    "mnist_mlp",
]


def run_in_process(names, out):
    """Import each experiment and call its main() with ``--quick --out out``; returns {name: seconds or None}."""
    import _common  # after sys.argv holds --quick: it sets XLA's fast-compile flag before JAX starts

    seconds = {}
    for name in names:
        sys.argv = [f"{name}.py", "--quick", "--out", str(out)]
        _common.restart_clock()
        start = time.perf_counter()
        try:
            __import__(name).main()
            seconds[name] = time.perf_counter() - start
        except Exception:  # report it, run the others, fail at the end
            traceback.print_exc()
            seconds[name] = None
    return seconds


def run_in_processes(names, out):
    """One ``python experiments/<name>.py --out out`` process per experiment; returns {name: seconds or None}."""
    seconds = {}
    for name in names:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / f"{name}.py"), "--out", str(out)])
        seconds[name] = time.perf_counter() - start if done.returncode == 0 else None
    return seconds


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("names", nargs="*", default=EXPERIMENTS, help="experiments to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small runs, all in this one process")
    parser.add_argument("--out", default="out", help="folder for the figures and JSONs (default: out)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(EXPERIMENTS))
    if unknown:
        parser.error(f"unknown experiments {unknown}; choose from {EXPERIMENTS}")
    start = time.perf_counter()
    seconds = (run_in_process if args.quick else run_in_processes)(args.names, args.out)
    print(f"\n{'experiment':<22}{'wall seconds':>14}")
    for name, value in seconds.items():
        print(f"{name:<22}{'FAILED' if value is None else f'{value:.1f}':>14}")
    print(f"{'total':<22}{time.perf_counter() - start:>14.1f}")
    sys.exit(1 if None in seconds.values() else 0)


if __name__ == "__main__":
    main()
