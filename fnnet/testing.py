"""Tools to test models: gradients against finite differences, and hypothesis strategies.

``check_grads(f, params, *args)`` compares ``jax.grad(f)(params, *args)``
with central finite differences ``(f(p + h e_i) - f(p - h e_i)) / 2h`` for
every element of every leaf of ``params``, in float64, and on a mismatch
names the leaf, the index and both values.

``mlps()`` and ``batches(input_shape)`` are hypothesis strategies for random
multilayer perceptrons and input batches, so a user can property-test their
own models. hypothesis (the ``test`` extra) is imported only when they are
called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from fnnet import layers, models
from fnnet._checks import function, hyperparameter, real_array, resolve, shape as check_shape
from fnnet.activations import get as get_activation
from fnnet.protocols import Params, PyTree

if TYPE_CHECKING:  # hypothesis is imported only when a strategy is asked for
    from hypothesis.strategies import SearchStrategy

SMOOTH_ACTIVATIONS = ("linear", "sigmoid", "tanh", "elu", "softmax")
"""Activations that are differentiable everywhere, safe for finite differences anywhere."""


def _to_float64(tree: PyTree) -> PyTree:
    return jax.tree_util.tree_map(
        lambda leaf: jnp.asarray(leaf, jnp.float64) if jnp.issubdtype(jnp.result_type(leaf), jnp.floating) else leaf,
        tree,
    )


def _check_function_and_params(f: object, params: object) -> None:
    """``f`` callable; ``params`` a pytree of at least one floating array (what a gradient is taken over)."""
    function("f", f)
    leaves = jax.tree_util.tree_leaves(params)
    for i, leaf in enumerate(leaves):
        if not jnp.issubdtype(real_array(f"params leaf {i}", leaf).dtype, jnp.floating):
            raise TypeError(
                f"params must hold floating arrays to differentiate, got a leaf of dtype {jnp.result_type(leaf)}"
            )
    if not leaves:
        raise ValueError(f"params must hold at least one array to differentiate, got {params!r}")


def numerical_grad(f: Callable[..., Any], params: Params, *args: Any, eps: float = 1e-6, chunk: int = 256) -> Params:
    """Central finite differences of the scalar ``f(params, *args)`` with respect to ``params``.

    Must run with 64-bit floats enabled (``check_grads`` does that). The
    ``2 n`` evaluations are ``vmap``-ed over ``chunk`` coordinates at a time
    and run eagerly, so checking many small shapes compiles nothing.
    """
    _check_function_and_params(f, params)
    hyperparameter("eps", eps, low=0, low_inclusive=False)
    chunk = int(hyperparameter("chunk", chunk, integer=True, low=1))
    flat, unravel = ravel_pytree(params)

    def difference(step: jax.Array) -> jax.Array:
        return f(unravel(flat + step), *args) - f(unravel(flat - step), *args)

    chunks = [
        jax.jit(jax.vmap(difference))(
            eps * jax.nn.one_hot(jnp.arange(start, min(start + chunk, flat.size)), flat.size, dtype=flat.dtype)
        )
        for start in range(0, flat.size, chunk)
    ]
    return unravel(jnp.concatenate(chunks) / (2 * eps))


def check_grads(
    f: Callable[..., Any], params: Params, *args: Any, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-8
) -> tuple[Params, Params]:
    """Assert that ``jax.grad(f)`` matches central finite differences, in float64.

    ``f(params, *args)`` must return a scalar. ``params`` (any pytree) and
    floating ``args`` are cast to float64 and 64-bit mode is enabled for the
    check. An element passes when ``|grad - fd| <= atol + rtol * |fd|``; the
    worst failing element raises ``AssertionError`` naming its leaf path,
    index, and both values.

    Args:
        f: the scalar function ``f(params, *args)`` to differentiate.
        params: the pytree to differentiate with respect to.
        *args: further arguments of ``f``, held fixed.
        eps: the finite-difference step ``h``.
        rtol: the relative tolerance: ``|grad - fd| <= atol + rtol * |fd|``.
        atol: the absolute tolerance in that bound.

    Returns:
        ``(analytic, numeric)``: both gradients, as pytrees like ``params``.

    Examples:
        >>> import jax, jax.numpy as jnp, fnnet as fn
        >>> model = fn.Sequential([fn.layers.Dense(2, activation="tanh")])
        >>> params = model.init(jax.random.key(0), (3,))
        >>> J = fn.objective(model, "mse")
        >>> analytic, numeric = fn.testing.check_grads(J, params, jnp.ones((4, 3)), jnp.zeros((4, 2)))
        >>> sorted(analytic["dense"])
        ['bias', 'kernel']
    """
    _check_function_and_params(f, params)
    hyperparameter("eps", eps, low=0, low_inclusive=False)
    hyperparameter("rtol", rtol, low=0)
    hyperparameter("atol", atol, low=0)
    with jax.enable_x64(True):
        params, args = _to_float64(params), _to_float64(args)
        value = f(params, *args)
        if jnp.shape(value) != ():
            raise ValueError(f"check_grads needs f to return a scalar, got shape {jnp.shape(value)}")
        analytic = jax.grad(f)(params, *args)
        numeric = numerical_grad(f, params, *args, eps=eps)
        failures = []
        leaves = zip(jax.tree_util.tree_leaves_with_path(analytic), jax.tree_util.tree_leaves(numeric))
        for (path, a), n in leaves:
            a, n = np.asarray(a), np.asarray(n)
            excess = np.abs(a - n) - (atol + rtol * np.abs(n))
            excess = np.where(np.isnan(excess), np.inf, excess)
            if excess.size and excess.max() > 0:
                index = np.unravel_index(np.argmax(excess), a.shape)
                failures.append((excess[index], jax.tree_util.keystr(path) or "<root>", index, a[index], n[index]))
        if failures:
            _, leaf, index, a, n = max(failures, key=lambda failure: failure[0])
            raise AssertionError(
                f"gradient mismatch at leaf {leaf} index {tuple(int(i) for i in index)}: "
                f"jax.grad gives {float(a):.10g}, central finite differences give {float(n):.10g} "
                f"(tolerance atol={atol} + rtol={rtol} * |fd|)"
            )
        return analytic, numeric


def _size_range(what: str, low: int, high: int) -> tuple[int, int]:
    """``(min_{what}, max_{what})`` checked: ints with ``1 <= low <= high``, as Python ints for hypothesis."""
    hyperparameter(f"min_{what}", low, integer=True, low=1)
    hyperparameter(f"max_{what}", high, integer=True, low=1)
    if low > high:
        raise ValueError(f"min_{what} must be <= max_{what}, got min_{what}={low} and max_{what}={high}")
    return int(low), int(high)


def mlps(
    *,
    min_depth: int = 1,
    max_depth: int = 3,
    max_width: int = 8,
    min_inputs: int = 1,
    max_inputs: int = 6,
    activations: Sequence[str] = SMOOTH_ACTIVATIONS,
) -> SearchStrategy[tuple[layers.Layer, tuple[int]]]:
    """Strategy for ``(model, input_shape)``: a ``Sequential`` of random-width ``Dense`` layers.

    Depth in ``[min_depth, max_depth]``, widths in ``[1, max_width]``, each
    layer's activation drawn from ``activations`` (smooth ones by default,
    so finite differences are valid everywhere), bias on or off.
    """
    from hypothesis import strategies as st

    min_depth, max_depth = _size_range("depth", min_depth, max_depth)
    min_inputs, max_inputs = _size_range("inputs", min_inputs, max_inputs)
    max_width = int(hyperparameter("max_width", max_width, integer=True, low=1))
    if isinstance(activations, str) or not isinstance(activations, Sequence) or not activations:
        raise TypeError(f"activations must be a non-empty list of activation names, got {activations!r}")
    for i, name in enumerate(activations):
        resolve(f"activations[{i}]", get_activation, name)

    dense = st.builds(
        lambda units, activation, use_bias: layers.Dense(units, activation, use_bias),
        st.integers(1, max_width),
        st.sampled_from(activations),
        st.booleans(),
    )
    return st.tuples(
        st.lists(dense, min_size=min_depth, max_size=max_depth).map(models.Sequential),
        st.integers(min_inputs, max_inputs).map(lambda n: (n,)),
    )


def batches(
    input_shape: Sequence[int], *, min_size: int = 1, max_size: int = 8, bound: float = 3.0
) -> SearchStrategy[np.ndarray]:
    """Strategy for float64 NumPy batches of shape ``(n, *input_shape)``, entries in ``[-bound, bound]``."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    input_shape = check_shape("input_shape", input_shape)
    min_size, max_size = _size_range("size", min_size, max_size)
    hyperparameter("bound", bound, low=0, low_inclusive=False)

    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=64)
    return st.integers(min_size, max_size).flatmap(
        lambda n: hnp.arrays(np.float64, (n, *input_shape), elements=elements)
    )
