"""The same grid two ways: scikit-learn's GridSearchCV over ``NeuralNetClassifier(model=build)``, and one
``fn.sweep.fit`` with shape axes.

    python benchmarks/bench_sklearn_grid.py            # 24 configurations, 20 epochs of the digits

The grid: hidden units (16, 64) x depth (1, 2) x activation (relu, tanh) x Adam's learning rate (1e-3, 3e-3,
1e-2): layers, neurons, activation and learning rate, what the Keras lesson tunes by wrapping the model as a
scikit-learn estimator. Both score each configuration by its accuracy on the same held-out fifth of the
standardized digits after the last epoch (GridSearchCV with a ``PredefinedSplit``, ``refit=False``; the
sweep with ``validation_data``), train with batch 32, and differ only in their random streams (the
estimator's ``random_state=0``; the sweep's ``variant_keys``). Reported: each one's best configuration, its
held-out accuracy, the wall time of the whole search (run twice: the first compiles), and every configuration's two
accuracies side by side.
"""

import argparse
import time

import jax
import numpy as np
from sklearn.model_selection import GridSearchCV, PredefinedSplit

import fnnet as fn
from fnnet.sklearn import NeuralNetClassifier


def build(units=16, depth=1, activation="relu", n_outputs=10):
    hidden = [fn.layers.Dense(units, activation=activation) for _ in range(depth)]
    return fn.Sequential([*hidden, fn.layers.Dense(n_outputs, activation="softmax")])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    arguments = parser.parse_args()
    (x, y), _ = fn.datasets.digits.load_data()
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x, _, _ = fn.data.standardize(x, x[:1])
    held_out = np.arange(len(x)) >= len(x) * 4 // 5
    axes = dict(units=[16, 64], depth=[1, 2], activation=["relu", "tanh"], learning_rate=[1e-3, 3e-3, 1e-2])

    def grid_search():
        search = GridSearchCV(
            NeuralNetClassifier(model=build, epochs=arguments.epochs, batch_size=32, random_state=0),
            {("learning_rate" if name == "learning_rate" else f"model__{name}"): v for name, v in axes.items()},
            cv=PredefinedSplit(np.where(held_out, 0, -1)),
            scoring="accuracy",
            refit=False,
        )
        return search.fit(x, y)

    def sweep():
        result = fn.sweep.fit(
            build,
            x[~held_out],
            y[~held_out],
            fn.sweep.grid(**axes),
            validation_data=(x[held_out], y[held_out]),
            loss="sparse_categorical_crossentropy",
            optimizer="adam",
            metrics=["accuracy"],
            epochs=arguments.epochs,
            batch_size=32,
            key=jax.random.key(0),
            verbose=0,
        )
        return jax.block_until_ready(result)

    grid_seconds, sweep_seconds = [], []
    for _ in range(2):  # the first calls compile, the second run warm
        start = time.perf_counter()
        search = grid_search()
        grid_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = sweep()
        sweep_seconds.append(time.perf_counter() - start)
    last = result.history["val_accuracy"][:, -1]

    def key(values):
        return tuple(values[name] for name in axes)

    grid_scores = {
        key({n.removeprefix("model__"): v for n, v in params.items()}): score
        for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"])
    }
    sweep_scores = {
        key({n: fn.sweep.shapes.value_of(v, k) for n, v in result.variants.items()}): float(last[k])
        for k in range(len(last))
    }
    grid_best, sweep_best = max(grid_scores, key=grid_scores.get), max(sweep_scores, key=sweep_scores.get)
    print(
        f"| search ({len(sweep_scores)} configurations, {arguments.epochs} epochs) | best (units, depth, "
        "activation, lr) | held-out accuracy | first run (compiling) | second run |"
    )
    print("|---|---|---:|---:|---:|")
    for label, best, scores, times in (
        ("GridSearchCV, NeuralNetClassifier(model=build)", grid_best, grid_scores, grid_seconds),
        ("one fn.sweep.fit with shape axes", sweep_best, sweep_scores, sweep_seconds),
    ):
        print(f"| {label} | {best} | {scores[best]:.3f} | {times[0]:.1f} s | {times[1]:.2f} s |")
    print(
        f"sweep / GridSearchCV wall time: first run {sweep_seconds[0] / grid_seconds[0]:.2f}x, "
        f"second {sweep_seconds[1] / grid_seconds[1]:.2f}x"
    )
    print("\nevery configuration: GridSearchCV / sweep held-out accuracy")
    for configuration in grid_scores:
        print(f"  {configuration}: {grid_scores[configuration]:.3f} / {sweep_scores[configuration]:.3f}")


if __name__ == "__main__":
    main()
