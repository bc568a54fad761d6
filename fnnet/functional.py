"""Deprecated path: the functional API moved to ``fnnet.models`` (``Input``, ``Model``) and symbolic tensors to
``fnnet.layers.symbolic``.

``import fnnet.functional`` keeps working for one release with a ``DeprecationWarning``.
"""

import warnings

from fnnet.layers.symbolic import Node, SymbolicTensor, Tensors, call_layer, check_arrays, leaves, map_structure
from fnnet.models.functional import Input, InputLayer, Model, input_names, output_names
from fnnet.models.graph import Graph, check_shared_params, history

__all__ = [
    "Graph",
    "Input",
    "InputLayer",
    "Model",
    "Node",
    "SymbolicTensor",
    "Tensors",
    "call_layer",
    "check_arrays",
    "check_shared_params",
    "history",
    "input_names",
    "leaves",
    "map_structure",
    "output_names",
]

warnings.warn(
    "fnnet.functional moved: use fn.Input and fn.Model (fnnet.models) and fnnet.layers.symbolic "
    "(fnnet.functional goes in the next release)",
    DeprecationWarning,
    stacklevel=2,
)
