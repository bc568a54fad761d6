"""How ``fit`` runs one epoch: ``run_epoch(state, epoch) -> (state, logs)`` for data in memory or streamed.

``in_memory`` draws the epoch's batch order on the host (from the state's
key and step) and runs the compiled ``fit_epoch``; ``streamed`` runs one
compiled ``fit_chunk`` per chunk of the host batches, then the validation
pass. Both return the epoch's logs as floats in Keras's order
(``ordered_floats``), which ``hooks.run_epochs`` hands to the callbacks.
"""

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from fnnet import parallel
from fnnet.protocols import Augment, OptimizerLike
from fnnet.state import TrainState, key_data_of
from fnnet.training import checks as checks_lib, epoch as programs
from fnnet.training.inputs import Data
from fnnet.training.step import Objective

__all__ = ["in_memory", "ordered_floats", "streamed"]

RunEpoch = Callable[[TrainState, int], tuple[TrainState, dict[str, float]]]


def ordered_floats(objective: Objective, logs: Any) -> dict[str, float]:
    """Device logs as floats in Keras's order: loss, the metrics, then their ``val_`` forms."""
    names = list(objective.names)
    names += [f"val_{name}" for name in names]
    values = parallel.fetch(logs)  # a dict pytree comes back in sorted order
    return {name: float(values[name]) for name in names if name in values}


def in_memory(
    objective: Objective,
    optimizer: OptimizerLike,
    data: Data,
    state: TrainState,
    *,
    shuffle: bool,
    augment: Augment | None,
    checks: bool,
    token: int,
    report_every: int,
) -> RunEpoch:
    """Epochs over ``data.samples``: epoch ``e`` shuffles by ``shuffle_seed(key, first step + e * batches)``."""
    key, key_data, first_step = state.key, key_data_of(state.key), int(state.step)

    def run_epoch(state, epoch):
        order = programs.batch_order(
            key_data, first_step + epoch * data.num_batches, data.count, data.batch_size, shuffle
        )
        state, logs = checks_lib.thrown(
            checks,
            programs.fit_epoch(
                state,
                data.samples,
                order if data.mesh is None else parallel.place(order, data.mesh),
                data.val,
                np.int32(token),
                objective=objective,
                optimizer=optimizer,
                batch_size=data.batch_size,
                augment=augment,
                mesh=data.mesh,
                report_every=report_every,
                checks=checks,
            ),
        )
        return state._replace(key=key), ordered_floats(objective, logs)  # the same key: its data stay cached

    return run_epoch


def streamed(
    objective: Objective, optimizer: OptimizerLike, data: Data, *, augment: Augment | None, checks: bool
) -> RunEpoch:
    """Epochs over ``data.stream``: one compiled scan per chunk of batches, then validation."""
    sequential = jax.default_backend() == "cpu"
    stream = data.stream
    if stream is None:
        raise ValueError("runs.streamed needs prepared batches (data.stream); runs.in_memory trains arrays")

    def run_epoch(state, epoch):
        stats, batch_size = None, 0
        for chunk in stream:
            batch_size = chunk.weight.shape[1]
            state, stats = checks_lib.thrown(
                checks,
                programs.fit_chunk(
                    state,
                    stats,
                    chunk,
                    objective=objective,
                    optimizer=optimizer,
                    augment=augment,
                    mesh=data.mesh,
                    checks=checks,
                ),
            )
            if sequential:  # host and device share the CPU's cores: preparing the next chunk
                jax.block_until_ready(stats)  # meanwhile would slow both down
        if stats is None:
            raise ValueError("the iterable of batches yielded no samples")
        logs = objective.logs(stats)
        if data.val is not None:
            val_logs = programs.evaluate(
                state.params,
                data.val,
                objective=objective,
                batch_size=min(batch_size, data.val_count),
                mesh=data.mesh,
            )
            logs |= {f"val_{name}": value for name, value in val_logs.items()}
        return state, ordered_floats(objective, logs)

    return run_epoch
