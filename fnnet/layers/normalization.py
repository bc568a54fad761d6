"""Normalization layers: ``BatchNormalization`` (with non-trainable moving statistics) and ``LayerNormalization``.

Both compute ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta`` with
one ``gamma``/``beta`` entry per feature along ``axis`` (Keras's ``axis``:
it counts the batch axis, ``-1`` the last). They differ in where ``mean``
and ``var`` come from: the batch (per feature) or the sample (per sample).
"""

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike, DTypeLike

from fnnet import initializers, losses, regularizers
from fnnet._checks import axis as check_axis, flag, hyperparameter, real_array, resolve
from fnnet.keys import as_key
from fnnet.layers.base import Layer, as_shape, layer, register
from fnnet.protocols import InitializerLike, KeyLike, Params, RegularizerLike


def _feature_axis(axis: int, input_shape: Sequence[int], kind: str) -> int:
    """``axis`` of a batch of ``input_shape`` samples as a non-negative index (never the batch axis, 0)."""
    ndim = len(as_shape(input_shape)) + 1
    axis = int(hyperparameter(f"{kind} axis", axis, integer=True))
    if not -ndim <= axis < ndim or axis % ndim == 0:
        raise ValueError(
            f"{kind} axis={axis} must name a feature axis of inputs of shape "
            f"(batch, {', '.join(map(str, input_shape))}): one of 1..{ndim - 1} or -1..-{ndim - 1}"
        )
    return axis % ndim


def _broadcast(vector: jax.Array, ndim: int, axis: int) -> jax.Array:
    """A per-feature vector shaped to broadcast against a batch with ``ndim`` axes along ``axis``."""
    return jnp.reshape(vector, [-1 if i == axis else 1 for i in range(ndim)])


def _initializers(**named: InitializerLike) -> list[Callable[..., jax.Array]]:
    """The initializer arguments resolved, in order, each error naming its argument."""
    return [resolve(name, initializers.get, value) for name, value in named.items()]


def _affine_params(
    key: KeyLike,
    size: int,
    dtype: DTypeLike,
    center: bool,
    scale: bool,
    gamma_init: Callable[..., jax.Array],
    beta_init: Callable[..., jax.Array],
) -> Params:
    gamma_key, beta_key = jax.random.split(as_key(key))
    params: dict[str, jax.Array] = {}
    if scale:
        params["gamma"] = gamma_init(gamma_key, (size,), dtype)
    if center:
        params["beta"] = beta_init(beta_key, (size,), dtype)
    return params


def _normalize(params: Params, x: jax.Array, mean: jax.Array, var: jax.Array, epsilon: float, axis: int) -> jax.Array:
    ndim = jnp.ndim(x)
    y = (x - mean) * jax.lax.rsqrt(var + epsilon)
    if "gamma" in params:
        y = y * _broadcast(params["gamma"], ndim, axis)
    if "beta" in params:
        y = y + _broadcast(params["beta"], ndim, axis)
    return y


def _penalty(
    params: Params,
    gamma_regularizer: regularizers.Regularizer | None,
    beta_regularizer: regularizers.Regularizer | None,
) -> jax.Array:
    total = jnp.asarray(0.0)
    if gamma_regularizer is not None and "gamma" in params:
        total = total + gamma_regularizer(params["gamma"])
    if beta_regularizer is not None and "beta" in params:
        total = total + beta_regularizer(params["beta"])
    return total


def _check_input(x: jax.Array, features: int, axis: int, kind: str) -> None:
    if jnp.ndim(x) <= axis or jnp.shape(x)[axis] != features:
        raise ValueError(f"{kind} built for {features} features along axis {axis} got inputs of shape {jnp.shape(x)}")


def weighted_moments(x: jax.Array, axis: int, sample_weight: ArrayLike | None = None) -> tuple[jax.Array, jax.Array]:
    """Per-feature ``(mean, var)`` of ``x`` over every axis but ``axis``, rows weighted by ``sample_weight``.

    ``mean = sum_i w_i x_i / sum_i w_i`` and ``var = sum_i w_i (x_i -
    mean)^2 / sum_i w_i`` (biased, as Keras), where ``i`` runs over the
    batch and the other non-feature axes; a row of weight 0 counts for
    nothing. With all weights 0 the moments are 0 and 1.
    """
    x = jnp.asarray(real_array("x", x))
    ndim = jnp.ndim(x)
    if ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a batch of at least one sample with a feature axis, got shape {x.shape}")
    axis = check_axis("axis", axis, ndim) % ndim
    reduce = tuple(i for i in range(ndim) if i != axis)
    if sample_weight is None:
        mean = jnp.mean(x, axis=reduce, keepdims=True)
        return mean, jnp.mean(jnp.square(x - mean), axis=reduce, keepdims=True)
    if jnp.shape(real_array("sample_weight", sample_weight)) != jnp.shape(x)[:1]:
        raise ValueError(
            f"sample_weight must have shape {jnp.shape(x)[:1]} (one weight per row of x), "
            f"got {jnp.shape(sample_weight)}"
        )
    losses.check_sample_weight(sample_weight)
    w = jnp.reshape(jnp.asarray(sample_weight, x.dtype), (-1, *[1] * (ndim - 1)))
    w = jnp.broadcast_to(w, [1 if i == axis else s for i, s in enumerate(jnp.shape(x))])
    total = jnp.sum(w, axis=reduce, keepdims=True)
    safe = jnp.where(total > 0, total, 1)
    mean = jnp.sum(w * x, axis=reduce, keepdims=True) / safe
    var = jnp.sum(w * jnp.square(x - mean), axis=reduce, keepdims=True) / safe
    return mean, jnp.where(total > 0, var, 1)


def BatchNormalization(
    axis: int = -1,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    beta_initializer: InitializerLike = "zeros",
    gamma_initializer: InitializerLike = "ones",
    moving_mean_initializer: InitializerLike = "zeros",
    moving_variance_initializer: InitializerLike = "ones",
    beta_regularizer: RegularizerLike = None,
    gamma_regularizer: RegularizerLike = None,
    *,
    name: str | None = None,
) -> Layer:
    """Batch normalization (Ioffe & Szegedy 2015), Keras's defaults and semantics.

    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta`` per feature along
    ``axis``. ``apply(params, x)`` (inference) uses the moving statistics;
    ``apply(..., training=True)`` the batch's; ``apply_train`` the batch's
    weighted by ``sample_weight`` (padding rows weigh 0) and returns the new
    moving statistics ``moving = momentum * moving + (1 - momentum) * batch``.

    Params: ``{"gamma", "beta", "moving_mean", "moving_variance"}``, each
    ``(features,)``; no ``gamma`` without ``scale``, no ``beta`` without
    ``center``. ``moving_mean`` and ``moving_variance`` are non-trainable.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> bn = BatchNormalization()
        >>> params = bn.init(jax.random.key(0), (3,))
        >>> y, updates = bn.apply_train(params, jnp.arange(6.0).reshape(2, 3))
        >>> sorted(updates), updates["moving_mean"].round(3).tolist()
        (['moving_mean', 'moving_variance'], [0.015, 0.025, 0.035])
    """
    hyperparameter("BatchNormalization axis", axis, integer=True)
    hyperparameter("BatchNormalization momentum", momentum, low=0, high=1)
    hyperparameter("BatchNormalization epsilon", epsilon, low=0, low_inclusive=False)
    center, scale = flag("center", center), flag("scale", scale)
    gamma_init, beta_init, mean_init, var_init = _initializers(
        gamma_initializer=gamma_initializer,
        beta_initializer=beta_initializer,
        moving_mean_initializer=moving_mean_initializer,
        moving_variance_initializer=moving_variance_initializer,
    )
    gamma_regularizer = regularizers.check("gamma_regularizer", gamma_regularizer)
    beta_regularizer = regularizers.check("beta_regularizer", beta_regularizer)
    kind = "BatchNormalization"

    def init(key, input_shape, dtype=jnp.float32):
        shape = as_shape(input_shape)
        size = shape[_feature_axis(axis, shape, kind) - 1]
        affine_key, mean_key, var_key = jax.random.split(as_key(key), 3)
        params = _affine_params(affine_key, size, dtype, center, scale, gamma_init, beta_init)
        params["moving_mean"] = mean_init(mean_key, (size,), dtype)
        params["moving_variance"] = var_init(var_key, (size,), dtype)
        return params

    def feature_axis(params, x):
        index = _feature_axis(axis, tuple(jnp.shape(x)[1:]), kind)
        _check_input(x, jnp.shape(params["moving_mean"])[0], index, kind)
        return index

    def apply(params, x, *, key=None, training=False):
        index = feature_axis(params, x)
        if flag("training", training):
            mean, var = weighted_moments(x, index)
        else:
            mean = _broadcast(params["moving_mean"], jnp.ndim(x), index)
            var = _broadcast(params["moving_variance"], jnp.ndim(x), index)
        return _normalize(params, x, mean, var, epsilon, index)

    def train(params, x, *, key=None, sample_weight=None):
        index = feature_axis(params, x)
        mean, var = weighted_moments(x, index, sample_weight)
        y = _normalize(params, x, mean, var, epsilon, index)
        batch_mean, batch_var = jax.lax.stop_gradient((jnp.ravel(mean), jnp.ravel(var)))
        moving_mean, moving_var = params["moving_mean"], params["moving_variance"]
        new_mean = momentum * moving_mean + (1 - momentum) * batch_mean.astype(moving_mean.dtype)
        new_var = momentum * moving_var + (1 - momentum) * batch_var.astype(moving_var.dtype)
        if sample_weight is not None:  # a batch of weight 0 (all padding) changes nothing
            seen = jnp.sum(sample_weight) > 0
            new_mean = jnp.where(seen, new_mean, moving_mean)
            new_var = jnp.where(seen, new_var, moving_var)
        return y, {"moving_mean": new_mean, "moving_variance": new_var}

    def output_shape(input_shape):
        shape = as_shape(input_shape)
        _feature_axis(axis, shape, kind)
        return shape

    arguments = {
        "axis": axis,
        "momentum": momentum,
        "epsilon": epsilon,
        "center": center,
        "scale": scale,
        "beta_initializer": initializers.serialize(beta_initializer),
        "gamma_initializer": initializers.serialize(gamma_initializer),
        "moving_mean_initializer": initializers.serialize(moving_mean_initializer),
        "moving_variance_initializer": initializers.serialize(moving_variance_initializer),
        "beta_regularizer": regularizers.serialize(beta_regularizer),
        "gamma_regularizer": regularizers.serialize(gamma_regularizer),
    }
    return layer(
        kind,
        init,
        apply,
        lambda p: _penalty(p, gamma_regularizer, beta_regularizer),
        output_shape,
        name=name,
        arguments=arguments,
        train=train,
        non_trainable=("moving_mean", "moving_variance"),
    )


def LayerNormalization(
    axis: int = -1,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    beta_initializer: InitializerLike = "zeros",
    gamma_initializer: InitializerLike = "ones",
    beta_regularizer: RegularizerLike = None,
    gamma_regularizer: RegularizerLike = None,
    *,
    name: str | None = None,
) -> Layer:
    """Layer normalization (Ba et al. 2016), Keras's defaults: each sample normalized over ``axis``.

    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta`` with ``mean`` and
    ``var`` of each sample along ``axis``; ``gamma``, ``beta`` ``(features,)``.
    The same in training and inference.
    """
    hyperparameter("LayerNormalization axis", axis, integer=True)
    hyperparameter("LayerNormalization epsilon", epsilon, low=0, low_inclusive=False)
    center, scale = flag("center", center), flag("scale", scale)
    gamma_init, beta_init = _initializers(gamma_initializer=gamma_initializer, beta_initializer=beta_initializer)
    gamma_regularizer = regularizers.check("gamma_regularizer", gamma_regularizer)
    beta_regularizer = regularizers.check("beta_regularizer", beta_regularizer)
    kind = "LayerNormalization"

    def init(key, input_shape, dtype=jnp.float32):
        shape = as_shape(input_shape)
        size = shape[_feature_axis(axis, shape, kind) - 1]
        return _affine_params(key, size, dtype, center, scale, gamma_init, beta_init)

    def apply(params, x, *, key=None, training=False):
        index = _feature_axis(axis, tuple(jnp.shape(x)[1:]), kind)
        for leaf in params.values():
            _check_input(x, jnp.shape(leaf)[0], index, kind)
        mean = jnp.mean(x, axis=index, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=index, keepdims=True)
        return _normalize(params, x, mean, var, epsilon, index)

    def output_shape(input_shape):
        shape = as_shape(input_shape)
        _feature_axis(axis, shape, kind)
        return shape

    arguments = {
        "axis": axis,
        "epsilon": epsilon,
        "center": center,
        "scale": scale,
        "beta_initializer": initializers.serialize(beta_initializer),
        "gamma_initializer": initializers.serialize(gamma_initializer),
        "beta_regularizer": regularizers.serialize(beta_regularizer),
        "gamma_regularizer": regularizers.serialize(gamma_regularizer),
    }
    return layer(
        kind,
        init,
        apply,
        lambda p: _penalty(p, gamma_regularizer, beta_regularizer),
        output_shape,
        name=name,
        arguments=arguments,
    )


register("BatchNormalization", BatchNormalization)
register("LayerNormalization", LayerNormalization)
