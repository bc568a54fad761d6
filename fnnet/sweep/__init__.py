"""Sweeps: K variants of one model trained as one compiled program, and K-fold cross-validation.

- ``variants``: ``grid``, ``random_search``, ``seeds``, ``variant_keys`` and their checks;
- ``stacked``: the vmapped programs over stacked ``TrainState``s;
- ``halving``: successive halving (``halving``), rungs inside one sweep;
- ``shapes``, ``padding``: axes that change the network's shape, padded and masked;
- ``search``: ``fit``, returning a ``result.SweepResult``; ``initial``: its ``initial_params``;
- ``cross_validation``: ``cross_validate``.
"""

from fnnet.sweep.halving import Halving, halving
from fnnet.sweep.cross_validation import CrossValidation, cross_validate
from fnnet.sweep.result import SweepResult
from fnnet.sweep.search import fit
from fnnet.sweep.variants import grid, random_search, seeds, variant_keys

__all__ = [
    "CrossValidation",
    "Halving",
    "SweepResult",
    "cross_validate",
    "fit",
    "grid",
    "halving",
    "random_search",
    "seeds",
    "variant_keys",
]
