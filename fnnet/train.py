"""Deprecated path: ``fnnet.train`` became the ``fnnet.training`` package (and ``fnnet.state``).

``import fnnet.train`` keeps working for one release with a ``DeprecationWarning``;
its public names are the same objects as in their new homes (``train_epoch``
and ``evaluate_batches`` changed signature and live in ``fnnet.training.epoch``).
"""

import warnings

from fnnet.state import TrainState, init_state
from fnnet.training import Trainer, compile, train_step  # noqa: A004 (Keras's name)

__all__ = ["TrainState", "Trainer", "compile", "init_state", "train_step"]

warnings.warn(
    "fnnet.train moved to fnnet.training (TrainState and init_state to fnnet.state); fnnet.train goes in the next "
    "release",
    DeprecationWarning,
    stacklevel=2,
)
