"""Every activation in ``fn.activations`` and its derivative from ``jax.grad``, one panel each.

The activations are found by name (every public function of the module that
``fn.activations.name_of`` names), so a new one gets its panel without a
change here. The derivative is ``jax.vmap(jax.grad(f))``: no derivative is
written by hand. ``softmax`` is not elementwise: its panel shows the first
output of ``softmax([z, 0])`` (which is ``sigmoid(z)``) and the derivative of
that. Also writes the numbers the lessons quote: the sigmoid's largest slope
(1/4), tanh's (1), and where each derivative vanishes.

    python experiments/activations.py [--quick]
"""

import _common  # first: it sets JAX up for --quick before JAX starts (isort: skip)

import math

import jax
import jax.numpy as jnp
import numpy as np

import fnnet as fn
from _common import plt


def activation_names():
    return sorted(n for n in dir(fn.activations) if fn.activations.name_of(getattr(fn.activations, n)) == n)


def as_scalar_function(name):
    f = fn.activations.get(name)
    if name == "softmax":
        return lambda z: f(jnp.stack([z, jnp.zeros_like(z)]))[0]
    return lambda z: f(z)


def main():
    args = _common.parse_args(__doc__, points=(int, 1401, "grid points on [-7, 7]"))
    z = np.linspace(-7, 7, 141 if args.quick else args.points)  # wide enough to show relu6's cap at 6
    names = activation_names()
    curves, facts = {}, {}
    for name in names:
        f = as_scalar_function(name)
        both = jax.jit(lambda points, f=f: (jax.vmap(f)(points), jax.vmap(jax.grad(f))(points)))
        value, slope = map(np.asarray, both(jnp.asarray(np.append(z, [-5.0, 0.0, 5.0]), jnp.float32)))
        (value, slope), (at_minus_5, at_0, at_5) = (value[:-3], slope[:-3]), slope[-3:]
        curves[name] = {"f": value, "df": slope}
        facts[name] = {
            "max_derivative": float(slope.max()),
            "derivative_at_0": float(at_0),
            "derivative_at_-5": float(at_minus_5),
            "derivative_at_5": float(at_5),
            "range_on_grid": [float(value.min()), float(value.max())],
        }
        print(
            f"{name:>12}: f'(0) = {at_0:.4f}, max f' = {slope.max():.4f}, f'(-5) = {at_minus_5:.2e}, f'(5) = {at_5:.2e}"
        )

    columns = 4
    rows = math.ceil(len(names) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.9 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        ax.plot(z, curves[name]["f"], label="f(z)", color="tab:blue")
        ax.plot(z, curves[name]["df"], label="f'(z) by jax.grad", color="tab:orange", linestyle="--")
        title = "softmax([z, 0])[0]" if name == "softmax" else name
        ax.set_title(f"{title}   (max f' = {facts[name]['max_derivative']:.3g})", fontsize=10)
        ax.set_xlabel("z (pre-activation)")
        ax.set_ylabel("value")
        ax.axhline(0, color="gray", linewidth=0.6)
        low, high = -2.2, 7.5
        ax.set_ylim(low, high)
        both_curves = np.concatenate([curves[name]["f"], curves[name]["df"]])
        if both_curves.max() > high or both_curves.min() < low:
            ax.text(
                0.97, 0.05, f"clipped to [{low}, {high}]", transform=ax.transAxes, ha="right", fontsize=8, color="gray"
            )
        ax.legend(loc="upper left")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(
        f"fnnet's activations f and their derivatives f' from jax.grad (every panel: z in [{z[0]:g}, {z[-1]:g}], "
        "same y range; max f' is over that grid)",
        fontsize=13,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _common.save(
        "activations",
        args,
        fig,
        config={
            "grid": [float(z[0]), float(z[-1]), len(z)],
            "names": names,
            "softmax_panel": "first output of softmax([z, 0])",
        },
        seeds=[],
        results={
            "facts": facts,
            "z_every_10th": z[::10],  # the curves at every 10th grid point
            "curves": {name: {k: v[::10] for k, v in c.items()} for name, c in curves.items()},
        },
    )


if __name__ == "__main__":
    main()
