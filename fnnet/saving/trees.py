"""Pytrees as flat tensor names, and their restoring against a template tree.

A leaf's name is its path joined with ``/`` under a prefix: the kernel of
layer ``dense`` in params is ``params/dense/kernel``; the first moment of
Adam in an optax state ``(ScaleByAdamState(count, mu, nu), EmptyState())``
is ``opt_state/0/mu/dense/kernel`` (tuple positions as numbers, NamedTuple
fields and dict keys by name). ``restore`` rebuilds a tree from a file's
tensors against the tree it must have (a template: arrays or
``jax.ShapeDtypeStruct``, e.g. from ``jax.eval_shape``), checking every
name, shape and dtype and naming the leaf that does not match.
"""

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import parallel, precision


def key_name(entry) -> str:
    """One path entry as text: a dict key, a sequence index or an attribute name."""
    if isinstance(entry, jax.tree_util.DictKey):
        name = str(entry.key)
    elif isinstance(entry, jax.tree_util.SequenceKey):
        name = str(entry.idx)
    elif isinstance(entry, jax.tree_util.GetAttrKey):
        name = entry.name
    elif isinstance(entry, jax.tree_util.FlattenedIndexKey):
        name = str(entry.key)
    else:
        name = str(entry)
    if not name or "/" in name:
        raise ValueError(f"a tree key {name!r} cannot name a tensor: keys must be non-empty and contain no '/'")
    return name


def leaf_names(tree, prefix) -> tuple:
    """``(names, leaves, treedef)`` of ``tree``, each name ``prefix/<path>``."""
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(tree)
    names = ["/".join([prefix, *(key_name(entry) for entry in path)]) for path, _ in with_paths]
    return names, [leaf for _, leaf in with_paths], treedef


def is_key(leaf) -> bool:
    """Whether ``leaf`` is a typed PRNG key array."""
    return hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def flatten(tree, prefix) -> dict:
    """``{name: host numpy array}`` of ``tree``'s leaves (gathered from every process where spread)."""
    names, leaves, _ = leaf_names(tree, prefix)
    for name, leaf in zip(names, leaves):
        if is_key(leaf):
            raise TypeError(f"{name} is a PRNG key; store its jax.random.key_data and key_impl instead")
    return dict(zip(names, parallel.fetch(leaves)))


def _hint(found, expected):
    if np.dtype(found).itemsize == 8 and np.dtype(expected).itemsize == 4 and not precision.x64_enabled():
        return " (the file holds 64-bit values: enable jax_enable_x64 before loading it)"
    return ""


def check_leaf(name, value, expected, what="the model"):
    """ValueError naming ``name`` when ``value``'s shape or dtype differ from ``expected``'s."""
    if tuple(value.shape) != tuple(expected.shape):
        raise ValueError(
            f"{name}: {what} expects shape {tuple(expected.shape)}, the file holds shape {tuple(value.shape)}"
        )
    if np.dtype(value.dtype) != np.dtype(expected.dtype):
        raise ValueError(
            f"{name}: {what} expects dtype {np.dtype(expected.dtype)}, the file holds "
            f"{np.dtype(value.dtype)}{_hint(value.dtype, expected.dtype)}"
        )


def place_like(value, template):
    """``value`` as a JAX array placed as the template is: its sharding, or its device when committed.

    An uncommitted template gives an uncommitted array, so that the restored
    state hits the same compiled programs as the state it stands for.
    """
    if isinstance(template, jax.Array):
        if not isinstance(template.sharding, jax.sharding.SingleDeviceSharding):
            return jax.make_array_from_callback(value.shape, template.sharding, lambda index: value[index])
        if template.committed:
            return jax.device_put(value, template.sharding)
    return jax.device_put(value)  # uncommitted; a plain transfer (jnp.asarray dispatches a primitive per leaf)


def check(tensors, prefix, template, what="the model") -> tuple:
    """``(names, template leaves, treedef)`` once the file's ``prefix/...`` tensors match ``template``.

    Raises ValueError naming the missing, the unexpected, and the first
    mismatched leaf (with the expected and the found shape or dtype).
    """
    names, expected, treedef = leaf_names(template, prefix)
    missing = [name for name in names if name not in tensors]
    known = set(names)
    extra = sorted(name for name in tensors if name.startswith(prefix + "/") and name not in known)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks {_listing(missing)}")
        if extra:
            parts.append(f"holds {_listing(extra)}, which {what} has no leaf for")
        raise ValueError(f"the file does not match {what}: it " + "; it ".join(parts))
    for name, leaf in zip(names, expected):
        check_leaf(name, tensors[name], leaf, what)
    return names, expected, treedef


def restore(tensors, prefix, template, what="the model"):
    """``template``'s tree with the file's tensors ``prefix/...`` as leaves, every one checked (``check``)."""
    names, expected, treedef = check(tensors, prefix, template, what)
    leaves = [place_like(tensors[name], leaf) for name, leaf in zip(names, expected)]
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _listing(names, limit=8):
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def templates(tree):
    """The shapes and dtypes of ``tree``'s leaves as ``jax.ShapeDtypeStruct`` (a template for ``restore``)."""
    return jax.tree_util.tree_map(lambda leaf: jax.ShapeDtypeStruct(np.shape(leaf), leaf.dtype), tree)
