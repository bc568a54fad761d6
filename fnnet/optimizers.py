"""Optimizers by Keras name, as optax transformations; learning-rate decay as optax schedules.

fnnet re-implements no optimizer: ``get("adam")`` is ``optax.adam`` with
Keras's default learning rate, wrapped in ``optax.inject_hyperparams`` so
its hyperparameters live in the optimizer state (``opt_state.hyperparams``,
under optax's names) and can be changed between steps — by a schedule or a
callback — without recompiling. Optimizers differing only in those numbers
compare equal and share compiled programs (``fnnet.named_optimizer``).
Hyperparameters other than the learning rate keep optax's defaults:

| name | Keras lr | optax transformation and its other defaults |
| --- | --- | --- |
| ``sgd`` | 0.01 | ``optax.sgd(momentum=None, nesterov=False)`` |
| ``adam`` | 0.001 | ``optax.adam(b1=0.9, b2=0.999, eps=1e-8)`` |
| ``adamw`` | 0.001 | ``optax.adamw(b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4)`` |
| ``amsgrad`` | 0.001 | ``optax.amsgrad(b1=0.9, b2=0.999, eps=1e-8)`` |
| ``adagrad`` | 0.001 | ``optax.adagrad(initial_accumulator_value=0.1, eps=1e-7)`` |
| ``adadelta`` | 0.001 | ``optax.adadelta(rho=0.9, eps=1e-6)`` |
| ``rmsprop`` | 0.001 | ``optax.rmsprop(decay=0.9, eps=1e-8)`` |
| ``adamax`` | 0.001 | ``optax.adamax(b1=0.9, b2=0.999, eps=1e-8)`` |
| ``nadam`` | 0.001 | ``optax.nadam(b1=0.9, b2=0.999, eps=1e-8)`` |

Keras 3's argument names work beside optax's (giving both spellings of one
is an error); "exact" means the same updates as Keras 3 to float32 rounding:

| Keras 3 argument | optax argument | exact? |
| --- | --- | --- |
| ``learning_rate`` | ``learning_rate`` (every optimizer) | yes |
| ``momentum``, ``nesterov`` | same (sgd) | with a constant rate [1] |
| ``beta_1``, ``beta_2`` | ``b1``, ``b2`` (adam, adamw, amsgrad, adamax, nadam) | yes, but nadam [2] |
| ``epsilon`` | ``eps`` (all but sgd) | adagrad, adadelta, rmsprop: yes [3] |
| ``amsgrad=True`` | adam, adamw: ``optax.amsgrad`` instead | no [4] |
| ``rho`` | ``decay`` (rmsprop), ``rho`` (adadelta) | yes |
| ``momentum``, ``centered`` | same (rmsprop) | yes |
| ``initial_accumulator_value`` | same (adagrad) | yes |
| ``weight_decay`` | adamw: optax's ``weight_decay``; others: ``w -= lr * weight_decay * w`` beside the update (Keras's decoupled decay) | yes [5] |
| ``clipnorm`` | each gradient array scaled to an L2 norm of at most ``clipnorm``, first | yes |
| ``global_clipnorm`` | ``optax.clip_by_global_norm`` first | yes |
| ``clipvalue`` | ``optax.clip`` first | yes |

[1] Keras scales each gradient by the rate inside the velocity, optax after
it: the two differ once the rate changes. [2] Keras's Nadam is Dozat's, with
a momentum schedule; ``optax.nadam`` has none: the names map, the updates
differ. [3] Inside the square root in both. Keras's Adam adds ``epsilon`` to
the uncorrected ``sqrt(v)``, which is optax's ``eps`` times
``1 / sqrt(1 - b2**t)``: larger in the first steps, the same later (no optax
argument does that; ``eps_root`` is inside the root). Keras's Adamax adds it
to the max-norm, optax to ``|g|`` inside the max. [4] Keras keeps the maximum of the raw second moment, optax of the
bias-corrected one (and [3]). [5] ``optax.adadelta``'s own ``weight_decay``
(an L2 term added to the gradient) is not reachable by name. At most one of
the three clippings, as in Keras. ``weight_decay`` and the clipping values
are hyperparameters in the state too.

Keras 2's ``decay=`` (learning-rate decay ``lr / (1 + decay * t)``) is
refused for every name: Keras 3 dropped it, and optax's rmsprop ``decay`` is
Keras's ``rho``. The error gives the schedule that replaces it,
``learning_rate=inverse_time_decay(lr, decay_steps=1, decay_rate=decay)``; a
schedule sets the rate at every step, so ``ReduceLROnPlateau`` and
``LearningRateScheduler`` cannot also set it.

Their state is float32 whatever the params' dtype (``float32_state``): bfloat16
or float16 params would otherwise round Adam's ``b2 = 0.999`` to 1.

Schedules (``step -> learning rate``, usable as any ``learning_rate=``):
``step_decay``, ``exponential_decay`` and ``inverse_time_decay``.
"""

import difflib
import functools
import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from fnnet._checks import describe, flag, function, hyperparameter
from fnnet.named_optimizer import named
from fnnet.protocols import OptimizerLike, PyTree

_FACTORIES = {
    "sgd": (optax.sgd, 0.01),
    "adam": (optax.adam, 0.001),
    "adamw": (optax.adamw, 0.001),
    "amsgrad": (optax.amsgrad, 0.001),
    "adagrad": (optax.adagrad, 0.001),
    "adadelta": (optax.adadelta, 0.001),
    "rmsprop": (optax.rmsprop, 0.001),
    "adamax": (optax.adamax, 0.001),
    "nadam": (optax.nadam, 0.001),
}
_STATIC = ("nesterov", "centered", "eps_in_sqrt", "bias_correction", "mu_dtype", "accumulator_dtype")
_ADAM = {"beta_1": "b1", "beta_2": "b2", "epsilon": "eps"}
_KERAS = {  # Keras 3 argument -> optax argument, beside learning_rate and _EXTRAS (every optimizer's)
    "sgd": {"momentum": "momentum", "nesterov": "nesterov"},
    "adam": {**_ADAM, "amsgrad": "amsgrad"},
    "adamw": {**_ADAM, "amsgrad": "amsgrad"},
    "amsgrad": _ADAM,
    "adagrad": {"initial_accumulator_value": "initial_accumulator_value", "epsilon": "eps"},
    "adadelta": {"rho": "rho", "epsilon": "eps"},
    "rmsprop": {"rho": "decay", "momentum": "momentum", "epsilon": "eps", "centered": "centered"},
    "adamax": _ADAM,
    "nadam": _ADAM,
}


def _clip_each_by_norm(max_norm):
    """Keras's ``clipnorm``: each gradient array scaled to an L2 norm of at most ``max_norm``."""

    def clip(updates, params=None):
        del params
        return jax.tree_util.tree_map(lambda g: g * max_norm / jnp.maximum(jnp.linalg.norm(g), max_norm), updates)

    return optax.stateless(clip)


_CLIPS = {"clipnorm": _clip_each_by_norm, "clipvalue": optax.clip, "global_clipnorm": optax.clip_by_global_norm}
_EXTRAS = ("weight_decay", *_CLIPS)  # Keras applies them around any optimizer; adamw's weight_decay is optax's
_UNSUPPORTED = (
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
    "name",
)  # Keras 3 arguments with no equivalent here
_NOT_TAKEN = ("mask", "weight_decay_mask", "decay")  # masks would be read as schedules; decay: see _decay_error


def get(name_or_transformation: OptimizerLike, **hyperparameters: Any) -> optax.GradientTransformation:
    """An optax transformation: one given as is, or the Keras-named one with ``hyperparameters``.

    The learning rate defaults to Keras's and may be an optax schedule.
    Equal requests return the same object, whichever names they use; requests
    that differ only in numbers held in the state (learning rate, momentum,
    ...) compare equal and share compiled programs (``fnnet.named_optimizer``).

    Args:
        name_or_transformation: an optax ``GradientTransformation``, or one
            of ``sgd, adam, adamw, amsgrad, adagrad, adadelta, rmsprop, adamax, nadam``.
        **hyperparameters: by Keras 3's names (``beta_1``, ``rho``,
            ``epsilon``, ``weight_decay``, ...) or optax's (``b1``, ``eps``,
            ...); see the module's table.

    Returns:
        An optax ``GradientTransformation`` whose hyperparameters live in its
        state (``optax.inject_hyperparams``).

    Raises:
        TypeError: an argument the optimizer does not take (naming the ones
            it does, and the closest), or one given by both names.
        ValueError: an unknown name; ``decay=`` (Keras 2's learning-rate
            decay; the message gives the schedule); more than one clipping; a
            negative or non-finite learning rate.

    Examples:
        >>> opt = get("sgd", learning_rate=0.1, momentum=0.9, nesterov=True)
        >>> round(float(opt.init({"w": jax.numpy.zeros(2)}).hyperparams["learning_rate"]), 6)
        0.1
        >>> get("sgd", learning_rate=0.1, momentum=0.9, nesterov=True) is opt
        True
        >>> get("adam", beta_1=0.8, epsilon=1e-7) is get("adam", b1=0.8, eps=1e-7)
        True
        >>> get("adam", learning_rate=0.1) == get("adam", learning_rate=0.2) != get("adam", amsgrad=True)
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
            f"optimizer must be a name or an optax GradientTransformation, got {type(name_or_transformation).__name__}"
        )
    if name_or_transformation not in _FACTORIES:
        raise ValueError(f"unknown optimizer {name_or_transformation!r}; valid names: {', '.join(sorted(_FACTORIES))}")
    name, arguments = _optax_arguments(name_or_transformation, hyperparameters)
    try:
        return _named(name, tuple(sorted(arguments.items())))
    except TypeError:  # an unhashable hyperparameter value: build it unshared
        return _named.__wrapped__(name, tuple(sorted(arguments.items())))


def _optax_arguments(name, hyperparameters, label=None):
    """``(name, optax arguments)``: Keras's names renamed to optax's, checked; adam's ``amsgrad=True`` -> amsgrad."""
    label = label or name
    if "decay" in hyperparameters:
        raise ValueError(_decay_error(name, hyperparameters))
    keras = {"learning_rate": "learning_rate", **_KERAS[name], **{e: e for e in _EXTRAS}}
    own = [p for p in inspect.signature(_FACTORIES[name][0]).parameters if p not in _NOT_TAKEN and p not in keras]
    for given in hyperparameters:
        if given not in keras and given not in own:
            raise TypeError(_unknown_error(label, given, list(keras), own))
    arguments = {}
    for given, value in hyperparameters.items():
        target = keras.get(given, given)
        if target in arguments:
            other = next(n for n in hyperparameters if n != given and keras.get(n, n) == target)
            raise TypeError(
                f"{label} got both {given}= and {other}=, Keras's and optax's names of one argument; give one"
            )
        if isinstance(value, (np.integer, np.floating)):  # optax would keep a NumPy scalar out of the state
            value = value.item()
        if not (value is None and target in _EXTRAS):  # Keras's default None: not set
            arguments[target] = value
    clips = [c for c in _CLIPS if c in arguments]
    if len(clips) > 1:
        raise ValueError(
            f"only one of clipnorm, clipvalue and global_clipnorm can be set (as in Keras), "
            f"got {', '.join(f'{c}={arguments[c]!r}' for c in clips)}"
        )
    amsgrad = arguments.pop("amsgrad", False)
    if not isinstance(amsgrad, bool):
        raise TypeError(f"amsgrad must be True or False, got {amsgrad!r}")
    if amsgrad:  # Keras's Adam(amsgrad=True); AdamW's keeps optax.adamw's default decay
        if name == "adamw":
            arguments.setdefault("weight_decay", inspect.signature(optax.adamw).parameters["weight_decay"].default)
        return _optax_arguments("amsgrad", arguments, f"{name} with amsgrad=True (optax.amsgrad)")
    return name, arguments


def _unknown_error(label, given, keras, own):
    if given in _UNSUPPORTED:
        problem = f"Keras's {given}= has no equivalent in fnnet.optimizers.get"
    else:
        close = difflib.get_close_matches(given, keras + own, n=1) or (["learning_rate"] if given == "lr" else [])
        problem = f"{label} got an unexpected argument {given!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    return f"{problem}; {label} takes Keras's {', '.join(keras)} or optax's {', '.join(own)}"


def _decay_error(name, hyperparameters):
    decay = hyperparameters["decay"]
    rate = hyperparameters.get("learning_rate", _FACTORIES[name][1])
    rate = "initial_learning_rate" if callable(rate) else repr(rate)
    message = (
        f"Keras 2's decay= (learning-rate decay) is not an optimizer argument in Keras 3, got decay={decay!r}; "
        "use learning_rate=fn.optimizers.inverse_time_decay(...), Keras 2's lr / (1 + decay * step): "
        f"fn.optimizers.get({name!r}, learning_rate=fn.optimizers.inverse_time_decay({rate}, decay_steps=1, "
        f"decay_rate={decay!r}))"
    )
    if name == "rmsprop":
        message += ". RMSprop's moving-average discount (optax's decay) is Keras's rho="
    return message


@functools.lru_cache(maxsize=128)
def _named(name, items):
    """The Keras-named transformation; cached, so equal requests give the same (equally hashing) object."""
    hyperparameters = dict(items)
    factory, default_lr = _FACTORIES[name]
    hyperparameters.setdefault("learning_rate", default_lr)
    if not callable(hyperparameters["learning_rate"]):
        hyperparameter("learning_rate", hyperparameters["learning_rate"], low=0)
    for name_ in ("nesterov", "centered"):
        if name_ in hyperparameters:
            flag(name_, hyperparameters[name_])
    for name_ in ("momentum", "decay", "rho", "b1", "b2"):  # moving-average factors, [0, 1]
        if hyperparameters.get(name_) is not None and not callable(hyperparameters[name_]):
            hyperparameter(name_, hyperparameters[name_], low=0, high=1)
    for name_ in ("eps", "initial_accumulator_value", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
        if hyperparameters.get(name_) is not None and not callable(hyperparameters[name_]):
            hyperparameter(name_, hyperparameters[name_], low=0)
    extras = [e for e in _EXTRAS if e in hyperparameters and not (e == "weight_decay" and factory is optax.adamw)]
    if extras:
        factory = _with_extras(factory, extras)
    static = tuple(p for p in _STATIC if p in inspect.signature(factory).parameters)
    transformation = float32_state(optax.inject_hyperparams(factory, static_args=static)(**hyperparameters))
    return named(transformation, name, factory, hyperparameters, static)


def _with_extras(factory, extras):
    """``factory`` with Keras's gradient clipping before it and decoupled weight decay after it.

    Keras decays each weight as ``w -= lr * weight_decay * w`` beside the
    optimizer's update (for adam, that is AdamW). The extras are parameters of
    the returned factory, so ``inject_hyperparams`` keeps them in the state.
    """

    def build(learning_rate, **arguments):
        values = {e: arguments.pop(e) for e in extras}
        parts = [_CLIPS[c](values[c]) for c in _CLIPS if c in values]
        parts.append(factory(learning_rate, **arguments))
        if "weight_decay" in values:
            parts.append(optax.add_decayed_weights(-learning_rate * values["weight_decay"]))
        return optax.chain(*parts)

    own = [p for p in inspect.signature(factory).parameters.values() if p.name not in extras]
    keyword = inspect.Parameter.KEYWORD_ONLY
    build.__signature__ = inspect.Signature(own + [inspect.Parameter(e, keyword) for e in extras])
    return build


def _float32(tree):
    return jax.tree_util.tree_map(
        lambda leaf: (
            leaf.astype(jnp.float32)
            if jnp.issubdtype(leaf.dtype, jnp.floating) and jnp.finfo(leaf.dtype).bits < 32
            else leaf
        ),
        tree,
    )


def float32_state(transformation: optax.GradientTransformation) -> optax.GradientTransformation:
    """``transformation`` with its state and arithmetic in float32 for bfloat16 or float16 params.

    Low-precision params make optax keep moments in their dtype, where
    ``b2 = 0.999`` rounds to 1 and Adam's second moment is lost (NaN in the
    first epoch). Here gradients and params are cast up to float32 for the
    update, the state stays float32 and the updates are cast back to each
    param's dtype. float32 and float64 params pass through unchanged, and the
    state is the wrapped transformation's own (its hyperparameters stay where
    ``set_hyperparameters`` finds them). Every optimizer by name has it.
    """
    if not isinstance(transformation, optax.GradientTransformation):
        function("transformation", transformation, factories=tuple(f for f, _ in _FACTORIES.values()))
        raise TypeError(f"transformation must be an optax GradientTransformation, got {describe(transformation)}")

    def init(params):
        return transformation.init(_float32(params))

    def update(updates, state, params=None):
        new, state = transformation.update(_float32(updates), state, None if params is None else _float32(params))
        return jax.tree_util.tree_map(lambda u, g: u.astype(g.dtype), new, updates), state

    return optax.GradientTransformation(init, update)


_INJECTED = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


def hyperparameter_names(opt_state: PyTree) -> list[str]:
    """The hyperparameters held in ``opt_state`` (by ``optax.inject_hyperparams``), sorted."""
    found = jax.tree_util.tree_leaves(opt_state, is_leaf=lambda node: isinstance(node, _INJECTED))
    return sorted({name for node in found if isinstance(node, _INJECTED) for name in node.hyperparams})


def set_hyperparameters(opt_state: PyTree, **values: ArrayLike) -> PyTree:
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
        opt_state, **{name: jnp.asarray(value, current[name].dtype) for name, value in values.items()}
    )


def step_decay(initial_learning_rate: float, drop: float, steps_per_drop: int) -> optax.Schedule:
    """``lr(t) = initial * drop ** floor(t / steps_per_drop)``: the lessons' step decay."""
    hyperparameter("initial_learning_rate", initial_learning_rate, low=0)
    hyperparameter("drop", drop, low=0, high=1, low_inclusive=False)
    hyperparameter("steps_per_drop", steps_per_drop, integer=True, low=1)
    return optax.exponential_decay(initial_learning_rate, steps_per_drop, drop, staircase=True)


def exponential_decay(
    initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False
) -> optax.Schedule:
    """``lr(t) = initial * decay_rate ** (t / decay_steps)`` (Keras ``ExponentialDecay``).

    With ``staircase=True`` the exponent is ``floor(t / decay_steps)``.
    """
    hyperparameter("initial_learning_rate", initial_learning_rate, low=0)
    hyperparameter("decay_steps", decay_steps, integer=True, low=1)
    hyperparameter("decay_rate", decay_rate, low=0, low_inclusive=False)
    return optax.exponential_decay(
        initial_learning_rate, decay_steps, decay_rate, staircase=flag("staircase", staircase)
    )


def inverse_time_decay(
    initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False
) -> optax.Schedule:
    """``lr(t) = initial / (1 + decay_rate * t / decay_steps)`` (Keras ``InverseTimeDecay``).

    optax has no inverse-time schedule; this is one, in optax's form ``step -> value``.
    With ``staircase=True`` the ratio ``t / decay_steps`` is floored.
    """
    hyperparameter("initial_learning_rate", initial_learning_rate, low=0)
    hyperparameter("decay_steps", decay_steps, integer=True, low=1)
    hyperparameter("decay_rate", decay_rate, low=0)
    staircase = flag("staircase", staircase)

    def schedule(count: ArrayLike) -> jax.Array:
        ratio = jnp.asarray(count, jnp.float32) / decay_steps
        if staircase:
            ratio = jnp.floor(ratio)
        return initial_learning_rate / (1 + decay_rate * ratio)

    return schedule
