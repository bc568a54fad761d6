"""A sweep's ``initial_params``: stacked on a leading axis of K, or a list of K per-variant trees."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fnnet.protocols import Params
from fnnet.sweep.padding import Padding

__all__ = ["check"]


def check(initial_params: Params, params0: Any, k: int, padding: Padding | None) -> Params:
    """The variants' starting params, stacked (and padded, with shape axes), each leaf checked.

    ``params0`` is the first variant's params tree as shapes; with shape
    axes a list gives each variant's own tree, and a stacked tree the padded
    one (as ``SweepResult.states.params`` holds it).
    """
    if isinstance(initial_params, (list, tuple)):
        if len(initial_params) != k:
            raise ValueError(
                f"initial_params as a list needs one params tree per variant (K = {k}), got {len(initial_params)}"
            )
        trees = []
        for i, tree in enumerate(initial_params):
            own = params0 if padding is None else padding.own_abstract(i)
            tree = _checked(tree, own, f"initial_params[{i}]", ())
            trees.append(tree if padding is None else padding.embed(i, tree))
        return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *trees)
    return _checked(initial_params, params0 if padding is None else padding.padded, "initial_params", (k,))


def _checked(given: Any, expected: Any, where: str, lead: tuple[int, ...]) -> Any:
    """``given`` as ``expected``'s tree with every leaf of shape ``lead + expected's``, in its dtype."""
    structure = jax.tree_util.tree_structure(expected)
    if jax.tree_util.tree_structure(given) != structure:
        raise ValueError(
            f"{where} must have the model's params tree {structure}, got {jax.tree_util.tree_structure(given)}"
        )
    for (path, want), leaf in zip(jax.tree_util.tree_flatten_with_path(expected)[0], jax.tree_util.tree_leaves(given)):
        if tuple(np.shape(leaf)) != (*lead, *want.shape):
            variants = f" (K = {lead[0]} variants first)" if lead else ""
            raise ValueError(
                f"{where}{jax.tree_util.keystr(path)} must have shape {(*lead, *want.shape)}{variants}, got {np.shape(leaf)}"
            )
    return jax.tree_util.tree_map(lambda leaf, want: jnp.asarray(leaf, want.dtype), given, expected)
