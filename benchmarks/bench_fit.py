"""Epoch time of fnnet's ``fit`` against hand-written JAX loops and peer frameworks, in one process.

    python benchmarks/bench_fit.py                 # W1 and W2, all contenders that import
    python benchmarks/bench_fit.py --workloads W2 --epochs 6 --no-peers

Contenders, all training the same model on the same data (``workloads.py``):

- ``fnnet fit``: ``fn.compile(...).fit(..., verbose=0)``, one compiled scan per epoch;
- ``jax scan``: the hand-written limit of ``limit.py``, a ``jax.jit`` + ``lax.scan`` epoch
  over a host permutation (drops the last partial batch, as a scan must; fnnet keeps and masks it);
- ``jax step loop``: a hand-written ``jax.jit`` step called per batch from Python;
- peers from ``peers.py`` (Keras 3 on JAX, Flax NNX, Equinox, PyTorch CPU) when installed.

For each contender: the first epoch (compile included) and the median of the
steady epochs after it. The ratio column divides by the hand-written scan's
steady epoch. Results are printed and written to ``benchmarks/RESULTS_PEERS.md``
(the section of this machine's device kind is replaced, others are kept).
``bench_calls.py`` measures fnnet against the hand-written limit with the issue's
per-call protocol; its table leads ``benchmarks/RESULTS.md``.
"""

import argparse
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import fnnet as fn
import limit
from report import write_section
from workloads import WORKLOADS, fnnet_model, fnnet_optimizer, make_data


def _timed_epochs(run_epoch, epochs):
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - start)
    return times


def run_jax_scan(workload, x, y, epochs):
    """The hand-written limit of ``limit.py``: one jitted scan per epoch over a host permutation."""
    params, loss = limit.handwritten(workload)
    opt = limit.optimizer(workload)
    epoch = jax.jit(limit.epoch_fn(loss, opt))
    carry = {"state": (params, opt.init(params)), "epoch": 0}

    def run_epoch():
        if carry["epoch"] == 0:  # the first epoch pays for the transfer, like fit
            carry["data"] = (jnp.asarray(x), jnp.asarray(y))
        order = limit.host_order(len(x), workload.batch_size, carry["epoch"])
        params, opt_state, value = epoch(*carry["state"], *carry["data"], order)
        float(value)
        carry["state"], carry["epoch"] = (params, opt_state), carry["epoch"] + 1

    return _timed_epochs(run_epoch, epochs)


def run_jax_step_loop(workload, x, y, epochs):
    params, loss = limit.handwritten(workload)
    opt = limit.optimizer(workload)
    batches = len(x) // workload.batch_size
    update = limit.update_fn(loss, opt)

    @jax.jit
    def step(params, opt_state, x, y, index):
        return update(params, opt_state, x[index], y[index])

    carry = {"state": (params, opt.init(params)), "epoch": 0}

    def run_epoch():
        if carry["epoch"] == 0:
            carry["data"] = (jnp.asarray(x), jnp.asarray(y))
        order = np.random.default_rng(carry["epoch"]).permutation(len(x))
        params, opt_state = carry["state"]
        for i in range(batches):
            params, opt_state, value = step(
                params, opt_state, *carry["data"], order[i * workload.batch_size : (i + 1) * workload.batch_size]
            )
        float(value)
        carry["state"], carry["epoch"] = (params, opt_state), carry["epoch"] + 1

    return _timed_epochs(run_epoch, epochs)


class _EpochEnds(fn.callbacks.Callback):
    def __init__(self):
        self.ends = []

    def on_epoch_end(self, epoch, logs, state):
        self.ends.append(time.perf_counter())


def run_fnnet(workload, x, y, epochs):
    model = fnnet_model(workload)
    trainer = fn.compile(model, workload.loss, fnnet_optimizer(workload))
    params = model.init(jax.random.key(0), x.shape[1:])
    timer = _EpochEnds()
    start = time.perf_counter()  # the first epoch includes fit's checks, the transfer and the compile
    trainer.fit(
        params, x, y, epochs=epochs, batch_size=workload.batch_size, key=jax.random.key(1), verbose=0, callbacks=[timer]
    )
    return list(np.diff([start, *timer.ends]))


CORE = {"fnnet fit": run_fnnet, "jax scan": run_jax_scan, "jax step loop": run_jax_step_loop}


def benchmark(workload, contenders, epochs, repeats):
    """``{name: (first epoch seconds, median steady epoch seconds)}``, contenders interleaved per repeat."""
    x, y = make_data(workload)
    firsts, steadies = {}, {}
    for _ in range(repeats):
        for name, run in contenders.items():
            times = run(workload, x, y, epochs)
            firsts.setdefault(name, []).append(times[0])
            steadies.setdefault(name, []).extend(times[1:])
            print(
                f"  {workload.name} {name:>14}: first {times[0]:.3f} s, steady {statistics.median(times[1:]):.4f} s",
                flush=True,
            )
    return {name: (statistics.median(firsts[name]), statistics.median(steadies[name])) for name in contenders}


def _table(workload, results):
    base = results["jax scan"][1]
    rows = [
        f"### {workload.name}: MLP {'-'.join(map(str, workload.sizes))}, {workload.optimizer} "
        f"lr {workload.learning_rate}, batch {workload.batch_size}, {workload.samples:,} samples",
        "",
        "| contender | first epoch (s) | steady epoch (s, median) | steady / jax scan |",
        "|---|---:|---:|---:|",
    ]
    for name, (first, steady) in results.items():
        rows.append(f"| {name} | {first:.3f} | {steady:.4f} | {steady / base:.2f}x |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2"], choices=sorted(WORKLOADS))
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run: the first compiles, the rest are steady")
    parser.add_argument("--repeats", type=int, default=3, help="runs per contender, interleaved")
    parser.add_argument("--no-peers", action="store_true", help="only fnnet and the hand-written JAX loops")
    parser.add_argument("--output", default="benchmarks/RESULTS_PEERS.md")
    args = parser.parse_args()

    contenders, versions = dict(CORE), {"jax": jax.__version__, "optax": optax.__version__}
    if not args.no_peers:
        import peers

        for name, version in peers.available().items():
            contenders[name] = peers.PEERS[name]
            versions[name] = version
    device = jax.devices()[0]
    kind = f"{device.platform.upper()}: {device.device_kind}"
    print(f"{kind}, {jax.device_count()} device(s); {versions}", flush=True)
    tables = [
        _table(WORKLOADS[name], benchmark(WORKLOADS[name], contenders, args.epochs, args.repeats))
        for name in args.workloads
    ]
    section = "\n\n".join(
        [
            f"## {kind}",
            f"{platform.machine()}, {jax.device_count()} JAX device(s), Python {platform.python_version()}; "
            + ", ".join(f"{k} {v}" for k, v in versions.items())
            + ".",
            f"Command: `python benchmarks/bench_fit.py --workloads {' '.join(args.workloads)} "
            f"--epochs {args.epochs} --repeats {args.repeats}{' --no-peers' if args.no_peers else ''}`; "
            f"medians over {args.repeats} runs x {args.epochs - 1} steady epochs.",
            *tables,
        ]
    )
    write_section(args.output, "Peer comparison (benchmarks/bench_fit.py)", kind, section)
    print(section)


if __name__ == "__main__":
    main()
