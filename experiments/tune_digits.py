"""Tuning by grid search, two ways: scikit-learn's GridSearchCV on the estimator, and fnnet.sweep.

A learning-rate x L2 grid for a 64-64-10 MLP on the digits, each configuration
trained for the same epochs on the same training part and scored on the same
held-out validation part:

- ``GridSearchCV(NeuralNetClassifier(...), cv=PredefinedSplit(...))``: one ``fit``
  per configuration, one after the other (scikit-learn's way);
- ``fn.sweep.fit(build, ...)``: every configuration in one vmapped program.

Prints both winners, the wall-clock times and their ratio; writes
``out/tune_digits.png`` (validation accuracy over the grid, both ways) and
``out/tune_digits.json``.

    python experiments/tune_digits.py [--epochs 30]
"""

import argparse
import json
import pathlib
import time

import jax
import numpy as np
from sklearn.model_selection import GridSearchCV, PredefinedSplit

import fnnet as fn
from fnnet import layers, regularizers
from fnnet.sklearn import NeuralNetClassifier

LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]
L2_RATES = [0.0, 1e-5, 1e-4, 1e-3, 1e-2]


def build(l2):
    return fn.Sequential([layers.Dense(64, "relu", kernel_regularizer=regularizers.l2(l2)),
                          layers.Dense(10, "softmax")])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    (x, y), _ = fn.datasets.digits.load_data()
    x = x / 16.0
    order = np.asarray(jax.random.permutation(jax.random.key(0), len(x)))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    print(f"{len(LEARNING_RATES) * len(L2_RATES)} configurations, {args.epochs} epochs each, "
          f"{split} training and {len(x) - split} validation digits")

    start = time.perf_counter()
    search = GridSearchCV(
        NeuralNetClassifier(hidden_layer_sizes=(64,), epochs=args.epochs, batch_size=args.batch_size, random_state=0),
        {"learning_rate": LEARNING_RATES, "l2": L2_RATES},
        cv=PredefinedSplit(np.where(np.arange(len(x)) < split, -1, 0)), refit=False)
    search.fit(x, y)
    grid_seconds = time.perf_counter() - start
    grid_scores = np.array([
        search.cv_results_["mean_test_score"][i] for lr in LEARNING_RATES for l2 in L2_RATES
        for i, p in enumerate(search.cv_results_["params"]) if p == {"learning_rate": lr, "l2": l2}
    ]).reshape(len(LEARNING_RATES), len(L2_RATES))

    start = time.perf_counter()
    result = fn.sweep.fit(build, x[:split], y[:split], fn.sweep.grid(learning_rate=LEARNING_RATES, l2=L2_RATES),
                          loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"],
                          epochs=args.epochs, batch_size=args.batch_size, validation_data=(x[split:], y[split:]),
                          monitor="val_accuracy", key=jax.random.key(0), verbose=0)
    sweep_seconds = time.perf_counter() - start
    sweep_scores = result.history["val_accuracy"][:, -1].reshape(len(LEARNING_RATES), len(L2_RATES))

    grid_best = search.best_params_
    sweep_best = {n: v[int(np.argmax(sweep_scores.ravel()))].item() for n, v in result.variants.items()}
    print(f"GridSearchCV: best {grid_best} with validation accuracy {search.best_score_:.4f} "
          f"in {grid_seconds:.1f} s")
    print(f"fnnet.sweep:  best {sweep_best} with validation accuracy {sweep_scores.max():.4f} "
          f"in {sweep_seconds:.1f} s")
    print(f"the sweep took {sweep_seconds / grid_seconds:.3f} of GridSearchCV's time "
          f"({grid_seconds / sweep_seconds:.1f}x faster)")

    out = pathlib.Path("out")
    out.mkdir(exist_ok=True)
    (out / "tune_digits.json").write_text(json.dumps({
        "learning_rates": LEARNING_RATES, "l2_rates": L2_RATES, "epochs": args.epochs,
        "gridsearchcv": {"seconds": grid_seconds, "best": grid_best, "val_accuracy": grid_scores.tolist()},
        "sweep": {"seconds": sweep_seconds, "best": sweep_best, "val_accuracy": sweep_scores.tolist()},
    }, indent=2))
    _plot(grid_scores, sweep_scores, grid_seconds, sweep_seconds, out / "tune_digits.png")
    print(f"wrote {out / 'tune_digits.png'} and {out / 'tune_digits.json'}")


def _plot(grid_scores, sweep_scores, grid_seconds, sweep_seconds, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, scores, title in ((axes[0], grid_scores, f"GridSearchCV ({grid_seconds:.1f} s)"),
                              (axes[1], sweep_scores, f"fnnet.sweep ({sweep_seconds:.1f} s)")):
        image = ax.imshow(scores, vmin=0.5, vmax=1.0, cmap="viridis")
        for (i, j), value in np.ndenumerate(scores):
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=7,
                    color="black" if value > 0.8 else "white")
        ax.set_xticks(range(len(L2_RATES)), [f"{v:g}" for v in L2_RATES])
        ax.set_yticks(range(len(LEARNING_RATES)), [f"{v:g}" for v in LEARNING_RATES])
        ax.set_xlabel("L2 rate")
        ax.set_title(title)
    axes[0].set_ylabel("learning rate")
    fig.colorbar(image, ax=axes, label="validation accuracy")
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
