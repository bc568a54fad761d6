"""MNIST-1D: logistic regression and an MLP with the benchmark's recipe, beside the published table.

MNIST-1D (Greydanus & Kobak, 2020) is generated locally by the ``mnist1d``
package with its default arguments (``fn.datasets.mnist1d``: 4,000 training
and 1,000 test signals of length 40), never downloaded. The recipe is the
one of the benchmark's repository (``notebooks/models.py`` and ``train.py``):

- logistic regression: one ``Dense(10, "softmax")`` layer;
- MLP: 40-100-100-10 ReLU with the repository's skip connection
  (``h = relu(W1 x); h = h + relu(W2 h); logits = W3 h``), built with
  ``fn.Input``, ``layers.Add`` and ``fn.Model``; softmax output;
- Adam, learning rate 0.01, batch 100, 8,000 steps (200 epochs), no weight
  decay; cross-entropy (on softmax outputs, which is PyTorch's
  ``CrossEntropyLoss`` on the logits up to fnnet's 1e-7 clipping).

Each model trains K seeds as one ``fn.sweep.fit``. The published table
(the repository's README) is printed beside: logistic regression 32%, MLP
68%, CNN 94%, GRU 91%; the CNN and GRU rows are quoted, not run (fnnet has
no convolutions or recurrent layers).

    python experiments/mnist1d_table.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import numpy as np

import fnnet as fn
from fnnet import layers
from _common import plt

PUBLISHED = {"logistic regression": 0.32, "MLP": 0.68, "CNN": 0.94, "GRU": 0.91}


def logistic():
    return fn.Sequential([layers.Dense(10, "softmax")])


def mlp(hidden=100):
    inputs = fn.Input((40,), name="signal")
    h = layers.Dense(hidden, "relu")(inputs)
    h = layers.Add()([h, layers.Dense(hidden, "relu")(h)])
    return fn.Model(inputs, layers.Dense(10, "softmax", name="digit")(h))


def main():
    args = _common.parse_args(__doc__, epochs=(int, 200, "epochs (40 steps each)"), seeds=(int, 5, "seeds"))
    epochs, k = (5, 2) if args.quick else (args.epochs, args.seeds)
    (x, y), (x_test, y_test) = _common.mnist1d()
    results = {}
    for label, build in (("logistic regression", logistic), ("MLP", mlp)):
        model = build()
        inits = [model.init(jax.random.key(seed), x.shape[1:]) for seed in range(k)]
        stacked = jax.tree_util.tree_map(lambda *leaves: np.stack(leaves), *inits)
        sweep = fn.sweep.fit(
            model,
            x,
            y,
            fn.sweep.seeds(k),
            loss="sparse_categorical_crossentropy",
            optimizer=fn.optimizers.get("adam", learning_rate=0.01),
            metrics=["accuracy"],
            epochs=epochs,
            batch_size=100,
            validation_data=(x_test, y_test),
            initial_params=stacked,
            key=jax.random.key(0),
            verbose=0,
        )
        curve = np.asarray(sweep.history["val_accuracy"])
        final = curve[:, -1]
        results[label] = {
            "test_accuracy_per_seed": final,
            "test_accuracy_mean": float(final.mean()),
            "test_accuracy_std": float(final.std()),
            "best_epoch_accuracy_mean": float(curve.max(1).mean()),
            "train_accuracy_final_mean": float(np.asarray(sweep.history["accuracy"])[:, -1].mean()),
            "test_accuracy_curve_mean": curve.mean(0),
            "test_accuracy_curve_std": curve.std(0),
            "published": PUBLISHED[label],
        }
    print(f"{'model':<22}{'fnnet (mean +- std over ' + str(k) + ' seeds)':>36}{'published':>12}")
    for label, published in PUBLISHED.items():
        run = results.get(label)
        measured = f"{run['test_accuracy_mean']:.1%} +- {run['test_accuracy_std']:.1%}" if run else "not run"
        print(f"{label:<22}{measured:>36}{published:>12.0%}")

    fig, (ax_curve, ax_table) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [1.3, 1]})
    epoch_axis = np.arange(1, epochs + 1)
    for (label, run), color in zip(results.items(), ["tab:blue", "tab:orange"]):
        m, s = run["test_accuracy_curve_mean"], run["test_accuracy_curve_std"]
        ax_curve.plot(epoch_axis, m, color=color, label=f"{label} (fnnet): {run['test_accuracy_mean']:.1%}")
        ax_curve.fill_between(epoch_axis, m - s, m + s, color=color, alpha=0.25)
        ax_curve.axhline(
            run["published"], color=color, linestyle=":", label=f"{label}, published: {run['published']:.0%}"
        )
    ax_curve.set_xlabel("epoch (40 steps of 100 signals)")
    ax_curve.set_ylabel(f"test accuracy (mean +- std, {k} seeds)")
    ax_curve.set_title("Test accuracy during training")
    ax_curve.set_ylim(0, 1)
    ax_curve.legend(loc="lower right")
    names = list(PUBLISHED)
    positions = np.arange(len(names))
    ax_table.bar(
        positions - 0.2,
        [PUBLISHED[n] for n in names],
        0.4,
        color="lightgray",
        edgecolor="black",
        label="published (Greydanus & Kobak)",
    )
    measured = [results[n]["test_accuracy_mean"] if n in results else np.nan for n in names]
    errors = [results[n]["test_accuracy_std"] if n in results else 0 for n in names]
    ax_table.bar(positions + 0.2, measured, 0.4, yerr=errors, color="tab:green", capsize=4, label="fnnet, measured")
    for i, name in enumerate(names):
        ax_table.text(i - 0.2, PUBLISHED[name] + 0.02, f"{PUBLISHED[name]:.0%}", ha="center", fontsize=8)
        if name in results:
            ax_table.text(i + 0.2, measured[i] + errors[i] + 0.02, f"{measured[i]:.1%}", ha="center", fontsize=8)
        else:
            ax_table.text(
                i + 0.2,
                0.5,
                "not run:\nfnnet has no\nconv / GRU\nlayers",
                ha="center",
                va="center",
                fontsize=7,
                color="dimgray",
                bbox=dict(facecolor="white", edgecolor="lightgray"),
            )
    ax_table.set_xticks(positions, names)
    ax_table.set_xlim(-0.6, len(names) - 0.3)
    ax_table.set_ylim(0, 1.1)
    ax_table.set_ylabel("test accuracy")
    ax_table.set_title("Final test accuracy beside the published table")
    ax_table.legend(loc="upper left")
    fig.suptitle(f"MNIST-1D (4,000 train / 1,000 test, generated locally): Adam 0.01, batch 100, {epochs} epochs")
    fig.tight_layout()
    _common.save(
        "mnist1d_table",
        args,
        fig,
        config={
            "recipe": {
                "optimizer": "adam",
                "learning_rate": 0.01,
                "batch_size": 100,
                "epochs": epochs,
                "steps": epochs * 40,
                "weight_decay": 0,
            },
            "models": {
                "logistic regression": "Dense(10) on the 40 inputs",
                "MLP": "40-100-100-10 relu, h + relu(W2 h) skip (as the benchmark's MLPBase)",
            },
            "data": "mnist1d.make_dataset(get_dataset_args()), seed 42",
        },
        seeds={"init": list(range(k)), "sweep_key": 0, "variant_seeds": list(range(k)), "mnist1d": 42},
        results={
            "runs": results,
            "published": PUBLISHED,
            "published_source": "github.com/greydanus/mnist1d README (test accuracy)",
        },
    )


if __name__ == "__main__":
    main()
