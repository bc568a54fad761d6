"""Per-call time of fnnet against the hand-written JAX limit (issue 8's protocol), side by side in one process.

    python benchmarks/bench_calls.py                      # W1 W2 W3 S1, 3 repeats: the full run (minutes)
    python benchmarks/bench_calls.py --quick              # tiny data, 2 repeats: a smoke test (seconds)
    python benchmarks/bench_calls.py --workloads W2 W3 --calls W2=60 --repeats 5
    python benchmarks/bench_calls.py --gpu-wide --write   # also W1-wide (GPU only); rewrite RESULTS.md

Every row times calls of two contenders on the same data, already on the device
(``jnp.asarray`` once, before timing) for both. Each call is timed to completion
(``jax.block_until_ready`` on the returned params).

W1, W2: one epoch per call (``workloads.py``: W1 784-512-512-10 Adam batch 128 on
    60,000 samples, W2 2-8-8-1 SGD 0.03 batch 10 on 10,000).
    limit: ``limit.py``: ``jax.jit`` of a ``lax.scan`` epoch doing only ``value_and_grad``
        of the loss and the optax update, over a host permutation
        (``np.random.default_rng(epoch)``, last partial batch dropped) copied in each call.
        Its first call also builds the ``jax.jit`` and the optimizer state.
    fnnet: ``trainer.fit(state, x, y, epochs=1, batch_size=B, verbose=0)``, continuing from
        the returned state; its first call is ``fn.compile(model, loss, optimizer)`` and
        ``trainer.fit(params, ..., key=jax.random.key(0))``. Everything ``fit`` does is
        timed: checks, the state, the epoch (the last partial batch masked, not dropped),
        the history. Both sides start from params made before timing.
W3: a sweep of W2 over 32 learning rates (``np.geomspace(1e-3, 0.3, 32)``), one epoch, one sweep per call.
W4-1024, W4-4096 (``--workloads W4-1024 W4-4096``, not in the default run): W3 with 1,024 and 4,096 learning
    rates (``np.geomspace(1e-3, 0.3, K)``), one program; the row's line also reports the peak memory
    (the device's ``peak_bytes_in_use`` where it has one, else the process's peak resident set).
    limit: one jitted ``vmap`` init of the 32 (params, ``optax.inject_hyperparams(optax.sgd)``
        state with the variant's rate), a host permutation shared by the 32, one jitted
        ``vmap`` over the 32 of the same scan epoch. The jits are built in the first call.
    fnnet: ``fn.sweep.fit(model, x, y, fn.sweep.grid(learning_rate=lrs), loss="mse",
        optimizer="sgd", epochs=1, batch_size=10, key=jax.random.key(0), verbose=0)``:
        checks, the 32 initial states, the epoch, the history and the best variant.
S1: W1 streamed from the host: fnnet ``trainer.fit(state, batches, epochs=1, verbose=0)`` over a
    list of ``(x, y)`` NumPy batches of 128 (the data cut in order, made before timing)
    against fnnet's in-memory epoch (the "limit" columns of this row).
W1-wide (``--gpu-wide``, skipped without a GPU): W1 at 784-4096-4096-10, batch 1024, as W1,
    plus the achieved TFLOP/s of the steady epochs as a fraction of a large ``jnp.dot``'s
    float32 and bfloat16 throughput.

Protocol: each row runs ``--repeats`` times; each repeat starts after
``jax.clear_caches()`` with a fresh trainer and fresh jits, so every first call
pays for tracing and compiling, and runs call ``i`` of the limit then call ``i``
of fnnet, for every ``i``: on a shared, noisy machine both see the same load. "first" is the median first call over repeats,
"steady" the median over all later calls of all repeats; ratios are fnnet / limit.
XLA backend compiles are counted per call with a ``jax.monitoring`` listener, and,
after the repeats, during a second ``fn.compile`` of an equal configuration plus
one ``fit`` (DESIGN.md: it should compile nothing).
"""

import argparse
import resource
import gc
import platform
import statistics
import sys
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

import limit
from report import write_section
from workloads import W1, W1_WIDE, W2, fnnet_model, fnnet_optimizer, make_data

try:
    import fnnet as fn

    FNNET_ERROR = None
except ImportError as error:  # the engine is being rewritten: the limit side still runs
    fn, FNNET_ERROR = None, error

ROWS = {"W1": W1, "W2": W2, "W3": W2, "W4-1024": W2, "W4-4096": W2, "S1": W1, "W1-wide": W1_WIDE}  # what each trains
CALLS = {"W1": 5, "W2": 30, "W3": 15, "W4-1024": 5, "W4-4096": 5, "S1": 5, "W1-wide": 5}
QUICK_SAMPLES = {"W1": 1024, "W2": 500, "W3": 500, "W4-1024": 500, "W4-4096": 500, "S1": 1024, "W1-wide": 4096}
QUICK_CALLS = 3
SWEEP_RATES = {
    row: np.geomspace(1e-3, 0.3, k).astype(np.float32) for row, k in (("W3", 32), ("W4-1024", 1024), ("W4-4096", 4096))
}
# (steady, first) targets of issue 8; None: no target
TARGETS = {
    "W1": (1.15, 1.5),
    "W2": (1.15, 1.5),
    "W3": (1.3, None),
    "W4-1024": (1.15, None),
    "W4-4096": (1.15, None),
    "S1": (1.3, None),
    "W1-wide": (None, None),
}
BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"


class Compiles:
    """Counts XLA backend compiles (jitted programs and eager ops alike) with a ``jax.monitoring`` listener."""

    def __init__(self):
        self.count, self.names = 0, []
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event, duration, **kwargs):
        if event == BACKEND_COMPILE:
            self.count += 1
            self.names.append(kwargs.get("fun_name", "?"))


COMPILES = Compiles()


class Case(NamedTuple):
    """One row's workload and data: ``x``, ``y`` on the device, ``x_host``, ``y_host`` in NumPy."""

    row: str
    workload: object
    x: jax.Array
    y: jax.Array
    x_host: np.ndarray
    y_host: np.ndarray


class Contender(NamedTuple):
    """One side of a row in one repeat: ``call(i)`` runs call ``i`` and returns arrays to wait for."""

    call: Callable
    again: Callable = None


class Run(NamedTuple):
    """One contender's calls in one repeat: seconds and backend compiles per call; ``again`` (fnnet
    in-memory only) is a second ``fn.compile`` of the same configuration plus one ``fit``."""

    seconds: list
    compiles: list
    again: Callable = None


def _timed(call, i):
    """``(seconds, backend compiles)`` of ``call(i)``, waiting until the arrays it returns are ready."""
    before = COMPILES.count
    start = time.perf_counter()
    jax.block_until_ready(call(i))
    return time.perf_counter() - start, COMPILES.count - before


# --- the contenders: each (case, calls) -> Run --------------------------------------------------


def limit_epochs(case):
    """The hand-written limit, one epoch per call."""
    workload, n = case.workload, len(case.x)
    params, loss = limit.handwritten(workload)
    opt = limit.optimizer(workload)
    carry = {}

    def call(i):
        if i == 0:
            carry["epoch"] = jax.jit(limit.epoch_fn(loss, opt))
            carry["state"] = (params, opt.init(params))
        order = limit.host_order(n, workload.batch_size, i)
        new_params, opt_state, _ = carry["epoch"](*carry["state"], case.x, case.y, order)
        carry["state"] = (new_params, opt_state)
        return new_params

    return Contender(call)


def _fnnet_epochs(case, streaming):
    workload = case.workload
    model, optimizer = fnnet_model(workload), fnnet_optimizer(workload)
    params = jax.block_until_ready(model.init(jax.random.key(0), case.x.shape[1:]))
    if streaming:
        b = workload.batch_size
        data, sizes = ([(case.x_host[i : i + b], case.y_host[i : i + b]) for i in range(0, len(case.x_host), b)],), {}
    else:
        data, sizes = (case.x, case.y), {"batch_size": workload.batch_size}
    carry = {}

    def call(i):
        if i == 0:
            carry["trainer"] = fn.compile(model, workload.loss, optimizer)
            carry["state"], _ = carry["trainer"].fit(params, *data, epochs=1, **sizes, key=jax.random.key(0), verbose=0)
        else:
            carry["state"], _ = carry["trainer"].fit(carry["state"], *data, epochs=1, **sizes, verbose=0)
        return carry["state"].params

    def again():  # the same model object, the loss and optimizer asked for again (names; W2: get(...) again)
        state, _ = fn.compile(model, workload.loss, fnnet_optimizer(workload)).fit(
            params, *data, epochs=1, **sizes, key=jax.random.key(0), verbose=0
        )
        return state.params

    return Contender(call, again=None if streaming else again)


def fnnet_epochs(case):
    """fnnet in memory, one ``fit(epochs=1)`` per call."""
    return _fnnet_epochs(case, streaming=False)


def fnnet_streaming(case):
    """fnnet over host batches, one ``fit(epochs=1)`` per call."""
    return _fnnet_epochs(case, streaming=True)


def limit_sweep(case):
    """The hand-written sweep: a jitted vmapped init and a jitted vmapped scan epoch per call."""
    workload, n = case.workload, len(case.x)
    loss = limit.loss_fn(workload)
    opt = limit.optimizer(workload, inject=True)

    def init(rate):
        params = limit.init_params(workload, jax.random.key(0))
        return params, optax.tree_utils.tree_set(opt.init(params), learning_rate=rate)

    carry = {}

    def call(i):
        if i == 0:
            carry["init"] = jax.jit(jax.vmap(init))
            carry["epoch"] = jax.jit(jax.vmap(limit.epoch_fn(loss, opt), in_axes=(0, 0, None, None, None)))
        params, opt_state = carry["init"](SWEEP_RATES[case.row])
        order = limit.host_order(n, workload.batch_size, 0)  # each sweep call is a first epoch
        return carry["epoch"](params, opt_state, case.x, case.y, order)[0]

    return Contender(call)


def fnnet_sweep(case):
    """``fn.sweep.fit`` over the row's learning rates (32, 1,024 or 4,096), one whole sweep per call."""
    workload = case.workload
    model = fnnet_model(workload)

    def call(i):
        result = fn.sweep.fit(
            model,
            case.x,
            case.y,
            fn.sweep.grid(learning_rate=SWEEP_RATES[case.row]),
            loss=workload.loss,
            optimizer=workload.optimizer,
            epochs=1,
            batch_size=workload.batch_size,
            key=jax.random.key(0),
            verbose=0,
        )
        return result.states.params

    return Contender(call)


# (name of the "limit" side, its runner, name of the "fnnet" side, its runner) per row
CONTENDERS = {
    "W1": ("limit", limit_epochs, "fnnet", fnnet_epochs),
    "W2": ("limit", limit_epochs, "fnnet", fnnet_epochs),
    "W3": ("limit", limit_sweep, "fnnet", fnnet_sweep),
    "W4-1024": ("limit", limit_sweep, "fnnet", fnnet_sweep),
    "W4-4096": ("limit", limit_sweep, "fnnet", fnnet_sweep),
    "S1": ("in-memory", fnnet_epochs, "streaming", fnnet_streaming),
    "W1-wide": ("limit", limit_epochs, "fnnet", fnnet_epochs),
}


# --- measuring -----------------------------------------------------------------------------------


class Result(NamedTuple):
    row: str
    workload: object
    calls: int
    first: tuple  # (limit, fnnet) median first call, seconds
    steady: tuple  # (limit, fnnet) median steady call, seconds
    first_compiles: tuple  # (limit, fnnet) backend compiles of the first calls (max over repeats)
    steady_compiles: tuple  # (limit, fnnet) backend compiles of all steady calls together
    second_compile: tuple = None  # (count, names) for a second fn.compile + fit of the same configuration


def _fmt(seconds):
    return "—" if seconds is None else f"{seconds:.3f} s" if seconds >= 1 else f"{seconds * 1e3:.3g} ms"


def _ratio(a, b):
    return None if a is None or b is None else b / a


def _fmt_ratio(ratio):
    return "—" if ratio is None else f"{ratio:.2f}x"


def measure(case, calls, repeats):
    """Run the row's two contenders ``repeats`` times, interleaved; medians, compile counts."""
    names_runs = CONTENDERS[case.row]
    sides = [(names_runs[0], names_runs[1]), (names_runs[2], names_runs[3])]
    if fn is None:
        sides = [(name, run) if run in (limit_epochs, limit_sweep) else (name, None) for name, run in sides]
    sides = [(name, run) for name, run in sides if run is not None]
    runs = {name: [] for name, _ in sides}
    for repeat in range(repeats):
        jax.clear_caches()
        gc.collect()
        contenders = [(name, run(case)) for name, run in sides]
        timings = {name: ([], []) for name, _ in sides}
        for i in range(calls):  # call i of each side back to back: both see the same machine load
            for name, contender in contenders:
                seconds, compiles = _timed(contender.call, i)
                timings[name][0].append(seconds)
                timings[name][1].append(compiles)
        for name, contender in contenders:
            result = Run(*timings[name], again=contender.again)
            runs[name].append(result)
            steady = statistics.median(result.seconds[1:]) if calls > 1 else None
            print(
                f"  {case.row} repeat {repeat + 1} {name:>9}: first {_fmt(result.seconds[0])} "
                f"({result.compiles[0]} compiles), steady median {_fmt(steady)} "
                f"({sum(result.compiles[1:])} compiles in {calls - 1} calls)",
                flush=True,
            )

    def medians(name):
        if not runs[name]:
            return None, None, None, None
        firsts = [r.seconds[0] for r in runs[name]]
        steadies = [s for r in runs[name] for s in r.seconds[1:]]
        return (
            statistics.median(firsts),
            statistics.median(steadies) if steadies else None,
            max(r.compiles[0] for r in runs[name]),
            sum(sum(r.compiles[1:]) for r in runs[name]),
        )

    (lf, ls, lfc, lsc), (ff, fs, ffc, fsc) = medians(sides[0][0]), medians(sides[1][0])
    second = None
    last = runs[sides[1][0]][-1] if runs[sides[1][0]] else None
    if last is not None and last.again is not None:
        before = len(COMPILES.names)
        jax.block_until_ready(last.again())
        names = COMPILES.names[before:]
        second = (len(names), names)
        print(
            f"  compiles on second compile+fit ({case.row}): {len(names)}"
            + (f" ({', '.join(names)})" if names else ""),
            flush=True,
        )
    return Result(case.row, case.workload, calls, (lf, ff), (ls, fs), (lfc, ffc), (lsc, fsc), second)


def _peak_tflops(dtype, size, reps=10, trials=5):
    """Best throughput over ``trials`` of ``reps`` back-to-back jitted ``size x size`` ``jnp.dot``s, TFLOP/s."""
    a, b = (jax.random.normal(jax.random.key(i), (size, size), dtype) for i in (1, 2))
    dot = jax.jit(jnp.dot)
    dot(a, b).block_until_ready()
    best = float("inf")
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(reps):
            out = dot(a, b)
        out.block_until_ready()
        best = min(best, (time.perf_counter() - start) / reps)
    return 2 * size**3 / best / 1e12


def throughput(result, samples, matmul_size):
    """Lines on the achieved TFLOP/s of each side's steady epoch against the measured matmul peaks."""
    peaks = {"float32": _peak_tflops(jnp.float32, matmul_size), "bfloat16": _peak_tflops(jnp.bfloat16, matmul_size)}
    workload = result.workload
    flops = limit.train_flops_per_sample(workload) * (samples // workload.batch_size) * workload.batch_size
    lines = [
        f"Matmul peaks ({matmul_size}x{matmul_size} `jnp.dot`, default precision): "
        + ", ".join(f"{dtype} {tflops:.3g} TFLOP/s" for dtype, tflops in peaks.items())
        + ".",
        f"Steady epoch of {result.row}: {flops / 1e12:.3g} TFLOP of matmuls "
        f"({samples // workload.batch_size} full batches of {workload.batch_size}; fnnet's padded "
        "partial batch not counted).",
        "",
        "| side | steady epoch | TFLOP/s | of float32 peak | of bfloat16 peak |",
        "|---|---:|---:|---:|---:|",
    ]
    for side, seconds in zip(("limit", "fnnet"), result.steady):
        if seconds is not None:
            tflops = flops / seconds / 1e12
            lines.append(
                f"| {side} | {_fmt(seconds)} | {tflops:.3g} | {tflops / peaks['float32']:.0%} "
                f"| {tflops / peaks['bfloat16']:.0%} |"
            )
    return "\n".join(lines)


# --- reporting -----------------------------------------------------------------------------------


def peak_memory(device):
    """The device's peak bytes in use where it reports them, else the process's peak resident set (both sides)."""
    stats = device.memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return f"{stats['peak_bytes_in_use'] / 2**20:,.0f} MiB on the device (limit and fnnet together)"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:,.0f} MiB resident (the process, both sides)"


def _describe(row, workload, calls):
    w = workload
    arch = "-".join(map(str, w.sizes))
    what = {
        **{r: f"sweep of {len(rates):,} learning rates, 1 epoch per call" for r, rates in SWEEP_RATES.items()},
        "S1": "streamed host batches vs fnnet in memory",
    }.get(row, "1 epoch per call")
    lr = "" if row in SWEEP_RATES else f" {w.learning_rate:g}"
    return f"{row}: {arch} {w.optimizer}{lr}, batch {w.batch_size}, {w.samples:,} samples, {what}, {calls} calls"


def _target(row, first_ratio, steady_ratio):
    steady_target, first_target = TARGETS[row]
    parts = []
    label = {"S1": "steady (of in-memory)", **dict.fromkeys(SWEEP_RATES, "call")}.get(row, "steady")
    for name, target, ratio in ((label, steady_target, steady_ratio), ("first", first_target, first_ratio)):
        if target is not None:
            verdict = "" if ratio is None else (" met" if ratio <= target else " MISSED")
            parts.append(f"{name} ≤ {target}x{verdict}")
    return "; ".join(parts) or "—"


def table(results):
    rows = [
        "| workload | limit first | fnnet first | first ratio | limit steady | fnnet steady | steady ratio | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        first_ratio, steady_ratio = _ratio(*r.first), _ratio(*r.steady)
        rows.append(
            f"| {_describe(r.row, r.workload, r.calls)} | {_fmt(r.first[0])} | {_fmt(r.first[1])} "
            f"| {_fmt_ratio(first_ratio)} | {_fmt(r.steady[0])} | {_fmt(r.steady[1])} "
            f"| {_fmt_ratio(steady_ratio)} | {_target(r.row, first_ratio, steady_ratio)} |"
        )
    return "\n".join(rows)


def compile_lines(results):
    def count(value):
        return "—" if value is None else str(value)

    lines = [
        "Backend compiles (limit / fnnet; S1: in-memory / streaming), first call (most over repeats) and all "
        "steady calls of all repeats together:",
        "",
    ]
    for r in results:
        lines.append(
            f"- {r.row}: first {count(r.first_compiles[0])} / {count(r.first_compiles[1])}, "
            f"steady {count(r.steady_compiles[0])} / {count(r.steady_compiles[1])}"
        )
    for r in results:
        if r.second_compile is not None:
            count_, names = r.second_compile
            lines.append(
                f"- compiles on second compile+fit ({r.row}): {count_}" + (f" ({', '.join(names)})" if names else "")
            )
    return "\n".join(lines)


INTRO = """\
fnnet against the hand-written JAX limit (`limit.py`: one jitted `lax.scan` epoch of
`value_and_grad` + the optax update), per call, with issue 8's protocol: see the
docstring of `benchmarks/bench_calls.py` for exactly what each side of each row runs.
Ratios are fnnet / limit (S1: streaming / in-memory fnnet); "first" includes tracing
and compiling. Peer frameworks: `RESULTS_PEERS.md` (`bench_fit.py`); sweep against
sequential fits: `RESULTS_SWEEP.md` (`bench_sweep.py`). One section per device kind, each
written by `python benchmarks/bench_calls.py --write` on that kind."""


def _calls_arg(tokens):
    """``--calls 5`` (every row) or ``--calls W2=60 W3=20``."""
    calls = {}
    for token in tokens:
        row, _, value = token.rpartition("=")
        if row and row not in ROWS:
            raise argparse.ArgumentTypeError(f"--calls: unknown row {row!r}; rows: {', '.join(ROWS)}")
        if not value.isdigit() or int(value) < 1:
            raise argparse.ArgumentTypeError(f"--calls: {token!r} is not N or ROW=N with N >= 1")
        calls.update({row: int(value)} if row else dict.fromkeys(ROWS, int(value)))
    return calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--workloads", nargs="+", default=["W1", "W2", "W3", "S1"], choices=[r for r in ROWS if r != "W1-wide"]
    )
    parser.add_argument(
        "--gpu-wide", action="store_true", help="add W1-wide (784-4096-4096-10, batch 1024); skipped without a GPU"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs per contender, interleaved (default 3; --quick 2)"
    )
    parser.add_argument(
        "--calls",
        nargs="+",
        default=[],
        metavar="N|ROW=N",
        help=f"calls per run, the first compiles (default {CALLS}; --quick {QUICK_CALLS})",
    )
    parser.add_argument("--quick", action="store_true", help=f"tiny data ({QUICK_SAMPLES} samples): a smoke test")
    parser.add_argument("--write", action="store_true", help="rewrite this device kind's section of --output")
    parser.add_argument("--output", default="benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.write and args.quick:
        parser.error("--quick numbers are a smoke test, not results: no --write")
    try:
        calls = {**(dict.fromkeys(ROWS, QUICK_CALLS) if args.quick else CALLS), **_calls_arg(args.calls)}
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    repeats = args.repeats or (2 if args.quick else 3)
    if repeats < 1 or min(calls.values()) < 1:
        parser.error("--repeats and --calls must be >= 1")

    device = jax.devices()[0]
    kind = f"{device.platform.upper()}: {device.device_kind}"
    versions = {
        "jax": jax.__version__,
        "optax": optax.__version__,
        "fnnet": getattr(fn, "__version__", "?") if fn else "not importable",
    }
    machine = (
        f"{platform.machine()}, {device.device_kind}, {jax.device_count()} JAX device(s), Python "
        f"{platform.python_version()}; " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."
    )
    print(f"{kind}: {machine}", flush=True)
    if FNNET_ERROR is not None:
        print(f"fnnet does not import ({FNNET_ERROR!r}): timing the limit side only", flush=True)

    rows = list(args.workloads)
    if args.gpu_wide:
        if device.platform == "gpu":
            rows.append("W1-wide")
        else:
            print(f"W1-wide skipped: it needs a GPU, the device is {device.platform}", flush=True)
    data, results, extras = {}, [], []
    for row in rows:
        workload = ROWS[row]
        if args.quick:
            workload = workload._replace(samples=QUICK_SAMPLES[row])
        if workload not in data:
            x_host, y_host = make_data(workload)
            data[workload] = x_host, y_host, *jax.block_until_ready((jnp.asarray(x_host), jnp.asarray(y_host)))
        x_host, y_host, x, y = data[workload]
        print(_describe(row, workload, calls[row]), flush=True)
        result = measure(Case(row, workload, x, y, x_host, y_host), calls[row], repeats)
        results.append(result)
        if row.startswith("W4"):
            extras.append(f"- {row}: peak memory after the row {peak_memory(device)}")
        if row == "W1-wide":
            extras.append(throughput(result, workload.samples, 1024 if args.quick else 8192))
    if not results:
        return

    command = "python benchmarks/bench_calls.py" + "".join(f" {a}" for a in sys.argv[1:])
    section = "\n\n".join(
        [
            f"## {kind}",
            machine,
            f"Command: `{command}`; {repeats} repeats, limit then fnnet in each, caches cleared before each run; "
            "first = median first call over repeats, steady = median of all later calls.",
            table(results),
            compile_lines(results),
            *extras,
        ]
    )
    print()
    print(section, flush=True)
    if args.write:
        write_section(args.output, "Benchmark results (benchmarks/bench_calls.py)", kind, section, INTRO)
        print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
