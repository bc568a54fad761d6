"""How ``fit`` calls callbacks: the ``Callback`` base class, ``History``, ``Resume`` and ``run_hooks``.

Before training, ``fit`` calls ``set_training(trainer, callbacks)`` on every
callback (so a checkpointing callback can reach the model and the other
callbacks' states), then the ``on_train_begin`` hooks, then ``resume(state)``:
the first callback that returns a ``Resume`` (``BackupAndRestore`` after a
crash) sets the state, the epoch to continue from, the history so far and the
callbacks' states.

The hooks live in training (the loop that calls them); the callbacks that
implement them (``fnnet.callbacks``) build on training and saving.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import optax

from fnnet.layers import Layer
from fnnet.named_optimizer import scheduled_learning_rate
from fnnet.progress import Progress
from fnnet.protocols import CallbackLike, Logs
from fnnet.state import TrainState

__all__ = ["Callback", "History", "Resume", "Training", "as_list", "resume", "run_epochs", "run_hooks"]


class Training(Protocol):
    """What the hooks see of the ``Trainer`` that runs them (``fnnet.training.Trainer``): its model and optimizer."""

    @property
    def model(self) -> Layer: ...

    @property
    def optimizer(self) -> optax.GradientTransformation: ...


class Resume(NamedTuple):
    """Where a resumed run continues: its state, the number of epochs done, the history and callback states."""

    state: TrainState
    epoch: int
    history: dict[str, list[float]]
    # one get_state() dict per callback fit was given, in order (History not included)
    callback_states: list[dict[str, Any]]


class Callback:
    """Base class: every hook does nothing; set ``stop_training = True`` to stop.

    ``get_state()``/``set_state(state)`` hold what a callback must remember
    across a checkpoint (JSON-serializable); the base has nothing to keep.
    ``get_state() -> dict`` gives the counters a stateful callback keeps
    (epochs waited, the best value so far, ...) as numbers, strings,
    booleans, None, lists and dicts (an infinite value is written as None),
    and ``set_state(dict)`` puts them back exactly, so that a resumed run
    decides as the uninterrupted one would. ``fit`` calls ``set_state``
    after ``on_train_begin`` (through ``resume``); a callback restored
    before ``fit`` keeps its state through ``on_train_begin`` too. Arrays
    (such as ``EarlyStopping.best_params``) are not in it: a checkpoint
    stores those as tensors. The defaults: ``{}`` and a no-op.
    """

    stop_training: bool = False
    trainer: Training | None = None
    callbacks: Sequence[Callback] = ()

    def set_training(self, trainer: Training, callbacks: Sequence[Callback]) -> None:
        """Called by ``fit`` first: the ``Trainer`` and the user's callbacks, in order (``History`` last)."""
        self.trainer, self.callbacks = trainer, callbacks

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        return None

    def resume(self, state: TrainState) -> Resume | None:
        """A ``Resume`` to continue an interrupted run from, or None (the default)."""
        return None

    def on_epoch_begin(self, epoch: int, state: TrainState) -> TrainState | None:
        return None

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        return None

    def on_train_end(self, state: TrainState) -> TrainState | None:
        return None

    def get_state(self) -> dict[str, Any]:
        """What this callback counts, as a JSON-serializable dict (``{}``: nothing)."""
        return {}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore what ``get_state`` returned (the default keeps nothing)."""
        return None


class History(Callback):
    """Records every epoch's logs: ``history[name]`` lists the values, ``epoch`` the epoch indices."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        self.history, self.epoch = {}, []

    def get_state(self) -> dict[str, Any]:
        return {"history": self.history, "epoch": self.epoch}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.history = {name: list(values) for name, values in state["history"].items()}
        self.epoch = list(state["epoch"])

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)


def as_list(callbacks: Callback | Iterable[Callback] | None) -> list[Callback]:
    """``callbacks`` as a list: one ``Callback`` alone is ``[callback]`` (Keras users pass one); others are named."""
    if isinstance(callbacks, Callback):
        return [callbacks]
    if callbacks is None:
        return []
    if not isinstance(callbacks, Iterable) or isinstance(callbacks, (str, bytes, dict)):
        raise TypeError(f"callbacks must be a list of fnnet.callbacks.Callback, got {callbacks!r}")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be fnnet.callbacks.Callback instances, got {callback!r}")
    return callbacks


def run_hooks(callbacks: Iterable[CallbackLike], hook: str, state: TrainState, *args: Any) -> TrainState:
    """Call ``hook`` on every callback in order; a hook returning a state replaces the current one."""
    for callback in callbacks:
        new = getattr(callback, hook)(*args, state)
        state = state if new is None else new
    return state


def resume(callbacks: Sequence[Callback], history: History, state: TrainState) -> tuple[TrainState, int]:
    """``(state, first epoch)`` after the first callback's ``Resume``, applied to ``callbacks`` and ``history``.

    Without one, ``(state, 0)``. ``callbacks`` are the user's, in order; the
    ``Resume`` must hold one state per callback.
    """
    for callback in callbacks:
        found = callback.resume(state)
        if found is not None:
            if len(found.callback_states) != len(callbacks):
                raise ValueError(
                    f"the checkpoint holds the states of {len(found.callback_states)} callbacks, but "
                    f"fit was given {len(callbacks)}; resume with the callbacks of the interrupted run"
                )
            for other, saved in zip(callbacks, found.callback_states):
                other.set_state(saved)
            history.set_state({"history": found.history, "epoch": list(range(found.epoch))})
            return found.state, found.epoch
    return state, 0


def run_epochs(
    trainer: Training,
    callbacks: Sequence[Callback],
    state: TrainState,
    epochs: int,
    run_epoch: Callable[[TrainState, int], tuple[TrainState, dict[str, float]]],
    progress: Progress,
) -> tuple[TrainState, History]:
    """``fit``'s loop: epochs of ``run_epoch(state, epoch) -> (state, logs)`` inside every hook.

    A callback's ``stop_training`` stops after its epoch; so does a non-finite
    loss, with a ``RuntimeWarning``. With a learning-rate schedule the logs
    get ``learning_rate``, the rate of the next step (Keras's
    ``optimizer.learning_rate`` at the epoch's end). Returns the last state
    and the ``History``.
    """
    history = History()
    all_callbacks = [*callbacks, history]
    for callback in all_callbacks:
        callback.set_training(trainer, all_callbacks)
    state = run_hooks(all_callbacks, "on_train_begin", state)
    state, first_epoch = resume(list(callbacks), history, state)
    try:
        for epoch in range(first_epoch, epochs):
            state = run_hooks(all_callbacks, "on_epoch_begin", state, epoch)
            progress.begin_epoch(epoch)
            start = time.perf_counter()
            state, logs = run_epoch(state, epoch)
            progress.end_epoch(logs, time.perf_counter() - start)
            rate = scheduled_learning_rate(trainer.optimizer, state.opt_state)
            if rate is not None:  # a schedule's rate, logged as Keras's callbacks log a changed one
                logs["learning_rate"] = rate
            state = run_hooks(all_callbacks, "on_epoch_end", state, epoch, logs)
            if any(callback.stop_training for callback in all_callbacks):
                break
            if not math.isfinite(logs["loss"]):
                warnings.warn(
                    f"fit stopped: the loss of epoch {epoch + 1} is {logs['loss']} (a learning rate too "
                    "high, labels the loss cannot take, or data out of range); callbacks.TerminateOnNaN "
                    "returns the last finite state",
                    RuntimeWarning,
                    stacklevel=4,
                )
                break
    finally:
        progress.close()
    state = run_hooks(all_callbacks, "on_train_end", state)
    return state, history
