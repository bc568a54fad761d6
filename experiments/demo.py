"""The main demo: the lessons' digit classifier, trained with fnnet on the embedded digits.

Dense 512 relu, Dense 512 relu, Dense 10 softmax; categorical cross-entropy;
Adam; early stopping on a validation split. Prints the progress and the test
accuracy, and writes the loss/accuracy curves to ``out/demo_curves.png``;
saves the model to ``out/digits.safetensors`` (``fn.load_model`` reads it) and
its test-set predictions to ``out/digits_test_predictions.npy``. ``--out DIR``
writes these three files to ``DIR`` instead of ``out`` (relative to the
current folder); nothing else is written but JAX's compilation cache
(``~/.cache/fnnet/jax-compilation``; ``FNNET_COMPILATION_CACHE=0`` turns it off).
No network: the digits ship inside fnnet.

``--dtype-policy mixed_bfloat16`` computes in bfloat16 (float32 params and loss);
``--dtype-policy float64`` turns on ``jax_enable_x64`` and trains in float64.
"""

import argparse
import pathlib
import time

import jax
import numpy as np

import fnnet as fn
from fnnet import callbacks, layers

parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
parser.add_argument("--dtype-policy", default="float32", choices=sorted(fn.precision.POLICIES))
parser.add_argument("--epochs", type=int, default=100, help="at most this many epochs (early stopping ends sooner)")
parser.add_argument(
    "--out", type=pathlib.Path, default=pathlib.Path("out"), help="the folder of the files written (default: ./out)"
)
arguments = parser.parse_args()
fn.enable_compilation_cache()  # a second run loads the programs this one compiles
policy = arguments.dtype_policy
if policy == "float64":
    jax.config.update("jax_enable_x64", True)

(x_train, y_train), (x_test, y_test) = fn.datasets.digits.load_data()
# validation_split takes the last 20% before any shuffling, as in Keras, and the
# digits come in file order (grouped by writer): shuffle once so the held-out
# part is drawn like the rest.
order = jax.random.permutation(jax.random.key(42), len(x_train))
x_train, y_train = x_train[order], y_train[order]
x_train, x_test, scaler = fn.data.standardize(x_train, x_test)  # statistics from the training set only
y_train_1h, y_test_1h = fn.data.to_categorical(y_train, 10), fn.data.to_categorical(y_test, 10)
print(f"digits: {len(x_train)} training and {len(x_test)} test images of {x_train.shape[1]} pixels")

model = fn.Sequential(
    [
        layers.Dense(512, activation="relu"),
        layers.Dense(512, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
params = model.init(jax.random.key(0), x_train.shape[1:])
model.summary(x_train.shape[1:])

trainer = fn.compile(
    model, loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"], dtype_policy=policy
)
start = time.perf_counter()
state, history = trainer.fit(
    params,
    x_train,
    y_train_1h,
    epochs=arguments.epochs,
    batch_size=32,
    validation_split=0.2,
    callbacks=[callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)],
    key=jax.random.key(1),
    verbose=2,
)
seconds = time.perf_counter() - start
best = history.history["val_loss"].index(min(history.history["val_loss"]))
print(f"trained {len(history.epoch)} epochs ({policy}) in {seconds:.1f} s; restored the weights of epoch {best + 1}")

test_loss, test_accuracy = trainer.evaluate(state.params, x_test, y_test_1h)  # as Keras: [loss, *metrics]
print(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.4f}")

out = arguments.out
out.mkdir(parents=True, exist_ok=True)
fn.save_model(out / "digits.safetensors", model, state.params)  # one safetensors file: config + params
np.save(out / "digits_test_predictions.npy", trainer.predict(state.params, x_test))
print(
    f"model saved to {out / 'digits.safetensors'}; load it, with no code of the model, by\n"
    f"    model, params = fn.load_model({str(out / 'digits.safetensors')!r})\n"
    "    fn.compile(model, 'categorical_crossentropy', 'adam').predict(params, x)  # x standardized as above"
)

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no curves written (pip install matplotlib)")
else:
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [e + 1 for e in history.epoch]
    for name, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(epochs, history.history[name], label=f"training {name}")
        ax.plot(epochs, history.history[f"val_{name}"], label=f"validation {name}")
        ax.axvline(best + 1, color="gray", linestyle=":", label="restored epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
    fig.suptitle(f"digits, Dense 512-512-10: test accuracy {test_accuracy:.3f}")
    fig.tight_layout()
    fig.savefig(out / "demo_curves.png", dpi=100)
    print(f"curves written to {out / 'demo_curves.png'}")
