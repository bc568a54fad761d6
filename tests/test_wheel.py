"""The wheel as a user gets it: built from a copy of the sources, installed into a fresh virtual
environment that cannot see this checkout, and used from there (the embedded digits, the
Playground's page files, the README's Keras example for two epochs).

The fresh environment takes fnnet's dependencies (jax, optax, ...) from the running one through a
``.pth`` line, so nothing is downloaded; a directory named by a ``.pth`` line is only put on
``sys.path`` (its own ``.pth`` files, such as the editable install's finder, are not run), and the
check runs with ``python -I`` from a temporary folder, so ``import fnnet`` can only find the wheel.
"""

import pathlib
import shutil
import subprocess
import sys
import sysconfig
import venv

import pytest

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[1]

CHECK = """
import importlib.metadata, importlib.resources, pathlib, sys
import jax, optax
import fnnet as fn
from fnnet import callbacks, layers, regularizers

fresh = pathlib.Path(sys.argv[1]).resolve()
assert pathlib.Path(fn.__file__).resolve().is_relative_to(fresh), fn.__file__
assert fn.__version__ == importlib.metadata.version("fnnet"), fn.__version__
assert (importlib.resources.files("fnnet") / "py.typed").is_file()

(x_train, y_train), (x_test, y_test) = fn.datasets.digits.load_data()
assert x_train.shape[1:] == x_test.shape[1:] == (64,) and len(x_train) == len(y_train) and len(x_test) == len(y_test)

static = importlib.resources.files("fnnet.playground") / "static"
pages = sorted(entry.name for entry in static.iterdir())
assert {"index.html", "playground.js", "playground.css"} <= set(pages), pages
assert "<html" in (static / "index.html").read_text().lower()

# The README's Keras workflow, shortened to two epochs (the digits shuffled once before validation_split).
order = jax.random.permutation(jax.random.key(42), len(x_train))
x_train, y_train = x_train[order], y_train[order]
x_train, x_test, scaler = fn.data.standardize(x_train, x_test)
y_train_1h = fn.data.to_categorical(y_train, 10)
model = fn.Sequential([
    layers.Dense(256, activation="relu", kernel_regularizer=regularizers.l2(1e-4)),
    layers.Dropout(0.5),
    layers.Dense(10, activation="softmax"),
])
params = model.init(jax.random.key(0), x_train.shape[1:])
trainer = fn.compile(model, loss="categorical_crossentropy",
                     optimizer=optax.sgd(0.01, momentum=0.9, nesterov=True), metrics=["accuracy"])
state, history = trainer.fit(
    params, x_train, y_train_1h, epochs=2, batch_size=128, validation_split=0.2,
    callbacks=[callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)],
    key=jax.random.key(2), verbose=0)
loss, accuracy = trainer.evaluate(state.params, x_test, fn.data.to_categorical(y_test, 10))
assert accuracy > 0.8, accuracy
print(f"fnnet {fn.__version__} from {fn.__file__}: test accuracy {accuracy:.3f} after 2 epochs")
"""


def _run(command: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_wheel_installs_into_a_fresh_environment_and_trains_the_readme_example(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("build", reason="building the wheel needs the 'build' package (pip install build)")
    source = tmp_path / "source"  # a copy, so that building writes no build/ or egg-info into the checkout
    shutil.copytree(ROOT / "fnnet", source / "fnnet", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    dist = tmp_path / "dist"
    # --no-isolation: the running environment's setuptools builds it, offline; --skip-dependency-check lets an
    # older setuptools than pyproject's build-system floor build it (the wheel is checked below either way).
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check"]
    _run([*build, "--outdir", str(dist), str(source)], tmp_path)
    (wheel,) = dist.glob("fnnet-*.whl")

    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False, symlinks=True)
    python = str(fresh / "bin" / "python")
    fresh_site = _run([python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
    here = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (pathlib.Path(fresh_site.stdout.strip()) / "dependencies.pth").write_text("\n".join(here) + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", str(wheel)], tmp_path)

    done = _run([python, "-I", "-c", CHECK, str(fresh)], tmp_path)
    assert "test accuracy" in done.stdout, done.stdout
