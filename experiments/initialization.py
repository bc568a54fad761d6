"""Initialization: a 10-layer network at initialization, and the zero-init symmetry.

Part 1 (Glorot & Bengio 2010; He et al. 2015): a 10-layer network (9 hidden
layers of equal width, a softmax output) on a batch of digits, before any
training. With ``z_l = a_{l-1} W_l + b_l`` and ``a_l = f(z_l)``, per layer:
the standard deviation of the activations ``a_l`` (forward), of the
backpropagated gradient ``delta_l = dC/dz_l`` (backward) and of the weight
gradient ``dC/dW_l = a_{l-1}^T delta_l``, all by ``jax.grad`` (``dC/dz_l`` as
the gradient with respect to a zero added to ``z_l``). Backpropagation
multiplies ``delta`` by ``W_l^T`` and by ``f'(z)`` once per layer, so per
layer it scales by about ``sqrt(width) * std(W) * mean|f'|``:

- sigmoid and tanh with small weights N(0, 0.01^2) (the "small random
  numbers" of the lessons): ``sqrt(256) * 0.01 = 0.16``, and sigmoid's slope
  is at most 1/4: delta shrinks about 25x per layer;
- sigmoid and tanh with Glorot's uniform init (``std(W) = 1/sqrt(width)``):
  tanh keeps its scale; sigmoid still loses its factor 1/4 per layer;
- ReLU with Glorot's and with He's normal init: ReLU halves the variance per
  layer unless He's factor 2 makes up for it.

The summary is the ratio ``std(delta_1) / std(delta_10)``: how much weaker
the gradient is at the first layer than at the output.

Part 2: every weight zero. All hidden units of a layer compute the same
function and get the same gradient, so in exact arithmetic they stay
identical whatever the training: the network is no wider than one unit per
layer. With tanh every hidden output is tanh(0) = 0, no kernel gets a
gradient and the accuracy on XOR stays at chance; with sigmoid the weights
move, but together, and the network does no better than a linear model. In
float64 the units stay bit-identical. In float32, XLA's CPU matrix products
round some columns differently by one unit in the last place; the symmetric
state is unstable under training, so that 1e-8 grows until the units differ.
Both are run; the same network with Glorot's init learns XOR.

    python experiments/initialization.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import jax.numpy as jnp
import numpy as np

import fnnet as fn
from fnnet import callbacks, layers
from _common import plt

DEPTH, SMALL_STD = 10, 0.01
INITIALIZERS = {
    "small normal": fn.initializers.random_normal(stddev=SMALL_STD),
    "glorot_uniform": "glorot_uniform",
    "he_normal": "he_normal",
}
CASES = [
    ("sigmoid", "small normal"),
    ("sigmoid", "glorot_uniform"),
    ("tanh", "small normal"),
    ("tanh", "glorot_uniform"),
    ("relu", "glorot_uniform"),
    ("relu", "he_normal"),
]
SPREAD_FLOOR = 1e-18  # where an exactly-zero spread is drawn on the log axis


def deep_statistics(activation, initializer, width, x, y, seed):
    """Per layer: std of a_l (hidden layers), of delta_l = dC/dz_l and of dC/dW_l (all 10 layers) at init."""
    dense = [
        layers.Dense(width if i < DEPTH - 1 else 10, kernel_initializer=INITIALIZERS[initializer]) for i in range(DEPTH)
    ]  # linear: z_l; the activation is applied below, after the probe
    model = fn.Sequential(dense)
    params = model.init(jax.random.key(seed), x.shape[1:])
    names, f = list(params), fn.activations.get(activation)

    def loss(params, probes):
        """C(params) with z_l + probe_l: at probe = 0, dC/dprobe_l is dC/dz_l."""
        a, hidden = x, []
        for i, (layer, name) in enumerate(zip(dense, names)):
            z = layer.apply(params[name], a) + probes[i]
            a = f(z) if i < DEPTH - 1 else fn.activations.softmax(z)
            hidden.append(a)
        return fn.losses.sparse_categorical_crossentropy(y, a), hidden[:-1]

    @jax.jit
    def statistics(params):
        probes = [jnp.zeros((len(x), width if i < DEPTH - 1 else 10)) for i in range(DEPTH)]
        (g_params, g_probes), hidden = jax.grad(loss, argnums=(0, 1), has_aux=True)(params, probes)
        return (
            jnp.stack([jnp.std(a) for a in hidden]),
            jnp.stack([jnp.std(d) for d in g_probes]),
            jnp.stack([jnp.std(g_params[n]["kernel"]) for n in names]),
        )

    return [np.asarray(v, np.float64) for v in statistics(params)]


def hidden_unit_spread(params):
    """max |w_j - w_0| over the hidden units j of each hidden layer: their incoming weights and bias, and their
    outgoing weights. 0 means every hidden unit of a layer is the same function."""
    spread = 0.0
    for name, after in (("dense", "dense_1"), ("dense_1", "dense_2")):
        kernel, bias = np.asarray(params[name]["kernel"]), np.asarray(params[name]["bias"])
        outgoing = np.asarray(params[after]["kernel"])
        spread = max(
            spread,
            np.abs(kernel - kernel[:, :1]).max(),
            np.abs(bias - bias[0]).max(),
            np.abs(outgoing - outgoing[:1]).max(),
        )
    return float(spread)


def best_line_accuracy(x, y, angles=720):
    """The best accuracy any straight line ``w . x = t`` reaches on (x, y): a scan over directions and thresholds.

    A network whose hidden layers act as one unit each computes a monotone function of one ``w . x``, so its
    decision boundary is such a line and this is its ceiling."""
    y = np.asarray(y).ravel() > 0.5
    best = 0.0
    for theta in np.linspace(0, np.pi, angles, endpoint=False):
        order = np.argsort(x @ np.array([np.cos(theta), np.sin(theta)]))
        ones_below = np.concatenate([[0], np.cumsum(y[order])])  # class-1 points at or below each threshold
        below = np.arange(len(y) + 1)
        correct = (below - ones_below) + (y.sum() - ones_below)  # class 0 below the line, class 1 above it
        best = max(best, correct.max() / len(y), 1 - correct.min() / len(y))  # the line's either side as class 1
    return float(best)


def xor_run(activation, initializer, dtype_policy, data, epochs, seed):
    """A 2-8-8-1 network on XOR; the hidden units' spread after every epoch."""
    x, y, x_test, y_test = data
    model = fn.Sequential(
        [
            layers.Dense(8, activation, kernel_initializer=initializer),
            layers.Dense(8, activation, kernel_initializer=initializer),
            layers.Dense(1, "sigmoid", kernel_initializer=initializer),
        ]
    )
    trainer = fn.compile(
        model,
        loss="binary_crossentropy",
        optimizer=fn.optimizers.get("adam", learning_rate=0.03),
        metrics=["accuracy"],
        dtype_policy=dtype_policy,
    )
    spread = []
    track = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs, state: spread.append(hidden_unit_spread(state.params))
    )
    state, history = trainer.fit(
        model.init(jax.random.key(seed), (2,)),
        x,
        y,
        epochs=epochs,
        batch_size=16,
        validation_data=(x_test, y_test),
        callbacks=[track],
        key=jax.random.key(seed + 1),
        verbose=0,
    )
    return {
        "test_accuracy_curve": history.history["val_accuracy"],
        "test_accuracy": history.history["val_accuracy"][-1],
        "spread_curve": spread,
        "final_spread": spread[-1],
        "first_kernel_max_abs": float(np.abs(np.asarray(state.params["dense"]["kernel"])).max()),
    }


def main():
    args = _common.parse_args(
        __doc__, width=(int, 256, "hidden units per layer"), epochs=(int, 60, "epochs of the XOR runs")
    )
    width, epochs, batch = (64, 5, 128) if args.quick else (args.width, args.epochs, 512)
    (x_train, y_train), _ = _common.digits()
    x, y = x_train[:batch], y_train[:batch]
    deep = {}
    for activation, initializer in CASES if not args.quick else [CASES[0], CASES[-1]]:  # --quick: the extremes
        a_std, delta_std, w_std = deep_statistics(activation, initializer, width, x, y, seed=0)
        deep[f"{activation} + {initializer}"] = {
            "activation_std": a_std,
            "delta_std": delta_std,
            "weight_gradient_std": w_std,
            "delta_ratio_first_last": delta_std[0] / delta_std[-1],
            "weight_gradient_ratio_first_last": w_std[0] / w_std[-1],
        }
        print(
            f"{activation:>7} + {initializer:<14}: activation std layer 1 {a_std[0]:.3g} -> layer 9 {a_std[-1]:.3g}; "
            f"std dC/dz layer 1 / layer 10 = {delta_std[0] / delta_std[-1]:.2e}"
        )

    n = 200 if args.quick else 1000
    x_xor, y_xor = fn.datasets.playground.make("xor", 2 * n, noise=0.0, key=jax.random.key(3))
    x_xor = np.asarray(x_xor) / 5.0
    data32 = (x_xor[:n], y_xor[:n], x_xor[n:], y_xor[n:])
    runs = {
        "tanh, zeros, float32": xor_run("tanh", "zeros", "float32", data32, epochs, seed=0),
        "sigmoid, zeros, float32": xor_run("sigmoid", "zeros", "float32", data32, epochs, seed=0),
    }
    with jax.enable_x64(True):
        data64 = tuple(np.asarray(v, np.float64) for v in data32)
        runs["sigmoid, zeros, float64"] = xor_run("sigmoid", "zeros", "float64", data64, epochs, seed=0)
    runs["sigmoid, glorot_uniform, float32"] = xor_run("sigmoid", "glorot_uniform", "float32", data32, epochs, seed=0)
    best_line = best_line_accuracy(data32[2], data32[3])
    for label, run in runs.items():
        print(
            f"XOR, {label}: test accuracy {run['test_accuracy']:.3f}; spread between hidden units after epoch 1 "
            f"{run['spread_curve'][0]:.2e}, at the end {run['final_spread']:.2e}"
        )
    print(f"XOR: the best straight line scores {best_line:.3f} on the test points")

    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    depth = np.arange(1, DEPTH + 1)
    colors = {"sigmoid": "tab:blue", "tanh": "tab:orange", "relu": "tab:green"}
    styles = {
        "small normal": dict(linestyle=":", marker="o"),
        "glorot_uniform": dict(linestyle="--", marker="s"),
        "he_normal": dict(linestyle="-", marker="^"),
    }
    panels = (
        ("activation_std", "std of the activations a_l", "Forward: activations at init"),
        ("delta_std", "std of dC/dz_l (backpropagated)", "Backward: the backpropagated gradient"),
        ("weight_gradient_std", "std of dC/dW_l", "Backward: the weight gradients"),
    )
    for ax, (key, ylabel, title) in zip(axes[0], panels):
        for label, stats in deep.items():
            activation, initializer = label.split(" + ")
            ax.plot(depth[: len(stats[key])], stats[key], label=label, color=colors[activation], **styles[initializer])
        ax.set_yscale("log")
        ax.set_xticks(depth[: len(list(deep.values())[-1][key])])  # the layers of the last curve drawn
        ax.set_xlabel("layer (1 = nearest the input, 10 = softmax output)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=7)
    axes[0, 0].set_xlabel("hidden layer (1 = nearest the input)")

    ax_acc, ax_spread, ax_ratio = axes[1]
    run_colors = dict(zip(runs, ["tab:orange", "tab:blue", "tab:purple", "tab:green"]))
    run_styles = dict(zip(runs, ["-", "-", "--", "-"]))  # the two exact zeros overlap: wide solid, dashed on top
    run_widths = dict(zip(runs, [5, 1.5, 2, 1.5]))
    epoch_axis = np.arange(1, epochs + 1)
    for label, run in runs.items():
        ax_acc.plot(
            epoch_axis,
            run["test_accuracy_curve"],
            color=run_colors[label],
            label=f"{label}: {run['test_accuracy']:.3f}",
        )
        zero = max(run["spread_curve"]) == 0.0
        ax_spread.plot(
            epoch_axis,
            np.maximum(run["spread_curve"], SPREAD_FLOOR),
            color=run_colors[label],
            label=label + (" (0 in every epoch)" if zero else ""),
            linestyle=run_styles[label],
            linewidth=run_widths[label],
        )
    ax_acc.axhline(best_line, color="gray", linestyle="--", label=f"best straight line: {best_line:.3f}")
    ax_acc.axhline(0.5, color="black", linestyle=":", linewidth=1, label="chance: 0.5")
    ax_acc.set_ylim(0.3, 1.02)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("test accuracy on XOR")
    ax_acc.set_title("2-8-8-1 on XOR: zero init is no better than a straight line")
    ax_acc.legend(loc="lower right", fontsize=7)
    ax_spread.set_yscale("log")
    ax_spread.set_ylim(SPREAD_FLOOR / 10, 1e3)
    ax_spread.axhline(SPREAD_FLOOR, color="gray", linewidth=0.6)
    ax_spread.text(
        epochs, SPREAD_FLOOR * 2, "exactly 0 (drawn here)", ha="right", va="bottom", fontsize=8, color="gray"
    )
    float32 = runs["sigmoid, zeros, float32"]["spread_curve"]
    ax_spread.annotate(
        "float32 rounding (1 ulp) in the matrix\nproducts, amplified by training",
        xy=(epochs * 0.3, float32[int(epochs * 0.3) - 1] or SPREAD_FLOOR),
        xytext=(epochs * 0.03, 1e-14),
        fontsize=8,
        color="tab:blue",
        arrowprops=dict(arrowstyle="->", color="tab:blue"),
    )
    ax_spread.set_xlabel("epoch")
    ax_spread.set_ylabel("max |w_j - w_0| between hidden units")
    ax_spread.set_title("Hidden units' difference: 0 = identical")
    ax_spread.legend(loc="center right", fontsize=7)
    labels = list(deep)
    ratios = [deep[n]["delta_ratio_first_last"] for n in labels]
    ax_ratio.barh(
        np.arange(len(labels)),
        [1 - r for r in ratios],
        left=ratios,
        height=0.5,
        color=[colors[n.split(" + ")[0]] for n in labels],
    )  # from the ratio up to 1 (no vanishing)
    for i, r in enumerate(ratios):
        ax_ratio.text(r / 1.6, i, f"{r:.1e}", va="center", ha="right", fontsize=8)
    ax_ratio.axvline(1, color="black", linewidth=1)
    ax_ratio.set_xscale("log")
    ax_ratio.set_xlim(min(ratios) / 1e3, 10)
    ax_ratio.set_yticks(np.arange(len(labels)), labels, fontsize=8)
    ax_ratio.invert_yaxis()
    ax_ratio.set_xlabel("std(dC/dz) at layer 1 / at layer 10 (1 = no vanishing)")
    ax_ratio.set_title("Vanishing gradient: first / last layer (bar: how far below 1)")
    fig.suptitle(
        f"Initialization. Top and bottom right: a {DEPTH}-layer network ({width} units per hidden layer) on "
        f"{batch} digits, at init. Bottom left, middle: zero init on XOR",
        fontsize=12,
    )
    fig.tight_layout()
    _common.save(
        "initialization",
        args,
        fig,
        config={
            "depth": DEPTH,
            "width": width,
            "batch": batch,
            "cases": CASES,
            "small_normal_std": SMALL_STD,
            "xor": {
                "n_train": n,
                "n_test": n,
                "model": "2-8-8-1 (tanh or sigmoid hidden, sigmoid output)",
                "optimizer": "adam 0.03",
                "batch_size": 16,
                "epochs": epochs,
                "inputs": "playground xor (noise 0) / 5",
                "line_reference": "best accuracy of any straight line on the test points",
            },
        },
        seeds={"init": 0, "fit": 1, "xor_data": 3},
        results={
            "deep": deep,
            "zero_init": runs,
            "best_line_test_accuracy": best_line,
            "zero_init_float64_units_identical": runs["sigmoid, zeros, float64"]["final_spread"] == 0.0,
            "zero_init_tanh_units_identical": runs["tanh, zeros, float32"]["final_spread"] == 0.0,
        },
    )


if __name__ == "__main__":
    main()
