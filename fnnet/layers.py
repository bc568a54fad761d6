"""Layers as pairs of pure functions, and ``Sequential`` to stack them.

A ``Layer`` is a NamedTuple, in the manner of ``jax.example_libraries.stax``:

- ``init(key, input_shape, dtype=float32) -> params``: ``input_shape``
  excludes the batch axis; parameter-free layers return ``{}``;
- ``apply(params, x, *, key=None, training=False) -> y``: ``x`` has a leading
  batch axis; ``key`` feeds random layers (``Dropout``) in training;
- ``penalty(params) -> scalar``: the sum of the layer's regularizers;
- ``output_shape(input_shape) -> shape``: the shape ``apply`` will return,
  planned without computing, so ``Sequential`` checks a stack when it is
  built and names the layer that does not fit.

``Dense`` params are ``{"kernel": (in, units), "bias": (units,)}``;
``Sequential`` params are a dict from layer name (``"dense"``,
``"dense_1"``, ..., or the ``name=`` given) to that layer's params.
"""

import contextlib
import math
import re
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fnnet import activations, initializers
from fnnet._checks import hyperparameter


class Layer(NamedTuple):
    """A layer: pure ``init``/``apply``/``penalty``/``output_shape`` functions and its names.

    ``kind`` is the type shown by ``summary`` (``"Dense"``); automatic names
    are its snake_case (``"dense"``, ``"dense_1"``). ``name`` is the name
    given by the user, if any. ``layers`` holds a container's named children.
    """

    init: Callable
    apply: Callable
    penalty: Callable
    output_shape: Callable
    kind: str
    name: str | None = None
    layers: tuple = ()

    def summary(self, input_shape, print_fn=print) -> str:
        """Print (and return) a Keras-style table of output shapes and parameter counts."""
        return _summary(self, input_shape, print_fn)


def _no_params(key, input_shape, dtype=jnp.float32):
    _as_shape(input_shape)
    return {}


def _no_penalty(params):
    return jnp.asarray(0.0)


def _as_shape(input_shape) -> tuple:
    """``input_shape`` (without batch axis) as a tuple of positive ints; an int means ``(n,)``."""
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape
    ):
        raise TypeError(
            f"input_shape must be a tuple of positive ints without the batch axis, got {input_shape!r}"
        )
    return tuple(input_shape)


def _feature_count(input_shape) -> int:
    shape = _as_shape(input_shape)
    if not shape:
        raise ValueError("expects inputs with a feature axis, got input shape ()")
    return shape[-1]


def _check_features(expected, x):
    if jnp.ndim(x) < 2 or x.shape[-1] != expected:
        raise ValueError(
            f"expects inputs of shape (batch, ..., {expected}) with {expected} features, "
            f"got input of shape {jnp.shape(x)}"
        )


def _check_dense_params(params, units, use_bias):
    """Params built for this ``Dense``: ``kernel (in, units)`` and, with a bias, ``bias (units,)``."""
    expected = {"kernel", "bias"} if use_bias else {"kernel"}
    if not isinstance(params, dict) or set(params) != expected:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"expects params with entries {sorted(expected)}, got {got}")
    if jnp.ndim(params["kernel"]) != 2 or jnp.shape(params["kernel"])[1] != units:
        raise ValueError(f"expects a kernel of shape (inputs, {units}), got {jnp.shape(params['kernel'])}")
    if use_bias and jnp.shape(params["bias"]) != (units,):
        raise ValueError(f"expects a bias of shape ({units},), got {jnp.shape(params['bias'])}")


def _check_regularizer(name, regularizer):
    if regularizer is not None and not callable(regularizer):
        raise TypeError(f"{name} must be a callable (array) -> scalar or None, got {regularizer!r}")


def Dense(
    units,
    activation=None,
    use_bias=True,
    kernel_initializer="glorot_uniform",
    bias_initializer="zeros",
    kernel_regularizer=None,
    bias_regularizer=None,
    *,
    name=None,
) -> Layer:
    """Fully connected layer ``y = activation(x @ kernel + bias)`` (Keras ``Dense``).

    Args:
        units: output features.
        activation: a name from ``fnnet.activations`` (``"relu"``), a callable, or None (linear).
        use_bias: whether to add ``bias``.
        kernel_initializer, bias_initializer: initializer names or ``(key, shape, dtype)`` callables.
        kernel_regularizer, bias_regularizer: ``(array) -> scalar`` penalties, e.g. ``regularizers.l2(1e-4)``.
        name: the layer's name in a model (automatic ``dense``, ``dense_1``, ... otherwise).

    Returns:
        A ``Layer`` whose params are ``{"kernel": (in, units), "bias": (units,)}``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = Dense(3, activation="relu")
        >>> params = layer.init(jax.random.key(0), (4,))
        >>> params["kernel"].shape, layer.apply(params, jnp.ones((2, 4))).shape
        ((4, 3), (2, 3))
    """
    hyperparameter("units", units, integer=True, low=1)
    act = activations.get(activation)
    kernel_init = initializers.get(kernel_initializer)
    bias_init = initializers.get(bias_initializer)
    _check_regularizer("kernel_regularizer", kernel_regularizer)
    _check_regularizer("bias_regularizer", bias_regularizer)

    def init(key, input_shape, dtype=jnp.float32):
        kernel_key, bias_key = jax.random.split(key)
        params = {"kernel": kernel_init(kernel_key, (_feature_count(input_shape), units), dtype)}
        if use_bias:
            params["bias"] = bias_init(bias_key, (units,), dtype)
        return params

    def apply(params, x, *, key=None, training=False):
        _check_dense_params(params, units, use_bias)
        _check_features(params["kernel"].shape[0], x)
        z = x @ params["kernel"]
        if use_bias:
            z = z + jnp.broadcast_to(params["bias"], z.shape)
        return act(z)

    def penalty(params):
        total = jnp.asarray(0.0)
        if kernel_regularizer is not None:
            total = total + kernel_regularizer(params["kernel"])
        if bias_regularizer is not None and use_bias:
            total = total + bias_regularizer(params["bias"])
        return total

    def output_shape(input_shape):
        _feature_count(input_shape)
        return (*input_shape[:-1], units)

    return Layer(init, apply, penalty, output_shape, "Dense", name)


def Maxout(units, pieces, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
           kernel_regularizer=None, bias_regularizer=None, *, name=None) -> Layer:
    """Maxout units (Goodfellow et al. 2013): ``y_j = max_p (x @ kernel + bias)[j, p]``.

    A linear ``Dense`` of ``units * pieces`` outputs whose consecutive groups
    of ``pieces`` are reduced by ``max``; params are that Dense's, kernel
    ``(in, units * pieces)``.
    """
    hyperparameter("units", units, integer=True, low=1)
    hyperparameter("pieces", pieces, integer=True, low=1)
    linear = Dense(units * pieces, None, use_bias, kernel_initializer, bias_initializer,
                   kernel_regularizer, bias_regularizer)

    def apply(params, x, *, key=None, training=False):
        z = linear.apply(params, x)
        return jnp.max(z.reshape(*z.shape[:-1], units, pieces), axis=-1)

    def output_shape(input_shape):
        return (*linear.output_shape(input_shape)[:-1], units)

    return linear._replace(apply=apply, output_shape=output_shape, kind="Maxout", name=name)


def Dropout(rate, *, name=None) -> Layer:
    """Inverted dropout: in training, zero each input with probability ``rate``, scale the rest by ``1 / (1 - rate)``.

    ``rate`` is the fraction dropped, as in Keras, in ``[0, 1)``. It is the
    identity when ``training=False``; with ``training=True`` it needs a
    ``key``.
    """
    hyperparameter("Dropout rate", rate, low=0, high=1, high_inclusive=False)

    def apply(params, x, *, key=None, training=False):
        if not training or (isinstance(rate, (int, float)) and rate == 0):  # a swept rate is traced
            return x
        if key is None:
            raise ValueError(
                "Dropout with training=True needs a random key: "
                "apply(params, x, key=jax.random.key(...), training=True)"
            )
        keep = jax.random.bernoulli(key, 1 - rate, jnp.shape(x))
        return jnp.where(keep, x / (1 - rate), 0)

    return Layer(_no_params, apply, _no_penalty, _as_shape, "Dropout", name)


def Activation(activation, *, name=None) -> Layer:
    """Apply an activation (a name from ``fnnet.activations`` or a callable) on its own."""
    act = activations.get(activation)

    def apply(params, x, *, key=None, training=False):
        return act(x)

    return Layer(_no_params, apply, _no_penalty, _as_shape, "Activation", name)


def Flatten(*, name=None) -> Layer:
    """Reshape each sample to a vector: ``(batch, d1, ..., dk) -> (batch, d1 * ... * dk)``."""

    def apply(params, x, *, key=None, training=False):
        if jnp.ndim(x) < 1:
            raise ValueError(f"Flatten expects a batch of samples, got a scalar of shape {jnp.shape(x)}")
        return jnp.reshape(x, (jnp.shape(x)[0], -1))

    def output_shape(input_shape):
        return (math.prod(_as_shape(input_shape)),)

    return Layer(_no_params, apply, _no_penalty, output_shape, "Flatten", name)


def _snake_case(kind):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def _automatic_names(layers):
    """Names for ``layers``: the given ones, then ``kind``, ``kind_1``, ... skipping given names."""
    given = [layer.name for layer in layers if layer.name is not None]
    duplicates = sorted({n for n in given if given.count(n) > 1})
    if duplicates:
        raise ValueError(f"layer names must be unique within a model, got duplicates {duplicates}")
    taken, counts, names = set(given), {}, []
    for layer in layers:
        name = layer.name
        while name is None or (layer.name is None and name in taken):
            base = _snake_case(layer.kind)
            count = counts.get(base, 0)
            counts[base] = count + 1
            name = base if count == 0 else f"{base}_{count}"
        taken.add(name)
        names.append(name)
    return names


@contextlib.contextmanager
def _blame(name):
    """Re-raise a shape or type error with the name of the layer that raised it."""
    try:
        yield
    except (ValueError, TypeError) as error:
        raise type(error)(f"layer {name!r}: {error}") from error


def Sequential(layers, *, name=None) -> Layer:
    """A stack of layers applied in order, itself a ``Layer``.

    Layers without a ``name=`` get Keras's automatic names, restarting for
    every model. ``init`` plans every layer's output shape first, so a
    mismatch names the layer; ``apply`` derives each random layer's key from
    ``key`` with ``jax.random.fold_in`` by position.

    Args:
        layers: the ``Layer`` values, first applied first.
        name: the model's name.

    Returns:
        A ``Layer`` whose params map each parametrized layer's name to its params.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> model = Sequential([Dense(8, activation="relu"), Dropout(0.5), Dense(2)])
        >>> params = model.init(jax.random.key(0), (4,))
        >>> sorted(params), model.apply(params, jnp.ones((3, 4))).shape
        (['dense', 'dense_1'], (3, 2))
    """
    layers = tuple(layers)
    if not layers:
        raise ValueError("Sequential needs at least one layer, got an empty list")
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes fnnet layers, got {type(layer).__name__}: {layer!r}")
    names = _automatic_names(layers)
    named = tuple(zip(names, layers))

    def output_shape(input_shape):
        shape = _as_shape(input_shape)
        for layer_name, layer in named:
            with _blame(layer_name):
                shape = tuple(layer.output_shape(shape))
        return shape

    def init(key, input_shape, dtype=jnp.float32):
        shape = _as_shape(input_shape)
        params = {}
        for index, (layer_name, layer) in enumerate(named):
            with _blame(layer_name):
                layer_params = layer.init(jax.random.fold_in(key, index), shape, dtype)
                shape = tuple(layer.output_shape(shape))
            if layer_params:
                params[layer_name] = layer_params
        return params

    def apply(params, x, *, key=None, training=False):
        _check_param_names(params, named)
        for index, (layer_name, layer) in enumerate(named):
            layer_key = None if key is None else jax.random.fold_in(key, index)
            with _blame(layer_name):
                x = layer.apply(params.get(layer_name, {}), x, key=layer_key, training=training)
        return x

    def penalty(params):
        return sum((layer.penalty(params[n]) for n, layer in named if n in params), jnp.asarray(0.0))

    return Layer(init, apply, penalty, output_shape, "Sequential", name, named)


def _check_param_names(params, named):
    if not isinstance(params, dict):
        raise TypeError(f"Sequential params must be a dict from layer name to params, got {type(params).__name__}")
    unknown = sorted(set(params) - {n for n, _ in named})
    if unknown:
        raise ValueError(
            f"params have entries {unknown} for no layer of this model; its layers are "
            f"{[n for n, _ in named]}"
        )


def _summary(layer, input_shape, print_fn):
    shape = _as_shape(input_shape)
    rows, total = [], 0
    children = layer.layers or ((layer.name or _snake_case(layer.kind), layer),)
    for child_name, child in children:
        params = jax.eval_shape(lambda child=child, shape=shape: child.init(jax.random.key(0), shape))
        count = sum(math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(params))
        shape = tuple(child.output_shape(shape))
        rows.append((f"{child_name} ({child.kind})", str((None, *shape)), f"{count:,}"))
        total += count
    widths = [max(len(row[i]) for row in rows + [("Layer (type)", "Output Shape", "Param #")]) + 2 for i in range(3)]
    line = lambda cells: "".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip()  # noqa: E731
    rule = "=" * sum(widths)
    text = "\n".join([
        f'Model: "{layer.name or _snake_case(layer.kind)}"',
        line(("Layer (type)", "Output Shape", "Param #")),
        rule,
        *(line(row) for row in rows),
        rule,
        f"Total params: {total:,}",
    ])
    print_fn(text)
    return text
