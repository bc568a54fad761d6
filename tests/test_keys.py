"""An int seed works wherever a key goes, meaning ``jax.random.key(seed)``; anything else is refused by name."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fnnet as fn
from fnnet import layers


def same(a, b):
    return jax.tree_util.tree_all(jax.tree_util.tree_map(lambda u, v: bool(jnp.array_equal(u, v)), a, b))


def model():
    return fn.Sequential(
        [
            layers.Dense(4, "relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.5),
            layers.GaussianNoise(0.1),
            layers.Dense(2),
        ]
    )


def test_init_and_apply_take_an_int_seed():
    net = model()
    params = net.init(0, (3,))
    assert same(params, net.init(jax.random.key(0), (3,)))
    assert same(layers.Dense(3).init(5, (2,)), layers.Dense(3).init(jax.random.key(5), (2,)))
    x = np.ones((6, 3), np.float32)
    assert same(net.apply(params, x, key=1, training=True), net.apply(params, x, key=jax.random.key(1), training=True))
    assert same(net.apply_train(params, x, key=np.int32(1)), net.apply_train(params, x, key=jax.random.key(1)))
    inputs = fn.Input((3,))
    functional = fn.Model(inputs, layers.Dropout(0.5)(layers.Dense(2)(inputs)))
    assert same(functional.init(7), functional.init(jax.random.key(7)))
    p = functional.init(7)
    assert same(
        functional.apply(p, x, key=2, training=True), functional.apply(p, x, key=jax.random.key(2), training=True)
    )


def test_fit_data_datasets_and_sweeps_take_an_int_seed():
    x = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    trainer = fn.compile(fn.Sequential([layers.Dense(1, "sigmoid")]), "binary_crossentropy", "sgd")
    params = trainer.model.init(0, (3,))
    by_int, _ = trainer.fit(params, x, y, epochs=2, batch_size=4, key=3, verbose=0)
    by_key, _ = trainer.fit(params, x, y, epochs=2, batch_size=4, key=jax.random.key(3), verbose=0)
    assert same(by_int.params, by_key.params)
    assert same(fn.training.init_state(params, trainer.optimizer, 4).key, jax.random.key(4))
    assert same(fn.data.train_val_test_split(x, y, key=5), fn.data.train_val_test_split(x, y, key=jax.random.key(5)))
    assert same(
        list(fn.data.batches(x, batch_size=5, key=6)), list(fn.data.batches(x, batch_size=5, key=jax.random.key(6)))
    )
    np.testing.assert_array_equal(
        fn.datasets.playground.make("xor", 20, key=7)[0],
        fn.datasets.playground.make("xor", 20, key=jax.random.key(7))[0],
    )
    assert (
        fn.sweep.random_search(8, 3, learning_rate=("uniform", 0.1, 1.0))["learning_rate"].tolist()
        == fn.sweep.random_search(jax.random.key(8), 3, learning_rate=("uniform", 0.1, 1.0))["learning_rate"].tolist()
    )


@pytest.mark.parametrize("bad", ["0", 1.5, True, None, np.zeros(3), jnp.zeros((2,), jnp.float32)])
def test_anything_else_is_refused_naming_the_argument(bad):
    net = model()
    with pytest.raises(TypeError, match=r"key must be a jax.random.key\(seed\) or an int seed, got"):
        net.init(bad, (3,))
    if bad is not None:  # apply without a key is inference
        with pytest.raises(TypeError, match="key must be"):
            net.apply(net.init(0, (3,)), np.ones((2, 3), np.float32), key=bad, training=True)
    with pytest.raises(TypeError, match="key must be"):
        fn.data.train_val_test_split(np.ones((10, 2)), np.ones(10), key=bad)
