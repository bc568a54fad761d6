"""Activation functions: elementwise maps ``a = f(z)`` applied after a layer.

Each is a plain function of an array, so ``jax.grad``, ``jit`` and ``vmap``
apply directly; the derivatives come from ``jax.grad``, never by hand.
``get(name_or_callable)`` resolves Keras's string names.
"""

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from fnnet._checks import axis as check_axis, flag, function, hyperparameter, real_array
from fnnet._registry import lookup

Activation = Callable[[jax.Array], jax.Array]


def _real_input(activation: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
    """Check that ``x`` holds real numbers (by dtype alone, so inside ``jit`` too) before ``activation`` runs."""

    @functools.wraps(activation)
    def checked(x: ArrayLike, *args: Any, **kwargs: Any) -> jax.Array:
        return activation(real_array("x", x), *args, **kwargs)

    return checked


@_real_input
def linear(x: ArrayLike) -> jax.Array:
    """Identity, ``f(x) = x`` (Keras ``"linear"``, the default of ``Dense``)."""
    return jnp.asarray(x)


@_real_input
def step(x: ArrayLike) -> jax.Array:
    """Heaviside threshold of the perceptron: ``f(x) = 1 if x >= 0 else 0``.

    Its derivative is zero wherever it exists, so it cannot be trained by
    gradient descent; it is here for the perceptron lessons.
    """
    x = jnp.asarray(x)
    return jnp.where(x >= 0, 1, 0).astype(x.dtype)


@_real_input
def sigmoid(x: ArrayLike) -> jax.Array:
    """Logistic function ``f(x) = 1 / (1 + exp(-x))``, with range (0, 1)."""
    return jax.nn.sigmoid(x)


@_real_input
def tanh(x: ArrayLike) -> jax.Array:
    """Hyperbolic tangent ``f(x) = (e^x - e^-x) / (e^x + e^-x)``, range (-1, 1)."""
    return jnp.tanh(x)


@_real_input
def relu(x: ArrayLike) -> jax.Array:
    """Rectified linear unit ``f(x) = max(x, 0)``."""
    return jax.nn.relu(x)


@_real_input
def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> jax.Array:
    """``f(x) = x if x >= 0 else negative_slope * x``; Keras's default slope 0.2."""
    return jax.nn.leaky_relu(x, hyperparameter("negative_slope", negative_slope))


@_real_input
def elu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """Exponential linear unit ``f(x) = x if x > 0 else alpha * (exp(x) - 1)``."""
    return jax.nn.elu(x, hyperparameter("alpha", alpha))


@_real_input
def softmax(x: ArrayLike, axis: int = -1) -> jax.Array:
    """``f(x)_i = exp(x_i) / sum_j exp(x_j)`` along ``axis``.

    Computed as ``exp(x_i - max x)`` over its sum, so it is finite for logits
    as large as 1e4 where the naive formula overflows.
    """
    return jax.nn.softmax(x, axis=check_axis("axis", axis, jnp.ndim(x)))


@_real_input
def selu(x: ArrayLike) -> jax.Array:
    """Scaled ELU ``f(x) = scale * (x if x > 0 else alpha * (exp(x) - 1))``.

    ``alpha = 1.6732632423543772``, ``scale = 1.0507009873554805`` (Klambauer
    et al. 2017), the constants that keep activations self-normalising.
    """
    return jax.nn.selu(x)


@_real_input
def gelu(x: ArrayLike, approximate: bool = False) -> jax.Array:
    """Gaussian error linear unit ``f(x) = x * Phi(x) = x (1 + erf(x / sqrt 2)) / 2``.

    Exact by default, as Keras 3; ``approximate=True`` is the tanh form
    ``x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2``.
    """
    return jax.nn.gelu(x, approximate=flag("approximate", approximate))


@_real_input
def swish(x: ArrayLike) -> jax.Array:
    """Swish, also called SiLU: ``f(x) = x * sigmoid(x) = x / (1 + exp(-x))``."""
    return jax.nn.silu(x)


silu = swish


@_real_input
def softplus(x: ArrayLike) -> jax.Array:
    """``f(x) = log(1 + exp(x))``, a smooth ReLU, computed stably for large ``|x|``."""
    return jax.nn.softplus(x)


@_real_input
def softsign(x: ArrayLike) -> jax.Array:
    """``f(x) = x / (|x| + 1)``, range (-1, 1)."""
    return jax.nn.soft_sign(x)


@_real_input
def hard_sigmoid(x: ArrayLike) -> jax.Array:
    """Keras 3's piecewise-linear sigmoid ``f(x) = relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1)``.

    0 for ``x <= -3``, 1 for ``x >= 3``, linear in between (Keras 2 used
    slope 0.2; Keras 3 and this one use 1/6).
    """
    return jax.nn.hard_sigmoid(x)


@_real_input
def exponential(x: ArrayLike) -> jax.Array:
    """``f(x) = exp(x)``."""
    return jnp.exp(x)


@_real_input
def relu6(x: ArrayLike) -> jax.Array:
    """ReLU capped at 6: ``f(x) = min(max(x, 0), 6)``."""
    return jax.nn.relu6(x)


@_real_input
def mish(x: ArrayLike) -> jax.Array:
    """Mish ``f(x) = x * tanh(softplus(x)) = x tanh(log(1 + exp(x)))`` (Misra 2019)."""
    return jax.nn.mish(x)


_BY_NAME = {
    f.__name__: f
    for f in (
        linear,
        step,
        sigmoid,
        tanh,
        relu,
        leaky_relu,
        elu,
        softmax,
        selu,
        gelu,
        swish,
        softplus,
        softsign,
        hard_sigmoid,
        exponential,
        relu6,
        mish,
    )
}


_NAME_OF = {id(f): name for name, f in _BY_NAME.items()}  # canonical names: swish, not its alias silu
_BY_NAME["silu"] = silu


def name_of(activation: object) -> str | None:
    """The registry name of one of this module's activations (``fn.activations.relu`` -> ``"relu"``), else None."""
    return _NAME_OF.get(id(activation)) if callable(activation) else None


def serialize(activation: str | Activation | None) -> str | Activation:
    """An activation as a config value: its name (None is ``"linear"``), or a bare callable as is."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        get(activation)  # a name that resolves
        return activation
    return name_of(activation) or function("activation", activation)


def get(name_or_callable: str | Activation | None) -> Activation:
    """Return the activation called ``name`` (``None`` means ``linear``), or a callable as is."""
    if name_or_callable is None:
        return linear
    return lookup("activation", _BY_NAME, name_or_callable)
