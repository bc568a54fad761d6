"""Optimizers by Keras name, as optax transformations; learning-rate decay as optax schedules.

fnnet re-implements no optimizer: ``get("adam")`` is ``optax.adam`` with
Keras's default learning rate, wrapped in ``optax.inject_hyperparams`` so
its hyperparameters live in the optimizer state (``opt_state.hyperparams``)
and can be changed between steps — by a schedule or a callback — without
recompiling. Hyperparameters other than the learning rate keep optax's
defaults and names:

============  ========  ====================================================
name          Keras lr  optax transformation and its other defaults
============  ========  ====================================================
``sgd``       0.01      ``optax.sgd(momentum=None, nesterov=False)``
``adam``      0.001     ``optax.adam(b1=0.9, b2=0.999, eps=1e-8)``
``amsgrad``   0.001     ``optax.amsgrad(b1=0.9, b2=0.999, eps=1e-8)``
``adagrad``   0.001     ``optax.adagrad(initial_accumulator_value=0.1, eps=1e-7)``
``adadelta``  0.001     ``optax.adadelta(rho=0.9, eps=1e-6)``
``rmsprop``   0.001     ``optax.rmsprop(decay=0.9, eps=1e-8)``
``adamax``    0.001     ``optax.adamax(b1=0.9, b2=0.999, eps=1e-8)``
``nadam``     0.001     ``optax.nadam(b1=0.9, b2=0.999, eps=1e-8)``
============  ========  ====================================================

Their state is float32 whatever the params' dtype (``float32_state``): bfloat16
or float16 params would otherwise round Adam's ``b2 = 0.999`` to 1.

Schedules (``step -> learning rate``, usable as any ``learning_rate=``):
``step_decay``, ``exponential_decay`` and ``inverse_time_decay``.
"""

import functools
import inspect

import jax
import jax.numpy as jnp
import optax

from fnnet._checks import hyperparameter

_FACTORIES = {
    "sgd": (optax.sgd, 0.01),
    "adam": (optax.adam, 0.001),
    "amsgrad": (optax.amsgrad, 0.001),
    "adagrad": (optax.adagrad, 0.001),
    "adadelta": (optax.adadelta, 0.001),
    "rmsprop": (optax.rmsprop, 0.001),
    "adamax": (optax.adamax, 0.001),
    "nadam": (optax.nadam, 0.001),
}
_STATIC = ("nesterov", "centered", "eps_in_sqrt", "bias_correction", "mu_dtype", "accumulator_dtype")


def get(name_or_transformation, **hyperparameters) -> optax.GradientTransformation:
    """An optax transformation: one given as is, or the Keras-named one with ``hyperparameters``.

    The learning rate defaults to Keras's and may be an optax schedule.
    Equal requests return the same object (so compiled programs keyed by it
    are shared).

    Args:
        name_or_transformation: an optax ``GradientTransformation``, or one
            of ``sgd, adam, amsgrad, adagrad, adadelta, rmsprop, adamax, nadam``.
        **hyperparameters: the optax factory's arguments (``learning_rate``,
            ``momentum``, ``b1``, ...), by name only.

    Returns:
        An optax ``GradientTransformation`` whose hyperparameters live in its
        state (``optax.inject_hyperparams``).

    Raises:
        ValueError: an unknown name or hyperparameter, listing the valid ones;
            a negative or non-finite learning rate.

    Example:
        >>> opt = get("sgd", learning_rate=0.1, momentum=0.9, nesterov=True)
        >>> round(float(opt.init({"w": jax.numpy.zeros(2)}).hyperparams["learning_rate"]), 6)
        0.1
        >>> get("sgd", learning_rate=0.1, momentum=0.9, nesterov=True) is opt
        True
    """
    if isinstance(name_or_transformation, optax.GradientTransformation):
        if hyperparameters:
            raise ValueError(
                "hyperparameters are given to an optimizer by name only; an optax transformation "
                f"is already configured, got {sorted(hyperparameters)}"
            )
        return name_or_transformation
    if not isinstance(name_or_transformation, str):
        raise TypeError(
            "optimizer must be a name or an optax GradientTransformation, "
            f"got {type(name_or_transformation).__name__}"
        )
    if name_or_transformation not in _FACTORIES:
        raise ValueError(
            f"unknown optimizer {name_or_transformation!r}; valid names: {', '.join(sorted(_FACTORIES))}"
        )
    try:
        return _named(name_or_transformation, tuple(sorted(hyperparameters.items())))
    except TypeError:  # an unhashable hyperparameter value: build it unshared
        return _named.__wrapped__(name_or_transformation, tuple(sorted(hyperparameters.items())))


@functools.lru_cache(maxsize=128)
def _named(name, items):
    """The Keras-named transformation; cached, so equal requests give the same (equally hashing) object."""
    hyperparameters = dict(items)
    factory, default_lr = _FACTORIES[name]
    valid = [p for p in inspect.signature(factory).parameters]
    unknown = sorted(set(hyperparameters) - set(valid))
    if unknown:
        raise ValueError(
            f"{name} has no hyperparameter {', '.join(unknown)}; "
            f"valid ones: {', '.join(valid)}"
        )
    hyperparameters.setdefault("learning_rate", default_lr)
    if not callable(hyperparameters["learning_rate"]):
        hyperparameter("learning_rate", hyperparameters["learning_rate"], low=0)
    static = [name for name in _STATIC if name in valid]
    return float32_state(optax.inject_hyperparams(factory, static_args=static)(**hyperparameters))


def _float32(tree):
    return jax.tree_util.tree_map(
        lambda leaf: leaf.astype(jnp.float32) if jnp.issubdtype(leaf.dtype, jnp.floating)
        and jnp.finfo(leaf.dtype).bits < 32 else leaf, tree)


def float32_state(transformation) -> optax.GradientTransformation:
    """``transformation`` with its state and arithmetic in float32 for bfloat16 or float16 params.

    Low-precision params make optax keep moments in their dtype, where
    ``b2 = 0.999`` rounds to 1 and Adam's second moment is lost (NaN in the
    first epoch). Here gradients and params are cast up to float32 for the
    update, the state stays float32 and the updates are cast back to each
    param's dtype. float32 and float64 params pass through unchanged, and the
    state is the wrapped transformation's own (its hyperparameters stay where
    ``set_hyperparameters`` finds them). Every optimizer by name has it.
    """

    def init(params):
        return transformation.init(_float32(params))

    def update(updates, state, params=None):
        new, state = transformation.update(_float32(updates), state, None if params is None else _float32(params))
        return jax.tree_util.tree_map(lambda u, g: u.astype(g.dtype), new, updates), state

    return optax.GradientTransformation(init, update)


_INJECTED = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


def hyperparameter_names(opt_state) -> list:
    """The hyperparameters held in ``opt_state`` (by ``optax.inject_hyperparams``), sorted."""
    found = jax.tree_util.tree_leaves(opt_state, is_leaf=lambda node: isinstance(node, _INJECTED))
    return sorted({name for node in found if isinstance(node, _INJECTED) for name in node.hyperparams})


def set_hyperparameters(opt_state, **values):
    """``opt_state`` with injected hyperparameters replaced, e.g. ``set_hyperparameters(s, learning_rate=1e-3)``.

    Each value keeps the dtype of the one it replaces; it may be traced (a
    swept value under ``vmap``). Changing a value never recompiles a program
    that takes the state as an argument. Raises ``ValueError`` naming the
    hyperparameters the state holds when one is missing (an optax
    transformation not wrapped in ``optax.inject_hyperparams``).
    """
    names = hyperparameter_names(opt_state)
    missing = sorted(set(values) - set(names))
    if missing:
        raise ValueError(
            f"the optimizer state holds no hyperparameter {', '.join(map(repr, missing))}; it holds {names}. "
            "Use an optimizer by name (optimizer='adam') or wrap it: "
            "optax.inject_hyperparams(optax.adam)(learning_rate=...)"
        )
    for name, value in values.items():
        hyperparameter(name, value, low=0)
    current = {name: optax.tree_utils.tree_get(opt_state, name) for name in values}
    return optax.tree_utils.tree_set(
        opt_state, **{name: jnp.asarray(value, current[name].dtype) for name, value in values.items()})


def step_decay(initial_learning_rate, drop, steps_per_drop):
    """``lr(t) = initial * drop ** floor(t / steps_per_drop)``: the lessons' step decay."""
    hyperparameter("drop", drop, low=0)
    hyperparameter("steps_per_drop", steps_per_drop, integer=True, low=1)
    return optax.exponential_decay(initial_learning_rate, steps_per_drop, drop, staircase=True)


def exponential_decay(initial_learning_rate, decay_steps, decay_rate, staircase=False):
    """``lr(t) = initial * decay_rate ** (t / decay_steps)`` (Keras ``ExponentialDecay``).

    With ``staircase=True`` the exponent is ``floor(t / decay_steps)``.
    """
    hyperparameter("decay_steps", decay_steps, integer=True, low=1)
    hyperparameter("decay_rate", decay_rate, low=0)
    return optax.exponential_decay(initial_learning_rate, decay_steps, decay_rate, staircase=staircase)


def inverse_time_decay(initial_learning_rate, decay_steps, decay_rate, staircase=False):
    """``lr(t) = initial / (1 + decay_rate * t / decay_steps)`` (Keras ``InverseTimeDecay``).

    optax has no inverse-time schedule; this is one, in optax's form ``step -> value``.
    With ``staircase=True`` the ratio ``t / decay_steps`` is floored.
    """
    hyperparameter("decay_steps", decay_steps, integer=True, low=1)
    hyperparameter("decay_rate", decay_rate, low=0)

    def schedule(count):
        ratio = jnp.asarray(count, jnp.float32) / decay_steps
        if staircase:
            ratio = jnp.floor(ratio)
        return initial_learning_rate / (1 + decay_rate * ratio)

    return schedule
