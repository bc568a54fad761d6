"""``fit`` a sweep of variants as one vmapped program (or one per chunk of variants)."""

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from fnnet import callbacks as callbacks_lib, layers, named_optimizer, optimizers, parallel, precision
from fnnet._checks import hyperparameter, naming
from fnnet.callbacks.base import check_monitor
from fnnet.keys import as_key
from fnnet.protocols import DTypePolicyName, KeyLike, LossLike, MetricsSpec, Mode, OptimizerLike, Params
from fnnet.state import init_state
from fnnet.sweep import initial, memory, padding as padding_lib, shapes, stacked, variants as variants_lib
from fnnet.sweep.halving import Halving, train_halving
from fnnet.sweep.result import SweepResult
from fnnet.sweep.shapes import value_of
from fnnet.training import inputs


def _optimizer_values(optimizer, swept, k):
    """Every variant's numbers in the optimizer state: the swept ones, and the optimizer's own for the others.

    The stacked init is compiled once per equal optimizer (equal whatever
    its learning rate, ...), so its own numbers enter as arguments too, in
    the dtype optax would give them.
    """
    own = named_optimizer.injected_values(optimizer)
    return {**{n: jnp.asarray(np.full(k, v)) for n, v in own.items() if n not in swept}, **stacked.as_arrays(swept)}


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
    max_variants_per_program: int | Literal["auto"] | None = "auto",
    schedule: Halving | None = None,
) -> SweepResult:
    """Train every variant of ``model`` as one program (or one program per chunk of variants).

    Args:
        model: a ``Layer``, or ``build(**hyperparameters) -> Layer``.
        x: the training inputs, as in ``Trainer.fit``.
        y: the training targets, as in ``Trainer.fit``.
        variants: ``{name: K values}`` from ``grid``, ``random_search`` or
            ``seeds``: ``"seed"``, optimizer hyperparameters held in its state
            (``learning_rate``, ``momentum``, ``b1``, ...) and builder arguments,
            those that change the network's shape included (``units``,
            ``depth``, per-layer widths, ``activation``: every variant is padded
            into the largest network and masked, so it trains exactly as alone;
            see ``fnnet.sweep.shapes``).
        loss: as in ``fn.compile``.
        optimizer: as in ``fn.compile``.
        metrics: as in ``fn.compile``.
        regularizers: as in ``fn.compile``.
        epochs: as in ``Trainer.fit``.
        batch_size: as in ``Trainer.fit``.
        validation_split: as in ``Trainer.fit``.
        validation_data: as in ``Trainer.fit``.
        shuffle: as in ``Trainer.fit``.
        monitor: what chooses the best variant (``"val_loss"`` with
            validation data, else ``"loss"``).
        mode: ``"min"``, ``"max"`` or ``"auto"`` for ``monitor``, as in ``EarlyStopping``.
        early_stopping: an ``EarlyStopping`` callback: each variant stops on
            its own; it brings its own monitor.
        initial_params: params to start every variant from (fine-tuning)
            instead of initializing them: stacked on a leading K axis, or a
            list of K trees (with shape axes, each of its variant's own shapes).
        mesh: a ``jax.sharding.Mesh`` (or ``"local"``) sharding the variant axis.
        key: ``jax.random.key(seed)``; variant ``k`` uses ``variant_keys(key, seed_k)``.
        verbose: 1 prints a line per epoch.
        dtype_policy: as in ``fn.compile``; params are initialized in its param dtype.
        max_variants_per_program: train the variants in chunks of at most this
            many, one compiled program each (the chunks of this size share it; a
            smaller last chunk compiles once more), so that thousands of variants
            fit in the device's memory. Each variant trains exactly as in one
            program (its own keys, the shared shuffle order). ``"auto"``: as
            many as half the free memory holds (``fnnet.sweep.memory``); None:
            one program.
        schedule: ``fn.sweep.halving(eta, min_epochs)``: successive halving
            (after each rung the best ``1 / eta`` by ``monitor`` go on; the
            others' histories are NaN after their last rung); on a mesh, stopped
            copies fill each smaller program up to the devices.

    Returns:
        A ``SweepResult``.

    Examples:
        >>> import jax, numpy as np, fnnet as fn
        >>> x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32); y = x[:, :1] * 2
        >>> result = fn.sweep.fit(fn.Sequential([fn.layers.Dense(1)]), x, y,
        ...                       fn.sweep.grid(learning_rate=[0.001, 0.1]), loss="mse", optimizer="sgd",
        ...                       epochs=3, batch_size=8, key=jax.random.key(0), verbose=0)
        >>> result.history["loss"].shape, result.best_hyperparameters
        ((2, 3), {'learning_rate': 0.1})
    """
    metrics, regularizers = stacked.check_run(
        epochs, batch_size, validation_split, shuffle, verbose, metrics, regularizers
    )
    if monitor is not None:
        check_monitor(monitor)
    build = stacked.as_builder(model)
    builder_names = stacked.builder_parameters(build)
    opt = optimizers.get(optimizer)
    key = as_key(key)
    mesh = parallel.resolve_mesh(mesh)
    variants, k = variants_lib.check(variants, builder_names, _optimizer_hyperparameters(opt))
    if schedule is not None and not isinstance(schedule, Halving):
        raise TypeError(f"schedule must be fn.sweep.halving(eta, min_epochs), got {schedule!r}")
    chunk = _check_chunk(max_variants_per_program, mesh)
    monitor = _early_stopping_monitor(early_stopping, monitor)
    model_values = {n: variants[n] for n in builder_names if n in variants}
    models = [build(**{n: value_of(v, i) for n, v in model_values.items()}) for i in range(k)]  # checks the values
    spec = stacked.Spec(build, loss, metrics, regularizers, opt, precision.get(dtype_policy))
    first = spec.objective({n: value_of(v, 0) for n, v in model_values.items()})
    input_shape = tuple(np.shape(x)[1:])
    with naming("x"):  # the params are built for x's samples
        params0 = inputs.abstract_params(models[0], input_shape, spec.policy.param_dtype)
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
    static = shapes.static_names(build, model_values, input_shape, spec.policy.param_dtype) if model_values else []
    padded = None
    if static:
        padded = padding_lib.plan(build, model_values, static, input_shape, spec.policy.param_dtype)
        model_values = {n: v for n, v in model_values.items() if n not in static}
        spec = spec._replace(build=padded.builder)
    if chunk == "auto":
        one = params0 if padded is None else padded.padded
        data = sum(np.asarray(a).nbytes for a in (x, y, val_x, val_y) if a is not None)
        chunk = memory.variants_per_program(k, _variant_bytes(opt, one, batch_size), data, _devices(mesh))
    if schedule is None and chunk is None and mesh is not None and k % _devices(mesh):
        raise ValueError(
            f"a sweep of K = {k} variants cannot be split evenly over the {_devices(mesh)} devices of the mesh's "
            f"{mesh.axis_names[0]!r} axis"
        )
    if padded is not None:
        own_params = padding_lib.init_params(
            padded, key, seeds, stacked.as_arrays(model_values), x[:8], spec.policy.param_dtype
        )  # also checks that each network computes the same padded
        initial_params = own_params if initial_params is None else initial.check(initial_params, params0, k, padded)
    elif initial_params is not None:
        initial_params = initial.check(initial_params, params0, k, None)
    program_values = stacked.as_arrays(model_values)
    if padded is not None:
        program_values[shapes.LAYOUT] = jax.tree_util.tree_map(jnp.asarray, padded.layouts)
    states = stacked.init_states(
        key,
        jnp.asarray(seeds if "seed" in variants else 0, jnp.int32),  # one seed for all: its draws made once
        program_values,
        _optimizer_values(opt, optimizer_values, k),
        initial_params,
        spec=spec,
        input_shape=input_shape,
        mesh=mesh,
    )
    run = stacked.Run(spec, (x, y, val_x, val_y), None, batch_size, shuffle, "seed" not in variants, mesh)
    stopping = (early_stopping, monitor, sign, verbose)
    if schedule is not None:
        history, states, best = train_halving(run, states, program_values, epochs, *stopping, schedule, chunk)
    elif padded is not None and len(padded.builder.largest) > 1:
        history, states, best = _train_each_choice(run, states, program_values, epochs, stopping, chunk, padded)
    else:
        history, states, best = stacked.train_stacked(run, states, program_values, epochs, *stopping, chunk)
    return SweepResult(variants, history, states, monitor, int(np.argmax(sign * best)), build, padded)


def _train_each_choice(run, states, values, epochs, stopping, chunk, padded):
    """``train_stacked`` once per value of the non-numeric axes (activation), each with its largest network
    alone: every step computes one value's network, not all of them as ``lax.switch`` under ``vmap`` would
    (halving keeps the switch: its survivors of several values share a program). Joined in variant order."""
    early_stopping, monitor, sign, verbose = stopping
    parts = [
        (
            members,
            stacked.train_stacked(
                run._replace(spec=run.spec._replace(build=builder)),
                stacked.take(states, members),
                stacked.take(values, members),
                epochs,
                early_stopping,
                monitor,
                sign,
                verbose,
                chunk,
            ),
        )
        for builder, members in padded.by_choice()
    ]
    k, ran = len(states.step), max((v.shape[1] for _, (history, _, _) in parts for v in history.values()), default=0)
    history = {name: np.full((k, ran), np.nan) for name in parts[0][1][0]}
    for members, (part_history, _, _) in parts:
        for name, values_ in part_history.items():
            history[name][members, : values_.shape[1]] = values_
    order = np.argsort(np.concatenate([members for members, _ in parts]))
    states = jax.tree_util.tree_map(
        lambda *leaves: jnp.concatenate(leaves)[order], *(part_states for _, (_, part_states, _) in parts)
    )
    return history, states, np.concatenate([best for _, (_, _, best) in parts])[order]


def _early_stopping_monitor(early_stopping, monitor):
    """The monitor that chooses the best variant: the early stopping's, when one is given."""
    if early_stopping is None:
        return monitor
    if not isinstance(early_stopping, callbacks_lib.EarlyStopping):
        raise TypeError(f"early_stopping must be a fnnet.callbacks.EarlyStopping, got {early_stopping!r}")
    if monitor is not None and monitor != early_stopping.monitor:
        raise ValueError(
            f"monitor={monitor!r} but early_stopping monitors {early_stopping.monitor!r}; "
            "give one monitor (the early stopping's chooses the best variant)"
        )
    return early_stopping.monitor


@functools.lru_cache(maxsize=64)
def _optimizer_hyperparameters(optimizer):
    return optimizers.hyperparameter_names(
        jax.eval_shape(optimizer.init, {"w": jax.ShapeDtypeStruct((1,), jnp.float32)})
    )


def _variant_bytes(optimizer, params, batch_size):
    leaves, treedef = jax.tree_util.tree_flatten(params)
    return _variant_bytes_of(optimizer, treedef, tuple((leaf.shape, str(leaf.dtype)) for leaf in leaves), batch_size)


@functools.lru_cache(maxsize=64)
def _variant_bytes_of(optimizer, treedef, leaves, batch_size):
    """``memory.variant_bytes`` of one variant, computed once per optimizer, params shapes and batch size."""
    params = jax.tree_util.tree_unflatten(treedef, [jax.ShapeDtypeStruct(shape, dtype) for shape, dtype in leaves])
    state = jax.eval_shape(lambda p: init_state(p, optimizer, jax.random.key(0)), params)
    return memory.variant_bytes(state, params, batch_size)


def _devices(mesh):
    return 1 if mesh is None else mesh.shape[mesh.axis_names[0]]


def _check_chunk(max_variants_per_program, mesh):
    """``max_variants_per_program``: ``"auto"``, None (one program) or a count, a multiple of the mesh's devices."""
    if max_variants_per_program is None or max_variants_per_program == "auto":
        return max_variants_per_program
    chunk = int(hyperparameter("max_variants_per_program", max_variants_per_program, integer=True, low=1))
    if chunk % _devices(mesh):
        raise ValueError(
            f"max_variants_per_program={chunk} must be a multiple of the {_devices(mesh)} devices of the mesh's "
            f"{mesh.axis_names[0]!r} axis, so that every chunk splits evenly over them"
        )
    return chunk
