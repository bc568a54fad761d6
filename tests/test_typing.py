"""Types are part of the interface (DESIGN.md, "Lessons"): fnnet ships ``py.typed``, annotates its public
names, and basedpyright (standard mode, configured in pyproject.toml) finds no error in ``fnnet/`` and
``experiments/``. A user's type checker then catches the typical mistakes of a script before it runs:
``test_a_type_checker_catches_typical_mistakes`` type-checks one.
"""

import importlib
import inspect
import json
import pathlib
import shutil
import subprocess
import sys
import textwrap
import tomllib
import types
from importlib import resources

import pytest

import fnnet

ROOT = pathlib.Path(__file__).resolve().parents[1]
MIN_ANNOTATED_SHARE = 0.95


def _basedpyright():
    """The basedpyright of this interpreter's environment (the ``test`` extra installs it), else on PATH."""
    local = pathlib.Path(sys.executable).parent / "basedpyright"
    found = str(local) if local.is_file() else shutil.which("basedpyright")
    if found is None:
        pytest.skip("basedpyright is not installed (it is in the test extra: pip install -e '.[test]')")
    return found


def _check(*arguments, cwd):
    """basedpyright's JSON report of a run with ``arguments``, on this interpreter's packages."""
    command = [_basedpyright(), "--outputjson", "--pythonpath", sys.executable, *arguments]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"basedpyright gave no report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        ) from None


def _errors(report):
    return [d for d in report["generalDiagnostics"] if d["severity"] == "error"]


def _describe(diagnostic):
    line = diagnostic["range"]["start"]["line"] + 1
    return f"{diagnostic['file']}:{line}: {diagnostic['message'].splitlines()[0]} ({diagnostic.get('rule', '')})"


@pytest.mark.slow
def test_basedpyright_finds_no_error_in_fnnet_and_the_experiments():
    report = _check(cwd=ROOT)  # [tool.basedpyright] in pyproject.toml: fnnet and experiments, standard mode
    errors = _errors(report)
    assert report["summary"]["filesAnalyzed"] > 50, report["summary"]
    assert not errors, f"basedpyright reports {len(errors)} errors:\n" + "\n".join(map(_describe, errors))


# --- the public surface ------------------------------------------------------------------------------------


def _public_names(module):
    """``__all__``, or the names a module defines itself (and its submodules) when it has none."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (
            value.__name__.startswith(module.__name__ + ".")
            if isinstance(value, types.ModuleType)
            else getattr(value, "__module__", None) == module.__name__
        )
    ]


def _modules_with_all():
    """fnnet and every module of it that declares ``__all__`` (the Playground app aside)."""
    modules = [fnnet]
    for path in sorted((ROOT / "fnnet").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "playground" in parts or parts[-1] == "__main__" or "__all__" not in path.read_text(encoding="utf-8"):
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        try:
            modules.append(importlib.import_module(name))
        except ImportError:  # an optional dependency (scikit-learn) that is not installed
            continue
    return modules


def public_callables():
    """``(qualified name, callable)`` for every public function, class and method reachable from the ``__all__``s.

    A class counts with its constructor's signature and its own public
    methods and properties (``__init__`` and ``__call__`` included; what it
    inherits from ``tuple`` or ``object`` not). A ``Protocol``'s methods
    count, its constructor does not (protocols are not instantiated).
    """
    found, done, pending = {}, set(), _modules_with_all()
    while pending:
        module = pending.pop()
        if module.__name__ in done:
            continue
        done.add(module.__name__)
        for name in _public_names(module):
            value = getattr(module, name)
            if isinstance(value, types.ModuleType):
                if value.__name__.startswith("fnnet."):
                    pending.append(value)
            elif inspect.isclass(value) and value.__module__.startswith("fnnet"):
                qualified = f"{value.__module__}.{value.__qualname__}"
                protocol = getattr(value, "_is_protocol", False)
                if not protocol:
                    found.setdefault(id(value), (qualified, value))
                for member_name, member in vars(value).items():
                    if (
                        member_name.startswith("_")
                        and member_name not in ("__init__", "__call__")
                        or (protocol and member_name == "__init__")
                    ):
                        continue
                    member = member.fget if isinstance(member, property) else member
                    member = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                    if inspect.isfunction(member):
                        found.setdefault(id(member), (f"{qualified}.{member_name}", member))
            elif inspect.isfunction(value):
                found.setdefault(id(value), (f"{value.__module__}.{value.__qualname__}", value))
    return sorted(found.values(), key=lambda item: item[0])


def annotation_census():
    """``(parameters, annotated, unannotated names, functions without a return annotation)`` of the surface."""
    parameters, annotated, bare, no_return = 0, 0, [], []
    for qualified, value in public_callables():
        signature = inspect.signature(value)
        for parameter in signature.parameters.values():
            if parameter.name in ("self", "cls"):
                continue
            parameters += 1
            if parameter.annotation is inspect.Parameter.empty:
                bare.append(f"{qualified}({parameter.name})")
            else:
                annotated += 1
        if not inspect.isclass(value) and signature.return_annotation is inspect.Signature.empty:
            no_return.append(qualified)
    return parameters, annotated, bare, no_return


def test_the_public_surface_is_annotated():
    parameters, annotated, bare, no_return = annotation_census()
    share = annotated / parameters
    summary = (
        f"{annotated} of {parameters} public parameters annotated ({share:.1%}, at least "
        f"{MIN_ANNOTATED_SHARE:.0%} needed); {len(no_return)} public functions without a return annotation"
    )
    assert parameters > 500, summary  # the walk found the surface
    assert share >= MIN_ANNOTATED_SHARE, f"{summary}; unannotated: {bare}"
    assert not no_return, f"{summary}: {no_return}"


def test_the_census_sees_what_it_should():
    names = {qualified for qualified, _ in public_callables()}
    for expected in (
        "fnnet.layers.core.Dense",
        "fnnet.training.trainer.Trainer.fit",
        "fnnet.training.trainer.Trainer.evaluate",
        "fnnet.callbacks.early_stopping.EarlyStopping.__init__",
        "fnnet.losses.regression.mean_squared_error",
        "fnnet.protocols.Loss.__call__",
        "fnnet.saving.model_io.save_model",
        "fnnet.data.Scaler.__call__",
    ):
        assert expected in names, expected
    assert "fnnet.protocols.Loss" not in names  # a protocol's constructor is not part of it


def test_py_typed_ships_with_the_package():
    assert resources.files("fnnet").joinpath("py.typed").is_file()  # PEP 561: the installed package is typed
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["fnnet"]  # and so is a built wheel


# --- a user's script -----------------------------------------------------------------------------------------

USER_SCRIPT = '''
"""A user's script: typical correct fnnet code, then nine typical mistakes, one per marked line."""


import jax
import numpy as np
import optax

import fnnet as fn
from fnnet import callbacks, layers, regularizers
from fnnet.models import ModelLayer
from fnnet.protocols import LayerLike, Loss, Metric

x = np.zeros((8, 4), np.float32)
y = np.zeros((8, 1), np.float32)
model: ModelLayer = fn.Sequential([
    layers.Dense(16, activation="relu", kernel_regularizer=regularizers.l2(1e-4)),
    layers.Dropout(0.5),
    layers.Dense(1, activation="sigmoid"),
])
params = model.init(jax.random.key(0), x.shape[1:])
y_pred = model.apply(params, x, key=1, training=True)
as_layer: LayerLike = layers.Dense(3)
loss: Loss = fn.losses.binary_crossentropy
metric: Metric = fn.metrics.accuracy


def my_loss(y_true, y_pred):
    return ((y_true - y_pred) ** 2).mean()


for name in ["sgd", "adam"]:
    fn.compile(model, my_loss, name)
trainer = fn.compile(model, loss="binary_crossentropy", optimizer=optax.sgd(0.1, momentum=0.9), metrics=["accuracy"],
                     dtype_policy="float32", weighted_loss="mean")
state, history = trainer.fit(params, x, y, epochs=2, batch_size=4, validation_split=0.25, verbose=0, key=0,
                             callbacks=[callbacks.EarlyStopping(monitor="val_loss", patience=3, mode="min",
                                                                restore_best_weights=True)])
accuracy: float = trainer.evaluate(state.params, x, y, return_dict=True)["accuracy"]
losses: list[float] = history.history["loss"]
loss, accuracy_again = trainer.evaluate(state.params, x, y)  # Keras's unpacking type-checks
probabilities = trainer.predict(state.params, x)
labels = trainer.predict_classes(state, x)
fn.save_model("model.safetensors", model, state.params)
restored, restored_params = fn.load_model("model.safetensors")
x_scaled, scaler = fn.data.standardize(x)

# The mistakes: each one fails at run time, when the call is made.
layers.Dense("64")  # mistake 1: a str where an int goes
layers.Dense(3, use_bias="no")  # mistake 2: a str where a bool goes
fn.save_model(3, model, params)  # mistake 3: an int where a path goes
fn.compile(model, "mse", "sgd", metrics=3)  # mistake 4: a number where a list (or one metric) goes
trainer.evaluate(params, x, y, return_dict=True).upper()  # mistake 5: evaluate's result used as a str
trainer.fit(params, x, y, epochs="10", key=0)  # mistake 6: a str where an int goes
trainer.fit(params, x, y, batch_size=32.5, key=0)  # mistake 7: a float where an int goes
trainer.fit(params, x, y, validation_split="0.2", key=0)  # mistake 8: a str where a float goes
trainer.fit(params, x, y, verbose="yes", key=0)  # mistake 9: a str where an int goes
not_a_model: ModelLayer = layers.Dense(3)  # model-vs-layer: a plain layer where a model is asked for
'''


@pytest.mark.slow
def test_a_type_checker_catches_typical_mistakes(tmp_path):
    """basedpyright, as a user runs it on a script, flags the mistakes and nothing in the correct part.

    All 9 are flagged (when this was written): ``Dense("64")``, ``Dense(3,
    use_bias="no")``, ``save_model(3, ...)``, ``compile(..., metrics=3)``,
    ``evaluate(..., return_dict=True).upper()`` (without ``return_dict`` the
    result is ``Any``, so that Keras's ``loss, acc = evaluate(...)`` checks),
    ``fit(..., epochs="10")``, ``fit(...,
    batch_size=32.5)``, ``fit(..., validation_split="0.2")``, ``fit(...,
    verbose="yes")``; and a plain layer is not a ``ModelLayer``. What types
    cannot say, fnnet checks at run time: an input shape with the batch axis,
    a rate out of range, labels the loss cannot take.
    """
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(USER_SCRIPT), encoding="utf-8")
    # a user's checker finds an installed (not editable) fnnet; extraPaths stands in for that here
    (tmp_path / "pyrightconfig.json").write_text(
        json.dumps({"extraPaths": [str(ROOT)], "pythonVersion": "3.11", "typeCheckingMode": "standard"}),
        encoding="utf-8",
    )
    report = _check("--project", str(tmp_path), str(script), cwd=tmp_path)
    lines = script.read_text(encoding="utf-8").splitlines()
    marks = {
        number: line.split("  # ", 1)[1].split(":")[0]
        for number, line in enumerate(lines, 1)
        if "  # mistake " in line or "  # model-vs-layer:" in line
    }
    flagged = {marks.get(d["range"]["start"]["line"] + 1) for d in _errors(report)}
    mistakes = sorted(mark for mark in marks.values() if mark.startswith("mistake"))
    caught = [mark for mark in mistakes if mark in flagged]
    false_alarms = [_describe(d) for d in _errors(report) if d["range"]["start"]["line"] + 1 not in marks]
    assert len(mistakes) == 9
    assert not false_alarms, "errors in the correct part of the script:\n" + "\n".join(false_alarms)
    assert len(caught) >= 7, f"flagged {len(caught)} of 9: {caught}; missed {sorted(set(mistakes) - set(caught))}"
    assert "model-vs-layer" in flagged, "a plain Layer passes where a ModelLayer is asked for"
