"""fnnet against Keras 3 itself, on the same weights and data: a trained functional model, activations, losses
and metrics.

Keras runs once, in a subprocess (``KERAS_BACKEND=jax``; importing it costs seconds): the data and fnnet's
initial params go there in an ``.npz`` and every reference number comes back as JSON on stdout.

The model has two inputs, a concatenation, ``BatchNormalization``, a residual block, ``LayerNormalization`` and
an L2-regularized layer, every layer named the same in both libraries. Keras's weights are set from fnnet's
params, then both train with plain SGD, ``shuffle=False``, 44 samples in batches of 16 (the last batch has
12 samples: Keras runs it short, fnnet pads it with samples of weight 0, so this also checks the padding).
A second, Siamese model shares one Dense and one BatchNormalization between its two inputs.

Deliberate differences, compared where they are comparable:

- ``F1Score``: fnnet's ``f1_score`` is Keras's ``F1Score(average="micro", threshold=0.5)`` (Keras's default,
  ``average=None, threshold=None``, is a per-class F1 of the argmax) without its ``1e-7`` in the denominator.
- ``sample_weight``: none any more (issue 18). Losses reduce as Keras's, ``sum_i w_i l_i / N``, compared here
  with weights that do not average 1; metrics are weighted means in both (the weights there average 1, a
  case the scale does not change). ``tests/test_weights.py`` trains with ``class_weight`` against Keras.
- ``AUC``: both use Keras's 200 even thresholds and trapezoids, so they agree to float32 rounding.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fnnet as fn
from fnnet import activations, layers, losses, metrics, regularizers

pytestmark = pytest.mark.slow  # one Keras subprocess (about 10 s on 2 cores) feeds every test here

ACTIVATIONS = ["selu", "gelu", "swish", "silu", "softplus", "softsign", "hard_sigmoid", "exponential", "relu6", "mish"]
# fnnet loss name -> (Keras loss class, its arguments); each runs on data it accepts (see loss_data)
LOSSES = {
    "huber": ("Huber", {}),
    "huber_half": ("Huber", {"delta": 0.5}),
    "log_cosh": ("LogCosh", {}),
    "kl_divergence": ("KLDivergence", {}),
    "poisson": ("Poisson", {}),
    "squared_hinge": ("SquaredHinge", {}),
    "categorical_hinge": ("CategoricalHinge", {}),
    "cosine_similarity": ("CosineSimilarity", {}),
    "mean_absolute_percentage_error": ("MeanAbsolutePercentageError", {}),
    "mean_squared_logarithmic_error": ("MeanSquaredLogarithmicError", {}),
}
# fnnet metric name -> (Keras metric class, its arguments, labels kind)
METRICS = {
    "precision": ("Precision", {}, "binary"),
    "recall": ("Recall", {}, "binary"),
    "auc": ("AUC", {}, "binary"),
    "f1_score": ("F1Score", {"average": "micro", "threshold": 0.5}, "binary"),
    "top_k_categorical_accuracy": ("TopKCategoricalAccuracy", {}, "one_hot"),
    "sparse_top_k_categorical_accuracy": ("SparseTopKCategoricalAccuracy", {}, "sparse"),
}
N, BATCH, EPOCHS, LEARNING_RATE, L2 = 44, 16, 3, 0.1, 0.01
LAYERS = {
    "dense_a": ["kernel", "bias"],
    "dense_b": ["kernel", "bias"],
    "bn": ["gamma", "beta", "moving_mean", "moving_variance"],
    "block": ["kernel", "bias"],
    "ln": ["gamma", "beta"],
    "out": ["kernel", "bias"],
}
SIAMESE_LAYERS = {
    "encode": ["kernel", "bias"],
    "shared_bn": ["gamma", "beta", "moving_mean", "moving_variance"],
    "score": ["kernel", "bias"],
}


def siamese_model():
    """One Dense and one BatchNormalization shared by two inputs: the statistics count both calls' batches."""
    left, right = fn.Input((3,), name="left"), fn.Input((3,), name="right")
    encode = layers.Dense(4, "tanh", name="encode")
    normalize = layers.BatchNormalization(momentum=0.7, name="shared_bn")
    difference = layers.Subtract(name="difference")([normalize(encode(left)), normalize(encode(right))])
    return fn.Model([left, right], layers.Dense(1, name="score")(difference))


def fnnet_model():
    a, b = fn.Input((5,), name="a"), fn.Input((3,), name="b")
    h = layers.Concatenate(name="concat")(
        [layers.Dense(6, "tanh", name="dense_a")(a), layers.Dense(4, "relu", name="dense_b")(b)]
    )
    h = layers.BatchNormalization(momentum=0.8, name="bn")(h)
    block = layers.Dense(10, "gelu", kernel_regularizer=regularizers.l2(L2), name="block")(h)
    h = layers.LayerNormalization(name="ln")(layers.Add(name="residual")([h, block]))
    return fn.Model([a, b], layers.Dense(3, "softmax", name="out")(h))


KERAS_SCRIPT = """
import json, sys
import numpy as np
import keras
from keras import layers

case = np.load(sys.argv[1])
spec = json.loads(str(case["spec"]))
out = {}
z = case["z"]
out["activations"] = {name: np.asarray(keras.activations.get(name)(z)).tolist() for name in spec["activations"]}

out["losses"] = {}
for name, (cls, kwargs) in spec["losses"].items():
    loss = getattr(keras.losses, cls)(**kwargs)
    y, p, w = case["loss_y_" + name], case["loss_p_" + name], case["loss_w"]
    out["losses"][name] = [float(loss(y, p)), float(loss(y, p, sample_weight=w))]

out["metrics"] = {}
for name, (cls, kwargs, kind) in spec["metrics"].items():
    values = []
    for w in (None, case["metric_w"]):
        metric = getattr(keras.metrics, cls)(**kwargs)
        metric.update_state(case["metric_y_" + kind], case["metric_p_" + kind], sample_weight=w)
        values.append(float(metric.result()))
    out["metrics"][name] = values

a, b = keras.Input((5,), name="a"), keras.Input((3,), name="b")
h = layers.Concatenate(name="concat")([layers.Dense(6, "tanh", name="dense_a")(a),
                                       layers.Dense(4, "relu", name="dense_b")(b)])
h = layers.BatchNormalization(momentum=0.8, name="bn")(h)
block = layers.Dense(10, "gelu", kernel_regularizer=keras.regularizers.L2(spec["l2"]), name="block")(h)
h = layers.LayerNormalization(name="ln")(layers.Add(name="residual")([h, block]))
model = keras.Model([a, b], layers.Dense(3, "softmax", name="out")(h))


def set_initial_weights(model, names):
    for name, leaves in names.items():
        model.get_layer(name).set_weights([case[name + "/" + leaf] for leaf in leaves])


def weights(model, names):
    return {name: {leaf: np.asarray(v).tolist() for leaf, v in zip(leaves, model.get_layer(name).get_weights())}
            for name, leaves in names.items()}


x, y = [case["xa"], case["xb"]], case["y"]
set_initial_weights(model, spec["layers"])
out["initial_inference"] = np.asarray(model(x, training=False)).tolist()
out["initial_training"] = np.asarray(model(x, training=True)).tolist()  # this call moves the statistics:
set_initial_weights(model, spec["layers"])                                # start again from fnnet's
model.compile(optimizer=keras.optimizers.SGD(spec["learning_rate"]), loss="sparse_categorical_crossentropy")
history = model.fit(x, y, batch_size=spec["batch_size"], epochs=spec["epochs"], shuffle=False, verbose=0)
out["history"] = history.history["loss"]
out["weights"] = weights(model, spec["layers"])
out["predictions"] = np.asarray(model.predict(x, batch_size=spec["batch_size"], verbose=0)).tolist()
out["evaluate"] = float(model.evaluate(x, y, batch_size=spec["batch_size"], verbose=0))

left, right = keras.Input((3,), name="left"), keras.Input((3,), name="right")
encode = layers.Dense(4, "tanh", name="encode")
normalize = layers.BatchNormalization(momentum=0.7, name="shared_bn")
difference = layers.Subtract(name="difference")([normalize(encode(left)), normalize(encode(right))])
siamese = keras.Model([left, right], layers.Dense(1, name="score")(difference))
set_initial_weights(siamese, spec["siamese_layers"])
siamese.compile(optimizer=keras.optimizers.SGD(spec["learning_rate"]), loss="mse")
siamese.fit([case["xa"][:, :3], case["xb"]], case["xa"][:, 3:4], batch_size=spec["batch_size"], epochs=1,
            shuffle=False, verbose=0)
out["siamese"] = weights(siamese, spec["siamese_layers"])
print("KERAS-RESULT " + json.dumps(out))
"""


def loss_data(rng):
    """``{loss name: (y_true, y_pred)}``, float32 arrays of shape (12, 4) in each loss's domain."""
    shape = (12, 4)
    normal = rng.normal(size=shape) * 1.5  # errors on both sides of Huber's delta
    probabilities = lambda: np.array(jax.nn.softmax(rng.normal(size=shape) * 2, axis=-1))  # noqa: E731
    soft_labels = probabilities()
    soft_labels[0] = [1.0, 0.0, 0.0, 0.0]  # zeros: kl_divergence clips them to 1e-7
    one_hot = np.eye(4)[rng.integers(0, 4, shape[0])]
    data = {
        "huber": (normal, rng.normal(size=shape) * 1.5),
        "log_cosh": (normal, rng.normal(size=shape) * 3),
        "kl_divergence": (soft_labels, probabilities()),
        "poisson": (rng.poisson(2.0, shape), np.exp(rng.normal(size=shape))),
        "squared_hinge": (rng.integers(0, 2, shape), rng.normal(size=shape)),  # labels {0, 1}: read as {-1, 1}
        "categorical_hinge": (one_hot, rng.normal(size=shape)),
        "cosine_similarity": (normal, rng.normal(size=shape)),
        "mean_absolute_percentage_error": (np.sign(normal) * (np.abs(normal) + 0.1), rng.normal(size=shape)),
        "mean_squared_logarithmic_error": (np.abs(normal), rng.normal(size=shape)),  # p < 0 is floored at 1e-7
    }
    data["huber_half"] = data["huber"]
    return {name: tuple(np.asarray(v, np.float32) for v in pair) for name, pair in data.items()}


def metric_data(rng):
    """``{kind: (y_true, y_pred)}``: binary labels of 2 outputs, one-hot and sparse labels of 8 classes."""
    binary = rng.integers(0, 2, (40, 2))
    scores = np.clip(0.5 + 0.3 * (2 * binary - 1) * rng.random((40, 2)) + 0.3 * rng.normal(size=(40, 2)), 0, 1)
    classes = rng.integers(0, 8, 40)
    logits = rng.normal(size=(40, 8)) + 1.5 * np.eye(8)[classes]
    logits[:3] = 0.0  # ties: Keras's in_top_k counts the true class in
    return {
        "binary": (binary.astype(np.float32), scores.astype(np.float32)),
        "one_hot": (np.eye(8, dtype=np.float32)[classes], logits.astype(np.float32)),
        "sparse": (classes.astype(np.int32), logits.astype(np.float32)),
    }


def weights_of_mean_one(rng, n):
    w = rng.choice([0.0, 0.5, 1.0, 2.0, 3.0], n)
    return (w / w.mean()).astype(np.float32)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """Every input, fnnet's initial params and, from one Keras subprocess, Keras's results."""
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (it is in fnnet[test])")
    rng = np.random.default_rng(0)
    model = fnnet_model()
    params = model.init(jax.random.key(0))
    # moving statistics other than Keras's initial 0 and 1, so inference really reads them
    params["bn"] = params["bn"] | {
        "moving_mean": jnp.linspace(-0.5, 0.5, 10),
        "moving_variance": jnp.linspace(0.5, 2.0, 10),
    }
    xa = (rng.normal(size=(N, 5)) * 2 + 1).astype(np.float32)
    xb = rng.normal(size=(N, 3)).astype(np.float32)
    y = ((xa[:, 0] > 1).astype(int) + (xb[:, 0] > 0)).astype(np.int32)
    z = np.concatenate([np.linspace(-8, 8, 161), [-3.0, 3.0, 0.0, 6.0, -1e-3, 1e-3]]).astype(np.float32)
    loss_pairs, metric_pairs = loss_data(rng), metric_data(rng)
    arrays = {
        "xa": xa,
        "xb": xb,
        "y": y,
        "z": z,
        "loss_w": 2.5 * weights_of_mean_one(rng, 12),
        "metric_w": weights_of_mean_one(rng, 40),
    }
    arrays |= {f"{name}/{leaf}": np.asarray(params[name][leaf]) for name, leaves in LAYERS.items() for leaf in leaves}
    siamese = siamese_model()
    siamese_params = siamese.init(jax.random.key(2))
    arrays |= {
        f"{name}/{leaf}": np.asarray(siamese_params[name][leaf])
        for name, leaves in SIAMESE_LAYERS.items()
        for leaf in leaves
    }
    for name, (y_true, y_pred) in loss_pairs.items():
        arrays |= {f"loss_y_{name}": y_true, f"loss_p_{name}": y_pred}
    for kind, (y_true, y_pred) in metric_pairs.items():
        arrays |= {f"metric_y_{kind}": y_true, f"metric_p_{kind}": y_pred}
    spec = {
        "activations": ACTIVATIONS,
        "losses": LOSSES,
        "metrics": METRICS,
        "layers": LAYERS,
        "siamese_layers": SIAMESE_LAYERS,
        "l2": L2,
        "learning_rate": LEARNING_RATE,
        "batch_size": BATCH,
        "epochs": EPOCHS,
    }
    path = tmp_path_factory.mktemp("keras") / "case.npz"
    np.savez(path, spec=json.dumps(spec), **arrays)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KERAS_SCRIPT), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "KERAS_BACKEND": "jax", "JAX_NUMPY_RANK_PROMOTION": "allow"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("KERAS-RESULT "))
    return {
        "model": model,
        "params": params,
        "siamese": siamese,
        "siamese_params": siamese_params,
        "x": [xa, xb],
        "y": y,
        "z": z,
        "losses": loss_pairs,
        "metrics": metric_pairs,
        "loss_w": arrays["loss_w"],
        "metric_w": arrays["metric_w"],
        "keras": json.loads(line.removeprefix("KERAS-RESULT ")),
    }


@pytest.fixture(scope="module")
def trained(case):
    """fnnet's run of Keras's: the same SGD steps in the same order, then predictions and evaluation."""
    trainer = fn.compile(case["model"], "sparse_categorical_crossentropy", optax.sgd(LEARNING_RATE))
    state, history = trainer.fit(
        case["params"],
        case["x"],
        case["y"],
        epochs=EPOCHS,
        batch_size=BATCH,
        shuffle=False,
        key=jax.random.key(1),
        verbose=0,
    )
    return {
        "state": state,
        "history": history.history,
        "predictions": trainer.predict(state, case["x"], batch_size=BATCH),
        "evaluate": trainer.evaluate(state, case["x"], case["y"], batch_size=BATCH, return_dict=True),
    }


def test_the_untrained_model_agrees_with_keras_in_inference_and_training_mode(case):
    model, params, x = case["model"], case["params"], case["x"]
    np.testing.assert_allclose(model.apply(params, x), case["keras"]["initial_inference"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.apply(params, x, training=True), case["keras"]["initial_training"], rtol=1e-5, atol=1e-6
    )
    y, _ = model.apply_train(params, x)
    np.testing.assert_allclose(y, case["keras"]["initial_training"], rtol=1e-5, atol=1e-6)
    assert not np.allclose(case["keras"]["initial_inference"], case["keras"]["initial_training"], atol=1e-3)


def test_training_agrees_with_keras_weights_moving_statistics_and_reported_loss(case, trained):
    keras_weights, params = case["keras"]["weights"], trained["state"].params
    assert sorted(keras_weights) == sorted(params) == sorted(LAYERS)
    for name, leaves in LAYERS.items():
        for leaf in leaves:
            np.testing.assert_allclose(
                params[name][leaf], keras_weights[name][leaf], rtol=1e-5, atol=1e-6, err_msg=f"{name}/{leaf}"
            )
            assert not np.allclose(params[name][leaf], case["params"][name][leaf]), f"{name}/{leaf} never moved"
    np.testing.assert_allclose(trained["history"]["loss"], case["keras"]["history"], rtol=1e-5)
    assert trained["history"]["loss"][-1] < trained["history"]["loss"][0]


def test_a_shared_batch_normalization_trains_as_in_keras_each_call_moving_the_statistics(case):
    """Keras moves a shared layer's statistics once per call, each call from where the previous one left them."""
    model, params = case["siamese"], case["siamese_params"]
    (xa, xb), keras_weights = case["x"], case["keras"]["siamese"]
    trainer = fn.compile(model, "mse", optax.sgd(LEARNING_RATE))
    state, _ = trainer.fit(
        params, [xa[:, :3], xb], xa[:, 3:4], batch_size=BATCH, shuffle=False, key=jax.random.key(1), verbose=0
    )
    for name, leaves in SIAMESE_LAYERS.items():
        for leaf in leaves:
            np.testing.assert_allclose(
                state.params[name][leaf], keras_weights[name][leaf], rtol=1e-5, atol=1e-6, err_msg=f"{name}/{leaf}"
            )


def test_inference_after_training_agrees_with_keras(case, trained):
    np.testing.assert_allclose(trained["predictions"], case["keras"]["predictions"], rtol=1e-5, atol=1e-6)
    assert trained["evaluate"]["loss"] == pytest.approx(case["keras"]["evaluate"], rel=1e-5)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_agrees_with_keras(case, name):
    np.testing.assert_allclose(
        activations.get(name)(jnp.asarray(case["z"])), case["keras"]["activations"][name], rtol=2e-6, atol=1e-7
    )


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_agrees_with_keras_unweighted_and_with_weights_of_mean_one(case, name):
    loss = losses.Huber(0.5) if name == "huber_half" else losses.get(name)
    y_true, y_pred = case["losses"][name]
    plain, weighted = case["keras"]["losses"][name]
    assert float(loss(y_true, y_pred)) == pytest.approx(plain, rel=2e-6, abs=1e-7)
    assert float(loss(y_true, y_pred, case["loss_w"])) == pytest.approx(weighted, rel=2e-6, abs=1e-7)
    assert plain != pytest.approx(weighted, rel=1e-3)  # the weights matter


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_agrees_with_keras_unweighted_and_weighted(case, name):
    metric = metrics.get(name)
    y_true, y_pred = case["metrics"][METRICS[name][2]]
    plain, weighted = case["keras"]["metrics"][name]
    assert 0 < plain < 1  # a value that tells right from wrong
    assert float(metric(y_true, y_pred)) == pytest.approx(plain, rel=1e-6, abs=1e-6)
    assert float(metric(y_true, y_pred, case["metric_w"])) == pytest.approx(weighted, rel=1e-6, abs=1e-6)
