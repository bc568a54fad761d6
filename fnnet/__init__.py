"""fnnet: feed-forward neural networks as pure JAX functions over pytrees.

The concept modules (``activations``, ``initializers``, ``layers``,
``losses``, ``regularizers``, ``metrics``, ``optimizers``) are plain
functions that ``jax.jit``, ``jax.grad`` and ``jax.vmap`` transform;
``testing`` checks gradients against finite differences; ``data``,
``augment`` and ``datasets`` prepare and provide the data; ``compile``
returns a ``Trainer`` with Keras's ``fit``/``evaluate``/``predict``;
``protocols`` says, for type checkers, what a layer, loss, metric,
callback and optimizer must be (the package ships ``py.typed``).
"""

from importlib.metadata import version

from fnnet import (
    activations,
    augment,
    callbacks,
    compilation,
    data,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    parallel,
    precision,
    protocols,
    regularizers,
    state,
    sweep,
    testing,
    training,
)
from fnnet.compilation import enable_compilation_cache
from fnnet.models import Input, Model, Sequential
from fnnet.training import Objective, Trainer, TrainState, compile, objective, train_step
from fnnet.saving import load_checkpoint, load_model, save_checkpoint, save_model

__version__ = version("fnnet")

__all__ = [
    "Input",
    "Model",
    "Objective",
    "Sequential",
    "TrainState",
    "Trainer",
    "activations",
    "augment",
    "callbacks",
    "compilation",
    "compile",
    "data",
    "enable_compilation_cache",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "objective",
    "optimizers",
    "parallel",
    "precision",
    "protocols",
    "regularizers",
    "save_checkpoint",
    "save_model",
    "load_checkpoint",
    "load_model",
    "state",
    "sweep",
    "testing",
    "training",
    "train_step",
]
