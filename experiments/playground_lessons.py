"""The Playground's lessons: a linear model, the same with feature crosses, and hidden layers.

On the TensorFlow Playground's classification sets (``fn.datasets.playground
.make``: circle, xor, gauss, spiral; 500 points, half for training, no
noise), three models:

- linear: ``Dense(1, "sigmoid")`` on (x1, x2): logistic regression, a
  straight boundary;
- linear + crosses: the same single layer on the Playground's extra inputs
  (x1, x2, x1^2, x2^2, x1 x2, sin x1, sin x2): still linear in its inputs,
  but the inputs make circles (x1^2 + x2^2) and XOR (x1 x2) separable;
- hidden layers: 8 tanh, 8 tanh, 1 sigmoid on (x1, x2) alone.

Adam (0.03), batch 10 as the Playground, binary cross-entropy. The decision
surface of each model is drawn on a 120 x 120 grid, computed as one
``jax.vmap`` over the grid points. One compiled program per model serves all
four data sets (equal configurations share their programs).

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
    "hidden layers 8-8 tanh": (raw, lambda: fn.Sequential([layers.Dense(8, "tanh"), layers.Dense(8, "tanh"),
                                                            layers.Dense(1, "sigmoid")])),
}


def main():
    args = _common.parse_args(__doc__, epochs=(int, 150, "epochs"), n=(int, 500, "points per data set"))
    epochs, n = (8, 200) if args.quick else (args.epochs, args.n)
    grid_1d = np.linspace(-6, 6, 60 if args.quick else 120)
    grid = np.stack(np.meshgrid(grid_1d, grid_1d), axis=-1).reshape(-1, 2).astype(np.float32)
    data = {name: fn.datasets.playground.make(name, n, noise=0.0, key=jax.random.key(i))
            for i, name in enumerate(DATASETS)}
    results, surfaces = {}, {}
    for case, (features, build) in CASES.items():
        model = build()
        trainer = fn.compile(model, loss="binary_crossentropy", optimizer=fn.optimizers.get("adam", learning_rate=0.03),
                             metrics=["accuracy"])
        surface = jax.jit(jax.vmap(lambda params, point: model.apply(params, features(point[None]))[0, 0], in_axes=(None, 0)))
        for name, (x, y) in data.items():
            half = n // 2
            fx = np.asarray(features(x))
            params = model.init(jax.random.key(0), fx.shape[1:])
            state, history = trainer.fit(params, fx[:half], y[:half], epochs=epochs, batch_size=10,
                                         key=jax.random.key(1), verbose=0)
            test = trainer.evaluate(state.params, fx[half:], y[half:])
            train = trainer.evaluate(state.params, fx[:half], y[:half])
            results.setdefault(name, {})[case] = {"train_accuracy": train["accuracy"],
                                                  "test_accuracy": test["accuracy"], "test_loss": test["loss"],
                                                  "loss_curve": history.history["loss"]}
            surfaces[name, case] = np.asarray(surface(state.params, jnp.asarray(grid)))
            print(f"{name:>7}, {case:<22}: train accuracy {train['accuracy']:.3f}, test accuracy {test['accuracy']:.3f}")

    fig, axes = plt.subplots(len(DATASETS), len(CASES), figsize=(3.7 * len(CASES) + 1, 3.7 * len(DATASETS)),
                             layout="constrained")
    for i, name in enumerate(DATASETS):
        x, y = data[name]
        for j, case in enumerate(CASES):
            ax = axes[i, j]
            image = ax.contourf(grid_1d, grid_1d, surfaces[name, case].reshape(len(grid_1d), len(grid_1d)),
                                levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.8)
            ax.contour(grid_1d, grid_1d, surfaces[name, case].reshape(len(grid_1d), len(grid_1d)), levels=[0.5],
                       colors="black", linewidths=1)
            test_x, test_y = x[n // 2:], y[n // 2:]
            ax.scatter(test_x[:, 0], test_x[:, 1], c=test_y, cmap="RdBu", vmin=-0.3, vmax=1.3, s=10,
                       edgecolors="black", linewidths=0.3)
            ax.set_title(f"{name}, {case}\ntest accuracy {results[name][case]['test_accuracy']:.2f}", fontsize=10)
            ax.set_xlabel("x1")
            ax.set_ylabel("x2")
            ax.set_aspect("equal")
            ax.grid(False)
    fig.colorbar(image, ax=axes, label="model's P(class 1)", shrink=0.4, location="right")
    fig.suptitle(f"Playground data sets: decision surfaces (black line: P = 0.5) and the test points\n"
                 f"(blue: class 1, red: class 0); {epochs} epochs, Adam 0.03, batch 10", fontsize=12)
    _common.save("playground_lessons", args, fig,
                 config={"datasets": DATASETS, "n": n, "train_fraction": 0.5, "noise": 0.0, "epochs": epochs,
                         "batch_size": 10, "optimizer": "adam 0.03", "loss": "binary_crossentropy",
                         "cases": {"linear": "Dense(1, sigmoid) on (x1, x2)",
                                   "linear + crosses": f"Dense(1, sigmoid) on {list(CROSSES)}",
                                   "hidden layers 8-8 tanh": "Dense(8, tanh), Dense(8, tanh), Dense(1, sigmoid)"},
                         "grid": [-6, 6, len(grid_1d)]},
                 seeds={"data": {name: i for i, name in enumerate(DATASETS)}, "init": 0, "fit": 1},
                 results=results)


if __name__ == "__main__":
    main()
