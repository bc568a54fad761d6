"""The benchmark workloads, shared by every contender so all train the same thing.

W1: MLP 784-512-512-10 (relu, softmax output), categorical cross-entropy,
    Adam (lr 1e-3), batch 128, 60,000 synthetic samples.
W2: the Playground-sized MLP 2-8-8-1 (tanh everywhere), mean squared error
    against targets in {-1, 1}, SGD (lr 0.03), batch 10, 10,000 samples:
    per-step overhead dominates.
W1-wide: the GPU variant of W1, MLP 784-4096-4096-10, batch 1024: matmul throughput dominates.

``fnnet_model`` and ``fnnet_optimizer`` build a workload's model and optimizer the fnnet way;
``limit.py`` builds the same by hand.
"""

from typing import NamedTuple

import numpy as np


class Workload(NamedTuple):
    name: str
    sizes: tuple  # input, hidden..., output
    hidden_activation: str  # "relu" or "tanh"
    output_activation: str  # "softmax" or "tanh"
    loss: str  # "categorical_crossentropy" (targets one-hot) or "mse" (targets in {-1, 1})
    optimizer: str  # "adam" or "sgd"
    learning_rate: float
    batch_size: int
    samples: int


W1 = Workload("W1", (784, 512, 512, 10), "relu", "softmax", "categorical_crossentropy", "adam", 1e-3, 128, 60_000)
W2 = Workload("W2", (2, 8, 8, 1), "tanh", "tanh", "mse", "sgd", 0.03, 10, 10_000)
W1_WIDE = Workload(
    "W1-wide", (784, 4096, 4096, 10), "relu", "softmax", "categorical_crossentropy", "adam", 1e-3, 1024, 60_000
)
WORKLOADS = {"W1": W1, "W2": W2}

_KERAS_DEFAULT_LR = {"sgd": 0.01, "adam": 0.001}


def fnnet_model(workload):
    """The workload's MLP as an ``fn.Sequential`` of ``Dense`` layers (Glorot-uniform kernels, zero biases)."""
    import fnnet as fn

    hidden = [fn.layers.Dense(n, workload.hidden_activation) for n in workload.sizes[1:-1]]
    return fn.Sequential([*hidden, fn.layers.Dense(workload.sizes[-1], workload.output_activation)])


def fnnet_optimizer(workload):
    """The optimizer as fnnet users pass it: the Keras name when the learning rate is Keras's default
    (W1: ``"adam"``), else ``fn.optimizers.get(name, learning_rate=...)`` (W2: SGD at 0.03)."""
    import fnnet as fn

    if _KERAS_DEFAULT_LR.get(workload.optimizer) == workload.learning_rate:
        return workload.optimizer
    return fn.optimizers.get(workload.optimizer, learning_rate=workload.learning_rate)


def make_data(workload, seed=0):
    """Synthetic float32 ``(x, y)``: W1 a random linear 10-class problem (one-hot y), W2 a noisy circle (y = +-1)."""
    rng = np.random.default_rng(seed)
    n, d, k = workload.samples, workload.sizes[0], workload.sizes[-1]
    x = rng.normal(size=(n, d)).astype(np.float32)
    if workload.loss == "categorical_crossentropy":
        labels = np.argmax(x @ rng.normal(size=(d, k)), axis=1)
        return x, np.eye(k, dtype=np.float32)[labels]
    inside = np.linalg.norm(x, axis=1) < 1.2
    return x, np.where(inside, 1.0, -1.0).astype(np.float32)[:, None]
