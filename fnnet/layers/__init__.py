"""Layers as pure functions: the ``Layer`` value, the layer kinds, configs and the registry.

See ``fnnet.layers.base`` for the ``Layer`` contract (``init``, ``apply``,
``apply_train``, ``penalty``, ``output_shape``, ``get_config``). Models
(``Sequential``, ``Model``) live in ``fnnet.models``; ``Sequential`` is
also here, as in Keras.
"""

from fnnet.layers import base  # noqa: F401  (fnnet.layers.base: the Layer contract and its shape helpers)
from fnnet.layers.base import Layer, from_config, register, registered, trainable_mask
from fnnet.layers.core import Activation, Dense, Dropout, Flatten, Identity, Maxout, Reshape
from fnnet.layers.merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from fnnet.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise
from fnnet.layers.normalization import BatchNormalization, LayerNormalization, weighted_moments
from fnnet.models import Sequential

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
    "Sequential",
    "Subtract",
    "from_config",
    "register",
    "registered",
    "trainable_mask",
    "weighted_moments",
]
