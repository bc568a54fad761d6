"""The Playground's lessons: a linear model, the same with feature crosses, hidden layers, more depth.

On the TensorFlow Playground's classification sets (``fn.datasets.playground
.make``: circle, xor, gauss, spiral; 500 points, half for training, no
noise), three models:

- linear: ``Dense(1, "sigmoid")`` on (x1, x2): logistic regression, a
  straight boundary;
- linear + crosses: the same single layer on the Playground's extra inputs
  (x1, x2, x1^2, x2^2, x1 x2, sin x1, sin x2): still linear in its inputs,
  but the inputs make circles (x1^2 + x2^2) and XOR (x1 x2) separable;
- hidden layers: 8 tanh, 8 tanh, 1 sigmoid on (x1, x2) alone;
- deeper: four hidden layers of 8 tanh.

Adam, batch 10 as the Playground, binary cross-entropy, 300 epochs, K = 5
seeds per model and data set trained as one ``fn.sweep.fit``; the accuracy
is the mean over the seeds. The learning rate is 0.01, not the Playground's
default 0.03: at 0.03 the four-layer network trained unstably (0.68-0.76 on
the spiral in a 3-seed trial). The decision surface of seed 0 is drawn on a
120 x 120 grid, computed as one ``jax.vmap`` over the grid points.

    python experiments/playground_lessons.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import jax.numpy as jnp
import numpy as np

import fnnet as fn
from fnnet import layers
from _common import plt

DATASETS = ("circle", "xor", "gauss", "spiral")
CROSSES = ("x1", "x2", "x1^2", "x2^2", "x1 x2", "sin x1", "sin x2")


def crosses(x):
    x1, x2 = x[..., 0], x[..., 1]
    return jnp.stack([x1, x2, x1**2, x2**2, x1 * x2, jnp.sin(x1), jnp.sin(x2)], axis=-1)


def raw(x):
    return jnp.asarray(x)


CASES = {
    "linear": (raw, lambda: fn.Sequential([layers.Dense(1, "sigmoid")])),
    "linear + crosses": (crosses, lambda: fn.Sequential([layers.Dense(1, "sigmoid")])),
    "hidden layers 8-8 tanh": (
        raw,
        lambda: fn.Sequential([layers.Dense(8, "tanh"), layers.Dense(8, "tanh"), layers.Dense(1, "sigmoid")]),
    ),
    "deeper 8-8-8-8 tanh": (
        raw,
        lambda: fn.Sequential([*(layers.Dense(8, "tanh") for _ in range(4)), layers.Dense(1, "sigmoid")]),
    ),
}
LEARNING_RATE = 0.01


def main():
    args = _common.parse_args(
        __doc__,
        epochs=(int, 300, "epochs"),
        n=(int, 500, "points per data set"),
        seeds=(int, 5, "seeds per model and data set"),
    )
    epochs, n, k = (3, 200, 2) if args.quick else (args.epochs, args.n, args.seeds)
    grid_1d = np.linspace(-6, 6, 60 if args.quick else 120)
    grid = np.stack(np.meshgrid(grid_1d, grid_1d), axis=-1).reshape(-1, 2).astype(np.float32)
    datasets = ("xor", "spiral") if args.quick else DATASETS
    data = {
        name: fn.datasets.playground.make(name, n, noise=0.0, key=jax.random.key(DATASETS.index(name)))
        for name in datasets
    }
    results, surfaces = {}, {}
    for case, (features, build) in CASES.items():
        model = build()
        trainer = fn.compile(model, loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])  # to evaluate
        surface = jax.jit(
            jax.vmap(lambda params, point: model.apply(params, features(point[None]))[0, 0], in_axes=(None, 0))  # noqa: B023
        )
        for name, (x, y) in data.items():
            half = n // 2
            fx = np.asarray(features(x))
            sweep = fn.sweep.fit(
                model,
                fx[:half],
                y[:half],
                fn.sweep.seeds(k),
                loss="binary_crossentropy",
                optimizer=fn.optimizers.get("adam", learning_rate=LEARNING_RATE),
                metrics=["accuracy"],
                epochs=epochs,
                batch_size=10,
                key=jax.random.key(1),
                verbose=0,
            )
            train = np.array(
                [trainer.evaluate(sweep.params(i), fx[:half], y[:half], return_dict=True)["accuracy"] for i in range(k)]
            )
            test = np.array(
                [trainer.evaluate(sweep.params(i), fx[half:], y[half:], return_dict=True)["accuracy"] for i in range(k)]
            )
            results.setdefault(name, {})[case] = {
                "train_accuracy_per_seed": train,
                "test_accuracy_per_seed": test,
                "train_accuracy": float(train.mean()),
                "test_accuracy": float(test.mean()),
                "test_accuracy_std": float(test.std()),
                "loss_curve_mean": np.mean(sweep.history["loss"], axis=0),
            }
            surfaces[name, case] = np.asarray(surface(sweep.params(0), jnp.asarray(grid)))
            print(
                f"{name:>7}, {case:<22}: train accuracy {train.mean():.3f}, test accuracy {test.mean():.3f} "
                f"(seeds: {', '.join(f'{a:.3f}' for a in test)})"
            )

    fig, axes = plt.subplots(
        len(datasets), len(CASES), figsize=(3.7 * len(CASES) + 1, 3.7 * len(datasets)), layout="constrained"
    )
    image = None
    for i, name in enumerate(datasets):
        x, y = data[name]
        for j, case in enumerate(CASES):
            ax = axes[i, j]
            image = ax.contourf(
                grid_1d,
                grid_1d,
                surfaces[name, case].reshape(len(grid_1d), len(grid_1d)),
                levels=np.linspace(0, 1, 11),
                cmap="RdBu",
                alpha=0.8,
            )
            ax.contour(
                grid_1d,
                grid_1d,
                surfaces[name, case].reshape(len(grid_1d), len(grid_1d)),
                levels=[0.5],
                colors="black",
                linewidths=1,
            )
            test_x, test_y = x[n // 2 :], y[n // 2 :]
            ax.scatter(
                test_x[:, 0],
                test_x[:, 1],
                c=test_y,
                cmap="RdBu",
                vmin=-0.3,
                vmax=1.3,
                s=10,
                edgecolors="black",
                linewidths=0.3,
            )
            r = results[name][case]
            ax.set_title(
                f"{name}, {case}\ntest accuracy {r['test_accuracy']:.2f} (seed 0 drawn: "
                f"{r['test_accuracy_per_seed'][0]:.2f})",
                fontsize=9,
            )
            ax.set_xlabel("x1")
            ax.set_ylabel("x2")
            ax.set_aspect("equal")
            ax.grid(False)
    assert image is not None  # the last surface drawn
    fig.colorbar(image, ax=axes, label="model's P(class 1)", shrink=0.4, location="right")
    fig.suptitle(
        f"Playground data sets: decision surfaces (black line: P = 0.5) and the test points\n"
        f"(blue: class 1, red: class 0); {epochs} epochs, Adam {LEARNING_RATE}, batch 10; test accuracy: "
        f"mean over {k} seeds",
        fontsize=12,
    )
    _common.save(
        "playground_lessons",
        args,
        fig,
        config={
            "datasets": datasets,
            "n": n,
            "train_fraction": 0.5,
            "noise": 0.0,
            "epochs": epochs,
            "batch_size": 10,
            "optimizer": f"adam {LEARNING_RATE}",
            "loss": "binary_crossentropy",
            "seeds_per_case": k,
            "cases": {
                "linear": "Dense(1, sigmoid) on (x1, x2)",
                "linear + crosses": f"Dense(1, sigmoid) on {list(CROSSES)}",
                "hidden layers 8-8 tanh": "Dense(8, tanh), Dense(8, tanh), Dense(1, sigmoid)",
                "deeper 8-8-8-8 tanh": "4 x Dense(8, tanh), Dense(1, sigmoid)",
            },
            "grid": [-6, 6, len(grid_1d)],
        },
        seeds={
            "data": {name: DATASETS.index(name) for name in datasets},
            "sweep_key": 1,
            "variant_seeds": list(range(k)),
            "drawn": 0,
        },
        results=results,
    )


if __name__ == "__main__":
    main()
