"""Batch size: full-batch gradient descent vs SGD (batch 1) vs mini-batches, per epoch and per second.

One model (64-64-10 ReLU on the standardized digits), one optimizer (SGD
with the same learning rate), one initialization; only ``batch_size``
changes: ``len(x)`` (one step per epoch), ``1`` (one step per sample) and
mini-batches of 32. Per epoch, the more steps the faster the loss falls;
per second of wall-clock time, batch 1 pays for its many small steps (an
epoch costs several times a mini-batch epoch), which on this tiny model on a
CPU it can still afford: the figure shows where the curves cross. Each configuration is compiled by a one-epoch warm-up ``fit``
first, so the clock measures training, not compiling (an equal
configuration shares its compiled programs).

    python experiments/batch_size.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import time

import jax
import numpy as np

import fnnet as fn
from fnnet import callbacks, layers
from _common import plt

LEARNING_RATE = 0.01


def main():
    args = _common.parse_args(__doc__, epochs=(int, 30, "epochs"))
    epochs = 2 if args.quick else args.epochs
    (x, y), (x_test, y_test) = _common.digits()
    model = fn.Sequential([layers.Dense(64, "relu"), layers.Dense(10, "softmax")])
    params = model.init(jax.random.key(0), x.shape[1:])
    trainer = fn.compile(model, loss="sparse_categorical_crossentropy",
                         optimizer=fn.optimizers.get("sgd", learning_rate=LEARNING_RATE), metrics=["accuracy"])
    initial_loss = trainer.evaluate(params, x, y)["loss"]
    runs = {}
    for label, batch_size in (("full batch", len(x)), ("SGD, batch 1", 1), ("mini-batch 32", 32)):
        trainer.fit(params, x, y, epochs=1, batch_size=batch_size, key=jax.random.key(1), verbose=0)  # compile
        stamps = []
        clock = callbacks.LambdaCallback(on_train_begin=lambda logs: stamps.append(time.perf_counter()),
                                         on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()))
        state, history = trainer.fit(params, x, y, epochs=epochs, batch_size=batch_size, callbacks=[clock],
                                     key=jax.random.key(1), verbose=0)
        test = trainer.evaluate(state.params, x_test, y_test)
        seconds = np.asarray(stamps[1:]) - stamps[0]
        runs[label] = {"batch_size": batch_size, "steps_per_epoch": -(-len(x) // batch_size),
                       "loss": history.history["loss"], "test_accuracy": test["accuracy"],
                       "seconds": seconds, "seconds_per_epoch": float(seconds[-1] / epochs)}
        print(f"{label:>14}: final loss {history.history['loss'][-1]:.4f}, test accuracy "
              f"{test['accuracy']:.3f}, {seconds[-1] / epochs * 1e3:.1f} ms per epoch")

    fig, (ax_epoch, ax_time) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, run in runs.items():
        text = f"{label} ({run['steps_per_epoch']} steps/epoch): test acc {run['test_accuracy']:.2f}"
        ax_epoch.plot(np.arange(epochs + 1), [initial_loss, *run["loss"]], marker=".", label=text)
        ax_time.plot([0.0, *run["seconds"]], [initial_loss, *run["loss"]], marker=".", label=text)
    for ax in (ax_epoch, ax_time):
        ax.set_yscale("log")
        ax.set_ylabel("training loss (cross-entropy)")
        ax.legend()
    ax_epoch.set_xlabel(f"epoch (passes over the {len(x):,} training digits)")
    ax_epoch.set_title("Per epoch: more steps, more progress")
    ax_time.set_xlabel("wall-clock seconds (compiled beforehand; 2-core CPU)")
    ratio = runs["SGD, batch 1"]["seconds_per_epoch"] / runs["mini-batch 32"]["seconds_per_epoch"]
    ax_time.set_title(f"Per second: a batch-1 epoch costs {ratio:.0f}x a mini-batch epoch")
    fig.suptitle(f"Batch size: 64-64-10 ReLU on digits, SGD lr {LEARNING_RATE}, same initialization, {epochs} epochs")
    fig.tight_layout()
    _common.save("batch_size", args, fig,
                 config={"model": "64-64(relu)-10(softmax)", "optimizer": f"sgd {LEARNING_RATE}", "epochs": epochs,
                         "batch_sizes": {k: v["batch_size"] for k, v in runs.items()},
                         "timing": "one warm-up fit per configuration, then a timed fit (LambdaCallback)"},
                 seeds={"init": 0, "shuffle": 1},
                 results={"initial_loss": initial_loss, "runs": runs})


if __name__ == "__main__":
    main()
