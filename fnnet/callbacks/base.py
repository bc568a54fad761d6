"""The ``Callback`` base class, ``History``, ``Resume`` and ``run_hooks``: how ``fit`` calls the hooks.

Before training, ``fit`` calls ``set_training(trainer, callbacks)`` on every
callback (so a checkpointing callback can reach the model and the other
callbacks' states), then the ``on_train_begin`` hooks, then ``resume(state)``:
the first callback that returns a ``Resume`` (``BackupAndRestore`` after a
crash) sets the state, the epoch to continue from, the history so far and the
callbacks' states.
"""

import math
from typing import Any, NamedTuple


class Resume(NamedTuple):
    """Where a resumed run continues: its state, the number of epochs done, the history and callback states."""

    state: Any
    epoch: int
    history: dict
    callback_states: list  # one get_state() dict per callback fit was given, in order (History not included)


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

    stop_training = False
    trainer = None
    callbacks = ()

    def set_training(self, trainer, callbacks):
        """Called by ``fit`` first: the ``Trainer`` and the user's callbacks, in order (``History`` last)."""
        self.trainer, self.callbacks = trainer, callbacks

    def on_train_begin(self, state):
        return None

    def resume(self, state):
        """A ``Resume`` to continue an interrupted run from, or None (the default)."""
        return None

    def on_epoch_begin(self, epoch, state):
        return None

    def on_epoch_end(self, epoch, logs, state):
        return None

    def on_train_end(self, state):
        return None

    def get_state(self) -> dict:
        """What this callback counts, as a JSON-serializable dict (``{}``: nothing)."""
        return {}

    def set_state(self, state: dict):
        """Restore what ``get_state`` returned (the default keeps nothing)."""
        return None


class History(Callback):
    """Records every epoch's logs: ``history[name]`` lists the values, ``epoch`` the epoch indices."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def on_train_begin(self, state):
        self.history, self.epoch = {}, []

    def get_state(self):
        return {"history": self.history, "epoch": self.epoch}

    def set_state(self, state):
        self.history = {name: list(values) for name, values in state["history"].items()}
        self.epoch = list(state["epoch"])

    def on_epoch_end(self, epoch, logs, state):
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)


def run_hooks(callbacks, hook, state, *args):
    """Call ``hook`` on every callback in order; a hook returning a state replaces the current one."""
    for callback in callbacks:
        new = getattr(callback, hook)(*args, state)
        state = state if new is None else new
    return state


def resume(callbacks, history, state):
    """``(state, first epoch)`` after the first callback's ``Resume``, applied to ``callbacks`` and ``history``.

    Without one, ``(state, 0)``. ``callbacks`` are the user's, in order; the
    ``Resume`` must hold one state per callback.
    """
    for callback in callbacks:
        found = callback.resume(state)
        if found is not None:
            if len(found.callback_states) != len(callbacks):
                raise ValueError(f"the checkpoint holds the states of {len(found.callback_states)} callbacks, but "
                                 f"fit was given {len(callbacks)}; resume with the callbacks of the interrupted run")
            for other, saved in zip(callbacks, found.callback_states):
                other.set_state(saved)
            history.set_state({"history": found.history, "epoch": list(range(found.epoch))})
            return found.state, found.epoch
    return state, 0


def json_number(value):
    """A float for JSON: ``None`` for an infinite or NaN value (strict JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def from_json_number(value, default):
    """The float ``json_number`` wrote, or ``default`` for ``None``."""
    return default if value is None else float(value)
