"""Training: the pure step, the compiled epoch, input checks, the hooks, and ``compile``/``Trainer``.

``TrainState`` and the randomness contract live in ``fnnet.state`` (below
training and saving, which both use them); ``fnnet.training.TrainState`` is the same class.

- ``step``: the ``Objective`` and the pure ``train_step``;
- ``epoch``: the batch order and the compiled programs (epoch, chunk, evaluate, predict);
- ``inputs``: ``prepare``, the one door of ``fit``'s and ``evaluate``'s data (a ``Data`` value), and the host checks;
- ``trainer``: ``compile`` and the Keras workflow ``fit``/``evaluate``/``predict``.
"""

from fnnet.training import epoch  # noqa: F401  (fnnet.training.epoch: the batch order, which the Playground uses)
from fnnet.training.epoch import TRACES
from fnnet.state import TrainState, init_state
from fnnet.training.step import Objective, objective, train_step
from fnnet.training.trainer import Trainer, compile

__all__ = ["TRACES", "Objective", "TrainState", "Trainer", "compile", "init_state", "objective", "train_step"]
