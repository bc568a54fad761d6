"""Configs: every layer and model round-trips through JSON and from_config; equality and hashing by config."""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fnnet as fn
from fnnet import initializers, layers, regularizers
from fnnet.layers import base


def layer_cases():
    """(layer, input_shape) for every kind, with non-default arguments where they exist."""
    return {
        "dense": (
            layers.Dense(
                3, "tanh", use_bias=False, kernel_initializer="he_normal", kernel_regularizer=regularizers.l2(1e-4)
            ),
            (4,),
        ),
        "dense_regularized": (
            layers.Dense(
                2,
                fn.activations.relu,
                bias_initializer=initializers.random_normal(0.1, 0.2),
                bias_regularizer=regularizers.l1_l2(0.1, 0.2),
                kernel_regularizer=regularizers.l1(0.3, where=regularizers.every_leaf),
                name="head",
            ),
            (3,),
        ),
        "maxout": (layers.Maxout(3, 2, kernel_regularizer=regularizers.l2(0.1)), (4,)),
        "dropout": (layers.Dropout(0.3), (4,)),
        "activation": (layers.Activation("softmax"), (4,)),
        "flatten": (layers.Flatten(), (2, 3, 4)),
        "reshape": (layers.Reshape((3, -1)), (2, 6)),
        "identity": (layers.Identity(name="same"), (5,)),
        "batch_normalization": (
            layers.BatchNormalization(
                axis=1, momentum=0.9, epsilon=1e-5, center=False, gamma_regularizer=regularizers.l2(0.1)
            ),
            (3, 2),
        ),
        "layer_normalization": (layers.LayerNormalization(scale=False, beta_initializer="normal"), (4,)),
        "gaussian_noise": (layers.GaussianNoise(0.2), (4,)),
        "gaussian_dropout": (layers.GaussianDropout(0.2), (4,)),
        "alpha_dropout": (layers.AlphaDropout(0.1), (4,)),
        "sequential": (
            fn.Sequential(
                [
                    layers.Flatten(),
                    layers.Dense(5, "relu"),
                    layers.Dropout(0.2),
                    fn.Sequential([layers.Dense(3)], name="inner"),
                ]
            ),
            (2, 3),
        ),
        # merges take a list of inputs (shapes that broadcast, for the elementwise ones)
        "add": (layers.Add(), [(4,), (4,), (4,)]),
        "subtract": (layers.Subtract(name="difference"), [(2, 3), (1, 3)]),
        "multiply": (layers.Multiply(), [(2, 3), (2, 1)]),
        "average": (layers.Average(), [(4,), (4,), (4,)]),
        "maximum": (layers.Maximum(name="larger"), [(4,), (4,)]),
        "minimum": (layers.Minimum(), [(2, 3), (2, 3)]),
        "concatenate": (layers.Concatenate(axis=1, name="join"), [(2, 3), (4, 3)]),
        "input_layer": (fn.Input((4,), name="pixels").input_layer, (4,)),
        "functional": (two_input_model(), [(3,), (2,)]),
    }


def two_input_model():
    a, b = fn.Input((3,), name="a"), fn.Input((2,), name="b")
    h = layers.Concatenate()([layers.Dense(4, "tanh")(a), b])
    return fn.Model([a, b], layers.BatchNormalization(momentum=0.5)(h), name="two_inputs")


CASES = layer_cases()


def rebuilt(layer):
    return layers.from_config(json.loads(json.dumps(layer.get_config())))


def batch_for(input_shape, key, n=6):
    """A random batch of ``n`` samples of ``input_shape``, or a list of them for a list of shapes."""
    if isinstance(input_shape, list):
        return [jax.random.normal(jax.random.fold_in(key, i), (n, *shape)) for i, shape in enumerate(input_shape)]
    return jax.random.normal(key, (n, *input_shape))


def test_every_kind_of_fnnet_layer_has_a_round_trip_case():
    own = {kind for kind in layers.registered() if kind in ("Functional", "InputLayer") or hasattr(layers, kind)}
    assert own - {layer.kind for layer, _ in CASES.values()} == set()


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trips_through_json_to_an_equal_layer_with_equal_outputs(name):
    layer, input_shape = CASES[name]
    config = layer.get_config()
    assert set(config) == {"class_name", "config"} and config["class_name"] == layer.kind
    other = rebuilt(layer)
    assert other == layer and hash(other) == hash(layer) and other is not layer
    assert other.get_config() == config
    params = layer.init(jax.random.key(0), input_shape)
    x = batch_for(input_shape, jax.random.key(1))
    jax.tree_util.tree_map(np.testing.assert_array_equal, other.init(jax.random.key(0), input_shape), params)
    np.testing.assert_array_equal(other.apply(params, x), layer.apply(params, x))
    np.testing.assert_array_equal(other.penalty(params), layer.penalty(params))
    key = jax.random.key(2)
    np.testing.assert_array_equal(
        other.apply(params, x, key=key, training=True), layer.apply(params, x, key=key, training=True)
    )


def test_dense_config_uses_keras_names():
    config = layers.Dense(64, "relu", kernel_regularizer=regularizers.l2(1e-4)).get_config()
    assert config == {
        "class_name": "Dense",
        "config": {
            "units": 64,
            "activation": "relu",
            "use_bias": True,
            "kernel_initializer": "glorot_uniform",
            "bias_initializer": "zeros",
            "kernel_regularizer": {"class_name": "L2", "config": {"l2": 1e-4}},
            "bias_regularizer": None,
            "name": None,
        },
    }
    assert layers.Dense(2).get_config()["config"]["activation"] == "linear"
    assert layers.Dense(2, fn.activations.relu) == layers.Dense(2, "relu")
    assert layers.Dense(2, kernel_initializer=initializers.he_uniform) == layers.Dense(
        2, kernel_initializer="he_uniform"
    )


def test_different_arguments_are_unequal():
    assert layers.Dense(2) != layers.Dense(3)
    assert layers.Dense(2, name="a") != layers.Dense(2)
    assert layers.Dense(2, kernel_regularizer=regularizers.l2(0.1)) != layers.Dense(
        2, kernel_regularizer=regularizers.l2(0.2)
    )
    assert fn.Sequential([layers.Dense(2)]) != fn.Sequential([layers.Dense(2), layers.Dense(2)])
    assert layers.Dropout(0.5) != layers.Activation("relu")


def test_a_bare_callable_makes_get_config_raise_naming_the_argument():
    layer = layers.Dense(2, activation=lambda z: z * 2, name="doubler")
    with pytest.raises(TypeError, match=r"'doubler' \(Dense\).*'activation'.*bare callable"):
        layer.get_config()
    with pytest.raises(TypeError, match=r"'kernel_initializer'.*bare callable"):
        layers.Dense(2, kernel_initializer=lambda key, shape, dtype=jnp.float32: jnp.zeros(shape, dtype)).get_config()
    with pytest.raises(TypeError, match=r"layers\[1\].*'activation'"):
        fn.Sequential([layers.Dense(2), layers.Activation(jnp.sin)]).get_config()
    assert layer.config_json is None
    assert layer == layer and layer != layers.Dense(2, activation=lambda z: z * 2, name="doubler")
    assert hash(layer) == hash(layer)


def test_from_config_knows_only_the_registry():
    with pytest.raises(ValueError, match=r"unknown layer class_name 'os.system'.*Dense.*Sequential"):
        layers.from_config({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        layers.from_config({"module": "keras.layers", "class_name": "Dense"})


def test_register_a_users_own_kind():
    def Scale(factor, *, name=None):
        def apply(params, x, *, key=None, training=False):
            return factor * x

        return layers.Layer(
            lambda key, shape, dtype=jnp.float32: {},
            apply,
            lambda p: jnp.asarray(0.0),
            lambda shape: tuple(shape),
            "Scale",
            name,
            arguments={"factor": factor, "name": name},
            config_json=json.dumps({"class_name": "Scale", "config": {"factor": factor, "name": name}}, sort_keys=True),
        )

    layers.register("Scale", Scale)
    model = fn.Sequential([layers.Dense(2), Scale(3.0)])
    again = rebuilt(model)
    assert again.get_config() == model.get_config()
    assert again != model  # a user's functions are new objects: equal configs alone do not vouch for them
    params = model.init(jax.random.key(0), (2,))
    np.testing.assert_array_equal(again.apply(params, jnp.ones((1, 2))), model.apply(params, jnp.ones((1, 2))))
    assert "Scale" in layers.registered()


def Scaled(factor, name=None):
    """A user's layer ``y = factor * x`` whose config leaves ``factor`` out (the defect of issue 18)."""

    def apply(params, x, *, key=None, training=False):
        return factor * x

    return base.layer("Scaled", base.no_params, apply, base.no_penalty, base.as_shape, name=name)


def test_user_layers_closing_over_values_outside_their_config_never_share_a_program():
    one, hundred = fn.Sequential([Scaled(1.0)]), fn.Sequential([Scaled(100.0)])
    assert one.get_config() == hundred.get_config() and hash(one) == hash(hundred)
    assert one != hundred
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    first = fn.compile(one, loss="mse", optimizer="sgd").predict({}, x)
    second = fn.compile(hundred, loss="mse", optimizer="sgd").predict({}, x)
    np.testing.assert_array_equal(first, x)
    np.testing.assert_array_equal(second, 100 * x)


def test_a_users_layer_built_from_the_same_functions_shares_programs():
    cached = functools.lru_cache(Scaled)  # one Layer (one set of functions) per factor: the documented recipe
    assert cached(2.0) is cached(2.0) and cached(2.0) != cached(3.0)
    assert fn.Sequential([cached(2.0)]) == fn.Sequential([cached(2.0)])
    assert layers.Dense(3, "relu") == layers.Dense(3, "relu")  # fnnet's own layers: the config says everything


def test_regularizers_are_values_with_configs():
    assert regularizers.l2(0.1) == regularizers.l2(0.1) and hash(regularizers.l2(0.1)) == hash(regularizers.l2(0.1))
    assert regularizers.l2(0.1) != regularizers.l1(0.1)
    assert regularizers.l1_l2(0.1, 0.2).get_config() == {"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}}
    for reg in (regularizers.l1(0.3), regularizers.l2(0.2, where=regularizers.every_leaf), regularizers.l1_l2(0.1)):
        assert regularizers.get(json.loads(json.dumps(reg.get_config()))) == reg


def test_jit_with_a_model_as_static_argument_does_not_retrace_for_an_equal_rebuilt_model():
    traces = []

    def forward(model, params, x):
        traces.append(1)
        return model.apply(params, x)

    jitted = jax.jit(forward, static_argnums=0)
    build = lambda: fn.Sequential(
        [
            layers.Dense(3, "relu", kernel_regularizer=regularizers.l2(0.1)),  # noqa: E731
            layers.Dense(1),
        ]
    )
    model = build()
    params = model.init(jax.random.key(0), (2,))
    jitted(model, params, jnp.ones((4, 2)))
    jitted(build(), params, jnp.ones((4, 2)))
    jitted(rebuilt(model), params, jnp.ones((4, 2)))
    assert len(traces) == 1
    jitted(fn.Sequential([layers.Dense(3, "tanh"), layers.Dense(1)]), params, jnp.ones((4, 2)))
    assert len(traces) == 2


def test_a_model_is_a_jit_argument_with_no_leaves():
    traces = []

    @jax.jit
    def forward(model, params, x):
        traces.append(1)
        return model.apply(params, x)

    build = lambda: fn.Sequential([layers.Dense(3, "relu"), layers.Dense(1)])  # noqa: E731
    model = build()
    params = model.init(jax.random.key(0), (2,))
    x = jnp.ones((4, 2))
    np.testing.assert_array_equal(forward(model, params, x), model.apply(params, x))
    forward(build(), params, x)
    assert len(traces) == 1  # an equal model is the same static value
    assert jax.tree_util.tree_leaves(model) == [] and jax.tree_util.tree_leaves(
        (model, params)
    ) == jax.tree_util.tree_leaves(params)
    inputs = fn.Input((2,))
    functional = fn.Model(inputs, layers.Dense(1)(inputs))
    np.testing.assert_array_equal(forward(functional, functional.init(0), x), functional.apply(functional.init(0), x))
