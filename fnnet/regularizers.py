"""Weight penalties ``(params) -> scalar`` and their composition with a loss.

A regularizer sums a penalty over the leaves of a params pytree that its
``where`` predicate selects (by default every leaf called ``"kernel"``, so
biases are left alone as in Keras). Given a bare array, as a layer's
``kernel_regularizer`` is, it penalises that array.

- ``l1(rate)``:          R(w) = rate * sum |w|
- ``l2(rate)``:          R(w) = rate * sum w^2   (in the loss, not AdamW's decoupled decay)
- ``l1_l2(l1, l2)``:     R(w) = l1 * sum |w| + l2 * sum w^2

``fnnet.objective(model, loss, *regularizers)`` composes a loss and penalties
into the one function that training minimises.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from fnnet._checks import hyperparameter

Regularizer = Callable[[object], jax.Array]


def is_kernel(path) -> bool:
    """Select leaves whose last key is ``"kernel"`` (and a bare array, whose path is empty)."""
    return not path or getattr(path[-1], "key", None) == "kernel"


def every_leaf(path) -> bool:
    """Select every leaf: kernels and biases alike."""
    return True


def _penalty(leaf_penalty, where) -> Regularizer:
    def regularizer(params):
        leaves = jax.tree_util.tree_leaves_with_path(params)
        return sum((leaf_penalty(leaf) for path, leaf in leaves if where(path)), jnp.asarray(0.0))

    return regularizer


def l1(rate=0.01, where=is_kernel) -> Regularizer:
    """L1 penalty ``rate * sum |w|`` over the selected leaves (Keras default rate 0.01)."""
    hyperparameter("l1 rate", rate, low=0)
    return _penalty(lambda w: rate * jnp.sum(jnp.abs(w)), where)


def l2(rate=0.01, where=is_kernel) -> Regularizer:
    """L2 penalty ``rate * sum w^2`` over the selected leaves (Keras default rate 0.01)."""
    hyperparameter("l2 rate", rate, low=0)
    return _penalty(lambda w: rate * jnp.sum(jnp.square(w)), where)


def l1_l2(l1=0.0, l2=0.0, where=is_kernel) -> Regularizer:
    """Elastic net ``l1 * sum |w| + l2 * sum w^2`` (Keras ``L1L2``, defaults 0)."""
    hyperparameter("l1 rate", l1, low=0)
    hyperparameter("l2 rate", l2, low=0)
    return _penalty(lambda w: l1 * jnp.sum(jnp.abs(w)) + l2 * jnp.sum(jnp.square(w)), where)


def total(*regularizers) -> Regularizer:
    """One regularizer that sums the given ones, as ``optax.chain`` chains transformations."""
    for r in regularizers:
        if not callable(r):
            raise TypeError(f"regularizers must be callables (params) -> scalar, got {r!r}")

    def regularizer(params):
        return sum((r(params) for r in regularizers), jnp.asarray(0.0))

    return regularizer
