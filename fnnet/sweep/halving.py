"""Successive halving inside one sweep: train every variant a little, continue only the best.

``halving(eta=3, min_epochs=1)`` sets rungs at ``min_epochs * eta**i``
epochs (and at ``epochs``). Every variant trains up to the first rung; after
each rung the best ``ceil(n / eta)`` of the ``n`` variants that reached it,
by the best ``monitor`` value each has had so far (as early stopping counts
it), continue to the next rung, re-packed into a smaller program (compiled
once per size); the others keep their state and their history up to the
rung (NaN after, as for early stopping). A survivor's epochs are exactly
those it would have in the full sweep: its own keys, the same shuffle order.
"""

import math
from typing import Any, NamedTuple

import jax
import numpy as np

from fnnet._checks import hyperparameter
from fnnet.sweep import stacked

__all__ = ["Halving", "halving", "train_halving"]

EPOCHS_MAX = int(np.iinfo(np.int32).max)  # as fit's epochs: a state's step is an int32


class Halving(NamedTuple):
    """A successive-halving schedule: keep the best ``1 / eta`` at rungs ``min_epochs * eta**i``."""

    eta: int
    min_epochs: int

    def rungs(self, epochs: int) -> list[int]:
        """The epoch counts after which variants are culled, ending with ``epochs``."""
        ends, end = [], self.min_epochs
        while end < epochs:
            ends.append(end)
            end *= self.eta
        return [*ends, epochs]

    def survivors(self, reached: np.ndarray, best: np.ndarray, sign: float) -> np.ndarray:
        """Of the variants ``reached`` (indices), the best ``ceil(len / eta)`` by ``sign * best``, in index order."""
        keep = math.ceil(len(reached) / self.eta)
        ranked = reached[np.argsort(-(sign * np.nan_to_num(best[reached], nan=-sign * np.inf)), kind="stable")]
        return np.sort(ranked[:keep])


def halving(eta: int = 3, min_epochs: int = 1) -> Halving:
    """The schedule for ``fn.sweep.fit(..., schedule=halving(eta, min_epochs))``: ``eta >= 2``, ``min_epochs >= 1``.

    Examples:
        >>> halving(eta=3).rungs(27), halving(eta=2, min_epochs=2).rungs(10)
        ([1, 3, 9, 27], [2, 4, 8, 10])
    """
    return Halving(
        int(hyperparameter("eta", eta, integer=True, low=2, high=EPOCHS_MAX)),
        int(hyperparameter("min_epochs", min_epochs, integer=True, low=1, high=EPOCHS_MAX)),
    )


def _put(full: Any, part: Any, alive: np.ndarray) -> Any:
    return jax.tree_util.tree_map(lambda whole, some: whole.at[alive].set(some), full, part)


def train_halving(
    run: stacked.Run,
    states: Any,
    model_values: dict[str, Any],
    epochs: int,
    early_stopping: Any,
    monitor: str,
    sign: float,
    verbose: int,
    schedule: Halving,
    chunk: int | None = None,
) -> tuple[dict[str, np.ndarray], Any, np.ndarray]:
    """``(history, states, best)`` of the sweep under ``schedule``, as ``stacked.train_stacked`` returns them.

    ``chunk``: at most this many variants per program (``stacked.train_chunks``).
    """
    k = len(states.step)
    carry = stacked.start(states, early_stopping, sign, epochs)
    alive, first, ran_epochs = np.arange(k), 0, 0
    history: dict[str, np.ndarray] = {}
    for last in schedule.rungs(epochs):
        alive = alive[carry.active[alive]]  # a variant stopped early does not go on
        if not len(alive) or first >= last:
            break

        part = stacked.take(carry, alive)  # the Carry's trees and its active flags, for the variants going on
        ran, part_states, part = stacked.train_chunks(
            run,
            stacked.take(states, alive),
            stacked.take(model_values, alive),
            range(first, last),
            early_stopping,
            monitor,
            sign,
            verbose,
            part,
            chunk,
        )
        states = _put(states, part_states, alive)
        active = carry.active.copy()
        active[alive] = part.active
        carry = stacked.Carry(
            _put(carry.stopping, part.stopping, alive), _put(carry.best_params, part.best_params, alive), active
        )
        for name, values in ran.items():
            history.setdefault(name, np.full((k, epochs), np.nan))[alive, first : first + values.shape[1]] = values
        ran_epochs = first + max((values.shape[1] for values in ran.values()), default=0)
        if last < epochs:
            alive = schedule.survivors(alive, np.asarray(carry.stopping.best, np.float64), sign)
        first = last
    history = {name: values[:, :ran_epochs] for name, values in history.items()}
    return (history, *stacked.finish(states, carry, early_stopping))
