"""Overfitting on MNIST-1D: no regularization vs L2 vs dropout vs early stopping.

A 40-256-256-10 ReLU network with far more weights than a 1,000-sample
training set needs, trained with Adam until it memorizes. Same data, same
initialization, same shuffles; four ways to train it:

- none: nothing against overfitting;
- L2: ``kernel_regularizer=regularizers.l2(L2)`` on every kernel;
- dropout: ``Dropout(DROPOUT)`` after each hidden layer;
- early stopping: ``EarlyStopping(monitor="val_loss", patience=PATIENCE,
  restore_best_weights=True)`` on the validation part (Keras's default
  monitor), and the same monitoring ``val_accuracy``: on this data the
  validation loss turns up long before the validation accuracy stops rising
  (the network grows over-confident on the signals it gets wrong), so the two
  monitors stop at very different epochs.

The data: MNIST-1D generated locally (``fn.datasets.mnist1d``); training on
the first 1,000 of its 4,000 training signals, validating on the next 1,000,
and testing on its 1,000 test signals. The train accuracy is measured in
inference mode every epoch (no dropout, no penalty); the gap is train minus
test accuracy at the end.

    python experiments/overfitting.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import numpy as np

import fnnet as fn
from fnnet import callbacks, layers, regularizers
from _common import plt

L2, DROPOUT, PATIENCE = 1e-3, 0.5, 15


class TrainAccuracy(callbacks.Callback):
    """The training accuracy in inference mode (no dropout) after every epoch."""

    def __init__(self, x, y):
        self.x, self.y, self.values = x, y, []

    def on_epoch_end(self, epoch, logs, state):
        self.values.append(self.trainer.evaluate(state.params, self.x, self.y)["accuracy"])


def restored_epoch(stopper, history):
    """The epoch (from 1) whose weights the run ends with: the best of the monitor when early stopping restores."""
    if stopper is None:
        return len(history["loss"])
    values = np.asarray(history[stopper.monitor])
    return int(np.argmin(values) if "loss" in stopper.monitor else np.argmax(values)) + 1


def build(l2=0.0, dropout=0.0):
    hidden = []
    for _ in range(2):
        hidden.append(layers.Dense(256, "relu", kernel_regularizer=regularizers.l2(l2) if l2 else None))
        if dropout:
            hidden.append(layers.Dropout(dropout))
    return fn.Sequential([*hidden, layers.Dense(10, "softmax", kernel_regularizer=regularizers.l2(l2) if l2 else None)])


def main():
    args = _common.parse_args(__doc__, epochs=(int, 150, "epochs"), train=(int, 1000, "training signals"))
    epochs, n = (4, 500) if args.quick else (args.epochs, args.train)
    (x_all, y_all), (x_test, y_test) = fn.datasets.mnist1d.load_data()
    x, y, x_val, y_val = x_all[:n], y_all[:n], x_all[n:n + 1000], y_all[n:n + 1000]
    cases = {"none": ({}, None), f"L2 {L2:g}": ({"l2": L2}, None), f"dropout {DROPOUT:g}": ({"dropout": DROPOUT}, None),
             f"early stopping on val_loss": ({}, callbacks.EarlyStopping(
                 monitor="val_loss", patience=PATIENCE, restore_best_weights=True)),
             f"early stopping on val_accuracy": ({}, callbacks.EarlyStopping(
                 monitor="val_accuracy", patience=PATIENCE, restore_best_weights=True))}
    runs = {}
    for label, (options, stopper) in cases.items():
        model = build(**options)
        params = model.init(jax.random.key(0), x.shape[1:])  # dropout adds no params: the same init for all
        trainer = fn.compile(model, loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        measure = TrainAccuracy(x, y)
        state, history = trainer.fit(params, x, y, epochs=epochs, batch_size=32, validation_data=(x_val, y_val),
                                     callbacks=[measure] + ([stopper] if stopper else []),
                                     key=jax.random.key(1), verbose=0)
        train, test = trainer.evaluate(state.params, x, y)["accuracy"], trainer.evaluate(state.params, x_test, y_test)
        runs[label] = {"train_accuracy_curve": measure.values, "val_accuracy_curve": history.history["val_accuracy"],
                       "loss_curve": history.history["loss"], "val_loss_curve": history.history["val_loss"],
                       "epochs_run": len(history.epoch), "train_accuracy": train, "test_accuracy": test["accuracy"],
                       "test_loss": test["loss"], "gap": train - test["accuracy"],
                       "restored_epoch": restored_epoch(stopper, history.history)}
        print(f"{label:>32}: {len(history.epoch):3d} epochs, train accuracy {train:.3f}, test accuracy "
              f"{test['accuracy']:.3f}, gap {train - test['accuracy']:.3f}")

    fig, axes = plt.subplots(1, 3, figsize=(18, 5), gridspec_kw={"width_ratios": [1.2, 1.1, 1.0]})
    colors = dict(zip(runs, ["tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange"]))
    for label, run in runs.items():
        e = np.arange(1, run["epochs_run"] + 1)
        stopping = label.startswith("early")  # drawn wide and pale, under "none", whose curves they follow
        look = dict(color=colors[label], linewidth=4 if stopping else 1.5, alpha=0.45 if stopping else 1.0,
                    zorder=1 if stopping else 2)
        axes[0].plot(e, run["train_accuracy_curve"], "--", label=f"{label}: train", **look)
        axes[0].plot(e, run["val_accuracy_curve"], "-", label=f"{label}: validation", **look)
        axes[1].plot(e, run["val_loss_curve"], "-", label=label, **look)
        if stopping:
            best = run["restored_epoch"]
            axes[0].plot(best, run["val_accuracy_curve"][best - 1], "o", color=colors[label], markersize=9, zorder=3)
            axes[1].plot(best, run["val_loss_curve"][best - 1], "o", color=colors[label], markersize=9, zorder=3,
                         label=f"{label}: restored epoch {best}")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("accuracy")
    axes[0].set_title("Train (dashed) vs validation (solid) accuracy")
    axes[0].legend(ncol=2, fontsize=7)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("validation loss (incl. the L2 penalty)")
    axes[1].set_yscale("log")
    axes[1].set_title("Validation loss: rising = overfitting")
    axes[1].legend(fontsize=7)
    labels = list(runs)
    positions = np.arange(len(labels))
    axes[2].bar(positions - 0.2, [runs[n]["train_accuracy"] for n in labels], 0.4, label="train", color="lightgray",
                edgecolor="black")
    axes[2].bar(positions + 0.2, [runs[n]["test_accuracy"] for n in labels], 0.4, label="test (the run's color)",
                color=[colors[n] for n in labels])
    for i, name in enumerate(labels):
        axes[2].text(i, runs[name]["train_accuracy"] + 0.02, f"gap\n{runs[name]['gap']:.2f}", ha="center", fontsize=8)
    axes[2].set_xticks(positions, [n.replace(" on ", "\non ") for n in labels], fontsize=8)
    axes[2].set_ylim(0, 1.15)
    axes[2].set_ylabel("accuracy at the end (restored weights)")
    axes[2].set_title("Train vs test, and the gap")
    axes[2].legend(loc="lower right")
    fig.suptitle(f"Overfitting: 40-256-256-10 ReLU on {n} MNIST-1D signals, Adam, batch 32, up to {epochs} epochs")
    fig.tight_layout()
    _common.save("overfitting", args, fig,
                 config={"model": "40-256-256-10 relu, softmax", "optimizer": "adam (0.001)", "batch_size": 32,
                         "epochs": epochs, "n_train": n, "n_val": len(x_val), "n_test": len(x_test), "l2": L2,
                         "dropout": DROPOUT, "patience": PATIENCE,
                         "data": "mnist1d: train = x[:n], validation = x[n:n+1000], test = x_test"},
                 seeds={"init": 0, "fit": 1, "mnist1d": 42},
                 results=runs)


if __name__ == "__main__":
    main()
