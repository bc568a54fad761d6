"""The experiments: every one runs with --quick and writes a complete JSON and a real figure; the committed
experiments/README.md quotes the committed experiments/results/*.json exactly.

The quick runs share one process (``experiments/run_all.py --quick``, about a minute on 2 cores); each
experiment then gets its own test of what it wrote. The README check reads files only and is fast.
"""

import fnmatch
import importlib.util
import json
import math
import pathlib
import re
import subprocess
import sys

import pytest

import fnnet as fn

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXPERIMENTS_DIR = ROOT / "experiments"
RESULTS = EXPERIMENTS_DIR / "results"
README = EXPERIMENTS_DIR / "README.md"
_spec = importlib.util.spec_from_file_location("experiments_run_all", EXPERIMENTS_DIR / "run_all.py")
_run_all = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_run_all)
EXPERIMENTS = _run_all.EXPERIMENTS  # the list make experiments runs

RECORD_KEYS = {
    "experiment",
    "fnnet_version",
    "jax_version",
    "platform",
    "quick",
    "config",
    "seeds",
    "results",
    "wall_seconds",
    "cpu_seconds",
}
RESULT_KEYS = {  # what each experiment's "results" holds (in --quick runs too)
    "backprop_delta_rule": {"max_abs_diff", "max_abs_diff_per_layer", "rows"},
    "activations": {"facts", "z_every_10th", "curves"},
    "initialization": {
        "deep",
        "zero_init",
        "best_line_test_accuracy",
        "zero_init_float64_units_identical",
        "zero_init_tanh_units_identical",
    },
    "learning_rate": {"initial_loss", "loss", "final_loss", "val_accuracy_final", "divergent", "best_learning_rate"},
    "batch_size": {"initial_loss", "runs", "batch1_over_minibatch_epoch_time", "gradient_noise"},
    "optimizers": {"SGD", "Nesterov 0.9", "Adam"},
    "overfitting": {"none", "L2 0.001", "dropout 0.5", "early stopping on val_loss", "early stopping on val_accuracy"},
    "playground_lessons": {"xor", "spiral"},
    "model_comparison": {"small 64-16-10", "bigger 64-512-512-10"},
    "mnist1d_table": {"runs", "published", "published_source"},
    "tune_digits": {"gridsearchcv", "sweep", "sweep_over_gridsearch_time"},
    "mnist_mlp": {"history", "test", "keras_test_accuracy"},
}
# Where a null (a non-finite number) is written on purpose: a diverged loss, a sweep variant after it stopped.
NULL_ALLOWED = {
    "learning_rate": ["results.loss.*", "results.final_loss.*"],
    "overfitting": [
        "results.early stopping on *.val_accuracy_curves.*",
        "results.early stopping on *.val_crossentropy_curves.*",
    ],
}


def leaves(value, path=""):
    """(dotted path, leaf) for every leaf of a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}.{i}")
    else:
        yield path, value


def check_record(name, record, quick):
    assert RECORD_KEYS <= set(record), sorted(RECORD_KEYS - set(record))
    assert record["experiment"] == name and record["quick"] is quick
    assert record["fnnet_version"] == fn.__version__
    assert RESULT_KEYS[name] <= set(record["results"]), sorted(RESULT_KEYS[name] - set(record["results"]))
    assert record["wall_seconds"] > 0 and record["cpu_seconds"] > 0
    allowed = NULL_ALLOWED.get(name, [])
    for path, leaf in leaves(record):
        if leaf is None:
            assert any(fnmatch.fnmatchcase(path, pattern) for pattern in allowed), f"{path} is null"
        elif isinstance(leaf, float):
            assert math.isfinite(leaf), f"{path} = {leaf}"


def check_figure(path):
    """A PNG of a real figure: at least 600 x 300 pixels, and not blank (over 2% of its pixels not white)."""
    from matplotlib import image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pixels = image.imread(path)
    assert pixels.shape[0] >= 300 and pixels.shape[1] >= 600, pixels.shape
    assert (pixels[..., :3] < 0.95).any(axis=-1).mean() > 0.02, f"{path} is nearly blank"


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """All experiments with --quick in one process (experiments/run_all.py); returns (folder, its output)."""
    out = tmp_path_factory.mktemp("experiments")
    done = subprocess.run(
        [sys.executable, str(EXPERIMENTS_DIR / "run_all.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=out,
        timeout=900,
    )
    return out, done


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_the_quick_run_writes_a_complete_json_and_a_figure(quick_runs, name):
    out, done = quick_runs
    assert f"\n{name} " in done.stdout and f"{name} FAILED" not in re.sub(r" +", " ", done.stdout), (
        done.stdout[-3000:] + done.stderr[-3000:]
    )
    if name == "mnist_mlp" and not (out / "mnist_mlp.json").exists():  # no MNIST files here: says how to get them
        assert "MNIST not found" in done.stdout and "--download" in done.stdout and "--path" in done.stdout
        return
    check_record(name, json.loads((out / f"{name}.json").read_text()), quick=True)
    check_figure(out / f"{name}.png")


@pytest.mark.slow
def test_the_quick_set_succeeds(quick_runs):
    _, done = quick_runs
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^total\s+[\d.]+$", done.stdout, re.M), done.stdout[-3000:]


# --- the committed README against the committed results (fast: files only) ----------------------------------


def results(name):
    return json.loads((RESULTS / f"{name}.json").read_text())


def get(record, path):
    for key in path:
        record = record[key]
    return record


# Per experiment, numbers the README quotes, as (path in the JSON, format): the README must contain each
# formatted exactly so. The rounding: accuracies and losses to 3 decimals, percentages to 1, tiny numbers
# to 2 significant digits (".1e"), seconds to whole seconds.
QUOTED = {
    "backprop_delta_rule": [(("results", "max_abs_diff"), "{:.1e}")],
    "activations": [
        (("results", "facts", "sigmoid", "max_derivative"), "{:.3f}"),
        (("results", "facts", "tanh", "max_derivative"), "{:.3f}"),
    ],
    "initialization": [
        (("results", "deep", "sigmoid + small normal", "delta_ratio_first_last"), "{:.1e}"),
        (("results", "deep", "tanh + glorot_uniform", "delta_ratio_first_last"), "{:.1e}"),
        (("results", "deep", "relu + he_normal", "delta_ratio_first_last"), "{:.1e}"),
        (("results", "zero_init", "sigmoid, zeros, float64", "test_accuracy"), "{:.3f}"),
        (("results", "zero_init", "tanh, zeros, float32", "test_accuracy"), "{:.3f}"),
        (("results", "best_line_test_accuracy"), "{:.3f}"),
    ],
    "learning_rate": [
        (("results", "initial_loss"), "{:.3f}"),
        (("results", "final_loss", -1), "{:.3f}"),
        (("results", "final_loss", 0), "{:.3f}"),
    ],
    "batch_size": [
        (("results", "runs", "SGD, batch 1", "loss", -1), "{:.4f}"),
        (("results", "runs", "full batch", "loss", -1), "{:.3f}"),
        (("results", "batch1_over_minibatch_epoch_time"), "{:.1f}"),
    ],
    "optimizers": [
        (("results", "Adam", "test_accuracy_mean"), "{:.3f}"),
        (("results", "SGD", "test_accuracy_mean"), "{:.3f}"),
        (("results", "Adadelta", "test_accuracy_mean"), "{:.3f}"),
    ],
    "overfitting": [
        (("results", "none", "gap_mean"), "{:.3f}"),
        (("results", "L2 0.001", "gap_mean"), "{:.3f}"),
        (("results", "dropout 0.5", "gap_mean"), "{:.3f}"),
        (("results", "early stopping on val_loss", "gap_mean"), "{:.3f}"),
        (("results", "early stopping on val_accuracy", "gap_mean"), "{:.3f}"),
    ],
    "playground_lessons": [
        (("results", "xor", "linear", "test_accuracy"), "{:.3f}"),
        (("results", "circle", "linear", "test_accuracy"), "{:.3f}"),
        (("results", "spiral", "hidden layers 8-8 tanh", "test_accuracy"), "{:.3f}"),
        (("results", "spiral", "deeper 8-8-8-8 tanh", "test_accuracy"), "{:.3f}"),
    ],
    "model_comparison": [
        (("results", "bigger 64-512-512-10", "best_val_loss"), "{:.3f}"),
        (("results", "small 64-16-10", "best_val_loss"), "{:.3f}"),
    ],
    "mnist1d_table": [
        (("results", "runs", "logistic regression", "test_accuracy_mean"), "{:.1%}"),
        (("results", "runs", "MLP", "test_accuracy_mean"), "{:.1%}"),
    ],
    "tune_digits": [
        (("results", "gridsearchcv", "best_val_accuracy"), "{:.3f}"),
        (("results", "sweep", "best_val_accuracy"), "{:.3f}"),
    ],
}


def readme_sections():
    """The README's sections by the experiment their heading names (``## ... (`name.py`)``)."""
    sections = {}
    for block in README.read_text().split("\n## ")[1:]:
        found = re.search(r"`(\w+)\.py`", block.split("\n", 1)[0])
        if found:
            sections[found.group(1)] = block
    return sections


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n != "mnist_mlp"])
def test_the_readme_quotes_the_committed_results(name):
    record, section = results(name), readme_sections()[name]
    assert record["quick"] is False and record["fnnet_version"] == fn.__version__
    check_record(name, record, quick=False)
    assert f"](results/{name}.png)" in section, f"the {name} section does not embed its figure"
    assert f"{record['cpu_seconds']:.0f} s CPU" in section, f"{name}: CPU seconds {record['cpu_seconds']:.1f}"
    for path, form in QUOTED[name]:
        value = form.format(get(record, path))
        assert value in section, f"{name}: {'/'.join(map(str, path))} = {value} is not quoted in its section"


def test_every_figure_the_readme_embeds_exists_and_every_experiment_has_a_section():
    text = README.read_text()
    embedded = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert embedded
    for link in embedded:
        assert (EXPERIMENTS_DIR / link).is_file(), f"README embeds {link}, which does not exist"
    assert set(readme_sections()) >= set(EXPERIMENTS)
