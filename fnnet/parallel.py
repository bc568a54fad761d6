"""Data parallelism with ``jax.sharding``: batches split over devices, parameters replicated.

``fit``, ``evaluate`` and ``predict`` take ``mesh=``: a ``jax.sharding.Mesh``
whose first axis (conventionally ``"data"``) shards the batch axis, or
``"local"`` for all local devices (``local_mesh()``). The training data and
the ``TrainState`` are replicated on every device; inside the compiled
epoch each minibatch is constrained to be split along the data axis, and
``jit``'s SPMD partitioner inserts the all-reduce of the gradients. No
collective is written by hand.

Several hosts: call ``jax.distributed.initialize()`` on every host first,
then build the mesh over all devices, ``Mesh(np.array(jax.devices()),
("data",))``, and run the same program on each host with the same data and
key (each host's process drives its local devices; arrays are replicated).

On one machine, many CPU devices can be simulated for testing with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` set before JAX starts.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def local_mesh(axis_name="data") -> Mesh:
    """A one-axis mesh over all local devices."""
    return Mesh(np.array(jax.local_devices()), (axis_name,))


def resolve_mesh(mesh):
    """``None`` (one device), a ``Mesh`` as is, or ``"local"`` for ``local_mesh()``."""
    if mesh is None or isinstance(mesh, Mesh):
        return mesh
    if mesh == "local":
        return local_mesh()
    raise TypeError(f"mesh must be a jax.sharding.Mesh, 'local' or None, got {mesh!r}")


def check_batch_size(batch_size, mesh):
    """The batch must split evenly over the mesh's data axis."""
    if mesh is None:
        return
    devices = mesh.shape[mesh.axis_names[0]]
    if batch_size % devices:
        raise ValueError(
            f"batch_size {batch_size} must be divisible by the {devices} devices of the mesh's "
            f"{mesh.axis_names[0]!r} axis"
        )


def place(tree, mesh):
    """Put a pytree on the device, or replicated on every device of ``mesh``."""
    if mesh is None:
        return jax.device_put(tree)
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_batch(tree, mesh):
    """Inside ``jit``: constrain every array's leading (batch) axis to split over the data axis."""
    if mesh is None:
        return tree
    sharding = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))
    return jax.tree_util.tree_map(lambda a: jax.lax.with_sharding_constraint(a, sharding), tree)
