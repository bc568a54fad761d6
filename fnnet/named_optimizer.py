"""A Keras-named optimizer as a value: equal to another that compiles to the same program.

``fnnet.optimizers.get`` returns a ``Named``: an optax transformation that
also carries its ``program`` (its name and every option that shapes the
compiled update) and its ``hyperparameters``. The numbers
``optax.inject_hyperparams`` keeps in the state (learning rate, momentum,
betas, epsilon, weight decay, clipping values) are not part of the program:
the update reads them from the state. So optimizers that differ only in
those numbers compare and hash equal, and the compiled programs that take
the optimizer as a static argument (``fit_epoch``, a sweep's epoch) are
shared: a loop over learning rates compiles once.

Each optimizer's ``init`` still writes its own numbers into the first state
(``init_state`` calls it eagerly). A compiled program that calls ``init``
would keep the numbers of the first equal optimizer it was traced with, so
it must take them as arguments: ``injected_values`` gives them (a sweep's
stacked initialization sets them into each state). Numbers the first state
is filled with (adagrad's ``initial_accumulator_value``, rmsprop's
``initial_scale``), non-numeric options (``nesterov``, ``momentum=None``,
a dtype), which clipping is set, and a schedule (compared by identity) are
part of the program.
"""

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
import optax

from fnnet.protocols import PyTree

__all__ = ["INIT_READS", "Injected", "Named", "injected_values", "named", "scheduled_learning_rate"]

INIT_READS = ("initial_accumulator_value", "initial_scale")
"""Numeric hyperparameters the optimizer's first state is filled with: part of the program, by value."""

_INJECTED_STATES = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


class Injected(NamedTuple):
    """The part of a ``program`` that stands for a number held in the state: its kind, not its value.

    ``kind`` is ``"int"`` or ``"float"`` (a Python number, or an array of
    that kind: floats are held in the params' dtype), another array's dtype
    otherwise; ``shape`` is an array's shape.
    """

    kind: str
    shape: tuple[int, ...] = ()


class Named(optax.GradientTransformation):
    """An optax transformation by Keras name that compares and hashes by its ``program``.

    Fields beside ``init`` and ``update``: ``program`` is ``(name,
    ((argument, value or Injected), ...))`` over every argument of the
    optax factory, defaults included; ``hyperparameters`` maps the same
    arguments to their values (numbers, schedules, flags). One made by
    ``_replace`` has neither and is equal to itself only.
    """

    program: tuple[Any, ...] = ()
    _values: tuple[tuple[str, Any], ...] = ()

    def __new__(cls, init: Any, update: Any, program: tuple[Any, ...] = (), hyperparameters: Any = None) -> "Named":
        self = super().__new__(cls, init, update)
        self.program = program
        self._values = tuple(dict(hyperparameters or {}).items())
        return self

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """Every argument of the optax factory and its value, defaults included (a new dict each time)."""
        return dict(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Named) and _identity(self) == _identity(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(_identity(self))


def _identity(optimizer):
    """What equality compares: the program, or the functions themselves for one without a program."""
    return optimizer.program or (optimizer.init, optimizer.update)


def _role(argument, value, static):
    """What the compiled update keeps of ``value``: ``Injected`` for a number held in the state, else the value."""
    if argument in static or argument in INIT_READS or isinstance(value, bool):
        role = value
    elif isinstance(value, (int, float)):  # optax's numeric hyperparameters: in the state
        role = Injected("int" if isinstance(value, int) else "float")
    elif isinstance(value, (np.ndarray, jax.Array)):  # floats are cast to the params' dtype, as Python's
        kind = "float" if np.issubdtype(value.dtype, np.floating) else str(value.dtype)
        role = Injected("int" if np.issubdtype(value.dtype, np.integer) else kind, tuple(value.shape))
    else:
        role = value
    try:
        hash(role)
    except TypeError:  # an array among the static values: equal to nothing else
        role = object()
    return role


def named(
    transformation: optax.GradientTransformation,
    name: str,
    factory: Callable[..., optax.GradientTransformation],
    hyperparameters: dict[str, Any],
    static: tuple[str, ...],
) -> Named:
    """``transformation``, ``inject_hyperparams(factory, static_args=static)(**hyperparameters)``, as a ``Named``."""
    bound = inspect.signature(factory).bind(**hyperparameters)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    program = (name, tuple((argument, _role(argument, value, static)) for argument, value in arguments.items()))
    return Named(transformation.init, transformation.update, program, arguments)


def injected_values(optimizer: optax.GradientTransformation) -> dict[str, Any]:
    """The numbers a ``Named`` holds in its state that its equality ignores; ``{}`` for other transformations.

    A compiled program that calls ``optimizer.init`` sets these into the
    state it builds (``TrainState.with_hyperparameters``), so that an equal
    optimizer's values never stand in for this one's.
    """
    if not isinstance(optimizer, Named) or not optimizer.program:
        return {}
    roles = dict(optimizer.program[1])
    return {name: value for name, value in optimizer.hyperparameters.items() if isinstance(roles[name], Injected)}


def scheduled_learning_rate(optimizer: optax.GradientTransformation, opt_state: PyTree) -> float | None:
    """The rate a ``Named`` optimizer's schedule gives its next step (Keras's ``optimizer.learning_rate``).

    The schedule is evaluated at the optimizer's step count in ``opt_state``.
    None for a constant rate, a transformation not by name, or a state
    without an injected count.
    """
    rate = optimizer.hyperparameters.get("learning_rate") if isinstance(optimizer, Named) else None
    if not callable(rate):
        return None
    found = jax.tree_util.tree_leaves(opt_state, is_leaf=lambda node: isinstance(node, _INJECTED_STATES))
    counts = [node.count for node in found if isinstance(node, _INJECTED_STATES)]
    return float(np.asarray(rate(counts[0]))) if counts else None
