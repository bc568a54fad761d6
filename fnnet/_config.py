"""Configs as values: JSON-ready dicts of constructor arguments, their canonical text, equality by it.

A config is ``{"class_name": ..., "config": {argument: value}}`` whose
values are JSON (numbers, strings, booleans, None, lists, dicts). Its
canonical text is ``json.dumps(config, sort_keys=True)``; objects that have
one compare and hash by it, so jit caches keyed by them are keyed by value.
An argument that cannot be written (a bare Python callable, a traced
hyperparameter) has no canonical text: the object then compares by identity.
"""

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any, TypeGuard

import jax
import jax.core
import numpy as np


def to_json(value: Any, argument: str) -> Any:
    """``value`` as JSON data, or a TypeError naming ``argument`` when it cannot be written.

    NumPy and concrete 0-d JAX scalars become Python numbers, tuples lists;
    an object with ``get_config()`` becomes its config.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, jax.core.Tracer):
        raise TypeError(f"argument {argument!r} is a traced value, which has no config")
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        if np.ndim(value) != 0:
            raise TypeError(f"argument {argument!r} is an array of shape {np.shape(value)}, which has no config")
        value = value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise TypeError(f"argument {argument!r} is {value}, which JSON cannot hold")
        return value
    if hasattr(value, "get_config"):
        try:
            return value.get_config()
        except TypeError as error:
            raise TypeError(f"argument {argument!r}: {error}") from None
    if isinstance(value, (tuple, list)):
        return [to_json(item, f"{argument}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): to_json(v, f"{argument}.{k}") for k, v in value.items()}
    if callable(value):
        raise TypeError(
            f"argument {argument!r} holds a bare callable {value!r}; a config needs a registry name "
            f"(an fnnet activation or initializer name) or an object with get_config()"
        )
    raise TypeError(f"argument {argument!r} holds {type(value).__name__} {value!r}, which has no config")


def make_config(class_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``{"class_name": class_name, "config": arguments as JSON}``; TypeError naming a bad argument."""
    return {"class_name": class_name, "config": {k: to_json(v, k) for k, v in arguments.items()}}


def canonical(class_name: str, arguments: Mapping[str, Any]) -> str | None:
    """The canonical JSON text of the config, or None when an argument cannot be written."""
    try:
        return json.dumps(make_config(class_name, arguments), sort_keys=True)
    except TypeError:
        return None


def is_config(value: object) -> TypeGuard[dict[str, Any]]:
    """Whether ``value`` looks like ``{"class_name": str, "config": dict}``."""
    return (
        isinstance(value, dict)
        and set(value) == {"class_name", "config"}
        and isinstance(value["class_name"], str)
        and isinstance(value["config"], dict)
    )
