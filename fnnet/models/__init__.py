"""Models: ``Sequential`` stacks, functional graphs (``Input``, ``Model``) and ``summary``.

A model is itself a ``Layer`` (a ``ModelLayer`` for type checkers). Its
params are a dict from layer name (``"dense"``, ``"dense_1"``, ..., or the
``name=`` given) to that layer's params; parameter-free layers have no
entry.

- ``sequential``: ``Sequential``;
- ``graph``: a functional model's layers and nodes, and running them;
- ``functional``: ``Input``, ``Model`` and the ``"Functional"`` config;
- ``summary``: ``summary`` and ``count_params``.
"""

from fnnet.layers.base import ModelLayer
from fnnet.layers.symbolic import SymbolicTensor
from fnnet.models import graph  # noqa: F401  (fnnet.models.graph: building and running graphs)
from fnnet.models.functional import Input, Model, call_layer, input_names, output_names
from fnnet.models.sequential import Sequential
from fnnet.models.summary import count_params, summary

__all__ = [
    "Input",
    "Model",
    "ModelLayer",
    "Sequential",
    "SymbolicTensor",
    "call_layer",
    "count_params",
    "input_names",
    "output_names",
    "summary",
]
