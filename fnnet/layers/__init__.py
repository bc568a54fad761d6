"""Layers as pure functions: the ``Layer`` value, the layer kinds, configs and the registry.

See ``fnnet.layers.base`` for the ``Layer`` contract (``init``, ``apply``,
``apply_train``, ``penalty``, ``output_shape``, ``get_config``). Models
(``Sequential``, ``Model``) live in ``fnnet.models`` (``fn.Sequential``,
``fn.Model``), above the layers; ``fnnet.layers.Sequential`` still works
for one release, with a ``DeprecationWarning``.
"""

import warnings
from typing import Any

from fnnet.layers import base  # noqa: F401  (fnnet.layers.base: the Layer contract and its shape helpers)
from fnnet.layers.base import Layer, from_config, register, registered
from fnnet.layers.params import trainable_mask
from fnnet.layers.core import Activation, Dense, Dropout, Flatten, Identity, Maxout, Reshape
from fnnet.layers.merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from fnnet.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise
from fnnet.layers.normalization import BatchNormalization, LayerNormalization, weighted_moments
from fnnet.layers import symbolic  # noqa: F401  (fnnet.layers.symbolic: symbolic tensors and nodes)

__all__ = [
    "Activation",
    "Add",
    "AlphaDropout",
    "Average",
    "BatchNormalization",
    "Concatenate",
    "Dense",
    "Dropout",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "Identity",
    "Layer",
    "LayerNormalization",
    "Maximum",
    "Maxout",
    "Minimum",
    "Multiply",
    "Reshape",
    "Subtract",
    "from_config",
    "register",
    "registered",
    "trainable_mask",
    "weighted_moments",
]

MOVED: dict[str, tuple[str, Any]] = {}
"""Names that moved out of ``fnnet.layers``: name -> (where it lives now, the object). Their new homes fill it."""


def __getattr__(name: str) -> Any:
    """A moved name (``fnnet.layers.Sequential``) still resolves, with a ``DeprecationWarning`` naming its home."""
    if name in MOVED:
        home, value = MOVED[name]
        warnings.warn(
            f"fnnet.layers.{name} moved to {home}; the old path goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return value
    raise AttributeError(f"module 'fnnet.layers' has no attribute {name!r}")
