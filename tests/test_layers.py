import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnnet as fn
from fnnet import layers, regularizers, testing
from fnnet.testing import check_grads


def smooth_mse(model):
    """A scalar objective of params: MSE against fixed targets plus the model's penalty."""

    def objective(params, x, y):
        return fn.losses.mse(y, model.apply(params, x)) + model.penalty(params)

    return objective


@pytest.mark.slow
@given(
    data=st.data(),
    units=st.integers(1, 5),
    activation=st.sampled_from(testing.SMOOTH_ACTIVATIONS),
    use_bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_dense_grad_matches_finite_differences(data, units, activation, use_bias, seed):
    x = data.draw(testing.batches((3,), max_size=4))
    layer = layers.Dense(
        units, activation, use_bias, kernel_regularizer=regularizers.l2(0.1), bias_regularizer=regularizers.l2(0.2)
    )
    params = layer.init(jax.random.key(seed), (3,))
    y = jnp.sin(jnp.arange(len(x) * units, dtype=jnp.float64)).reshape(len(x), units)
    check_grads(smooth_mse(layer), params, x, y)


@pytest.mark.slow
@given(data=st.data(), units=st.integers(1, 3), pieces=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_maxout_grad_matches_finite_differences(data, units, pieces, seed):
    x = data.draw(testing.batches((2,), max_size=4))
    layer = layers.Maxout(units, pieces, bias_initializer="normal")  # distinct biases: no ties between pieces
    params = layer.init(jax.random.key(seed), (2,))
    y = jnp.cos(jnp.arange(len(x) * units, dtype=jnp.float64)).reshape(len(x), units)
    check_grads(smooth_mse(layer), params, x, y)


@pytest.mark.slow
@given(data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_sequential_of_random_depth_and_widths_grad_matches_finite_differences(data, seed):
    model, input_shape = data.draw(testing.mlps(max_depth=4, max_width=6))
    x = data.draw(testing.batches(input_shape, max_size=4))
    params = model.init(jax.random.key(seed), input_shape)
    y = jnp.zeros((len(x), *model.output_shape(input_shape)))
    check_grads(smooth_mse(model), params, x, y)


@pytest.mark.slow
def test_sequential_with_dropout_in_training_grad_matches_finite_differences():
    model = fn.Sequential([layers.Dense(4, "tanh"), layers.Dropout(0.5), layers.Dense(2, "sigmoid")])
    params = model.init(jax.random.key(0), (3,))
    x = jax.random.normal(jax.random.key(1), (5, 3))
    key = jax.random.key(2)
    check_grads(lambda p: jnp.sum(model.apply(p, x, key=key, training=True) ** 2), params)


def test_dense_formula_and_params():
    layer = layers.Dense(3, "relu")
    params = layer.init(jax.random.key(0), (4,))
    assert params["kernel"].shape == (4, 3) and params["bias"].shape == (3,)
    np.testing.assert_array_equal(params["bias"], 0)
    x = jax.random.normal(jax.random.key(1), (5, 4))
    np.testing.assert_allclose(
        layer.apply(params, x), np.maximum(x @ params["kernel"] + params["bias"][None, :], 0), rtol=1e-6
    )
    no_bias = layers.Dense(3, use_bias=False)
    assert set(no_bias.init(jax.random.key(0), (4,))) == {"kernel"}


def test_maxout_takes_the_max_over_pieces():
    layer = layers.Maxout(2, 3)
    params = layer.init(jax.random.key(0), (4,))
    assert params["kernel"].shape == (4, 6)
    x = jax.random.normal(jax.random.key(1), (5, 4))
    z = x @ params["kernel"] + params["bias"][None, :]
    np.testing.assert_allclose(layer.apply(params, x), z.reshape(5, 2, 3).max(-1), rtol=1e-6)


LAYERS = {
    "dense": (layers.Dense(3, "tanh"), (4,)),
    "dense_on_images": (layers.Dense(3), (2, 5, 4)),
    "maxout": (layers.Maxout(3, 2), (4,)),
    "dropout": (layers.Dropout(0.3), (4,)),
    "activation": (layers.Activation("softmax"), (4,)),
    "flatten": (layers.Flatten(), (2, 3, 4)),
    "reshape": (layers.Reshape((4, -1)), (2, 6)),
    "identity": (layers.Identity(), (3,)),
    "batch_normalization": (layers.BatchNormalization(), (4,)),
    "batch_normalization_axis_1": (layers.BatchNormalization(axis=1, center=False), (3, 2)),
    "layer_normalization": (layers.LayerNormalization(), (2, 5)),
    "gaussian_noise": (layers.GaussianNoise(0.3), (4,)),
    "gaussian_dropout": (layers.GaussianDropout(0.3), (4,)),
    "alpha_dropout": (layers.AlphaDropout(0.3), (4,)),
    "sequential": (
        fn.Sequential(
            [
                layers.Flatten(),
                layers.Dense(5, "relu"),
                layers.Dropout(0.2),
                layers.Maxout(2, 2),
                layers.BatchNormalization(),
                fn.Sequential([layers.Dense(3)]),
            ]
        ),
        (2, 3),
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("training", [False, True])
def test_planned_output_shape_equals_applied_shape(name, training):
    layer, input_shape = LAYERS[name]
    params = layer.init(jax.random.key(0), input_shape)
    x = jnp.ones((7, *input_shape))
    y = layer.apply(params, x, key=jax.random.key(1), training=training)
    assert y.shape == (7, *layer.output_shape(input_shape))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_jit_and_vmap_over_stacked_params(name):
    layer, input_shape = LAYERS[name]
    xs = jax.random.normal(jax.random.key(1), (3, 6, *input_shape))
    keys = jax.random.split(jax.random.key(0), 3)
    stacked = jax.vmap(lambda k: layer.init(k, input_shape))(keys)
    out = jax.vmap(lambda p, x: layer.apply(p, x))(stacked, xs)
    single = jax.tree_util.tree_map(lambda leaf: leaf[2], stacked)
    np.testing.assert_allclose(out[2], layer.apply(single, xs[2]), rtol=1e-5, atol=1e-6)
    jitted = jax.jit(layer.apply, static_argnames="training")
    np.testing.assert_allclose(jitted(single, xs[0]), layer.apply(single, xs[0]), rtol=1e-5, atol=1e-6)
    train = jitted(single, xs[0], key=jax.random.key(3), training=True)
    expected = layer.apply(single, xs[0], key=jax.random.key(3), training=True)
    np.testing.assert_allclose(train, expected, rtol=1e-5, atol=1e-6)


def test_dropout_is_inverted_and_only_active_in_training():
    x = jnp.ones((200, 50))
    drop = layers.Dropout(0.3)
    np.testing.assert_array_equal(drop.apply({}, x), x)
    y = drop.apply({}, x, key=jax.random.key(0), training=True)
    dropped = float(jnp.mean(y == 0))
    assert dropped == pytest.approx(0.3, abs=0.02)  # rate is the fraction dropped, as in Keras
    np.testing.assert_allclose(np.unique(y), [0, 1 / 0.7], rtol=1e-6)
    assert float(jnp.mean(y)) == pytest.approx(1.0, abs=0.03)
    same = drop.apply({}, x, key=jax.random.key(0), training=True)
    other = drop.apply({}, x, key=jax.random.key(1), training=True)
    np.testing.assert_array_equal(y, same)
    assert not np.array_equal(y, other)
    np.testing.assert_array_equal(layers.Dropout(0.0).apply({}, x, training=True), x)


def test_dropout_in_training_needs_a_key():
    with pytest.raises(ValueError, match="needs a random key"):
        layers.Dropout(0.5).apply({}, jnp.ones((2, 2)), training=True)
    model = fn.Sequential([layers.Dense(2), layers.Dropout(0.5)])
    params = model.init(jax.random.key(0), (2,))
    with pytest.raises(ValueError, match="layer 'dropout'.*needs a random key"):
        model.apply(params, jnp.ones((2, 2)), training=True)


def test_sequential_dropout_layers_get_distinct_keys():
    model = fn.Sequential([layers.Dropout(0.5), layers.Dropout(0.5, name="second")])
    single = fn.Sequential([layers.Dropout(0.5)])
    x = jnp.ones((1, 1000))
    y = model.apply({}, x, key=jax.random.key(0), training=True)
    # two independent masks keep about 1/4 of the inputs; one reused mask would keep 1/2
    assert float(jnp.mean(y != 0)) == pytest.approx(0.25, abs=0.05)
    assert single.apply({}, x, key=jax.random.key(0), training=True).shape == x.shape


def test_automatic_names_restart_per_model_and_skip_given_names():
    def build():
        return fn.Sequential(
            [
                layers.Dense(4),
                layers.Dropout(0.1),
                layers.Dense(4, name="dense"),
                layers.Dense(2),
                layers.Maxout(2, 2),
                layers.Flatten(),
                layers.Dense(1, name="out"),
            ]
        )

    for _ in range(2):
        model = build()
        names = [name for name, _ in model.layers]
        assert names == ["dense_1", "dropout", "dense", "dense_2", "maxout", "flatten", "out"]
        params = model.init(jax.random.key(0), (3,))
        assert set(params) == {"dense", "dense_1", "dense_2", "maxout", "out"}  # parameter-free: no entry


def test_duplicate_names_are_rejected():
    with pytest.raises(ValueError, match=r"unique.*\['a'\]"):
        fn.Sequential([layers.Dense(2, name="a"), layers.Dense(2, name="a")])


def test_sequential_penalty_sums_layer_regularizers():
    model = fn.Sequential(
        [
            layers.Dense(3, kernel_regularizer=regularizers.l1(0.5)),
            layers.Dense(2, bias_regularizer=regularizers.l2(2.0), bias_initializer="ones"),
        ]
    )
    params = model.init(jax.random.key(0), (4,))
    expected = 0.5 * jnp.sum(jnp.abs(params["dense"]["kernel"])) + 2.0 * 2
    np.testing.assert_allclose(model.penalty(params), expected, rtol=1e-6)
    assert layers.Dense(2).penalty(params["dense_1"]) == 0.0


@pytest.mark.slow
def test_feature_mismatch_names_the_layer_expected_and_given():
    model = fn.Sequential([layers.Dense(64), layers.Dense(10)])
    params = model.init(jax.random.key(0), (63,))
    with pytest.raises(ValueError, match=r"layer 'dense'.*63 features.*\(5, 64\)"):
        model.apply(params, jnp.ones((5, 64)))
    other = fn.Sequential([layers.Dense(64), layers.Dense(10)]).init(jax.random.key(0), (64,))
    with pytest.raises(ValueError, match=r"layer 'dense'.*63 features.*\(5, 64\)"):
        model.apply(params, jnp.ones((5, 64)))
    with pytest.raises(ValueError, match=r"expects a kernel of shape \(inputs, 3\), got \(64, 10\)"):
        layers.Dense(3).apply(other["dense_1"], jnp.ones((2, 3)))  # another layer's params


def test_params_of_another_model_are_rejected():
    model = fn.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match=r"entries \['head'\] for no layer.*\['dense'\]"):
        model.apply({"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}, "head": {}}, jnp.ones((1, 2)))


@pytest.mark.parametrize("units", [0, -3])
def test_dense_units_must_be_positive(units):
    with pytest.raises(ValueError, match=rf"units must be an integer in \[1, inf\), got {units}"):
        layers.Dense(units)


def test_dense_units_must_be_an_integer():
    with pytest.raises(TypeError, match="units must be an integer, got 2.5"):
        layers.Dense(2.5)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_rate_outside_unit_interval(rate):
    with pytest.raises(ValueError, match=r"Dropout rate must be .*\[0, 1\)|Dropout rate must be finite"):
        layers.Dropout(rate)


def test_other_bad_constructor_arguments():
    with pytest.raises(ValueError, match="pieces must be"):
        layers.Maxout(2, 0)
    with pytest.raises(ValueError, match="unknown activation"):
        layers.Dense(2, "swishy")
    with pytest.raises(ValueError, match="unknown initializer"):
        layers.Dense(2, kernel_initializer="xavier")
    with pytest.raises(TypeError, match="kernel_regularizer must be a callable"):
        layers.Dense(2, kernel_regularizer=0.01)
    with pytest.raises(TypeError, match="Sequential takes fnnet layers"):
        fn.Sequential([layers.Dense(2), "relu"])
    with pytest.raises(TypeError, match="input_shape must be a tuple of positive ints"):
        layers.Dense(2).init(jax.random.key(0), (0, 3))
    with pytest.raises(ValueError, match="layer 'dense'.*feature axis"):
        fn.Sequential([layers.Dense(2)]).init(jax.random.key(0), ())


def test_summary_lists_names_shapes_and_parameter_counts():
    model = fn.Sequential([layers.Flatten(), layers.Dense(16, "relu"), layers.Dropout(0.5), layers.Dense(10)])
    lines = []
    text = model.summary((8, 8), print_fn=lines.append)
    assert lines == [text]
    assert 'Model: "sequential"' in text
    assert "flatten (Flatten)" in text and "(None, 64)" in text
    assert "dense (Dense)" in text and "(None, 16)" in text and "1,040" in text
    assert "dropout (Dropout)" in text
    assert "dense_1 (Dense)" in text and "(None, 10)" in text and "170" in text
    assert "Total params: 1,210" in text


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_apply_train_shape_and_updates_like_params(name):
    layer, input_shape = LAYERS[name]
    params = layer.init(jax.random.key(0), input_shape)
    x = jax.random.normal(jax.random.key(1), (7, *input_shape))
    y, updates = layer.apply_train(params, x, key=jax.random.key(2), sample_weight=jnp.ones(7))
    assert y.shape == (7, *layer.output_shape(input_shape))
    merged = layers.params.merge_updates(params, updates)
    assert jax.tree_util.tree_structure(merged) == jax.tree_util.tree_structure(params)
    mask = layers.trainable_mask(layer, params)
    assert jax.tree_util.tree_structure(mask) == jax.tree_util.tree_structure(params)
    frozen = {jax.tree_util.keystr(path) for path, keep in jax.tree_util.tree_leaves_with_path(mask) if not keep}
    changed = {jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_leaves_with_path(updates)}
    assert changed == frozen  # exactly the non-trainable leaves get new values


def test_merge_updates_puts_the_new_leaves_in_and_is_the_one_the_step_uses():
    params = {"bn": {"gamma": jnp.ones(2), "moving_mean": jnp.zeros(2)}, "dense": {"kernel": jnp.ones((2, 2))}}
    updates = {"bn": {"moving_mean": jnp.full(2, 0.5)}}
    merged = layers.params.merge_updates(params, updates)
    assert list(merged) == ["bn", "dense"] and list(merged["bn"]) == ["gamma", "moving_mean"]
    assert merged["bn"]["gamma"] is params["bn"]["gamma"] and merged["dense"] is params["dense"]
    assert merged["bn"]["moving_mean"] is updates["bn"]["moving_mean"]
    assert float(params["bn"]["moving_mean"][0]) == 0.0  # not modified
    assert layers.params.merge_updates(params, {}) is params
    assert layers.params.merge_updates({}, updates) == updates  # collects updates, as a model's training pass does
    assert fn.training.step.merge_updates is layers.params.merge_updates


# --- BatchNormalization ----------------------------------------------------------------------------------


def test_batch_normalization_params_and_keras_defaults():
    bn = layers.BatchNormalization()
    params = bn.init(jax.random.key(0), (5,))
    assert sorted(params) == ["beta", "gamma", "moving_mean", "moving_variance"]
    np.testing.assert_array_equal(params["gamma"], 1)
    np.testing.assert_array_equal(params["moving_variance"], 1)
    np.testing.assert_array_equal(params["beta"], 0)
    np.testing.assert_array_equal(params["moving_mean"], 0)
    assert bn.non_trainable == ("moving_mean", "moving_variance")
    config = bn.get_config()["config"]
    assert (config["axis"], config["momentum"], config["epsilon"], config["center"], config["scale"]) == (
        -1,
        0.99,
        1e-3,
        True,
        True,
    )
    assert sorted(layers.BatchNormalization(center=False, scale=False).init(jax.random.key(0), (2,))) == [
        "moving_mean",
        "moving_variance",
    ]


def test_batch_normalization_inference_uses_the_moving_statistics():
    bn = layers.BatchNormalization(epsilon=1e-3)
    params = {
        "gamma": jnp.array([2.0, 1.0]),
        "beta": jnp.array([0.5, -1.0]),
        "moving_mean": jnp.array([1.0, -2.0]),
        "moving_variance": jnp.array([4.0, 0.25]),
    }
    x = jax.random.normal(jax.random.key(0), (6, 2))
    params_np = {k: np.asarray(v) for k, v in params.items()}
    x, params = np.asarray(x), params_np
    expected = (
        params["gamma"] * (x - params["moving_mean"]) / np.sqrt(params["moving_variance"] + 1e-3) + params["beta"]
    )
    np.testing.assert_allclose(bn.apply(params, x), expected, rtol=1e-5)
    batch = bn.apply(params, x, training=True)  # Keras's training=True call: batch statistics
    mean, var = np.mean(x, 0), np.var(x, 0)  # NumPy arrays: broadcasting as written
    np.testing.assert_allclose(
        batch, params["gamma"] * (x - mean) / np.sqrt(var + 1e-3) + params["beta"], rtol=1e-4, atol=1e-5
    )


def test_batch_normalization_training_uses_weighted_batch_statistics_and_updates_the_moving_ones():
    bn = layers.BatchNormalization(momentum=0.9)
    params = bn.init(jax.random.key(0), (3,))
    params["moving_mean"] = jnp.array([0.5, 1.0, -1.0])
    old_mean = np.asarray(params["moving_mean"])
    x = np.asarray(jax.random.normal(jax.random.key(1), (8, 3))) * 3 + 2
    w = np.array([1.0, 2.0, 0.0, 0.5, 1.0, 0.0, 3.0, 1.0], np.float32)
    y, updates = bn.apply_train(params, jnp.asarray(x), sample_weight=jnp.asarray(w))
    mean = np.average(x, axis=0, weights=w)
    var = np.average((x - mean) ** 2, axis=0, weights=w)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(updates["moving_mean"], 0.9 * old_mean + 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(updates["moving_variance"], 0.9 * 1.0 + 0.1 * var, rtol=1e-5)
    # rows of weight 0 change nothing, whatever they hold
    garbage = x.copy()
    garbage[w == 0] = 1e3
    y2, updates2 = bn.apply_train(params, jnp.asarray(garbage), sample_weight=jnp.asarray(w))
    np.testing.assert_allclose(y2[w > 0], y[w > 0], rtol=1e-5, atol=1e-6)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5), updates2, updates)
    # no weights: plain batch statistics; all weights 0: the moving statistics stay
    _, plain = bn.apply_train(params, jnp.asarray(x))
    np.testing.assert_allclose(plain["moving_mean"], 0.9 * old_mean + 0.1 * x.mean(0), rtol=1e-5)
    _, none = bn.apply_train(params, jnp.asarray(x), sample_weight=jnp.zeros(8))
    np.testing.assert_array_equal(none["moving_mean"], params["moving_mean"])
    np.testing.assert_array_equal(none["moving_variance"], params["moving_variance"])


def test_batch_normalization_on_images_normalizes_per_channel():
    bn = layers.BatchNormalization(axis=1, scale=False, center=False)  # channels first
    params = bn.init(jax.random.key(0), (3, 4, 4))
    assert params["moving_mean"].shape == (3,)
    x = jax.random.normal(jax.random.key(1), (5, 3, 4, 4)) * jnp.array([1.0, 2.0, 3.0])[None, :, None, None]
    y, updates = bn.apply_train(params, x)
    np.testing.assert_allclose(np.std(y, axis=(0, 2, 3)), 1, rtol=1e-2)
    np.testing.assert_allclose(updates["moving_mean"], 0.01 * np.mean(x, axis=(0, 2, 3)), rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="axis=0 must name a feature axis"):
        layers.BatchNormalization(axis=0).init(jax.random.key(0), (3,))


@pytest.mark.slow
def test_batch_normalization_vmaps_over_stacked_params_and_jits():
    model = fn.Sequential([layers.Dense(4), layers.BatchNormalization(), layers.Dense(2)])
    stacked = jax.vmap(lambda k: model.init(k, (3,)))(jax.random.split(jax.random.key(0), 3))
    x = jax.random.normal(jax.random.key(1), (6, 3))
    w = jnp.array([1.0, 1.0, 0.0, 1.0, 2.0, 1.0])
    ys, updates = jax.jit(jax.vmap(lambda p: model.apply_train(p, x, sample_weight=w)))(stacked)
    one = jax.tree_util.tree_map(lambda leaf: leaf[1], stacked)
    y1, u1 = model.apply_train(one, x, sample_weight=w)
    np.testing.assert_allclose(ys[1], y1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        updates["batch_normalization"]["moving_mean"][1], u1["batch_normalization"]["moving_mean"], rtol=1e-5, atol=1e-7
    )
    momenta = jnp.array([0.0, 0.5, 0.99])  # a swept momentum is traced
    bn_means = jax.vmap(
        lambda m: layers.BatchNormalization(momentum=m).apply_train(one["batch_normalization"], jnp.ones((2, 4)))[1][
            "moving_mean"
        ]
    )(momenta)
    np.testing.assert_allclose(bn_means[:, 0], 1 - momenta, rtol=1e-6)


@pytest.mark.slow
@given(data=st.data(), seed=st.integers(0, 2**31 - 1), weighted=st.booleans())
def test_batch_normalization_training_grad_matches_finite_differences(data, seed, weighted):
    x = data.draw(testing.batches((3,), min_size=2, max_size=5))
    bn = layers.BatchNormalization()
    params = bn.init(jax.random.key(seed), (3,))
    params = jax.tree_util.tree_map(lambda p: p + jax.random.uniform(jax.random.key(seed + 1), p.shape), params)
    w = jnp.linspace(0.5, 1.5, len(x)) if weighted else None
    c = jnp.sin(jnp.arange(x.size, dtype=jnp.float64)).reshape(x.shape)

    def loss(p, inputs):
        return jnp.sum(c * bn.apply_train(p, inputs, sample_weight=w)[0] ** 2)

    check_grads(loss, params, x)
    check_grads(lambda inputs, p: loss(p, inputs), x, params)  # through the batch statistics
    check_grads(lambda p, inputs: jnp.sum(c * jnp.tanh(bn.apply(p, inputs))), params, x)


@pytest.mark.slow
@given(data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_layer_normalization_grad_matches_finite_differences(data, seed):
    x = data.draw(testing.batches((4,), max_size=4))
    ln = layers.LayerNormalization()
    params = jax.tree_util.tree_map(
        lambda p: p + jax.random.uniform(jax.random.key(seed), p.shape), ln.init(jax.random.key(seed), (4,))
    )
    c = jnp.cos(jnp.arange(x.size, dtype=jnp.float64)).reshape(x.shape)
    check_grads(lambda p, inputs: jnp.sum(c * ln.apply(p, inputs) ** 2), params, x)
    check_grads(lambda inputs, p: jnp.sum(c * ln.apply(p, inputs) ** 2), x, params)


def test_layer_normalization_normalizes_each_sample():
    ln = layers.LayerNormalization(epsilon=1e-3)
    params = ln.init(jax.random.key(0), (6,))
    assert sorted(params) == ["beta", "gamma"] and params["gamma"].shape == (6,)
    x = np.asarray(jax.random.normal(jax.random.key(1), (4, 6))) * 5 + 3
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(ln.apply(params, x), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ln.apply(params, x, training=True), ln.apply(params, x))


# --- noise layers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer",
    [layers.GaussianNoise(0.5), layers.GaussianDropout(0.4), layers.AlphaDropout(0.2)],
    ids=lambda layer: layer.kind,
)
def test_noise_layers_act_only_in_training_and_need_a_key(layer):
    x = jax.random.normal(jax.random.key(0), (400, 50))
    np.testing.assert_array_equal(layer.apply({}, x), x)
    with pytest.raises(ValueError, match="needs a random key"):
        layer.apply({}, x, training=True)
    y = layer.apply({}, x, key=jax.random.key(1), training=True)
    assert not np.allclose(y, x)
    np.testing.assert_array_equal(y, layer.apply({}, x, key=jax.random.key(1), training=True))
    assert float(jnp.mean(y)) == pytest.approx(float(jnp.mean(x)), abs=0.03)  # mean kept
    assert float(jnp.var(y)) == pytest.approx(
        {"GaussianNoise": 1.25, "GaussianDropout": 1 + 0.4 / 0.6, "AlphaDropout": 1.0}[layer.kind], rel=0.05
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "noise",
    [layers.GaussianNoise(0.3), layers.GaussianDropout(0.3), layers.AlphaDropout(0.3)],
    ids=lambda layer: layer.kind,
)
def test_noise_layers_in_training_grad_matches_finite_differences(noise):
    model = fn.Sequential([layers.Dense(4, "tanh"), noise, layers.Dense(2, "sigmoid")])
    params = model.init(jax.random.key(0), (3,))
    x = jax.random.normal(jax.random.key(1), (5, 3))
    check_grads(lambda p: jnp.sum(model.apply(p, x, key=jax.random.key(2), training=True) ** 2), params)


def test_alpha_dropout_matches_keras_formula():
    rate, key = 0.3, jax.random.key(3)
    x = np.asarray(jax.random.normal(jax.random.key(0), (5, 7)))
    y = layers.AlphaDropout(rate).apply({}, x, key=key, training=True)
    alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
    keep = jax.random.bernoulli(key, 1 - rate, x.shape)
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    np.testing.assert_allclose(y, a * np.where(keep, x, alpha_p) - a * alpha_p * rate, rtol=1e-6)


def test_reshape_and_identity():
    x = jnp.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(layers.Reshape((4, 3)).apply({}, x), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(layers.Reshape((-1,)).apply({}, x), x.reshape(2, 12))
    np.testing.assert_array_equal(layers.Identity().apply({}, x), x)
    with pytest.raises(ValueError, match=r"cannot reshape inputs of shape \(3, 4\).*\(5, 2\)"):
        layers.Reshape((5, 2)).output_shape((3, 4))
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))


SHARDED_BATCH_NORMALIZATION = """
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from fnnet import layers
bn = layers.BatchNormalization(momentum=0.5)
params = bn.init(jax.random.key(0), (3,))
x = jax.random.normal(jax.random.key(1), (16, 3)) * 2 + 1
w = jnp.arange(16.0) % 3
mesh = Mesh(np.array(jax.devices()), ("batch",))
xs = jax.device_put(x, NamedSharding(mesh, P("batch")))
ws = jax.device_put(w, NamedSharding(mesh, P("batch")))
step = jax.jit(lambda p, x, w: bn.apply_train(p, x, sample_weight=w))
(y, u), (y1, u1) = step(params, xs, ws), step(params, x, w)
assert len(xs.sharding.device_set) == 4
np.testing.assert_allclose(y, y1, rtol=1e-5, atol=1e-6)
for k in u:
    np.testing.assert_allclose(u[k], u1[k], rtol=1e-5, atol=1e-7)
print("ok")
"""


@pytest.mark.slow
def test_batch_normalization_with_the_batch_sharded_over_a_mesh_equals_one_device():
    import os
    import subprocess
    import sys

    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-c", SHARDED_BATCH_NORMALIZATION], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_training_pass_updating_a_leaf_the_params_lack_is_named():
    """apply_train's updates may only replace the layer's own params: a stray key is a ValueError naming it."""

    def init(key, shape, dtype=jnp.float32):
        return {"w": jnp.ones((shape[-1], 1), dtype), "m": jnp.zeros(())}

    def train(params, x, *, key=None, sample_weight=None):
        return x @ params["w"], {"m": jnp.mean(x), "stray": jnp.ones(())}

    stray = layers.base.layer(
        "Stray",
        init,
        lambda p, x, *, key=None, training=False: x @ p["w"],
        lambda p: jnp.zeros(()),
        lambda s: (1,),
        train=train,
        non_trainable=("m",),
    )
    model = fn.Sequential([stray])
    trainer = fn.compile(model, "mse", "sgd")
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 1), np.float32)
    with pytest.raises(ValueError, match=r"updates for leaves its params do not have: .*'stray'"):
        trainer.fit(model.init(jax.random.key(0), (3,)), x, y, batch_size=4, verbose=0, key=jax.random.key(1))
