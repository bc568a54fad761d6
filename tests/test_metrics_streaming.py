"""Streaming metrics (precision, recall, AUC, F1) exact over batches, against scikit-learn; top-k accuracy."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnnet as fn
from fnnet import metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")

STREAMING = ["precision", "recall", "auc", "f1_score"]


def reference(name, y, p, weights=None):
    """scikit-learn's value of the named metric on labels y and probabilities p."""
    if name == "auc":
        return sklearn_metrics.roc_auc_score(y, p, sample_weight=weights)
    score = {
        "precision": sklearn_metrics.precision_score,
        "recall": sklearn_metrics.recall_score,
        "f1_score": sklearn_metrics.f1_score,
    }[name]
    return score(y, (p > 0.5).astype(int), sample_weight=weights, zero_division=0)


def data(seed, n):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.5 + 0.35 * (2 * y - 1) * rng.random(n) + 0.3 * rng.standard_normal(n), 0, 1)
    return y.astype(np.float32), p.astype(np.float32)


@functools.partial(jax.jit, static_argnums=0)
def update(metric, stats, y, p, w):
    return metric.update(stats, y, p, w)


def streamed(metric, y, p, batch_size):
    """The metric over batches of ``batch_size`` fed one after another, the last one padded with weight 0."""
    n = len(y)
    pad = -n % batch_size
    weights = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
    y, p = np.concatenate([y, np.ones(pad, y.dtype)]), np.concatenate([p, np.ones(pad, p.dtype)])
    stats = metric.init()
    for start in range(0, n + pad, batch_size):
        batch = slice(start, start + batch_size)
        stats = update(metric, stats, y[batch], p[batch, None], weights[batch])
    return float(metric.result(stats))


@pytest.mark.parametrize("name", STREAMING)
def test_batches_one_after_another_equal_the_whole_data_and_scikit_learn(name):
    y, p = data(0, 300)
    metric = metrics.get(name)
    whole = float(metric(y, p[:, None]))
    assert streamed(metric, y, p, 100) == pytest.approx(whole, abs=1e-6)
    assert streamed(metric, y, p, 128) == pytest.approx(whole, abs=1e-6)  # the last batch padded
    tolerance = 1e-2 if name == "auc" else 1e-6  # AUC: Keras's 200-threshold approximation
    assert whole == pytest.approx(reference(name, y, p), abs=tolerance)


@pytest.mark.slow
@pytest.mark.parametrize("name", STREAMING)
@given(seed=st.integers(0, 2**31), n=st.integers(4, 120), batch_size=st.sampled_from([8, 32]))
@settings(max_examples=15)
def test_streaming_equals_scikit_learn_on_random_data(name, seed, n, batch_size):
    y, p = data(seed, n)
    metric = metrics.get(name)
    value = streamed(metric, y, p, batch_size)
    if name == "auc" and len(set(y.tolist())) < 2:
        assert value == 0.0  # no positive (or no negative): TPR (or FPR) is 0 everywhere
        return
    if name != "auc" or n >= 100:  # AUC: binning into 200 thresholds ties close predictions, which moves a small
        # sample's AUC by more than 1e-2 (n=34: 0.748 against 0.760); the binned comparison below is exact for any n
        assert value == pytest.approx(reference(name, y, p), abs=1e-2 if name == "auc" else 1e-6)
    if name == "auc":  # exactly scikit-learn's AUC of the predictions binned as Keras bins them
        binned = np.maximum(np.ceil(p.astype(np.float64) * 199), 1) / 199
        assert value == pytest.approx(reference(name, y, binned), abs=1e-5)


@pytest.mark.parametrize("name", STREAMING)
def test_sample_weights_weigh_the_counts_and_zero_weights_change_nothing(name):
    y, p = data(1, 200)
    weights = np.random.default_rng(2).choice([0.0, 0.5, 1.0, 3.0], 200).astype(np.float32)
    metric = metrics.get(name)
    weighted = float(metric(y, p[:, None], sample_weight=weights))
    assert weighted == pytest.approx(reference(name, y, p, weights), abs=1e-2 if name == "auc" else 1e-5)
    kept = weights > 0
    assert weighted == pytest.approx(float(metric(y[kept], p[kept], sample_weight=weights[kept])), abs=1e-6)
    padded = update(
        metric,
        metric.init(),
        np.concatenate([y, [1.0, 0.0]]),
        np.concatenate([p, [0.0, 1.0]]),
        np.concatenate([weights, [0.0, 0.0]]),
    )
    assert float(metric.result(padded)) == pytest.approx(weighted, abs=1e-6)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(200,\)"):
        metric(y, p, sample_weight=weights[:10])


def test_hand_counted_values():
    y = jnp.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    p = jnp.array([0.9, 0.6, 0.3, 0.7, 0.2, 0.1, 0.5])  # tp 2, fn 1, fp 1, tn 3 (0.5 is not > 0.5)
    assert float(metrics.precision(y, p)) == pytest.approx(2 / 3)
    assert float(metrics.recall(y, p)) == pytest.approx(2 / 3)
    assert float(metrics.f1_score(y, p)) == pytest.approx(2 / 3)
    assert float(metrics.Precision(threshold=0.65)(y, p)) == pytest.approx(1 / 2)  # 0.9; 0.7 is a false one
    assert float(metrics.auc(jnp.array([0.0, 0.0, 1.0, 1.0]), jnp.array([0.1, 0.4, 0.35, 0.8]))) == pytest.approx(
        0.75, abs=1e-2
    )  # scikit-learn's doc example
    assert float(metrics.auc(jnp.array([0.0, 1.0]), jnp.array([0.2, 0.8]))) == pytest.approx(1.0)
    empty = jnp.zeros(3)
    assert float(metrics.precision(empty, empty)) == 0.0 and float(metrics.recall(empty, empty)) == 0.0


def test_several_output_columns_are_micro_averaged():
    y = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    p = jnp.array([[0.8, 0.6], [0.4, 0.9]])  # tp 2, fp 1, fn 0
    assert float(metrics.precision(y, p)) == pytest.approx(2 / 3)
    assert float(metrics.recall(y, p)) == pytest.approx(1.0)


def test_streaming_metrics_are_values_with_state_as_pytrees():
    assert metrics.AUC() == metrics.auc and hash(metrics.AUC(200)) == hash(metrics.auc)
    assert metrics.AUC(100) != metrics.auc and metrics.Precision(0.5) == metrics.precision != metrics.recall
    assert metrics.auc.__name__ == "auc" and fn.metrics.metric_name(metrics.AUC(50)) == "auc"
    assert metrics.is_streaming(metrics.get("auc")) and not metrics.is_streaming(metrics.accuracy)
    stats = metrics.auc.init()
    assert {k: v.shape for k, v in stats.items()} == {k: (200,) for k in ("tp", "fp", "tn", "fn")}
    assert all(v.dtype == jnp.float32 and not v.any() for v in stats.values())
    y = (jax.random.uniform(jax.random.key(0), (3, 16)) > 0.5).astype(jnp.float32)
    p = jax.random.uniform(jax.random.key(1), (3, 16))
    batched = jax.vmap(metrics.f1_score.update, in_axes=(None, 0, 0))(metrics.f1_score.init(), y, p)
    assert float(metrics.f1_score.result({k: v[1] for k, v in batched.items()})) == pytest.approx(
        float(metrics.f1_score(y[1], p[1]))
    )
    with pytest.raises(ValueError, match="threshold must be"):
        metrics.Precision(1.5)
    with pytest.raises(ValueError, match="num_thresholds must be"):
        metrics.AUC(1)


@pytest.mark.parametrize("name", STREAMING)
def test_streaming_metrics_need_labels_0_or_1(name):
    with pytest.raises(ValueError, match=rf"{name} expects labels in \{{0, 1\}}, got values \[0.0, 0.5, 1.0\]"):
        metrics.check_labels(metrics.get(name), np.array([[0.0], [0.5], [1.0]]), (1,))
    metrics.check_labels(metrics.get(name), np.array([[0.0], [1.0]]), (1,))


def test_top_k_accuracy_counts_ties_as_in_like_keras():
    p = jnp.array([[0.1, 0.5, 0.2, 0.2], [0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
    labels = jnp.array([2, 3, 0])  # ranks: 2 (tied with class 3), 4, 1 (all tied)
    assert float(metrics.sparse_top_k_categorical_accuracy(labels, p, k=1)) == pytest.approx(1 / 3)
    assert float(metrics.sparse_top_k_categorical_accuracy(labels, p, k=2)) == pytest.approx(2 / 3)
    assert float(metrics.sparse_top_k_categorical_accuracy(labels, p)) == pytest.approx(1.0)  # k = 5
    one_hot = jax.nn.one_hot(labels, 4)
    assert float(metrics.top_k_categorical_accuracy(one_hot, p, k=2)) == pytest.approx(2 / 3)
    assert float(metrics.SparseTopKCategoricalAccuracy(k=2)(labels, p)) == pytest.approx(2 / 3)
    assert float(metrics.TopKCategoricalAccuracy(2)(one_hot, p, jnp.array([0.0, 1.0, 0.0]))) == 0.0
    assert metrics.TopKCategoricalAccuracy(2) == metrics.TopKCategoricalAccuracy(k=2)
    assert metrics.TopKCategoricalAccuracy(2).__name__ == "top_k_categorical_accuracy"
    assert metrics.get("top_k_categorical_accuracy") is metrics.top_k_categorical_accuracy
    assert metrics.get("sparse_top_k_categorical_accuracy") is metrics.sparse_top_k_categorical_accuracy


def test_top_k_bad_inputs():
    p = jnp.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match="integer labels need sparse_top_k_categorical_accuracy"):
        metrics.top_k_categorical_accuracy(jnp.array([0, 1]), p)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        metrics.sparse_top_k_categorical_accuracy(jnp.array([0, 3]), p)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        metrics.check_labels(metrics.SparseTopKCategoricalAccuracy(2), np.array([0, 3]), (3,))
    with pytest.raises(ValueError, match="k must be"):
        metrics.TopKCategoricalAccuracy(0)


def padded_case():
    """A model, params, data of 40 samples (batches of 7: the last one has 5 and is padded) and sample weights.

    The engine pads with copies of sample 0; it is made a false positive of weight 1, so counting the
    padding would change the precision, the AUC and the loss.
    """
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, :1] + x[:, 1:2] + rng.normal(size=(40, 1)) > 0).astype(np.float32)
    weights = rng.choice([0.0, 0.5, 1.0, 2.0], 40).astype(np.float32)
    model = fn.Sequential([fn.layers.Dense(4, "tanh"), fn.layers.Dense(1, "sigmoid")])
    params = model.init(jax.random.key(0), (3,))
    first = int(np.argmax(np.asarray(model.apply(params, x))[:, 0]))
    x[[0, first]], y[0], weights[0] = x[[first, 0]], 0.0, 1.0
    assert model.apply(params, x[:1])[0, 0] > 0.5
    return model, params, x, y, weights


def check_against_scikit_learn(logs, y, p, weights=None):
    y, p = np.asarray(y)[:, 0], np.asarray(p)[:, 0]
    for name in ("precision", "recall"):
        assert 0 < logs[name] < 1
        assert logs[name] == pytest.approx(reference(name, y, p, weights), abs=1e-6)
    binned = np.maximum(np.ceil(p.astype(np.float64) * 199), 1) / 199  # the predictions as Keras's AUC bins them
    assert logs["auc"] == pytest.approx(reference("auc", y, binned, weights), abs=1e-5)


def test_evaluate_with_a_padded_last_batch_equals_the_metrics_on_the_unpadded_data_and_scikit_learn():
    model, params, x, y, _ = padded_case()
    trainer = fn.compile(model, "binary_crossentropy", "sgd", metrics=["precision", "recall", "auc"])
    logs = trainer.evaluate(params, x, y, batch_size=7, return_dict=True)
    assert list(logs) == ["loss", "precision", "recall", "auc"]
    p = model.apply(params, x)
    one_batch = {"loss": fn.losses.binary_crossentropy(y, p), **{n: metrics.get(n)(y, p) for n in STREAMING[:3]}}
    assert logs == pytest.approx({name: float(value) for name, value in one_batch.items()}, abs=1e-6)
    check_against_scikit_learn(logs, y, p)


@pytest.mark.slow
@pytest.mark.parametrize("weighted", [False, True])
def test_fit_logs_and_evaluate_with_a_padded_last_batch_equal_one_batch(weighted):
    model, params, x, y, weights = padded_case()
    w = weights if weighted else None
    trainer = fn.compile(model, "binary_crossentropy", optax.sgd(0.0), metrics=["precision", "recall", "auc"])
    whole = trainer.evaluate(params, x, y, batch_size=len(x), sample_weight=w, return_dict=True)
    assert trainer.evaluate(params, x, y, batch_size=7, sample_weight=w, return_dict=True) == pytest.approx(
        whole, abs=1e-6
    )
    check_against_scikit_learn(whole, y, model.apply(params, x), w)
    # learning rate 0: every step sees the same params, so the epoch's logs are the metrics on all the data
    _, history = trainer.fit(params, x, y, epochs=1, batch_size=7, key=jax.random.key(1), verbose=0, sample_weight=w)
    assert list(history.history) == list(whole)
    assert {name: values[0] for name, values in history.history.items()} == pytest.approx(whole, abs=1e-6)
