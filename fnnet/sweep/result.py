"""``SweepResult``: what ``fn.sweep.fit`` returns, and each variant's own model and params out of it."""

import functools
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import layers, saving
from fnnet.protocols import Params
from fnnet.state import TrainState
from fnnet.sweep import stacked
from fnnet.sweep.padding import Padding
from fnnet.sweep.shapes import LAYOUT, value_of

__all__ = ["SweepResult"]


class SweepResult(NamedTuple):
    """What a sweep returns.

    ``history[name]`` is a ``(K, epochs)`` array per metric (NaN after a
    variant stopped); ``states`` the stacked final ``TrainState``;
    ``best_index`` the variant with the best ``monitor`` value over its epochs.
    With shape axes (``units``, ``depth``, ...) ``states`` holds every
    variant padded to the largest network, and ``padding`` says where each
    sits: ``params(k)`` and ``model(k)`` are variant ``k``'s own.
    """

    variants: dict[str, np.ndarray]
    history: dict[str, np.ndarray]
    states: TrainState  # stacked: every leaf has a leading axis of K
    monitor: str
    best_index: int
    build: Callable[..., layers.Layer]
    padding: Padding | None = None

    @property
    def best_hyperparameters(self) -> dict[str, Any]:
        """The best variant's values, as Python values."""
        return {name: value_of(values, self.best_index) for name, values in self.variants.items()}

    def params(self, k: int) -> Params:
        """Variant ``k``'s params as an ordinary params tree of its own shapes."""
        params = jax.tree_util.tree_map(lambda leaf: leaf[k], self.states.params)
        return params if self.padding is None else self.padding.cut(k, params)

    def model(self, k: int) -> layers.Layer:
        """Variant ``k``'s model, built with its values."""
        names = stacked.builder_parameters(self.build)
        return self.build(**{n: value_of(v, k) for n, v in self.variants.items() if n in names})

    def save_model(self, path: str | os.PathLike[str], k: int | None = None) -> str:
        """Write variant ``k``'s model and params (the best variant by default) with ``fn.save_model``.

        Returns the path; ``fn.load_model(path)`` gives ``(model, params)`` back.
        """
        k = self.best_index if k is None else k
        return saving.save_model(path, self.model(k), self.params(k))

    def predict(self, x: Any) -> np.ndarray:
        """Ensemble prediction: the mean over the K variants of the model's outputs (probabilities)."""
        names = stacked.builder_parameters(self.build) if self.padding is None else self.padding.traced
        values: dict[str, Any] = stacked.as_arrays({n: v for n, v in self.variants.items() if n in names})
        build = self.build
        if self.padding is not None:
            values[LAYOUT] = jax.tree_util.tree_map(jnp.asarray, self.padding.layouts)
            build = self.padding.builder
        return np.asarray(_ensemble_mean(self.states.params, values, jnp.asarray(x), build=build))


@functools.partial(jax.jit, static_argnames=("build",))
def _ensemble_mean(params, model_values, x, *, build):
    return jnp.mean(jax.vmap(lambda p, values: build(**values).apply(p, x))(params, model_values), axis=0)
