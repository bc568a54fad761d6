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
layer over it; so is ``ReduceLROnPlateauState`` for ``ReduceLROnPlateau``.
``run_hooks`` is how ``fit`` calls a hook on every callback.
``monitored_value(callback_name, monitor, logs)`` is how ``EarlyStopping``,
``ReduceLROnPlateau`` and ``ModelCheckpoint`` read their ``monitor``: a name
that the first epoch's logs lack raises, listing the logs and the closest one.

A stateful callback's counters come out with ``get_state()`` (a
JSON-serializable dict) and go back with ``set_state(dict)``, so that a
checkpoint restores them exactly; stateless callbacks return ``{}``.
"""

from fnnet.callbacks.base import Callback, History, Resume, as_list, monitored_value, resume, run_hooks
from fnnet.callbacks.checkpoints import BackupAndRestore, ModelCheckpoint
from fnnet.callbacks.custom import LambdaCallback
from fnnet.callbacks.early_stopping import (
    EarlyStopping,
    EarlyStoppingRule,
    EarlyStoppingState,
    keep_best,
    monitor_sign,
)
from fnnet.callbacks.plateau import ReduceLROnPlateau, ReduceLROnPlateauRule, ReduceLROnPlateauState
from fnnet.callbacks.tensorboard import TensorBoard
from fnnet.callbacks.training import CSVLogger, LearningRateScheduler, TerminateOnNaN

__all__ = [
    "as_list",
    "BackupAndRestore",
    "ModelCheckpoint",
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "EarlyStoppingRule",
    "EarlyStoppingState",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "Resume",
    "ReduceLROnPlateau",
    "ReduceLROnPlateauRule",
    "ReduceLROnPlateauState",
    "TensorBoard",
    "TerminateOnNaN",
    "keep_best",
    "monitor_sign",
    "monitored_value",
    "resume",
    "run_hooks",
]
