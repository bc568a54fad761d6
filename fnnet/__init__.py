"""fnnet: feed-forward neural networks as pure JAX functions over pytrees.

The concept modules (``activations``, ``initializers``, ``layers``,
``losses``, ``regularizers``, ``metrics``, ``optimizers``) are plain
functions that ``jax.jit``, ``jax.grad`` and ``jax.vmap`` transform;
``testing`` checks gradients against finite differences; ``data``,
``augment`` and ``datasets`` prepare and provide the data.
"""

from fnnet import (
    activations,
    augment,
    data,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    regularizers,
    testing,
)
from fnnet.layers import Sequential
from fnnet.regularizers import objective

__version__ = "0.1.0"

__all__ = [
    "Sequential",
    "activations",
    "augment",
    "data",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "objective",
    "optimizers",
    "regularizers",
    "testing",
]
