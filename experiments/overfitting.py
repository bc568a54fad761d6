"""Overfitting on MNIST-1D: no regularization vs L2 vs dropout vs early stopping, over several seeds.

A 40-256-256-10 ReLU network with far more weights (77,000) than a
1,000-sample training set needs, trained with Adam until it memorizes. Same
data, same K initializations, same shuffles; the cures at the values of the
Keras tutorial "Overfit and underfit":

- none: nothing against overfitting;
- L2: ``kernel_regularizer=regularizers.l2(0.001)`` on every kernel, i.e.
  ``J = CE + 0.001 * sum ||W||^2``;
- dropout: ``Dropout(0.5)`` after each hidden layer;
- early stopping: ``EarlyStopping(monitor="val_loss", patience=15,
  restore_best_weights=True)`` (Keras's default monitor), and the same
  monitoring ``val_accuracy``. On this data the validation loss turns up long
  before the validation accuracy stops rising (the network grows
  over-confident on the signals it gets wrong), so the two stop at very
  different epochs.

Each case trains its K seeds as one ``fn.sweep.fit``. The data: MNIST-1D
generated locally (``fn.datasets.mnist1d``); training on the first 1,000 of
its 4,000 training signals, validating on the next 1,000, testing on its
1,000 test signals. The gap is train minus test accuracy at the end (for
early stopping: of the restored weights), both measured in inference mode
(no dropout). The validation cross-entropy is logged as a metric, without the
L2 penalty, so the curves compare like with like.

    python experiments/overfitting.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import numpy as np

import fnnet as fn
from fnnet import callbacks, layers, regularizers
from _common import plt

L2, DROPOUT, PATIENCE = 1e-3, 0.5, 15
CE = "sparse_categorical_crossentropy"
CASES = {
    "none": {},
    f"L2 {L2:g}": {"l2": L2},
    f"dropout {DROPOUT:g}": {"dropout": DROPOUT},
    "early stopping on val_loss": {"stop": "val_loss"},
    "early stopping on val_accuracy": {"stop": "val_accuracy"},
}


def build(l2=0.0, dropout=0.0):
    """40-256-256-10 ReLU, softmax; L2 on every kernel and dropout after each hidden layer when asked."""
    penalty = regularizers.l2(l2) if l2 else None
    hidden = []
    for _ in range(2):
        hidden.append(layers.Dense(256, "relu", kernel_regularizer=penalty))
        if dropout:
            hidden.append(layers.Dropout(dropout))
    return fn.Sequential([*hidden, layers.Dense(10, "softmax", kernel_regularizer=penalty)])


def run_case(case, data, inits, k, epochs):
    """One fn.sweep.fit over K seeds; per seed the final train and test accuracy in inference mode."""
    (x, y), (x_val, y_val), (x_test, y_test) = data
    model = build(case.get("l2", 0.0), case.get("dropout", 0.0))
    stopper = (
        callbacks.EarlyStopping(monitor=case["stop"], patience=PATIENCE, restore_best_weights=True)
        if "stop" in case
        else None
    )
    sweep = fn.sweep.fit(
        model,
        x,
        y,
        fn.sweep.seeds(k),
        loss=CE,
        optimizer="adam",
        metrics=["accuracy", CE],
        epochs=epochs,
        batch_size=32,
        validation_data=(x_val, y_val),
        early_stopping=stopper,
        initial_params=inits,
        key=jax.random.key(1),
        verbose=0,
    )
    trainer = fn.compile(model, loss=CE, optimizer="adam", metrics=["accuracy"])
    train = np.array([trainer.evaluate(sweep.params(i), x, y, return_dict=True)["accuracy"] for i in range(k)])
    test = np.array([trainer.evaluate(sweep.params(i), x_test, y_test, return_dict=True)["accuracy"] for i in range(k)])
    epochs_run = np.sum(np.isfinite(np.asarray(sweep.history["loss"], np.float64)), axis=1)
    # up to the last epoch any seed ran; a seed that stopped earlier has NaN (null in the JSON) after its stop
    history = {name: np.asarray(values, np.float64)[:, : epochs_run.max()] for name, values in sweep.history.items()}
    restored = epochs_run.copy()
    if stopper is not None:  # the best epoch of the monitor, whose weights were restored
        values = np.where(np.isfinite(history[case["stop"]]), history[case["stop"]], np.nan)
        restored = (np.nanargmin(values, axis=1) if "loss" in case["stop"] else np.nanargmax(values, axis=1)) + 1
    gap = train - test
    return {
        "train_accuracy_per_seed": train,
        "test_accuracy_per_seed": test,
        "gap_per_seed": gap,
        "train_accuracy_mean": float(train.mean()),
        "test_accuracy_mean": float(test.mean()),
        "test_accuracy_std": float(test.std()),
        "gap_mean": float(gap.mean()),
        "gap_std": float(gap.std()),
        "epochs_run": epochs_run,
        "restored_epoch": restored,
        "accuracy_curve_mean": np.nanmean(history["accuracy"], 0),
        "val_accuracy_curve_mean": np.nanmean(history["val_accuracy"], 0),
        "val_crossentropy_curve_mean": np.nanmean(history[f"val_{CE}"], 0),
        "val_accuracy_curves": history["val_accuracy"],
        "val_crossentropy_curves": history[f"val_{CE}"],
    }


def main():
    args = _common.parse_args(
        __doc__, epochs=(int, 150, "epochs"), train=(int, 1000, "training signals"), seeds=(int, 5, "seeds per case")
    )
    epochs, n, k = (4, 500, 2) if args.quick else (args.epochs, args.train, args.seeds)
    (x_all, y_all), (x_test, y_test) = _common.mnist1d()
    data = ((x_all[:n], y_all[:n]), (x_all[n : n + 1000], y_all[n : n + 1000]), (x_test, y_test))
    plain = build()
    inits = jax.tree_util.tree_map(
        lambda *leaves: np.stack(leaves), *[plain.init(jax.random.key(seed), (40,)) for seed in range(k)]
    )
    runs = {}
    for label, case in CASES.items():  # dropout and L2 add no params: the same K initializations for all
        runs[label] = run = run_case(case, data, inits, k, epochs)
        print(
            f"{label:>32}: epochs {run['epochs_run'].tolist()}, train accuracy {run['train_accuracy_mean']:.3f}, "
            f"test accuracy {run['test_accuracy_mean']:.3f} +- {run['test_accuracy_std']:.3f}, "
            f"gap {run['gap_mean']:.3f} +- {run['gap_std']:.3f}"
        )

    fig, axes = plt.subplots(1, 3, figsize=(18, 6.2), gridspec_kw={"width_ratios": [1.1, 1.1, 1.0]})
    colors = dict(zip(runs, ["tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange"]))
    e = np.arange(1, epochs + 1)
    for label, run in runs.items():
        if label.startswith("early"):  # the same runs as "none" until they stop: mark where each seed stopped
            best = run["restored_epoch"]
            seeds = np.arange(k)
            axes[0].plot(
                best,
                run["val_accuracy_curves"][seeds, best - 1],
                "o",
                color=colors[label],
                markersize=8,
                label=f"{label}: restored epochs {', '.join(map(str, best))}",
                zorder=3,
            )
            axes[1].plot(
                best,
                run["val_crossentropy_curves"][seeds, best - 1],
                "o",
                color=colors[label],
                markersize=8,
                label=f"{label}: restored epochs",
                zorder=3,
            )
            continue
        axes[0].plot(e, run["accuracy_curve_mean"], "--", color=colors[label], label=f"{label}: train (as logged)")
        axes[0].plot(e, run["val_accuracy_curve_mean"], "-", color=colors[label], label=f"{label}: validation")
        axes[1].plot(e, run["val_crossentropy_curve_mean"], "-", color=colors[label], label=label)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel(f"accuracy (mean over {k} seeds)")
    axes[0].set_title("Train (dashed, dropout on while training) vs validation (solid)")
    axes[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel(f"validation cross-entropy (no penalty; mean over {k} seeds)")
    axes[1].set_title("Validation loss: rising = overfitting")
    axes[1].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    labels = list(runs)
    positions = np.arange(len(labels))
    axes[2].bar(
        positions - 0.2,
        [runs[n]["train_accuracy_mean"] for n in labels],
        0.4,
        label="train",
        color="lightgray",
        edgecolor="black",
    )
    axes[2].bar(
        positions + 0.2,
        [runs[n]["test_accuracy_mean"] for n in labels],
        0.4,
        yerr=[runs[n]["test_accuracy_std"] for n in labels],
        capsize=3,
        label="test (the run's color)",
        color=[colors[n] for n in labels],
    )
    for i, name in enumerate(labels):
        axes[2].text(
            i, runs[name]["train_accuracy_mean"] + 0.02, f"gap\n{runs[name]['gap_mean']:.2f}", ha="center", fontsize=8
        )
    axes[2].set_xticks(positions, [n.replace(" on ", "\non ") for n in labels], fontsize=8)
    axes[2].set_ylim(0, 1.15)
    axes[2].set_ylabel(f"accuracy at the end, inference mode (mean over {k} seeds)")
    axes[2].set_title("Train vs test accuracy, and the gap")
    axes[2].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        f"Overfitting: 40-256-256-10 ReLU on {n:,} MNIST-1D signals, Adam, batch 32, up to {epochs} "
        f"epochs, {k} seeds per case (one fn.sweep.fit each)"
    )
    fig.tight_layout()
    _common.save(
        "overfitting",
        args,
        fig,
        config={
            "model": "40-256-256-10 relu, softmax",
            "optimizer": "adam (0.001)",
            "batch_size": 32,
            "epochs": epochs,
            "n_train": n,
            "n_val": 1000,
            "n_test": len(x_test),
            "l2": L2,
            "dropout": DROPOUT,
            "patience": PATIENCE,
            "seeds_per_case": k,
            "data": "mnist1d: train = x[:n], validation = x[n:n+1000], test = x_test",
        },
        seeds={"init": list(range(k)), "sweep_key": 1, "variant_seeds": list(range(k)), "mnist1d": 42},
        results=runs,
    )


if __name__ == "__main__":
    main()
