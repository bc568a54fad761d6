"""sample_weight and class_weight in fit and evaluate (Keras's arguments).

fnnet's weighted means are ``sum_i w_i l_i / sum_i w_i``: integer weights train
exactly as the samples repeated. Keras 3 reports ``sum_i w_i l_i / N``; the two
agree whenever the weights average 1, which the Keras comparison checks.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import fnnet as fn
from fnnet import layers


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5)
    return x, labels, rng.integers(0, 4, size=30).astype(np.float32)


def net():
    return fn.Sequential([layers.Dense(6, "tanh"), layers.Dense(3, "softmax")])


def assert_trees_close(a, b, atol=1e-6):
    for leaf_a, leaf_b in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(leaf_a, leaf_b, atol=atol, rtol=1e-5)


@pytest.mark.slow
def test_integer_sample_weights_train_as_the_samples_repeated(data):
    x, labels, weights = data
    model = net()
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "sgd", metrics=["accuracy"])
    params = model.init(jax.random.key(0), (3,))
    repeats = weights.astype(int)
    x_rep, y_rep = np.repeat(x, repeats, axis=0), np.repeat(labels, repeats)
    weighted, history = trainer.fit(params, x, labels, sample_weight=weights, epochs=5, batch_size=len(x),
                                    shuffle=False, key=jax.random.key(1), verbose=0)
    repeated, reference = trainer.fit(params, x_rep, y_rep, epochs=5, batch_size=len(x_rep), shuffle=False,
                                      key=jax.random.key(1), verbose=0)
    assert_trees_close(weighted.params, repeated.params)
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["accuracy"], reference.history["accuracy"], rtol=1e-6)
    scores = trainer.evaluate(weighted, x, labels, sample_weight=weights, batch_size=7)
    assert scores == pytest.approx(trainer.evaluate(weighted, x_rep, y_rep), rel=1e-5)


def test_class_weight_equals_the_matching_sample_weight_and_multiplies_it(data):
    x, labels, weights = data
    model = net()
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "sgd")
    params = model.init(jax.random.key(0), (3,))
    class_weight = {0: 0.5, 2: 3.0}  # class 1 is not named: weight 1, as in Keras
    per_sample = np.array([class_weight.get(int(c), 1.0) for c in labels], np.float32)
    fit = lambda **kw: trainer.fit(params, x, labels, epochs=3, batch_size=8, key=jax.random.key(1),  # noqa: E731
                                   verbose=0, **kw)
    by_class, h1 = fit(class_weight=class_weight)
    by_sample, h2 = fit(sample_weight=per_sample)
    assert_trees_close(by_class.params, by_sample.params, atol=0)
    assert h1.history == h2.history
    both, h3 = fit(class_weight=class_weight, sample_weight=weights)
    product, h4 = fit(sample_weight=per_sample * weights)
    assert h3.history == h4.history
    one_hot = fn.data.to_categorical(labels, 3)
    onehot_trainer = fn.compile(model, "categorical_crossentropy", "sgd")
    _, h5 = onehot_trainer.fit(params, x, one_hot, epochs=3, batch_size=8, key=jax.random.key(1), verbose=0,
                               class_weight=class_weight)
    np.testing.assert_allclose(h5.history["loss"], h1.history["loss"], rtol=1e-6)


def test_zero_weights_are_samples_left_out(data):
    x, labels, _ = data
    model = net()
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "sgd", metrics=["accuracy"])
    params = model.init(jax.random.key(0), (3,))
    keep = np.arange(30) % 3 != 0
    masked = trainer.evaluate(params, x, labels, sample_weight=keep.astype(np.float32))
    assert masked == pytest.approx(trainer.evaluate(params, x[keep], labels[keep]), rel=1e-6)


def test_validation_split_splits_the_weights_and_validation_data_takes_a_third_element(data):
    x, labels, weights = data
    model = net()
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "sgd")
    params = model.init(jax.random.key(0), (3,))
    state, history = trainer.fit(params, x, labels, sample_weight=weights + 1, validation_split=0.2, epochs=1,
                                 key=jax.random.key(1), verbose=0)
    _, explicit = trainer.fit(params, x[:24], labels[:24], sample_weight=weights[:24] + 1,
                              validation_data=(x[24:], labels[24:], weights[24:] + 1), epochs=1,
                              key=jax.random.key(1), verbose=0)
    assert history.history == explicit.history
    expected = trainer.evaluate(state, x[24:], labels[24:], sample_weight=weights[24:] + 1)["loss"]
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_reported_weighted_loss_matches_keras_when_the_weights_average_one(data, tmp_path):
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (it is in fnnet[test])")
    x, labels, weights = data
    weights = (weights + 0.5) / np.mean(weights + 0.5)  # mean 1: Keras's sum(w l) / N equals fnnet's
    model = net()
    params = model.init(jax.random.key(0), (3,))
    np.savez(tmp_path / "case.npz", x=x, labels=labels, weights=weights,
             kernel=params["dense"]["kernel"], bias=params["dense"]["bias"],
             kernel_1=params["dense_1"]["kernel"], bias_1=params["dense_1"]["bias"])
    script = textwrap.dedent("""
        import sys, numpy as np, keras
        case = np.load(sys.argv[1])
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(6, activation="tanh"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.set_weights([case["kernel"], case["bias"], case["kernel_1"], case["bias_1"]])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        print(model.evaluate(case["x"], case["labels"], sample_weight=case["weights"], batch_size=7, verbose=0))
        class_weight = {0: 0.5, 1: 1.0, 2: 2.0}
        print(model.evaluate(case["x"], case["labels"], batch_size=7, verbose=0,
                             sample_weight=np.array([class_weight[int(c)] for c in case["labels"]])))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "case.npz")], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "KERAS_BACKEND": "jax", "JAX_NUMPY_RANK_PROMOTION": "allow"})
    assert done.returncode == 0, done.stderr[-2000:]
    keras_weighted, keras_class = (float(line) for line in done.stdout.split()[-2:])
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "sgd")
    assert trainer.evaluate(params, x, labels, sample_weight=weights)["loss"] == pytest.approx(keras_weighted,
                                                                                                rel=1e-5)
    class_weights = np.array([{0: 0.5, 1: 1.0, 2: 2.0}[int(c)] for c in labels])
    fnnet_loss = trainer.evaluate(params, x, labels, sample_weight=class_weights)["loss"]
    assert fnnet_loss * class_weights.mean() == pytest.approx(keras_class, rel=1e-5)  # Keras divides by N
