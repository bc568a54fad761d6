"""Early stopping: a pure pytree rule (``EarlyStoppingState``), and the Keras callback over it."""

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from fnnet import losses
from fnnet._checks import hyperparameter
from fnnet.callbacks.base import Callback, from_json_number, json_number

MAXIMISED = ("precision", "recall", "auc", "f1_score")
"""Metric names (besides any with ``acc``) that improve upwards; losses and errors improve downwards."""


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

    def named(names):  # the name itself, or an output's (``digit_auc``)
        return any(name == known or name.endswith("_" + known) for known in names)

    if "acc" in name or named(MAXIMISED):
        return 1.0
    if name.endswith("loss") or named(losses.BY_NAME):
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

    ``get_state()`` holds the counters only (``best``, ``best_epoch``,
    ``wait``, ``stop``, ``stopped_epoch``), JSON-serializable;
    ``best_params``, the parameters of the best epoch, is an attribute of
    its own (a pytree of arrays) that a checkpoint stores as tensors and puts
    back before training resumes. After ``set_state`` the next
    ``on_train_begin`` keeps the counters (and ``best_params`` when set)
    instead of starting afresh.
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
        restored, self._restored = getattr(self, "_restored", False), False
        if restored:
            if getattr(self, "best_params", None) is None and state is not None:
                self.best_params = state.params
            return
        self.state = EarlyStoppingState.start(self.rule)
        self.best_params = state.params if state is not None else None
        self.stopped_epoch = None

    def get_state(self) -> dict:
        """The counters: ``{"best", "best_epoch", "wait", "stop", "stopped_epoch"}`` (best None while infinite)."""
        stopping = getattr(self, "state", None) or EarlyStoppingState.start(self.rule)
        return {"best": json_number(stopping.best), "best_epoch": int(stopping.best_epoch),
                "wait": int(stopping.wait), "stop": bool(stopping.stop),
                "stopped_epoch": getattr(self, "stopped_epoch", None)}

    def set_state(self, state: dict) -> None:
        """Restore the counters of ``get_state``; ``best_params`` is set separately (it holds arrays)."""
        start = EarlyStoppingState.start(self.rule)
        self.state = EarlyStoppingState(
            self.rule, best=jnp.asarray(from_json_number(state["best"], float(start.best)), jnp.float32),
            best_epoch=jnp.asarray(state["best_epoch"], jnp.int32), wait=jnp.asarray(state["wait"], jnp.int32),
            stop=jnp.asarray(bool(state["stop"])))
        self.stopped_epoch = state.get("stopped_epoch")
        self.best_params = getattr(self, "best_params", None)
        self._restored = True

    def on_epoch_end(self, epoch, logs, state):
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which is not recorded; recorded: {sorted(logs)}"
            )
        self._restored = False
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

