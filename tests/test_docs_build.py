"""The documentation site: it builds strictly, every public name has a page, every page is in the nav.

- ``test_site_builds_strictly`` runs ``mkdocs build --strict`` (mkdocs.yml sets ``strict: true`` and
  MkDocs's link validation, so a broken link, a missing anchor or a docstring griffe cannot read fails).
- ``test_every_public_name_is_documented`` is optax's coverage check: every name in the ``__all__`` of
  every public fnnet module (and, for a top-level module without ``__all__``, every public function and
  class it defines) is the target of a mkdocstrings ``::: fnnet....`` entry in ``docs/api/``, itself,
  as the same object under another path, or as a member of a documented module.
- ``test_every_page_is_in_the_nav`` checks that docs/ and the nav of mkdocs.yml name the same pages.
- ``test_home_page_code_runs`` runs the home page's example (the guides have their own runner,
  tests/test_docs_guides.py).
"""

import importlib
import inspect
import os
import pathlib
import pkgutil
import re
import subprocess
import sys
import types
import typing
import warnings

import pytest
import yaml
from mktestdocs import check_md_file

import fnnet

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
API = DOCS / "api"
# Deprecated import paths: they warn on import and re-export names documented under their new home.
SHIMS = {"fnnet.functional", "fnnet.train", "fnnet.training.state"}
SCALARS = (int, float, complex, str, bytes, bool, type(None))
TARGET = re.compile(r"^:::\s+(\S+)\s*$")


def public_modules() -> list[str]:
    """fnnet and every module below it with no ``_``-prefixed part, less the deprecated shims."""
    names = ["fnnet"]
    for info in pkgutil.walk_packages(fnnet.__path__, "fnnet."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts) or info.name in SHIMS:
            continue
        if any(info.name.startswith(shim + ".") for shim in SHIMS):
            continue
        names.append(info.name)
    return sorted(names)


def public_names(module_name: str) -> list[str]:
    """The module's ``__all__``; without one, for ``fnnet.X``, the public functions and classes it defines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return list(exported)
    if module_name.count(".") > 1:  # an implementation file: its package's __all__ exports its names
        return []
    names = []
    for name, obj in vars(module).items():
        defined_here = (getattr(obj, "__module__", None) or "").startswith(module_name)
        if name.startswith("_") or not defined_here or isinstance(obj, (typing.TypeVar, types.ModuleType)):
            continue
        if inspect.isclass(obj) or callable(obj):
            names.append(name)
    return names


def resolve(path: str) -> object:
    """The object a mkdocstrings target such as ``fnnet.training.Trainer.fit`` names."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(path)


def targets(text: str) -> list[tuple[str, dict]]:
    """The ``::: path`` entries of a page with their (indented YAML) options."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        match = TARGET.match(line)
        if not match:
            continue
        block = []
        for following in lines[i + 1 :]:
            if following.strip() and not following.startswith("    "):
                break
            block.append(following[4:])
        options = yaml.safe_load("\n".join(block)) or {}
        found.append((match.group(1), options.get("options", {}) or {}))
    return found


def missing_names(pages: dict[str, str]) -> list[str]:
    """Every public ``module.name`` that no ``:::`` target of the given pages documents."""
    paths: set[str] = set()
    ids: set[int] = set()
    for text in pages.values():
        for path, options in targets(text):
            obj = resolve(path)
            paths.add(path)
            ids.add(id(obj))
            if isinstance(obj, types.ModuleType):
                members = options.get("members", True)
                listed = public_names(path) if members is True else (members or [])
                for name in listed:
                    paths.add(f"{path}.{name}")
                    ids.add(id(getattr(obj, name)))
    missing = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            obj = getattr(module, name)
            same_object = not isinstance(obj, SCALARS) and id(obj) in ids
            if f"{module_name}.{name}" not in paths and not same_object:
                missing.append(f"{module_name}.{name}")
    return missing


def api_pages() -> dict[str, str]:
    return {str(page.relative_to(DOCS)): page.read_text() for page in sorted(API.glob("*.md"))}


def nav_pages(nav: list) -> list[str]:
    """The files the nav of mkdocs.yml names, in order."""
    pages = []
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            pages.extend(nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_public_name_is_documented() -> None:
    missing = missing_names(api_pages())
    assert not missing, f"public names in no docs/api page (add a '::: <name>' entry): {missing}"


def test_coverage_check_catches_a_missing_name() -> None:
    pages = api_pages()
    entry = "::: fnnet.keys.optional_key\n"
    assert any(entry in text for text in pages.values())
    without = {page: text.replace(entry, "") for page, text in pages.items()}
    assert missing_names(without) == ["fnnet.keys.optional_key"]
    synthetic = missing_names({"api/keys.md": "::: fnnet.keys\n    options:\n      members: [as_key]\n"})
    assert "fnnet.keys.optional_key" in synthetic and "fnnet.keys.as_key" not in synthetic
    assert "fnnet.Trainer" in synthetic  # a re-export counts as missing until its object has a page


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    in_nav = nav_pages(config["nav"])
    on_disk = sorted(str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md"))
    assert len(in_nav) == len(set(in_nav)), "a page is in the nav twice"
    assert sorted(in_nav) == on_disk, (
        f"in the nav, not in docs/: {sorted(set(in_nav) - set(on_disk))}; "
        f"in docs/, not in the nav: {sorted(set(on_disk) - set(in_nav))}"
    )


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: pathlib.Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # mkdocs-material's notice about its successor
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "WARNING" not in log, log
    built = list((tmp_path / "site").rglob("index.html"))
    assert len(built) > len(list(API.glob("*.md"))), log


@pytest.mark.slow
def test_home_page_code_runs() -> None:
    check_md_file(DOCS / "index.md", memory=True)
