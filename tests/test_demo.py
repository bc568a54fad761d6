"""The README's main demo: the digit classifier reaches 97% test accuracy, under every dtype policy, and
the model it saves loads in a fresh process that never imports the demo, predicting the same."""

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

# The demo trains the digit classifier in a subprocess (about 20 s); the float32 run is shared by the tests.
pytestmark = pytest.mark.slow

DEMO = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "demo.py"


def run_demo(folder, policy="float32"):
    """The demo's stdout, run in ``folder`` (it writes ``folder/out``); its test accuracy must be printed."""
    done = subprocess.run(
        [sys.executable, str(DEMO), "--dtype-policy", policy], capture_output=True, text=True, cwd=folder, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"({policy})" in done.stdout
    return done.stdout


def accuracy(stdout):
    return float(re.search(r"test accuracy (\d\.\d+)", stdout).group(1))


@pytest.fixture(scope="module")
def float32_demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    return folder, run_demo(folder)


def test_demo_reaches_97_percent_and_writes_its_curves(float32_demo):
    folder, stdout = float32_demo
    assert accuracy(stdout) >= 0.97, stdout
    assert re.search(r"Epoch 1/100 - .* - loss: .* - val_loss: ", stdout)
    if importlib.util.find_spec("matplotlib"):
        assert (folder / "out" / "demo_curves.png").stat().st_size > 10_000


def test_the_demo_trains_in_float64_and_in_mixed_bfloat16_within_a_point_of_float32(float32_demo, tmp_path):
    assert accuracy(run_demo(tmp_path, "float64")) >= 0.97
    assert abs(accuracy(run_demo(tmp_path, "mixed_bfloat16")) - accuracy(float32_demo[1])) <= 0.01


FRESH = """
import jax, numpy as np, fnnet as fn
(x_train, y_train), (x_test, y_test) = fn.datasets.digits.load_data()
order = jax.random.permutation(jax.random.key(42), len(x_train))  # as the demo: the same statistics, bit for bit
x_train, x_test, scaler = fn.data.standardize(x_train[order], x_test)
model, params = fn.load_model("out/digits.safetensors")
predictions = fn.compile(model, "categorical_crossentropy", "adam").predict(params, x_test)
np.testing.assert_array_equal(predictions, np.load("out/digits_test_predictions.npy"))
print("same predictions", predictions.shape)
"""


def test_the_demos_model_loads_in_a_fresh_process_with_the_same_predictions(float32_demo):
    folder, stdout = float32_demo
    assert "fn.load_model('out/digits.safetensors')" in stdout
    fresh = subprocess.run([sys.executable, "-c", FRESH], cwd=folder, capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "same predictions (" in fresh.stdout
