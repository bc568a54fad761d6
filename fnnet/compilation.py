"""Compile once per machine: JAX's persistent compilation cache with fnnet's defaults.

``enable_compilation_cache()`` stores every compiled program (fnnet's epochs,
steps, evaluations, and any other ``jit``) in a folder, so that a new process
running the same model and shapes loads them instead of compiling again. Its
folder: the ``path`` given, else ``$FNNET_COMPILATION_CACHE``, else
``fnnet/jax-compilation`` under the user's cache directory
(``$XDG_CACHE_HOME``, default ``~/.cache``); ``FNNET_COMPILATION_CACHE=0``
turns it off. fnnet's programs carry nothing run-specific (keys, seeds and
the progress token are arguments), so they hit the cache from a new process.
Every program is kept, however fast it compiled: fnnet's small programs
compile in under JAX's default threshold of a second.
"""

import os
import pathlib

import jax
from jax.experimental.compilation_cache import compilation_cache

from fnnet._checks import path_like

__all__ = ["default_cache_dir", "enable_compilation_cache"]

ENVIRONMENT = "FNNET_COMPILATION_CACHE"


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/fnnet/jax-compilation`` (``~/.cache/fnnet/jax-compilation`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(pathlib.Path.home(), ".cache")
    return os.path.join(base, "fnnet", "jax-compilation")


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> str | None:
    """Turn on JAX's persistent compilation cache in ``path``; returns the folder, or None when turned off.

    Without ``path``: ``$FNNET_COMPILATION_CACHE`` (``"0"`` turns the cache off
    and returns None), else ``default_cache_dir()``. The folder is created if
    missing. Call it once, before training; calling it again with another
    folder moves the cache there.

    Examples:
        >>> import tempfile, fnnet as fn
        >>> folder = fn.enable_compilation_cache(tempfile.mkdtemp())  # doctest: +SKIP
    """
    if path is None:
        chosen = os.environ.get(ENVIRONMENT, "")
        if chosen.strip() == "0":
            return None
        path = chosen or default_cache_dir()
    folder = os.path.abspath(path_like("path", path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"path must be a folder for the compilation cache, got the file {folder!r}")
    os.makedirs(folder, exist_ok=True)
    if jax.config.values["jax_compilation_cache_dir"] not in (None, folder):
        compilation_cache.reset_cache()  # the cache opened its first folder: open the new one
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
