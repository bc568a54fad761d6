"""What ``fit`` prints: a tqdm bar per epoch (``verbose=1``), a line per epoch (``verbose=2``), or nothing.

A compiled epoch reports its running logs to the host with
``jax.debug.callback(report, token, done, logs)``; ``register`` gives each
running ``fit`` its token, so concurrent fits (threads) keep their own bars.
"""

import itertools
import sys
import threading
from collections.abc import Mapping
from typing import Any, TextIO

from tqdm.auto import tqdm

_RUNNING: dict[int, "Progress"] = {}
_TOKENS, _LOCK = itertools.count(), threading.Lock()


def format_logs(logs: Mapping[str, float]) -> str:
    """Keras's ``loss: 0.1234 - accuracy: 0.9500`` form."""
    return " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())


def register(progress: "Progress") -> int:
    """A token under which compiled code reaches ``progress`` until ``unregister(token)``."""
    with _LOCK:
        token = next(_TOKENS) % 2**31
        _RUNNING[token] = progress
    return token


def unregister(token: int) -> None:
    with _LOCK:
        _RUNNING.pop(token, None)


def report(token: Any, done: Any, logs: Mapping[str, Any]) -> None:
    """Host side of the epoch's callback: update the bar of the fit holding ``token``."""
    progress = _RUNNING.get(int(token))
    if progress is not None:
        progress.update(int(done), {name: float(value) for name, value in logs.items()})


class Progress:
    """Progress of one ``fit``; ``update`` is called from inside the compiled epoch, a few times per epoch."""

    def __init__(self, epochs: int, num_batches: int | None, verbose: int, file: TextIO | None = None) -> None:
        self.epochs, self.num_batches, self.verbose = epochs, num_batches, verbose
        self.file = file or sys.stdout
        self.bar: tqdm | None = None  # during an epoch with verbose=1

    def begin_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.verbose == 1:
            self.bar = tqdm(
                total=self.num_batches,
                desc=f"Epoch {epoch + 1}/{self.epochs}",
                unit="batch",
                file=self.file,
                dynamic_ncols=True,
                leave=True,
            )

    def update(self, done: int, logs: Mapping[str, float]) -> None:
        """The running logs after ``done`` batches."""
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix_str(format_logs(logs))

    def end_epoch(self, logs: Mapping[str, float], seconds: float) -> None:
        if self.verbose == 1:
            bar = self.bar
            assert bar is not None  # begin_epoch made it
            if self.num_batches is not None:
                bar.update(self.num_batches - bar.n)
            bar.set_postfix_str(format_logs(logs))
            bar.close()
            self.bar = None
        elif self.verbose == 2:
            print(f"Epoch {self.epoch + 1}/{self.epochs} - {seconds:.2f}s - {format_logs(logs)}", file=self.file)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
