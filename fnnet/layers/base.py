"""The ``Layer`` value, its shape helpers, configs and the registry that rebuilds layers from them.

A ``Layer`` is a NamedTuple of pure functions, in the manner of
``jax.example_libraries.stax``:

- ``init(key, input_shape, dtype=float32) -> params``: ``input_shape``
  excludes the batch axis; parameter-free layers return ``{}``;
- ``apply(params, x, *, key=None, training=False) -> y``: ``x`` has a leading
  batch axis; ``key`` feeds random layers (``Dropout``) in training;
- ``apply_train(params, x, *, key=None, sample_weight=None) -> (y, updates)``:
  the training pass; ``updates`` holds new values of non-trainable leaves
  (moving statistics) nested like ``params``; stateless layers return
  ``(apply(params, x, key=key, training=True), {})``;
- ``penalty(params) -> scalar``: the sum of the layer's regularizers;
- ``output_shape(input_shape) -> shape``: the shape ``apply`` will return,
  planned without computing, so a model checks its layers when it is built.

``get_config()`` is ``{"class_name": kind, "config": {Keras's arguments}}``;
``config_json`` is its canonical text, made once at construction, and
layers hash by it. Two layers are equal (and share compiled programs) when
their configs are equal and, for functions defined outside fnnet (a user's
layer, whose config may leave out what they close over), the functions are
the very same objects. ``from_config`` rebuilds a layer from the
registry alone (``register`` adds a user's kind); nothing named in a config
is ever imported or evaluated.
"""

import contextlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, NewType, TypeVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike, DTypeLike

from fnnet import _config, losses
from fnnet._checks import describe, real_array
from fnnet.layers import symbolic
from fnnet.protocols import KeyLike, Params, ShapeLike

F = TypeVar("F", bound=Callable[..., "Layer"])


class Layer(NamedTuple):
    """A layer: pure ``init``/``apply``/``penalty``/``output_shape`` functions, its names and config.

    ``kind`` is the type shown by ``summary`` and the config's class name
    (``"Dense"``); automatic names are its snake_case (``"dense"``,
    ``"dense_1"``). ``name`` is the name given by the user, if any.
    ``layers`` holds a container's ``(name, layer)`` children. ``train`` is
    the function behind ``apply_train`` (None: stateless). ``non_trainable``
    names the layer's own leaves the optimizer never changes. ``arguments``
    holds the constructor arguments as given; ``config_json`` their
    canonical config (None when one cannot be written). ``graph`` is a
    functional model's ``fnnet.functional.Graph``. ``build_input_shape`` is
    the input shape (without the batch axis) stored in the file the model
    was loaded from (``load_model`` sets it), the default of ``summary()``;
    it takes no part in equality, so a loaded model shares programs.
    """

    init: Callable[..., Params]
    apply: Callable[..., Any]
    penalty: Callable[[Params], jax.Array]
    output_shape: Callable[..., Any]
    kind: str
    name: str | None = None
    layers: tuple[tuple[str, "Layer"], ...] = ()
    train: Callable[..., tuple[Any, Params]] | None = None
    non_trainable: tuple[str, ...] = ()
    arguments: dict[str, Any] | None = None
    config_json: str | None = None
    graph: Any = None
    build_input_shape: tuple[int, ...] | None = None

    def apply_train(
        self, params: Params, x: Any, *, key: KeyLike | None = None, sample_weight: ArrayLike | None = None
    ) -> tuple[Any, Params]:
        """The training pass ``(y, updates)``; ``updates`` are new values of non-trainable leaves."""
        if sample_weight is not None:
            _check_sample_weight(sample_weight, x)
        if self.train is None:
            return self.apply(params, x, key=key, training=True), {}
        return self.train(params, x, key=key, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        """``{"class_name": kind, "config": {...}}`` in Keras's words; TypeError naming a bare-callable argument."""
        if self.config_json is not None:
            return json.loads(self.config_json)
        if self.arguments is None:
            raise TypeError(f"{self.label} was built without a config; build it with fnnet's constructors")
        try:
            return _config.make_config(self.kind, self.arguments)
        except TypeError as error:
            raise TypeError(f"{self.label} has no config: {error}") from None

    def own_functions(self) -> tuple[Callable[..., Any], ...]:
        """The functions of this layer (and its children) that its config cannot vouch for.

        fnnet's own constructors build a layer's functions from its config
        alone, so equal configs mean equal functions. A user's functions may
        close over values the config leaves out (a ``factor`` not in
        ``arguments``), so they are compared by identity: two layers share
        a compiled program only when these are the same objects.
        """
        functions = tuple(
            f
            for f in (self.init, self.apply, self.penalty, self.output_shape, self.train)
            if f is not None and not _built_by_fnnet(f)
        )
        return functions + tuple(f for _, child in self.layers for f in child.own_functions())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        if self is other:
            return True
        if self.config_json is None or other.config_json is None or self.config_json != other.config_json:
            return False
        mine, theirs = self.own_functions(), other.own_functions()
        return len(mine) == len(theirs) and all(a is b for a, b in zip(mine, theirs))

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return id(self) if self.config_json is None else hash(self.config_json)

    if not TYPE_CHECKING:  # a type checker reports model.fit(...) itself: it must not see a __getattr__

        def __getattr__(self, name):
            """Keras's mutating methods are not here: say what to write instead (``hasattr`` stays False)."""
            if name in _KERAS_HABITS:
                raise AttributeError(f"a fnnet model has no .{name}(): {_KERAS_HABITS[name]}")
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __call__(self, inputs: Any, *more: Any) -> Any:
        """Call the layer on symbolic tensors (``fn.Input``) to build a functional ``Model``."""
        if more:
            raise TypeError(
                f"a layer is called on one tensor, or on one list of tensors for a merge layer: "
                f"{self.kind}()([a, b]), not {self.kind}()(a, b); got {1 + len(more)} arguments"
            )
        return symbolic.call_layer(self, inputs)

    def summary(self, input_shape: ShapeLike | None = None, print_fn: Callable[[str], object] = print) -> str:
        """Print (and return) a Keras-style table of output shapes and parameter counts (``fnnet.models.summary``).

        ``input_shape`` defaults to ``build_input_shape``, the shape stored in a loaded model's file.
        """
        return _SUMMARY_WRITER[0](self, input_shape, print_fn)

    @property
    def label(self) -> str:
        """How messages name this layer: ``layer 'name' (Kind)``, or ``Kind layer`` when it has no name."""
        return f"layer {self.name!r} ({self.kind})" if self.name else f"{self.kind} layer"


ModelLayer = NewType("ModelLayer", Layer)
"""A ``Layer`` that is a model: what ``Sequential`` and ``Model`` return (named children, params by name).

For type checkers only (``def build() -> ModelLayer: ...``): at run time it is the ``Layer`` itself, so a
model goes wherever a layer goes, but a plain layer is not taken where a ``ModelLayer`` is asked for.
"""


# A layer is a pytree with no leaves, its whole value the static aux data (hashed and compared by config and,
# for a user's layer, its functions): jax.jit(lambda model, params, x: model.apply(params, x)) takes it as an
# argument, and an equal model does not retrace.
jax.tree_util.register_pytree_node(Layer, lambda value: ((), value), lambda value, _: value)


_KERAS_HABITS = {
    "add": "models are immutable values; list the layers, fn.Sequential([layers.Dense(64), layers.Dense(10)]), or "
    "extend one: fn.Sequential([layer for _, layer in model.layers] + [new_layer])",
    "compile": "trainer = fn.compile(model, loss=..., optimizer=..., metrics=[...])",
    "fit": "params = model.init(key, input_shape); trainer = fn.compile(model, ...); "
    "state, history = trainer.fit(params, x, y, ...)",
    "evaluate": "loss, *metrics = trainer.evaluate(params, x, y) with trainer = fn.compile(model, ...)",
    "predict": "model.apply(params, x), or trainer.predict(params, x) (batched and jitted)",
    "get_weights": "params are a dict you hold: params = model.init(key, input_shape)",
    "set_weights": "params are a dict you hold: pass the new dict to apply, fit or save_model",
    "save": "fn.save_model(path, model, params)",
    "build": "params = model.init(key, input_shape) builds the parameters",
}
"""Keras methods a model does not have, and the fnnet call to write instead."""


def _built_by_fnnet(function: object) -> bool:
    """Whether ``function`` was defined in fnnet (then the layer's config describes it completely)."""
    module = getattr(function, "__module__", None) or ""
    return module == "fnnet" or module.startswith("fnnet.")


def layer(
    kind: str,
    init: Callable[..., Params],
    apply: Callable[..., Any],
    penalty: Callable[[Params], jax.Array],
    output_shape: Callable[..., Any],
    *,
    name: str | None = None,
    arguments: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Layer:
    """A ``Layer`` whose config is ``{"class_name": kind, "config": arguments | {"name": name}}``."""
    check_name(name)
    arguments = {**(arguments or {}), "name": name}
    return Layer(
        init,
        apply,
        penalty,
        output_shape,
        kind,
        name,
        arguments=arguments,
        config_json=_config.canonical(kind, arguments),
        **fields,
    )


def check_layer(name: str, value: object) -> "Layer":
    """Check that ``value`` is a fnnet ``Layer`` (a layer or a model); a layer constructor passed uncalled is named."""
    if not isinstance(value, Layer):
        factory = str(getattr(value, "__name__", ""))
        called = callable(value) and factory[:1].isupper()
        hint = f"; call it: {factory}(...)" if called else ""
        raise TypeError(f"{name} must be a fnnet Layer (a layer or a model), got {describe(value)}{hint}")
    return value


def check_name(name: object) -> None:
    """A layer's ``name=``: None (automatic) or a non-empty string without ``/`` (params keys are paths)."""
    if name is not None and (not isinstance(name, str) or not name or "/" in name):
        error = ValueError if isinstance(name, str) else TypeError
        raise error(
            f"a layer's name must be a non-empty string without '/' (or None for an automatic one), got {name!r}"
        )


def no_params(key: KeyLike | None, input_shape: ShapeLike, dtype: DTypeLike = jnp.float32) -> Params:
    """``init`` of a parameter-free layer: checks the shape, returns ``{}``."""
    as_shape(input_shape)
    return {}


def no_penalty(params: Params) -> jax.Array:
    """``penalty`` of a layer without regularizers: 0."""
    return jnp.asarray(0.0)


def as_shape(input_shape: ShapeLike, name: str = "input_shape") -> tuple[int, ...]:
    """``input_shape`` (without batch axis) as a tuple of positive ints; an int means ``(n,)``; errors name ``name``."""
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape
    ):
        raise TypeError(f"{name} must be a tuple of positive ints without the batch axis, got {input_shape!r}")
    return tuple(input_shape)


def feature_count(input_shape: ShapeLike) -> int:
    """The last axis of ``input_shape``; ValueError when there is none."""
    shape = as_shape(input_shape)
    if not shape:
        raise ValueError("expects inputs with a feature axis, got input shape ()")
    return shape[-1]


def _check_sample_weight(sample_weight: ArrayLike, x: Any) -> None:
    """One real, non-negative, finite (when concrete) weight per sample of ``x`` (the first array of several)."""
    losses.check_sample_weight(sample_weight)
    samples = jnp.shape(jax.tree_util.tree_leaves(x)[0])[:1]
    if jnp.shape(sample_weight) != samples:
        raise ValueError(
            f"sample_weight must have shape {samples} (one weight per sample of x), got {jnp.shape(sample_weight)}"
        )


def check_features(expected: int, x: jax.Array) -> None:
    """``x`` is a batch of real numbers whose last axis has ``expected`` features."""
    real_array("x", x)
    if jnp.ndim(x) < 2 or x.shape[-1] != expected:
        raise ValueError(
            f"expects inputs of shape (batch, ..., {expected}) with {expected} features, "
            f"got input of shape {jnp.shape(x)}"
        )


def snake_case(kind: str) -> str:
    """``"BatchNormalization"`` -> ``"batch_normalization"``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def automatic_names(layers: Sequence[Layer]) -> list[str]:
    """Names for ``layers``: the given ones, then ``kind``, ``kind_1``, ... skipping given names."""
    given = [layer.name for layer in layers if layer.name is not None]
    duplicates = sorted({n for n in given if given.count(n) > 1})
    if duplicates:
        raise ValueError(f"layer names must be unique within a model, got duplicates {duplicates}")
    bad = sorted(n for n in given if not isinstance(n, str) or "/" in n or not n)
    if bad:
        raise ValueError(f"layer names must be non-empty strings without '/', got {bad}")
    taken, counts, names = set(given), {}, []
    for layer in layers:
        name = layer.name
        while name is None or (layer.name is None and name in taken):
            base = snake_case(layer.kind)
            count = counts.get(base, 0)
            counts[base] = count + 1
            name = base if count == 0 else f"{base}_{count}"
        taken.add(name)
        names.append(name)
    return names


@contextlib.contextmanager
def blame(name: str) -> Iterator[None]:
    """Re-raise a shape or type error with the name of the layer that raised it."""
    try:
        yield
    except (ValueError, TypeError) as error:
        raise type(error)(f"layer {name!r}: {error}") from error


def check_param_names(params: Params, named: Iterable[tuple[str, Layer]]) -> None:
    """``params`` is a dict whose entries all name a layer of ``named`` (``(name, layer)`` pairs)."""
    if not isinstance(params, dict):
        raise TypeError(f"model params must be a dict from layer name to params, got {type(params).__name__}")
    unknown = sorted(set(params) - {n for n, _ in named})
    if unknown:
        raise ValueError(
            f"params have entries {unknown} for no layer of this model; its layers are {[n for n, _ in named]}"
        )


_REGISTRY: dict[str, Callable[..., Layer]] = {}


SummaryWriter = Callable[[Layer, "ShapeLike | None", Callable[[str], object]], str]
"""What ``Layer.summary`` calls: ``(model, input_shape, print_fn) -> table``."""


def _summary_missing(model: Layer, input_shape: ShapeLike | None, print_fn: Callable[[str], object]) -> str:
    raise RuntimeError("Layer.summary needs fnnet.models, which writes the table: import fnnet")


_SUMMARY_WRITER: list[SummaryWriter] = [_summary_missing]


def set_summary_writer(write: SummaryWriter) -> None:
    """Install the function ``Layer.summary`` calls; ``fnnet.models.summary`` installs itself when imported.

    Summaries live with the models (above layers), so the layer reaches
    them through this slot rather than an import.
    """
    _SUMMARY_WRITER[0] = write


def register(name: str, factory: F) -> F:
    """Register ``factory(**config) -> Layer`` as the kind ``name`` for ``from_config``; returns ``factory``."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a layer kind's name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be a callable (**config) -> Layer, got {factory!r}")
    _REGISTRY[name] = factory
    return factory


def registered() -> tuple[str, ...]:
    """The registered kinds' names, sorted."""
    return tuple(sorted(_REGISTRY))


def from_config(config: Mapping[str, Any]) -> Layer:
    """Rebuild a layer or model from its ``get_config()`` through the registry only.

    Raises ValueError listing the registered kinds for an unknown class name.
    """
    if not _config.is_config(config):
        raise ValueError(f'a layer config is {{"class_name": str, "config": dict}}, got {config!r}')
    class_name = config["class_name"]
    if class_name not in _REGISTRY:
        raise ValueError(
            f"unknown layer class_name {class_name!r} in config; registered: "
            f"{', '.join(registered())} (register your own with fnnet.layers.register(name, factory))"
        )
    try:
        return _REGISTRY[class_name](**config["config"])
    except (TypeError, ValueError) as error:
        if type(error) not in (TypeError, ValueError) or str(error).startswith(f"{class_name} config"):
            raise
        raise type(error)(f"{class_name} config {config['config']!r}: {error}") from error
