"""The guides in docs/guides/ are tests: every page's python blocks run top to bottom.

Each page runs as one program (mktestdocs, ``memory=True``: the blocks in order, one
namespace) with JAX's default settings (the rest of the suite raises on implicit rank
promotion; a reader's script does not), so what a page shows is what fnnet does, and the page's asserts check
what its text claims. The pages run in a temporary working directory, so nothing
they write lands in the repository. A second test checks each page's structure:
at least one python block and one figure from ``docs/images/`` that exists.
"""

import pathlib
import re
import time

import jax
import pytest
from mktestdocs import check_md_file

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
GUIDES = sorted((DOCS / "guides").glob("*.md"))
# The guides of the lessons (issue 21); every page found is checked, these must be there.
REQUIRED = [
    "01-perceptron-to-mlp.md",
    "02-keras-workflow.md",
    "03-learning-rate-batch-size-optimizers.md",
    "04-overfitting.md",
    "05-functional-models.md",
    "06-saving-and-resuming.md",
    "07-sweeps-and-ensembles.md",
    "08-precision-and-devices.md",
    "09-property-tests.md",
    "10-your-own-layer.md",
    "11-playground-and-experiments.md",
]
# Pages that train for more than a few seconds run with the full suite only (make test), not -m "not slow".
SLOW = {
    "01-perceptron-to-mlp.md",
    "02-keras-workflow.md",
    "03-learning-rate-batch-size-optimizers.md",
    "04-overfitting.md",
    "05-functional-models.md",
    "06-saving-and-resuming.md",
    "07-sweeps-and-ensembles.md",
    "08-precision-and-devices.md",
    "09-property-tests.md",
}
PYTHON_BLOCK = re.compile(r"^```python\s*$", re.MULTILINE)
IMAGE = re.compile(r"!\[[^\]]*\]\((\.\./images/[^)\s]+)\)")


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, marks=pytest.mark.slow) if path.name in SLOW else path for path in GUIDES],
    ids=[path.name for path in GUIDES],
)
def test_guide_runs(path: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    start, cpu = time.perf_counter(), time.process_time()
    with jax.numpy_rank_promotion("allow"):  # JAX's default, as in a user's script (the suite raises on it)
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


@pytest.mark.slow
def test_the_readme_example_runs_and_scores_as_the_demo(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README.md's one example is the demo's code: it shuffles before validation_split and scores above 97%."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    readme = (DOCS.parent / "README.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "the README has one example"
    assert "permutation" in blocks[0] and "validation_split" in blocks[0]
    exec(
        compile(blocks[0].replace("key=jax.random.key(1),", "key=jax.random.key(1), verbose=0,"), "README.md", "exec"),
        namespace,
    )
    assert namespace["accuracy"] > 0.97
    assert (tmp_path / "digits.safetensors").is_file()
