"""Model comparison: a small and a bigger MLP on the digits, judged by their validation loss curves.

As in the Keras tutorials ("overfit and underfit"): the same data, optimizer
(Adam), batches and validation part (the last 20% of the shuffled training
digits, ``validation_split=0.2``), two capacities:

- small: 64-16-10 ReLU (1,200 weights);
- bigger: 64-512-512-10 ReLU (300,000 weights, the demo's network).

The bigger model reaches a lower validation loss sooner, then its
validation loss climbs while its training loss keeps falling: it overfits.
The small one improves slowly and steadily. The epoch of each model's lowest
validation loss is marked.

    python experiments/model_comparison.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import numpy as np

import fnnet as fn
from fnnet import layers
from _common import plt

MODELS = {"small 64-16-10": [16], "bigger 64-512-512-10": [512, 512]}


def main():
    args = _common.parse_args(__doc__, epochs=(int, 60, "epochs"))
    epochs = 3 if args.quick else args.epochs
    (x, y), (x_test, y_test) = _common.digits()
    runs = {}
    for label, hidden in MODELS.items():
        model = fn.Sequential([*(layers.Dense(n, "relu") for n in hidden), layers.Dense(10, "softmax")])
        params = model.init(jax.random.key(0), x.shape[1:])
        trainer = fn.compile(model, loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        state, history = trainer.fit(
            params, x, y, epochs=epochs, batch_size=32, validation_split=0.2, key=jax.random.key(1), verbose=0
        )
        h = history.history
        best = int(np.argmin(h["val_loss"]))
        test = trainer.evaluate(state.params, x_test, y_test, return_dict=True)
        runs[label] = {
            "hidden": hidden,
            "params": sum(int(np.size(v)) for v in jax.tree_util.tree_leaves(params)),
            "history": h,
            "best_epoch": best + 1,
            "best_val_loss": h["val_loss"][best],
            "final_val_loss": h["val_loss"][-1],
            "test_accuracy_final": test["accuracy"],
            "test_loss_final": test["loss"],
        }
        print(
            f"{label:>22}: {runs[label]['params']:,} params; lowest validation loss {h['val_loss'][best]:.4f} at "
            f"epoch {best + 1}, final {h['val_loss'][-1]:.4f}; test accuracy {test['accuracy']:.3f}"
        )

    fig, ax = plt.subplots(figsize=(12, 5))
    epoch_axis = np.arange(1, epochs + 1)
    for (label, run), color in zip(runs.items(), ["tab:blue", "tab:red"]):
        ax.plot(
            epoch_axis,
            run["history"]["val_loss"],
            "-",
            color=color,
            linewidth=2,
            label=f"{label} ({run['params']:,} params): validation",
        )
        ax.plot(epoch_axis, run["history"]["loss"], "--", color=color, alpha=0.6, label=f"{label}: training")
        ax.plot(
            run["best_epoch"],
            run["best_val_loss"],
            "o",
            color=color,
            markersize=9,
            markerfacecolor="none",
            markeredgewidth=2,
            label=f"{label}: lowest validation loss, epoch {run['best_epoch']}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title(
        f"Small vs bigger MLP on digits: validation loss (solid), training loss (dashed)\n"
        f"Adam, batch 32, validation_split=0.2, {epochs} epochs"
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    _common.save(
        "model_comparison",
        args,
        fig,
        config={
            "models": MODELS,
            "activation": "relu",
            "optimizer": "adam (0.001)",
            "batch_size": 32,
            "epochs": epochs,
            "validation_split": 0.2,
            "data": "digits, shuffled, standardized",
        },
        seeds={"init": 0, "fit": 1, "shuffle_digits": 0},
        results=runs,
    )


if __name__ == "__main__":
    main()
