"""One version source: ``pyproject.toml``'s ``version``; ``fn.__version__`` reads the installed metadata."""

import importlib.metadata
import pathlib
import re
import tomllib

import fnnet as fn

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_version_comes_from_the_installed_metadata_which_is_pyprojects() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert fn.__version__ == importlib.metadata.version("fnnet") == declared


def test_no_module_writes_the_version_by_hand() -> None:
    literal = re.compile(r"""(__version__|\bversion)\s*=\s*["']\d+\.\d+""")
    written = [
        str(path.relative_to(ROOT)) for path in (ROOT / "fnnet").rglob("*.py") if literal.search(path.read_text())
    ]
    assert written == [], f"the version is defined once, in pyproject.toml; also found in {written}"


def test_the_changelog_keeps_a_changelogs_form() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n") and "keepachangelog.com/en/1.1.0" in text and "semver.org" in text
    releases = re.findall(r"^## (.*)$", text, re.M)
    assert releases[0] == "[Unreleased]" and all(re.fullmatch(r"\[[^]]+\]( - \d{4}-\d{2}-\d{2})?", r) for r in releases)
    kinds = set(re.findall(r"^### (.*)$", text, re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, kinds
