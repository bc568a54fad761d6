"""``LambdaCallback``: a callback made of plain functions, in Keras's form or with the state."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fnnet.callbacks.base import Callback
from fnnet.protocols import Logs
from fnnet.state import TrainState


# Keras's arguments per hook; fnnet's hooks also get the TrainState.
_KERAS_ARGUMENTS = {
    "on_epoch_begin": ("epoch", "logs"),
    "on_epoch_end": ("epoch", "logs"),
    "on_train_begin": ("logs",),
    "on_train_end": ("logs",),
}
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")


def _positional_count(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` takes (``None`` for ``*args`` or an unreadable signature)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


class LambdaCallback(Callback):
    """A callback of functions run at the hooks, as Keras's ``LambdaCallback``.

    Each function takes Keras's arguments: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``,
    ``on_train_end(logs)``, where ``logs`` is the epoch's logs at
    ``on_epoch_end``, the last epoch's logs at ``on_train_end`` and ``{}`` at
    the begin hooks. A function that takes one more positional argument also
    gets the ``TrainState`` last (``on_epoch_end(epoch, logs, state)``,
    ``on_train_begin(logs, state)``, ...), and what it returns, if not None,
    is the new state (as any fnnet hook). What a Keras-style function returns
    is ignored. A function with ``*args`` is called Keras-style.

    fnnet runs an epoch as one compiled program: there are no batch hooks,
    and asking for one (``on_batch_end=``, ``on_train_batch_end=``) is an
    error rather than a function that is never called.
    """

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        **batch_hooks: Callable[..., Any],
    ) -> None:
        unknown = sorted(set(batch_hooks) - set(_BATCH_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback got unexpected arguments {unknown}")
        if batch_hooks:
            raise ValueError(
                f"LambdaCallback: fnnet has no batch hooks ({', '.join(sorted(batch_hooks))}): an epoch is one "
                "compiled program; use on_epoch_begin/on_epoch_end"
            )
        self.hooks = {}
        given = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
        }
        for hook, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {hook} must be a callable, got {fn!r}")
            arguments = _KERAS_ARGUMENTS[hook]
            count = _positional_count(fn)
            if count is not None and count not in (len(arguments), len(arguments) + 1):
                raise TypeError(
                    f"LambdaCallback: {hook} must take ({', '.join(arguments)}) as in Keras, or "
                    f"({', '.join(arguments)}, state); it takes {count} positional arguments"
                )
            self.hooks[hook] = (fn, count == len(arguments) + 1)
        self.last_logs = {}

    def _run(self, hook: str, state: TrainState, *arguments: Any) -> TrainState | None:
        if hook not in self.hooks:
            return None
        fn, takes_state = self.hooks[hook]
        if takes_state:
            return fn(*arguments, state)
        fn(*arguments)
        return None

    def on_train_begin(self, state: TrainState) -> TrainState | None:
        self.last_logs = {}
        return self._run("on_train_begin", state, {})

    def on_epoch_begin(self, epoch: int, state: TrainState) -> TrainState | None:
        return self._run("on_epoch_begin", state, epoch, {})

    def on_epoch_end(self, epoch: int, logs: Logs, state: TrainState) -> TrainState | None:
        self.last_logs = logs
        return self._run("on_epoch_end", state, epoch, logs)

    def on_train_end(self, state: TrainState) -> TrainState | None:
        return self._run("on_train_end", state, self.last_logs)
