"""The ``Callback`` base class, ``History`` and ``run_hooks``: how ``fit`` calls the hooks."""


class Callback:
    """Base class: every hook does nothing; set ``stop_training = True`` to stop."""

    stop_training = False

    def on_train_begin(self, state):
        return None

    def on_epoch_begin(self, epoch, state):
        return None

    def on_epoch_end(self, epoch, logs, state):
        return None

    def on_train_end(self, state):
        return None


class History(Callback):
    """Records every epoch's logs: ``history[name]`` lists the values, ``epoch`` the epoch indices."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def on_train_begin(self, state):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs, state):
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)


def run_hooks(callbacks, hook, state, *args):
    """Call ``hook`` on every callback in order; a hook returning a state replaces the current one."""
    for callback in callbacks:
        new = getattr(callback, hook)(*args, state)
        state = state if new is None else new
    return state

