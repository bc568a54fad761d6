"""The checked mode: what no host check can see, checked inside the compiled step with ``checkify``.

Before compiling, ``fit`` checks shapes, dtypes, label values and finite
inputs on the host. Inside ``jit`` values are not known, so a step of your
own (``train_step``) or data that turn bad during training (an augmentation,
a learning rate that diverges) pass unseen. ``fit(..., checks=True)`` and
``train_step(..., checks=True)`` add ``jax.experimental.checkify`` checks to
every step and raise ``checkify.JaxRuntimeError`` naming the step when

- the inputs hold NaN or inf,
- the labels hold NaN, or values the loss cannot take (the rules of
  ``fnnet.losses.check_labels``: class indices in ``[0, C)``, probabilities
  in ``[0, 1]``, signs, one-hot rows, non-negative counts),
- the loss is NaN or infinite.

The checks cost a little per step (one reduction of the batch each); off by
default. Which check runs where:

| check | eager / before compiling | inside jit |
| --- | --- | --- |
| shapes, dtypes, params vs model | always (``fit``, ``evaluate``) | at trace time |
| label values, finite x and y | ``fit``/``evaluate`` on arrays; losses and metrics called on concrete arrays | ``checks=True`` |
| NaN or infinite loss | ``fit`` stops with a warning after the epoch | ``checks=True`` |
"""

import functools

import jax
import jax.numpy as jnp
from jax.experimental import checkify

from fnnet import losses
from fnnet.training.outputs import label_parts


def check_batch(objective, step, x, y, y_pred):
    """Traced checks of one batch: finite inputs, finite labels the loss can take (inside ``checkify``)."""
    finite = jnp.all(
        jnp.asarray(
            [
                jnp.all(jnp.isfinite(leaf))
                for leaf in jax.tree_util.tree_leaves(x)
                if jnp.issubdtype(leaf.dtype, jnp.inexact)
            ]
            or [True]
        )
    )
    checkify.check(finite, "checks=True: x holds NaN or inf in the batch of step {step}", step=step)
    for where, loss in label_parts(objective.loss):
        labels, outputs = (y, y_pred) if where is None else (y[where], y_pred[where])
        label = "y" if where is None else f"y[{where!r}]"
        checkify.check(
            jnp.all(jnp.isfinite(labels)),
            f"checks=True: {label} holds NaN or inf in the batch of step {{step}}",
            step=step,
        )
        checkify.check(
            losses.labels_in_range(loss, labels, outputs),
            f"checks=True: {label} holds values {_name(loss)} cannot take in the batch of step {{step}} "
            f"({_rule(loss)})",
            step=step,
        )


def check_loss(step, loss):
    """Traced check that the batch's loss is finite."""
    checkify.check(
        jnp.isfinite(loss),
        "checks=True: the loss is {loss} at step {step} (a learning rate too high, or data out of range)",
        loss=loss,
        step=step,
    )


def raising(function):
    """``function`` jitted with its checks functionalized, raising ``checkify.JaxRuntimeError`` on the host."""
    checked = jax.jit(checkify.checkify(function))

    @functools.wraps(function)
    def run(*args, **kwargs):
        error, out = checked(*args, **kwargs)
        error.throw()
        return out

    return run


def _name(loss):
    return getattr(losses.unconfigured(loss), "__name__", "the loss")


def _rule(loss):
    return losses.label_rule(loss) or "any real value"


def thrown(checks, result):
    """A compiled program's result; with ``checks``, ``(error, result)`` whose checkify error is raised first."""
    if not checks:
        return result
    error, result = result
    error.throw()
    return result
