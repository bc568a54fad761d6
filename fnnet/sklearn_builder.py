"""The ``model=build`` side of ``fnnet.sklearn``: a user's builder function instead of the built-in MLP.

``build(**kwargs) -> Layer`` returns the whole network, output layer
included. The estimator calls it with its routed parameters (each
``model__<name>=value`` becomes ``<name>=value``) and, when ``build`` names
them, ``n_outputs`` (the classes for a classifier, the target columns for a
regressor) and ``n_features_in``. ``config`` checks the keywords against the
builder's signature before anything is built; ``trainer`` builds, checks the
output shape with ``jax.eval_shape`` and compiles, once per configuration.

The estimator pickles with its builder: a function defined at a module's
top level pickles (by name), a lambda or a nested function does not.
"""

import functools
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from fnnet import layers, optimizers, regularizers, training
from fnnet.protocols import DTypePolicyName

PREFIX = "model__"
"""Constructor keywords starting with this are routed to the builder without it: ``model__units=8`` → ``units=8``."""

# What the estimator passes to a builder that names them.
_META = ("n_outputs", "n_features_in")
# Sequential's output layer activations that can give probabilities.
_PROBABILITIES = ("softmax",)


class BuilderConfig(NamedTuple):
    """What ``trainer`` builds a ``Trainer`` from: the builder, its keywords and the training configuration."""

    build: Callable[..., layers.Layer]
    keywords: tuple[tuple[str, Any], ...]  # what build is called with, sorted by name
    n_features_in: int
    n_outputs: int
    probabilities: bool  # the classifier's loss needs probabilities
    loss: str
    optimizer: str
    l2: float
    dtype_policy: DTypePolicyName


def check_model(model: object) -> None:
    """TypeError unless ``model`` is None or a function that builds a network."""
    if isinstance(model, layers.Layer):
        raise TypeError(
            "model must be a function that builds the network, not the network itself: "
            "def build(units=16): return fn.Sequential([...]), then model=build"
        )
    if model is not None and not callable(model):
        raise TypeError(f"model must be None or a function build(**kwargs) -> fnnet Layer, got {model!r}")


def check_no_routed(routed: Mapping[str, Any]) -> None:
    """ValueError for ``model__*`` parameters given without ``model=``."""
    if routed:
        given = ", ".join(f"{name}={value!r}" for name, value in routed.items())
        raise ValueError(f"{given} is routed to model=build, but model is None; pass model=build or remove it")


def check_no_mlp_hyperparameters(values: Mapping[str, tuple[Any, Any]]) -> None:
    """ValueError for a built-in MLP hyperparameter (``{name: (value, default)}``) set beside ``model=``."""
    for name, (value, default) in values.items():
        if not _same(value, default):
            raise ValueError(
                f"{name}={value!r} shapes the built-in network, but model= builds the whole network: "
                f"{name} belongs to the builder; route it as model__{name}={value!r} (a parameter of the builder)"
            )


def _same(value: object, default: object) -> bool:
    """Whether a hyperparameter still has its default (an array never does)."""
    try:
        return value is default or bool(value == default)
    except (TypeError, ValueError):
        return False


def config(
    build: Callable[..., layers.Layer],
    routed: Mapping[str, Any],
    *,
    n_features_in: int,
    n_outputs: int,
    probabilities: bool,
    loss: str,
    optimizer: str,
    l2: float,
    dtype_policy: DTypePolicyName,
) -> BuilderConfig:
    """The builder's configuration; ValueError naming the builder's parameters for a keyword it does not take."""
    keywords = {name.removeprefix(PREFIX): value for name, value in routed.items()}
    accepted, takes_any, required = _parameters(build)
    unknown = sorted(set(keywords) - set(accepted)) if not takes_any else []
    label = getattr(build, "__name__", repr(build))
    if unknown:
        raise ValueError(
            f"model {label}() takes no parameter {', '.join(map(repr, unknown))} "
            f"(given as {', '.join(PREFIX + name for name in unknown)}); its parameters: {', '.join(accepted) or 'none'}"
        )
    meta = {"n_outputs": n_outputs, "n_features_in": n_features_in}
    keywords = {**{name: meta[name] for name in _META if name in accepted}, **keywords}
    missing = [name for name in required if name not in keywords]
    if missing:
        raise ValueError(
            f"model {label}() needs {', '.join(map(repr, missing))}: route "
            f"{'them' if len(missing) > 1 else 'it'} as {', '.join(PREFIX + name + '=...' for name in missing)}"
        )
    return BuilderConfig(
        build,
        tuple(sorted(keywords.items())),
        n_features_in,
        n_outputs,
        probabilities,
        loss,
        optimizer,
        l2,
        dtype_policy,
    )


def _parameters(build: Callable[..., Any]) -> tuple[list[str], bool, list[str]]:
    """``build``'s keyword parameters, whether it takes ``**kwargs``, and the ones without a default."""
    try:
        parameters = inspect.signature(build).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: pass what is given
        return [], True, []
    named = [p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    return [p.name for p in named], takes_any, [p.name for p in named if p.default is p.empty]


def trainer(config: BuilderConfig) -> training.Trainer:
    """The ``Trainer`` of one builder configuration, built once per configuration while it hashes.

    A routed value that does not hash (a list) builds the network on every
    call; the compiled programs are still shared, as they are keyed by the
    network's config.
    """
    try:
        hash(config)
    except TypeError:
        return _build(config)
    return _cached(config)


def _build(config: BuilderConfig) -> training.Trainer:
    """Call the builder, check its network's output and compile it with the estimator's loss and optimizer."""
    network = config.build(**dict(config.keywords))
    label = getattr(config.build, "__name__", repr(config.build))
    if not isinstance(network, layers.Layer):
        raise TypeError(
            f"model {label}() must return an fnnet network (a Layer such as fn.Sequential([...])), got {network!r}"
        )
    check_output(network, config.n_features_in, config.n_outputs, config.probabilities, label)
    penalties = [regularizers.l2(config.l2)] if config.l2 else []
    return training.compile(
        network, config.loss, optimizers.get(config.optimizer), regularizers=penalties, dtype_policy=config.dtype_policy
    )


_cached = functools.lru_cache(maxsize=32)(_build)


def check_output(network: layers.Layer, n_features_in: int, n_outputs: int, probabilities: bool, label: str) -> None:
    """ValueError unless ``network`` maps (n, n_features_in) to (n, n_outputs), planned with ``jax.eval_shape``."""

    def forward(key: jax.Array, x: jax.Array) -> Any:
        return network.apply(network.init(key, (n_features_in,), jnp.float32), x)

    batch = 2
    given = jax.eval_shape(forward, jax.random.key(0), jax.ShapeDtypeStruct((batch, n_features_in), jnp.float32))
    shape = getattr(given, "shape", None)
    what = "class probabilities" if probabilities else "targets"
    if shape != (batch, n_outputs):
        raise ValueError(
            f"model {label}() must give {what} of shape (n_samples, {n_outputs}) for inputs of shape "
            f"(n_samples, {n_features_in}), gives {_describe(given, batch)}; build the last layer with "
            f"n_outputs units (add n_outputs to the builder's parameters to be passed it)"
        )
    activation = _last_activation(network)
    if probabilities and activation is not None and activation not in _PROBABILITIES:
        raise ValueError(
            f"model {label}() must give class probabilities (the loss is sparse_categorical_crossentropy): "
            f"its last layer has activation={activation!r}; give it activation='softmax'"
        )


def _describe(given: Any, batch: int) -> str:
    """An output's shape in a message, the batch axis written ``n_samples``."""
    shape = getattr(given, "shape", None)
    if shape is None:
        return f"{jax.tree_util.tree_structure(given)} (several outputs)"
    if shape[:1] == (batch,):
        return f"(n_samples{''.join(f', {size}' for size in shape[1:])})"
    return str(shape)


def _last_activation(network: layers.Layer) -> str | None:
    """The activation name of a ``Sequential``'s last layer, when its config says one."""
    if network.kind != "Sequential" or not network.layers:
        return None
    last = network.layers[-1][1]
    if last.kind == "Sequential":
        return _last_activation(last)
    if last.config_json is None:
        return None
    activation = json.loads(last.config_json).get("config", {}).get("activation")
    return activation if isinstance(activation, str) else None
