"""What a layer, a loss, a metric, a callback and an optimizer must be, as typing ``Protocol``s.

These are for type checkers and readers; nothing here runs. fnnet's own
pieces satisfy them, and so does anything of a user's that has the same
shape (structural typing: no base class to inherit):

- ``Loss`` and ``Metric``: ``(y_true, y_pred, sample_weight=None) -> scalar``
  (``fnnet.losses``, ``fnnet.metrics``); a user's ``(y_true, y_pred)``
  function works too (``LossLike``, ``MetricLike``): training evaluates it per
  sample and weighs the values;
- ``LayerLike``: ``init``, ``apply``, ``apply_train``, ``penalty``,
  ``output_shape`` and ``get_config``, what ``fnnet.layers.Layer`` holds
  (see ``fnnet.layers.base`` for the contract);
- ``CallbackLike``: the four hooks ``fit`` calls between epochs (see
  ``fnnet.callbacks``), each returning a new state or None;
- ``Optimizer``: an optax ``GradientTransformation``; ``OptimizerLike`` adds
  the Keras names ``fnnet.optimizers.get`` takes.

The aliases name what fnnet's signatures take: ``KeyLike`` (a
``jax.random.key`` or an int seed), ``Params`` (a pytree of arrays, a nested
dict for fnnet's layers), ``Shape``, ``Logs``, and the closed sets of
string options as ``Literal``s (``DTypePolicyName``, ``WeightedLoss``,
``Mode``).
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeAlias

import jax
import numpy as np
import optax
from jax.sharding import Mesh
from jax.typing import ArrayLike

__all__ = [
    "ActivationLike",
    "ArrayLike",
    "Augment",
    "CallbackLike",
    "DTypePolicyName",
    "InitializerLike",
    "KeyLike",
    "LayerLike",
    "Logs",
    "Loss",
    "LossLike",
    "LossSpec",
    "LossWeights",
    "MeshLike",
    "Metric",
    "MetricLike",
    "MetricsSpec",
    "Mode",
    "Optimizer",
    "OptimizerLike",
    "OptimizerName",
    "Params",
    "PyTree",
    "Regularizer",
    "RegularizerLike",
    "Shape",
    "ShapeLike",
    "WeightedLoss",
]

PyTree: TypeAlias = Any
"""A pytree: arrays in nested dicts, lists, tuples and NamedTuples (``jax.tree_util``)."""

Params: TypeAlias = Any
"""A model's parameters: a pytree of arrays (for fnnet's layers, a dict from layer name to leaf name to array)."""

KeyLike: TypeAlias = jax.Array | np.ndarray | np.integer | int
"""A ``jax.random.key(seed)`` (or legacy ``PRNGKey`` data) or an int seed: ``fnnet.keys.as_key`` takes either."""

Shape: TypeAlias = tuple[int, ...]
"""An array's shape without the batch axis."""

ShapeLike: TypeAlias = int | Sequence[int]
"""A shape without the batch axis: a tuple or list of positive ints, or one int ``n`` for ``(n,)``."""

Logs: TypeAlias = dict[str, float]
"""An epoch's logs: ``loss``, the metrics and their ``val_`` forms, as floats."""

DTypePolicyName: TypeAlias = Literal["float32", "mixed_bfloat16", "float64"]
"""The names of ``fnnet.precision``'s policies."""

WeightedLoss: TypeAlias = Literal["sum_over_batch_size", "mean", "mean_with_sample_weight"]
"""How sample weights reduce a loss: Keras's ``sum_i w_i l_i / n``, or ``sum_i w_i l_i / sum_i w_i`` (two names)."""

Mode: TypeAlias = Literal["auto", "min", "max"]
"""Which way a monitored log improves (``"auto"``: read from its name, as Keras)."""

OptimizerName: TypeAlias = Literal[
    "sgd", "adam", "adamw", "amsgrad", "adagrad", "adadelta", "rmsprop", "adamax", "nadam"
]
"""The Keras names ``fnnet.optimizers.get`` builds, with Keras's default learning rates."""

Optimizer: TypeAlias = optax.GradientTransformation
"""An optimizer is an optax ``GradientTransformation`` (``init(params)``, ``update(grads, state, params)``)."""

OptimizerLike: TypeAlias = optax.GradientTransformation | OptimizerName | str
"""What ``compile`` and ``train_step`` take as ``optimizer``: a transformation or a Keras name.

(``| str``: a name held in a ``str`` variable, as in a loop over optimizers, type-checks too; an
unknown one is a ``ValueError`` listing the names.)"""


class Loss(Protocol):
    """``loss(y_true, y_pred, sample_weight=None) -> scalar``: a weighted mean over the samples (first axis)."""

    def __call__(
        self, y_true: ArrayLike, y_pred: ArrayLike, /, sample_weight: ArrayLike | None = None
    ) -> jax.Array: ...


class Metric(Protocol):
    """``metric(y_true, y_pred, sample_weight=None) -> scalar``: what to watch, a weighted mean (or a ratio)."""

    def __call__(
        self, y_true: ArrayLike, y_pred: ArrayLike, /, sample_weight: ArrayLike | None = None
    ) -> jax.Array: ...


ActivationLike: TypeAlias = str | Callable[[jax.Array], jax.Array] | None
"""An activation name (``"relu"``), a function of an array, or None (linear)."""

InitializerLike: TypeAlias = str | Mapping[str, Any] | Callable[..., jax.Array]
"""An initializer name (``"glorot_uniform"``), a config, or a ``(key, shape, dtype) -> array`` function."""

Regularizer: TypeAlias = Callable[[Params], jax.Array]
"""A penalty ``(params) -> scalar`` (``fnnet.regularizers``)."""

RegularizerLike: TypeAlias = str | Mapping[str, Any] | Regularizer | None
"""A regularizer name (``"l2"``), a config, a ``(params) -> scalar`` function, or None."""

LossLike: TypeAlias = str | Loss | Callable[..., jax.Array]
"""A loss name (``"mse"``), an fnnet loss, or a user's ``(y_true, y_pred[, sample_weight]) -> scalar``."""

MetricLike: TypeAlias = str | Metric | Callable[..., jax.Array]
"""A metric name (``"accuracy"``), an fnnet metric, or a user's ``(y_true, y_pred[, sample_weight]) -> scalar``."""

LossSpec: TypeAlias = LossLike | Mapping[str, LossLike] | Sequence[LossLike]
"""``compile``'s ``loss``: one loss, or one per output (a dict by output name, or a list in output order)."""

MetricsSpec: TypeAlias = (
    MetricLike | Sequence[MetricLike] | Mapping[str, MetricLike | Sequence[MetricLike]] | Sequence[Sequence[MetricLike]]
)
"""``compile``'s ``metrics``: one metric or a list; for several outputs a dict or list of lists per output."""

LossWeights: TypeAlias = Mapping[str, float] | Sequence[float]
"""The factor of each output's loss in the total: a dict by output name, or a list in output order."""

MeshLike: TypeAlias = Mesh | Literal["local"] | None
"""``mesh=``: a ``jax.sharding.Mesh`` whose first axis shards the batch, ``"local"`` (every local device) or None."""

Augment: TypeAlias = Callable[[jax.Array, jax.Array], jax.Array]
"""``augment(key, x_batch) -> x_batch``, run inside the compiled step (``fnnet.augment``)."""


class LayerLike(Protocol):
    """What a layer is (``fnnet.layers.Layer``): pure functions over explicit params, and a config.

    ``init(key, input_shape, dtype=float32) -> params``;
    ``apply(params, x, *, key=None, training=False) -> y``;
    ``apply_train(params, x, *, key=None, sample_weight=None) -> (y, updates)``;
    ``penalty(params) -> scalar``; ``output_shape(input_shape) -> shape``;
    ``get_config() -> {"class_name": ..., "config": {...}}``.
    """

    @property
    def init(self) -> Callable[..., Params]: ...

    @property
    def apply(self) -> Callable[..., Any]: ...

    @property
    def penalty(self) -> Callable[..., jax.Array]: ...  # (params) -> scalar

    @property
    def output_shape(self) -> Callable[..., Any]: ...

    def apply_train(
        self, params: Params, x: Any, *, key: KeyLike | None = None, sample_weight: ArrayLike | None = None
    ) -> tuple[Any, Params]: ...

    def get_config(self) -> dict[str, Any]: ...


class CallbackLike(Protocol):
    """A callback: the hooks ``fit`` calls between compiled epochs (``fnnet.callbacks.Callback`` has them all).

    ``state`` is the current ``fnnet.TrainState``; a hook returns a new one,
    or None to keep it. Setting ``stop_training = True`` stops training after
    the current epoch.
    """

    stop_training: bool

    def on_train_begin(self, state: Any) -> Any: ...

    def on_epoch_begin(self, epoch: int, state: Any) -> Any: ...

    def on_epoch_end(self, epoch: int, logs: Logs, state: Any) -> Any: ...

    def on_train_end(self, state: Any) -> Any: ...
