"""Random keys at the boundary: an ``int`` seed works wherever a key goes.

``as_key(key)`` is the one conversion every fnnet function that takes a key
applies first: a typed key (``jax.random.key(seed)``) is used as is, an int
seed (a Python or NumPy integer, or a 0-d integer array, traced or not)
means ``jax.random.key(seed)``, and legacy ``jax.random.PRNGKey`` data
(``uint32[2]``) is wrapped. Anything else is a ``TypeError`` naming the
argument.
"""

import numbers
from typing import cast

import jax
import jax.numpy as jnp
import numpy as np


def as_key(key: object, name: str = "key") -> jax.Array:
    """A typed PRNG key from ``key``: a key as is, an int seed as ``jax.random.key(seed)``, ``PRNGKey`` data wrapped.

    Examples:
        >>> import jax
        >>> bool(jax.random.key_data(as_key(3)).tolist() == jax.random.key_data(jax.random.key(3)).tolist())
        True
    """
    if isinstance(key, (jax.Array, np.ndarray, np.generic)):
        dtype = key.dtype
        array = cast(jax.Array, key)  # NumPy's arrays and scalars work as jax's here
        if jnp.issubdtype(dtype, jax.dtypes.prng_key):
            if key.shape != ():
                raise ValueError(
                    f"{name} must be one key, got a key array of shape {key.shape}; index it (keys[0]) "
                    "or jax.vmap over it"
                )
            return array
        if key.shape == (2,) and dtype == np.uint32:
            return jax.random.wrap_key_data(array)
        if key.shape == () and jnp.issubdtype(dtype, jnp.integer):
            return jax.random.key(array)
    elif isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return jax.random.key(cast(int, key))
    raise TypeError(f"{name} must be a jax.random.key(seed) or an int seed, got {_describe(key)}")


def optional_key(key: object, name: str = "key") -> jax.Array | None:
    """``as_key(key)``, or None for None (a layer applied without randomness)."""
    return None if key is None else as_key(key, name)


def _describe(value: object) -> str:
    if isinstance(value, (jax.Array, np.ndarray)):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{value!r} of type {type(value).__name__}"
