"""The learning rate: loss curves over a grid from too small to divergent, one model, one data set.

A 64-64-10 ReLU network on the standardized digits, plain SGD with batches
of 32, every learning rate of the grid trained as one vmapped program
(``fn.sweep.fit`` over ``learning_rate``), from the same initialization.
Too small and the loss barely moves; too large and it climbs above where it
started. A rate is marked *divergent* when its final training loss is not
finite or is above the loss of the untrained network (cross-entropy on
probabilities is clipped at 1e-7, so a diverged run shows a loss stuck near
``-log(1e-7) = 16`` rather than infinity).

    python experiments/learning_rate.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import numpy as np

import fnnet as fn
from fnnet import layers
from _common import plt

LEARNING_RATES = [1e-4, 1e-3, 1e-2, 0.1, 0.3, 1.0, 3.0, 10.0]


def main():
    args = _common.parse_args(__doc__, epochs=(int, 30, "epochs"))
    epochs = 3 if args.quick else args.epochs
    (x, y), (x_test, y_test) = _common.digits()
    model = fn.Sequential([layers.Dense(64, "relu"), layers.Dense(10, "softmax")])
    key = jax.random.key(0)
    result = fn.sweep.fit(
        model,
        x,
        y,
        fn.sweep.grid(learning_rate=LEARNING_RATES),
        loss="sparse_categorical_crossentropy",
        optimizer="sgd",
        metrics=["accuracy"],
        epochs=epochs,
        batch_size=32,
        validation_data=(x_test, y_test),
        key=key,
        verbose=0,
    )
    # the common starting point: every variant starts from the init of fn.sweep.variant_keys(key, 0)
    init_key, _ = fn.sweep.variant_keys(key, 0)
    trainer = fn.compile(model, loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    initial_loss = trainer.evaluate(model.init(init_key, x.shape[1:]), x, y, return_dict=True)["loss"]

    loss = np.asarray(result.history["loss"], np.float64)
    final = loss[:, -1]
    divergent = [bool(not np.isfinite(v) or v > initial_loss) for v in final]
    val_accuracy = np.asarray(result.history["val_accuracy"])[:, -1]
    best = int(np.nanargmin(np.where(divergent, np.inf, final)))
    print(f"initial loss {initial_loss:.3f}")
    for lr, f, acc, d in zip(LEARNING_RATES, final, val_accuracy, divergent):
        print(f"lr {lr:>7g}: final loss {f:8.4f}, test accuracy {acc:.3f}{'  DIVERGENT' if d else ''}")

    fig, (ax_curves, ax_final) = plt.subplots(1, 2, figsize=(12, 4.6))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(LEARNING_RATES)))
    epoch_axis = np.arange(0, epochs + 1)
    for lr, curve, color, d in zip(LEARNING_RATES, loss, colors, divergent):
        ax_curves.plot(
            epoch_axis,
            [initial_loss, *curve],
            color="tab:red" if d else color,
            linestyle="--" if d else "-",
            marker="x" if d else None,
            label=f"lr = {lr:g}" + (" (divergent)" if d else "") + (" (best)" if lr == LEARNING_RATES[best] else ""),
        )
    ax_curves.axhline(initial_loss, color="gray", linestyle=":", label=f"untrained: {initial_loss:.2f}")
    ax_curves.set_yscale("log")
    ax_curves.set_xlabel("epoch (0 = before training)")
    ax_curves.set_ylabel("training loss (cross-entropy)")
    ax_curves.set_title("Loss curves, one per learning rate")
    ax_curves.legend(ncol=2)
    ax_final.plot(LEARNING_RATES, final, "o-", color="tab:blue", label="final training loss")
    ax_final.plot(
        np.asarray(LEARNING_RATES)[divergent],
        final[divergent],
        "x",
        color="tab:red",
        markersize=12,
        markeredgewidth=2,
        label="divergent",
    )
    ax_final.axhline(initial_loss, color="gray", linestyle=":", label="untrained loss")
    ax_final.set_xscale("log")
    ax_final.set_yscale("log")
    ax_final.set_xlabel("learning rate (SGD)")
    ax_final.set_ylabel(f"training loss after {epochs} epochs")
    ax_acc = ax_final.twinx()
    ax_acc.plot(LEARNING_RATES, val_accuracy, "s--", color="tab:green", label="test accuracy")
    ax_acc.set_ylabel("test accuracy", color="tab:green")
    ax_acc.set_ylim(0, 1)
    ax_acc.grid(False)
    handles = ax_final.get_legend_handles_labels()[0] + ax_acc.get_legend_handles_labels()[0]
    ax_final.legend(handles=handles, loc="lower left")
    ax_final.set_title("After training: too small, right, divergent")
    fig.suptitle(
        f"Learning rate: 64-64-10 ReLU on digits, SGD, batch 32, {epochs} epochs, "
        f"{len(LEARNING_RATES)} rates as one fn.sweep.fit"
    )
    fig.tight_layout()
    _common.save(
        "learning_rate",
        args,
        fig,
        config={
            "model": "64-64(relu)-10(softmax)",
            "optimizer": "sgd",
            "batch_size": 32,
            "epochs": epochs,
            "learning_rates": LEARNING_RATES,
            "data": "digits, standardized",
            "divergent_if": "final training loss not finite or above the untrained loss",
        },
        seeds={"sweep_key": 0, "variant_seed": 0},
        results={
            "initial_loss": initial_loss,
            "loss": loss,
            "val_accuracy_final": val_accuracy,
            "final_loss": final,
            "divergent": dict(zip(map(str, LEARNING_RATES), divergent)),
            "best_learning_rate": LEARNING_RATES[best],
        },
    )


if __name__ == "__main__":
    main()
