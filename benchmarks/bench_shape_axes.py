"""What a shape axis costs: a sweep over widths runs at the cost of its largest network.

    python benchmarks/bench_shape_axes.py              # 27 variants, 3 epochs of MNIST-1D, 5 calls each

Three sweeps of 27 variants of a 40-w-w-10 relu MLP (Adam, batch 64, 3 epochs of MNIST-1D's 4,000 samples),
called in turn (interleaved), each call timed from the call to the trained states (compiling included in the
first): a width axis ``units=[32, 64, 128]`` x 9 learning rates (every variant padded to 128 units and
masked), and 27 variants all of 128 units and all of 32 units (9 learning rates x 3 seeds, no padding).
Reported: the first call and the median of the others. The padded sweep should cost what the 128-unit one
costs (its largest network), not what its mean width would.
"""

import argparse
import statistics
import time

import jax
import numpy as np

import fnnet as fn


def build(units):
    return fn.Sequential(
        [
            fn.layers.Dense(units, activation="relu"),
            fn.layers.Dense(units, activation="relu"),
            fn.layers.Dense(10, activation="softmax"),
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    arguments = parser.parse_args()
    (x, y), _ = fn.datasets.mnist1d.load_data()
    rates = np.geomspace(3e-4, 3e-2, 9)
    sweeps = {
        "units=[32, 64, 128] x 9 rates (padded to 128)": (
            build,
            fn.sweep.grid(units=[32, 64, 128], learning_rate=rates),
        ),
        "128 units x 9 rates x 3 seeds": (build(128), fn.sweep.grid(learning_rate=rates, seed=[0, 1, 2])),
        "32 units x 9 rates x 3 seeds": (build(32), fn.sweep.grid(learning_rate=rates, seed=[0, 1, 2])),
    }
    options = dict(
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        epochs=arguments.epochs,
        batch_size=64,
        key=jax.random.key(0),
        verbose=0,
    )
    times = {name: [] for name in sweeps}
    for _ in range(arguments.calls):
        for name, (model, variants) in sweeps.items():
            start = time.perf_counter()
            result = fn.sweep.fit(model, x, y, variants, **options)
            jax.block_until_ready(result.states.params)
            times[name].append(time.perf_counter() - start)
    print(
        f"| sweep (27 variants, {arguments.epochs} epochs, {jax.devices()[0].device_kind}) | first call | median of the next {arguments.calls - 1} |"
    )
    print("|---|---:|---:|")
    for name, seconds in times.items():
        print(f"| {name} | {seconds[0]:.2f} s | {statistics.median(seconds[1:]):.3f} s |")


if __name__ == "__main__":
    main()
