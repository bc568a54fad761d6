"""``TensorBoard``: each epoch's logs as TensorBoard scalars, written by tensorboardX (an optional extra)."""

from __future__ import annotations

import os
from typing import Any

from fnnet._checks import path_like
from fnnet.callbacks.base import Callback
from fnnet.protocols import Logs
from fnnet.state import TrainState


def _summary_writer_class() -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError(
            "callbacks.TensorBoard writes with tensorboardX, which is not installed: "
            "pip install fnnet[tensorboard] (or pip install tensorboardX)"
        ) from error
    return SummaryWriter


class TensorBoard(Callback):
    """Write every log of every epoch as a scalar TensorBoard can show, laid out as Keras's ``TensorBoard``.

    Training logs go to ``log_dir/train`` and validation logs (``val_*``) to
    ``log_dir/validation``, each under the tag ``epoch_<name>`` at step
    ``epoch``: ``loss`` and ``val_loss`` become two ``epoch_loss`` curves,
    one per run, that TensorBoard draws together. Run ``tensorboard
    --logdir log_dir`` to see them.

    tensorboardX is an optional dependency (``pip install
    fnnet[tensorboard]``), imported when the callback is made. fnnet runs an
    epoch as one compiled program, so scalars are written once per epoch
    (``update_freq="epoch"``, the only one there is); histograms, graphs and
    profiles are not written.
    """

    def __init__(self, log_dir: str | os.PathLike[str] = "logs", update_freq: str = "epoch") -> None:
        if update_freq != "epoch":
            raise ValueError(
                f"TensorBoard writes once per epoch (update_freq='epoch'), got update_freq={update_freq!r}: "
                "an epoch is one compiled program"
            )
        self.log_dir = path_like("log_dir", log_dir)
        self.writer_class = _summary_writer_class()
        self.writers: dict[str, Any] = {}

    def _writer(self, run: str) -> Any:
        if run not in self.writers:
            self.writers[run] = self.writer_class(os.path.join(self.log_dir, run))
        return self.writers[run]

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        self.close()

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        runs = set()
        for name, value in logs.items():
            run, tag = ("validation", name.removeprefix("val_")) if name.startswith("val_") else ("train", name)
            self._writer(run).add_scalar(f"epoch_{tag}", float(value), global_step=epoch)
            runs.add(run)
        for run in runs:
            self.writers[run].flush()

    def on_train_end(self, state: TrainState) -> TrainState | None:
        self.close()

    def close(self) -> None:
        """Close the event files written so far (training ends with it)."""
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
