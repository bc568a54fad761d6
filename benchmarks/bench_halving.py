"""Successive halving against the full sweep on MNIST-1D: the same 81 variants, one sweep each.

    python benchmarks/bench_halving.py                 # 81 variants, 27 epochs: a table, a JSON and a figure
    python benchmarks/bench_halving.py --epochs 9      # a shorter run

The variants: learning rate (9, Adam) x width (32, 64 or 128 units: a shape axis) x L2 rate (3) of a
40-w-w-10 relu MLP, batch 64, the
last 20% of MNIST-1D's 4,000 training samples held out for the monitor (``val_accuracy``). ``fn.sweep.fit``
trains all 81 for every epoch; with ``schedule=fn.sweep.halving(eta=3)`` the rungs are at 1, 3, 9 and 27
epochs. Reported: the test accuracy of each run's best variant (by ``val_accuracy``), the model-epochs
trained, and the wall time of each sweep call (compiling included, the full sweep first). The figure shows
every variant's validation accuracy under halving, coloured by how many epochs it trained.
"""

import argparse
import json
import pathlib
import time

import jax
import matplotlib
import matplotlib.ticker
import numpy as np

import fnnet as fn

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def build(units, l2):
    regularizer = fn.regularizers.l2(l2)
    return fn.Sequential(
        [
            fn.layers.Dense(units, activation="relu", kernel_regularizer=regularizer),
            fn.layers.Dense(units, activation="relu", kernel_regularizer=regularizer),
            fn.layers.Dense(10, activation="softmax"),
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument("--out", default="benchmarks")
    arguments = parser.parse_args()
    (x, y), (x_test, y_test) = fn.datasets.mnist1d.load_data()
    variants = fn.sweep.grid(learning_rate=np.geomspace(3e-4, 3e-2, 9), units=[32, 64, 128], l2=[0.0, 1e-4, 1e-3])
    options = dict(
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        metrics=["accuracy"],
        epochs=arguments.epochs,
        batch_size=64,
        validation_split=0.2,
        monitor="val_accuracy",
        key=jax.random.key(0),
        verbose=0,
    )
    runs = {}
    for name, schedule in (("full sweep", None), ("halving (eta=3)", fn.sweep.halving(eta=3))):
        start = time.perf_counter()
        result = fn.sweep.fit(build, x, y, variants, schedule=schedule, **options)
        jax.block_until_ready(result.states.params)
        seconds = time.perf_counter() - start
        best = result.best_index
        trainer = fn.compile(result.model(best), "sparse_categorical_crossentropy", "adam", metrics=["accuracy"])
        _, accuracy = trainer.evaluate(result.params(best), x_test, y_test)
        runs[name] = {
            "result": result,
            "seconds": seconds,
            "test_accuracy": float(accuracy),
            "model_epochs": int((~np.isnan(result.history["loss"])).sum()),
            "best": {n: float(v[best]) for n, v in variants.items()},
        }
    full = runs["full sweep"]
    print(f"| run (81 variants, {arguments.epochs} epochs) | best variant's test accuracy | model-epochs | wall time |")
    print("|---|---:|---:|---:|")
    for name, run in runs.items():
        print(
            f"| {name} | {run['test_accuracy']:.3f} ({run['best']}) | {run['model_epochs']:,} "
            f"({run['model_epochs'] / full['model_epochs']:.0%}) | {run['seconds']:.1f} s "
            f"({run['seconds'] / full['seconds']:.2f}x) |"
        )

    halved = runs["halving (eta=3)"]["result"]
    trained = (~np.isnan(halved.history["val_accuracy"])).sum(axis=1)
    rungs = fn.sweep.halving(eta=3).rungs(arguments.epochs)
    figure, axis = plt.subplots(figsize=(7, 4.2))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(rungs)))
    for index, rung in enumerate(rungs):
        members = np.flatnonzero(trained == rung)
        for k in members:
            curve = halved.history["val_accuracy"][k, :rung]
            axis.plot(
                np.arange(1, rung + 1),
                curve,
                color=colours[index],
                alpha=0.6,
                lw=1,
                marker="o" if rung == 1 else None,
                ms=3,
                label=f"trained {rung} epoch{'s' * (rung > 1)} ({len(members)} variants)" if k == members[0] else None,
            )
    for rung in rungs[:-1]:
        axis.axvline(rung, color="grey", lw=0.8, ls=":")
    axis.set(xscale="log", xlabel="epoch (log scale; dotted lines: the rungs)", ylabel="validation accuracy")
    axis.set_title(
        "Successive halving on MNIST-1D: 81 variants (learning rate x width x L2);\nafter each rung the best third go on",
        fontsize=10,
    )
    axis.set_xticks(rungs)
    axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    out = pathlib.Path(arguments.out)
    figure.savefig(out / "halving_mnist1d.png", dpi=110)
    table = {name: {k: v for k, v in run.items() if k != "result"} for name, run in runs.items()}
    (out / "halving_mnist1d.json").write_text(json.dumps(table, indent=1))
    print(f"wrote {out / 'halving_mnist1d.png'} and {out / 'halving_mnist1d.json'}")


if __name__ == "__main__":
    main()
