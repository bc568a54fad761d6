"""Tuning by grid search, two ways: scikit-learn's GridSearchCV on the estimator, and fnnet.sweep.

A learning-rate x L2 grid for a 64-64-10 MLP on the digits, each configuration
trained for the same epochs on the same training part and scored on the same
held-out validation part:

- ``GridSearchCV(NeuralNetClassifier(...), cv=PredefinedSplit(...))``: one ``fit``
  per configuration, one after the other (scikit-learn's way);
- ``fn.sweep.fit(build, ...)``: every configuration in one vmapped program.

Prints both winners, the wall-clock times (compiling included, for both) and
their ratio; writes ``out/tune_digits.png`` (validation accuracy over the
grid, both ways) and ``out/tune_digits.json``. The two ways start from
different initializations and shuffles (the estimator's ``random_state=0``,
the sweep's per-variant keys), so their scores differ by the seed noise.

    python experiments/tune_digits.py [--epochs 30] [--quick] [--out DIR]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

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
    return fn.Sequential(
        [layers.Dense(64, "relu", kernel_regularizer=regularizers.l2(l2)), layers.Dense(10, "softmax")]
    )


def main():
    args = _common.parse_args(__doc__, epochs=(int, 30, "epochs per configuration"), batch_size=(int, 32, "batch size"))
    lrs, l2s = (LEARNING_RATES, L2_RATES) if not args.quick else ([1e-3, 1e-2], [0.0, 1e-3])
    if args.quick:
        args.epochs = 2

    (x, y), _ = fn.datasets.digits.load_data()
    x = x / 16.0
    order = np.asarray(jax.random.permutation(jax.random.key(0), len(x)))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    print(
        f"{len(lrs) * len(l2s)} configurations, {args.epochs} epochs each, "
        f"{split} training and {len(x) - split} validation digits"
    )

    start = time.perf_counter()
    search = GridSearchCV(
        NeuralNetClassifier(hidden_layer_sizes=(64,), epochs=args.epochs, batch_size=args.batch_size, random_state=0),
        {"learning_rate": lrs, "l2": l2s},
        cv=PredefinedSplit(np.where(np.arange(len(x)) < split, -1, 0)),
        refit=False,
    )
    search.fit(x, y)
    grid_seconds = time.perf_counter() - start
    grid_scores = np.array(
        [
            search.cv_results_["mean_test_score"][i]
            for lr in lrs
            for l2 in l2s
            for i, p in enumerate(search.cv_results_["params"])
            if p == {"learning_rate": lr, "l2": l2}
        ]
    ).reshape(len(lrs), len(l2s))

    start = time.perf_counter()
    result = fn.sweep.fit(
        build,
        x[:split],
        y[:split],
        fn.sweep.grid(learning_rate=lrs, l2=l2s),
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        metrics=["accuracy"],
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=(x[split:], y[split:]),
        monitor="val_accuracy",
        key=jax.random.key(0),
        verbose=0,
    )
    sweep_seconds = time.perf_counter() - start
    sweep_scores = result.history["val_accuracy"][:, -1].reshape(len(lrs), len(l2s))

    grid_best = search.best_params_
    sweep_best = {n: v[int(np.argmax(sweep_scores.ravel()))].item() for n, v in result.variants.items()}
    print(f"GridSearchCV: best {grid_best} with validation accuracy {search.best_score_:.4f} in {grid_seconds:.1f} s")
    print(f"fnnet.sweep:  best {sweep_best} with validation accuracy {sweep_scores.max():.4f} in {sweep_seconds:.1f} s")
    print(f"the sweep took {sweep_seconds / grid_seconds:.2f} times GridSearchCV's time")

    fig = _plot(grid_scores, sweep_scores, grid_seconds, sweep_seconds, args.epochs, lrs, l2s)
    _common.save(
        "tune_digits",
        args,
        fig,
        config={
            "model": "64-64(relu, l2)-10(softmax)",
            "optimizer": "adam",
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rates": lrs,
            "l2_rates": l2s,
            "data": "digits / 16, shuffled, first 80% train, last 20% validation",
        },
        seeds={"shuffle": 0, "estimator_random_state": 0, "sweep_key": 0},
        results={
            "gridsearchcv": {
                "seconds": grid_seconds,
                "best": grid_best,
                "best_val_accuracy": float(search.best_score_),
                "val_accuracy": grid_scores,
            },
            "sweep": {
                "seconds": sweep_seconds,
                "best": sweep_best,
                "best_val_accuracy": float(sweep_scores.max()),
                "val_accuracy": sweep_scores,
            },
            "sweep_over_gridsearch_time": sweep_seconds / grid_seconds,
        },
    )


def _plot(grid_scores, sweep_scores, grid_seconds, sweep_seconds, epochs, lrs, l2s):
    plt = _common.plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for ax, scores, title in (
        (axes[0], grid_scores, f"GridSearchCV ({grid_seconds:.1f} s)"),
        (axes[1], sweep_scores, f"fnnet.sweep ({sweep_seconds:.1f} s)"),
    ):
        image = ax.imshow(scores, vmin=0.5, vmax=1.0, cmap="viridis")
        for (i, j), value in np.ndenumerate(scores):
            ax.text(
                j, i, f"{value:.3f}", ha="center", va="center", fontsize=7, color="black" if value > 0.8 else "white"
            )
        ax.set_xticks(range(len(l2s)), [f"{v:g}" for v in l2s])
        ax.set_yticks(range(len(lrs)), [f"{v:g}" for v in lrs])
        ax.set_xlabel("L2 rate")
        ax.set_title(title)
        ax.grid(False)
    axes[0].set_ylabel("learning rate (Adam)")
    fig.colorbar(image, ax=axes, label="validation accuracy")
    fig.suptitle(
        f"Grid search, 64-64-10 MLP on digits, {epochs} epochs per configuration: validation accuracy\n"
        "(in brackets: wall-clock time of the whole search, compiling included)",
        y=1.06,
    )
    return fig


if __name__ == "__main__":
    main()
