"""Reducing the learning rate on a plateau: a pure pytree rule, and Keras's callback over it."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from fnnet import optimizers
from fnnet._checks import hyperparameter
from fnnet.callbacks.base import (
    Callback,
    check_monitor,
    check_sign,
    check_verbose,
    from_json_number,
    json_number,
    monitored_value,
)
from fnnet.callbacks.early_stopping import monitor_sign
from fnnet.protocols import Logs, Mode, PyTree
from fnnet.state import TrainState


class ReduceLROnPlateauRule(NamedTuple):
    """Keras's ``ReduceLROnPlateau`` hyperparameters, with ``sign`` +1 to maximise and -1 to minimise."""

    sign: float
    factor: float = 0.1
    patience: int = 10
    min_delta: float = 1e-4
    cooldown: int = 0
    min_lr: float = 0.0


@functools.partial(
    jax.tree_util.register_dataclass, data_fields=["best", "wait", "cooldown_counter"], meta_fields=["rule"]
)
@dataclasses.dataclass(frozen=True)
class ReduceLROnPlateauState:
    """What the plateau rule remembers (best value, epochs waited, cooldown epochs left), as a pytree.

    ``ReduceLROnPlateauState.start(rule)`` is the state before the first
    epoch; ``state.update(value, learning_rate)`` returns ``(state, new
    learning rate)`` after an epoch. Pure and traceable, so the rule runs in
    the callback and per variant inside a vmapped sweep. The rule is static.
    """

    rule: ReduceLROnPlateauRule
    best: jax.Array
    wait: jax.Array
    cooldown_counter: jax.Array

    @classmethod
    def start(cls, rule: ReduceLROnPlateauRule) -> "ReduceLROnPlateauState":
        """The state before the first epoch: best is the worst possible value, no wait, no cooldown.

        Checks the rule's values (as ``ReduceLROnPlateau`` checks its arguments).
        """
        if not isinstance(rule, ReduceLROnPlateauRule):
            raise TypeError(f"rule must be a ReduceLROnPlateauRule, got {rule!r}")
        check_sign(rule.sign)
        hyperparameter("factor", rule.factor, low=0, high=1, low_inclusive=False, high_inclusive=False)
        hyperparameter("patience", rule.patience, integer=True, low=0)
        hyperparameter("min_delta", rule.min_delta)
        hyperparameter("cooldown", rule.cooldown, integer=True, low=0)
        hyperparameter("min_lr", rule.min_lr, low=0)
        return cls(
            rule,
            best=jnp.asarray(-rule.sign * jnp.inf, jnp.float32),
            wait=jnp.asarray(0, jnp.int32),
            cooldown_counter=jnp.asarray(0, jnp.int32),
        )

    def update(self, value: ArrayLike, learning_rate: ArrayLike) -> tuple[ReduceLROnPlateauState, jax.Array]:
        """Keras's rule after an epoch whose monitored value is ``value``; returns ``(state, learning_rate)``.

        In cooldown (``cooldown_counter > 0``) the counter drops by one and
        ``wait`` is 0. ``value`` improves when ``sign * value - min_delta >
        sign * best``: it becomes ``best`` and ``wait`` is 0. Otherwise, out of
        cooldown, ``wait`` grows by one; at ``wait >= patience``, if
        ``learning_rate > min_lr``, the rate becomes ``max(learning_rate *
        factor, min_lr)``, ``wait`` 0 and the cooldown starts. A NaN value
        never improves. The rate keeps its dtype (the optimizer state's).
        """
        rule = self.rule
        value = jnp.asarray(value, jnp.float32)
        learning_rate = jnp.asarray(learning_rate)
        cooling = self.cooldown_counter > 0
        cooldown_counter = jnp.where(cooling, self.cooldown_counter - 1, self.cooldown_counter)
        improved = rule.sign * value - rule.min_delta > rule.sign * self.best
        still_cooling = cooldown_counter > 0
        wait = jnp.where(cooling, 0, self.wait)
        wait = jnp.where(improved, 0, jnp.where(still_cooling, wait, wait + 1))
        plateau = ~improved & ~still_cooling & (wait >= rule.patience)
        reduce = plateau & (learning_rate > jnp.float32(rule.min_lr))
        reduced = jnp.maximum(learning_rate * rule.factor, rule.min_lr).astype(learning_rate.dtype)
        state = ReduceLROnPlateauState(
            rule,
            best=jnp.where(improved, value, self.best),
            wait=jnp.where(reduce, 0, wait),
            cooldown_counter=jnp.where(reduce, rule.cooldown, cooldown_counter),
        )
        return state, jnp.where(reduce, reduced, learning_rate)


def learning_rate_of(opt_state: PyTree, who: str) -> jax.Array:
    """The learning rate held in ``opt_state``, or a ValueError saying how to put it there."""
    if "learning_rate" not in optimizers.hyperparameter_names(opt_state):
        raise ValueError(
            f"{who} needs the learning rate in the optimizer state: use an optimizer by name "
            "(optimizer='adam') or wrap it, optax.inject_hyperparams(optax.adam)(learning_rate=...)"
        )
    return optax.tree_utils.tree_get(opt_state, "learning_rate")


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped improving (Keras semantics).

    After ``patience`` epochs without an improvement larger than
    ``min_delta``, the rate becomes ``max(rate * factor, min_lr)``; then
    ``cooldown`` epochs pass before the waiting starts again. ``mode``
    (``"auto"``, ``"min"``, ``"max"``) says which way is better; ``"auto"``
    reads it from the name (accuracies, precision, recall, AUC, F1 up;
    losses down). The decision is ``ReduceLROnPlateauState``, a pure pytree.

    The rate lives in the optimizer state (optimizers by name are wrapped in
    ``optax.inject_hyperparams``), so changing it does not recompile; it is
    read and set at the end of each epoch, and the epoch's rate (before any
    reduction) is added to the logs as ``learning_rate``, as in Keras.
    ``get_state()`` holds ``best``, ``wait`` and ``cooldown_counter``.

    A ``monitor`` that the epoch's logs lack raises a ValueError listing the
    logs and the closest name (``monitored_value``), in the first epoch
    before the rate changes. The arguments are checked when it is made:
    ``monitor`` a non-empty str, ``mode`` one of ``"auto"``, ``"min"``,
    ``"max"``, ``factor`` in (0, 1), ``patience`` and ``cooldown``
    non-negative ints, ``min_delta`` and ``min_lr`` (>= 0) finite numbers,
    ``verbose`` 0 or 1.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: Mode = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        check_monitor(monitor)
        hyperparameter("factor", factor)
        if not 0 < factor < 1:  # 0 would drop the rate to min_lr at once; 1 and above never reduce it
            raise ValueError(f"factor must be a number in (0, 1), got {factor!r}")
        hyperparameter("patience", patience, integer=True, low=0)
        hyperparameter("min_delta", min_delta)
        hyperparameter("cooldown", cooldown, integer=True, low=0)
        hyperparameter("min_lr", min_lr, low=0)
        self.monitor, self.verbose = monitor, check_verbose(verbose)
        self.rule = ReduceLROnPlateauRule(
            monitor_sign(monitor, mode), float(factor), patience, abs(min_delta), cooldown, float(min_lr)
        )
        self.state = ReduceLROnPlateauState.start(self.rule)

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        restored, self._restored = getattr(self, "_restored", False), False
        if not restored:
            self.state = ReduceLROnPlateauState.start(self.rule)

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        self._restored = False
        current = learning_rate_of(state.opt_state, "ReduceLROnPlateau")
        logs["learning_rate"] = float(current)
        value = monitored_value("ReduceLROnPlateau", self.monitor, logs)
        self.state, new = self.state.update(value, current)
        if float(new) == float(current):
            return None
        if self.verbose:
            print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {float(new):g}.")
        return state.with_hyperparameters(learning_rate=new)

    def get_state(self) -> dict[str, Any]:
        """``{"best", "wait", "cooldown_counter"}`` (best None while infinite)."""
        return {
            "best": json_number(self.state.best),
            "wait": int(self.state.wait),
            "cooldown_counter": int(self.state.cooldown_counter),
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore the counters of ``get_state``; the next ``on_train_begin`` keeps them."""
        start = ReduceLROnPlateauState.start(self.rule)
        self.state = ReduceLROnPlateauState(
            self.rule,
            best=jnp.asarray(from_json_number(state["best"], float(start.best)), jnp.float32),
            wait=jnp.asarray(state["wait"], jnp.int32),
            cooldown_counter=jnp.asarray(state["cooldown_counter"], jnp.int32),
        )
        self._restored = True
