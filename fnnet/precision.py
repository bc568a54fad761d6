"""Dtype policies: the dtype of the parameters and the dtype the model computes in (Keras's names).

| policy | params | compute | notes |
| --- | --- | --- | --- |
| ``float32`` | float32 | float32 | the default |
| ``mixed_bfloat16`` | float32 | bfloat16 | loss and metrics in float32, as Keras's policy |
| ``float64`` | float64 | float64 | needs ``jax.config.update("jax_enable_x64", True)`` |

Under a policy the forward pass is ``cast_output(model.apply(cast_params(params),
cast_inputs(x)))``: floating inputs and parameters are cast to the compute dtype
and the outputs back to at least float32, so losses and metrics are computed in
float32 (float64 under ``float64``). Params given in a lower precision than the
policy's (bfloat16 params under ``float32``) are cast up when training starts;
a higher precision is an error rather than a silent loss. The casts sit inside the differentiated
function, so the gradients arrive in the parameters' own dtype and the optimizer
and its state stay in float32 under ``mixed_bfloat16``. Integer inputs (labels,
token ids) are never cast.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from fnnet._checks import dtype as check_dtype
from fnnet.protocols import DTypePolicyName, Params, PyTree


class Policy(NamedTuple):
    """A dtype policy: its ``name``, the ``param_dtype`` and the ``compute_dtype``."""

    name: str
    param_dtype: str
    compute_dtype: str

    @property
    def output_dtype(self) -> DTypeLike:
        """The dtype of the model's outputs as losses see them: at least float32."""
        return jnp.promote_types(self.compute_dtype, jnp.float32)

    def cast_params(self, params: Params) -> Params:
        """Floating leaves of ``params`` in the compute dtype.

        Leaves wider than ``param_dtype`` (float64 params given straight to an
        ``Objective``, as ``check_grads`` does) stay as they are: ``fit`` refuses
        them, and a gradient check must not see float32 rounding.
        """
        bits = jnp.finfo(self.param_dtype).bits

        def cast(leaf: ArrayLike) -> jax.Array:
            leaf = jnp.asarray(leaf)
            if jnp.issubdtype(leaf.dtype, jnp.floating) and jnp.finfo(leaf.dtype).bits <= bits:
                return leaf.astype(self.compute_dtype)
            return leaf

        return jax.tree_util.tree_map(cast, params)

    def cast_inputs(self, x: PyTree) -> PyTree:
        """Floating inputs in the compute dtype; integer and boolean inputs unchanged."""
        return _cast_floating(x, self.compute_dtype)

    def cast_output(self, y: PyTree) -> PyTree:
        """Model outputs in at least ``output_dtype`` (float32 under the bfloat16 compute of ``mixed_bfloat16``)."""
        return jax.tree_util.tree_map(
            lambda leaf: (
                leaf.astype(jnp.promote_types(leaf.dtype, self.output_dtype))
                if jnp.issubdtype(leaf.dtype, jnp.floating)
                else leaf
            ),
            y,
        )

    def cast_updates(self, updates: Params) -> Params:
        """Non-trainable updates from a training pass back in the parameters' dtype."""
        return _cast_floating(updates, self.param_dtype)

    def params(self, params: Params) -> Params:
        """``params`` with floating leaves in ``param_dtype``: lower precisions are cast up (lossless).

        A leaf of higher precision than ``param_dtype`` (float64 params under
        ``float32``) raises ``ValueError`` naming it: casting it down would lose
        what the user asked for. Params already in ``param_dtype`` come back as
        they are (no copy).
        """
        wanted = np.dtype(self.param_dtype)
        leaves = jax.tree_util.tree_flatten_with_path(params)[0]
        cast = False
        for path, leaf in leaves:
            dtype = np.dtype(jax.dtypes.canonicalize_dtype(leaf.dtype))  # float64 is float32 without x64
            if not jnp.issubdtype(dtype, jnp.floating) or dtype == wanted:
                continue
            if jnp.finfo(dtype).bits > jnp.finfo(wanted).bits:
                raise ValueError(
                    f"params{jax.tree_util.keystr(path)} is {dtype}, but dtype_policy={self.name!r} keeps "
                    f"params in {self.param_dtype}: compile with the dtype_policy that matches them "
                    f"({', '.join(repr(name) for name in POLICIES)}) or cast them down yourself"
                )
            cast = True
        return _cast_floating(params, wanted) if cast else params

    def check_state_params(self, params: Params) -> None:
        """Raise ``ValueError`` naming the first floating leaf of a ``TrainState``'s params not in ``param_dtype``.

        A state's optimizer state was built for its params, so they are never cast.
        """
        for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
            dtype = np.dtype(jax.dtypes.canonicalize_dtype(leaf.dtype))
            if jnp.issubdtype(dtype, jnp.floating) and dtype != np.dtype(self.param_dtype):
                raise ValueError(
                    f"the state's params{jax.tree_util.keystr(path)} are {dtype}, but dtype_policy={self.name!r} "
                    f"keeps params in {self.param_dtype}; continue it with a trainer of its own dtype_policy"
                )


def _cast_floating(tree: PyTree, dtype: DTypeLike) -> PyTree:
    def cast(leaf: ArrayLike) -> jax.Array:
        leaf = jnp.asarray(leaf)
        return leaf.astype(dtype) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    return jax.tree_util.tree_map(cast, tree)


def x64_enabled() -> bool:
    """Whether JAX's 64-bit mode is on (``jax.config.update("jax_enable_x64", True)``)."""
    # jax's Config sets its flags as attributes at run time: its type declares none of them
    return bool(jax.config.jax_enable_x64)  # pyright: ignore[reportAttributeAccessIssue]


POLICIES = {
    "float32": Policy("float32", "float32", "float32"),
    "mixed_bfloat16": Policy("mixed_bfloat16", "float32", "bfloat16"),
    "float64": Policy("float64", "float64", "float64"),
}


def _checked(policy: Policy) -> Policy:
    """A user's ``Policy``: a name, and floating dtypes for the params and the computation."""
    if not isinstance(policy.name, str) or not policy.name:
        raise TypeError(f"a dtype_policy's name must be a non-empty string, got {policy.name!r}")
    for field in ("param_dtype", "compute_dtype"):
        if not jnp.issubdtype(check_dtype(f"dtype_policy {field}", getattr(policy, field)), jnp.floating):
            raise ValueError(f"dtype_policy {field} must be a floating dtype, got {getattr(policy, field)!r}")
    return policy


def get(name_or_policy: DTypePolicyName | Policy = "float32") -> Policy:
    """The ``Policy`` called ``name`` (``"float32"``, ``"mixed_bfloat16"``, ``"float64"``), or a policy as is.

    ``"float64"`` needs 64-bit mode on, else ``ValueError`` (JAX would quietly
    compute in float32).

    Examples:
        >>> get("mixed_bfloat16").compute_dtype
        'bfloat16'
    """
    if isinstance(name_or_policy, Policy):
        return _checked(name_or_policy)
    if not isinstance(name_or_policy, str):
        raise TypeError(f"dtype_policy must be a name ({', '.join(POLICIES)}), got {name_or_policy!r}")
    if name_or_policy not in POLICIES:
        raise ValueError(f"unknown dtype_policy {name_or_policy!r}; valid names: {', '.join(POLICIES)}")
    if name_or_policy == "float64" and not x64_enabled():
        raise ValueError(
            'dtype_policy="float64" needs 64-bit mode: jax.config.update("jax_enable_x64", True) '
            "first (without it JAX computes in float32)"
        )
    return POLICIES[name_or_policy]
