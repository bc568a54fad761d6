"""Sweeps: K variants of one model trained as one compiled program, and K-fold cross-validation.

- ``variants``: ``grid``, ``random_search``, ``seeds``, ``variant_keys`` and their checks;
- ``stacked``: the vmapped programs over stacked ``TrainState``s;
- ``halving``: successive halving (``halving``), rungs inside one sweep;
- ``search``: ``fit`` (a ``SweepResult``) and ``cross_validate``.
"""

from fnnet.sweep.halving import Halving, halving
from fnnet.sweep.search import CrossValidation, SweepResult, cross_validate, fit
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
