"""Weight penalties ``(params) -> scalar`` and their composition with a loss.

A regularizer sums a penalty over the leaves of a params pytree that its
``where`` predicate selects (by default every leaf called ``"kernel"``, so
biases are left alone as in Keras). Given a bare array, as a layer's
``kernel_regularizer`` is, it penalises that array.

- ``l1(rate)``:          R(w) = rate * sum |w|
- ``l2(rate)``:          R(w) = rate * sum w^2   (in the loss, not AdamW's decoupled decay)
- ``l1_l2(l1, l2)``:     R(w) = l1 * sum |w| + l2 * sum w^2

Each is a small frozen value with Keras's config (``{"class_name": "L2",
"config": {"l2": 1e-4}}``); equal configs compare and hash equal.
``get(config)`` rebuilds one. ``fnnet.objective(model, loss,
*regularizers)`` composes a loss and penalties into the one function that
training minimises.
"""

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import jax
import jax.numpy as jnp

from fnnet import _config
from fnnet._checks import function, hyperparameter, naming, one_of
from fnnet.protocols import Params

Regularizer = Callable[[Params], jax.Array]
Where = Callable[[tuple[Any, ...]], bool]
"""A leaf selector: ``where(path) -> bool`` for the leaf's key path (``jax.tree_util``)."""


def is_kernel(path: tuple[Any, ...]) -> bool:
    """Select leaves whose last key is ``"kernel"`` (and a bare array, whose path is empty)."""
    return not path or getattr(path[-1], "key", None) == "kernel"


def every_leaf(path: tuple[Any, ...]) -> bool:
    """Select every leaf: kernels and biases alike."""
    return True


_WHERE = {"kernel": is_kernel, "every_leaf": every_leaf}


@dataclasses.dataclass(frozen=True, eq=False)
class Penalty:
    """``R(w) = l1 * sum |w| + l2 * sum w^2`` over the leaves ``where`` selects.

    ``class_name`` is Keras's: ``"L1"`` computes only the first term, ``"L2"``
    only the second, ``"L1L2"`` both.
    """

    class_name: str
    l1: float = 0.0
    l2: float = 0.0
    where: Where = is_kernel
    if TYPE_CHECKING:  # set by __post_init__: derived from the fields, not one of them
        config_json: ClassVar[str | None]

    def __call__(self, params: Params) -> jax.Array:
        def leaf_penalty(w):
            if self.class_name == "L1":
                return self.l1 * jnp.sum(jnp.abs(w))
            if self.class_name == "L2":
                return self.l2 * jnp.sum(jnp.square(w))
            return self.l1 * jnp.sum(jnp.abs(w)) + self.l2 * jnp.sum(jnp.square(w))

        leaves = jax.tree_util.tree_leaves_with_path(params)
        return sum((leaf_penalty(leaf) for path, leaf in leaves if self.where(path)), jnp.asarray(0.0))

    def _arguments(self) -> dict[str, Any]:
        rates: dict[str, Any] = {"L1": {"l1": self.l1}, "L2": {"l2": self.l2}}.get(
            self.class_name, {"l1": self.l1, "l2": self.l2}
        )
        if self.where is not is_kernel:
            names = [name for name, fn in _WHERE.items() if fn is self.where]
            rates["where"] = names[0] if names else self.where
        return rates

    def get_config(self) -> dict[str, Any]:
        """``{"class_name": "L2", "config": {"l2": rate}}`` (``"where"`` only when not kernels)."""
        return _config.make_config(self.class_name, self._arguments())

    def __post_init__(self):
        one_of("class_name", self.class_name, ("L1", "L2", "L1L2"))
        hyperparameter("l1 rate", self.l1, low=0)
        hyperparameter("l2 rate", self.l2, low=0)
        function("where", self.where)
        object.__setattr__(self, "config_json", _config.canonical(self.class_name, self._arguments()))

    def __eq__(self, other):
        if not isinstance(other, Penalty):
            return NotImplemented
        mine = self.config_json
        return self is other if mine is None else mine == other.config_json

    def __hash__(self):
        mine = self.config_json
        return id(self) if mine is None else hash(mine)


def l1(rate: float = 0.01, where: Where = is_kernel) -> Penalty:
    """L1 penalty ``rate * sum |w|`` over the selected leaves (Keras default rate 0.01)."""
    hyperparameter("l1 rate", rate, low=0)
    return Penalty("L1", l1=rate, where=where)


def l2(rate: float = 0.01, where: Where = is_kernel) -> Penalty:
    """L2 penalty ``rate * sum w^2`` over the selected leaves (Keras default rate 0.01)."""
    hyperparameter("l2 rate", rate, low=0)
    return Penalty("L2", l2=rate, where=where)


def l1_l2(l1: float = 0.0, l2: float = 0.0, where: Where = is_kernel) -> Penalty:
    """Elastic net ``l1 * sum |w| + l2 * sum w^2`` (Keras ``L1L2``, defaults 0)."""
    hyperparameter("l1 rate", l1, low=0)
    hyperparameter("l2 rate", l2, low=0)
    return Penalty("L1L2", l1=l1, l2=l2, where=where)


FACTORIES = (l1, l2, l1_l2)
"""The factories, which a regularizer argument refuses uncalled (``l2`` where ``l2(1e-4)`` goes)."""
_BY_CLASS = {"L1": l1, "L2": l2, "L1L2": l1_l2}
_BY_NAME = {"l1": l1, "l2": l2, "l1_l2": l1_l2}


def get(identifier: str | Mapping[str, Any] | Regularizer | None) -> Regularizer | None:
    """A regularizer from None, a callable (as is), a name (``"l2"``, Keras's default rate) or a config."""
    if identifier is None or callable(identifier):
        return None if identifier is None else function("regularizer", identifier, factories=FACTORIES)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if _config.is_config(identifier) and identifier["class_name"] in _BY_CLASS:
        arguments = dict(identifier["config"])
        if "where" in arguments:
            if arguments["where"] not in _WHERE:
                raise ValueError(f"unknown regularizer where {arguments['where']!r}; valid: {sorted(_WHERE)}")
            arguments["where"] = _WHERE[arguments["where"]]
        if identifier["class_name"] != "L1L2":
            arguments["rate"] = arguments.pop(identifier["class_name"].lower())
        return _BY_CLASS[identifier["class_name"]](**arguments)
    error = ValueError if isinstance(identifier, (str, Mapping)) else TypeError  # a number, a list: the wrong type
    raise error(
        f"unknown regularizer {identifier!r}; give a callable, one of {sorted(_BY_NAME)} "
        f"or a config with class_name in {sorted(_BY_CLASS)}"
    )


def check(name: str, value: object) -> Regularizer | None:
    """A layer's regularizer argument ``name``: None, a callable, a name or a config; errors name the argument."""
    if value is not None and not callable(value) and not isinstance(value, (str, Mapping)):
        raise TypeError(f"{name} must be a callable (array) -> scalar or None, got {value!r}")
    with naming(name):
        return get(value)  # pyright: ignore[reportArgumentType]  (narrowed above: None, a callable, a str or a Mapping)


def serialize(regularizer: Regularizer | None) -> Regularizer | None:
    """A regularizer as a config value: None or the regularizer itself (its ``get_config()`` is the config)."""
    return None if regularizer is None else function("regularizer", regularizer, factories=FACTORIES)


def total(*regularizers: Regularizer) -> Regularizer:
    """One regularizer that sums the given ones, as ``optax.chain`` chains transformations."""
    for i, r in enumerate(regularizers):
        if not callable(r):
            raise TypeError(f"regularizers must be callables (params) -> scalar, got {r!r}")
        function(f"regularizers[{i}]", r, factories=FACTORIES)

    def regularizer(params: Params) -> jax.Array:
        return sum((r(params) for r in regularizers), jnp.asarray(0.0))

    return regularizer
