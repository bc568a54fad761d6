"""Functional graphs (fn.Input, fn.Model), merge layers, nested models and summaries."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnnet as fn
from fnnet import layers, regularizers, testing
from fnnet.testing import check_grads


def residual():
    inputs = fn.Input((6,), name="pixels")
    h = layers.Dense(8, activation="relu")(inputs)
    h = layers.BatchNormalization()(h)
    block = layers.Dense(8, activation="tanh", kernel_regularizer=regularizers.l2(0.1))(h)
    h = layers.Add()([block, h])
    outputs = layers.Dense(3, activation="softmax", name="digit")(h)
    return fn.Model(inputs, outputs)


def two_inputs():
    a, b = fn.Input((3,), name="a"), fn.Input((2,), name="b")
    h = layers.Concatenate()([layers.Dense(4, "tanh")(a), b])
    return fn.Model([a, b], layers.Dense(2, name="out")(h))


def two_outputs():
    x = fn.Input((4,), name="x")
    h = layers.Dense(5, "tanh")(x)
    return fn.Model(
        x, {"label": layers.Dense(3, "softmax", name="label")(h), "score": layers.Dense(1, name="score")(h)}
    )


def shared():
    a, b = fn.Input((3,), name="left"), fn.Input((3,), name="right")
    encode = layers.Dense(4, "tanh", name="encode")
    return fn.Model([a, b], layers.Subtract()([encode(a), encode(b)]))


MODELS = {"residual": residual, "two_inputs": two_inputs, "two_outputs": two_outputs, "shared": shared}


def dense(p, x):
    """``x @ kernel + bias`` for Dense params ``p``."""
    return x @ p["kernel"] + p["bias"][None, :]


def inputs_for(model, n=5, seed=1):
    shapes = [
        t.shape
        for t in jax.tree_util.tree_leaves(
            model.graph.inputs, is_leaf=lambda t: isinstance(t, fn.models.SymbolicTensor)
        )
    ]
    xs = [jax.random.normal(jax.random.key(seed + i), (n, *s)) for i, s in enumerate(shapes)]
    return xs[0] if len(xs) == 1 else xs


def test_residual_model_params_outputs_and_keras_formula():
    model = residual()
    params = model.init(jax.random.key(0))
    assert sorted(params) == ["batch_normalization", "dense", "dense_1", "digit"]
    x = inputs_for(model)
    y = model.apply(params, x)
    assert y.shape == (5, 3) and model.output_shape() == (3,)
    h = layers.BatchNormalization().apply(params["batch_normalization"], jax.nn.relu(dense(params["dense"], x)))
    h = jnp.tanh(dense(params["dense_1"], h)) + h
    np.testing.assert_allclose(y, jax.nn.softmax(dense(params["digit"], h)), rtol=1e-5)
    np.testing.assert_allclose(model.penalty(params), 0.1 * jnp.sum(params["dense_1"]["kernel"] ** 2), rtol=1e-6)
    _, updates = model.apply_train(params, x)
    assert list(updates) == ["batch_normalization"]
    mask = layers.trainable_mask(model, params)
    assert mask["batch_normalization"] == {"gamma": True, "beta": True, "moving_mean": False, "moving_variance": False}


def test_multi_input_concatenate_takes_a_list_or_a_dict_by_input_name():
    model = two_inputs()
    params = model.init(jax.random.key(0))
    a, b = inputs_for(model)
    y = model.apply(params, [a, b])
    h = jnp.concatenate([jnp.tanh(dense(params["dense"], a)), b], axis=-1)
    np.testing.assert_allclose(y, dense(params["out"], h), rtol=1e-5)
    np.testing.assert_array_equal(model.apply(params, {"b": b, "a": a}), y)
    np.testing.assert_array_equal(model.apply(params, (a, b)), y)
    with pytest.raises(ValueError, match=r"takes 2 inputs \['a', 'b'\]"):
        model.apply(params, a)
    with pytest.raises(ValueError, match=r"inputs \['a', 'b'\].*keys \['a', 'c'\]"):
        model.apply(params, {"a": a, "c": b})
    assert fn.models.input_names(model) == ("a", "b")


def test_multi_output_dict_returns_a_dict():
    model = two_outputs()
    params = model.init(jax.random.key(0))
    y = model.apply(params, inputs_for(model))
    assert set(y) == {"label", "score"} and y["label"].shape == (5, 3) and y["score"].shape == (5, 1)
    assert model.output_shape() == {"label": (3,), "score": (1,)}
    assert fn.models.output_names(model) == ("label", "score")
    x = fn.Input((4,))
    listed = fn.Model(x, [layers.Dense(2, name="p")(x), layers.Dense(1, name="q")(x)])
    out = listed.apply(listed.init(jax.random.key(0)), jnp.ones((2, 4)))
    assert isinstance(out, list) and [o.shape for o in out] == [(2, 2), (2, 1)]
    assert fn.models.output_names(listed) == ("p", "q")


def test_a_shared_layer_has_one_params_entry_and_gets_gradient_from_both_uses():
    model = shared()
    params = model.init(jax.random.key(0))
    assert sorted(params) == ["encode"]
    a, b = inputs_for(model)
    np.testing.assert_allclose(
        model.apply(params, [a, b]),
        jnp.tanh(dense(params["encode"], a)) - jnp.tanh(dense(params["encode"], b)),
        rtol=1e-5,
        atol=1e-6,
    )
    grads = jax.grad(lambda p: jnp.sum(model.apply(p, [a, b]) ** 2))(params)

    def one_side(p, side):  # the gradient through one use only
        other = jax.lax.stop_gradient(p)
        left = jnp.tanh(dense((p if side == 0 else other)["encode"], a))
        right = jnp.tanh(dense((p if side == 1 else other)["encode"], b))
        return jnp.sum((left - right) ** 2)

    both = jax.tree_util.tree_map(jnp.add, jax.grad(one_side)(params, 0), jax.grad(one_side)(params, 1))
    jax.tree_util.tree_map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6), grads, both)
    assert float(jnp.abs(jax.grad(one_side)(params, 1)["encode"]["kernel"]).sum()) > 0


def test_a_shared_batch_normalization_moves_its_statistics_once_per_call_in_order():
    a, b = fn.Input((2,), name="a"), fn.Input((2,), name="b")
    bn = layers.BatchNormalization(momentum=0.5, name="bn")
    model = fn.Model([a, b], layers.Add()([bn(a), bn(b)]))
    params = model.init(jax.random.key(0))
    xa, xb = jnp.array([[1.0, 2.0], [3.0, 6.0]]), jnp.array([[10.0, 20.0], [30.0, 60.0]])
    _, updates = model.apply_train(params, [xa, xb])
    after_a = {"mean": 0.5 * 0 + 0.5 * xa.mean(0), "var": 0.5 * 1 + 0.5 * xa.var(0)}  # as Keras: a's call first,
    np.testing.assert_allclose(updates["bn"]["moving_mean"], 0.5 * after_a["mean"] + 0.5 * xb.mean(0))  # then b's
    np.testing.assert_allclose(updates["bn"]["moving_variance"], 0.5 * after_a["var"] + 0.5 * xb.var(0))


def test_a_shared_layer_whose_calls_need_different_params_is_rejected():
    a, b = fn.Input((3,)), fn.Input((5,))
    dense = layers.Dense(2, name="shared_dense")
    with pytest.raises(ValueError, match="'shared_dense' is shared"):
        fn.Model([a, b], layers.Add()([dense(a), dense(b)]))


def test_shape_errors_at_build_time_name_the_layer():
    a, b = fn.Input((3,)), fn.Input((4,))
    with pytest.raises(ValueError, match=r"layer 'join' \(Add\).*\[\(None, 3\), \(None, 4\)\]"):
        layers.Add(name="join")([a, b])
    with pytest.raises(ValueError, match=r"Concatenate layer.*agree except along axis -1"):
        layers.Concatenate()([fn.Input((2, 3)), fn.Input((4, 3))])
    with pytest.raises(ValueError, match=r"Subtract layer.*exactly 2 inputs"):
        layers.Subtract()([a, a, a])
    with pytest.raises(ValueError, match=r"layer 'flat' \(Reshape\).*cannot reshape"):
        layers.Reshape((5,), name="flat")(a)
    with pytest.raises(TypeError, match="call layers on fn.Input tensors"):
        layers.Dense(2)(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="not among the Model's inputs"):
        fn.Model(a, layers.Add()([a, fn.Input((3,))]))


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_a_chain_model_equals_the_sequential_of_its_layers(dropout):
    def stack():
        return [
            layers.Dense(5, "relu"),
            layers.Dropout(dropout),
            layers.BatchNormalization(),
            layers.Dense(3),
            layers.GaussianNoise(0.1),
            layers.Dense(2, name="head"),
        ]

    sequential = fn.Sequential(stack())
    x = fn.Input((4,))
    h = x
    for layer in stack():
        h = layer(h)
    model = fn.Model(x, h)
    key = jax.random.key(0)
    p_seq, p_model = sequential.init(key, (4,)), model.init(key)
    assert jax.tree_util.tree_structure(p_seq) == jax.tree_util.tree_structure(p_model)
    jax.tree_util.tree_map(np.testing.assert_array_equal, p_seq, p_model)
    data = jax.random.normal(jax.random.key(1), (6, 4))
    np.testing.assert_array_equal(model.apply(p_model, data), sequential.apply(p_seq, data))
    k = jax.random.key(2)
    np.testing.assert_array_equal(
        model.apply(p_model, data, key=k, training=True), sequential.apply(p_seq, data, key=k, training=True)
    )
    w = jnp.array([1.0, 0.0, 2.0, 1.0, 1.0, 0.5])
    (y1, u1), (y2, u2) = (
        model.apply_train(p_model, data, key=k, sample_weight=w),
        sequential.apply_train(p_seq, data, key=k, sample_weight=w),
    )
    np.testing.assert_array_equal(y1, y2)
    jax.tree_util.tree_map(np.testing.assert_array_equal, u1, u2)
    assert [n for n, _ in model.layers] == [n for n, _ in sequential.layers]


def test_nested_models_work_as_layers():
    inner = fn.Sequential([layers.Dense(4, "tanh"), layers.BatchNormalization()], name="block")
    x = fn.Input((3,), name="x")
    branch = residual()
    h = inner(x)
    sub_in = fn.Input((4,))
    sub = fn.Model(sub_in, layers.Dense(6, name="widen")(sub_in), name="sub")
    h = sub(h)
    outputs = branch(h)
    model = fn.Model(x, outputs)
    params = model.init(jax.random.key(0))
    assert sorted(params) == ["block", "functional", "sub"]
    assert sorted(params["functional"]) == ["batch_normalization", "dense", "dense_1", "digit"]
    data = jax.random.normal(jax.random.key(1), (5, 3))
    expected = branch.apply(params["functional"], sub.apply(params["sub"], inner.apply(params["block"], data)))
    np.testing.assert_allclose(model.apply(params, data), expected, rtol=1e-6)
    _, updates = model.apply_train(params, data)
    assert sorted(updates) == ["block", "functional"]
    mask = layers.trainable_mask(model, params)
    assert mask["block"]["batch_normalization"]["moving_mean"] is False
    assert mask["functional"]["batch_normalization"]["moving_variance"] is False
    assert layers.from_config(json.loads(json.dumps(model.get_config()))) == model
    in_sequential = fn.Sequential([sub, layers.Dense(1)])
    assert in_sequential.apply(in_sequential.init(jax.random.key(0), (4,)), jnp.ones((2, 4))).shape == (2, 1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_configs_round_trip_to_equal_models_with_equal_outputs(name):
    model = MODELS[name]()
    config = model.get_config()
    assert config["class_name"] == "Functional"
    assert {"layers", "input_layers", "output_layers", "name"} <= set(config["config"])
    assert all({"class_name", "name", "config", "inbound_nodes"} <= set(entry) for entry in config["config"]["layers"])
    other = layers.from_config(json.loads(json.dumps(config)))
    assert other == model and hash(other) == hash(model) and MODELS[name]() == model
    params = model.init(jax.random.key(0))
    jax.tree_util.tree_map(np.testing.assert_array_equal, other.init(jax.random.key(0)), params)
    x = inputs_for(model)
    jax.tree_util.tree_map(np.testing.assert_array_equal, other.apply(params, x), model.apply(params, x))
    assert other.get_config() == config


def test_equal_graphs_share_one_jit_trace():
    traces = []

    def run(model, params, x):
        traces.append(1)
        return model.apply(params, x)

    jitted = jax.jit(run, static_argnums=0)
    model = residual()
    params = model.init(jax.random.key(0))
    x = inputs_for(model)
    jitted(model, params, x)
    jitted(residual(), params, x)
    jitted(layers.from_config(model.get_config()), params, x)
    assert len(traces) == 1


def test_functional_summary_has_connected_to_and_non_trainable_counts():
    lines = []
    text = residual().summary(print_fn=lines.append)
    assert lines == [text]
    assert "Connected to" in text and "pixels (InputLayer)" in text
    assert "add (Add)" in text and "dense_1[0][0], batch_normalization[0][0]" in text
    assert "Non-trainable params: 16" in text  # the moving mean and variance of 8 features
    total = (6 * 8 + 8) + 4 * 8 + (8 * 8 + 8) + (8 * 3 + 3)
    assert f"Total params: {total:,}" in text and f"Trainable params: {total - 16:,}" in text
    seq = fn.Sequential([layers.Dense(4), layers.BatchNormalization()]).summary((3,), print_fn=lambda s: None)
    assert "Total params: 32" in seq and "Trainable params: 24" in seq and "Non-trainable params: 8" in seq


MERGES = {
    "add": (layers.Add(), 3, lambda xs: xs[0] + xs[1] + xs[2]),
    "subtract": (layers.Subtract(), 2, lambda xs: xs[0] - xs[1]),
    "multiply": (layers.Multiply(), 3, lambda xs: xs[0] * xs[1] * xs[2]),
    "average": (layers.Average(), 2, lambda xs: (xs[0] + xs[1]) / 2),
    "maximum": (layers.Maximum(), 3, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
    "minimum": (layers.Minimum(), 2, lambda xs: np.minimum(xs[0], xs[1])),
    "concatenate": (layers.Concatenate(), 3, lambda xs: np.concatenate(xs, axis=-1)),
}


@pytest.mark.parametrize("name", sorted(MERGES))
def test_merge_formulas_and_planned_shapes(name):
    merge, n, formula = MERGES[name]
    xs = [np.asarray(jax.random.normal(jax.random.key(i), (4, 2, 3))) for i in range(n)]
    assert merge.init(jax.random.key(0), [(2, 3)] * n) == {}
    y = merge.apply({}, xs)
    np.testing.assert_allclose(y, formula(xs), rtol=1e-6)
    assert y.shape == (4, *merge.output_shape([(2, 3)] * n))
    assert layers.from_config(json.loads(json.dumps(merge.get_config()))) == merge
    np.testing.assert_allclose(layers.Concatenate(axis=1).apply({}, xs[:2]), np.concatenate(xs[:2], axis=1))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MERGES))
@settings(max_examples=3)  # each example compiles its finite differences: a few per merge kind
@given(data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_merge_models_grad_matches_finite_differences(name, data, seed):
    merge, n, _ = MERGES[name]
    x = data.draw(testing.batches((3,), max_size=4))
    inputs = fn.Input((3,))
    branches = [layers.Dense(2, "tanh", bias_initializer="normal")(inputs) for _ in range(n)]
    model = fn.Model(inputs, layers.Dense(1, "sigmoid")(merge(branches)))
    params = model.init(jax.random.key(seed))
    check_grads(lambda p, x: jnp.sum(model.apply(p, x) ** 2), params, x)


@pytest.mark.slow
def test_a_functional_model_trains_with_fit():
    model = residual()
    x = np.asarray(jax.random.normal(jax.random.key(0), (64, 6)))
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0)
    trainer = fn.compile(model, loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    params = model.init(jax.random.key(1))
    state, history = trainer.fit(params, x, y, epochs=3, batch_size=16, verbose=0, key=jax.random.key(2))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.array_equal(
        state.params["batch_normalization"]["moving_mean"], params["batch_normalization"]["moving_mean"]
    )


def shared_with_batch_normalization():
    """Two inputs through one shared Dense, then BatchNormalization, a residual block and a sigmoid head."""
    a, b = fn.Input((3,), name="a"), fn.Input((3,), name="b")
    encode = layers.Dense(4, "tanh", bias_initializer="normal", name="encode")
    h = layers.BatchNormalization(name="bn")(layers.Concatenate()([encode(a), encode(b)]))
    h = layers.Add()(
        [h, layers.Dense(8, "tanh", bias_initializer="normal", kernel_regularizer=regularizers.l2(0.1))(h)]
    )
    return fn.Model([a, b], layers.Dense(2, "sigmoid", name="out")(h))


@pytest.mark.slow
@settings(max_examples=3)  # each example compiles its finite differences
@given(data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_shared_layers_and_batch_normalization_in_training_grad_matches_finite_differences(data, seed):
    model = shared_with_batch_normalization()
    params = model.init(jax.random.key(seed))
    assert sorted(params) == ["bn", "dense", "encode", "out"]  # one entry for the layer used twice
    params["bn"] = params["bn"] | {
        "gamma": 1 + jax.random.uniform(jax.random.key(seed + 1), (8,)),
        "beta": jax.random.normal(jax.random.key(seed + 2), (8,)),
    }
    xa = data.draw(testing.batches((3,), min_size=3, max_size=6))
    xb = data.draw(testing.batches((3,), min_size=len(xa), max_size=len(xa)))
    spread = np.random.default_rng(seed).normal(size=(2, *xa.shape))  # no batch of equal rows: BN's output
    xa, xb = xa + spread[0], xb + spread[1]  # would be constant, its gradient 0
    w = np.linspace(0.0, 2.0, len(xa))  # the first sample weighs 0, as padding does
    y = (np.sin(np.arange(2 * len(xa))).reshape(-1, 2) + 1) / 2

    def objective(p, xa, xb):
        y_pred, updates = model.apply_train(p, [xa, xb], sample_weight=w)
        assert sorted(updates) == ["bn"]
        return fn.losses.binary_crossentropy(y, y_pred, w) + model.penalty(p)

    analytic, _ = check_grads(objective, params, xa, xb)
    assert np.abs(analytic["encode"]["kernel"]).sum() > 0
    check_grads(lambda xa, p, xb: objective(p, xa, xb), xa, params, xb)  # through the batch statistics too
