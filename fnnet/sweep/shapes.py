"""Sweep axes that change the network's shape (``units``, ``depth``, per-layer widths) or its kind (``activation``).

A builder argument is *static* when its values are not numbers
(``activation="tanh"``, a tuple of widths) or the model cannot be built
with it traced (``Dense(units)`` needs an int, ``range(depth)`` a number).
Every variant is then padded into one largest network, built with each
numeric static axis at its largest value, and masked so that it computes
exactly its own network:

- variant ``k``'s params sit in the leading corner of the largest params
  (``W[:in_k, :out_k]``), 0 elsewhere, and the model sees ``params * mask_k``:
  a masked unit sends nothing to the next layer and its weights get 0
  gradient, so they stay 0 under every elementwise optimizer (SGD,
  momentum, Adam, AdamW, RMSprop, ...); sums over entries (L1, L2, global
  norms) see only the variant's own units;
- a layer of the largest ``Sequential`` that a variant lacks (a smaller
  ``depth``) passes its input through (``where(present_k, layer(x), x)``):
  it must keep the padded shape;
- each value of the non-numeric axes gives its own largest network: a sweep
  trains each value's variants as their own program; where variants of
  several values share one (the survivors of successive halving),
  ``lax.switch`` chooses per variant (under ``vmap`` every choice is computed);
- each variant is initialized as its own network (true fan-in and fan-out,
  its own keys), and ``cut`` takes it back out.

Every step costs the largest network's (times the number of choices under ``lax.switch``).
``plan`` runs each distinct network against its padded form on a few
samples and refuses one whose padded units would mix with the real ones (a
softmax or ``LayerNormalization`` inside the network). Dropout draws its
masks over the padded width, from the key of the layer's position in the
largest network: each unit of a variant drops independently at its rate, as
when trained alone, but not with the same bits.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import layers
from fnnet.models import Sequential

LAYOUT = "padding_layout"  # the keyword the padded builder takes each variant's Layout under

Path = tuple[str, ...]


def value_of(values: np.ndarray, k: int) -> Any:
    """Variant ``k``'s value of one axis as a Python value (a tuple for a per-layer list)."""
    value = values[k]
    if isinstance(value, (np.ndarray, list, tuple)):
        return tuple(np.asarray(value).tolist())
    return value.item() if isinstance(value, np.generic) else value


def is_numeric(values: np.ndarray) -> bool:
    """Whether an axis holds plain numbers (not bools, strings or per-layer lists)."""
    return values.ndim == 1 and np.issubdtype(values.dtype, np.number)


@functools.lru_cache(maxsize=256)
def traceable(build: Callable[..., layers.Layer], concrete: tuple, name: str, input_shape: tuple, dtype: str) -> bool:
    """Whether the model builds, initializes and runs with ``name`` traced (the others at ``concrete``'s values)."""

    def run(value):
        model = build(**{**dict(concrete), name: value})
        params = model.init(jax.random.key(0), input_shape, dtype)
        return model.apply(params, jnp.zeros((1, *input_shape), dtype))

    value = dict(concrete)[name]
    try:
        jax.eval_shape(run, jnp.asarray(value, jnp.float32 if isinstance(value, float) else None))
    except Exception:  # any failure: the axis stays concrete, and building each variant reports a real error
        return False
    return True


def static_names(build: Callable[..., layers.Layer], model_values: dict[str, np.ndarray], input_shape, dtype) -> list:
    """The builder axes that must stay concrete: non-numeric ones, and numeric ones the builder cannot trace."""
    concrete = tuple((n, value_of(v, 0)) for n, v in model_values.items())
    return [
        name
        for name, values in model_values.items()
        if not is_numeric(values) or not traceable(build, concrete, name, tuple(input_shape), str(np.dtype(dtype)))
    ]


class Layout(NamedTuple):
    """Where one variant sits in the padded program (stacked over the variants of a sweep)."""

    sizes: Any  # shaped like the padded params: each leaf the variant's own shape, an int32 vector
    present: Any  # (layers,) bool: which layers of the largest Sequential the variant has
    choice: Any  # int32: which largest network (one per value of the non-numeric axes)


def _leaf_mask(leaf: jax.Array, size: jax.Array) -> jax.Array:
    """1 on ``leaf[:size[0], :size[1], ...]``, 0 elsewhere."""
    inside = [jax.lax.broadcasted_iota(jnp.int32, leaf.shape, axis) < size[axis] for axis in range(leaf.ndim)]
    return functools.reduce(jnp.logical_and, inside, jnp.ones(leaf.shape, bool)).astype(leaf.dtype)


def _masked(model: layers.Layer, sizes: Any) -> layers.Layer:
    """``model`` seeing ``params * mask`` in every pass: padded entries neither act nor learn."""

    def mask(params):
        return jax.tree_util.tree_map(lambda leaf, size: leaf * _leaf_mask(leaf, size), params, sizes)

    def apply(params, x, *, key=None, training=False):
        return model.apply(mask(params), x, key=key, training=training)

    def train(params, x, *, key=None, sample_weight=None):
        return model.apply_train(mask(params), x, key=key, sample_weight=sample_weight)

    return model._replace(
        apply=apply, train=train, penalty=lambda params: model.penalty(mask(params)), arguments=None, config_json=None
    )


def _gate(child: layers.Layer, name: str, present: jax.Array) -> layers.Layer:
    """``child`` under the name ``name``, passing its input through where ``present`` is False."""

    def apply(params, x, *, key=None, training=False):
        return jnp.where(present, child.apply(params, x, key=key, training=training), x)

    def train(params, x, *, key=None, sample_weight=None):
        y, updates = child.apply_train(params, x, key=key, sample_weight=sample_weight)
        return jnp.where(present, y, x), updates

    return child._replace(apply=apply, train=train, name=name, arguments=None, config_json=None)


def _switch(models: Sequence[layers.Layer], choice: jax.Array) -> layers.Layer:
    """``models[choice]`` in every pass (the models share one params tree)."""

    def apply(params, x, *, key=None, training=False):
        branches = [functools.partial(m.apply, key=key, training=training) for m in models]
        return jax.lax.switch(choice, branches, params, x)

    def train(params, x, *, key=None, sample_weight=None):
        branches = [functools.partial(m.apply_train, key=key, sample_weight=sample_weight) for m in models]
        return jax.lax.switch(choice, branches, params, x)

    def penalty(params):
        return jax.lax.switch(choice, [m.penalty for m in models], params)

    return models[0]._replace(apply=apply, train=train, penalty=penalty, arguments=None, config_json=None)


class Padded(NamedTuple):
    """The padded program's builder: ``Padded(...)(padding_layout=layout, **traced)`` is the masked largest network.

    ``largest[c]`` holds the static values of choice ``c``'s largest network;
    ``gated[c]`` which of its layers some variant lacks.
    """

    build: Callable[..., layers.Layer]
    largest: tuple[tuple[tuple[str, Any], ...], ...]
    gated: tuple[tuple[bool, ...], ...]

    def largest_model(self, choice: int, traced: dict[str, Any], present: jax.Array) -> layers.Layer:
        """Choice ``choice``'s largest network, the layers some variant lacks gated by ``present``."""
        model = self.build(**dict(self.largest[choice]), **traced)
        gated = self.gated[choice]
        if not any(gated):
            return model
        children = [_gate(c, n, present[i]) if gated[i] else c for i, (n, c) in enumerate(model.layers)]
        return Sequential(children, name=model.name)

    def __call__(self, *, padding_layout: Layout, **traced: Any) -> layers.Layer:
        models = [
            _masked(self.largest_model(c, traced, padding_layout.present), padding_layout.sizes)
            for c in range(len(self.largest))
        ]
        return models[0] if len(models) == 1 else _switch(models, padding_layout.choice)
