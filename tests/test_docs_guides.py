"""The guides in docs/guides/ are tests: every page's python blocks run top to bottom.

Each page runs as one program (mktestdocs, ``memory=True``: the blocks in order, one
namespace), so what a page shows is what fnnet does, and the page's asserts check
what its text claims. The pages run in a temporary working directory, so nothing
they write lands in the repository. A second test checks each page's structure:
at least one python block and one figure from ``docs/images/`` that exists.
"""

import pathlib
import re
import time

import pytest
from mktestdocs import check_md_file

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
GUIDES = sorted((DOCS / "guides").glob("*.md"))
# The guides written with the first docs site; every page found is checked, these must be there.
REQUIRED = [
    "01-perceptron-to-mlp.md",
    "02-keras-workflow.md",
    "03-learning-rate-batch-size-optimizers.md",
    "04-overfitting.md",
    "05-functional-models.md",
    "06-saving-and-resuming.md",
]
PYTHON_BLOCK = re.compile(r"^```python\s*$", re.MULTILINE)
IMAGE = re.compile(r"!\[[^\]]*\]\((\.\./images/[^)\s]+)\)")


@pytest.mark.parametrize("path", GUIDES, ids=[path.name for path in GUIDES])
def test_guide_runs(path: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    start, cpu = time.perf_counter(), time.process_time()
    check_md_file(path, memory=True)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s wall, {time.process_time() - cpu:.1f} s CPU")


def test_guides_have_code_and_figures() -> None:
    names = [path.name for path in GUIDES]
    assert set(REQUIRED) <= set(names), f"missing guides: {sorted(set(REQUIRED) - set(names))}"
    for path in GUIDES:
        text = path.read_text()
        assert PYTHON_BLOCK.search(text), f"{path.name} has no ```python block"
        images = IMAGE.findall(text)
        assert images, f"{path.name} shows no figure from ../images/"
        for image in images:
            assert (path.parent / image).is_file(), f"{path.name}: {image} does not exist"
