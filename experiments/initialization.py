"""Initialization: a 10-layer network at initialization, and the zero-init symmetry.

Part 1 (Glorot & Bengio 2010; He et al. 2015): a 10-layer network (9 hidden
layers of equal width, a softmax output) on a batch of digits, before any
training. Per layer, the standard deviation of the activations (forward) and
of the kernel gradients ``dC/dW`` (backward, by ``jax.grad``), for

- sigmoid and tanh with a small normal N(0, 0.05^2) (Keras's RandomNormal),
- sigmoid and tanh with Glorot's uniform initialization,
- ReLU with Glorot's and with He's normal initialization.

Small weights make the signal shrink layer by layer (and sigmoid's gradient
vanishes towards the input); Glorot keeps tanh's variance roughly constant;
ReLU halves the variance per layer unless He's factor 2 makes up for it.

Part 2: every weight zero. All hidden units of a layer compute the same
function and get the same gradient, so they stay identical whatever the
training: the network is no wider than one unit per layer. With tanh every
hidden output is tanh(0) = 0, no kernel gets a gradient and the accuracy on
XOR stays at chance; with sigmoid the weights move, but together, and the
network is no better than a linear model (about 2/3 on XOR). The same
network with Glorot's init learns XOR.

    python experiments/initialization.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import jax.numpy as jnp
import numpy as np

import fnnet as fn
from fnnet import layers
from _common import plt

DEPTH = 10
CASES = [("sigmoid", "normal"), ("sigmoid", "glorot_uniform"), ("tanh", "normal"), ("tanh", "glorot_uniform"),
         ("relu", "glorot_uniform"), ("relu", "he_normal")]


def deep_statistics(activation, initializer, width, x, y, seed):
    """Per layer: std of the activations and of dC/dW at initialization."""
    hidden = [layers.Dense(width, activation, kernel_initializer=initializer) for _ in range(DEPTH - 1)]
    model = fn.Sequential([*hidden, layers.Dense(10, "softmax", kernel_initializer=initializer)])
    params = model.init(jax.random.key(seed), x.shape[1:])
    names = list(params)  # dense, dense_1, ... in order

    @jax.jit
    def statistics(params):
        h, stds = x, []
        for layer, name in zip(hidden, names):
            h = layer.apply(params[name], h)
            stds.append(jnp.std(h))
        grads = jax.grad(lambda p: fn.losses.sparse_categorical_crossentropy(y, model.apply(p, x)))(params)
        return jnp.stack(stds), jnp.stack([jnp.std(grads[n]["kernel"]) for n in names])

    activation_std, gradient_std = statistics(params)
    return np.asarray(activation_std), np.asarray(gradient_std)


def zero_init_run(activation, kernel_initializer, x, y, x_test, y_test, epochs, seed):
    model = fn.Sequential([layers.Dense(8, activation, kernel_initializer=kernel_initializer),
                           layers.Dense(8, activation, kernel_initializer=kernel_initializer),
                           layers.Dense(1, "sigmoid", kernel_initializer=kernel_initializer)])
    trainer = fn.compile(model, loss="binary_crossentropy", optimizer=fn.optimizers.get("adam", learning_rate=0.03),
                         metrics=["accuracy"])
    state, history = trainer.fit(model.init(jax.random.key(seed), (2,)), x, y, epochs=epochs, batch_size=16,
                                 validation_data=(x_test, y_test), key=jax.random.key(seed + 1), verbose=0)
    spread = {}
    for name in ("dense", "dense_1"):  # hidden layers: every unit's incoming weights against unit 0's
        kernel, bias = np.asarray(state.params[name]["kernel"]), np.asarray(state.params[name]["bias"])
        spread[name] = float(max(np.abs(kernel - kernel[:, :1]).max(), np.abs(bias - bias[0]).max()))
    moved = float(np.abs(np.asarray(state.params["dense"]["kernel"])).max())
    return history.history, spread, moved


def main():
    args = _common.parse_args(__doc__, width=(int, 256, "hidden units per layer"),
                              epochs=(int, 60, "epochs of the XOR runs"))
    width, epochs, batch = (64, 5, 128) if args.quick else (args.width, args.epochs, 512)
    (x_train, y_train), _ = _common.digits()
    x, y = x_train[:batch], y_train[:batch]
    deep = {}
    cases = [CASES[2], CASES[4], CASES[5]] if args.quick else CASES  # --quick: tanh + normal, the ReLU pair
    for activation, initializer in cases:
        a_std, g_std = deep_statistics(activation, initializer, width, x, y, seed=0)
        deep[f"{activation} + {initializer}"] = {"activation_std": a_std, "gradient_std": g_std}
        print(f"{activation:>7} + {initializer:<14}: activation std layer 1 {a_std[0]:.3g} -> layer 9 {a_std[-1]:.3g}; "
              f"gradient std layer 1 {g_std[0]:.3g}, layer 10 {g_std[-1]:.3g}")

    n = 200 if args.quick else 1000
    x_xor, y_xor = fn.datasets.playground.make("xor", 2 * n, noise=0.0, key=jax.random.key(3))
    x_xor = x_xor / 5.0
    runs = {}
    for activation, init in (("tanh", "zeros"), ("sigmoid", "zeros"), ("sigmoid", "glorot_uniform")):
        label = f"{activation}, {init}"
        history, spread, moved = zero_init_run(activation, init, x_xor[:n], y_xor[:n], x_xor[n:], y_xor[n:], epochs, seed=0)
        runs[label] = {"history": history, "hidden_unit_spread": spread, "first_kernel_max_abs": moved,
                       "test_accuracy": history["val_accuracy"][-1]}
        print(f"XOR, {label} kernels: test accuracy {history['val_accuracy'][-1]:.3f}; max difference between "
              f"hidden units {max(spread.values()):.2e}; largest first-layer weight {moved:.3g}")

    fig, (ax_a, ax_g, ax_z) = plt.subplots(1, 3, figsize=(16, 4.6))
    depth = np.arange(1, DEPTH + 1)
    styles = {"sigmoid": "tab:blue", "tanh": "tab:orange", "relu": "tab:green"}
    init_styles = {"normal": dict(linestyle=":", marker="o"), "glorot_uniform": dict(linestyle="--", marker="s"),
                   "he_normal": dict(linestyle="-", marker="^")}
    for label, stats in deep.items():
        activation, initializer = label.split(" + ")
        style = dict(color=styles[activation], **init_styles[initializer])
        ax_a.plot(depth[:-1], stats["activation_std"], label=label, **style)
        ax_g.plot(depth, stats["gradient_std"], label=label, **style)
    ax_a.set_yscale("log")
    ax_a.set_xlabel("hidden layer (1 = nearest the input)")
    ax_a.set_ylabel("std of the layer's activations")
    ax_a.set_title(f"Forward: activations at init ({width} units/layer)")
    ax_a.legend()
    ax_g.set_yscale("log")
    ax_g.set_xlabel("layer (10 = softmax output)")
    ax_g.set_ylabel("std of dC/dW (jax.grad)")
    ax_g.set_title("Backward: kernel gradients at init")
    ax_g.legend()
    for label, run in runs.items():
        ax_z.plot(np.arange(1, len(run["history"]["val_accuracy"]) + 1), run["history"]["val_accuracy"],
                  label=f"{label} kernels: test acc {run['test_accuracy']:.2f}, "
                        f"unit spread {max(run['hidden_unit_spread'].values()):.1g}")
    ax_z.axhline(0.5, color="gray", linestyle=":", label="chance")
    ax_z.set_ylim(0.3, 1.02)
    ax_z.set_xlabel("epoch")
    ax_z.set_ylabel("test accuracy on XOR")
    ax_z.set_title("Zero init: hidden units stay identical (spread 0)")
    ax_z.legend(loc="lower right")
    fig.suptitle(f"Initialization of deep networks: {DEPTH} layers on digits (left, middle); "
                 "2-8-8-1 on XOR (right)")
    fig.tight_layout()
    _common.save("initialization", args, fig,
                 config={"depth": DEPTH, "width": width, "batch": batch, "cases": cases,
                         "xor": {"n_train": n, "n_test": n, "model": "2-8-8-1 (tanh or sigmoid hidden, sigmoid output)", "optimizer": "adam 0.03",
                                 "batch_size": 16, "epochs": epochs, "inputs": "playground xor / 5"}},
                 seeds={"init": 0, "fit": 1, "xor_data": 3},
                 results={"deep": deep, "zero_init": runs,
                          "zero_init_units_identical": all(max(r["hidden_unit_spread"].values()) == 0.0
                                                           for label, r in runs.items() if "zeros" in label)})


if __name__ == "__main__":
    main()
