"""Small things a newcomer meets first: ``summary()`` of a loaded model, ``demo.py --out``, the Playground's
command line (Ctrl+C stops it without a traceback, ``--open`` says when no browser opened)."""

import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import urllib.request

import jax
import pytest

import fnnet as fn
from fnnet import layers
from fnnet.playground import __main__ as playground_cli

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_summary_of_a_loaded_sequential_uses_the_input_shape_stored_in_its_file(tmp_path: pathlib.Path) -> None:
    model = fn.Sequential([layers.Dense(32, activation="relu"), layers.BatchNormalization(), layers.Dense(10)])
    params = model.init(jax.random.key(0), (64,))
    fn.save_model(tmp_path / "m.safetensors", model, params)
    loaded, loaded_params = fn.load_model(tmp_path / "m.safetensors")

    table = loaded.summary(print_fn=lambda text: None)
    assert table == model.summary((64,), print_fn=lambda text: None)
    assert "(None, 32)" in table and "(None, 10)" in table
    assert "Total params: 2,538" in table and "Non-trainable params: 64" in table  # 64*32+32 + 4*32 + 32*10+10
    assert loaded.build_input_shape == (64,) and model.build_input_shape is None
    assert loaded == model and hash(loaded) == hash(model)  # the stored shape is no part of equality: programs shared
    assert "Total params: 714" in loaded.summary((7,), print_fn=lambda text: None)  # an explicit shape still wins


def test_open_says_when_no_browser_could_be_opened(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(playground_cli.webbrowser, "open", lambda url: False)
    assert playground_cli.open_in_browser("http://127.0.0.1:8123/") is False
    assert "No web browser could be opened: open http://127.0.0.1:8123/ by hand." in capsys.readouterr().out
    monkeypatch.setattr(playground_cli.webbrowser, "open", lambda url: True)
    assert playground_cli.open_in_browser("http://127.0.0.1:8123/") is True
    assert capsys.readouterr().out == ""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_stops_the_playground_without_a_traceback_and_says_so() -> None:
    pytest.importorskip("uvicorn")
    env = {**os.environ, "FNNET_COMPILATION_CACHE": "0"}
    command = [sys.executable, "-m", "fnnet.playground", "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(server.stdout.readline() if server.stdout else ""), daemon=True).start()
    try:
        first = lines.get(timeout=120)
        url = first.split("Playground: ")[1].split()[0]
        assert urllib.request.urlopen(url, timeout=30).status == 200  # it answers before it is stopped
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
    assert "Traceback" not in err, err
    assert "Playground stopped (Ctrl+C)." in out, (first, out, err)


@pytest.mark.slow
def test_the_demo_writes_only_into_its_out_folder(tmp_path: pathlib.Path) -> None:
    here, out = tmp_path / "cwd", tmp_path / "results" / "digits"
    here.mkdir()
    env = {**os.environ, "FNNET_COMPILATION_CACHE": "0", "MPLCONFIGDIR": str(tmp_path / "mpl")}
    command = [sys.executable, str(ROOT / "experiments" / "demo.py"), "--epochs", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=here, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(here.iterdir()) == []
    expected = {"digits.safetensors", "digits_test_predictions.npy"}
    assert expected <= {path.name for path in out.iterdir()} <= expected | {"demo_curves.png"}
    assert f"fn.load_model({str(out / 'digits.safetensors')!r})" in done.stdout
    model, params = fn.load_model(out / "digits.safetensors")
    assert "Total params: 301,066" in model.summary(print_fn=lambda text: None)  # 64*512+512 + 512*512+512 + 5130
