"""The one-way house (issue 19, DESIGN.md's Layout): fnnet's imports point down the layers, with no cycle.

- ``lint-imports`` (import-linter, configured in ``pyproject.toml``) keeps
  the layered contract and forbids cycles among the modules of a package;
- the import graph of every fnnet module (grimp, which import-linter
  builds on) has no cycle at all, across packages too;
- no fnnet import hides inside a function or under ``if TYPE_CHECKING:`` (a cycle in disguise);
- the old module paths still import, with a DeprecationWarning naming the new one.

Imports under ``if TYPE_CHECKING:`` count too: what an annotation needs from
above is a protocol below (``training.hooks.Training``, ``layers.symbolic.Recordable``).
"""

import ast
import os
import pathlib
import subprocess
import sys
import warnings

import grimp
import pytest

import fnnet

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = pathlib.Path(fnnet.__file__).resolve().parent
LINT_IMPORTS = pathlib.Path(sys.executable).with_name("lint-imports")


def _environment():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")])}


def test_the_layered_import_contract_is_kept():
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest cycle through each import ``a -> b`` that is part of a cycle (``b`` reaches ``a`` back)."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            chain = graph.find_shortest_chain(importer=imported, imported=importer)
            if chain is not None:
                found.append((importer, *chain))
    return found


def test_the_module_import_graph_has_no_cycle():
    graph = grimp.build_graph("fnnet")
    assert len(graph.modules) > 50  # every module of the package is in it
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert cycles(graph) == [("p.a", "p.b", "p.a"), ("p.b", "p.a", "p.b")]


def _fnnet_import(node: ast.AST) -> bool:
    """Whether ``node`` imports from fnnet (a relative import included)."""
    if isinstance(node, ast.Import):
        return any(alias.name == "fnnet" or alias.name.startswith("fnnet.") for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return node.level > 0 or module == "fnnet" or module.startswith("fnnet.")
    return False


def local_fnnet_imports(source: str, path: str) -> list[str]:
    """``path:line: import`` for every fnnet import not at the top of the module.

    Inside a function, or under ``if TYPE_CHECKING:``: both hide a cycle. A
    module-level ``try`` (an optional extra, as the Playground's server) is the top.
    """
    tree = ast.parse(source)
    top = {
        id(node)
        for statement in tree.body
        for node in [statement, *(statement.body if isinstance(statement, ast.Try) else [])]
    }
    return [
        f"{path}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if _fnnet_import(node) and id(node) not in top
    ]


def test_no_fnnet_import_hides_below_the_top_of_a_module():
    found = [
        line
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in local_fnnet_imports(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    ]
    assert found == []


def test_the_local_import_check_finds_what_it_should():
    source = (
        "import fnnet\n"
        "try:\n    import fnnet.playground.server\nexcept ImportError:\n    pass\n"
        "def f():\n    from fnnet import saving\n    import numpy\n"
        "def g():\n    import fnnet.layers as layers\n    from . import sibling\n"
        "if TYPE_CHECKING:\n    from fnnet.training import Trainer\n"
    )
    assert sorted(local_fnnet_imports(source, "x.py")) == [
        "x.py:10: import fnnet.layers as layers",
        "x.py:11: from . import sibling",
        "x.py:13: from fnnet.training import Trainer",
        "x.py:7: from fnnet import saving",
    ]


@pytest.mark.parametrize(
    "old, new",
    [("fnnet.functional", "fnnet.models"), ("fnnet.training.state", "fnnet.state"), ("fnnet.train", "fnnet.training")],
)
def test_moved_modules_still_import_with_a_deprecation_warning(old, new):
    code = (
        f"import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
        f"try:\n    import {old}\nexcept DeprecationWarning as warning:\n    print(warning)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=_environment(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert f"{old} moved" in result.stdout and new in result.stdout


def test_fnnet_layers_sequential_is_fn_sequential_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"fnnet.layers.Sequential moved to fn.Sequential"):
        moved = fnnet.layers.Sequential
    assert moved is fnnet.Sequential
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
            fnnet.layers.Nope  # noqa: B018


def test_the_old_paths_still_give_the_same_objects():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import fnnet.functional
        import fnnet.train
        import fnnet.training.state
    assert fnnet.train.Trainer is fnnet.Trainer and fnnet.train.init_state is fnnet.state.init_state
    assert fnnet.functional.Model is fnnet.Model and fnnet.functional.Input is fnnet.Input
    assert fnnet.training.state.TrainState is fnnet.TrainState is fnnet.state.TrainState
