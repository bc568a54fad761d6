"""Several outputs: one loss per output, weighted, and metrics per output, named as Keras names them.

A model with outputs ``o_1 .. o_m`` (a functional ``fn.Model``) trains on
``J = sum_k lambda_k loss_k(y_k, p_k) + penalties``, where ``y`` and the
outputs ``p`` are dicts keyed by output name or lists in the outputs' order.
The logs are ``loss`` (the total), ``<name>_loss`` per output and
``<name>_<metric>`` per metric of an output, as Keras logs them.
``OutputLoss`` and ``OutputMetric`` are values (NamedTuples), so equal
configurations share compiled programs.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp

from fnnet import losses, metrics as metrics_lib, models
from fnnet._checks import as_tuple


class OutputMetric(NamedTuple):
    """``fn`` applied to one output: ``fn(y[where], p[where], sample_weight)`` (``where``: a key or an index).

    ``is_loss`` marks an output's loss (logged as ``<name>_loss``): it is
    reduced and averaged over batches as the total loss is, not as a metric.
    """

    where: Any
    fn: Any
    is_loss: bool = False

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self.fn(y_true[self.where], y_pred[self.where], sample_weight)

    def init(self, dtype=jnp.float32):
        return self.fn.init(dtype)

    def update(self, stats, y_true, y_pred, sample_weight=None):
        return self.fn.update(stats, y_true[self.where], y_pred[self.where], sample_weight)

    def result(self, stats):
        return self.fn.result(stats)

    @property
    def streaming(self):
        return metrics_lib.is_streaming(self.fn)


class OutputLoss(NamedTuple):
    """``sum_k weight_k loss_k(y[where_k], p[where_k], sample_weight)`` over the outputs."""

    parts: tuple  # ((where, loss, weight), ...)

    def __call__(self, y_true, y_pred, sample_weight=None):
        total = jnp.zeros((), jnp.float32)
        for where, loss, weight in self.parts:
            total = total + weight * loss(y_true[where], y_pred[where], sample_weight)
        return total


def label_parts(fn: Any) -> tuple[tuple[Any, Any], ...]:
    """What reads which labels: ``((where, part), ...)``, one per output of an ``OutputLoss`` or ``OutputMetric``.

    ``where`` keys (or indexes) ``y`` and the outputs' shapes; a plain loss or
    metric of one output gives ``((None, fn),)``: it reads all of ``y``.
    """
    if isinstance(fn, OutputLoss):
        return tuple((where, loss) for where, loss, _ in fn.parts)
    if isinstance(fn, OutputMetric):
        return ((fn.where, fn.fn),)
    return ((None, fn),)


def output_places(model) -> dict | None:
    """``{output name: key or index into the outputs}`` of a model whose outputs are a list or dict, else None."""
    graph = getattr(model, "graph", None)
    if graph is None or not isinstance(graph.outputs, (list, tuple, dict)):
        return None
    names = models.output_names(model)
    assert names is not None  # a functional model's
    if isinstance(graph.outputs, dict):
        return {name: name for name in names}
    return {name: index for index, name in enumerate(names)}


def arrange(model, y):
    """Targets ``y`` in the structure of the model's outputs: a dict by output name becomes a list and back."""
    places = output_places(model)
    if places is None or not isinstance(y, (list, tuple, dict)):
        return y
    named = per_output(places, y, "y")
    missing = [name for name in places if name not in named]
    if missing:
        raise ValueError(f"y holds no targets for the outputs {missing}; the model's outputs are {list(places)}")
    if all(isinstance(where, str) for where in places.values()):
        return {name: named[name] for name in places}
    return [named[name] for name in places]


def per_output(places, value, what):
    """``{output name: value}`` from a dict by name, a list in output order, or one value for every output."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(places))
        if unknown:
            raise ValueError(f"{what} names outputs {unknown} the model does not have; its outputs are {list(places)}")
        return value
    if isinstance(value, (list, tuple)) and not isinstance(value, str):
        if len(value) != len(places):
            raise ValueError(
                f"{what} as a list needs one entry per output ({len(places)}: {list(places)}), got {len(value)}"
            )
        return dict(zip(places, value))
    return {name: value for name in places}


def objective_parts(
    model: Any,
    loss: Any,
    loss_weights: Any,
    metrics: Any,
) -> tuple[Callable[..., Any], tuple[tuple[str, Any], ...]]:
    """``(loss, named metrics)`` for ``Objective``: plain for one output, per output for several.

    Each loss and metric takes sample weights (``losses.weighted``) and is
    named by ``metrics.metric_name``. With several outputs, ``loss`` is a dict
    or list per output (or one loss for all), ``loss_weights`` likewise
    (default 1), and ``metrics`` a dict or list per output of metric lists.
    """
    places = output_places(model)
    if places is None:
        if isinstance(loss, (dict, list, tuple)) or loss_weights is not None:
            raise ValueError(
                "a loss per output and loss_weights need a model with several outputs; "
                f"this model has one, got loss={loss!r}, loss_weights={loss_weights!r}"
            )
        if isinstance(metrics, dict):
            raise ValueError("metrics per output need a model with several outputs; pass a list of metrics")
        metrics = as_tuple(metrics, "metrics")
        return (
            losses.weighted(losses.get(loss), losses.sum_over_batch_size),
            tuple((metrics_lib.metric_name(m), losses.weighted(metrics_lib.get(m))) for m in metrics),
        )
    given = per_output(places, loss, "loss")
    missing = [name for name in places if name not in given]
    if missing:
        raise ValueError(f"loss names no loss for the outputs {missing}; give one per output {list(places)}")
    factors = per_output(places, 1.0 if loss_weights is None else loss_weights, "loss_weights")
    parts, named = [], []
    for name, where in places.items():
        fn = losses.weighted(losses.get(given[name]), losses.sum_over_batch_size)
        parts.append((where, fn, float(factors.get(name, 1.0))))
        named.append((f"{name}_loss", OutputMetric(where, fn, is_loss=True)))
    if isinstance(metrics, dict) or (
        isinstance(metrics, (list, tuple)) and metrics and all(isinstance(m, (list, tuple)) for m in metrics)
    ):
        by_output = per_output(places, metrics, "metrics")
    else:
        by_output = {name: metrics for name in places}  # the same metrics for every output, as Keras
    for name, where in places.items():
        chosen = by_output.get(name, ())
        for metric in [chosen] if isinstance(chosen, str) else chosen:
            named.append(
                (
                    f"{name}_{metrics_lib.metric_name(metric)}",
                    OutputMetric(where, losses.weighted(metrics_lib.get(metric))),
                )
            )
    return OutputLoss(tuple(parts)), tuple(named)
