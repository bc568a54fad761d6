"""What ``fit`` prints: a tqdm bar per epoch (``verbose=1``), a line per epoch (``verbose=2``), or nothing.

A compiled epoch reports its running logs to the host with
``jax.debug.callback(report, token, done, logs)``; ``register`` gives each
running ``fit`` its token, so concurrent fits (threads) keep their own bars.
"""

import itertools
import sys
import threading

from tqdm.auto import tqdm

_RUNNING, _TOKENS, _LOCK = {}, itertools.count(), threading.Lock()


def format_logs(logs):
    """Keras's ``loss: 0.1234 - accuracy: 0.9500`` form."""
    return " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())


def register(progress) -> int:
    """A token under which compiled code reaches ``progress`` until ``unregister(token)``."""
    with _LOCK:
        token = next(_TOKENS) % 2**31
        _RUNNING[token] = progress
    return token


def unregister(token):
    with _LOCK:
        _RUNNING.pop(token, None)


def report(token, done, logs):
    """Host side of the epoch's callback: update the bar of the fit holding ``token``."""
    progress = _RUNNING.get(int(token))
    if progress is not None:
        progress.update(int(done), {name: float(value) for name, value in logs.items()})


class Progress:
    """Progress of one ``fit``; ``update`` is called from inside the compiled epoch, a few times per epoch."""

    def __init__(self, epochs, num_batches, verbose, file=None):
        self.epochs, self.num_batches, self.verbose = epochs, num_batches, verbose
        self.file = file or sys.stdout
        self.bar = None

    def begin_epoch(self, epoch):
        self.epoch = epoch
        if self.verbose == 1:
            self.bar = tqdm(total=self.num_batches, desc=f"Epoch {epoch + 1}/{self.epochs}", unit="batch",
                            file=self.file, dynamic_ncols=True, leave=True)

    def update(self, done, logs):
        """The running logs after ``done`` batches."""
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix_str(format_logs(logs))

    def end_epoch(self, logs, seconds):
        if self.verbose == 1:
            if self.num_batches is not None:
                self.bar.update(self.num_batches - self.bar.n)
            self.bar.set_postfix_str(format_logs(logs))
            self.bar.close()
            self.bar = None
        elif self.verbose == 2:
            print(f"Epoch {self.epoch + 1}/{self.epochs} - {seconds:.2f}s - {format_logs(logs)}", file=self.file)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
