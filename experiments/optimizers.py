"""Optimizers: SGD, momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, Adamax, Nadam, AMSGrad.

Same model (64-64-10 ReLU), same data (the standardized digits), same seeds
and batches of 32; each optimizer at its Keras default learning rate (SGD
0.01 with momentum 0.9 for the momentum variants, 0.001 for the adaptive
ones). Each optimizer trains its K seeds as one vmapped program,
``fn.sweep.fit(model, x, y, fn.sweep.seeds(K), optimizer=..., initial_params=...)``
from the same K initializations (``model.init(jax.random.key(k))``, stacked)
with the sweep's per-seed shuffles, so every curve is a mean over K runs,
with its spread.

Keras's Adadelta default rate (0.001) is 1000 times Zeiler's (2012) lr=1.0,
and with it Adadelta hardly moves; the paper's setting is shown as well.

    python experiments/optimizers.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import numpy as np

import fnnet as fn
from fnnet import layers
from _common import plt

OPTIMIZERS = {  # label -> (Keras name, hyperparameters)
    "SGD": ("sgd", {}),
    "momentum 0.9": ("sgd", {"momentum": 0.9}),
    "Nesterov 0.9": ("sgd", {"momentum": 0.9, "nesterov": True}),
    "Adagrad": ("adagrad", {}),
    "Adadelta": ("adadelta", {}),
    "Adadelta lr=1 (Zeiler)": ("adadelta", {"learning_rate": 1.0}),
    "RMSprop": ("rmsprop", {}),
    "Adam": ("adam", {}),
    "Adamax": ("adamax", {}),
    "Nadam": ("nadam", {}),
    "AMSGrad": ("amsgrad", {}),
}


def main():
    args = _common.parse_args(__doc__, epochs=(int, 20, "epochs"), seeds=(int, 5, "seeds per optimizer"))
    epochs, k = (2, 2) if args.quick else (args.epochs, args.seeds)
    (x, y), (x_test, y_test) = _common.digits()
    model = fn.Sequential([layers.Dense(64, "relu"), layers.Dense(10, "softmax")])
    # the same K initializations for every optimizer, made once (and not compiled again per sweep)
    inits = [model.init(jax.random.key(seed), x.shape[1:]) for seed in range(k)]
    initial_params = jax.tree_util.tree_map(lambda *leaves: np.stack(leaves), *inits)
    results = {}
    chosen = ("SGD", "Nesterov 0.9", "Adam") if args.quick else tuple(OPTIMIZERS)  # --quick: three of them
    for label, (name, hyperparameters) in ((n, OPTIMIZERS[n]) for n in chosen):
        optimizer = fn.optimizers.get(name, **hyperparameters)
        sweep = fn.sweep.fit(
            model,
            x,
            y,
            fn.sweep.seeds(k),
            loss="sparse_categorical_crossentropy",
            optimizer=optimizer,
            metrics=["accuracy"],
            epochs=epochs,
            batch_size=32,
            initial_params=initial_params,
            validation_data=(x_test, y_test),
            key=jax.random.key(0),
            verbose=0,
        )
        loss_mean, loss_std = _common.mean_std(sweep.history, "loss")
        acc = np.asarray(sweep.history["val_accuracy"])[:, -1]
        results[label] = {
            "optimizer": name,
            "hyperparameters": hyperparameters,
            "loss_mean": loss_mean,
            "loss_std": loss_std,
            "loss_per_seed": sweep.history["loss"],
            "final_loss_mean": float(loss_mean[-1]),
            "final_loss_std": float(loss_std[-1]),
            "test_accuracy_mean": float(acc.mean()),
            "test_accuracy_std": float(acc.std()),
            "test_accuracy_per_seed": acc,
        }
        print(
            f"{label:>24}: final loss {loss_mean[-1]:.4f} +- {loss_std[-1]:.4f}, "
            f"test accuracy {acc.mean():.3f} +- {acc.std():.3f}"
        )

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(14, 5.2), gridspec_kw={"width_ratios": [1.5, 1]})
    colors = plt.cm.tab20(np.linspace(0, 1, 20))[::2][: len(results) - 1].tolist() + ["black"]
    epoch_axis = np.arange(1, epochs + 1)
    dotted = ("Nesterov 0.9", "Nadam")  # drawn dotted: they lie on momentum's and Adam's curves
    for (label, r), color in zip(results.items(), colors):
        style = ":" if label in dotted else "--" if label.startswith(("SGD", "momentum")) else "-"
        ax_loss.plot(epoch_axis, r["loss_mean"], style, color=color, label=label, linewidth=2 if style == ":" else 1.5)
        per_seed = np.asarray(r["loss_per_seed"])
        ax_loss.fill_between(epoch_axis, per_seed.min(axis=0), per_seed.max(axis=0), color=color, alpha=0.15)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_xticks(epoch_axis[epoch_axis % 2 == 0] if epochs > 10 else epoch_axis)
    ax_loss.set_ylabel(f"training loss, mean over {k} seeds (band: min to max)")
    ax_loss.set_title("Training loss")
    ax_loss.legend(ncol=2)
    labels = list(results)
    means = [results[n]["test_accuracy_mean"] for n in labels]
    stds = [results[n]["test_accuracy_std"] for n in labels]
    ax_acc.barh(np.arange(len(labels)), means, xerr=stds, color=colors, capsize=3)
    for i, (m, sd) in enumerate(zip(means, stds)):
        ax_acc.text(m + sd + 0.015, i, f"{m:.3f}", va="center", fontsize=8)
    ax_acc.set_yticks(np.arange(len(labels)), labels)
    ax_acc.invert_yaxis()
    ax_acc.set_xlim(0, 1.12)
    ax_acc.set_xlabel(f"test accuracy after {epochs} epochs (mean +- std over {k} seeds)")
    ax_acc.set_title("Test accuracy")
    fig.suptitle(
        f"Optimizers at Keras's default rates: 64-64-10 ReLU on digits, batch 32, {k} seeds each "
        "(one fn.sweep.fit per optimizer)"
    )
    fig.tight_layout()
    _common.save(
        "optimizers",
        args,
        fig,
        config={
            "model": "64-64(relu)-10(softmax)",
            "batch_size": 32,
            "epochs": epochs,
            "optimizers": {n: [r["optimizer"], r["hyperparameters"]] for n, r in results.items()},
            "learning_rates": "Keras defaults unless given (fn.optimizers.get)",
        },
        seeds={"init_keys": list(range(k)), "sweep_key": 0, "variant_seeds": list(range(k))},
        results=results,
    )


if __name__ == "__main__":
    main()
