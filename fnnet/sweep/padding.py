"""Plan a sweep over shapes: the distinct networks, the largest ones, and where every variant sits in them.

``plan`` builds each distinct network once (with its first variant's
values), aligns it with its largest network (``Sequential`` layers in
order, by kind, fewest unequal pairs, earliest first), checks that it
computes the same outputs when padded, and stacks every variant's
``shapes.Layout``. ``init_params`` initializes each variant as its own
network and places it in the padded tree; ``Padding.cut`` takes it back out.
See ``fnnet.sweep.shapes`` for the padded program.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnnet import layers
from fnnet.sweep import stacked
from fnnet.sweep.shapes import Layout, Padded, is_numeric, value_of
from fnnet.sweep.variants import variant_keys

Path = tuple[str, ...]


class Architecture(NamedTuple):
    """One distinct network of a sweep: its static values, its choice and where its leaves sit when padded."""

    static: tuple[tuple[str, Any], ...]
    choice: int
    leaves: tuple[tuple[Path, Path, tuple[int, ...]], ...]  # (own path, padded path, own shape)
    present: tuple[bool, ...]


def _flat(tree: Any, prefix: Path = ()) -> dict[Path, Any]:
    if isinstance(tree, dict):
        return {path: leaf for name, child in tree.items() for path, leaf in _flat(child, (*prefix, name)).items()}
    return {prefix: tree}


def _nest(flat: dict[Path, Any]) -> Any:
    tree: dict[str, Any] = {}
    for path, leaf in flat.items():
        node = tree
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = leaf
    return tree


class Padding(NamedTuple):
    """Every variant's place in the padded program: its architecture, and the stacked ``Layout``s."""

    builder: Padded
    architectures: tuple[Architecture, ...]
    of_variant: np.ndarray  # (K,) each variant's architecture
    layouts: Layout  # stacked over the K variants
    padded: Any  # the padded params tree, as shapes and dtypes
    traced: tuple[str, ...]  # the builder axes passed traced

    def embed(self, k: int, params: Any) -> Any:
        """Variant ``k``'s own params placed in the padded tree (zeros elsewhere)."""
        return _nest(_embed_flat(self.architectures[self.of_variant[k]], _flat(self.padded), params))

    def cut(self, k: int, padded_params: Any) -> Any:
        """Variant ``k``'s own params cut out of its padded ones (no leading K axis)."""
        flat = _flat(padded_params)
        return _nest(
            {
                own_path: flat[padded_path][tuple(slice(0, s) for s in shape)]
                for own_path, padded_path, shape in self.architectures[self.of_variant[k]].leaves
            }
        )

    def by_choice(self) -> list[tuple[Padded, np.ndarray]]:
        """For each value of the non-numeric axes, the builder of its largest network alone and its variants."""
        choice = np.asarray(self.layouts.choice)
        return [
            (self.builder._replace(largest=(largest,), gated=(gated,)), np.flatnonzero(choice == c))
            for c, (largest, gated) in enumerate(zip(self.builder.largest, self.builder.gated))
        ]

    def own_abstract(self, k: int) -> Any:
        """Variant ``k``'s own params tree, as shapes and dtypes."""
        padded = _flat(self.padded)
        return _nest(
            {
                own: jax.ShapeDtypeStruct(shape, padded[padded_path].dtype)
                for own, padded_path, shape in self.architectures[self.of_variant[k]].leaves
            }
        )


def _largest_values(values: np.ndarray) -> Any:
    """The largest value of a numeric static axis; per-layer lists: the largest at every position."""
    items = [value_of(values, k) for k in range(len(values))]
    if not any(isinstance(v, tuple) for v in items):
        return max(items)
    lists = [v if isinstance(v, tuple) else (v,) for v in items]
    return tuple(max(v[i] for v in lists if i < len(v)) for i in range(max(map(len, lists))))


def _match(own: Sequence[tuple[str, layers.Layer]], large: Sequence[tuple[str, layers.Layer]]) -> list[int] | None:
    """Positions in ``large`` for ``own``'s layers, in order, same kinds, fewest unequal pairs, earliest first."""
    n, m = len(own), len(large)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    for j in range(m + 1):
        cost[n][j] = 0
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            skip = cost[i][j + 1]
            take = inf
            if own[i][1].kind == large[j][1].kind:
                take = (own[i][1] != large[j][1]) + cost[i + 1][j + 1]
            cost[i][j] = min(take, skip)
    if cost[0][0] == inf:
        return None
    positions, j = [], 0
    for i in range(n):
        while not (
            own[i][1].kind == large[j][1].kind and (own[i][1] != large[j][1]) + cost[i + 1][j + 1] == cost[i][j]
        ):
            j += 1
        positions.append(j)
        j += 1
    return positions


def _describe(static: Sequence[tuple[str, Any]]) -> str:
    return ", ".join(f"{n}={v!r}" for n, v in static)


def _architecture(own_model, large_model, padded_flat, static, choice, input_shape, dtype) -> Architecture:
    """How ``own_model`` sits in ``large_model``: its leaves' padded paths and the layers it has."""
    own_flat = _flat(jax.eval_shape(lambda: own_model.init(jax.random.key(0), input_shape, dtype)))
    rename, present = {}, ()
    if large_model.kind == "Sequential" and own_model.kind == "Sequential":
        positions = _match(own_model.layers, large_model.layers)
        if positions is None:
            raise ValueError(
                f"the network with {_describe(static)} cannot be padded into the largest one: its layers "
                f"{[c.kind for _, c in own_model.layers]} are not, in order, among {[c.kind for _, c in large_model.layers]}"
            )
        rename = {own_model.layers[i][0]: large_model.layers[j][0] for i, j in enumerate(positions)}
        present = tuple(j in positions for j in range(len(large_model.layers)))
    leaves = []
    for path, leaf in own_flat.items():
        padded_path = (rename.get(path[0], path[0]), *path[1:]) if rename else path
        target = padded_flat.get(padded_path)
        where = "no leaf" if target is None else f"{'/'.join(padded_path)} of shape {target.shape}"
        if (
            target is None
            or len(target.shape) != len(leaf.shape)
            or any(s > t for s, t in zip(leaf.shape, target.shape))
        ):
            raise ValueError(
                f"the network with {_describe(static)} cannot be padded into the largest one: its params "
                f"{'/'.join(path)} of shape {leaf.shape} do not fit in {where}; "
                "a static builder axis must grow a network as units and depth do"
            )
        leaves.append((path, padded_path, tuple(leaf.shape)))
    return Architecture(tuple(static), choice, tuple(leaves), present)


def _check_skips(model: layers.Layer, gated: Sequence[bool], input_shape: tuple) -> None:
    """Every layer some variant lacks keeps its input's shape in the largest network (it passes its input on)."""
    shape = input_shape
    for (name, child), lacked in zip(model.layers, gated):
        out = tuple(child.output_shape(shape))
        if lacked and out != shape:
            raise ValueError(
                f"a variant lacks layer {name!r} of the largest network, which maps shape {shape} to {out}: "
                "a layer a smaller network does not have must keep the shape (e.g. hidden layers of one width "
                "after the first), so that the variant's input can pass through it"
            )
        shape = out


def _embed_flat(architecture: Architecture, padded_flat: dict[Path, Any], params: Any) -> dict[Path, np.ndarray]:
    own = _flat(params)
    flat = {path: np.zeros(leaf.shape, leaf.dtype) for path, leaf in padded_flat.items()}
    for own_path, padded_path, shape in architecture.leaves:
        flat[padded_path][tuple(slice(0, s) for s in shape)] = np.asarray(own[own_path])
    return flat


def _layout(architecture: Architecture, padded_flat: dict[Path, Any], layers_count: int) -> Layout:
    own = {padded_path: shape for _, padded_path, shape in architecture.leaves}
    sizes = {path: np.asarray(own.get(path, (0,) * len(leaf.shape)), np.int32) for path, leaf in padded_flat.items()}
    present = architecture.present + (True,) * (layers_count - len(architecture.present))
    return Layout(_nest(sizes), np.asarray(present, bool), np.int32(architecture.choice))


def plan(
    build: Callable[..., layers.Layer],
    model_values: dict[str, np.ndarray],
    static: Sequence[str],
    input_shape: tuple[int, ...],
    dtype: Any,
) -> Padding:
    """The ``Padding`` of a sweep whose builder axes ``static`` stay concrete."""
    k = len(next(iter(model_values.values())))
    traced = [n for n in model_values if n not in static]
    # non-numeric axes of single values (activation): one largest network each; numbers and per-layer lists grow
    choices_names = [n for n in static if not is_numeric(model_values[n]) and model_values[n].dtype != object]
    grown = tuple((n, _largest_values(model_values[n])) for n in static if n not in choices_names)
    statics = [tuple((n, value_of(model_values[n], i)) for n in static) for i in range(k)]
    distinct = list(dict.fromkeys(statics))
    number = {s: g for g, s in enumerate(distinct)}
    index = np.asarray([number[s] for s in statics])
    first = [int(np.argmax(index == g)) for g in range(len(distinct))]
    choice_values = [tuple((n, dict(s)[n]) for n in choices_names) for s in distinct]
    choices = list(dict.fromkeys(choice_values))
    choice_of = [choices.index(values) for values in choice_values]  # each distinct network's choice
    largest = tuple(grown + choice for choice in choices)

    def values_of(i):
        return {n: value_of(model_values[n], i) for n in traced}

    def abstract(model):
        return jax.eval_shape(lambda: model.init(jax.random.key(0), input_shape, dtype))

    padded = abstract(build(**dict(largest[0]), **values_of(0)))
    for values in largest[1:]:
        if abstract(build(**dict(values), **values_of(0))) != padded:
            raise ValueError(
                f"the largest networks with {_describe(values)} and {_describe(largest[0])} have different params; "
                "an axis that is not a number (activation, ...) may change the layers' kinds, not their params"
            )
    padded_flat = _flat(padded)
    architectures = tuple(
        _architecture(
            build(**dict(s), **values_of(first[g])),
            build(**dict(largest[choice_of[g]]), **values_of(first[g])),
            padded_flat,
            s,
            choice_of[g],
            input_shape,
            dtype,
        )
        for g, s in enumerate(distinct)
    )
    larges = [build(**dict(values), **values_of(0)) for values in largest]
    gated = tuple(
        tuple(any(not a.present[j] for a in architectures if a.choice == c) for j in range(len(a_large.layers)))
        if a_large.kind == "Sequential"
        else ()
        for c, a_large in enumerate(larges)
    )
    for model, lacked in zip(larges, gated):
        _check_skips(model, lacked, input_shape)
    builder = Padded(build, largest, gated)
    count = max(len(g) for g in gated)
    layouts = [_layout(a, padded_flat, count) for a in architectures]
    stacked = jax.tree_util.tree_map(lambda *leaves: np.stack(leaves)[index], *layouts)
    return Padding(builder, architectures, index, stacked, padded, tuple(traced))


def _check_padded(architecture: Architecture, expected: Any, got: Any) -> None:
    """The network computed the same outputs alone and padded, or a ValueError says why not."""
    for want, have in zip(jax.tree_util.tree_leaves(expected), jax.tree_util.tree_leaves(got)):
        scale = 1 + float(np.max(np.abs(want)))
        error = float(np.max(np.abs(np.asarray(want, np.float64) - np.asarray(have, np.float64))))
        if not error <= 1e-4 * scale:
            raise ValueError(
                f"the network with {_describe(architecture.static)} computes other outputs when padded into the "
                f"largest one (they differ by {error:.3g}): a layer mixes its padded units with its real ones "
                "(a softmax or LayerNormalization inside the network); shape axes work with Dense, "
                "BatchNormalization, Dropout and elementwise activations"
            )


@functools.partial(jax.jit, static_argnames=("build", "statics", "input_shape", "dtype"))
def _init_groups(key, seeds, values, probe, *, build, statics, input_shape, dtype):
    """Each group's variants initialized as their own network, and its first one's outputs on ``probe``.

    One program for every distinct network: compiling the random draws of each
    shape once in one program is much cheaper than a program per network.
    """
    out = []
    for group_seeds, group_values, static in zip(seeds, values, statics):

        def one(seed, own_values, static=static):
            init_key, _ = variant_keys(key, seed)
            return build(**dict(static), **own_values).init(init_key, input_shape, dtype)

        params = jax.vmap(one)(group_seeds, group_values)
        first = jax.tree_util.tree_map(lambda leaf: leaf[0], (params, group_values))
        out.append((params, build(**dict(static), **first[1]).apply(first[0], probe)))
    return out


@functools.partial(jax.jit, static_argnames=("builder",))
def _padded_outputs(params, values, layouts, probe, *, builder):
    """Each of the given variants' outputs on ``probe`` in the padded program."""
    return jax.vmap(lambda p, v, layout: builder(padding_layout=layout, **v).apply(p, probe))(params, values, layouts)


def init_params(padding: Padding, key: jax.Array, seeds: np.ndarray, values: dict[str, Any], probe: Any, dtype) -> Any:
    """Every variant initialized as its own network (``variant_keys(key, seed_k)``), stacked in the padded tree.

    Each architecture's first variant is also run on ``probe`` alone and
    padded: a ValueError when the outputs differ (see ``_check_padded``).
    """
    full = {path: np.zeros((len(seeds), *leaf.shape), leaf.dtype) for path, leaf in _flat(padding.padded).items()}
    groups = [np.flatnonzero(padding.of_variant == g) for g in range(len(padding.architectures))]
    initialized = _init_groups(
        key,
        tuple(jnp.asarray(seeds[members], jnp.int32) for members in groups),
        tuple({n: v[members] for n, v in values.items()} for members in groups),
        probe,
        build=padding.builder.build,
        statics=tuple(architecture.static for architecture in padding.architectures),
        input_shape=tuple(probe.shape[1:]),
        dtype=str(np.dtype(dtype)),
    )
    expected = []
    for members, architecture, (own, outputs) in zip(groups, padding.architectures, initialized):
        own = _flat(jax.device_get(own))
        for own_path, padded_path, shape in architecture.leaves:
            full[padded_path][(members, *(slice(0, s) for s in shape))] = own[own_path]
        expected.append(outputs)
    firsts = np.asarray([members[0] for members in groups])
    got = _padded_outputs(
        _nest({path: leaf[firsts] for path, leaf in full.items()}),
        {n: v[firsts] for n, v in values.items()},
        jax.tree_util.tree_map(lambda leaf: leaf[firsts], padding.layouts),
        probe,
        builder=padding.builder,
    )
    got = jax.device_get(got)
    for g, architecture in enumerate(padding.architectures):
        _check_padded(architecture, jax.device_get(expected[g]), stacked.take(got, g))
    return jax.tree_util.tree_map(jnp.asarray, _nest(full))
