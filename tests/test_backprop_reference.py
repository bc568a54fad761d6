"""The seed lesson's network: hand-written backpropagation (the delta rule) vs ``jax.grad``.

The reference lives here, in the tests, never in the library: the library's
only backpropagation is ``jax.grad``, and this checks it against the lesson.
"""

import jax
import numpy as np
import pytest

import fnnet as fn
from fnnet import layers


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def delta_rule_gradients(weights, biases, x, y):
    """Backpropagation in NumPy for sigmoid hidden layers, softmax output and mean cross-entropy.

    Column convention of the lesson: a_0 = x^T, z_{l+1} = W_l a_l + b_l.
    Output delta (softmax with cross-entropy): delta_L = (a_L - y) / N;
    hidden deltas: delta_l = (W_l^T delta_{l+1}) * a'(z_l) with a' = a (1 - a);
    dC/dW_l = delta_{l+1} a_l^T and dC/db_l = sum over samples of delta_{l+1}.
    """
    n = x.shape[0]
    activations = [x.T]
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = w @ activations[-1] + b[:, None]
        if i < len(weights) - 1:
            activations.append(sigmoid(z))
        else:
            e = np.exp(z - z.max(axis=0))
            activations.append(e / e.sum(axis=0))
    delta = (activations[-1] - y.T) / n
    grads_w, grads_b = [], []
    for layer in reversed(range(len(weights))):
        grads_w.insert(0, delta @ activations[layer].T)
        grads_b.insert(0, delta.sum(axis=1))
        if layer > 0:
            a = activations[layer]
            delta = (weights[layer].T @ delta) * a * (1 - a)
    return grads_w, grads_b


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delta_rule_equals_jax_grad_in_float64(seed):
    sizes = [6, 5, 4, 3]  # input, two sigmoid hidden layers, softmax output
    model = fn.Sequential([layers.Dense(5, "sigmoid"), layers.Dense(4, "sigmoid"), layers.Dense(3, "softmax")])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, sizes[0]))
    y = np.eye(3)[rng.integers(0, 3, size=8)]
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(
            lambda v: np.asarray(v, np.float64), model.init(jax.random.key(seed), (sizes[0],))
        )
        params["dense"]["bias"] = rng.normal(size=5)  # non-zero biases exercise dC/db too
        loss = lambda p: fn.losses.categorical_crossentropy(y, model.apply(p, x))  # noqa: E731
        grads = jax.grad(loss)(params)
    names = ["dense", "dense_1", "dense_2"]
    # the library stores kernels as (in, out); the lesson's W_l is (out, in)
    weights = [np.asarray(params[n]["kernel"]).T for n in names]
    biases = [np.asarray(params[n]["bias"]) for n in names]
    grads_w, grads_b = delta_rule_gradients(weights, biases, x, y)
    for name, gw, gb in zip(names, grads_w, grads_b):
        np.testing.assert_allclose(np.asarray(grads[name]["kernel"]), gw.T, rtol=0, atol=1e-10)
        np.testing.assert_allclose(np.asarray(grads[name]["bias"]), gb, rtol=0, atol=1e-10)
        assert np.abs(gw).max() > 1e-4  # the comparison is not between two zeros
