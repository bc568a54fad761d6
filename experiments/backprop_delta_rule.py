"""Backpropagation by hand (the delta rule, NumPy) against ``jax.grad``, in float64.

The lesson's network: sigmoid hidden layers, a softmax output and the mean
cross-entropy, on a batch of digits. The delta rule (column convention,
``z_{l+1} = W_l a_l + b_l``):

    delta_L = (a_L - y) / N                       softmax with cross-entropy
    delta_l = (W_l^T delta_{l+1}) * a_l (1 - a_l)  sigmoid hidden layers
    dC/dW_l = delta_{l+1} a_l^T,   dC/db_l = sum over samples of delta_{l+1}

The hand-written rule lives here and in tests/test_backprop_reference.py,
never in fnnet: fnnet's only backpropagation is ``jax.grad``. Writes the
per-layer max difference and the gradient norms from both.

    python experiments/backprop_delta_rule.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

from typing import Any

import jax
import numpy as np

import fnnet as fn
from fnnet import layers
from _common import plt

HIDDEN = [32, 16, 16]  # sigmoid hidden layers, then a softmax over the 10 digits


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def delta_rule(weights, biases, x, y):
    """dC/dW_l and dC/db_l by the delta rule; weights are the lesson's (out, in) matrices."""
    activations = [x.T]
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = w @ activations[-1] + b[:, None]
        if i < len(weights) - 1:
            activations.append(sigmoid(z))
        else:
            e = np.exp(z - z.max(axis=0))
            activations.append(e / e.sum(axis=0))
    delta = (activations[-1] - y.T) / x.shape[0]
    grads_w: list[Any] = [None] * len(weights)  # every layer's is set below
    grads_b: list[Any] = [None] * len(weights)
    for layer in reversed(range(len(weights))):
        grads_w[layer] = delta @ activations[layer].T
        grads_b[layer] = delta.sum(axis=1)
        if layer > 0:
            a = activations[layer]
            delta = (weights[layer].T @ delta) * a * (1 - a)
    return grads_w, grads_b


def main():
    args = _common.parse_args(
        __doc__, batch=(int, 256, "samples in the batch"), seeds=(int, 5, "initializations compared")
    )
    batch, n_seeds = (32, 2) if args.quick else (args.batch, args.seeds)
    (x_train, y_train), _ = _common.digits()
    x = x_train[:batch].astype(np.float64)
    y = np.asarray(fn.data.to_categorical(y_train[:batch], 10), np.float64)
    model = fn.Sequential([*(layers.Dense(n, "sigmoid") for n in HIDDEN), layers.Dense(10, "softmax")])
    names = ["dense"] + [f"dense_{i}" for i in range(1, len(HIDDEN) + 1)]

    rows = []
    with jax.enable_x64(True):
        for seed in range(n_seeds):
            params = model.init(jax.random.key(seed), (x.shape[1],))
            params = jax.tree_util.tree_map(lambda v: np.asarray(v, np.float64), params)
            rng = np.random.default_rng(seed)
            for name in names:  # non-zero biases, so dC/db is exercised too
                params[name]["bias"] = rng.normal(scale=0.5, size=params[name]["bias"].shape)
            grads = jax.grad(lambda p: fn.losses.categorical_crossentropy(y, model.apply(p, x)))(params)
            grads_w, grads_b = delta_rule(
                [params[n]["kernel"].T for n in names], [params[n]["bias"] for n in names], x, y
            )
            for name, gw, gb in zip(names, grads_w, grads_b):
                jw, jb = np.asarray(grads[name]["kernel"]), np.asarray(grads[name]["bias"])
                assert jw.dtype == np.float64
                rows.append(
                    {
                        "seed": seed,
                        "layer": name,
                        "max_abs_diff_kernel": float(np.abs(jw - gw.T).max()),
                        "max_abs_diff_bias": float(np.abs(jb - gb).max()),
                        "norm_kernel_jax": float(np.linalg.norm(jw)),
                        "norm_kernel_delta": float(np.linalg.norm(gw)),
                        "norm_bias_jax": float(np.linalg.norm(jb)),
                        "norm_bias_delta": float(np.linalg.norm(gb)),
                    }
                )
    max_diff = max(max(r["max_abs_diff_kernel"], r["max_abs_diff_bias"]) for r in rows)
    per_layer = {
        n: max(max(r["max_abs_diff_kernel"], r["max_abs_diff_bias"]) for r in rows if r["layer"] == n) for n in names
    }
    for name in names:
        print(f"{name}: max |jax.grad - delta rule| = {per_layer[name]:.2e}")

    fig, (ax_norm, ax_diff) = plt.subplots(1, 2, figsize=(11, 4.2))
    positions = np.arange(len(names))
    seed0 = [r for r in rows if r["seed"] == 0]
    ax_norm.bar(positions - 0.2, [r["norm_kernel_delta"] for r in seed0], 0.4, label="delta rule (NumPy)")
    ax_norm.bar(
        positions + 0.2, [r["norm_kernel_jax"] for r in seed0], 0.4, label="jax.grad (fnnet)", hatch="//", alpha=0.7
    )
    ax_norm.set_yscale("log")
    labels = [f"{n}\n{w_in}->{w_out}" for n, w_in, w_out in zip(names, [64] + HIDDEN, HIDDEN + [10])]
    ax_norm.set_xticks(positions, labels)
    ax_norm.set_xlabel("layer (input layer left, softmax output right)")
    ax_norm.set_ylabel("||dC/dW|| (Frobenius)")
    ax_norm.set_title("Gradient norm per layer, seed 0: the two agree")
    ax_norm.legend()
    ax_diff.bar(positions, [max(v, 1e-18) for v in per_layer.values()], 0.5, color="tab:green")
    ax_diff.axhline(1e-10, color="red", linestyle="--", label="claim: < 1e-10")
    ax_diff.set_yscale("log")
    ax_diff.set_ylim(1e-19, 1e-8)
    ax_diff.set_xticks(positions, labels)
    ax_diff.set_xlabel("layer")
    ax_diff.set_ylabel("max |jax.grad - delta rule| (kernel and bias)")
    ax_diff.set_title(f"Largest difference over {n_seeds} seeds, float64")
    ax_diff.legend()
    fig.suptitle(
        f"Backpropagation: NumPy delta rule vs jax.grad (sigmoid {HIDDEN}, softmax, cross-entropy, {batch} digits)"
    )
    fig.tight_layout()
    _common.save(
        "backprop_delta_rule",
        args,
        fig,
        config={
            "hidden": HIDDEN,
            "activation": "sigmoid",
            "output": "softmax",
            "loss": "categorical_crossentropy",
            "batch": batch,
            "dtype": "float64",
            "data": "digits (first training samples, standardized)",
        },
        seeds=list(range(n_seeds)),
        results={"max_abs_diff": max_diff, "max_abs_diff_per_layer": per_layer, "rows": rows},
    )


if __name__ == "__main__":
    main()
