"""How many variants one program may hold: the automatic ``max_variants_per_program``.

A variant's program keeps its ``TrainState`` (params and optimizer state),
its gradients and updates, and one batch's activations; the data are
shared. ``variants_per_program`` divides half the memory free on the device
(a GPU's ``memory_stats``; the host's available memory on a CPU), less the
data, by that estimate. It is a coarse bound: chunks train exactly as one
program does, so a cautious estimate costs only a few more calls.
"""

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["free_bytes", "variant_bytes", "variants_per_program"]

SHARE = 0.5  # of the free memory, for the variants (the rest: XLA's buffers, fragmentation, the user)


def free_bytes(device: Any = None) -> int:
    """Memory free on ``device`` (default: the first): its allocator's limit less what is in use, or the host's."""
    device = jax.local_devices()[0] if device is None else device
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no such counter on this system: assume 4 GiB
        return 4 << 30


def _bytes(tree: Any) -> int:
    return sum(int(np.prod(leaf.shape)) * _itemsize(leaf.dtype) for leaf in jax.tree_util.tree_leaves(tree))


def _itemsize(dtype: Any) -> int:
    """Bytes per element; a PRNG key's: its key data's (two uint32 for the default threefry)."""
    if jnp.issubdtype(dtype, jax.dtypes.prng_key):
        return 8
    return np.dtype(dtype).itemsize


def variant_bytes(state: Any, params: Any, batch_size: int) -> int:
    """One variant's memory: its state twice (in and out), its gradients and updates, one batch's activations.

    ``state`` and ``params`` as shapes; the activations are estimated from
    the params' output axes (each leaf's last), forward and backward.
    """
    outputs = sum(int(leaf.shape[-1]) for leaf in jax.tree_util.tree_leaves(params) if leaf.shape)
    return 2 * _bytes(state) + 2 * _bytes(params) + 2 * batch_size * outputs * 4


def variants_per_program(k: int, per_variant: int, data_bytes: int, devices: int = 1) -> int | None:
    """How many of ``k`` variants to train per program (None: all at once), a multiple of ``devices``."""
    budget = SHARE * max(free_bytes() - data_bytes, 0) * devices
    fits = int(budget // max(per_variant, 1))
    if fits >= k:
        return None
    return max(devices, fits - fits % devices)
