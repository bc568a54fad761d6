"""Bad functional graphs and bad input to them: each a clear error naming the layer, node or tensor at fault."""

import copy
import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fnnet as fn
from fnnet import layers


def chain():
    a = fn.Input((3,), name="a")
    h = layers.Dense(4, "tanh", name="d1")(a)
    h = layers.Dense(4, "tanh", name="d2")(h)
    return fn.Model(a, layers.Dense(2, name="d3")(h))


def edited(model, edit):
    """``model``'s config after ``edit(config, {layer name: its entry})``."""
    config = copy.deepcopy(model.get_config())
    edit(config, {entry["name"]: entry for entry in config["config"]["layers"]})
    return config


def take(entry, layer_name, node_index=0):
    """Make the first node of the config ``entry`` take the output of ``layer_name``'s node ``node_index``."""
    entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = [layer_name, node_index, 0]


def test_a_cycle_in_a_config_raises_naming_its_layers_instead_of_looping():
    model = chain()
    two = edited(model, lambda config, entries: take(entries["d1"], "d2"))  # d1 <- d2 <- d1
    with pytest.raises(
        ValueError,
        match=r"form a cycle.*layer 'd1' \(node 0\) <- layer 'd2' \(node 0\) <- "
        r"layer 'd1' \(node 0\)",
    ):
        layers.from_config(two)
    itself = edited(model, lambda config, entries: take(entries["d2"], "d2"))
    with pytest.raises(ValueError, match=r"form a cycle.*layer 'd2' \(node 0\) <- layer 'd2' \(node 0\)"):
        layers.from_config(itself)
    assert layers.from_config(json.loads(json.dumps(model.get_config()))) == model  # the unedited one loads


def test_a_config_naming_a_layer_or_node_it_lacks_raises_naming_both():
    model = chain()
    cases = {
        r"layer 'd2' \(node 0\) takes a tensor of the unknown layer 'd9'": lambda config, entries: take(
            entries["d2"], "d9"
        ),
        r"layer 'd2' \(node 0\) takes node 1 of layer 'd1', which has 1 node\(s\)": lambda config, entries: take(
            entries["d2"], "d1", 1
        ),
        r"outputs name the unknown layer 'd9'": lambda config, entries: config["config"].update(
            output_layers=["d9", 0, 0]
        ),
        r"outputs take node 0 of layer 'd3', which has 0 node\(s\)":  # a layer that is never called
        lambda config, entries: entries["d3"].update(inbound_nodes=[]),
        r"two layers named 'd1'": lambda config, entries: config["config"]["layers"].append(
            copy.deepcopy(entries["d1"])
        ),
        r"unknown layer class_name 'Conv9D'": lambda config, entries: entries["d2"].update(class_name="Conv9D"),
    }
    for message, edit in cases.items():
        with pytest.raises(ValueError, match=message):
            layers.from_config(edited(model, edit))
    bad_tensor = edited(
        model,
        lambda config, entries: entries["d2"]["inbound_nodes"][0]["args"][0]["config"].update(
            keras_history=["d1", 0, 3]
        ),
    )
    with pytest.raises(ValueError, match=r"output 3 of layer 'd1' \(node 0\), which has 1 output"):
        layers.from_config(bad_tensor)


def test_a_graph_disconnected_from_the_models_inputs_names_the_layer_and_the_input():
    a, b = fn.Input((3,), name="a"), fn.Input((3,), name="b")
    with pytest.raises(
        ValueError,
        match=r"graph disconnected: layer 'join' \(Add\) takes .*from 'b'.*not among "
        r"the Model's inputs \[.*from 'a'",
    ):
        fn.Model(a, layers.Add(name="join")([a, b]))
    with pytest.raises(ValueError, match=r"graph disconnected: an output of the Model is .*from 'b'"):
        fn.Model(a, [layers.Dense(2)(a), b])
    with pytest.raises(ValueError, match=r"layer 'head' \(Dense\) takes .*from 'an unnamed Input'"):
        fn.Model(a, layers.Dense(2, name="head")(fn.Input((3,))))
    unused = fn.Model([a, b], layers.Dense(2)(a))  # an Input that nothing uses is allowed, as in Keras
    params = unused.init(jax.random.key(0))
    assert unused.apply(params, [jnp.ones((2, 3)), jnp.zeros((2, 3))]).shape == (2, 2)


def test_a_symbolic_tensor_given_where_arrays_or_shapes_belong_is_a_type_error():
    model = chain()
    params = model.init(jax.random.key(0))
    tensor = fn.Input((3,), name="probe")
    hidden = layers.Dense(3, name="hidden")(tensor)
    for wrong in (tensor, hidden, [tensor]):
        with pytest.raises(
            TypeError,
            match=r"Model.apply takes arrays, got the symbolic tensor "
            r"<SymbolicTensor shape=\(None, 3\) from '(probe|hidden)'>",
        ):
            model.apply(params, wrong)
    with pytest.raises(TypeError, match="Model.apply takes arrays"):  # a stateless model's training pass is apply
        model.apply_train(params, tensor)
    with pytest.raises(TypeError, match=r"Model.init takes a key.*symbolic tensor.*model.init\(key\)"):
        model.init(jax.random.key(0), tensor)
    stack = fn.Sequential([layers.Dense(2), layers.BatchNormalization()], name="stack")
    stack_params = stack.init(jax.random.key(0), (3,))
    with pytest.raises(TypeError, match="Sequential 'stack'.apply takes arrays"):
        stack.apply(stack_params, tensor)
    with pytest.raises(TypeError, match="Sequential 'stack'.apply_train takes arrays"):
        stack.apply_train(stack_params, tensor)
    with pytest.raises(TypeError, match=r"Sequential 'stack'.init takes the input shape.*call it: model\(tensor\)"):
        stack.init(jax.random.key(0), tensor)
    dense = layers.Dense(2)
    with pytest.raises(TypeError, match="(?i)symbolic"), warnings.catch_warnings():  # any layer: arrays only
        warnings.simplefilter("ignore", DeprecationWarning)  # jnp.ndim of a non-array, an error in a later JAX
        dense.apply(dense.init(jax.random.key(0), (3,)), tensor)
    with pytest.raises(TypeError, match="is symbolic"):
        np.asarray(tensor)
    trainer = fn.compile(model, "mse", "sgd")
    with pytest.raises(TypeError, match="is symbolic"):
        trainer.predict(params, tensor)
    assert stack(tensor).shape == (2,)  # what to do instead: call the model on the tensor


def test_a_graph_deeper_than_pythons_recursion_limit_builds_and_round_trips():
    inputs = fn.Input((2,))
    h = inputs
    for _ in range(1500):
        h = layers.Activation("tanh")(h)
    model = fn.Model(inputs, layers.Dense(1, name="head")(h))
    assert len(model.layers) == 1501 and list(model.init(jax.random.key(0))) == ["head"]
    assert model.layers[0][0] == "activation" and model.layers[-2][0] == "activation_1499"
    assert layers.from_config(model.get_config()) == model
