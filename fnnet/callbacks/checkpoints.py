"""``ModelCheckpoint`` and ``BackupAndRestore``: Keras's checkpointing callbacks over ``fnnet.saving``.

Both write safetensors files atomically (a crash or a full disk during a
write leaves the previous file intact) and reach the model and the other
callbacks through ``set_training``: a full checkpoint holds the
``TrainState``, the epoch, the history, every callback's ``get_state()``
and the params a callback keeps (``EarlyStopping``'s ``best_params``), so
that ``BackupAndRestore`` resumes an interrupted ``fit`` where it stopped:
the resumed run equals the uninterrupted one, bit for bit on CPU.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

import jax

from fnnet import saving
from fnnet._checks import flag, hyperparameter, path_like
from fnnet.callbacks.base import (
    Callback,
    History,
    Resume,
    check_monitor,
    check_verbose,
    from_json_number,
    json_number,
    monitored_value,
)
from fnnet.callbacks.early_stopping import monitor_sign
from fnnet.protocols import Logs, Mode, Params, ShapeLike
from fnnet.state import TrainState
from fnnet.training.hooks import Training


def _check_save_freq(save_freq: str) -> None:
    if save_freq != "epoch":
        raise ValueError(
            f"save_freq must be 'epoch', got {save_freq!r}: an fnnet epoch runs as one compiled program, "
            "so there is no point between its batches to save at"
        )


def _writer() -> bool:
    return jax.process_index() == 0


def _remove(path: str) -> None:
    if _writer():
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def run_snapshot(callback: Callback) -> tuple[list[Callback], list[dict[str, Any]], dict[int, Params], History | None]:
    """``(user callbacks, their states, their params trees, History)`` of the ``fit`` that ``callback`` is in."""
    if callback.trainer is None:
        raise RuntimeError(f"{type(callback).__name__} runs inside fit (which calls set_training first)")
    callbacks = list(callback.callbacks)
    history = callbacks[-1] if callbacks and isinstance(callbacks[-1], History) else None
    if history is not None:
        callbacks.pop()
    states = [other.get_state() for other in callbacks]
    bests = [getattr(other, "best_params", None) for other in callbacks]  # EarlyStopping's, not every Callback's
    params = {i: best for i, best in enumerate(bests) if best is not None}
    return callbacks, states, params, history


def write_checkpoint(
    callback: Callback,
    path: str,
    state: TrainState,
    epoch: int,
    logs: Logs | None = None,
    input_shape: ShapeLike | None = None,
) -> str:
    """Write ``fit``'s whole run as of ``epoch`` epochs done; ``logs``: the last epoch's, not yet in History."""
    _, states, params, history = run_snapshot(callback)
    recorded = {name: list(values) for name, values in (history.history if history else {}).items()}
    for name, value in (logs or {}).items():
        recorded.setdefault(name, []).append(value)
    assert callback.trainer is not None  # run_snapshot checked
    return saving.save_checkpoint(
        path,
        state,
        model=callback.trainer.model,
        epoch=epoch,
        history=recorded,
        callbacks_state=states,
        callbacks_params=params,
        input_shape=input_shape,
    )


class ModelCheckpoint(Callback):
    """Save the model, or the whole training state, at the end of every epoch (Keras's ``ModelCheckpoint``).

    Args:
        filepath: the file, formatted as Keras does,
            ``filepath.format(epoch=epoch + 1, **logs)``
            (``"ckpt/{epoch:02d}-{val_loss:.3f}.safetensors"``); its folder is created.
        monitor: the log to compare for ``save_best_only`` (and ``keep_best``).
        verbose: 1 prints a line per save.
        save_best_only: save only when ``monitor`` improves on the best so far
            (strictly). The first epoch decides: a ``monitor`` that the first
            epoch's logs lack is a typo and raises a ValueError listing the
            logs and the closest name (``monitored_value``), before anything
            is saved; a later epoch without it is skipped with a warning, as
            in Keras. (Without ``save_best_only`` or ``keep_best`` the
            monitor is not read.)
        save_weights_only: True writes ``fn.save_model``'s file (model and
            params); False a checkpoint with the whole state
            (``fn.load_checkpoint``; ``fn.load_model`` opens it too).
        mode: ``"auto"``, ``"min"`` or ``"max"``: how ``monitor`` improves.
        save_freq: ``"epoch"`` (the only point between compiled epochs).
        initial_value_threshold: the value the first save must beat.
        keep: keep only the latest ``keep`` files this callback wrote (None: all),
            deleting older ones only once the new file is complete.
        keep_best: with ``keep``, also keep the file of the best ``monitor``.
        input_shape: the model's input shape, when it cannot be told from the
            params (see ``fn.save_model``).

    A full checkpoint holds the state as this callback sees it at the end of
    the epoch: callbacks listed after it have not yet run their
    ``on_epoch_end``. ``BackupAndRestore`` is the callback for resuming.

    The arguments are checked when it is made: ``monitor`` a non-empty str,
    ``mode`` one of ``"auto"``, ``"min"``, ``"max"``, ``save_best_only``,
    ``save_weights_only`` and ``keep_best`` bools, ``verbose`` 0 or 1,
    ``initial_value_threshold`` None or a finite number.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: Mode = "auto",
        save_freq: str = "epoch",
        initial_value_threshold: float | None = None,
        *,
        keep: int | None = None,
        keep_best: bool = False,
        input_shape: ShapeLike | None = None,
    ) -> None:
        self.filepath = path_like("filepath", filepath)
        check_monitor(monitor)
        save_best_only = flag("save_best_only", save_best_only)
        save_weights_only = flag("save_weights_only", save_weights_only)
        keep_best = flag("keep_best", keep_best)
        verbose = check_verbose(verbose)
        _check_save_freq(save_freq)
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
            raise ValueError(f"keep must be None or a positive int, got {keep!r}")
        if keep_best and keep is None:
            raise ValueError("keep_best=True keeps the best file among the latest `keep`; pass keep=N too")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self.save_weights_only, self.keep, self.keep_best, self.input_shape = (
            save_weights_only,
            keep,
            keep_best,
            input_shape,
        )
        self.sign = monitor_sign(monitor, mode) if save_best_only or keep_best else -1.0
        if initial_value_threshold is not None:
            hyperparameter("initial_value_threshold", initial_value_threshold)
        self.initial_value_threshold = initial_value_threshold
        self.reset()
        self.first_epoch = True  # the first epoch of a fit requires the monitor (see monitored_value)

    def reset(self) -> None:
        """Forget the best value and the files written (``on_train_begin`` does, unless a state was set)."""
        threshold = self.initial_value_threshold
        self.best = -self.sign * math.inf if threshold is None else float(threshold)
        self.written, self.best_path, self.restored = [], None, False

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        if not self.restored:
            self.reset()
        self.restored, self.first_epoch = False, True

    def get_state(self) -> dict[str, Any]:
        """``{"best", "best_path", "written"}``: the best value (None while infinite) and the files kept."""
        return {
            "best": json_number(self.best),
            "best_path": self.best_path,
            "written": [[path, json_number(value) if value is not None else None] for path, value in self.written],
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.best = from_json_number(state["best"], -self.sign * math.inf)
        self.best_path = state.get("best_path")
        self.written = [(path, value) for path, value in state.get("written", [])]
        self.restored = True

    def format_path(self, epoch: int, logs: Logs) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as error:
            raise ValueError(
                f"ModelCheckpoint filepath {self.filepath!r} names {error.args[0]!r}, which is not in "
                f"the logs: {sorted(logs)} (and 'epoch')"
            ) from None

    def improves(self, value: float | None) -> TypeGuard[float]:
        return value is not None and self.sign * value > self.sign * self.best

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        if self.save_best_only or self.keep_best:
            current = monitored_value("ModelCheckpoint", self.monitor, logs, required=self.first_epoch)
        else:
            current = logs.get(self.monitor)
        self.first_epoch = False
        if self.save_best_only:
            if current is None:
                warnings.warn(
                    f"ModelCheckpoint can save the best model only with {self.monitor} in the logs "
                    f"(recorded: {sorted(logs)}); skipping",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return
            if not self.improves(current):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
        path = self.format_path(epoch, logs)
        if self.verbose:
            print(
                f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, saving model "
                f"to {path}"
                if self.save_best_only
                else f"Epoch {epoch + 1}: saving model to {path}"
            )
        before = self.best, self.best_path, self.written
        if self.improves(current):
            self.best, self.best_path = float(current), path
        self.written = [(p, v) for p, v in self.written if p != path] + [(path, current)]
        dropped = self.prune()  # the state saved is the state after this save
        try:
            self.save(path, epoch, logs, state)
        except BaseException:
            self.best, self.best_path, self.written = before
            raise
        for old in dropped:
            _remove(old)

    def save(self, path: str, epoch: int, logs: Logs, state: TrainState) -> None:
        """Write ``path`` (its folder created): a model file or a full checkpoint."""
        folder = os.path.dirname(os.path.abspath(path))
        if _writer():
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            assert self.trainer is not None  # fit set it
            saving.save_model(path, self.trainer.model, state.params, input_shape=self.input_shape)
        else:
            write_checkpoint(self, path, state, epoch + 1, logs, self.input_shape)

    def prune(self) -> list[str]:
        """Drop from ``written`` the files beyond the latest ``keep`` (not the best with ``keep_best``).

        Returns them; they are deleted once the new file is complete.
        """
        if self.keep is None or len(self.written) <= self.keep:
            return []
        kept = {path for path, _ in self.written[-self.keep :]}
        if self.keep_best and self.best_path is not None:
            kept.add(self.best_path)
        dropped = [path for path, _ in self.written if path not in kept]
        self.written = [(path, value) for path, value in self.written if path in kept]
        return dropped


class BackupAndRestore(Callback):
    """Back the whole run up every epoch; after a crash, the same ``fit`` continues from the backup.

    Keras's ``BackupAndRestore``: the backup, ``backup_dir/latest.safetensors``,
    holds the ``TrainState``, the epochs done, the history and every
    callback's state. When ``fit`` starts and a backup exists, ``resume``
    loads it against the state ``fit`` was given (its tree is the template:
    the model, optimizer and callbacks must be the interrupted run's) and
    training continues after the last completed epoch, at most one epoch of
    work lost; with fnnet's key-derived shuffles and dropout the resumed run
    equals the uninterrupted one, bit for bit on CPU.

    An epoch's backup is written when the next epoch begins (or, with
    ``delete_checkpoint=False``, when training ends), so that it holds what
    every callback made of the epoch. List it before any callback whose
    ``on_epoch_begin`` changes the state (``LearningRateScheduler``): a change
    made before the backup would be made twice on resuming.

    Args:
        backup_dir: the folder of the backup (created).
        save_freq: ``"epoch"``.
        delete_checkpoint: remove the backup when training ends normally (a bool).
        input_shape: the model's input shape, when it cannot be told from the
            params (see ``fn.save_model``).
    """

    FILENAME = "latest.safetensors"

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        save_freq: str = "epoch",
        delete_checkpoint: bool = True,
        *,
        input_shape: ShapeLike | None = None,
    ) -> None:
        _check_save_freq(save_freq)
        self.backup_dir = path_like("backup_dir", backup_dir)
        self.delete_checkpoint, self.input_shape = flag("delete_checkpoint", delete_checkpoint), input_shape
        self.pending = None

    @property
    def path(self) -> str:
        return os.path.join(self.backup_dir, self.FILENAME)

    def set_training(self, trainer: Training, callbacks: Sequence[Callback]) -> None:
        super().set_training(trainer, callbacks)
        before = list(callbacks)[: list(callbacks).index(self)] if self in callbacks else []
        changing = [type(c).__name__ for c in before if type(c).on_epoch_begin is not Callback.on_epoch_begin]
        if changing:
            warnings.warn(
                f"BackupAndRestore comes after {changing}, whose on_epoch_begin runs before each backup is "
                "written: list BackupAndRestore first so that resuming does not repeat their changes",
                RuntimeWarning,
                stacklevel=2,
            )

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        self.pending = None
        if _writer():
            os.makedirs(self.backup_dir, exist_ok=True)

    def resume(self, state: TrainState) -> Resume | None:
        """The backup as a ``Resume``, restored against ``state``; None when there is none."""
        for leftover in saving.container.temporary_files(self.path):
            _remove(leftover)
        if not os.path.exists(self.path):
            return None
        try:
            checkpoint = saving.load_checkpoint(self.path, like=state)
        except ValueError as error:
            raise ValueError(
                f"BackupAndRestore cannot resume from {self.path}: {error}. It must be resumed with "
                f"the interrupted run's model, optimizer and callbacks; delete {self.backup_dir} to "
                "start afresh"
            ) from None
        callbacks, _, _, _ = run_snapshot(self)
        for position, params in checkpoint.callbacks_params.items():
            if position < len(callbacks):
                setattr(callbacks[position], "best_params", params)  # noqa: B010  (EarlyStopping's, say)
        return Resume(checkpoint.state, checkpoint.epoch, checkpoint.history, checkpoint.callbacks_state or [])

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        self.pending = (epoch, state)

    def on_epoch_begin(self, epoch: int, state: TrainState) -> TrainState | None:
        if self.pending is not None:
            write_checkpoint(self, self.path, state, epoch, input_shape=self.input_shape)
            self.pending = None

    def on_train_end(self, state: TrainState) -> TrainState | None:
        if self.delete_checkpoint:
            for path in [self.path, *saving.container.temporary_files(self.path)]:
                _remove(path)
            if _writer() and os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)
        elif self.pending is not None:
            epoch, last = self.pending
            write_checkpoint(self, self.path, last, epoch + 1, input_shape=self.input_shape)
        self.pending = None
