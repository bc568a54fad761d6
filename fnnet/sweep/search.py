"""``fit`` a sweep of variants and ``cross_validate`` one configuration, each as one vmapped program."""

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from fnnet import callbacks as callbacks_lib, layers, named_optimizer, optimizers, parallel, precision, saving
from fnnet._checks import as_tuple, flag, hyperparameter, naming
from fnnet.callbacks.base import check_monitor
from fnnet.sweep import stacked, variants as variants_lib
from fnnet.sweep.halving import Halving, train_halving
from fnnet.training import inputs
from fnnet.protocols import DTypePolicyName, KeyLike, LossLike, MetricsSpec, Mode, OptimizerLike, Params
from fnnet.keys import as_key
from fnnet.state import TrainState, init_state


class SweepResult(NamedTuple):
    """What a sweep returns.

    ``history[name]`` is a ``(K, epochs)`` array per metric (NaN after a
    variant stopped); ``states`` the stacked final ``TrainState``;
    ``best_index`` the variant with the best ``monitor`` value over its epochs.
    """

    variants: dict[str, np.ndarray]
    history: dict[str, np.ndarray]
    states: TrainState  # stacked: every leaf has a leading axis of K
    monitor: str
    best_index: int
    build: Callable[..., layers.Layer]

    @property
    def best_hyperparameters(self) -> dict[str, Any]:
        """The best variant's values, as Python scalars."""
        return {name: values[self.best_index].item() for name, values in self.variants.items()}

    def params(self, k: int) -> Params:
        """Variant ``k``'s params as an ordinary params tree."""
        return jax.tree_util.tree_map(lambda leaf: leaf[k], self.states.params)

    def model(self, k: int) -> layers.Layer:
        """Variant ``k``'s model, built with its values."""
        return self.build(**{n: v[k].item() for n, v in _model_values(self.variants, self.build).items()})

    def save_model(self, path: str | os.PathLike[str], k: int | None = None) -> str:
        """Write variant ``k``'s model and params (the best variant by default) with ``fn.save_model``.

        Returns the path; ``fn.load_model(path)`` gives ``(model, params)`` back.
        """
        k = self.best_index if k is None else k
        return saving.save_model(path, self.model(k), self.params(k))

    def predict(self, x: Any) -> np.ndarray:
        """Ensemble prediction: the mean over the K variants of the model's outputs (probabilities)."""
        values = {n: jnp.asarray(v) for n, v in _model_values(self.variants, self.build).items()}
        return np.asarray(_ensemble_mean(self.states.params, values, jnp.asarray(x), build=self.build))


@functools.partial(jax.jit, static_argnames=("build",))
def _ensemble_mean(params, model_values, x, *, build):
    return jnp.mean(jax.vmap(lambda p, values: build(**values).apply(p, x))(params, model_values), axis=0)


def _model_values(variants, build):
    names = stacked.builder_parameters(build)
    return {n: v for n, v in variants.items() if n in names}


def _as_arrays(values):
    """Swept values as device arrays; floats in float32, as the optimizer state and the model hold them."""
    return {n: jnp.asarray(v, jnp.float32 if np.issubdtype(v.dtype, np.floating) else None) for n, v in values.items()}


def _optimizer_values(optimizer, swept, k):
    """Every variant's numbers in the optimizer state: the swept ones, and the optimizer's own for the others.

    The stacked init is compiled once per equal optimizer (equal whatever
    its learning rate, ...), so its own numbers enter as arguments too, in
    the dtype optax would give them.
    """
    own = named_optimizer.injected_values(optimizer)
    return {**{n: jnp.asarray(np.full(k, v)) for n, v in own.items() if n not in swept}, **_as_arrays(swept)}


def fit(
    model: layers.Layer | Callable[..., layers.Layer],
    x: Any,
    y: Any,
    variants: Mapping[str, Any],
    *,
    loss: LossLike,
    optimizer: OptimizerLike = "adam",
    metrics: MetricsSpec = (),
    regularizers: Sequence[Callable[[Params], jax.Array]] = (),
    epochs: int = 1,
    batch_size: int = 32,
    validation_split: float = 0.0,
    validation_data: Sequence[Any] | None = None,
    shuffle: bool = True,
    monitor: str | None = None,
    mode: Mode = "auto",
    early_stopping: callbacks_lib.EarlyStopping | None = None,
    initial_params: Params | Sequence[Params] | None = None,
    mesh: Mesh | Literal["local"] | None = None,
    key: KeyLike,
    verbose: int = 1,
    dtype_policy: DTypePolicyName = "float32",
    max_variants_per_program: int | None = None,
    schedule: Halving | None = None,
) -> SweepResult:
    """Train every variant of ``model`` as one program (or one program per chunk of variants).

    Args:
        model: a ``Layer``, or ``build(**hyperparameters) -> Layer``.
        x, y: the training data, as in ``Trainer.fit``.
        variants: ``{name: K values}`` from ``grid``, ``random_search`` or
            ``seeds``: ``"seed"``, optimizer hyperparameters held in its state
            (``learning_rate``, ``momentum``, ``b1``, ...) and builder arguments.
        loss, optimizer, metrics, regularizers: as in ``fn.compile``.
        epochs, batch_size, validation_split, validation_data, shuffle: as in ``Trainer.fit``.
        monitor, mode: what chooses the best variant (``"val_loss"`` with
            validation data, else ``"loss"``).
        early_stopping: an ``EarlyStopping`` callback: each variant stops on
            its own; it brings its own monitor.
        initial_params: params stacked on a leading K axis to start every
            variant from (fine-tuning) instead of initializing them.
        mesh: a ``jax.sharding.Mesh`` (or ``"local"``) sharding the variant axis.
        key: ``jax.random.key(seed)``; variant ``k`` uses ``variant_keys(key, seed_k)``.
        verbose: 1 prints a line per epoch.
        dtype_policy: as in ``fn.compile``; params are initialized in its param dtype.
        max_variants_per_program: train the variants in chunks of at most this
            many, one compiled program each (the chunks of this size share it; a
            smaller last chunk compiles once more), so that thousands of variants
            fit in the device's memory. Each variant trains exactly as in one
            program (its own keys, the shared shuffle order); None: one program.
        schedule: ``fn.sweep.halving(eta, min_epochs)``: successive halving
            (after each rung the best ``1 / eta`` by ``monitor`` go on; the
            others' histories are NaN after their last rung). Not yet with
            ``mesh`` or ``max_variants_per_program``.

    Returns:
        A ``SweepResult``.

    Example:
        >>> import jax, numpy as np, fnnet as fn
        >>> x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32); y = x[:, :1] * 2
        >>> result = fn.sweep.fit(fn.Sequential([fn.layers.Dense(1)]), x, y,
        ...                       fn.sweep.grid(learning_rate=[0.001, 0.1]), loss="mse", optimizer="sgd",
        ...                       epochs=3, batch_size=8, key=jax.random.key(0), verbose=0)
        >>> result.history["loss"].shape, result.best_hyperparameters
        ((2, 3), {'learning_rate': 0.1})
    """
    metrics, regularizers = _check_run(epochs, batch_size, validation_split, shuffle, verbose, metrics, regularizers)
    if monitor is not None:
        check_monitor(monitor)
    build = stacked.as_builder(model)
    builder_names = stacked.builder_parameters(build)
    opt = optimizers.get(optimizer)
    key = as_key(key)
    mesh = parallel.resolve_mesh(mesh)
    variants, k = variants_lib.check(variants, builder_names, _optimizer_hyperparameters(opt))
    chunk = (
        k
        if max_variants_per_program is None
        else int(hyperparameter("max_variants_per_program", max_variants_per_program, integer=True, low=1))
    )
    for start in range(0, k, chunk):
        _check_divisible(min(chunk, k - start), mesh)
    if schedule is not None:
        if not isinstance(schedule, Halving):
            raise TypeError(f"schedule must be fn.sweep.halving(eta, min_epochs), got {schedule!r}")
        if mesh is not None or max_variants_per_program is not None:
            raise ValueError("schedule=halving(...) does not work with mesh= or max_variants_per_program= yet")
    if early_stopping is not None:
        if not isinstance(early_stopping, callbacks_lib.EarlyStopping):
            raise TypeError(f"early_stopping must be a fnnet.callbacks.EarlyStopping, got {early_stopping!r}")
        if monitor is not None and monitor != early_stopping.monitor:
            raise ValueError(
                f"monitor={monitor!r} but early_stopping monitors {early_stopping.monitor!r}; "
                "give one monitor (the early stopping's chooses the best variant)"
            )
        monitor = early_stopping.monitor
    model_values = {n: variants[n] for n in builder_names if n in variants}
    models = [build(**{n: v[i].item() for n, v in model_values.items()}) for i in range(k)]  # checks the values
    spec = stacked.Spec(build, loss, metrics, regularizers, opt, precision.get(dtype_policy))
    first = spec.objective({n: v[0].item() for n, v in model_values.items()})
    with naming("x"):  # the params are built for x's samples
        params0 = inputs.abstract_params(models[0], tuple(np.shape(x)[1:]), spec.policy.param_dtype)
    x, y = inputs.check_data(first, params0, x, y)
    if validation_data is not None:
        val_x, val_y = inputs.check_data(first, params0, *inputs.pair(validation_data), "validation x", "validation y")
    else:
        train, val = inputs.split_validation(inputs.Samples(x, y), validation_split)
        x, y, val_x, val_y = train.x, train.y, *((None, None) if val is None else (val.x, val.y))
    recorded = list(first.names) + ([f"val_{n}" for n in first.names] if val_x is not None else [])
    monitor = monitor or ("val_loss" if val_x is not None else "loss")
    if monitor not in recorded:
        raise ValueError(f"monitor {monitor!r} is not recorded by this sweep; recorded: {recorded}")
    sign = early_stopping.rule.sign if early_stopping is not None else callbacks_lib.monitor_sign(monitor, mode)

    seeds = variants.get("seed", np.zeros(k, np.int64))
    optimizer_values = {n: v for n, v in variants.items() if n not in model_values and n != "seed"}
    if initial_params is not None:
        initial_params = _check_initial_params(initial_params, params0, k)
    states = stacked.init_states(
        key,
        jnp.asarray(seeds, jnp.int32),
        _as_arrays(model_values),
        _optimizer_values(opt, optimizer_values, k),
        initial_params,
        spec=spec,
        input_shape=tuple(x.shape[1:]),
        mesh=mesh,
    )
    run = stacked.Run(spec, (x, y, val_x, val_y), None, batch_size, shuffle, "seed" not in variants, mesh)
    chunks = [slice(start, min(start + chunk, k)) for start in range(0, k, chunk)]
    model_arrays = _as_arrays(model_values)
    if schedule is not None:
        history, states, best = train_halving(
            run, states, model_arrays, epochs, early_stopping, monitor, sign, verbose, schedule
        )
        return SweepResult(variants, history, states, monitor, int(np.argmax(sign * best)), build)
    history, states, best = _joined(
        [
            stacked.train_stacked(
                run,
                jax.tree_util.tree_map(lambda leaf, part=part: leaf[part], states),
                {name: value[part] for name, value in model_arrays.items()},
                epochs,
                early_stopping,
                monitor,
                sign,
                verbose,
            )
            for part in chunks
        ]
    )
    return SweepResult(variants, history, states, monitor, int(np.argmax(sign * best)), build)


@functools.lru_cache(maxsize=64)
def _optimizer_hyperparameters(optimizer):
    return optimizers.hyperparameter_names(
        jax.eval_shape(optimizer.init, {"w": jax.ShapeDtypeStruct((1,), jnp.float32)})
    )


def _check_run(epochs, batch_size, validation_split, shuffle, verbose, metrics, regularizers):
    """The arguments a sweep shares with ``Trainer.fit``, checked as it checks them; ``(metrics, regularizers)``."""
    hyperparameter("epochs", epochs, integer=True, low=0, high=np.iinfo(np.int32).max)
    hyperparameter("batch_size", batch_size, integer=True, low=1)
    hyperparameter("validation_split", validation_split, low=0, high=1, high_inclusive=False)
    flag("shuffle", shuffle)
    hyperparameter("verbose", verbose, integer=True, low=0, high=2)
    return as_tuple(metrics, "metrics"), as_tuple(regularizers, "regularizers")


def _joined(pieces):
    """The ``(history, states, best)`` of consecutive chunks of variants as one sweep's: histories NaN-padded to the
    longest (a chunk whose variants all stopped early ran fewer epochs), states and bests concatenated."""
    if len(pieces) == 1:
        return pieces[0]
    epochs = max((values.shape[1] for history, _, _ in pieces for values in history.values()), default=0)
    history = {
        name: np.concatenate(
            [np.pad(h[name], ((0, 0), (0, epochs - h[name].shape[1])), constant_values=np.nan) for h, _, _ in pieces]
        )
        for name in pieces[0][0]
    }
    states = jax.tree_util.tree_map(lambda *leaves: jnp.concatenate(leaves), *(states for _, states, _ in pieces))
    return history, states, np.concatenate([best for _, _, best in pieces])


def _check_divisible(k, mesh):
    if mesh is not None and k % mesh.shape[mesh.axis_names[0]]:
        raise ValueError(
            f"a sweep of K = {k} variants cannot be split evenly over the "
            f"{mesh.shape[mesh.axis_names[0]]} devices of the mesh's {mesh.axis_names[0]!r} axis"
        )


def _check_initial_params(initial_params, params0, k):
    """Stacked params with a leading axis of K over the tree the model's ``init`` builds, leaf by leaf."""
    expected = jax.tree_util.tree_flatten_with_path(params0)[0]
    given, given_def = jax.tree_util.tree_flatten(initial_params)
    if given_def != jax.tree_util.tree_structure(params0):
        raise ValueError(
            f"initial_params must have the model's params tree {jax.tree_util.tree_structure(params0)}, got {given_def}"
        )
    for (path, want), leaf in zip(expected, given):
        if tuple(np.shape(leaf)) != (k, *want.shape):
            raise ValueError(
                f"initial_params{jax.tree_util.keystr(path)} must have shape {(k, *want.shape)} "
                f"(K = {k} variants first), got {np.shape(leaf)}"
            )
    return jax.tree_util.tree_map(lambda leaf, want: jnp.asarray(leaf, want.dtype), initial_params, params0)


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
    metrics, regularizers = _check_run(epochs, batch_size, 0.0, shuffle, verbose, metrics, regularizers)
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
