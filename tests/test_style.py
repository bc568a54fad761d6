"""ruff keeps the code's style (issue 19): its lint rules and its formatter, configured in ``pyproject.toml``.

CI runs ``make test``, so the checks run here: ``ruff check`` (pyflakes,
pycodestyle, bugbear) and ``ruff format --check`` over the package, the
tests, the experiments and the benchmarks. To fix a failure locally:
``ruff format . && ruff check --fix .``.
"""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUFF = pathlib.Path(sys.executable).with_name("ruff")
CODE = ["fnnet", "tests", "experiments", "benchmarks"]


@pytest.mark.parametrize(
    "command", [["check", "--no-cache"], ["format", "--check", "--no-cache"]], ids=["lint", "format"]
)
def test_ruff_finds_nothing(command):
    result = subprocess.run([str(RUFF), *command, *CODE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_reports_what_it_should(tmp_path):
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "bad.py").write_text("import os\nx = {'a':1}\n")
    lint = subprocess.run([str(RUFF), "check", "--no-cache", "bad.py"], cwd=tmp_path, capture_output=True, text=True)
    form = subprocess.run(
        [str(RUFF), "format", "--check", "--no-cache", "bad.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert lint.returncode == 1 and "F401" in lint.stdout
    assert form.returncode == 1 and "bad.py" in form.stdout
