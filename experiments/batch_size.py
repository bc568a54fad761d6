"""Batch size: full-batch gradient descent vs SGD (batch 1) vs mini-batches: noise, progress per epoch, per second.

One model (64-256-256-10 ReLU on the standardized digits), one optimizer
(SGD with the same learning rate), one initialization; only ``batch_size``
changes: ``len(x)`` (one exact step per epoch), ``1`` (one step per sample)
and mini-batches of 32. A fourth run gives the mini-batches the learning
rate scaled by the batch size (0.01 x 32 = 0.32, the linear scaling rule of
Goyal et al. 2017): an averaged gradient is less noisy, so it can take a
longer step.

- Noise: a batch of B samples drawn without replacement from the N gives an
  unbiased gradient ``g_B`` whose error is, exactly,
  ``E||g_B - g||^2 = (N - B) / (B (N - 1)) * (1/N) sum_i ||g_i - g||^2``
  (``g_i`` the per-sample gradients): it falls as 1/B and is 0 for the full
  batch. At the initialization, both the formula and 50 sampled batches
  per size.
- Per epoch: the more steps per epoch, the faster the loss falls.
- Per second: batch 1 pays for its many small steps (they use the CPU's
  vector units badly); each configuration is compiled by a one-epoch warm-up
  ``fit`` first, so the clock measures training, not compiling.

    python experiments/batch_size.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import time

import jax
import jax.numpy as jnp
import numpy as np

import fnnet as fn
from fnnet import callbacks, layers
from _common import plt

LEARNING_RATE, HIDDEN, DRAWS = 0.01, [256, 256], 50


def gradient_noise(model, params, x, y, batch_sizes, sampled_sizes, key):
    """Relative gradient error sqrt(E||g_B - g||^2) / ||g||: the exact formula for every B in ``batch_sizes``,
    and the mean over DRAWS random batches for every B in ``sampled_sizes``."""
    flat = lambda tree: jnp.concatenate([leaf.ravel() for leaf in jax.tree_util.tree_leaves(tree)])
    loss = lambda p, xb, yb: fn.losses.sparse_categorical_crossentropy(yb, model.apply(p, xb))
    grad = jax.jit(lambda p, xb, yb: flat(jax.grad(loss)(p, xb, yb)))
    per_sample = jax.jit(jax.vmap(lambda xi, yi: grad(params, xi[None], yi[None])))
    x, y = jnp.asarray(x), jnp.asarray(y)
    n, g = len(x), grad(params, x, y)
    spread = (
        sum(float(jnp.sum((per_sample(x[i : i + 100], y[i : i + 100]) - g[None]) ** 2)) for i in range(0, n, 100)) / n
    )
    error = jax.jit(
        lambda picks: jax.lax.map(lambda p: jnp.sum((grad(params, x[p], y[p]) - g) ** 2), picks, batch_size=25)
    )  # 25 batches at a time: bounded memory
    exact = {b: float(np.sqrt((n - b) / (b * (n - 1)) * spread) / jnp.linalg.norm(g)) for b in batch_sizes}
    sampled = {}
    for b in sampled_sizes:  # one compiled program per size
        picks = np.stack([np.random.default_rng([key, b, d]).choice(n, b, replace=False) for d in range(DRAWS)])
        sampled[b] = float(np.sqrt(np.mean(np.asarray(error(picks)))) / jnp.linalg.norm(g))
    return exact, sampled


def main():
    args = _common.parse_args(__doc__, epochs=(int, 30, "epochs"))
    epochs = 2 if args.quick else args.epochs
    (x, y), (x_test, y_test) = _common.digits()
    model = fn.Sequential([*(layers.Dense(n, "relu") for n in HIDDEN), layers.Dense(10, "softmax")])
    params = model.init(jax.random.key(0), x.shape[1:])
    trainers = {
        lr: fn.compile(
            model,
            loss="sparse_categorical_crossentropy",
            optimizer=fn.optimizers.get("sgd", learning_rate=lr),
            metrics=["accuracy"],
        )
        for lr in (LEARNING_RATE, 32 * LEARNING_RATE)
    }
    initial_loss = trainers[LEARNING_RATE].evaluate(params, x, y, return_dict=True)["loss"]
    cases = (
        ("full batch", len(x), LEARNING_RATE),
        ("SGD, batch 1", 1, LEARNING_RATE),
        ("mini-batch 32", 32, LEARNING_RATE),
        (f"mini-batch 32, lr {32 * LEARNING_RATE:g}", 32, 32 * LEARNING_RATE),
    )
    cases = cases[:3] if args.quick else cases
    noise_sizes = sorted({*(2 ** np.arange(11)).tolist(), 32, len(x)})
    sampled_sizes = [32] if args.quick else [1, 8, 32, 128, 512]
    exact, sampled = gradient_noise(model, params, x, y, noise_sizes, sampled_sizes, key=2)
    runs = {}
    for label, batch_size, lr in cases:
        trainer = trainers[lr]
        trainer.fit(params, x, y, epochs=1, batch_size=batch_size, key=jax.random.key(1), verbose=0)  # compile
        stamps = []
        clock = callbacks.LambdaCallback(
            on_train_begin=lambda logs: stamps.append(time.perf_counter()),  # noqa: B023 (fit runs in this iteration)
            on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()),  # noqa: B023
        )
        state, history = trainer.fit(
            params, x, y, epochs=epochs, batch_size=batch_size, callbacks=[clock], key=jax.random.key(1), verbose=0
        )
        test = trainer.evaluate(state.params, x_test, y_test, return_dict=True)
        seconds = np.asarray(stamps[1:]) - stamps[0]
        runs[label] = {
            "batch_size": batch_size,
            "learning_rate": lr,
            "steps_per_epoch": -(-len(x) // batch_size),
            "loss": history.history["loss"],
            "test_accuracy": test["accuracy"],
            "seconds": seconds,
            "seconds_per_epoch": float(seconds[-1] / epochs),
            "gradient_relative_error": exact[batch_size],
        }
        print(
            f"{label:>14}: final loss {history.history['loss'][-1]:.4f}, test accuracy {test['accuracy']:.3f}, "
            f"{seconds[-1] / epochs * 1e3:.1f} ms per epoch, gradient error {exact[batch_size]:.3f}"
        )

    fig, (ax_noise, ax_epoch, ax_time) = plt.subplots(1, 3, figsize=(17, 4.8))
    colors = dict(zip(runs, ["tab:blue", "tab:orange", "tab:green", "tab:purple"]))
    sizes = [b for b in noise_sizes if b < len(x)]
    ax_noise.plot(
        sizes,
        [exact[b] for b in sizes],
        "-",
        color="gray",
        label="exact (drawn without replacement): ~ sqrt((N-B) / (B (N-1)))",
    )
    ax_noise.plot(
        sampled_sizes,
        [sampled[b] for b in sampled_sizes],
        "o",
        color="black",
        markersize=4,
        label=f"measured: {DRAWS} random batches per size",
    )
    for label, run in runs.items():
        if run["batch_size"] < len(x) and run["learning_rate"] == LEARNING_RATE:
            ax_noise.plot(
                run["batch_size"],
                exact[run["batch_size"]],
                "o",
                color=colors[label],
                markersize=11,
                label=f"{label}: {exact[run['batch_size']]:.2f}",
            )
    ax_noise.set_xscale("log")
    ax_noise.set_yscale("log")
    ax_noise.set_xlabel("batch size B")
    ax_noise.set_ylabel("||g_B - g|| / ||g|| (root mean square)")
    ax_noise.set_title(f"Noise: the batch gradient's error at init\n(full batch, B = N = {len(x)}: exactly 0)")
    ax_noise.legend(fontsize=7)
    for label, run in runs.items():
        steps = run["steps_per_epoch"]
        text = f"{label} ({steps} step{'s' if steps > 1 else ''}/epoch): test acc {run['test_accuracy']:.2f}"
        style = "--" if run["learning_rate"] != LEARNING_RATE else "-"
        ax_epoch.plot(
            np.arange(epochs + 1), [initial_loss, *run["loss"]], style, marker=".", color=colors[label], label=text
        )
        ax_time.plot(
            [0.0, *run["seconds"]],
            [initial_loss, *run["loss"]],
            style,
            marker=".",
            color=colors[label],
            label=f"{label}: {run['seconds_per_epoch'] * 1e3:.0f} ms per epoch",
        )
    for ax in (ax_epoch, ax_time):
        ax.set_yscale("log")
        ax.set_ylabel("training loss (cross-entropy)")
        ax.legend(fontsize=7)
    ax_epoch.set_xlabel(f"epoch (passes over the {len(x):,} training digits)")
    ax_epoch.set_title("Per epoch: more steps, more progress")
    ax_time.set_xlabel("wall-clock seconds (compiled beforehand; 2-core CPU)")
    ratio = runs["SGD, batch 1"]["seconds_per_epoch"] / runs["mini-batch 32"]["seconds_per_epoch"]
    ax_time.set_title(f"Per second: a batch-1 epoch costs {ratio:.1f}x a mini-batch-32 epoch")
    fig.suptitle(
        f"Batch size: 64-{'-'.join(map(str, HIDDEN))}-10 ReLU on digits, SGD lr {LEARNING_RATE} "
        f"(dashed: lr {32 * LEARNING_RATE:g}), same initialization, {epochs} epochs"
    )
    fig.tight_layout()
    _common.save(
        "batch_size",
        args,
        fig,
        config={
            "model": f"64-{'-'.join(map(str, HIDDEN))}(relu)-10(softmax)",
            "optimizer": "sgd",
            "learning_rates": {k: v["learning_rate"] for k, v in runs.items()},
            "epochs": epochs,
            "batch_sizes": {k: v["batch_size"] for k, v in runs.items()},
            "noise_draws": DRAWS,
            "timing": "one warm-up fit per configuration, then a timed fit (LambdaCallback)",
        },
        seeds={"init": 0, "shuffle": 1, "noise_batches": 2},
        results={
            "initial_loss": initial_loss,
            "runs": runs,
            "batch1_over_minibatch_epoch_time": ratio,
            "gradient_noise": {
                "batch_sizes": noise_sizes,
                "exact": [exact[b] for b in noise_sizes],
                "sampled_batch_sizes": sampled_sizes,
                "sampled": [sampled[b] for b in sampled_sizes],
            },
        },
    )


if __name__ == "__main__":
    main()
