"""Epoch time of fnnet's ``fit`` against hand-written JAX loops and peer frameworks, in one process.

    python benchmarks/bench_fit.py                 # W1 and W2, all contenders that import
    python benchmarks/bench_fit.py --workloads W2 --epochs 6 --no-peers

Contenders, all training the same model on the same data (``workloads.py``):

- ``fnnet fit``: ``fn.compile(...).fit(..., verbose=0)``, one compiled scan per epoch;
- ``jax scan``: a hand-written ``jax.jit`` + ``lax.scan`` epoch over a permutation
  (drops the last partial batch, as a scan must; fnnet keeps and masks it);
- ``jax step loop``: a hand-written ``jax.jit`` step called per batch from Python;
- peers from ``peers.py`` (Keras 3 on JAX, Flax NNX, Equinox, PyTorch CPU) when installed.

For each contender: the first epoch (compile included) and the median of the
steady epochs after it. The ratio column divides by the hand-written scan's
steady epoch. Results are printed and written to ``benchmarks/RESULTS.md``
(the section of this machine's device kind is replaced, others are kept).
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
from report import write_section
from workloads import WORKLOADS, make_data


def _optimizer(workload):
    return getattr(optax, workload.optimizer)(workload.learning_rate)


def _handwritten(workload):
    """Glorot-uniform params, a forward pass to logits, and the loss: what a JAX user writes by hand."""
    keys = jax.random.split(jax.random.key(0), len(workload.sizes) - 1)
    init = jax.nn.initializers.glorot_uniform()
    params = [(init(k, (m, n)), jnp.zeros(n)) for k, m, n in zip(keys, workload.sizes[:-1], workload.sizes[1:])]
    hidden = getattr(jax.nn, workload.hidden_activation, None) or getattr(jnp, workload.hidden_activation)

    def loss(params, x, y):
        for w, b in params[:-1]:
            x = hidden(x @ w + b)
        w, b = params[-1]
        out = x @ w + b
        if workload.loss == "categorical_crossentropy":
            return jnp.mean(optax.softmax_cross_entropy(out, y))
        return jnp.mean((jnp.tanh(out) - y) ** 2)

    return params, loss


def _timed_epochs(run_epoch, epochs):
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - start)
    return times


def _update(loss, opt):
    """The hand-written step: one value_and_grad and one optax update."""
    def update(params, opt_state, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return update


def run_jax_scan(workload, x, y, epochs):
    params, loss = _handwritten(workload)
    opt = _optimizer(workload)
    update = _update(loss, opt)
    batches = len(x) // workload.batch_size

    @jax.jit
    def epoch(params, opt_state, x, y, key):
        order = jax.random.permutation(key, len(x))[: batches * workload.batch_size]

        def step(carry, index):
            params, opt_state, value = update(*carry, x[index], y[index])
            return (params, opt_state), value

        (params, opt_state), values = jax.lax.scan(step, (params, opt_state), order.reshape(batches, -1))
        return params, opt_state, jnp.mean(values)

    carry = {"state": (params, opt.init(params)), "epoch": 0}

    def run_epoch():
        if carry["epoch"] == 0:  # the first epoch pays for the transfer, like fit
            carry["data"] = (jnp.asarray(x), jnp.asarray(y))
        params, opt_state, value = epoch(*carry["state"], *carry["data"], jax.random.key(carry["epoch"]))
        float(value)
        carry["state"], carry["epoch"] = (params, opt_state), carry["epoch"] + 1

    return _timed_epochs(run_epoch, epochs)


def run_jax_step_loop(workload, x, y, epochs):
    params, loss = _handwritten(workload)
    opt = _optimizer(workload)
    batches = len(x) // workload.batch_size

    update = _update(loss, opt)

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
            params, opt_state, value = step(params, opt_state, *carry["data"],
                                            order[i * workload.batch_size:(i + 1) * workload.batch_size])
        float(value)
        carry["state"], carry["epoch"] = (params, opt_state), carry["epoch"] + 1

    return _timed_epochs(run_epoch, epochs)


class _EpochEnds(fn.callbacks.Callback):
    def __init__(self):
        self.ends = []

    def on_epoch_end(self, epoch, logs, state):
        self.ends.append(time.perf_counter())


def run_fnnet(workload, x, y, epochs):
    hidden = [fn.layers.Dense(n, workload.hidden_activation) for n in workload.sizes[1:-1]]
    model = fn.Sequential([*hidden, fn.layers.Dense(workload.sizes[-1], workload.output_activation)])
    trainer = fn.compile(model, workload.loss, _optimizer(workload))
    params = model.init(jax.random.key(0), x.shape[1:])
    timer = _EpochEnds()
    start = time.perf_counter()  # the first epoch includes fit's checks, the transfer and the compile
    trainer.fit(params, x, y, epochs=epochs, batch_size=workload.batch_size, key=jax.random.key(1),
                verbose=0, callbacks=[timer])
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
            print(f"  {workload.name} {name:>14}: first {times[0]:.3f} s, steady {statistics.median(times[1:]):.4f} s",
                  flush=True)
    return {name: (statistics.median(firsts[name]), statistics.median(steadies[name])) for name in contenders}


def _table(workload, results):
    base = results["jax scan"][1]
    rows = [f"### {workload.name}: MLP {'-'.join(map(str, workload.sizes))}, {workload.optimizer} "
            f"lr {workload.learning_rate}, batch {workload.batch_size}, {workload.samples:,} samples", "",
            "| contender | first epoch (s) | steady epoch (s, median) | steady / jax scan |",
            "|---|---:|---:|---:|"]
    for name, (first, steady) in results.items():
        rows.append(f"| {name} | {first:.3f} | {steady:.4f} | {steady / base:.2f}x |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2"], choices=sorted(WORKLOADS))
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run: the first compiles, the rest are steady")
    parser.add_argument("--repeats", type=int, default=3, help="runs per contender, interleaved")
    parser.add_argument("--no-peers", action="store_true", help="only fnnet and the hand-written JAX loops")
    parser.add_argument("--output", default="benchmarks/RESULTS.md")
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
    tables = [_table(WORKLOADS[name], benchmark(WORKLOADS[name], contenders, args.epochs, args.repeats))
              for name in args.workloads]
    section = "\n\n".join([
        f"## {kind}",
        f"{platform.machine()}, {jax.device_count()} JAX device(s), Python {platform.python_version()}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        f"Command: `python benchmarks/bench_fit.py --workloads {' '.join(args.workloads)} "
        f"--epochs {args.epochs} --repeats {args.repeats}{' --no-peers' if args.no_peers else ''}`; "
        f"medians over {args.repeats} runs x {args.epochs - 1} steady epochs.",
        *tables,
    ])
    write_section(args.output, "Benchmark results (benchmarks/bench_fit.py)", kind, section)
    print(section)


if __name__ == "__main__":
    main()
