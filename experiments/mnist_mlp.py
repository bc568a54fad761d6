"""MNIST with the classic Keras example's recipe (``mnist_mlp.py``): 784-512-512-10.

ReLU, ``Dropout(0.2)`` after each hidden layer, softmax; categorical
cross-entropy; RMSprop at Keras's default rate (0.001); 20 epochs of batches
of 128; pixels scaled to [0, 1]; the test set as validation data. The Keras
example reports 98.40% test accuracy after 20 epochs.

MNIST is read from local files (``fn.datasets.mnist.load_data(path)``: a
folder with ``mnist.npz`` or the four IDX files, or ``$FNNET_DATA``, or
``~/.fnnet/datasets``), never downloaded unless ``--download`` is given.
Without the files it prints how to get them and exits 0.

    python experiments/mnist_mlp.py [--path DIR] [--download] [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import jax
import numpy as np

import fnnet as fn
from fnnet import layers
from _common import plt

KERAS_TEST_ACCURACY = 0.9840


def load(path, download):
    try:
        return fn.datasets.mnist.load_data(path, download=download)
    except FileNotFoundError as error:
        print(
            f"MNIST not found, nothing to run.\n{error}\n\nTo run this experiment, either put Keras's mnist.npz "
            f"(or the four IDX .gz files) in a folder and pass --path DIR (or set FNNET_DATA=DIR), or run it "
            f"once with --download to fetch {fn.datasets.mnist.URL} into ~/.fnnet/datasets."
        )
        return None


def main():
    args = _common.parse_args(
        __doc__,
        path=(str, None, "folder with mnist.npz or the IDX files"),
        epochs=(int, 20, "epochs"),
        download=(bool, False, "download mnist.npz if missing"),
    )
    data = load(args.path, args.download)
    if data is None:
        return
    (x_train, y_train), (x_test, y_test) = data
    epochs = 1 if args.quick else args.epochs
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:6000], y_train[:6000], x_test[:2000], y_test[:2000]
    x_train = x_train.reshape(len(x_train), 784).astype(np.float32) / 255
    x_test = x_test.reshape(len(x_test), 784).astype(np.float32) / 255
    y_train_1h, y_test_1h = fn.data.to_categorical(y_train, 10), fn.data.to_categorical(y_test, 10)

    model = fn.Sequential(
        [
            layers.Dense(512, "relu"),
            layers.Dropout(0.2),
            layers.Dense(512, "relu"),
            layers.Dropout(0.2),
            layers.Dense(10, "softmax"),
        ]
    )
    model.summary((784,))
    trainer = fn.compile(model, loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    state, history = trainer.fit(
        model.init(jax.random.key(0), (784,)),
        x_train,
        y_train_1h,
        epochs=epochs,
        batch_size=128,
        validation_data=(x_test, y_test_1h),
        key=jax.random.key(1),
        verbose=1,
    )
    test_loss, test_accuracy = trainer.evaluate(state.params, x_test, y_test_1h)  # as Keras's
    score = {"loss": test_loss, "accuracy": test_accuracy}
    print(
        f"Test loss: {test_loss:.4f}\nTest accuracy: {test_accuracy:.4f} (Keras's example: {KERAS_TEST_ACCURACY:.4f})"
    )

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    epoch_axis = np.arange(1, len(history.epoch) + 1)
    for name, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(epoch_axis, history.history[name], marker=".", label=f"training {name} (dropout on)")
        ax.plot(epoch_axis, history.history[f"val_{name}"], marker=".", label=f"test {name}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
    ax_acc.axhline(KERAS_TEST_ACCURACY, color="gray", linestyle=":", label="Keras example: 98.40%")
    ax_loss.legend()
    ax_acc.legend()
    ax_acc.set_ylim(0.9, 1.0)
    fig.suptitle(f"MNIST, 784-512-512-10 ReLU, dropout 0.2, RMSprop, batch 128: test accuracy {score['accuracy']:.2%}")
    fig.tight_layout()
    _common.save(
        "mnist_mlp",
        args,
        fig,
        config={
            "model": "784-512(relu)-dropout 0.2-512(relu)-dropout 0.2-10(softmax)",
            "optimizer": "rmsprop (0.001, decay 0.9, eps 1e-8)",
            "batch_size": 128,
            "epochs": epochs,
            "n_train": len(x_train),
            "n_test": len(x_test),
        },
        seeds={"init": 0, "fit": 1},
        results={"history": history.history, "test": score, "keras_test_accuracy": KERAS_TEST_ACCURACY},
    )


if __name__ == "__main__":
    main()
