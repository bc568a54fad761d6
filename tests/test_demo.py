"""The README's main demo trains the digit classifier to at least 97% test accuracy."""

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

# The demo trains the digit classifier in a subprocess (about 30 s).
pytestmark = pytest.mark.slow

DEMO = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "demo.py"


def test_demo_reaches_97_percent_and_writes_its_curves(tmp_path):
    done = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", done.stdout).group(1))
    assert accuracy >= 0.97, done.stdout
    assert re.search(r"Epoch 1/100 - .* - loss: .* - val_loss: ", done.stdout)
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "out" / "demo_curves.png").stat().st_size > 10_000


def run_demo(tmp_path, policy):
    done = subprocess.run([sys.executable, str(DEMO), "--dtype-policy", policy], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"({policy})" in done.stdout
    return float(re.search(r"test accuracy (\d\.\d+)", done.stdout).group(1))


def test_the_demo_trains_in_float64_and_in_mixed_bfloat16_within_a_point_of_float32(tmp_path):
    float32 = run_demo(tmp_path, "float32")
    assert run_demo(tmp_path, "float64") >= 0.97
    assert abs(run_demo(tmp_path, "mixed_bfloat16") - float32) <= 0.01
