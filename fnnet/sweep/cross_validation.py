"""K-fold cross-validation of one configuration, the K trainings as one vmapped program."""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import layers, optimizers, precision
from fnnet._checks import naming
from fnnet.keys import as_key
from fnnet.protocols import DTypePolicyName, KeyLike, LossLike, MetricsSpec, OptimizerLike, Params
from fnnet.state import TrainState, init_state
from fnnet.sweep import stacked, variants as variants_lib
from fnnet.training import inputs

__all__ = ["CrossValidation", "cross_validate"]


class CrossValidation(NamedTuple):
    """``history[name]``: a ``(folds, epochs)`` array per metric; ``scores[name]``: each fold's last-epoch
    validation value; ``mean``/``std`` over folds."""

    history: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    states: TrainState  # stacked: every leaf has a leading axis of folds

    @property
    def mean(self) -> dict[str, float]:
        return {name: float(np.mean(v)) for name, v in self.scores.items()}

    @property
    def std(self) -> dict[str, float]:
        return {name: float(np.std(v)) for name, v in self.scores.items()}


def cross_validate(
    model: layers.Layer,
    x: Any,
    y: Any,
    folds: int = 5,
    *,
    loss: LossLike,
    optimizer: OptimizerLike = "adam",
    metrics: MetricsSpec = (),
    regularizers: Sequence[Callable[[Params], jax.Array]] = (),
    epochs: int = 1,
    batch_size: int = 32,
    shuffle: bool = True,
    key: KeyLike,
    verbose: int = 0,
    dtype_policy: DTypePolicyName = "float32",
) -> CrossValidation:
    """K-fold cross-validation of one configuration, the K trainings as one vmapped program.

    The samples are shuffled with ``permutation(fold_in(key, 1), n)`` and
    split into ``folds`` equal parts (the ``n % folds`` samples left over are
    not used, so the folds stack); fold ``f`` trains on the others and
    validates on part ``f``. Every fold starts from the same initialization
    and key (``variant_keys(key, 0)``).
    """
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    folds = int(folds)
    layers.base.check_layer("model", model)
    metrics, regularizers = stacked.check_run(epochs, batch_size, 0.0, shuffle, verbose, metrics, regularizers)
    key = as_key(key)
    spec = stacked.Spec(
        stacked.Fixed(model), loss, metrics, regularizers, optimizers.get(optimizer), precision.get(dtype_policy)
    )
    init_key, fit_key = variants_lib.variant_keys(key, 0)
    with naming("x"):  # the params are built for x's samples
        params = model.init(init_key, np.shape(x)[1:], spec.policy.param_dtype)
    x, y = inputs.check_data(spec.objective({}), params, x, y)
    size = len(x) // folds
    if size < 1:
        raise ValueError(f"{len(x)} samples cannot make {folds} folds")
    order = np.asarray(jax.random.permutation(jax.random.fold_in(key, 1), len(x)))[: size * folds]
    parts = order.reshape(folds, size)
    train_index = np.stack([np.concatenate([parts[g] for g in range(folds) if g != f]) for f in range(folds)])
    state = init_state(params, spec.optimizer, fit_key)
    states = jax.tree_util.tree_map(lambda leaf: jnp.broadcast_to(leaf, (folds, *jnp.shape(leaf))), state)
    run = stacked.Run(spec, (x[train_index], y[train_index], x[parts], y[parts]), 0, batch_size, shuffle, True, None)
    history, states, _ = stacked.train_stacked(run, states, {}, epochs, None, "val_loss", -1.0, verbose)
    scores = {name: values[:, -1] for name, values in history.items() if name.startswith("val_")}
    return CrossValidation(history, scores, states)
