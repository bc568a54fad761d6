"""Save and load time of the W1 model (784-512-512-10) with its Adam state, against ``np.savez``.

    python benchmarks/bench_saving.py [--repeats 15] [--folder DIR] [--write]

Four operations, each timed against the limit that does the same I/O with
NumPy, call i of fnnet right after call i of the limit (this machine's speed
drifts), first call included in the median:

- save model: ``fn.save_model(path, model, params)`` (config in the header,
  atomic write: temporary file, fsync, ``os.replace``, folder fsync) vs
  ``np.savez(path, **params)`` of the same six arrays (no fsync: NumPy's way);
- load model: ``fn.load_model(path)`` (header checked, model rebuilt from its
  config, every leaf checked against ``model.init``'s tree, arrays put on the
  device) vs ``np.load`` with every array read into memory;
- save checkpoint: ``fn.save_checkpoint`` of the whole ``TrainState`` (params,
  both Adam moments, count, step, key) vs ``np.savez`` of the same 22 arrays;
- load checkpoint: ``fn.load_checkpoint(path, like=state)`` vs ``np.load``.

A third column, ``np.savez`` + fsync, shows what durability costs by itself.
The target (issue 11): fnnet within 2x of ``np.savez``. ``--write`` rewrites
this device kind's section of ``benchmarks/RESULTS_SAVING.md``.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time

import jax
import numpy as np

import fnnet as fn
from report import write_section
from workloads import W1, fnnet_model, fnnet_optimizer


def trained_state():
    """The W1 model's TrainState after one Adam step on random data: moments not zero, as in a real run."""
    model = fnnet_model(W1)
    trainer = fn.compile(model, W1.loss, fnnet_optimizer(W1))
    x = np.random.default_rng(0).normal(size=(W1.batch_size, W1.sizes[0])).astype(np.float32)
    y = fn.data.to_categorical(np.arange(W1.batch_size) % W1.sizes[-1], W1.sizes[-1])
    state = trainer.init_state(model.init(jax.random.key(0), x.shape[1:]), jax.random.key(1))
    state, _ = trainer.fit(state, x, y, epochs=1, batch_size=W1.batch_size, verbose=0)
    return model, state


def host_arrays(tree):
    """``{path name: NumPy array}`` of a pytree's leaves (typed keys as their data), for ``np.savez``."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {
        jax.tree_util.keystr(path): np.asarray(jax.random.key_data(leaf) if fn.saving.trees.is_key(leaf) else leaf)
        for path, leaf in leaves
    }


def savez(path, arrays, fsync=False):
    """``np.savez`` of ``arrays``; with ``fsync``, flushed to the disk as fnnet's writes are."""
    with open(path, "wb") as file:
        np.savez(file, **arrays)
        if fsync:
            file.flush()
            os.fsync(file.fileno())


def loadz(path):
    """Every array of an ``.npz`` read into memory."""
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


def operations(model, state, folder):
    """``{operation: (fnnet call, np.savez call, np.savez + fsync call)}``; each call does the whole I/O once."""
    model_file, checkpoint_file = os.path.join(folder, "w1.safetensors"), os.path.join(folder, "w1_ckpt.safetensors")
    params_npz, state_npz = os.path.join(folder, "w1.npz"), os.path.join(folder, "w1_state.npz")
    params, whole = host_arrays(state.params), host_arrays(state)

    def block(tree):
        jax.block_until_ready(jax.tree_util.tree_leaves(tree))

    return {
        "save model": (
            lambda: fn.save_model(model_file, model, state.params),
            lambda: savez(params_npz, params),
            lambda: savez(params_npz, params, fsync=True),
        ),
        "load model": (lambda: block(fn.load_model(model_file)[1]), lambda: loadz(params_npz), None),
        "save checkpoint": (
            lambda: fn.save_checkpoint(checkpoint_file, state, model=model, epoch=1),
            lambda: savez(state_npz, whole),
            lambda: savez(state_npz, whole, fsync=True),
        ),
        "load checkpoint": (
            lambda: block(fn.load_checkpoint(checkpoint_file, like=state).state),
            lambda: loadz(state_npz),
            None,
        ),
    }


def timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(ops, repeats):
    """``{operation: (fnnet times, savez times, savez+fsync times)}``, the three interleaved call by call."""
    results = {}
    for name, calls in ops.items():  # saves first, so that every load finds its file
        times = ([], [], [])
        for _ in range(repeats):
            for call, column in zip(calls, times):
                if call is not None:
                    column.append(timed(call))
        results[name] = times
    return results


def table(results, megabytes, repeats):
    lines = [
        "| operation | MB | np.savez / np.load | np.savez + fsync | fnnet | fnnet / NumPy | target ≤ 2x |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, (ours, numpy_times, fsynced) in results.items():
        ratio = statistics.median(ours) / statistics.median(numpy_times)
        durable = f"{statistics.median(fsynced) * 1e3:.1f} ms" if fsynced else "—"
        lines.append(
            f"| {name} | {megabytes[name]:.1f} | {statistics.median(numpy_times) * 1e3:.1f} ms | {durable} "
            f"| {statistics.median(ours) * 1e3:.1f} ms | {ratio:.2f}x | {'met' if ratio <= 2 else 'MISSED'} |"
        )
    return "\n".join(lines) + f"\n\nMedians over {repeats} calls each, first call included.\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--folder", default=None, help="where the files go (default: a temporary folder)")
    parser.add_argument("--write", action="store_true", help="rewrite this kind's section of RESULTS_SAVING.md")
    args = parser.parse_args()
    model, state = trained_state()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        results = measure(operations(model, state, folder), args.repeats)
        sizes = {
            name: os.path.getsize(os.path.join(folder, file)) / 1e6
            for name, file in [
                ("save model", "w1.safetensors"),
                ("load model", "w1.safetensors"),
                ("save checkpoint", "w1_ckpt.safetensors"),
                ("load checkpoint", "w1_ckpt.safetensors"),
            ]
        }
    kind = jax.devices()[0].device_kind
    section = (
        f"## {jax.default_backend().upper()}: {kind}\n\n{platform.machine()}, jax {jax.__version__}, "
        f"fnnet {fn.__version__}. Command: `python benchmarks/bench_saving.py --repeats {args.repeats} "
        f"--write`.\n\n{table(results, sizes, args.repeats)}"
    )
    print(section)
    if args.write:
        write_section(
            os.path.join(os.path.dirname(__file__), "RESULTS_SAVING.md"),
            "Saving benchmark results (benchmarks/bench_saving.py)",
            jax.default_backend().upper(),
            section,
            intro="One section per device kind, written by `python benchmarks/bench_saving.py --write`; "
            "what each column times is in the script's docstring.",
        )


if __name__ == "__main__":
    main()
