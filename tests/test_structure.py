"""The layout rules of DESIGN.md, checked on the source: short modules, no reaching into
another module's private names, and the README's two entry points exist in the Makefile."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fnnet"
MAX_LINES = 420

# Attributes that start with an underscore but are public API: namedtuple's methods.
NAMEDTUPLE_API = {"_replace", "_fields", "_asdict", "_make", "_field_defaults"}
OWN_OBJECT = {"self", "cls"}


def _sources():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _relative(path):
    return path.relative_to(ROOT).as_posix()


def _is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root_name(node):
    """The Name at the root of a dotted chain `a.b.c`, or None if the chain has calls, subscripts, ..."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _imported_package_dir(path, node):
    """The folder of the package that `from <module> import ...` names, if it is inside fnnet."""
    if node.level:
        folder = path.parent
        for _ in range(node.level - 1):
            folder = folder.parent
        parts = node.module.split(".") if node.module else []
    elif node.module and (node.module == "fnnet" or node.module.startswith("fnnet.")):
        folder = ROOT
        parts = node.module.split(".")
    else:
        return None
    return folder.joinpath(*parts)


def _is_submodule(folder, name):
    """`from fnnet import _checks` imports a package-internal helper module, which is fine."""
    return folder is not None and ((folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file())


def private_name_offences(path, source=None):
    """`path:line: expr` for each import or attribute access of another module's `_private` name."""
    if source is None:
        source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    offences = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            folder = _imported_package_dir(path, node)
            for alias in node.names:
                if _is_private(alias.name) and not _is_submodule(folder, alias.name):
                    module = "." * node.level + (node.module or "")
                    offences.append((node.lineno, f"from {module} import {alias.name}"))
        elif isinstance(node, ast.Attribute) and _is_private(node.attr) and node.attr not in NAMEDTUPLE_API:
            root = _root_name(node.value)
            # `self._x` / `cls._x` is the object's own state; `module._x`, `other._x` reach in.
            if root is not None and not (isinstance(node.value, ast.Name) and root in OWN_OBJECT):
                offences.append((node.lineno, ast.unparse(node)))
    return [f"{_relative(path)}:{line}: {expr}" for line, expr in sorted(set(offences))]


def test_no_module_is_longer_than_420_lines():
    too_long = []
    for path in _sources():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long.append(f"{_relative(path)}: {lines} lines")
    assert not too_long, f"modules over {MAX_LINES} lines (split them by concept):\n" + "\n".join(too_long)


def test_no_module_uses_another_modules_private_names():
    offences = [offence for path in _sources() for offence in private_name_offences(path)]
    assert not offences, (
        f"{len(offences)} uses of another module's _private names (give what two modules share a public home):\n"
        + "\n".join(offences)
    )


def test_the_private_name_check_finds_what_it_should():
    path = PACKAGE / "example_for_the_check.py"  # only its name is used: the source is given
    source = (
        "from fnnet.losses import _as_float_pair, mse\n"
        "from fnnet import _checks, _registry\n"
        "from fnnet._checks import hyperparameter\n"
        "from . import _not_a_module\n"
        "import fnnet\n"
        "value = losses._as_float_pair(1)\n"
        "trainer._objective = None\n"
        "fnnet.train._objective(1)\n"
        "self._fine, cls._fine, state._replace(step=1), point._fields, _checks.hyperparameter\n"
        "x.__class__, x.__name__\n"
    )
    assert private_name_offences(path, source) == [
        "fnnet/example_for_the_check.py:1: from fnnet.losses import _as_float_pair",
        "fnnet/example_for_the_check.py:4: from . import _not_a_module",
        "fnnet/example_for_the_check.py:6: losses._as_float_pair",
        "fnnet/example_for_the_check.py:7: trainer._objective",
        "fnnet/example_for_the_check.py:8: fnnet.train._objective",
    ]


def _fenced_commands(markdown):
    """Command lines inside the README's fenced code blocks, in order, comments stripped."""
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.S | re.M):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command:
                commands.append(command)
    return commands


def _makefile_targets():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.M))


def test_readme_opens_with_make_demo_and_make_test_and_the_makefile_has_them():
    commands = _fenced_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert commands[:2] == ["make demo", "make test"], commands[:2]
    targets = _makefile_targets()
    missing = [command for command in commands[:2] if command.split()[1] not in targets]
    assert not missing, f"README commands without a Makefile target: {missing}; targets: {sorted(targets)}"
