"""K variants of one model trained as one compiled program: ``jax.vmap`` over stacked states.

A sweep trains every variant inside the same scanned epoch as ``fit``,
vmapped over a stacked ``TrainState``. Variants are a dict of equal-length
arrays, one entry per variant, built with ``grid``, ``random_search`` or
``seeds``. Each name is one of

- ``"seed"``: the variant's initialization, shuffle order and dropout masks
  (variants without a seed axis share seed 0: only the swept values differ);
- an optimizer hyperparameter in the optimizer state (optimizers by name
  are wrapped in ``optax.inject_hyperparams``: ``learning_rate``, ``b1``,
  ``momentum``, ...);
- a keyword argument of the model builder ``build(**kw) -> Layer`` (for
  example ``lambda l2, dropout: fn.Sequential([Dense(64, "relu",
  kernel_regularizer=l2(l2)), Dropout(dropout), Dense(10, "softmax")])``),
  which is called with traced values, so it may not branch on them.

Variant ``k`` equals, to float tolerance, the same configuration trained
alone: ``init_key, fit_key = variant_keys(key, seed_k)``,
``params = build(**kw_k).init(init_key, shape)`` and ``trainer.fit(params,
..., key=fit_key)`` with the optimizer built with the variant's values.

With ``early_stopping=EarlyStopping(...)`` each variant stops on its own
(its parameters stop changing; later epochs are NaN in its history) and the
program ends when all have stopped or the epochs run out.
``cross_validate`` trains the K folds of one configuration the same way.
"""

import inspect
import itertools
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from fnnet import callbacks as callbacks_lib
from fnnet import layers, optimizers
from fnnet import train as train_lib


# --- building variants -----------------------------------------------------------------


def grid(**axes) -> dict:
    """Every combination of the given values: ``grid(learning_rate=[1e-3, 1e-2], l2=[0, 1e-4])`` has 4 variants."""
    if not axes:
        raise ValueError("grid needs at least one axis, e.g. grid(learning_rate=[1e-3, 1e-2])")
    for name, values in axes.items():
        if len(values) < 1:
            raise ValueError(f"grid axis {name!r} has no values")
    combos = list(itertools.product(*axes.values()))
    return {name: np.asarray([combo[i] for combo in combos]) for i, name in enumerate(axes)}


def random_search(key, k, **distributions) -> dict:
    """``k`` random variants; each distribution is ``("uniform", low, high)``, ``("log_uniform", low, high)``
    or a list of choices."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"random_search needs k >= 1 variants, got {k!r}")
    out = {}
    for index, (name, dist) in enumerate(distributions.items()):
        draw_key = jax.random.fold_in(key, index)
        if isinstance(dist, tuple) and len(dist) == 3 and dist[0] in ("uniform", "log_uniform"):
            kind, low, high = dist
            if kind == "log_uniform":
                if not 0 < low < high:
                    raise ValueError(f"log_uniform for {name!r} needs 0 < low < high, got {low}, {high}")
                out[name] = np.exp(np.asarray(jax.random.uniform(draw_key, (k,), minval=np.log(low), maxval=np.log(high))))
            else:
                out[name] = np.asarray(jax.random.uniform(draw_key, (k,), minval=low, maxval=high))
        elif isinstance(dist, (list, tuple)) and dist:
            out[name] = np.asarray(dist)[np.asarray(jax.random.randint(draw_key, (k,), 0, len(dist)))]
        else:
            raise ValueError(
                f"distribution for {name!r} must be ('uniform', low, high), ('log_uniform', low, high) "
                f"or a non-empty list of choices, got {dist!r}"
            )
    return out


def seeds(k) -> dict:
    """``k`` variants differing only in their seed: an ensemble."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"seeds needs k >= 1, got {k!r}")
    return {"seed": np.arange(k)}


def variant_keys(key, seed):
    """``(init_key, fit_key)`` of the variant with this seed: ``split(fold_in(key, seed))``."""
    init_key, fit_key = jax.random.split(jax.random.fold_in(key, seed))
    return init_key, fit_key


# --- results -------------------------------------------------------------------------------


class SweepResult(NamedTuple):
    """What a sweep returns.

    ``history[name]`` is a ``(K, epochs)`` array per metric (NaN after a
    variant stopped); ``states`` the stacked final ``TrainState``;
    ``best_index`` the variant with the best ``monitor`` value over its epochs.
    """

    variants: dict
    history: dict
    states: Any
    monitor: str
    best_index: int
    build: Any

    @property
    def best_hyperparameters(self) -> dict:
        """The best variant's values, as Python scalars."""
        return {name: values[self.best_index].item() for name, values in self.variants.items()}

    def params(self, k):
        """Variant ``k``'s params as an ordinary params tree."""
        return jax.tree_util.tree_map(lambda leaf: leaf[k], self.states.params)

    def model(self, k):
        """Variant ``k``'s model, built with its values."""
        return self.build(**{n: v[k].item() for n, v in _model_values(self.variants, self.build).items()})

    def predict(self, x):
        """Ensemble prediction: the mean over the K variants of the model's outputs (probabilities)."""
        model_values = {n: jnp.asarray(v) for n, v in _model_values(self.variants, self.build).items()}
        outputs = jax.jit(jax.vmap(lambda params, values: self.build(**values).apply(params, x)))(
            self.states.params, model_values)
        return np.asarray(jnp.mean(outputs, axis=0))


def _model_values(variants, build):
    names = _builder_parameters(build)
    return {n: v for n, v in variants.items() if n in names}


def _builder_parameters(build):
    """The builder's keyword arguments, each mapped to whether it has a default."""
    if isinstance(build, layers.Layer):
        return {}
    return {name: p.default is not inspect.Parameter.empty for name, p in inspect.signature(build).parameters.items()}


def _as_builder(model):
    if isinstance(model, layers.Layer):
        return _Fixed(model)
    if callable(model):
        return model
    raise TypeError(f"model must be a fnnet Layer or a function (**hyperparameters) -> Layer, got {model!r}")


class _Fixed(NamedTuple):
    """A builder without hyperparameters: always the same model."""

    model: Any

    def __call__(self):
        return self.model


# --- the sweep --------------------------------------------------------------------------------


_INJECTED = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


def _optimizer_hyperparameters(opt_state):
    """Names of the hyperparameters that ``optax.inject_hyperparams`` keeps in the optimizer state."""
    found = jax.tree_util.tree_leaves(opt_state, is_leaf=lambda n: isinstance(n, _INJECTED))
    return sorted({name for node in found if isinstance(node, _INJECTED) for name in node.hyperparams})


def _check_variants(variants, builder_names, optimizer_names):
    if not isinstance(variants, dict) or not variants:
        raise ValueError("variants must be a non-empty dict of name -> values; build one with grid, random_search or seeds")
    lengths = {name: len(np.atleast_1d(values)) for name, values in variants.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"every variant axis needs the same length K, got {lengths}")
    k = next(iter(lengths.values()))
    if k < 1:
        raise ValueError(f"a sweep needs K >= 1 variants, got K = {k}")
    valid = ["seed", *optimizer_names, *builder_names]
    unknown = sorted(set(variants) - set(valid))
    if unknown:
        raise ValueError(
            f"no model or optimizer hyperparameter named {', '.join(map(repr, unknown))}; valid choices: "
            f"'seed', optimizer {optimizer_names}, model builder {list(builder_names)}"
        )
    required = [n for n, has_default in builder_names.items() if n not in variants and not has_default]
    if required:
        raise ValueError(f"the model builder needs a variant axis for {required}: it has no default for them")
    return k


def fit(model, x, y, variants, *, loss, optimizer="adam", metrics=(), regularizers=(), epochs=1, batch_size=32,
        validation_split=0.0, validation_data=None, shuffle=True, monitor=None, mode="auto",
        early_stopping=None, key, verbose=1) -> SweepResult:
    """Train every variant of ``model`` (a Layer, or ``build(**hyperparameters) -> Layer``) as one program.

    The arguments mean what they mean in ``Trainer.fit``; ``monitor``/``mode``
    choose the best variant (``monitor`` defaults to ``"val_loss"`` with
    validation data, else ``"loss"``; ``early_stopping``, an ``EarlyStopping``
    callback, brings its own monitor and stops variants on their own).
    """
    build = _as_builder(model)
    builder_names = _builder_parameters(model)
    opt = optimizers.get(optimizer)
    variants = {name: np.atleast_1d(np.asarray(values)) for name, values in variants.items()} if isinstance(
        variants, dict) else variants
    probe_state = opt.init({"w": jnp.zeros(1)})
    k = _check_variants(variants, builder_names, _optimizer_hyperparameters(probe_state))
    if early_stopping is not None:
        if not isinstance(early_stopping, callbacks_lib.EarlyStopping):
            raise TypeError(f"early_stopping must be a fnnet.callbacks.EarlyStopping, got {early_stopping!r}")
        monitor, sign = early_stopping.monitor, early_stopping.rule.sign

    model_values = {n: variants[n] for n in builder_names if n in variants}
    first = build(**{n: v[0].item() for n, v in model_values.items()})
    trainer = train_lib.compile(first, loss, opt, metrics, regularizers)
    params0 = first.init(jax.random.key(0), np.shape(x)[1:])
    x, y, val_x, val_y = trainer._training_data(params0, x, y, validation_split, validation_data)
    names = ["loss", *trainer._objective.metrics]
    recorded = names + ([f"val_{n}" for n in names] if val_x is not None else [])
    if early_stopping is None:
        monitor = monitor or ("val_loss" if val_x is not None else "loss")
        sign = callbacks_lib.monitor_sign(monitor, mode)
    if monitor not in recorded:
        raise ValueError(f"monitor {monitor!r} is not recorded by this sweep; recorded: {recorded}")

    optimizer_values = {n: v for n, v in variants.items() if n not in model_values and n != "seed"}
    seed_values = variants.get("seed", np.zeros(k, np.int64))
    states = _init_states(build, opt, key, x.shape[1:], seed_values, model_values, optimizer_values)
    history, states, best = _train_stacked(
        build, opt, loss, metrics, regularizers, states, model_values,
        (x, y, val_x, val_y), None, epochs, batch_size, shuffle, early_stopping, monitor, sign, verbose,
        shared_key="seed" not in variants)
    return SweepResult(variants, history, states, monitor, int(np.argmax(sign * best)), build)


def _init_states(build, opt, key, input_shape, seed_values, model_values, optimizer_values):
    """Each variant's initial ``TrainState``, stacked. Built eagerly one by one: compiling a vmapped
    initializer costs more than running K small ones."""
    states = []
    for k, seed in enumerate(seed_values):
        init_key, fit_key = variant_keys(key, int(seed))
        model = build(**{n: v[k].item() for n, v in model_values.items()})
        state = train_lib.init_state(model.init(init_key, input_shape), opt, fit_key)
        current = {n: optax.tree_utils.tree_get(state.opt_state, n) for n in optimizer_values}
        opt_state = optax.tree_utils.tree_set(
            state.opt_state, **{n: jnp.asarray(v[k], current[n].dtype) for n, v in optimizer_values.items()})
        states.append(state._replace(opt_state=opt_state))
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *states)


def _as_arrays(values):
    return {n: jnp.asarray(v, jnp.float32 if np.issubdtype(np.asarray(v).dtype, np.floating) else None)
            for n, v in values.items()}


def _train_stacked(build, opt, loss, metrics, regularizers, states, model_values, data, data_axis,
                   epochs, batch_size, shuffle, early_stopping, monitor, sign, verbose, shared_key):
    """Run the stacked epochs; returns the (K, epochs) history, the final states and each variant's best value.

    With ``shared_key`` every variant has the same key, hence the same shuffle
    and dropout masks: the key and step are passed unbatched, so the batch
    plan and the gathers are computed once for all variants.
    """
    x, y, val_x, val_y = data
    n_train = x.shape[1] if data_axis == 0 else x.shape[0]
    batch_size = min(batch_size, n_train)
    k = len(states.step)

    def one_variant(params, opt_state, step, key, model_kw, active, x, y, val_x, val_y):
        objective = train_lib._objective(build(**model_kw), loss, metrics, regularizers)
        state = train_lib.TrainState(params, opt_state, step, key)
        new_state, logs = train_lib.train_epoch(objective, opt, state, x, y, val_x, val_y,
                                                batch_size=batch_size, shuffle=shuffle)
        kept = jax.tree_util.tree_map(lambda new, old: jnp.where(active, new, old), new_state[:3], state[:3])
        return kept, logs

    shared = None if shared_key else 0
    val_axis = data_axis if val_x is not None else None
    vmapped = jax.vmap(one_variant, in_axes=(0, 0, shared, shared, 0, 0, data_axis, data_axis, val_axis, val_axis))

    @jax.jit
    def epoch(states, model_kw, active, x, y, val_x, val_y):
        step, key = (jnp.max(states.step), states.key[0]) if shared_key else (states.step, states.key)
        (params, opt_state, step), logs = vmapped(states.params, states.opt_state, step, key, model_kw, active,
                                                  x, y, val_x, val_y)
        return states._replace(params=params, opt_state=opt_state, step=step), logs

    rule = early_stopping.rule if early_stopping is not None else callbacks_lib.EarlyStoppingRule(sign, patience=epochs)
    update = jax.jit(jax.vmap(lambda s, v, e: callbacks_lib.early_stopping_update(rule, s, v, e), in_axes=(0, 0, None)))
    stop_state = jax.vmap(lambda _: callbacks_lib.early_stopping_init(rule))(jnp.arange(k))
    restore = early_stopping is not None and early_stopping.restore_best_weights
    best_params = states.params
    history = {}
    model_kw = _as_arrays(model_values)
    data = jax.device_put((x, y, val_x, val_y))
    for e in range(epochs):
        start = time.perf_counter()
        active = ~stop_state.stop
        states, logs = epoch(states, model_kw, active, *data)
        logs = {name: np.where(np.asarray(active), np.asarray(value, np.float64), np.nan) for name, value in logs.items()}
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        stop_state = jax.tree_util.tree_map(
            lambda new, old: jnp.where(active, new, old), update(stop_state, jnp.asarray(logs[monitor]), e), stop_state)
        if restore:
            improved = np.asarray(stop_state.best_epoch) == e
            best_params = jax.tree_util.tree_map(
                lambda new, old: jnp.where(improved.reshape(-1, *([1] * (new.ndim - 1))), new, old), states.params,
                best_params)
        if verbose:
            print(f"Epoch {e + 1}/{epochs} - {time.perf_counter() - start:.2f}s - "
                  f"{int(np.sum(np.asarray(active)))}/{k} variants training - best {monitor} "
                  f"{float(np.nanmax(sign * logs[monitor])) * sign:.4f}", flush=True)
        if bool(jnp.all(stop_state.stop)):
            break
    if restore:
        states = states._replace(params=best_params)
    history = {name: np.stack(values, axis=1) for name, values in history.items()}
    best = np.asarray(stop_state.best, np.float64)
    return history, states, best


class CrossValidation(NamedTuple):
    """``history[name]``: a ``(folds, epochs)`` array per metric; ``scores[name]``: each fold's last-epoch
    validation value; ``mean``/``std`` over folds."""

    history: dict
    scores: dict
    states: Any

    @property
    def mean(self) -> dict:
        return {name: float(np.mean(v)) for name, v in self.scores.items()}

    @property
    def std(self) -> dict:
        return {name: float(np.std(v)) for name, v in self.scores.items()}


def cross_validate(model, x, y, folds=5, *, loss, optimizer="adam", metrics=(), regularizers=(), epochs=1,
                   batch_size=32, shuffle=True, key, verbose=0) -> CrossValidation:
    """K-fold cross-validation of one configuration, the K trainings as one vmapped program.

    The samples are shuffled with ``key`` and split into ``folds`` equal
    parts (the ``len(x) % folds`` samples left over are not used, so the
    folds stack); fold ``f`` trains on the others and validates on part ``f``.
    Every fold starts from the same initialization (``variant_keys(key, 0)``).
    """
    if not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    if not isinstance(model, layers.Layer):
        raise TypeError(f"cross_validate takes a fnnet Layer, got {model!r}")
    opt = optimizers.get(optimizer)
    trainer = train_lib.compile(model, loss, opt, metrics, regularizers)
    params0 = model.init(jax.random.key(0), np.shape(x)[1:])
    x, y = trainer._check_data(params0, x, y, "x", "y")
    size = len(x) // folds
    if size < 1:
        raise ValueError(f"{len(x)} samples cannot make {folds} folds")
    order = np.asarray(jax.random.permutation(jax.random.fold_in(key, 1), len(x)))[: size * folds]
    parts = order.reshape(folds, size)
    train_index = np.stack([np.concatenate([parts[g] for g in range(folds) if g != f]) for f in range(folds)])
    data = (x[train_index], y[train_index], x[parts], y[parts])
    states = _init_states(_Fixed(model), opt, key, x.shape[1:], np.zeros(folds, np.int64), {}, {})
    history, states, _ = _train_stacked(_Fixed(model), opt, loss, metrics, regularizers, states, {}, data,
                                        0, epochs, batch_size, shuffle, None, "val_loss", -1.0, verbose,
                                        shared_key=True)
    scores = {name: values[:, -1] for name, values in history.items() if name.startswith("val_")}
    return CrossValidation(history, scores, states)
