"""Data parallelism with ``jax.sharding``: batches split over devices, parameters replicated.

``fit``, ``evaluate`` and ``predict`` take ``mesh=``: a ``jax.sharding.Mesh``
whose first axis (conventionally ``"data"``) shards the batch axis, or
``"local"`` for all local devices (``local_mesh()``). The training data and
the ``TrainState`` are replicated on every device; inside the compiled
epoch each minibatch is constrained to be split along the data axis, and
``jit``'s SPMD partitioner inserts the all-reduce of the gradients. No
collective is written by hand.

Several processes (hosts, or several processes on one machine): run the same
script in every process, with the same data arrays and the same ``key``::

    import jax, numpy as np
    from jax.sharding import Mesh
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU devices only
    jax.distributed.initialize(coordinator_address="127.0.0.1:PORT",  # process 0's host, a free port
                               num_processes=2, process_id=i)         # i = 0, 1: one per process
    mesh = Mesh(np.array(jax.devices()), ("data",))  # the devices of all processes, in order
    state, history = trainer.fit(params, x, y, batch_size=32, key=key, mesh=mesh)

``jax.distributed.initialize`` comes before anything else touches JAX.
``place`` makes global arrays, replicated over the processes, from each
process's identical copy; each process's devices compute their share of
every minibatch and XLA's collectives (gloo on CPU) all-reduce the
gradients; every process gets the same results. With streamed batches
(``fit(params, batches)``) each process's iterable yields only its share of
every batch, the rows ``process_slice(batch_size, mesh)`` of a global batch
of ``batch_size`` rows (for the mesh above: the ``jax.process_index()``-th of
``jax.process_count()`` equal slices), and ``place_batch`` assembles them.
``fn.sweep.fit(..., mesh=mesh)`` splits its variants over all processes'
devices. Results reach the host through ``fetch``. Two processes of 2 CPU
devices give the losses of one process of 4 within 1e-5
(``tests/test_multiprocess.py``).

On one machine, N CPU devices (per process) are simulated, for testing, with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` set before JAX starts.
"""

from typing import Literal, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from fnnet._checks import describe
from fnnet.protocols import PyTree

T = TypeVar("T")


def local_mesh(axis_name: str = "data") -> Mesh:
    """A one-axis mesh over all local devices."""
    if not isinstance(axis_name, str) or not axis_name:
        raise TypeError(f"axis_name must be a non-empty string, got {describe(axis_name)}")
    return Mesh(np.array(jax.local_devices()), (axis_name,))


def resolve_mesh(mesh: Mesh | Literal["local"] | None) -> Mesh | None:
    """``None`` (one device), a ``Mesh`` as is, or ``"local"`` for ``local_mesh()``."""
    if mesh is None or isinstance(mesh, Mesh):
        return mesh
    if mesh == "local":
        return local_mesh()
    raise TypeError(f"mesh must be a jax.sharding.Mesh, 'local' or None, got {mesh!r}")


def _data_positions(mesh: Mesh) -> tuple[int, int]:
    """This process's positions along the mesh's data axis: ``(first, count)``, checked contiguous."""
    local = set(mesh.local_devices)
    rows = mesh.devices.reshape(mesh.devices.shape[0], -1)
    positions = [i for i, row in enumerate(rows) if any(d in local for d in row)]
    first, count = positions[0], len(positions)
    if positions != list(range(first, first + count)):
        raise ValueError(
            f"this process's devices are not contiguous along the mesh's {mesh.axis_names[0]!r} axis; "
            "build the mesh over jax.devices() in their order"
        )
    return first, count


def process_slice(batch_size: int, mesh: Mesh | None) -> slice:
    """The rows of a global batch of ``batch_size`` rows that this process feeds (all of them on one process)."""
    if mesh is None or not mesh.is_multi_process:
        return slice(0, batch_size)
    check_batch_size(batch_size, mesh)
    first, count = _data_positions(mesh)
    per_position = batch_size // mesh.devices.shape[0]
    return slice(first * per_position, (first + count) * per_position)


def data_devices(mesh: Mesh | None, *, local: bool = False) -> int:
    """Devices along the mesh's data axis (1 without a mesh); ``local=True``: only this process's."""
    if mesh is None:
        return 1
    if local and mesh.is_multi_process:
        return _data_positions(mesh)[1]
    return mesh.shape[mesh.axis_names[0]]


def check_batch_size(batch_size: int, mesh: Mesh | None, *, local: bool = False) -> None:
    """The batch must split evenly over the mesh's data axis.

    ``local=True``: ``batch_size`` is this process's share of a batch
    (streamed batches), which must split evenly over this process's devices
    on the data axis; on one process the two checks are the same.
    """
    devices = data_devices(mesh, local=local)
    if batch_size % devices:
        assert mesh is not None  # without a mesh there is one device, which divides every batch
        what, where = "batch_size", ""
        if local and mesh.is_multi_process:
            what, where = "this process's share of the batch,", " in this process"
        raise ValueError(
            f"{what} {batch_size} must be divisible by the {devices} devices of the mesh's "
            f"{mesh.axis_names[0]!r} axis{where}"
        )


def _host_local(tree: PyTree) -> PyTree:
    """Leaves that are not ``jax.Array`` as numpy arrays, for ``multihost_utils``."""
    return jax.tree_util.tree_map(lambda a: a if isinstance(a, jax.Array) else np.asarray(a), tree)


def place(tree: T, mesh: Mesh | None) -> T:
    """Put a pytree on the device, or replicated on every device of ``mesh``.

    Across processes every process passes the same values (its full copy)
    and gets global arrays replicated over all processes' devices; leaves
    that already are global arrays are kept as they are.
    """
    if mesh is None:  # arrays already on a device stay there: no copy, no dispatch
        return jax.tree_util.tree_map(lambda a: a if isinstance(a, jax.Array) else jax.device_put(a), tree)
    if not mesh.is_multi_process:
        return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    local = [i for i, leaf in enumerate(leaves) if not (isinstance(leaf, jax.Array) and not leaf.is_fully_addressable)]
    # multihost_utils keeps global arrays as they are, but not global typed keys (a restored or trained state's key)
    placed = multihost_utils.host_local_array_to_global_array(
        _host_local([leaves[i] for i in local]), mesh, PartitionSpec()
    )
    for i, leaf in zip(local, placed):
        leaves[i] = leaf
    return jax.tree_util.tree_unflatten(treedef, leaves)


def place_batch(tree: T, mesh: Mesh | None, axis: int = 0) -> T:
    """Put a batch on ``mesh`` split along the data axis; each process passes only its share.

    ``axis`` is the batch (rows) axis of every leaf, 1 for stacked batches
    ``(chunk, rows, ...)``. On one process (or ``mesh=None``) ``tree`` is the
    whole batch. Across processes each process passes the rows
    ``process_slice(batch_size, mesh)`` of the global batch (as many rows in
    every process), and gets global arrays of ``batch_size`` rows.
    """
    if mesh is None:
        return jax.device_put(tree)
    spec = PartitionSpec(*[None] * axis, mesh.axis_names[0])
    if not mesh.is_multi_process:
        return jax.device_put(tree, NamedSharding(mesh, spec))
    return multihost_utils.host_local_array_to_global_array(_host_local(tree), mesh, spec)


def shard_batch(tree: T, mesh: Mesh | None) -> T:
    """Inside ``jit``: constrain every array's leading (batch) axis to split over the data axis."""
    if mesh is None:
        return tree
    sharding = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))
    return jax.tree_util.tree_map(lambda a: jax.lax.with_sharding_constraint(a, sharding), tree)


def fetch(tree: PyTree) -> PyTree:
    """Host numpy values of a pytree's arrays, whole in every process.

    An array spread over other processes' devices is gathered with
    ``multihost_utils.process_allgather`` (a collective: every process must
    call ``fetch`` on it); others are read locally. PRNG key arrays are
    returned unchanged.
    """

    def one(leaf):
        if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            return leaf
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable and not leaf.is_fully_replicated:
            return multihost_utils.process_allgather(leaf, tiled=True)
        return np.asarray(leaf)

    return jax.tree_util.tree_map(one, tree)
