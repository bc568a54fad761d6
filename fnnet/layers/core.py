"""Core layers: ``Dense``, ``Maxout``, ``Dropout``, ``Activation``, ``Flatten``, ``Reshape``, ``Identity``.

``Dense`` params are ``{"kernel": (in, units), "bias": (units,)}``; the
others (but ``Maxout``, a Dense of ``units * pieces`` reduced by max) have
none. Every constructor records Keras's arguments as the layer's config.
"""

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from fnnet import activations, initializers, regularizers
from fnnet._checks import flag, hyperparameter, resolve
from fnnet.keys import as_key
from fnnet.layers.base import Layer, as_shape, check_features, feature_count, layer, no_params, no_penalty, register
from fnnet.protocols import ActivationLike, InitializerLike, Params, RegularizerLike


def _check_dense_params(params: Params, units: int, use_bias: bool) -> None:
    """Params built for this ``Dense``: ``kernel (in, units)`` and, with a bias, ``bias (units,)``."""
    expected = {"kernel", "bias"} if use_bias else {"kernel"}
    if not isinstance(params, dict) or set(params) != expected:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"expects params with entries {sorted(expected)}, got {got}")
    if jnp.ndim(params["kernel"]) != 2 or jnp.shape(params["kernel"])[1] != units:
        raise ValueError(f"expects a kernel of shape (inputs, {units}), got {jnp.shape(params['kernel'])}")
    if use_bias and jnp.shape(params["bias"]) != (units,):
        raise ValueError(f"expects a bias of shape ({units},), got {jnp.shape(params['bias'])}")


def _dense_arguments(
    activation: ActivationLike,
    use_bias: bool,
    kernel_initializer: InitializerLike,
    bias_initializer: InitializerLike,
    kernel_regularizer: regularizers.Regularizer | None,
    bias_regularizer: regularizers.Regularizer | None,
) -> dict[str, Any]:
    return {
        "activation": activations.serialize(activation),
        "use_bias": use_bias,
        "kernel_initializer": initializers.serialize(kernel_initializer),
        "bias_initializer": initializers.serialize(bias_initializer),
        "kernel_regularizer": regularizers.serialize(kernel_regularizer),
        "bias_regularizer": regularizers.serialize(bias_regularizer),
    }


def Dense(
    units: int,
    activation: ActivationLike = None,
    use_bias: bool = True,
    kernel_initializer: InitializerLike = "glorot_uniform",
    bias_initializer: InitializerLike = "zeros",
    kernel_regularizer: RegularizerLike = None,
    bias_regularizer: RegularizerLike = None,
    *,
    name: str | None = None,
    input_dim: None = None,
    input_shape: None = None,
) -> Layer:
    """Fully connected layer ``y = activation(x @ kernel + bias)`` (Keras ``Dense``).

    Args:
        units: output features.
        activation: a name from ``fnnet.activations`` (``"relu"``), a callable, or None (linear).
        use_bias: whether to add ``bias``.
        kernel_initializer: an initializer name or a ``(key, shape, dtype)`` callable.
        bias_initializer: an initializer name or a ``(key, shape, dtype)`` callable.
        kernel_regularizer: an ``(array) -> scalar`` penalty, e.g. ``regularizers.l2(1e-4)``.
        bias_regularizer: an ``(array) -> scalar`` penalty, e.g. ``regularizers.l2(1e-4)``.
        name: the layer's name in a model (automatic ``dense``, ``dense_1``, ... otherwise).
        input_dim: Keras 2's; refused with what to write instead
            (fnnet layers learn their input shape at ``init``).
        input_shape: as ``input_dim``.

    Returns:
        A ``Layer`` whose params are ``{"kernel": (in, units), "bias": (units,)}``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> layer = Dense(3, activation="relu")
        >>> params = layer.init(jax.random.key(0), (4,))
        >>> params["kernel"].shape, layer.apply(params, jnp.ones((2, 4))).shape
        ((4, 3), (2, 3))
    """
    hyperparameter("units", units, integer=True, low=1)
    if input_dim is not None or input_shape is not None:
        shape = (input_dim,) if input_shape is None else tuple(input_shape)
        raise TypeError(
            f"Dense takes no input_dim or input_shape (Keras 2's): fnnet layers get their input shape "
            f"at init, params = model.init(key, {shape}); or begin a functional model with "
            f"fn.Input({shape})"
        )
    use_bias = flag("use_bias", use_bias)
    act = resolve("activation", activations.get, activation)
    kernel_init = resolve("kernel_initializer", initializers.get, kernel_initializer)
    bias_init = resolve("bias_initializer", initializers.get, bias_initializer)
    kernel_regularizer = regularizers.check("kernel_regularizer", kernel_regularizer)
    bias_regularizer = regularizers.check("bias_regularizer", bias_regularizer)

    def init(key, input_shape, dtype=jnp.float32):
        kernel_key, bias_key = jax.random.split(as_key(key))
        params = {"kernel": kernel_init(kernel_key, (feature_count(input_shape), units), dtype)}
        if use_bias:
            params["bias"] = bias_init(bias_key, (units,), dtype)
        return params

    def apply(params, x, *, key=None, training=False):
        _check_dense_params(params, units, use_bias)
        check_features(params["kernel"].shape[0], x)
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
        feature_count(input_shape)
        return (*input_shape[:-1], units)

    arguments = {
        "units": units,
        **_dense_arguments(
            activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer
        ),
    }
    return layer("Dense", init, apply, penalty, output_shape, name=name, arguments=arguments)


def Maxout(
    units: int,
    pieces: int,
    use_bias: bool = True,
    kernel_initializer: InitializerLike = "glorot_uniform",
    bias_initializer: InitializerLike = "zeros",
    kernel_regularizer: RegularizerLike = None,
    bias_regularizer: RegularizerLike = None,
    *,
    name: str | None = None,
) -> Layer:
    """Maxout units (Goodfellow et al. 2013): ``y_j = max_p (x @ kernel + bias)[j, p]``.

    A linear ``Dense`` of ``units * pieces`` outputs whose consecutive groups
    of ``pieces`` are reduced by ``max``; params are that Dense's, kernel
    ``(in, units * pieces)``.
    """
    hyperparameter("units", units, integer=True, low=1)
    hyperparameter("pieces", pieces, integer=True, low=1)
    linear = Dense(
        units * pieces, None, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer
    )

    def apply(params, x, *, key=None, training=False):
        z = linear.apply(params, x)
        return jnp.max(z.reshape(*z.shape[:-1], units, pieces), axis=-1)

    def output_shape(input_shape):
        return (*linear.output_shape(input_shape)[:-1], units)

    arguments = {
        "units": units,
        "pieces": pieces,
        **_dense_arguments(
            None,
            use_bias,
            kernel_initializer,
            bias_initializer,
            regularizers.check("kernel_regularizer", kernel_regularizer),
            regularizers.check("bias_regularizer", bias_regularizer),
        ),
    }
    del arguments["activation"]
    return layer("Maxout", linear.init, apply, linear.penalty, output_shape, name=name, arguments=arguments)


def Dropout(rate: float, *, name: str | None = None) -> Layer:
    """Inverted dropout: in training, zero each input with probability ``rate``, scale the rest by ``1 / (1 - rate)``.

    ``rate`` is the fraction dropped, as in Keras, in ``[0, 1)``. It is the
    identity when ``training=False``; with ``training=True`` it needs a
    ``key``.
    """
    hyperparameter("Dropout rate", rate, low=0, high=1, high_inclusive=False)

    def apply(params, x, *, key=None, training=False):
        if not flag("training", training) or (isinstance(rate, (int, float)) and rate == 0):  # a swept rate: traced
            return x
        if key is None:
            raise ValueError(
                "Dropout with training=True needs a random key: "
                "apply(params, x, key=jax.random.key(...), training=True)"
            )
        keep = jax.random.bernoulli(as_key(key), 1 - rate, jnp.shape(x))
        return jnp.where(keep, x / (1 - rate), 0)

    return layer("Dropout", no_params, apply, no_penalty, as_shape, name=name, arguments={"rate": rate})


def Activation(activation: ActivationLike, *, name: str | None = None) -> Layer:
    """Apply an activation ``y = f(x)`` (a name from ``fnnet.activations`` or a callable) on its own."""
    act = resolve("activation", activations.get, activation)

    def apply(params, x, *, key=None, training=False):
        return act(x)

    return layer(
        "Activation",
        no_params,
        apply,
        no_penalty,
        as_shape,
        name=name,
        arguments={"activation": activations.serialize(activation)},
    )


def Flatten(*, name: str | None = None) -> Layer:
    """Reshape each sample to a vector: ``(batch, d1, ..., dk) -> (batch, d1 * ... * dk)``."""

    def apply(params, x, *, key=None, training=False):
        if jnp.ndim(x) < 1:
            raise ValueError(f"Flatten expects a batch of samples, got a scalar of shape {jnp.shape(x)}")
        return jnp.reshape(x, (jnp.shape(x)[0], -1))

    def output_shape(input_shape):
        return (math.prod(as_shape(input_shape)),)

    return layer("Flatten", no_params, apply, no_penalty, output_shape, name=name)


def Reshape(target_shape: int | Sequence[int], *, name: str | None = None) -> Layer:
    """Reshape each sample to ``target_shape`` (batch axis excluded; one entry may be -1), as Keras ``Reshape``."""
    if isinstance(target_shape, int):
        target_shape = (target_shape,)
    if (
        not isinstance(target_shape, (tuple, list))
        or not all(isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in target_shape)
        or list(target_shape).count(-1) > 1
    ):
        raise ValueError(
            f"Reshape target_shape must be a tuple of positive ints with at most one -1, got {target_shape!r}"
        )
    target_shape = tuple(target_shape)

    def output_shape(input_shape):
        size = math.prod(as_shape(input_shape))
        known = math.prod(d for d in target_shape if d != -1)
        if -1 in target_shape:
            if size % known:
                raise ValueError(
                    f"cannot reshape inputs of shape {tuple(input_shape)} ({size} values) to {target_shape}"
                )
            return tuple(size // known if d == -1 else d for d in target_shape)
        if known != size:
            raise ValueError(
                f"cannot reshape inputs of shape {tuple(input_shape)} ({size} values) "
                f"to {target_shape} ({known} values)"
            )
        return target_shape

    def apply(params, x, *, key=None, training=False):
        return jnp.reshape(x, (jnp.shape(x)[0], *output_shape(tuple(jnp.shape(x)[1:]))))

    return layer(
        "Reshape", no_params, apply, no_penalty, output_shape, name=name, arguments={"target_shape": target_shape}
    )


def Identity(*, name: str | None = None) -> Layer:
    """``y = x`` (Keras ``Identity``): a placeholder that changes nothing."""

    def apply(params, x, *, key=None, training=False):
        return x

    return layer("Identity", no_params, apply, no_penalty, as_shape, name=name)


for _factory in (Dense, Maxout, Dropout, Activation, Flatten, Reshape, Identity):
    register(_factory.__name__, _factory)
