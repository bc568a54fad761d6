"""Callbacks that watch or steer training between epochs: NaN guard, learning-rate schedule, CSV log."""

from __future__ import annotations

import csv
import inspect
import math
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet import optimizers
from fnnet._checks import flag, function, hyperparameter, path_like
from fnnet.callbacks.base import Callback, check_verbose
from fnnet.protocols import Logs
from fnnet.state import TrainState


class TerminateOnNaN(Callback):
    """Stop when the epoch's loss is NaN or infinite, and return the last state with finite parameters.

    Checked once per epoch (an epoch is one compiled program), so the state
    returned is the one from the end of the last finite epoch, or the
    initial one.
    """

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        self.stop_training = False
        self.last_finite = state

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        finite = math.isfinite(logs["loss"]) and all(
            bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree_util.tree_leaves(state.params)
        )
        if finite:
            self.last_finite = state
            return None
        self.stop_training = True
        return self.last_finite


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (Keras semantics).

    The learning rate lives in the optimizer state (optimizers by name are
    wrapped in ``optax.inject_hyperparams``), so changing it does not
    recompile. The epoch's rate is added to the logs as ``learning_rate``.
    """

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0) -> None:
        function(
            "schedule",
            schedule,
            factories=(optimizers.step_decay, optimizers.exponential_decay, optimizers.inverse_time_decay),
        )
        try:
            inspect.signature(schedule).bind(0, 0.1)
        except TypeError:
            raise TypeError(
                f"schedule must take (epoch, lr) and return the new lr, got {schedule!r} of signature "
                f"{inspect.signature(schedule)}"
            ) from None
        except ValueError:  # a builtin without a signature: called as it is
            pass
        self.schedule, self.verbose = schedule, check_verbose(verbose)

    def on_epoch_begin(self, epoch: int, state: TrainState) -> TrainState | None:
        if "learning_rate" not in optimizers.hyperparameter_names(state.opt_state):
            raise ValueError(
                "LearningRateScheduler needs the learning rate in the optimizer state: use an optimizer "
                "by name (optimizer='adam') or wrap it, optax.inject_hyperparams(optax.adam)(learning_rate=...)"
            )
        current = float(optax.tree_utils.tree_get(state.opt_state, "learning_rate"))
        new = hyperparameter("learning rate from schedule", self.schedule(epoch, current), low=0)
        self.learning_rate = float(new)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {self.learning_rate:g}.")
        return state.with_hyperparameters(learning_rate=new)

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        logs["learning_rate"] = self.learning_rate


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (``epoch`` first), as Keras's ``CSVLogger``.

    With ``append=False`` the file is rewritten when training begins;
    with ``append=True`` rows are added to it.
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        if not isinstance(separator, str) or len(separator) != 1 or separator in '\r\n"':
            raise TypeError(f"separator must be one character (not a quote or a line break), got {separator!r}")
        self.filename, self.separator = path_like("filename", filename), separator
        self.append = flag("append", append)

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = None

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        if self.writer is None:
            self.writer = csv.DictWriter(self.file, ["epoch", *logs], delimiter=self.separator)
            if not self.append or self.file.tell() == 0:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{k: _plain(v) for k, v in logs.items()}})
        self.file.flush()

    def on_train_end(self, state: TrainState) -> TrainState | None:
        self.file.close()


def _plain(value: Any) -> float:
    return float(np.asarray(value))
