"""Training: the state, the pure step, the compiled epoch, input checks, and ``compile``/``Trainer``.

- ``state``: ``TrainState`` and how a run's randomness derives from its key;
- ``step``: the ``Objective`` and the pure ``train_step``;
- ``epoch``: the batch order and the compiled programs (epoch, chunk, evaluate, predict);
- ``inputs``: ``prepare``, the one door of ``fit``'s and ``evaluate``'s data (a ``Data`` value), and the host checks;
- ``trainer``: ``compile`` and the Keras workflow ``fit``/``evaluate``/``predict``.
"""

from fnnet.training import epoch  # noqa: F401  (fnnet.training.epoch: the batch order, which the Playground uses)
from fnnet.training.epoch import TRACES
from fnnet.training.state import TrainState, init_state
from fnnet.training.step import Objective, objective, train_step
from fnnet.training.trainer import Trainer, compile

__all__ = ["TRACES", "Objective", "TrainState", "Trainer", "compile", "init_state", "objective", "train_step"]
