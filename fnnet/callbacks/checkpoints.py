"""``ModelCheckpoint`` and ``BackupAndRestore``: Keras's checkpointing callbacks over ``fnnet.saving``.

Both write safetensors files atomically (a crash or a full disk during a
write leaves the previous file intact) and reach the model and the other
callbacks through ``set_training``: a full checkpoint holds the
``TrainState``, the epoch, the history, every callback's ``get_state()``
and the params a callback keeps (``EarlyStopping``'s ``best_params``), so
that ``BackupAndRestore`` resumes an interrupted ``fit`` where it stopped:
the resumed run equals the uninterrupted one, bit for bit on CPU.
"""

import math
import os
import warnings

import jax

from fnnet.callbacks.base import Callback, History, Resume, from_json_number, json_number
from fnnet.callbacks.early_stopping import monitor_sign


def _check_save_freq(save_freq):
    if save_freq != "epoch":
        raise ValueError(f"save_freq must be 'epoch', got {save_freq!r}: an fnnet epoch runs as one compiled program, "
                         "so there is no point between its batches to save at")


def _writer() -> bool:
    return jax.process_index() == 0


def _remove(path):
    if _writer():
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def run_snapshot(callback):
    """``(user callbacks, their states, their params trees, History)`` of the ``fit`` that ``callback`` is in."""
    if callback.trainer is None:
        raise RuntimeError(f"{type(callback).__name__} runs inside fit (which calls set_training first)")
    callbacks = list(callback.callbacks)
    history = callbacks.pop() if callbacks and isinstance(callbacks[-1], History) else None
    states = [other.get_state() for other in callbacks]
    params = {i: other.best_params for i, other in enumerate(callbacks)
              if getattr(other, "best_params", None) is not None}
    return callbacks, states, params, history


def write_checkpoint(callback, path, state, epoch, logs=None, input_shape=None):
    """Write ``fit``'s whole run as of ``epoch`` epochs done; ``logs``: the last epoch's, not yet in History."""
    from fnnet import saving  # saving builds on training, which builds on the callbacks

    _, states, params, history = run_snapshot(callback)
    recorded = {name: list(values) for name, values in (history.history if history else {}).items()}
    for name, value in (logs or {}).items():
        recorded.setdefault(name, []).append(value)
    return saving.save_checkpoint(path, state, model=callback.trainer.model, epoch=epoch, history=recorded,
                                  callbacks_state=states, callbacks_params=params, input_shape=input_shape)


class ModelCheckpoint(Callback):
    """Save the model, or the whole training state, at the end of every epoch (Keras's ``ModelCheckpoint``).

    Args:
        filepath: the file, formatted as Keras does,
            ``filepath.format(epoch=epoch + 1, **logs)``
            (``"ckpt/{epoch:02d}-{val_loss:.3f}.safetensors"``); its folder is created.
        monitor: the log to compare for ``save_best_only`` (and ``keep_best``).
        verbose: 1 prints a line per save.
        save_best_only: save only when ``monitor`` improves on the best so far
            (strictly; an epoch without it in its logs is skipped with a warning).
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
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None, *, keep=None, keep_best=False,
                 input_shape=None):
        self.filepath = os.fspath(filepath)
        _check_save_freq(save_freq)
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
            raise ValueError(f"keep must be None or a positive int, got {keep!r}")
        if keep_best and keep is None:
            raise ValueError("keep_best=True keeps the best file among the latest `keep`; pass keep=N too")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self.save_weights_only, self.keep, self.keep_best, self.input_shape = save_weights_only, keep, keep_best, \
            input_shape
        self.sign = monitor_sign(monitor, mode) if save_best_only or keep_best else -1.0
        if initial_value_threshold is not None and not math.isfinite(float(initial_value_threshold)):
            raise ValueError(f"initial_value_threshold must be finite, got {initial_value_threshold!r}")
        self.initial_value_threshold = initial_value_threshold
        self.reset()

    def reset(self):
        """Forget the best value and the files written (``on_train_begin`` does, unless a state was set)."""
        threshold = self.initial_value_threshold
        self.best = -self.sign * math.inf if threshold is None else float(threshold)
        self.written, self.best_path, self.restored = [], None, False

    def on_train_begin(self, state):
        if not self.restored:
            self.reset()
        self.restored = False

    def get_state(self):
        """``{"best", "best_path", "written"}``: the best value (None while infinite) and the files kept."""
        return {"best": json_number(self.best), "best_path": self.best_path,
                "written": [[path, json_number(value) if value is not None else None] for path, value in self.written]}

    def set_state(self, state):
        self.best = from_json_number(state["best"], -self.sign * math.inf)
        self.best_path = state.get("best_path")
        self.written = [(path, value) for path, value in state.get("written", [])]
        self.restored = True

    def format_path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as error:
            raise ValueError(f"ModelCheckpoint filepath {self.filepath!r} names {error.args[0]!r}, which is not in "
                             f"the logs: {sorted(logs)} (and 'epoch')") from None

    def improves(self, value) -> bool:
        return value is not None and self.sign * value > self.sign * self.best

    def on_epoch_end(self, epoch, logs, state):
        current = logs.get(self.monitor)
        if self.save_best_only:
            if current is None:
                warnings.warn(f"ModelCheckpoint can save the best model only with {self.monitor} in the logs "
                              f"(recorded: {sorted(logs)}); skipping", RuntimeWarning, stacklevel=2)
                return
            if not self.improves(current):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
        path = self.format_path(epoch, logs)
        if self.verbose:
            print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, saving model "
                  f"to {path}" if self.save_best_only else f"Epoch {epoch + 1}: saving model to {path}")
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

    def save(self, path, epoch, logs, state):
        """Write ``path`` (its folder created): a model file or a full checkpoint."""
        from fnnet import saving

        folder = os.path.dirname(os.path.abspath(path))
        if _writer():
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            saving.save_model(path, self.trainer.model, state.params, input_shape=self.input_shape)
        else:
            write_checkpoint(self, path, state, epoch + 1, logs, self.input_shape)

    def prune(self) -> list:
        """Drop from ``written`` the files beyond the latest ``keep`` (not the best with ``keep_best``).

        Returns them; they are deleted once the new file is complete.
        """
        if self.keep is None or len(self.written) <= self.keep:
            return []
        kept = {path for path, _ in self.written[-self.keep:]}
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
        delete_checkpoint: remove the backup when training ends normally.
        input_shape: the model's input shape, when it cannot be told from the
            params (see ``fn.save_model``).
    """

    FILENAME = "latest.safetensors"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, *, input_shape=None):
        _check_save_freq(save_freq)
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint, self.input_shape = delete_checkpoint, input_shape
        self.pending = None

    @property
    def path(self):
        return os.path.join(self.backup_dir, self.FILENAME)

    def set_training(self, trainer, callbacks):
        super().set_training(trainer, callbacks)
        before = list(callbacks)[:list(callbacks).index(self)] if self in callbacks else []
        changing = [type(c).__name__ for c in before if type(c).on_epoch_begin is not Callback.on_epoch_begin]
        if changing:
            warnings.warn(f"BackupAndRestore comes after {changing}, whose on_epoch_begin runs before each backup is "
                          "written: list BackupAndRestore first so that resuming does not repeat their changes",
                          RuntimeWarning, stacklevel=2)

    def on_train_begin(self, state):
        self.pending = None
        if _writer():
            os.makedirs(self.backup_dir, exist_ok=True)

    def resume(self, state):
        """The backup as a ``Resume``, restored against ``state``; None when there is none."""
        from fnnet import saving

        for leftover in saving.container.temporary_files(self.path):
            _remove(leftover)
        if not os.path.exists(self.path):
            return None
        try:
            checkpoint = saving.load_checkpoint(self.path, like=state)
        except ValueError as error:
            raise ValueError(f"BackupAndRestore cannot resume from {self.path}: {error}. It must be resumed with "
                             f"the interrupted run's model, optimizer and callbacks; delete {self.backup_dir} to "
                             "start afresh") from None
        callbacks, _, _, _ = run_snapshot(self)
        for position, params in checkpoint.callbacks_params.items():
            if position < len(callbacks):
                callbacks[position].best_params = params
        return Resume(checkpoint.state, checkpoint.epoch, checkpoint.history, checkpoint.callbacks_state or [])

    def on_epoch_end(self, epoch, logs, state):
        self.pending = (epoch, state)

    def on_epoch_begin(self, epoch, state):
        if self.pending is not None:
            write_checkpoint(self, self.path, state, epoch, input_shape=self.input_shape)
            self.pending = None

    def on_train_end(self, state):
        if self.delete_checkpoint:
            from fnnet import saving

            for path in [self.path, *saving.container.temporary_files(self.path)]:
                _remove(path)
            if _writer() and os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)
        elif self.pending is not None:
            epoch, last = self.pending
            write_checkpoint(self, self.path, last, epoch + 1, input_shape=self.input_shape)
        self.pending = None
