"""A 32-variant learning-rate sweep as one vmapped program vs 32 sequential ``fit`` calls.

    python benchmarks/bench_sweep.py                     # W2, 32 learning rates, 20 epochs
    python benchmarks/bench_sweep.py --workload W1 --variants 8 --epochs 2

Three ways to train the same K configurations for the same epochs, in one process:

- ``fn.sweep.fit``: every variant in one compiled program (compile included);
- sequential, one trainer: ``fit`` K times reusing one compiled trainer, the
  learning rate set in the optimizer state (the fastest sequential loop fnnet allows);
- sequential, new trainer each: ``fn.compile`` + ``fit`` per configuration, as a
  user writes it first (each compiles).

Wall-clock medians over ``--repeats`` runs; the speedups divide by the sweep's time.
The section of this device kind in ``benchmarks/RESULTS_SWEEP.md`` is rewritten.
"""

import argparse
import platform
import statistics
import time

import jax
import numpy as np
import optax

import fnnet as fn
from report import write_section
from workloads import WORKLOADS, fnnet_model, make_data


def run_sweep(workload, x, y, rates, epochs):
    fn.sweep.fit(
        fnnet_model(workload),
        x,
        y,
        {"learning_rate": rates},
        loss=workload.loss,
        optimizer=workload.optimizer,
        epochs=epochs,
        batch_size=workload.batch_size,
        key=jax.random.key(0),
        verbose=0,
    )


def run_sequential_one_trainer(workload, x, y, rates, epochs):
    model = fnnet_model(workload)
    trainer = fn.compile(model, workload.loss, workload.optimizer)
    init_key, fit_key = fn.sweep.variant_keys(jax.random.key(0), 0)
    state = trainer.init_state(model.init(init_key, x.shape[1:]), fit_key)
    for rate in rates:
        opt_state = optax.tree_utils.tree_set(state.opt_state, learning_rate=np.float32(rate))
        trainer.fit(state._replace(opt_state=opt_state), x, y, epochs=epochs, batch_size=workload.batch_size, verbose=0)


def run_sequential_new_trainers(workload, x, y, rates, epochs):
    model = fnnet_model(workload)
    init_key, fit_key = fn.sweep.variant_keys(jax.random.key(0), 0)
    for rate in rates:
        trainer = fn.compile(model, workload.loss, fn.optimizers.get(workload.optimizer, learning_rate=float(rate)))
        trainer.fit(
            model.init(init_key, x.shape[1:]),
            x,
            y,
            epochs=epochs,
            batch_size=workload.batch_size,
            key=fit_key,
            verbose=0,
        )


CONTENDERS = {
    "fn.sweep.fit (one program)": run_sweep,
    "sequential fit, one trainer": run_sequential_one_trainer,
    "sequential fit, new trainer each": run_sequential_new_trainers,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", default="W2", choices=sorted(WORKLOADS))
    parser.add_argument("--variants", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default="benchmarks/RESULTS_SWEEP.md")
    args = parser.parse_args()

    workload = WORKLOADS[args.workload]
    x, y = make_data(workload)
    rates = np.geomspace(workload.learning_rate / 10, workload.learning_rate * 10, args.variants).astype(np.float32)
    times = {}
    for _ in range(args.repeats):
        for name, run in CONTENDERS.items():
            start = time.perf_counter()
            run(workload, x, y, rates, args.epochs)
            times.setdefault(name, []).append(time.perf_counter() - start)
            print(f"  {name:>34}: {times[name][-1]:.2f} s", flush=True)
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians["fn.sweep.fit (one program)"]
    device = jax.devices()[0]
    kind = f"{device.platform.upper()}: {device.device_kind}"
    rows = [
        f"## {kind}",
        "",
        f"{platform.machine()}, {jax.device_count()} JAX device(s), jax {jax.__version__}. "
        f"Command: `python benchmarks/bench_sweep.py --workload {args.workload} --variants {args.variants} "
        f"--epochs {args.epochs} --repeats {args.repeats}`; medians over {args.repeats} runs, compile included.",
        "",
        f"### {workload.name}: {args.variants} learning rates x {args.epochs} epochs "
        f"(MLP {'-'.join(map(str, workload.sizes))}, {workload.optimizer}, batch {workload.batch_size}, "
        f"{workload.samples:,} samples)",
        "",
        "| how | wall-clock (s) | time / sweep |",
        "|---|---:|---:|",
        *(f"| {name} | {t:.2f} | {t / base:.1f}x |" for name, t in medians.items()),
    ]
    section = "\n".join(rows)
    print(section)
    write_section(args.output, "Sweep benchmark results (benchmarks/bench_sweep.py)", kind, section)


if __name__ == "__main__":
    main()
