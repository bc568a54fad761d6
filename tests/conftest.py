import fnmatch
import importlib.util
import os

# Implicit rank promotion ((N,) * (N, 1) -> (N, N)) is a classic silent bug; make
# it an error in every test, doctest and test subprocess (the demo, the 8-device
# run), which inherit the environment variable. Set before fnnet is imported.
os.environ["JAX_NUMPY_RANK_PROMOTION"] = "raise"
# The demo, the experiments and the Playground turn on the persistent compilation cache; in the tests (and
# their subprocesses) it stays off, so that no test reads programs another run left or fills the user's cache.
# tests/test_compilation_cache.py turns it on explicitly.
os.environ["FNNET_COMPILATION_CACHE"] = "0"

import jax  # noqa: E402
from hypothesis import settings  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")

# Gradient property tests compile a fresh function per drawn shape; keep the
# example count modest so the suite stays within minutes on 2 cores. CI runs
# derandomized so a red build is always reproducible.
settings.register_profile("default", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

# fnnet modules that import an optional dependency at import time: without it,
# `--doctest-modules` could not import them, so they are left out of collection
# (their tests skip themselves with pytest.importorskip).
OPTIONAL_IMPORTS = {"fnnet/sklearn.py": "sklearn"}


def pytest_addoption(parser):
    parser.addoption(
        "--dtype-policy",
        default=None,
        choices=["float32", "mixed_bfloat16", "float64"],
        help="run the tests with fn.compile's dtype_policy defaulting to this one "
        "(float64 turns on jax_enable_x64); tests/test_precision.py runs test_train.py so",
    )


def pytest_configure(config):
    policy = config.getoption("dtype_policy")
    if policy is not None:
        import fnnet as fn

        if policy == "float64":
            jax.config.update("jax_enable_x64", True)
        compile_with_policy = fn.compile

        def compile(*args, dtype_policy=policy, **kwargs):  # noqa: A001
            return compile_with_policy(*args, dtype_policy=dtype_policy, **kwargs)

        fn.compile = compile
    missing = [path for path, module in OPTIONAL_IMPORTS.items() if importlib.util.find_spec(module) is None]
    if missing:
        ignore = list(config.getoption("ignore") or [])
        config.option.ignore = ignore + [str(config.rootpath / path) for path in missing]


def pytest_ignore_collect(collection_path, config):
    """Under `--doctest-modules` pytest would import every .py file here; helper scripts
    that are not test modules (subprocess workers that run on import) are left alone."""
    if collection_path.suffix == ".py" and collection_path.name != "conftest.py":
        patterns = config.getini("python_files")
        if not any(fnmatch.fnmatch(collection_path.name, pattern) for pattern in patterns):
            return True
    return None
