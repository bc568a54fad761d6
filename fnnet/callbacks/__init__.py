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

from fnnet.callbacks.base import Callback, History, Resume, resume, run_hooks
from fnnet.callbacks.early_stopping import (
    EarlyStopping,
    EarlyStoppingRule,
    EarlyStoppingState,
    keep_best,
    monitor_sign,
)
from fnnet.callbacks.training import CSVLogger, LearningRateScheduler, TerminateOnNaN

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "EarlyStoppingRule",
    "EarlyStoppingState",
    "History",
    "LearningRateScheduler",
    "Resume",
    "TerminateOnNaN",
    "keep_best",
    "monitor_sign",
    "resume",
    "run_hooks",
]
