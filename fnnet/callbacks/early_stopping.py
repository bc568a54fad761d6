"""Early stopping: a pure pytree rule (``EarlyStoppingState``), and the Keras callback over it."""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from fnnet import losses
from fnnet._checks import flag, hyperparameter
from fnnet.callbacks.base import (
    Callback,
    check_monitor,
    check_sign,
    check_verbose,
    from_json_number,
    json_number,
    monitored_value,
)
from fnnet.protocols import Logs, Mode, Params
from fnnet.state import TrainState


MAXIMISED = ("precision", "recall", "auc", "f1_score")
"""Metric names (besides any with ``acc``) that improve upwards; losses and errors improve downwards."""


class EarlyStoppingRule(NamedTuple):
    """Keras's early-stopping hyperparameters, with ``sign`` +1 to maximise and -1 to minimise."""

    sign: float
    min_delta: float = 0.0
    patience: int = 0
    baseline: float | None = None
    start_from_epoch: int = 0


@functools.partial(
    jax.tree_util.register_dataclass, data_fields=["best", "best_epoch", "wait", "stop"], meta_fields=["rule"]
)
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
        """The state before the first epoch: best is the worst possible value. Checks the rule's values."""
        if not isinstance(rule, EarlyStoppingRule):
            raise TypeError(f"rule must be an EarlyStoppingRule, got {rule!r}")
        check_sign(rule.sign)
        hyperparameter("min_delta", rule.min_delta)
        hyperparameter("patience", rule.patience, integer=True, low=0)
        if rule.baseline is not None:
            hyperparameter("baseline", rule.baseline)
        hyperparameter("start_from_epoch", rule.start_from_epoch, integer=True, low=0)
        return cls(
            rule,
            best=jnp.asarray(-rule.sign * jnp.inf, jnp.float32),
            best_epoch=jnp.asarray(0, jnp.int32),
            wait=jnp.asarray(0, jnp.int32),
            stop=jnp.asarray(False),
        )

    def update(self, value: float | jax.Array, epoch: int | jax.Array) -> EarlyStoppingState:
        """Keras's rule after epoch ``epoch`` with monitored ``value``.

        ``value`` improves on ``best`` when ``sign * value - min_delta > sign * best``.
        Each epoch from ``start_from_epoch`` on adds one to ``wait``; an
        improvement resets it to 0 (only if it also beats ``baseline``);
        training stops when an epoch after the first does not improve and
        ``wait >= patience``. A NaN value never improves.
        """
        rule = self.rule

        def beats(reference: float | jax.Array) -> Any:
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


def monitor_sign(monitor: str, mode: Mode = "auto") -> float:
    """+1 if ``monitor`` is maximised, -1 if minimised; ``"auto"`` reads it from the name as Keras does."""
    check_monitor(monitor)
    if not isinstance(mode, str) or mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return 1.0 if mode == "max" else -1.0
    name = monitor.removeprefix("val_")

    def named(names: Iterable[str]) -> bool:  # the name itself, or an output's (``digit_auc``)
        return any(name == known or name.endswith("_" + known) for known in names)

    if "acc" in name or named(MAXIMISED):
        return 1.0
    if name.endswith("loss") or named(losses.BY_NAME):
        return -1.0
    close = difflib.get_close_matches(name, ["loss", "accuracy", *MAXIMISED, *losses.BY_NAME], n=1)
    typo = f" (a typo of {monitor.removesuffix(name) + close[0]!r}?)" if close else ""
    raise ValueError(
        f"cannot tell whether {monitor!r} should be maximised or minimised{typo}; pass mode='max' or mode='min'"
    )


def keep_best(stopping: EarlyStoppingState, epoch: ArrayLike, params: Params, best_params: Params) -> Params:
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

    A ``monitor`` that the epoch's logs lack raises a ValueError listing the
    logs and the closest name (``monitored_value``), in the first epoch
    before anything else, even before ``start_from_epoch``. The arguments are
    checked when it is made: ``monitor`` a non-empty str, ``mode`` one of
    ``"auto"``, ``"min"``, ``"max"``, ``patience`` and ``start_from_epoch``
    non-negative ints, ``min_delta`` and ``baseline`` finite numbers,
    ``restore_best_weights`` a bool and ``verbose`` 0 or 1.

    ``get_state()`` holds the counters only (``best``, ``best_epoch``,
    ``wait``, ``stop``, ``stopped_epoch``), JSON-serializable;
    ``best_params``, the parameters of the best epoch, is an attribute of
    its own (a pytree of arrays) that a checkpoint stores as tensors and puts
    back before training resumes. After ``set_state`` the next
    ``on_train_begin`` keeps the counters (and ``best_params`` when set)
    instead of starting afresh.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: Mode = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
        *,
        verbose: int = 0,
    ) -> None:
        check_monitor(monitor)
        hyperparameter("min_delta", min_delta)
        hyperparameter("patience", patience, integer=True, low=0)
        hyperparameter("start_from_epoch", start_from_epoch, integer=True, low=0)
        if baseline is not None:
            hyperparameter("baseline", baseline)
        self.monitor, self.verbose = monitor, check_verbose(verbose)
        self.restore_best_weights = flag("restore_best_weights", restore_best_weights)
        self.rule = EarlyStoppingRule(monitor_sign(monitor, mode), abs(min_delta), patience, baseline, start_from_epoch)

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        self.stop_training = False
        restored, self._restored = getattr(self, "_restored", False), False
        if restored:
            if getattr(self, "best_params", None) is None and state is not None:
                self.best_params = state.params
            return
        self.state = EarlyStoppingState.start(self.rule)
        self.best_params = state.params if state is not None else None
        self.stopped_epoch = None

    def get_state(self) -> dict[str, Any]:
        """The counters: ``{"best", "best_epoch", "wait", "stop", "stopped_epoch"}`` (best None while infinite)."""
        stopping = getattr(self, "state", None) or EarlyStoppingState.start(self.rule)
        return {
            "best": json_number(stopping.best),
            "best_epoch": int(stopping.best_epoch),
            "wait": int(stopping.wait),
            "stop": bool(stopping.stop),
            "stopped_epoch": getattr(self, "stopped_epoch", None),
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore the counters of ``get_state``; ``best_params`` is set separately (it holds arrays)."""
        start = EarlyStoppingState.start(self.rule)
        self.state = EarlyStoppingState(
            self.rule,
            best=jnp.asarray(from_json_number(state["best"], float(start.best)), jnp.float32),
            best_epoch=jnp.asarray(state["best_epoch"], jnp.int32),
            wait=jnp.asarray(state["wait"], jnp.int32),
            stop=jnp.asarray(bool(state["stop"])),
        )
        self.stopped_epoch = state.get("stopped_epoch")
        self.best_params = getattr(self, "best_params", None)
        self._restored = True

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        value = monitored_value("EarlyStopping", self.monitor, logs)
        self._restored = False
        if epoch < self.rule.start_from_epoch:
            return
        self.state = self.state.update(value, epoch)
        if self.restore_best_weights:
            self.best_params = keep_best(self.state, epoch, state.params, self.best_params)
        if bool(self.state.stop):
            self.stopped_epoch = epoch
            self.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping")

    def on_train_end(self, state: TrainState) -> TrainState | None:
        if self.restore_best_weights and self.best_params is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {int(self.state.best_epoch) + 1}.")
            return state._replace(params=self.best_params)
        return None
