"""``TrainState``: everything training carries from step to step, as one pytree.

``step`` counts optimizer steps. Every random choice of a run derives from
``key`` and ``step``: the dropout (and augmentation) key of step ``t`` is
``fold_in(fold_in(key, 0), t)``; the shuffle of the epoch starting at step
``t`` is drawn on the host from ``shuffle_seed(key, t)``. One key
reproduces a run, bit for bit.
"""

import weakref
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from fnnet import optimizers
from fnnet._checks import describe, function
from fnnet.keys import as_key
from fnnet.protocols import KeyLike, Params, PyTree

__all__ = [
    "DROPOUT_STREAM",
    "SHUFFLE_STREAM",
    "ParamsOrState",
    "TrainState",
    "check_params",
    "init_state",
    "key_data_of",
    "params_of",
    "shuffle_seed",
    "step_key",
]

DROPOUT_STREAM = 0
"""The stream ``step_key`` folds into ``key`` first: dropout and augmentation keys, ``fold_in(fold_in(key, 0), step)``."""
SHUFFLE_STREAM = 1
"""The stream ``shuffle_seed`` mixes into the host seed of each epoch's permutation."""


class TrainState(NamedTuple):
    """The parameters, optimizer state, optimizer step count and the run's key."""

    params: Params
    opt_state: PyTree  # optax's state (None in a checkpoint loaded without like=)
    step: jax.Array
    key: jax.Array

    def with_hyperparameters(self, **values: ArrayLike) -> "TrainState":
        """This state with the optimizer's injected hyperparameters replaced; params, step and key unchanged.

        ``state.with_hyperparameters(learning_rate=1e-3)`` is
        ``state._replace(opt_state=optimizers.set_hyperparameters(state.opt_state, learning_rate=1e-3))``:
        the next step uses the new values, without recompiling. A value may be
        traced (a swept value under ``vmap``). Raises ``ValueError`` naming the
        hyperparameters the optimizer holds when one of ``values`` is not among
        them (see ``fnnet.optimizers.set_hyperparameters``).
        """
        return self._replace(opt_state=optimizers.set_hyperparameters(self.opt_state, **values))


ParamsOrState = Params | TrainState
"""What ``fit``, ``evaluate`` and ``predict`` take first: a model's params, or a ``TrainState`` to go on from."""


def init_state(params: Params, optimizer: optax.GradientTransformation, key: KeyLike) -> TrainState:
    """A fresh ``TrainState``: the optimizer's initial state, step 0, and the run's key.

    Examples:
        >>> import jax, optax
        >>> state = init_state({"w": jax.numpy.zeros(2)}, optax.sgd(0.1), jax.random.key(0))
        >>> int(state.step)
        0
    """
    if not isinstance(optimizer, optax.GradientTransformation):
        function("optimizer", optimizer, factories=(optax.sgd, optax.adam, optax.adamw))
        raise TypeError(f"optimizer must be an optax GradientTransformation, got {describe(optimizer)}")
    params = check_params("params", params)
    return TrainState(params, optimizer.init(params), jnp.zeros((), jnp.int32), as_key(key, "init_state's key"))


def check_params(name: str, params: object) -> Params:
    """``params``: a dict (as ``model.init`` returns) whose leaves are arrays; returns it."""
    if not isinstance(params, dict) or not all(hasattr(leaf, "dtype") for leaf in jax.tree_util.tree_leaves(params)):
        raise TypeError(
            f"{name} must be the model's params (the dict of arrays model.init returns), got {describe(params)}"
        )
    return params


def params_of(params_or_state: Params | TrainState) -> Params:
    """The params of a ``TrainState``, or the argument itself when it is params (a dict, as ``model.init`` returns)."""
    if isinstance(params_or_state, TrainState):
        return params_or_state.params
    return check_params("params_or_state (the model's params or a TrainState)", params_or_state)


def step_key(state: TrainState) -> jax.Array:
    """The key of the current step's dropout and augmentation (traceable)."""
    return jax.random.fold_in(jax.random.fold_in(state.key, DROPOUT_STREAM), state.step)


_KEY_DATA: dict[int, tuple[weakref.ref[jax.Array], np.ndarray]] = {}  # id(key) -> (weakref(key), its data on the host)


def key_data_of(key: jax.Array) -> np.ndarray:
    """``jax.random.key_data(key)`` on the host, remembered for as long as ``key`` lives (keys are immutable)."""
    entry = _KEY_DATA.get(id(key))
    if entry is not None and entry[0]() is key:
        return entry[1]
    data = np.asarray(jax.random.key_data(key))
    ident = id(key)
    _KEY_DATA[ident] = (weakref.ref(key, lambda _: _KEY_DATA.pop(ident, None)), data)
    return data


def shuffle_seed(key_data: ArrayLike, step: int) -> np.random.SeedSequence:
    """The host seed of the shuffle of the epoch that starts at ``step``.

    ``key_data`` is ``jax.random.key_data(state.key)`` as integers; the seed
    mixes it with the stream number and the step, so epochs, runs and
    variants draw independent permutations, identical on every backend.
    """
    return np.random.SeedSequence([*np.asarray(key_data, np.uint32).ravel().tolist(), SHUFFLE_STREAM, int(step)])
