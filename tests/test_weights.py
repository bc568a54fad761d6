"""sample_weight and class_weight in fit and evaluate (Keras's arguments).

By default a weighted loss is Keras 3's, ``sum_i w_i l_i / n`` over the ``n``
real samples (the padded rows of a last partial batch not counted), in the
reported loss and in the gradient: checked against Keras 3 itself, trained with
``class_weight``. ``compile(..., weighted_loss="mean")`` gives the weighted mean
``sum_i w_i l_i / sum_i w_i``, under which integer weights train exactly as the
samples repeated. Metrics are weighted means either way.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import optax
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
def test_integer_sample_weights_train_as_the_samples_repeated_under_the_weighted_mean(data):
    x, labels, weights = data
    model = net()
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "sgd", metrics=["accuracy"], weighted_loss="mean")
    params = model.init(jax.random.key(0), (3,))
    repeats = weights.astype(int)
    x_rep, y_rep = np.repeat(x, repeats, axis=0), np.repeat(labels, repeats)
    weighted, history = trainer.fit(
        params,
        x,
        labels,
        sample_weight=weights,
        epochs=5,
        batch_size=len(x),
        shuffle=False,
        key=jax.random.key(1),
        verbose=0,
    )
    repeated, reference = trainer.fit(
        params, x_rep, y_rep, epochs=5, batch_size=len(x_rep), shuffle=False, key=jax.random.key(1), verbose=0
    )
    assert_trees_close(weighted.params, repeated.params)
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["accuracy"], reference.history["accuracy"], rtol=1e-6)
    scores = trainer.evaluate(weighted, x, labels, sample_weight=weights, batch_size=7, return_dict=True)
    assert scores == pytest.approx(trainer.evaluate(weighted, x_rep, y_rep, return_dict=True), rel=1e-5)


def test_keras_reduction_scales_the_loss_and_its_gradient_by_the_weights_mean(data):
    """Full batch: sum_i w_i l_i / n is the weighted mean times mean(w); so is its gradient."""
    x, labels, weights = data
    model = net()
    params = model.init(jax.random.key(0), (3,))
    keras_like = fn.objective(model, "sparse_categorical_crossentropy")
    weighted_mean = fn.objective(model, "sparse_categorical_crossentropy", weighted_loss="mean")
    loss_k, grad_k = jax.value_and_grad(lambda p: keras_like(p, x, labels, sample_weight=weights))(params)
    loss_m, grad_m = jax.value_and_grad(lambda p: weighted_mean(p, x, labels, sample_weight=weights))(params)
    per_sample = -np.log(np.take_along_axis(np.asarray(model.apply(params, x), np.float64), labels[:, None], 1))[:, 0]
    assert float(loss_k) == pytest.approx(np.sum(weights * per_sample) / len(x), rel=1e-5)
    assert float(loss_m) == pytest.approx(np.sum(weights * per_sample) / np.sum(weights), rel=1e-5)
    assert_trees_close(grad_k, jax.tree_util.tree_map(lambda g: g * weights.mean(), grad_m))


def test_weighted_loss_names_are_checked():
    model = net()
    assert fn.compile(model, "mse", "sgd", weighted_loss="mean_with_sample_weight") == fn.compile(
        model, "mse", "sgd", weighted_loss="mean"
    )  # Keras's name for the weighted mean
    with pytest.raises(ValueError, match=r"weighted_loss must be one of \['sum_over_batch_size', 'mean'\].*'sum'"):
        fn.compile(model, "mse", "sgd", weighted_loss="sum")


def test_class_weight_equals_the_matching_sample_weight_and_multiplies_it(data):
    x, labels, weights = data
    model = net()
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "sgd")
    params = model.init(jax.random.key(0), (3,))
    class_weight = {0: 0.5, 2: 3.0}  # class 1 is not named: weight 1, as in Keras
    per_sample = np.array([class_weight.get(int(c), 1.0) for c in labels], np.float32)
    fit = lambda **kw: trainer.fit(
        params,
        x,
        labels,
        epochs=3,
        batch_size=8,
        key=jax.random.key(1),  # noqa: E731
        verbose=0,
        **kw,
    )
    by_class, h1 = fit(class_weight=class_weight)
    by_sample, h2 = fit(sample_weight=per_sample)
    assert_trees_close(by_class.params, by_sample.params, atol=0)
    assert h1.history == h2.history
    both, h3 = fit(class_weight=class_weight, sample_weight=weights)
    product, h4 = fit(sample_weight=per_sample * weights)
    assert h3.history == h4.history
    one_hot = fn.data.to_categorical(labels, 3)
    onehot_trainer = fn.compile(model, "categorical_crossentropy", "sgd")
    _, h5 = onehot_trainer.fit(
        params, x, one_hot, epochs=3, batch_size=8, key=jax.random.key(1), verbose=0, class_weight=class_weight
    )
    np.testing.assert_allclose(h5.history["loss"], h1.history["loss"], rtol=1e-6)


def test_zero_weights_are_samples_left_out_of_the_weighted_mean_and_counted_by_keras(data):
    x, labels, _ = data
    model = net()
    params = model.init(jax.random.key(0), (3,))
    keep = np.arange(30) % 3 != 0
    for weighted_loss, share in (("mean", 1.0), ("sum_over_batch_size", keep.mean())):
        trainer = fn.compile(
            model, "sparse_categorical_crossentropy", "sgd", metrics=["accuracy"], weighted_loss=weighted_loss
        )
        masked = trainer.evaluate(
            params, x, labels, sample_weight=keep.astype(np.float32), batch_size=7, return_dict=True
        )
        kept = trainer.evaluate(params, x[keep], labels[keep], return_dict=True)
        assert masked["accuracy"] == pytest.approx(kept["accuracy"], rel=1e-6)  # a metric: a weighted mean
        assert masked["loss"] == pytest.approx(kept["loss"] * share, rel=1e-6)


def test_validation_split_splits_the_weights_and_validation_data_takes_a_third_element(data):
    x, labels, weights = data
    model = net()
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "sgd")
    params = model.init(jax.random.key(0), (3,))
    state, history = trainer.fit(
        params, x, labels, sample_weight=weights + 1, validation_split=0.2, epochs=1, key=jax.random.key(1), verbose=0
    )
    _, explicit = trainer.fit(
        params,
        x[:24],
        labels[:24],
        sample_weight=weights[:24] + 1,
        validation_data=(x[24:], labels[24:], weights[24:] + 1),
        epochs=1,
        key=jax.random.key(1),
        verbose=0,
    )
    assert history.history == explicit.history
    expected = trainer.evaluate(state, x[24:], labels[24:], sample_weight=weights[24:] + 1, return_dict=True)["loss"]
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_weighted_loss_and_training_with_class_weight_equal_keras(data, tmp_path):
    """Keras 3 itself (a subprocess): evaluate with sample weights that do not average 1, and two epochs of
    SGD with class_weight in batches of 7 (30 samples: Keras's last batch has 2, fnnet's is padded)."""
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (it is in fnnet[test])")
    x, labels, weights = data
    weights = weights + 0.5  # mean 2: Keras's sum(w l) / n and the weighted mean differ by that factor
    class_weight = {0: 0.5, 1: 1.0, 2: 4.0}
    model = net()
    params = model.init(jax.random.key(0), (3,))
    np.savez(
        tmp_path / "case.npz",
        x=x,
        labels=labels,
        weights=weights,
        kernel=params["dense"]["kernel"],
        bias=params["dense"]["bias"],
        kernel_1=params["dense_1"]["kernel"],
        bias_1=params["dense_1"]["bias"],
    )
    script = textwrap.dedent("""
        import json, sys, numpy as np, keras
        case = np.load(sys.argv[1])
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(6, activation="tanh"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.set_weights([case["kernel"], case["bias"], case["kernel_1"], case["bias_1"]])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.1))
        evaluated = model.evaluate(case["x"], case["labels"], sample_weight=case["weights"], batch_size=7, verbose=0)
        class_weight = {int(k): v for k, v in json.loads(sys.argv[2]).items()}
        history = model.fit(case["x"], case["labels"], class_weight=class_weight, batch_size=7, epochs=2,
                            shuffle=False, verbose=0)
        print("KERAS-RESULT " + json.dumps({"evaluated": float(evaluated), "loss": history.history["loss"],
                                            "weights": [w.tolist() for w in model.get_weights()]}))
    """)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(tmp_path / "case.npz"),
            json.dumps({str(k): v for k, v in class_weight.items()}),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": "jax", "JAX_NUMPY_RANK_PROMOTION": "allow"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("KERAS-RESULT "))
    keras = json.loads(line.removeprefix("KERAS-RESULT "))
    trainer = fn.compile(model, "sparse_categorical_crossentropy", optax.sgd(0.1))
    evaluated = trainer.evaluate(params, x, labels, sample_weight=weights, batch_size=7, return_dict=True)["loss"]
    assert evaluated == pytest.approx(keras["evaluated"], rel=1e-6)
    state, history = trainer.fit(
        params,
        x,
        labels,
        class_weight=class_weight,
        batch_size=7,
        epochs=2,
        shuffle=False,
        key=jax.random.key(1),
        verbose=0,
    )
    np.testing.assert_allclose(history.history["loss"], keras["loss"], rtol=1e-6)
    trained = [
        state.params["dense"]["kernel"],
        state.params["dense"]["bias"],
        state.params["dense_1"]["kernel"],
        state.params["dense_1"]["bias"],
    ]
    for ours, theirs in zip(trained, keras["weights"]):
        np.testing.assert_allclose(ours, np.asarray(theirs, np.float32), rtol=1e-5, atol=1e-7)
    mean_trainer = fn.compile(model, "sparse_categorical_crossentropy", optax.sgd(0.1), weighted_loss="mean")
    assert mean_trainer.evaluate(params, x, labels, sample_weight=weights, batch_size=7, return_dict=True)[
        "loss"
    ] == pytest.approx(keras["evaluated"] / weights.mean(), rel=1e-5)  # the other reduction, by the factor mean(w)
