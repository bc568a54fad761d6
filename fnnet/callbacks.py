"""Callbacks: Python hooks that ``fit`` runs between compiled epochs.

A callback overrides any of

- ``on_train_begin(state)``,
- ``on_epoch_begin(epoch, state)``,
- ``on_epoch_end(epoch, logs, state)`` (``logs``: the epoch's ``loss``,
  metrics and ``val_`` forms, as floats),
- ``on_train_end(state)``,

where ``state`` is the current ``TrainState``. A hook may return a new state
(that is how ``LearningRateScheduler`` sets the learning rate and
``EarlyStopping`` restores the best weights) or ``None`` to keep it; it
stops training after the current epoch by setting ``self.stop_training``.

Early stopping's decision is a pure pytree, ``EarlyStoppingState`` with
``.update(value, epoch)`` (as Flax's ``EarlyStopping``), so the same rule runs
per variant inside a vmapped sweep; the ``EarlyStopping`` callback is a thin
layer over it. ``run_hooks`` is how ``fit`` calls a hook on every callback.
"""

import csv
import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet import optimizers
from fnnet._checks import hyperparameter


class Callback:
    """Base class: every hook does nothing; set ``stop_training = True`` to stop."""

    stop_training = False

    def on_train_begin(self, state):
        return None

    def on_epoch_begin(self, epoch, state):
        return None

    def on_epoch_end(self, epoch, logs, state):
        return None

    def on_train_end(self, state):
        return None


class History(Callback):
    """Records every epoch's logs: ``history[name]`` lists the values, ``epoch`` the epoch indices."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def on_train_begin(self, state):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs, state):
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)


# --- early stopping: a pure pytree rule, and the callback over it ---------------------


class EarlyStoppingRule(NamedTuple):
    """Keras's early-stopping hyperparameters, with ``sign`` +1 to maximise and -1 to minimise."""

    sign: float
    min_delta: float = 0.0
    patience: int = 0
    baseline: float | None = None
    start_from_epoch: int = 0


@functools.partial(jax.tree_util.register_dataclass, data_fields=["best", "best_epoch", "wait", "stop"],
                   meta_fields=["rule"])
@dataclasses.dataclass(frozen=True)
class EarlyStoppingState:
    """What early stopping remembers (best value and epoch, epochs waited, whether to stop), as a pytree.

    ``EarlyStoppingState.start(rule)`` is the state before the first epoch;
    ``state.update(value, epoch)`` the state after an epoch. Pure, so the same
    rule runs in the ``EarlyStopping`` callback and per variant inside a
    vmapped sweep (as Flax's ``EarlyStopping``). The rule is static.
    """

    rule: EarlyStoppingRule
    best: jax.Array
    best_epoch: jax.Array
    wait: jax.Array
    stop: jax.Array

    @classmethod
    def start(cls, rule: EarlyStoppingRule) -> "EarlyStoppingState":
        """The state before the first epoch: best is the worst possible value."""
        return cls(rule, best=jnp.asarray(-rule.sign * jnp.inf, jnp.float32), best_epoch=jnp.asarray(0, jnp.int32),
                   wait=jnp.asarray(0, jnp.int32), stop=jnp.asarray(False))

    def update(self, value, epoch) -> "EarlyStoppingState":
        """Keras's rule after epoch ``epoch`` with monitored ``value``.

        ``value`` improves on ``best`` when ``sign * value - min_delta > sign * best``.
        Each epoch from ``start_from_epoch`` on adds one to ``wait``; an
        improvement resets it to 0 (only if it also beats ``baseline``);
        training stops when an epoch after the first does not improve and
        ``wait >= patience``. A NaN value never improves.
        """
        rule = self.rule

        def beats(reference):
            return rule.sign * value - rule.min_delta > rule.sign * reference

        value = jnp.asarray(value, jnp.float32)
        active = epoch >= rule.start_from_epoch
        improved = beats(self.best)
        resets = improved & (True if rule.baseline is None else beats(rule.baseline))
        wait = jnp.where(resets, 0, self.wait + 1)
        stop = ~improved & (wait >= rule.patience) & (epoch > 0)
        return EarlyStoppingState(
            rule,
            best=jnp.where(active & improved, value, self.best),
            best_epoch=jnp.where(active & improved, epoch, self.best_epoch),
            wait=jnp.where(active, wait, self.wait),
            stop=self.stop | (active & stop),
        )


def monitor_sign(monitor, mode="auto") -> float:
    """+1 if ``monitor`` is maximised, -1 if minimised; ``"auto"`` reads it from the name as Keras does."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return 1.0 if mode == "max" else -1.0
    name = monitor.removeprefix("val_")
    if "acc" in name:
        return 1.0
    if name in ("loss", "mae", "mse", "mean_absolute_error", "mean_squared_error") or name.endswith("loss"):
        return -1.0
    raise ValueError(
        f"cannot tell whether {monitor!r} should be maximised or minimised; pass mode='max' or mode='min'"
    )


def keep_best(stopping: EarlyStoppingState, epoch, params, best_params):
    """``params`` where ``epoch`` is the best epoch so far, else ``best_params`` (traceable, vmappable)."""
    return optax.tree_utils.tree_where(stopping.best_epoch == epoch, params, best_params)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has stopped improving (Keras ``EarlyStopping`` semantics).

    ``patience`` epochs without an improvement larger than ``min_delta``
    stop training; ``baseline`` is a value the monitor must beat for the
    patience to restart; epochs before ``start_from_epoch`` are ignored.
    With ``restore_best_weights=True`` the parameters of the best epoch are
    put back at the end of training (as Keras 3 does), whether or not
    training stopped early. ``verbose=1`` prints when it stops and restores.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0, *, verbose=0):
        hyperparameter("min_delta", min_delta)
        hyperparameter("patience", patience, integer=True, low=0)
        hyperparameter("start_from_epoch", start_from_epoch, integer=True, low=0)
        if baseline is not None:
            hyperparameter("baseline", baseline)
        self.monitor, self.verbose = monitor, verbose
        self.restore_best_weights = restore_best_weights
        self.rule = EarlyStoppingRule(monitor_sign(monitor, mode), abs(min_delta), patience, baseline,
                                      start_from_epoch)

    def on_train_begin(self, state):
        self.stop_training = False
        self.state = EarlyStoppingState.start(self.rule)
        self.best_params = state.params if state is not None else None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs, state):
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which is not recorded; recorded: {sorted(logs)}"
            )
        if epoch < self.rule.start_from_epoch:
            return
        self.state = self.state.update(logs[self.monitor], epoch)
        if self.restore_best_weights:
            self.best_params = keep_best(self.state, epoch, state.params, self.best_params)
        if bool(self.state.stop):
            self.stopped_epoch = epoch
            self.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping")

    def on_train_end(self, state):
        if self.restore_best_weights and self.best_params is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {int(self.state.best_epoch) + 1}.")
            return state._replace(params=self.best_params)
        return None


class TerminateOnNaN(Callback):
    """Stop when the epoch's loss is NaN or infinite, and return the last state with finite parameters.

    Checked once per epoch (an epoch is one compiled program), so the state
    returned is the one from the end of the last finite epoch, or the
    initial one.
    """

    def on_train_begin(self, state):
        self.stop_training = False
        self.last_finite = state

    def on_epoch_end(self, epoch, logs, state):
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

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError(f"schedule must be a callable (epoch, lr) -> lr, got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, state):
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
        return state._replace(opt_state=optimizers.set_hyperparameters(state.opt_state, learning_rate=new))

    def on_epoch_end(self, epoch, logs, state):
        logs["learning_rate"] = self.learning_rate


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (``epoch`` first), as Keras's ``CSVLogger``.

    With ``append=False`` the file is rewritten when training begins;
    with ``append=True`` rows are added to it.
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename, self.separator, self.append = filename, separator, append

    def on_train_begin(self, state):
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = None

    def on_epoch_end(self, epoch, logs, state):
        if self.writer is None:
            self.writer = csv.DictWriter(self.file, ["epoch", *logs], delimiter=self.separator)
            if not self.append or self.file.tell() == 0:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{k: _plain(v) for k, v in logs.items()}})
        self.file.flush()

    def on_train_end(self, state):
        self.file.close()


def run_hooks(callbacks, hook, state, *args):
    """Call ``hook`` on every callback in order; a hook returning a state replaces the current one."""
    for callback in callbacks:
        new = getattr(callback, hook)(*args, state)
        state = state if new is None else new
    return state


def _plain(value):
    return float(np.asarray(value))
