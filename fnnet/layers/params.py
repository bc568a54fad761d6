"""Trees of a layer's params: which leaves train (``trainable_mask``), and new values put in (``merge_updates``)."""

import jax

from fnnet.layers.base import Layer, check_layer, check_param_names
from fnnet.protocols import Params, PyTree

__all__ = ["merge_updates", "trainable_mask"]


def trainable_mask(layer: Layer, params: Params) -> PyTree:
    """A pytree of bools shaped like ``params``: False on the leaves ``layer`` lists as non-trainable.

    Walks containers (``Sequential``, ``Model``) by child name, so nested
    models mask their ``BatchNormalization`` statistics too.
    """
    check_layer("layer", layer)
    if layer.layers:
        check_param_names(params, layer.layers)
        children = dict(layer.layers)
        return {
            name: trainable_mask(children[name], value)
            if name in children
            else jax.tree_util.tree_map(lambda _: True, value)
            for name, value in params.items()
        }
    if not isinstance(params, dict):
        return jax.tree_util.tree_map(lambda _: True, params)
    return {
        name: jax.tree_util.tree_map(lambda _, t=name not in layer.non_trainable: t, value)
        for name, value in params.items()
    }


def merge_updates(params: Params, updates: Params) -> Params:
    """``params`` (a nested dict) with the leaves of ``updates`` (nested alike, as ``apply_train`` returns them) put in.

    The training step merges a pass's new moving statistics into the params
    with it; a model's training pass merges its layers' updates with it, and
    a shared layer's next call sees the statistics its previous call left.
    Leaves that ``updates`` lacks stay (the same objects); a key that only
    ``updates`` has is added, so merging into ``{}`` collects updates.
    Neither argument is modified.

    Examples:
        >>> merge_updates({"bn": {"gamma": 1.0, "moving_mean": 0.0}}, {"bn": {"moving_mean": 0.5}})
        {'bn': {'gamma': 1.0, 'moving_mean': 0.5}}
    """
    if not updates:
        return params
    merged = dict(params)
    for name, value in updates.items():
        merged[name] = merge_updates(merged.get(name, {}), value) if isinstance(value, dict) else value
    return merged
