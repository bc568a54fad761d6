"""Keras-style lookup of a concept by its string name, shared by every ``get``."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fnnet._checks import function


def lookup(
    kind: str, table: Mapping[str, Any], name_or_value: object, factories: Sequence[Callable[..., Any]] = ()
) -> Any:
    """Return ``table[name]`` for a string, or a callable unchanged.

    Raises ``ValueError`` listing the valid names for an unknown string and
    ``TypeError`` for anything that is neither a string nor callable, or is
    one of ``factories`` passed uncalled (``Huber`` where ``Huber(2.0)`` goes).
    """
    if callable(name_or_value):
        return function(kind, name_or_value, factories=factories)
    if not isinstance(name_or_value, str):
        raise TypeError(f"{kind} must be a name or a callable, got {type(name_or_value).__name__}: {name_or_value!r}")
    try:
        return table[name_or_value]
    except KeyError:
        raise ValueError(f"unknown {kind} {name_or_value!r}; valid names: {', '.join(sorted(table))}") from None
