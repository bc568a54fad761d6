"""A generated fuzz of the public API (issue 18 §3): every parameter of every public callable gets bad values.

``tests/test_fuzz.py`` holds hand-picked bad inputs; this file generates them.
Each public callable has a hand-written table entry (a ``Case``): valid,
small baseline arguments and, where a call returns something to exercise
(a layer, an iterator, a regularizer), a ``use`` that exercises it. The
parameters come from the callable's signature, and a parameter's *kind*
(flag, count, number in a range, name from a list, array, key, path,
callable, shape, sequence) from its annotation and default, refined in
the table where the annotation cannot say the range. From the kind,
``Kind.catalogue`` lists fixed bad values (strings for flags, NaN for
rates, empty and complex arrays, uncalled factories, ...) and
``Kind.generated`` a hypothesis strategy of more (integers below the low
bound, floats outside the interval, mutated arrays, unknown names). Only
that one parameter is replaced in the baseline, the call is made, and the
outcome is classified:

- clear: a TypeError or ValueError raised by fnnet's own code (the
  innermost frame is in the package) whose message names the parameter
  (its name as a word, or the documented label of a positional one); for
  paths, an OSError naming the path;
- obscure: any other exception (AttributeError, KeyError, an error from
  inside JAX, NumPy or optax, ...) or an error that names nothing;
- silent: the call (and its ``use``) returned normally for a nonsense value.

Valid variants of each scalar kind (``np.int64(3)`` where ``3`` goes, a
``np.bool_`` flag) must keep working. Per test, every obscure and silent
outcome is listed in the assertion message; ``test_summary`` (last in the
file) prints the totals and writes them to ``fuzz_generated_stats.json``
under pytest's base temporary folder. The cases that train or compile are
marked slow; the constructors, factories, data helpers, losses and
metrics form the quick part.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import inspect
import itertools
import json
import math
import os
import pathlib
import re
import shutil
import tempfile
import types
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fnnet as fn
from fnnet import (
    activations,
    augment,
    callbacks,
    data,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    parallel,
    precision,
    regularizers,
    sweep,
    testing,
    training,
)
from fnnet.datasets import playground

FNNET_DIR = os.path.dirname(os.path.abspath(fn.__file__)) + os.sep
TMP = pathlib.Path(tempfile.mkdtemp(prefix="fnnet-fuzz-"))
atexit.register(shutil.rmtree, TMP, ignore_errors=True)

FRESH = itertools.count()
RNG = np.random.default_rng(0)
X = RNG.normal(size=(24, 3)).astype(np.float32)
LABELS = RNG.integers(0, 3, size=24)
ONE_HOT = np.eye(3, dtype=np.float32)[LABELS]
BINARY = (X[:, :1] > 0).astype(np.float32)
PROBS = np.asarray(jax.nn.softmax(X), np.float32)
IMAGES = RNG.uniform(size=(4, 5, 5, 1)).astype(np.float32)

CLASSIFIER = fn.Sequential([layers.Dense(4, "relu"), layers.Dense(3, "softmax")])
PARAMS = CLASSIFIER.init(jax.random.key(0), (3,))
TRAINER = fn.compile(CLASSIFIER, "categorical_crossentropy", "sgd", metrics=["accuracy"])
STATE = TRAINER.init_state(PARAMS, jax.random.key(1))


# --- kinds of parameters: what a bad value is ---------------------------------------------------------------------


def _bad_numbers():
    return [math.nan, math.inf, -math.inf]


@dataclasses.dataclass(frozen=True)
class Kind:
    """What a parameter takes. ``catalogue(b)``: fixed bad values given the baseline ``b``; ``generated(b)``: a
    strategy of more bad values (or None); ``valid(b)``: other spellings of ``b`` that must keep working."""

    optional: bool = False

    def catalogue(self, baseline):
        return [] if self.optional else [None]

    def generated(self, baseline):
        return None

    def valid(self, baseline):
        return []

    def is_legit(self, value):
        """Whether a generated value happens to be a legitimate one after all."""
        return False


@dataclasses.dataclass(frozen=True)
class Flag(Kind):
    def catalogue(self, baseline):
        return super().catalogue(baseline) + ["no", "False", "", 0, 1, 2, 0.0, [True], np.array([True, False])]

    def generated(self, baseline):
        return st.one_of(st.text(max_size=5), st.integers(), st.floats())

    def valid(self, baseline):
        return [np.bool_(baseline)] if isinstance(baseline, bool) else []


@dataclasses.dataclass(frozen=True)
class Int(Kind):
    low: int | None = None
    high: int | None = None
    huge: bool = False  # 2**64 is a bad value (the parameter sizes an allocation or a loop)

    def catalogue(self, baseline):
        values = super().catalogue(baseline) + [1.5, *_bad_numbers(), "10", True, False, [2], 1j]
        if self.low is not None:
            values.append(self.low - 1)
        if self.high is not None:
            values.append(self.high + 1)
        if self.huge:
            values.append(2**64)
        return values

    def generated(self, baseline):
        parts = [st.floats().filter(lambda v: not v.is_integer())]
        if self.low is not None:
            parts.append(st.integers(max_value=self.low - 1))
        if self.high is not None:
            parts.append(st.integers(min_value=self.high + 1))
        return st.one_of(parts)

    def valid(self, baseline):
        return [np.int64(baseline), np.int32(baseline)] if isinstance(baseline, int) and abs(baseline) < 2**31 else []


@dataclasses.dataclass(frozen=True)
class Float(Kind):
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is bad
    high_open: bool = False

    def catalogue(self, baseline):
        values = super().catalogue(baseline) + [*_bad_numbers(), "0.1", True, [0.1], 1j, np.array([0.1, 0.2])]
        if self.low is not None:
            values.append(self.low if self.low_open else self.low - 1)
        if self.high is not None:
            values.append(self.high if self.high_open else self.high + 1)
        return values

    def generated(self, baseline):
        parts = [st.sampled_from(_bad_numbers()), st.text(max_size=3)]
        if self.low is not None:
            parts.append(st.floats(max_value=self.low, exclude_max=not self.low_open, allow_nan=False))
        if self.high is not None:
            parts.append(st.floats(min_value=self.high, exclude_min=not self.high_open, allow_nan=False))
        return st.one_of(parts)

    def valid(self, baseline):
        if isinstance(baseline, float):
            return [np.float32(baseline), np.float64(baseline)]
        return []


@dataclasses.dataclass(frozen=True)
class Name(Kind):
    """A name from a fixed list (a Literal, a registry); ``also`` are accepted spellings outside the list."""

    choices: tuple = ()
    also: tuple = ()

    def catalogue(self, baseline):
        values = super().catalogue(baseline) + ["", "nope", 3, 1.5, [baseline], b"x"]
        values += [c.upper() for c in self.choices[:2] if c.upper() not in self.accepted()]
        return values + [c + " " for c in self.choices[:1]]

    def accepted(self):
        return set(self.choices) | set(self.also)

    def is_legit(self, value):
        return any(value == a and type(value) is type(a) for a in self.accepted())

    def generated(self, baseline):
        accepted = self.accepted()
        return st.one_of(st.text(min_size=1, max_size=8).filter(lambda s: s not in accepted), st.integers())


@dataclasses.dataclass(frozen=True)
class DType(Name):
    """A dtype by name; NumPy's one-letter codes (``"e"`` is float16) are legitimate spellings too."""

    floating: bool = False

    def is_legit(self, value):
        if not isinstance(value, str) or not value.isprintable() or value.strip() != value:
            return False
        try:
            dtype = jnp.dtype(value)
        except (TypeError, ValueError):
            return False
        kinds = "f" if self.floating else "biuf"
        return (dtype.kind in kinds or dtype == jnp.bfloat16) and dtype.itemsize <= 8


@dataclasses.dataclass(frozen=True)
class Text(Kind):
    """Free text (a layer's name, a monitor): anything not a string is bad, and the strings in ``bad``."""

    bad: tuple = ()

    def catalogue(self, baseline):
        return super().catalogue(baseline) + [3, 1.5, ["a"], b"x", *self.bad]

    def generated(self, baseline):
        return st.one_of(st.integers(), st.floats(), st.lists(st.text(max_size=2), max_size=2))


@dataclasses.dataclass(frozen=True)
class Key(Kind):
    def catalogue(self, baseline):
        return super().catalogue(baseline) + [
            "0",
            1.5,
            math.nan,
            True,
            np.zeros(2, np.float32),
            np.zeros(3, np.uint32),
            np.zeros((2, 2), np.int32),
            np.array([0.5]),
            jax.random.split(jax.random.key(0), 2),
        ]

    def generated(self, baseline):
        return st.one_of(st.floats(), st.text(max_size=3), st.lists(st.integers(0, 9), min_size=2, max_size=2))


@dataclasses.dataclass(frozen=True)
class Path(Kind):
    """A file path: ``write`` (a new file may go there) or read."""

    write: bool = True

    def catalogue(self, baseline):
        values = super().catalogue(baseline) + [3, 1.5, [str(baseline)], TMP]  # a folder where a file goes
        if self.write:
            values.append(TMP / f"missing-{next(FRESH)}" / "folder" / "file.safetensors")  # a new one each time
        else:
            values += [TMP / "missing.safetensors", GARBAGE]
        return values

    def generated(self, baseline):
        return st.one_of(st.integers(), st.floats())


@dataclasses.dataclass(frozen=True)
class Folder(Path):
    """A folder path: a folder, existing or not, is legitimate (it is created when written)."""

    def is_legit(self, value):
        return isinstance(value, (str, os.PathLike)) and not os.path.isfile(value)


@dataclasses.dataclass(frozen=True)
class Callable_(Kind):
    """A callable; ``uncalled`` are factories passed where their result goes (``regularizers.l2``)."""

    uncalled: tuple = ()
    strings: bool = False  # strings are names (then an unknown name is bad)

    def catalogue(self, baseline):
        values = super().catalogue(baseline) + [3, 1.5, [baseline], {"a": 1}, *self.uncalled]
        return values + (["nope", ""] if self.strings else [])

    def generated(self, baseline):
        return st.one_of(st.integers(), st.floats())


@dataclasses.dataclass(frozen=True)
class Shape(Kind):
    """An int or a sequence of positive ints."""

    def catalogue(self, baseline):
        return super().catalogue(baseline) + [
            0,
            -1,
            1.5,
            "3",
            True,
            (3, "a"),
            (3, -2),
            (3, 0),
            (3.0,),
            [[3]],
            {"a": 3},
            (math.nan,),
        ]

    def generated(self, baseline):
        return st.one_of(
            st.integers(max_value=0), st.lists(st.integers(max_value=0), min_size=1, max_size=3), st.text(max_size=3)
        )


@dataclasses.dataclass(frozen=True)
class Sequence_(Kind):
    """A list of things; ``item`` bad values go inside a list of one."""

    items: tuple = ()

    def catalogue(self, baseline):
        return super().catalogue(baseline) + [3, 1.5, {"a": 1}, *[[item] for item in self.items]]

    def generated(self, baseline):
        return st.one_of(st.integers(), st.floats())


@dataclasses.dataclass(frozen=True)
class Array(Kind):
    """An array like the baseline's. ``paired``: its sample count must equal the other arrays'. Relaxations say
    what the callable takes legitimately: any shape (elementwise functions), NaN (functions under jit), ..."""

    paired: bool = True
    any_shape: bool = False  # a trailing axis more or less is legitimate
    scalar_ok: bool = False
    nan_ok: bool = False
    empty_ok: bool = False

    def catalogue(self, baseline):
        b = np.asarray(baseline)
        values = super().catalogue(baseline) + [
            "abc",
            b.astype(str),
            b.astype(np.complex64),
            np.array([[1, 2], None], dtype=object),
            {"a": b},
        ]
        if not self.scalar_ok:
            values += [1.0, b.reshape(-1)[:1].reshape(())]
        if not self.any_shape:
            values.append(b[..., None])
            if b.ndim >= 2:
                values.append(
                    b.reshape(len(b), -1)[:, 0].reshape(-1, *([1] * (b.ndim - 2)))[:, 0] if b.ndim > 2 else b[:, 0]
                )
        if not self.empty_ok:
            values.append(b[:0])
        if not self.nan_ok:
            values += [_poisoned(b, 0, value) for value in _bad_numbers()]
        if self.paired and b.ndim >= 1 and len(b) > 1:
            values.append(b[:-1])
        return values

    def generated(self, baseline):
        b = np.asarray(baseline)
        parts = [st.sampled_from([np.complex64, np.str_, np.bytes_]).map(lambda dtype: b.astype(dtype))]
        if not self.nan_ok and b.size:
            parts.append(
                st.tuples(st.integers(0, b.size - 1), st.sampled_from(_bad_numbers())).map(
                    lambda case: _poisoned(b, *case)
                )
            )
        if self.paired and b.ndim >= 1:
            parts.append(
                st.integers(0, 3 * len(b)).filter(lambda n: n != len(b)).map(lambda n: np.resize(b, (n, *b.shape[1:])))
            )
        if not self.any_shape and b.ndim >= 2:
            parts.append(
                st.integers(1, 6).filter(lambda f: f != b.shape[-1]).map(lambda f: np.resize(b, (*b.shape[:-1], f)))
            )
        return st.one_of(parts)


def _poisoned(b, index, value):
    out = np.array(b, dtype=np.result_type(b.dtype, np.float32))
    out.flat[index] = value
    return out


# --- classifying an outcome ----------------------------------------------------------------------------------------

CLEAR, OBSCURE, SILENT, WORKS, REJECTS_VALID = "clear", "obscure", "silent", "works", "rejects valid"
STATS = collections.Counter()
COVERED = set()


def describe(value):
    if isinstance(value, (np.ndarray, jax.Array)):
        return f"array{tuple(value.shape)}:{value.dtype}"
    if isinstance(value, (tuple, list, dict)) and any(
        isinstance(v, (np.ndarray, jax.Array)) for v in (value.values() if isinstance(value, dict) else value)
    ):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        return f"{type(value).__name__}({', '.join(f'{k}: {describe(v)}' for k, v in items)})"
    text = " ".join(repr(value).split())
    return text if len(text) < 60 else text[:57] + "..."


def _in_fnnet(error):
    """Whether the innermost frame that raised ``error`` is fnnet's own code (not JAX's, NumPy's, optax's)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(FNNET_DIR)


def _names(message, labels):
    return any(re.search(rf"(?<![\w.]){re.escape(label)}(?!\w)", message) for label in labels)


def _in_users_function(error):
    """Whether ``error`` was raised inside a user's function given to fnnet (``f`` of ``testing.check_grads``)."""
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == __file__ and tb.tb_frame.f_code.co_name == "f":
            return True
        tb = tb.tb_next
    return False


def classify(error, labels, kind, value):
    message = str(error)
    if _in_users_function(error):
        return CLEAR  # params that f itself cannot take: f's own error, raised where the user wrote it
    if isinstance(error, (TypeError, ValueError)) and _in_fnnet(error) and _names(message, labels):
        return CLEAR
    if isinstance(kind, Path) and isinstance(error, (OSError, TypeError, ValueError)) and str(value) in message:
        return CLEAR  # a path's error names the path given (Python's own FileNotFoundError does)
    return OBSCURE


# --- the cases ----------------------------------------------------------------------------------------------------


def _annotation_text(parameter):
    annotation = parameter.annotation
    text = (
        annotation
        if isinstance(annotation, str)
        else ("" if annotation is inspect.Parameter.empty else inspect.formatannotation(annotation))
    )
    return re.sub(r"ForwardRef\('([^']*)'\)", r"\1", text)


def infer(parameter, baseline):
    """A parameter's kind from its annotation and default."""
    text, default = _annotation_text(parameter), parameter.default
    optional = default is None or "None" in text
    literal = re.search(r"Literal\[([^\]]*)\]", text)
    if text == "bool" or isinstance(default, bool):
        return Flag(optional=optional and default is not False and default is not True)
    if "PathLike" in text:
        return Path(optional=optional)
    if literal:
        return Name(choices=tuple(re.findall(r"'([^']*)'", literal.group(1))), optional=optional)
    if re.fullmatch(r"int( \| None)?", text) or (not text and type(default) is int):
        return Int(optional=optional)
    if re.fullmatch(r"float( \| None)?", text) or (not text and type(default) is float):
        return Float(optional=optional)
    if "Sequence[int]" in text:
        return Shape(optional=optional)
    if "ArrayLike" in text or "Array, numpy.ndarray, numpy.bool" in text:
        return Array(optional=optional)
    if "KeyLike" in text or "numpy.integer | int" in text:
        return Key(optional=optional)
    if "Callable" in text:
        return Callable_(optional=optional, strings="str" in text)
    if re.fullmatch(r"str( \| None)?", text):
        return Text(optional=optional)
    if "Sequence" in text:
        return Sequence_(optional=optional)
    return None


@dataclasses.dataclass
class Case:
    """A public callable, valid baseline arguments, and how to fuzz each parameter.

    ``kinds`` refine (or supply) a parameter's kind; ``skip`` says why a parameter is not fuzzed; ``labels``
    lists other words an error may name the parameter by; ``use(result)`` exercises what the call returned;
    ``legit(name, value)`` accepts a generated value as a legitimate one.
    """

    name: str
    target: Callable
    baseline: dict
    kinds: dict = dataclasses.field(default_factory=dict)
    skip: dict = dataclasses.field(default_factory=dict)
    labels: dict = dataclasses.field(default_factory=dict)
    use: Callable | None = None
    legit: Callable | None = None
    extra: dict = dataclasses.field(default_factory=dict)
    bases: dict = dataclasses.field(default_factory=lambda: {"sample_weight": WEIGHTS})
    slow: bool = False

    def signature(self):
        return inspect.signature(self.target)

    def kind(self, parameter_name):
        if parameter_name in self.kinds:
            return self.kinds[parameter_name]
        parameter = self.signature().parameters[parameter_name]
        return infer(parameter, self.baseline.get(parameter_name))

    def parameters(self):
        """The fuzzed parameters: every one in the signature that is not skipped."""
        return [name for name in self.signature().parameters if name not in self.skip]

    def call(self, arguments):
        """Call the target: ``*args`` and the parameters before them positionally, the rest by keyword."""
        parameters = self.signature().parameters.values()
        varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL and p.name in arguments for p in parameters)
        positional, keywords = [], {}
        for parameter in parameters:
            if parameter.name not in arguments:
                continue
            value = arguments[parameter.name]
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                positional += list(value)
            elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
                keywords.update(value)
            elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY or (
                varargs and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ):
                positional.append(value)
            else:
                keywords[parameter.name] = value
        result = self.target(*positional, **keywords)
        if self.use is not None:
            self.use(result)
        return result

    def arguments(self):
        """The baseline, with fresh values made for the lazy ones."""
        return {name: (value() if isinstance(value, Lazy) else value) for name, value in self.baseline.items()}

    def with_value(self, parameter_name, value):
        """The baseline with one parameter replaced (the first item of a ``*args``, the first entry of ``**kw``)."""
        arguments = self.arguments()
        kind = self.signature().parameters[parameter_name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            arguments[parameter_name] = [value, *arguments[parameter_name][1:]]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            first = next(iter(arguments[parameter_name]))
            arguments[parameter_name] = {**arguments[parameter_name], first: value}
        else:
            arguments[parameter_name] = value
        return arguments

    def labels_of(self, parameter_name):
        kind = self.signature().parameters[parameter_name].kind
        extra = ()
        if kind is inspect.Parameter.VAR_POSITIONAL:
            extra = (f"{parameter_name}[0]",)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            extra = (next(iter(self.baseline[parameter_name])),)
        return (parameter_name, *extra, *self.labels.get(parameter_name, ()))

    def baseline_value(self, parameter_name):
        """The valid value the bad ones are made from: the baseline's, else ``bases``'s, else the default."""
        default = self.bases.get(parameter_name, self.signature().parameters[parameter_name].default)
        value = self.baseline.get(parameter_name, default)
        value = value() if isinstance(value, Lazy) else value
        kind = self.signature().parameters[parameter_name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            return value[0]
        if kind is inspect.Parameter.VAR_KEYWORD:
            return next(iter(value.values()))
        return value


class Lazy:
    """A baseline value made fresh for every call (a new path, a new iterator)."""

    def __init__(self, make):
        self.make = make

    def __call__(self):
        return self.make()


def attempt(case, parameter_name, value, *, must_work=False):
    """Call ``case`` with ``parameter_name = value``; returns ``(outcome, detail)``."""
    kind = case.kind(parameter_name)
    STATS["inputs"] += 1
    COVERED.add(case.name)
    try:
        case.call(case.with_value(parameter_name, value))
    except Exception as error:  # noqa: BLE001 - classifying every exception is the point
        outcome = REJECTS_VALID if must_work else classify(error, case.labels_of(parameter_name), kind, value)
        detail = f"{type(error).__module__}.{type(error).__name__}: {str(error)[:300]}"
    else:
        legit = must_work or kind.is_legit(value) or (case.legit is not None and case.legit(parameter_name, value))
        outcome, detail = (WORKS, "") if legit else (SILENT, "returned normally")
    STATS[outcome] += 1
    return outcome, detail


BASELINES_CHECKED = set()
# Derandomized, so that CI sees the same values every run; FNNET_FUZZ_RANDOM=1 explores new ones (run it a few
# times after changing a check: a value it finds becomes a fix and, where it is a new kind of mistake, a catalogue entry).
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=not os.environ.get("FNNET_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)


def fuzz(case, parameter_name):
    """Every catalogue value and the generated ones for one parameter; the list of bad outcomes."""
    if case.name not in BASELINES_CHECKED:  # the baseline works, else every bad value would "raise"
        case.call(case.arguments())
        BASELINES_CHECKED.add(case.name)
    kind = case.kind(parameter_name)
    assert kind is not None, f"{case.name}: no kind for {parameter_name}; give one in the table"
    baseline = case.baseline_value(parameter_name)
    found = {}

    def check(value, must_work=False):
        outcome, detail = attempt(case, parameter_name, value, must_work=must_work)
        if outcome in (OBSCURE, SILENT, REJECTS_VALID):
            found.setdefault(
                (outcome, detail[:80] if outcome == OBSCURE else describe(value)[:30]),
                f"{case.name}({parameter_name}={describe(value)}): {outcome}: {detail}",
            )

    for value in kind.valid(baseline):
        check(value, must_work=True)
    for value in [*kind.catalogue(baseline), *case.extra.get(parameter_name, ())]:
        check(value)
    strategy = kind.generated(baseline)
    if strategy is not None:

        @FUZZ
        @given(strategy)
        def draw(value):
            check(value)

        draw()
    return sorted(found.values())


def case_parameters(cases):
    return [
        pytest.param(case, name, id=f"{case.name}-{name}", marks=[pytest.mark.slow] if case.slow else [])
        for case in cases
        for name in case.parameters()
    ]


# --- the table: every public callable, valid baseline arguments, refinements --------------------------------------

GARBAGE = TMP / "garbage.safetensors"
GARBAGE.write_bytes(b"not a safetensors file")
KEY = jax.random.key(0)
SIGMOID = np.asarray(jax.nn.sigmoid(X[:, :1]), np.float32)
SIGNS = BINARY * 2 - 1
WEIGHTS = np.ones(24, np.float32)
NEGATIVE_WEIGHTS = np.where(np.arange(24) == 3, -1.0, 1.0).astype(np.float32)
ACTIVATION_NAMES = tuple(
    sorted(
        {
            n
            for n in dir(activations)
            if callable(getattr(activations, n))
            and not n.startswith("_")
            and getattr(getattr(activations, n), "__module__", "") == "fnnet.activations"
        }
        - {"get", "name_of", "serialize"}
    )
)
INITIALIZER_NAMES = (
    "zeros",
    "ones",
    "uniform",
    "normal",
    "lecun_uniform",
    "lecun_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "random_uniform",
    "random_normal",
)
LAYER_NAME = Text(optional=True, bad=("a/b", ""))


def use_layer(layer):
    """Init on ``(3,)`` and apply, in inference and in training."""
    params = layer.init(KEY, (3,))
    layer.apply(params, X)
    layer.apply_train(params, X, key=jax.random.key(1))
    layer.penalty(params)


def use_merge(layer):
    params = layer.init(KEY, [(3,), (3,)])
    layer.apply(params, [X, X])


def use_regularizer(regularizer):
    value = regularizer(PARAMS) if callable(regularizer) else None
    if value is not None and not np.isfinite(value):
        raise AssertionError(f"penalty {value}")


def use_initializer(initializer):
    initializer(KEY, (3, 4), jnp.float32)


def use_optimizer(optimizer):
    opt_state = optimizer.init(PARAMS)
    updates, _ = optimizer.update(jax.tree_util.tree_map(jnp.ones_like, PARAMS), opt_state, PARAMS)
    if not all(np.all(np.isfinite(u)) for u in jax.tree_util.tree_leaves(updates)):
        raise AssertionError("non-finite updates")


def use_schedule(schedule):
    values = [float(schedule(step)) for step in (0, 10, 1000)]
    if not all(math.isfinite(v) for v in values):
        raise AssertionError(f"non-finite learning rates {values}")


def use_augmentation(aug):
    aug(KEY, IMAGES)


def use_loss(loss):
    value = loss(ONE_HOT, PROBS)
    if not np.isfinite(value):
        raise AssertionError(f"loss {value}")


def finite_result(result):
    for leaf in jax.tree_util.tree_leaves(result):
        if isinstance(leaf, (np.ndarray, jax.Array, float)) and not np.all(np.isfinite(leaf)):
            raise AssertionError("a non-finite result")


ELEMENTWISE = Array(paired=False, any_shape=True, scalar_ok=True, nan_ok=True, empty_ok=True)


def activation_cases():
    cases = []
    for name in ACTIVATION_NAMES:
        f = getattr(activations, name)
        kinds = {"x": ELEMENTWISE, "negative_slope": Float(), "alpha": Float(), "axis": Int(low=-2, high=1)}
        cases.append(Case(f"activations.{name}", f, {"x": X}, kinds=kinds))
    cases += [
        Case(
            "activations.get",
            activations.get,
            {"name_or_callable": "relu"},
            kinds={"name_or_callable": Callable_(optional=True, strings=True)},
            labels={"name_or_callable": ("activation",)},
        ),
        Case(
            "activations.serialize",
            activations.serialize,
            {"activation": "relu"},
            kinds={"activation": Callable_(optional=True, strings=True)},
        ),
    ]
    return cases


def initializer_cases():
    cases = []
    shape = Shape()
    dtype = DType(choices=("float32", "float16", "bfloat16", "float64"), floating=True)
    for name in (
        "zeros",
        "ones",
        "uniform",
        "normal",
        "lecun_uniform",
        "lecun_normal",
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
    ):
        cases.append(
            Case(
                f"initializers.{name}",
                getattr(initializers, name),
                {"key": KEY, "shape": (3, 4)},
                kinds={"key": Key(), "shape": shape, "dtype": dtype},
            )
        )
    for name, _params in (
        ("RandomUniform", ("minval", "maxval")),
        ("RandomNormal", ("mean", "stddev")),
        ("random_uniform", ("minval", "maxval")),
        ("random_normal", ("mean", "stddev")),
    ):
        kinds = {"stddev": Float(low=0)}
        extra = {"minval": [1.0]}  # above maxval
        cases.append(
            Case(f"initializers.{name}", getattr(initializers, name), {}, kinds=kinds, use=use_initializer, extra=extra)
        )
    uncalled = (initializers.RandomNormal, initializers.random_uniform)
    cases += [
        Case(
            "initializers.get",
            initializers.get,
            {"name_or_callable": "glorot_uniform"},
            kinds={"name_or_callable": Callable_(strings=True, uncalled=uncalled)},
            use=use_initializer,
            labels={"name_or_callable": ("initializer",)},
        ),
        Case(
            "initializers.serialize",
            initializers.serialize,
            {"initializer": "glorot_uniform"},
            kinds={"initializer": Callable_(strings=True, uncalled=uncalled)},
        ),
    ]
    return cases


REGULARIZER = Callable_(optional=True, strings=True, uncalled=(regularizers.l2, regularizers.l1, regularizers.l1_l2))


def regularizer_cases():
    where = Callable_(uncalled=())
    return [
        Case(
            "regularizers.l1",
            regularizers.l1,
            {"rate": 0.01},
            kinds={"rate": Float(low=0), "where": where},
            use=use_regularizer,
        ),
        Case(
            "regularizers.l2",
            regularizers.l2,
            {"rate": 0.01},
            kinds={"rate": Float(low=0), "where": where},
            use=use_regularizer,
        ),
        Case(
            "regularizers.l1_l2",
            regularizers.l1_l2,
            {"l1": 0.01, "l2": 0.01},
            kinds={"l1": Float(low=0), "l2": Float(low=0), "where": where},
            use=use_regularizer,
        ),
        Case(
            "regularizers.Penalty",
            regularizers.Penalty,
            {"class_name": "L2", "l2": 0.01},
            kinds={
                "class_name": Name(choices=("L1", "L2", "L1L2")),
                "l1": Float(low=0),
                "l2": Float(low=0),
                "where": where,
            },
            use=use_regularizer,
        ),
        Case(
            "regularizers.get",
            regularizers.get,
            {"identifier": "l2"},
            kinds={"identifier": REGULARIZER},
            use=use_regularizer,
            labels={"identifier": ("regularizer",)},
        ),
        Case(
            "regularizers.check",
            regularizers.check,
            {"name": "kernel_regularizer", "value": "l2"},
            kinds={"value": REGULARIZER},
            skip={"name": "the caller's label for messages"},
            labels={"value": ("kernel_regularizer",)},
            use=use_regularizer,
        ),
        Case(
            "regularizers.serialize",
            regularizers.serialize,
            {"regularizer": regularizers.l2(0.01)},
            kinds={"regularizer": REGULARIZER},
        ),
        Case(
            "regularizers.total",
            regularizers.total,
            {"regularizers": [regularizers.l2(0.01)]},
            kinds={"regularizers": REGULARIZER},
            use=use_regularizer,
        ),
    ]


LOSS_DATA = {
    "regression": (X, X * 0.5),
    "positive": (np.abs(X), np.abs(X) + 0.1),
    "mape": (X + 5, X + 4),
    "probabilities": (PROBS, PROBS[::-1].copy()),
    "binary": (BINARY, SIGMOID),
    "one_hot": (ONE_HOT, PROBS),
    "sparse": (LABELS, PROBS),
    "signs": (SIGNS, X[:, :1]),
}
LOSSES = {
    "mean_squared_error": "regression",
    "mse": "regression",
    "mean_absolute_error": "regression",
    "mae": "regression",
    "sum_squared_error": "regression",
    "sse": "regression",
    "log_cosh": "regression",
    "huber": "regression",
    "cosine_similarity": "regression",
    "mean_absolute_percentage_error": "mape",
    "mape": "mape",
    "mean_squared_logarithmic_error": "positive",
    "msle": "positive",
    "poisson": "positive",
    "kl_divergence": "probabilities",
    "kld": "probabilities",
    "binary_crossentropy": "binary",
    "categorical_crossentropy": "one_hot",
    "categorical_hinge": "one_hot",
    "sparse_categorical_crossentropy": "sparse",
    "hinge": "signs",
    "squared_hinge": "signs",
}
METRICS = {
    "accuracy": "one_hot",
    "binary_accuracy": "binary",
    "categorical_accuracy": "one_hot",
    "sparse_categorical_accuracy": "sparse",
    "top_k_categorical_accuracy": "one_hot",
    "sparse_top_k_categorical_accuracy": "sparse",
    "mae": "regression",
    "mean_absolute_error": "regression",
    "mse": "regression",
    "mean_squared_error": "regression",
    "precision": "binary",
    "recall": "binary",
    "f1_score": "binary",
    "auc": "binary",
    "binary_confusion": "binary",
    "confusion_curve": "binary",
}


def squeezable(name, value):
    """``y_true`` or ``y_pred`` equal to the baseline up to a trailing axis of 1 (Keras squeezes it)."""
    index = {"y_true": 0, "y_pred": 1}.get(name)
    if index is None or not isinstance(value, np.ndarray):
        return False
    for pair in LOSS_DATA.values():
        b = np.asarray(pair[index])
        if value.shape == (*b.shape, 1) and np.array_equal(value[..., 0], b):
            return True
        if b.shape[-1:] == (1,) and value.shape == b.shape[:-1] and np.array_equal(value, b[..., 0]):
            return True
    return False


def more_classes(name, value):
    """Sparse labels against predictions with more classes than the labels use: legitimate."""
    return (
        name == "y_pred"
        and np.shape(value)[:1] == (24,)
        and np.ndim(value) == 2
        and np.shape(value)[1] > 3
        and (np.all(np.isfinite(value)))
    )


def any_of(*predicates):
    return lambda name, value: any(p(name, value) for p in predicates)


def sparse_legit(name, value):
    """Sparse labels of shape (N, 1) are Keras's too, and predictions with more classes."""
    return (name == "y_true" and np.shape(value) == (24, 1) and np.all(np.asarray(value)[:, 0] == LABELS)) or (
        more_classes(name, value)
    )


def accuracy_legit(name, value):
    """``accuracy`` reads one column of 0/1 as sparse labels of 3 classes: legitimate."""
    return name == "y_true" and np.shape(value) in ((24,), (24, 1)) and np.isin(value, (0, 1)).all()


def loss_like_cases(module, table):
    cases = []
    for name, data_name in table.items():
        y_true, y_pred = LOSS_DATA[data_name]
        kinds = {
            "sample_weight": Array(optional=True),
            "delta": Float(low=0, low_open=True),
            "threshold": Float() if name == "binary_accuracy" else Float(low=0, high=1),
            "k": Int(low=1),
            "num_thresholds": Int(low=3, huge=True),
        }
        extra = {"sample_weight": [NEGATIVE_WEIGHTS, np.zeros((24, 2), np.float32)]}
        labels = {"y_true": (name,), "y_pred": (name,)} if name == "categorical_hinge" else {}
        cases.append(
            Case(
                f"{module.__name__.split('.')[-1]}.{name}",
                getattr(module, name),
                {"y_true": y_true, "y_pred": y_pred},
                kinds=kinds,
                extra=extra,
                labels=labels,
                legit=sparse_legit
                if data_name == "sparse"
                else any_of(squeezable, accuracy_legit)
                if name == "accuracy"
                else squeezable,
                use=finite_result,
            )
        )
    return cases


LOSS_NAMES = tuple(losses.BY_NAME)


def loss_helper_cases():
    loss = Callable_(strings=True, uncalled=(losses.Huber,))
    return [
        Case("losses.Huber", losses.Huber, {}, kinds={"delta": Float(low=0, low_open=True)}, use=use_loss),
        Case(
            "losses.get",
            losses.get,
            {"name_or_callable": "mse"},
            kinds={"name_or_callable": loss},
            labels={"name_or_callable": ("loss",)},
        ),
        Case(
            "losses.configure",
            losses.configure,
            {"fn": losses.huber, "options": {"delta": 2.0}},
            kinds={"fn": Callable_(), "options": Float(low=0, low_open=True)},
            labels={"options": ("delta",)},
            use=use_loss,
        ),
        Case(
            "losses.sum_over_batch_size",
            losses.sum_over_batch_size,
            {"per_sample": X[:, 0]},
            kinds={"per_sample": Array(paired=False, nan_ok=True), "sample_weight": Array(optional=True)},
        ),
        Case(
            "losses.weighted_mean",
            losses.weighted_mean,
            {"per_sample": X[:, 0]},
            kinds={"per_sample": Array(paired=False, nan_ok=True), "sample_weight": Array(optional=True)},
        ),
        Case(
            "losses.as_float_pair",
            losses.as_float_pair,
            {"name": "mse", "y_true": X, "y_pred": X},
            skip={"name": "the caller's label for messages"},
            legit=lambda name, value: np.shape(value) == (24, 3, 1) and np.array_equal(value[..., 0], X),
        ),
        Case(
            "losses.as_arrays",
            losses.as_arrays,
            {"name": "mse", "y_true": X, "y_pred": X},
            skip={"name": "the caller's label for messages"},
            kinds={"y_true": Array(any_shape=True), "y_pred": Array(any_shape=True)},
        ),
        Case(
            "losses.integer_labels",
            losses.integer_labels,
            {"name": "scce", "y_true": LABELS, "y_pred": PROBS},
            kinds={"y_true": Array(), "y_pred": Array()},
            skip={"name": "the caller's label for messages"},
            legit=sparse_legit,
        ),
    ] + []


def metric_helper_cases():
    metric = Callable_(strings=True, uncalled=(metrics.AUC, metrics.Precision, metrics.TopKCategoricalAccuracy))
    return [
        Case("metrics.AUC", metrics.AUC, {}, kinds={"num_thresholds": Int(low=3, huge=True)}),
        Case("metrics.F1Score", metrics.F1Score, {}, kinds={"threshold": Float(low=0, high=1)}),
        Case("metrics.Precision", metrics.Precision, {}, kinds={"threshold": Float(low=0, high=1)}),
        Case("metrics.Recall", metrics.Recall, {}, kinds={"threshold": Float(low=0, high=1)}),
        Case("metrics.TopKCategoricalAccuracy", metrics.TopKCategoricalAccuracy, {}, kinds={"k": Int(low=1)}),
        Case(
            "metrics.SparseTopKCategoricalAccuracy", metrics.SparseTopKCategoricalAccuracy, {}, kinds={"k": Int(low=1)}
        ),
        Case(
            "metrics.LossMetric",
            metrics.LossMetric,
            {"loss": losses.mse},
            kinds={"loss": Callable_(uncalled=(losses.Huber,))},
        ),
        Case(
            "metrics.get",
            metrics.get,
            {"name_or_callable": "accuracy"},
            kinds={"name_or_callable": metric},
            labels={"name_or_callable": ("metric",)},
        ),
        Case(
            "metrics.StreamingMetric",
            metrics.StreamingMetric,
            {
                "name": "auc",
                "counts": metrics.AUC().counts,
                "shapes": metrics.AUC().shapes,
                "finish": metrics.AUC().finish,
            },
            kinds={
                "name": Text(bad=("",)),
                "counts": Callable_(),
                "shapes": Callable_(),
                "finish": Callable_(),
                "options": Sequence_(),
            },
        ),
    ]


OPTIMIZER_NAMES = ("sgd", "adam", "adamw", "amsgrad", "adagrad", "adadelta", "rmsprop", "adamax", "nadam")


def optimizer_cases():
    return [
        Case(
            "optimizers.get",
            optimizers.get,
            {"name_or_transformation": "sgd", "hyperparameters": {"learning_rate": 0.01}},
            kinds={"name_or_transformation": Name(choices=OPTIMIZER_NAMES), "hyperparameters": Float(low=0)},
            use=use_optimizer,
            labels={"name_or_transformation": ("optimizer",)},
        ),
        Case(
            "optimizers.get momentum",
            optimizers.get,
            {"name_or_transformation": "sgd", "hyperparameters": {"momentum": 0.9}},
            kinds={
                "name_or_transformation": Name(choices=OPTIMIZER_NAMES),
                "hyperparameters": Float(low=0, high=1, optional=True),
            },
            use=use_optimizer,  # None: optax's
            labels={"name_or_transformation": ("optimizer",)},
        ),
        Case(
            "optimizers.step_decay",
            optimizers.step_decay,
            {"initial_learning_rate": 0.1, "drop": 0.5, "steps_per_drop": 10},
            kinds={
                "initial_learning_rate": Float(low=0),
                "drop": Float(low=0, high=1, low_open=True),
                "steps_per_drop": Int(low=1),
            },
            use=use_schedule,
        ),
        Case(
            "optimizers.exponential_decay",
            optimizers.exponential_decay,
            {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
            kinds={
                "initial_learning_rate": Float(low=0),
                "decay_steps": Int(low=1),
                "decay_rate": Float(low=0, low_open=True),
            },
            use=use_schedule,
        ),
        Case(
            "optimizers.inverse_time_decay",
            optimizers.inverse_time_decay,
            {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
            kinds={"initial_learning_rate": Float(low=0), "decay_steps": Int(low=1), "decay_rate": Float(low=0)},
            use=use_schedule,
        ),
        Case(
            "optimizers.float32_state",
            optimizers.float32_state,
            {"transformation": optax.sgd(0.1)},
            kinds={"transformation": Callable_(uncalled=(optax.sgd,))},
            use=use_optimizer,
        ),
        Case(
            "optimizers.hyperparameter_names",
            optimizers.hyperparameter_names,
            {"opt_state": optimizers.get("sgd").init(PARAMS)},
            kinds={"opt_state": Sequence_()},
            legit=lambda name, value: True,
        ),  # any pytree: the names of its hyperparameters, maybe none
        Case(
            "optimizers.set_hyperparameters",
            optimizers.set_hyperparameters,
            {"opt_state": optimizers.get("sgd").init(PARAMS), "values": {"learning_rate": 0.1}},
            kinds={"opt_state": Sequence_(), "values": Float(low=0)},
            labels={"opt_state": ("optimizer state",)},
        ),
    ]


def precision_and_parallel_cases():
    return [
        Case(
            "precision.get",
            precision.get,
            {"name_or_policy": "float32"},
            kinds={"name_or_policy": Name(choices=("float32", "mixed_bfloat16", "float64"))},
            labels={"name_or_policy": ("dtype_policy",)},
        ),
        Case(
            "precision.Policy",
            precision.Policy,
            {"name": "float32", "param_dtype": "float32", "compute_dtype": "float32"},
            kinds={
                "name": Text(),
                "param_dtype": DType(choices=("float32", "float64", "bfloat16"), floating=True),
                "compute_dtype": DType(choices=("float32", "float64", "bfloat16"), floating=True),
            },
            use=precision.get,
        ),
        Case("parallel.local_mesh", parallel.local_mesh, {}, kinds={"axis_name": Text(bad=("",))}),
        Case(
            "parallel.resolve_mesh",
            parallel.resolve_mesh,
            {"mesh": "local"},
            kinds={"mesh": Name(choices=("local",), optional=True)},
        ),
    ]


def data_cases():
    consumed = lambda result: [None for _ in result]  # noqa: E731 - batches are checked when called; iterate anyway
    return [
        Case(
            "data.to_categorical",
            data.to_categorical,
            {"labels": LABELS, "num_classes": 3},
            kinds={
                "labels": Array(paired=False, any_shape=True, scalar_ok=True),
                "num_classes": Int(low=1, optional=True, huge=True),
                "dtype": DType(choices=("float32", "float64", "int32", "uint8", "bool")),
            },
            extra={"labels": [LABELS - 1, LABELS + 0.5], "num_classes": [2]},
            legit=lambda name, value: name == "labels" and isinstance(value, float) and value == 1.0,
        ),  # as Keras
        Case(
            "data.from_categorical",
            data.from_categorical,
            {"one_hot": ONE_HOT},
            kinds={"one_hot": Array(paired=False, any_shape=True)},
        ),
        Case(
            "data.standardize",
            data.standardize,
            {"train": X, "others": [X[:5]]},
            kinds={"train": Array(paired=False), "others": Array(paired=False)},
        ),
        Case(
            "data.minmax_scale",
            data.minmax_scale,
            {"train": X, "others": [X[:5]]},
            kinds={
                "train": Array(paired=False),
                "others": Array(paired=False),
                "feature_range": Sequence_(items=(math.nan, "a")),
            },
            extra={"feature_range": [(1, -1), (0, 0), (0, 1, 2), (0, math.inf)]},
        ),
        Case(
            "data.train_val_test_split",
            data.train_val_test_split,
            {"x": X, "y": LABELS, "key": KEY},
            kinds={
                "x": Array(any_shape=True, nan_ok=True),
                "y": Array(any_shape=True, nan_ok=True),
                "fractions": Sequence_(items=(math.nan, "a", -0.5)),
                "key": Key(),
            },
            extra={"fractions": [(0.5, 0.6), (), (1.0,) * 3, (0.5, 0.5, math.nan)]},
        ),
        Case(
            "data.batches",
            data.batches,
            {"arrays": [X, LABELS], "batch_size": 8},
            kinds={"arrays": Array(any_shape=True, nan_ok=True), "batch_size": Int(low=1), "key": Key(optional=True)},
            use=consumed,
        ),
        Case(
            "data.Scaler",
            data.Scaler,
            {"shift": np.zeros(3, np.float32), "scale": np.ones(3, np.float32)},
            kinds={"shift": Array(paired=False), "scale": Array(paired=False)},
            extra={"scale": [np.array([1.0, 0.0, 1.0], np.float32)]},
            use=lambda scaler: finite_result(scaler(X)),
        ),
    ]


FACTOR = Float(low=-1, high=1)  # Keras's RandomTranslation: a fraction of the image's size


def image_legit(name, value):
    """An image of 2 or 3 axes, of any size and channel count; NaN pixels pass through (the math is traced)."""
    return (
        name == "image"
        and isinstance(value, np.ndarray)
        and value.ndim in (2, 3)
        and min(value.shape[:2]) > 0
        and (value.dtype.kind in "biuf")
    )


def augment_cases():
    image = Array(paired=False)
    return [
        Case(
            "augment.Augmentation",
            augment.Augmentation,
            {"fn": lambda key, image: image},
            kinds={"fn": Callable_(), "args": Sequence_()},
            use=use_augmentation,
        ),
        Case(
            "augment.compose",
            augment.compose,
            {"augmentations": [augment.random_flip()]},
            kinds={"augmentations": Callable_(uncalled=(augment.random_flip, augment.flip_left_right))},
            use=use_augmentation,
        ),
        Case(
            "augment.flip_left_right",
            augment.flip_left_right,
            {"image": IMAGES[0]},
            kinds={"image": image},
            legit=image_legit,
        ),
        Case(
            "augment.flip_up_down",
            augment.flip_up_down,
            {"image": IMAGES[0]},
            kinds={"image": image},
            legit=image_legit,
        ),
        Case("augment.random_flip", augment.random_flip, {}, use=use_augmentation),
        Case(
            "augment.random_rotation",
            augment.random_rotation,
            {"factor": 0.1},
            kinds={"factor": Float()},
            extra={"factor": [(0.2, -0.2), (0.1,), (0.1, 0.2, 0.3), (math.nan, 0.1)]},
            use=use_augmentation,
        ),
        Case(
            "augment.random_translation",
            augment.random_translation,
            {"height_factor": 0.1, "width_factor": 0.1},
            kinds={"height_factor": FACTOR, "width_factor": FACTOR},
            extra={"height_factor": [(0.2, -0.2), (0.1,)], "width_factor": [(0.1, 0.2, 0.3)]},
            use=use_augmentation,
        ),
        Case(
            "augment.rotate",
            augment.rotate,
            {"image": IMAGES[0], "angle": 0.3},
            kinds={"image": image, "angle": Float()},
            legit=image_legit,
        ),
        Case(
            "augment.translate",
            augment.translate,
            {"image": IMAGES[0], "dy": 1.0, "dx": 1.0},
            kinds={"image": image, "dy": Float(), "dx": Float()},
            legit=image_legit,
        ),
    ]


INITIALIZER = Callable_(strings=True, uncalled=(initializers.RandomNormal, initializers.random_uniform))
ACTIVATION = Callable_(optional=True, strings=True, uncalled=(activations.get,))


def layer_cases():
    common = {
        "name": LAYER_NAME,
        "activation": ACTIVATION,
        "kernel_initializer": INITIALIZER,
        "bias_initializer": INITIALIZER,
        "beta_initializer": INITIALIZER,
        "gamma_initializer": INITIALIZER,
        "moving_mean_initializer": INITIALIZER,
        "moving_variance_initializer": INITIALIZER,
        "kernel_regularizer": REGULARIZER,
        "bias_regularizer": REGULARIZER,
        "beta_regularizer": REGULARIZER,
        "gamma_regularizer": REGULARIZER,
        "units": Int(low=1),
        "pieces": Int(low=1),
        "rate": Float(low=0, high=1, high_open=True),
        "stddev": Float(low=0),
        "axis": Int(low=-2, high=1),
        "momentum": Float(low=0, high=1),
        "epsilon": Float(low=0, low_open=True),
        "input_dim": Int(optional=True),
        "input_shape": Shape(optional=True),
    }
    keras2 = {
        "input_dim": "Keras 2's: refused whatever the value (test_keras_habits)",
        "input_shape": "Keras 2's: refused whatever the value (test_keras_habits)",
    }
    cases = [
        Case("layers.Dense", layers.Dense, {"units": 2}, kinds=common, skip=keras2, use=use_layer),
        Case("layers.Maxout", layers.Maxout, {"units": 2, "pieces": 2}, kinds=common, use=use_layer),
        Case("layers.Dropout", layers.Dropout, {"rate": 0.5}, kinds=common, use=use_layer),
        Case("layers.AlphaDropout", layers.AlphaDropout, {"rate": 0.5}, kinds=common, use=use_layer),
        Case("layers.GaussianDropout", layers.GaussianDropout, {"rate": 0.5}, kinds=common, use=use_layer),
        Case("layers.GaussianNoise", layers.GaussianNoise, {"stddev": 0.5}, kinds=common, use=use_layer),
        Case(
            "layers.Activation",
            layers.Activation,
            {"activation": "relu"},
            kinds={**common, "activation": Callable_(strings=True, optional=True)},
            use=use_layer,
        ),
        Case("layers.Flatten", layers.Flatten, {}, kinds=common, use=use_layer),
        Case("layers.Identity", layers.Identity, {}, kinds=common, use=use_layer),
        Case(
            "layers.Reshape",
            layers.Reshape,
            {"target_shape": (3, 1)},
            kinds=common,
            use=use_layer,
            legit=lambda name, value: value in (-1, (-1,), [-1]),
        ),  # Keras's Reshape((-1,)): flatten
        Case("layers.BatchNormalization", layers.BatchNormalization, {}, kinds=common, use=use_layer),
        Case("layers.LayerNormalization", layers.LayerNormalization, {}, kinds=common, use=use_layer),
        Case("layers.Concatenate", layers.Concatenate, {}, kinds=common, use=use_merge),
        Case(
            "models.Sequential",
            fn.models.Sequential,
            {"layers": [layers.Dense(2)]},
            kinds={"layers": Sequence_(items=(layers.Dense, "dense", None, 3)), "name": LAYER_NAME},
            use=use_layer,
        ),
        Case(
            "layers.from_config",
            layers.from_config,
            {"config": layers.Dense(2).get_config()},
            kinds={"config": Sequence_()},
            extra={
                "config": [
                    {"class_name": "Nope", "config": {}},
                    {"class_name": "Dense", "config": {"units": -1}},
                    {"class_name": "Dense"},
                    {"config": {}},
                    {"class_name": 3, "config": {}},
                    {"class_name": "Dense", "config": {"units": 2, "nope": 1}},
                ]
            },
            use=use_layer,
        ),
        Case(
            "layers.register",
            layers.register,
            {"name": "FuzzLayer", "factory": layers.Dense},
            kinds={"name": Text(bad=("",)), "factory": Callable_()},
        ),
        Case(
            "layers.trainable_mask",
            layers.trainable_mask,
            {"layer": CLASSIFIER, "params": PARAMS},
            kinds={"layer": Callable_(uncalled=(layers.Dense,)), "params": Sequence_()},
        ),
        Case(
            "layers.weighted_moments",
            layers.weighted_moments,
            {"x": jnp.asarray(X), "axis": 0},
            kinds={
                "x": Array(paired=False, any_shape=True, nan_ok=True),
                "axis": Int(low=-2, high=1),
                "sample_weight": Array(optional=True),
            },
            extra={"sample_weight": [NEGATIVE_WEIGHTS]},
        ),
    ]
    for merge in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        cases.append(Case(f"layers.{merge}", getattr(layers, merge), {}, kinds=common, use=use_merge))
    return cases


SYMBOLIC = fn.Input((3,))
SYMBOLIC_OUT = layers.Dense(2)(SYMBOLIC)
SHAPE_OR_NONE = Shape(optional=True)


def model_cases():
    model_arg = Callable_(uncalled=(layers.Dense, fn.Sequential))
    return [
        Case(
            "models.Input",
            fn.Input,
            {"shape": (3,)},
            kinds={"shape": Shape(), "name": LAYER_NAME, "dtype": DType(choices=("float32", "float64", "int32"))},
            use=lambda tensor: fn.Model(tensor, layers.Dense(1)(tensor)).init(KEY),
        ),
        Case(
            "models.Model",
            fn.Model,
            {"inputs": SYMBOLIC, "outputs": SYMBOLIC_OUT},
            kinds={"inputs": Sequence_(items=(X, 3)), "outputs": Sequence_(items=(X, 3)), "name": LAYER_NAME},
            labels={"outputs": ("output",), "inputs": ("input",)},
            extra={"outputs": [fn.Input((3,))], "inputs": [fn.Input((3,))]},
            use=lambda model: model.init(KEY),
        ),
        Case(
            "models.Sequential",
            fn.Sequential,
            {"layers": [layers.Dense(2)]},
            kinds={"layers": Sequence_(items=(layers.Dense, "dense", None, 3)), "name": LAYER_NAME},
            extra={"layers": [[]]},
            use=use_layer,
            labels={"layers": ("layer",)},
        ),
        Case(
            "models.call_layer",
            fn.models.call_layer,
            {"layer_value": layers.Dense(2), "inputs": SYMBOLIC},
            kinds={"layer_value": model_arg, "inputs": Sequence_(items=(X,))},
            labels={"inputs": ("called on",)},
        ),
        Case(
            "models.count_params",
            fn.models.count_params,
            {"model": CLASSIFIER, "params": PARAMS},
            kinds={"model": model_arg, "params": Sequence_()},
        ),
        Case("models.input_names", fn.models.input_names, {"model": CLASSIFIER}, kinds={"model": model_arg}),
        Case("models.output_names", fn.models.output_names, {"model": CLASSIFIER}, kinds={"model": model_arg}),
        Case(
            "models.summary",
            fn.models.summary,
            {"model": CLASSIFIER, "input_shape": (3,), "print_fn": lambda line: None},
            kinds={"model": model_arg, "input_shape": SHAPE_OR_NONE, "print_fn": Callable_()},
        ),
    ]


DROPOUT_NET = fn.Sequential([layers.Dense(4, "relu"), layers.Dropout(0.5), layers.Dense(3, "softmax")])


def model_method_cases():
    """``model.init`` / ``apply`` / ``apply_train`` / ``penalty`` / ``output_shape``: every Layer has them."""
    x = Array(paired=False, nan_ok=True, empty_ok=True)  # any batch, even empty; NaN passes (fit checks data)
    params = Sequence_(items=(X,))
    return [
        Case(
            "Layer.init",
            DROPOUT_NET.init,
            {"key": KEY, "input_shape": (3,)},
            kinds={
                "key": Key(),
                "input_shape": Shape(),
                "dtype": DType(choices=("float32", "float64", "bfloat16"), floating=True),
            },
        ),
        Case(
            "Layer.apply",
            DROPOUT_NET.apply,
            {"params": PARAMS, "x": X, "key": KEY, "training": True},
            kinds={"params": params, "x": x, "key": Key(optional=True), "training": Flag()},
            extra={"params": [{"dense": PARAMS["dense"]}]},
            labels={"x": ("input",)},
        ),
        Case(
            "Layer.apply_train",
            DROPOUT_NET.apply_train,
            {"params": PARAMS, "x": X, "key": KEY},
            kinds={"params": params, "x": x, "key": Key(optional=True), "sample_weight": Array(optional=True)},
            extra={"sample_weight": [NEGATIVE_WEIGHTS]},
            labels={"x": ("input",)},
        ),
        Case("Layer.penalty", DROPOUT_NET.penalty, {"params": PARAMS}, kinds={"params": params}),
        Case("Layer.output_shape", DROPOUT_NET.output_shape, {"input_shape": (3,)}, kinds={"input_shape": Shape()}),
    ]


def dataset_cases():
    from fnnet.datasets import mnist

    fake = TMP / "mnist" / "mnist.npz"  # Keras's layout, two images a part (verify=False skips the digests)
    fake.parent.mkdir()
    np.savez(
        fake,
        x_train=np.zeros((2, 28, 28), np.uint8),
        y_train=np.zeros(2, np.uint8),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2, np.uint8),
    )
    return [
        Case(
            "datasets.playground.make",
            playground.make,
            {"name": "circle", "n": 20, "key": KEY},
            kinds={
                "name": Name(choices=("circle", "xor", "gauss", "spiral", "plane", "multigauss")),
                "n": Int(low=1, huge=True),
                "noise": Float(low=0, high=0.5),
                "key": Key(),
            },
        ),
        Case(
            "datasets.mnist.load_data",
            mnist.load_data,
            {"path": fake, "verify": False, "download": False},
            kinds={"path": Path(write=False, optional=True)},
        ),
    ]


def use_callback(callback):
    """One short ``fit`` with the callback, validation data included (``val_loss`` exists)."""
    TRAINER.fit(
        PARAMS, X, ONE_HOT, epochs=2, batch_size=24, validation_split=0.25, callbacks=[callback], key=0, verbose=0
    )


MODE = Name(choices=("auto", "min", "max"))
MONITOR = Text(bad=("",))
VERBOSE = Int(low=0, high=1)
SAVE_FREQ = Name(choices=("epoch",))


def bool_verbose(name, value):
    """The callbacks take verbose=True/False as 1/0 (Keras scripts pass them)."""
    return name == "verbose" and isinstance(value, bool)


def missing_folder(name, value):
    """A checkpoint path in a folder that does not exist yet: the folder is created when it is written."""
    return name == "filepath" and "/missing-" in str(value)


def callback_cases():
    rule_kinds = {
        "sign": Float(),
        "min_delta": Float(),
        "patience": Int(low=0),
        "baseline": Float(optional=True),
        "start_from_epoch": Int(low=0),
        "factor": Float(low=0, high=1, low_open=True, high_open=True),
        "cooldown": Int(low=0),
        "min_lr": Float(low=0),
    }
    return [
        Case(
            "callbacks.EarlyStopping",
            callbacks.EarlyStopping,
            {},
            legit=bool_verbose,
            kinds={
                "monitor": MONITOR,
                "mode": MODE,
                "verbose": VERBOSE,
                "patience": Int(low=0),
                "start_from_epoch": Int(low=0),
                "min_delta": Float(),
                "baseline": Float(optional=True),
            },
            use=use_callback,
            slow=True,
        ),
        Case(
            "callbacks.ReduceLROnPlateau",
            callbacks.ReduceLROnPlateau,
            {},
            legit=bool_verbose,
            kinds={
                "monitor": MONITOR,
                "mode": MODE,
                "verbose": VERBOSE,
                "patience": Int(low=0),
                "factor": rule_kinds["factor"],
                "min_delta": Float(),
                "cooldown": Int(low=0),
                "min_lr": Float(low=0),
            },
            use=use_callback,
            slow=True,
        ),
        Case(
            "callbacks.ModelCheckpoint",
            callbacks.ModelCheckpoint,
            {"filepath": Lazy(lambda: str(TMP / f"ckpt-{STATS['inputs']}.safetensors"))},
            legit=any_of(bool_verbose, missing_folder),
            kinds={
                "filepath": Path(),
                "monitor": MONITOR,
                "mode": MODE,
                "verbose": VERBOSE,
                "save_freq": SAVE_FREQ,
                "keep": Int(low=1, optional=True),
                "input_shape": SHAPE_OR_NONE,
                "initial_value_threshold": Float(optional=True),
            },
            use=use_callback,
            slow=True,
        ),
        Case(
            "callbacks.BackupAndRestore",
            callbacks.BackupAndRestore,
            {"backup_dir": Lazy(lambda: str(TMP / f"backup-{STATS['inputs']}"))},
            kinds={"backup_dir": Folder(), "save_freq": SAVE_FREQ, "input_shape": SHAPE_OR_NONE},
            use=use_callback,
            slow=True,
        ),
        Case(
            "callbacks.CSVLogger",
            callbacks.CSVLogger,
            {"filename": Lazy(lambda: str(TMP / "log.csv"))},
            kinds={"filename": Path(), "separator": Text(bad=("", "\n", "ab"))},
            use=use_callback,
            slow=True,
        ),
        Case(
            "callbacks.TensorBoard",
            callbacks.TensorBoard,
            {"log_dir": Lazy(lambda: str(TMP / "tb"))},
            kinds={"log_dir": Folder(), "update_freq": SAVE_FREQ},
            use=use_callback,
            slow=True,
        ),
        Case(
            "callbacks.LearningRateScheduler",
            callbacks.LearningRateScheduler,
            {"schedule": lambda epoch, lr: lr},
            legit=bool_verbose,
            kinds={"schedule": Callable_(uncalled=(optimizers.exponential_decay,)), "verbose": VERBOSE},
            extra={"schedule": [lambda: 0.1, lambda epoch, lr: "fast", lambda epoch, lr: math.nan]},
            use=use_callback,
            slow=True,
        ),
        Case(
            "callbacks.LambdaCallback",
            callbacks.LambdaCallback,
            {"batch_hooks": {}},
            kinds={
                name: Callable_(optional=True)
                for name in ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end")
            },
            skip={"batch_hooks": "Keras's per-batch hooks: refused by name whatever the value"},
            extra={"on_epoch_end": [lambda: None, lambda a, b, c, d, e: None]},
            use=use_callback,
            slow=True,
        ),
        Case(
            "callbacks.as_list",
            callbacks.as_list,
            {"callbacks": [callbacks.History()]},
            kinds={"callbacks": Sequence_(optional=True, items=(callbacks.EarlyStopping, "EarlyStopping", 3))},
        ),
        Case(
            "callbacks.monitor_sign",
            callbacks.monitor_sign,
            {"monitor": "val_loss"},
            kinds={"monitor": MONITOR, "mode": MODE},
        ),
        Case(
            "callbacks.monitored_value",
            callbacks.monitored_value,
            {"callback_name": "EarlyStopping", "monitor": "loss", "logs": {"loss": 1.0}},
            kinds={"monitor": MONITOR, "logs": Sequence_(), "required": Flag()},
            skip={"callback_name": "the caller's label for messages"},
            extra={"logs": [{"loss": "a"}]},
        ),
        Case(
            "callbacks.EarlyStoppingRule",
            callbacks.EarlyStoppingRule,
            {"sign": -1.0},
            kinds=rule_kinds,
            extra={"sign": [0.0, 2.0]},
            use=lambda rule: callbacks.EarlyStoppingState.start(rule).update(1.0, 0),
        ),
        Case(
            "callbacks.ReduceLROnPlateauRule",
            callbacks.ReduceLROnPlateauRule,
            {"sign": -1.0},
            kinds=rule_kinds,
            extra={"sign": [0.0, 2.0]},
            use=lambda rule: callbacks.ReduceLROnPlateauState.start(rule).update(1.0, 0.1),
        ),
    ]


def keys_cases():
    from fnnet import keys

    return [
        Case("keys.as_key", keys.as_key, {"key": 0}, kinds={"key": Key()}, skip={"name": "the caller's label"}),
        Case(
            "keys.optional_key",
            keys.optional_key,
            {"key": 0},
            kinds={"key": Key(optional=True)},
            skip={"name": "the caller's label"},
        ),
        Case(
            "sweep.grid",
            sweep.grid,
            {"axes": {"learning_rate": [0.1, 0.01]}},
            kinds={"axes": Sequence_(items=())},
            extra={"axes": [[], np.zeros((2, 2)), "ab"]},
        ),
        Case(
            "sweep.random_search",
            sweep.random_search,
            {"key": KEY, "k": 3, "distributions": {"learning_rate": ("log_uniform", 1e-3, 1e-1)}},
            kinds={"key": Key(), "k": Int(low=1, huge=True), "distributions": Sequence_()},
            extra={
                "distributions": [
                    ("uniform", 1.0, 0.0),
                    ("log_uniform", -1.0, 1.0),
                    ("normal", 0.0, 1.0),
                    ("uniform", math.nan, 1.0),
                    ("uniform", 0.0),
                    [],
                    (),
                ]
            },
        ),
        Case("sweep.seeds", sweep.seeds, {"k": 3}, kinds={"k": Int(low=1, huge=True)}),
        Case(
            "sweep.variant_keys", sweep.variant_keys, {"key": KEY, "seed": 0}, kinds={"key": Key(), "seed": Int(low=0)}
        ),
    ]


# --- training, saving, sweeps: each call compiles or trains, so these are slow -------------------------------------

LOSS = Callable_(strings=True, uncalled=(losses.Huber,))
OPTIMIZER = Callable_(strings=True, uncalled=(optax.sgd, optimizers.get))
METRICS_KIND = Sequence_(optional=True, items=("acuracy", 3, None, metrics.AUC))
REGULARIZERS = Sequence_(optional=True, items=("l2", 0.01, regularizers.l2))
POLICY = Name(choices=("float32", "mixed_bfloat16", "float64"))
WEIGHTED_LOSS = Name(choices=("sum_over_batch_size", "mean", "mean_with_sample_weight"))
MODEL = Callable_(uncalled=(layers.Dense, fn.Sequential))
FIT_KINDS = {
    "params_or_state": Sequence_(items=(X,)),
    "x": Array(),
    "y": Array(optional=True),
    "epochs": Int(low=0, huge=True),
    "batch_size": Int(low=1),
    "validation_split": Float(low=0, high=1, high_open=True),
    "validation_data": Sequence_(optional=True, items=(X,)),
    "shuffle": Flag(),
    "callbacks": Sequence_(optional=True, items=(callbacks.EarlyStopping, "EarlyStopping", 3)),
    "key": Key(optional=True),
    "verbose": Int(low=0, high=2),
    "augment": Callable_(optional=True, uncalled=(augment.random_flip,)),
    "mesh": Name(choices=("local",), optional=True),
    "sample_weight": Array(optional=True),
    "class_weight": Sequence_(optional=True, items=()),
    "checks": Flag(),
    "return_dict": Flag(),
}
FIT_EXTRA = {
    "sample_weight": [NEGATIVE_WEIGHTS, np.zeros(24, np.float32)],
    "class_weight": [{0: -1.0}, {0: math.nan}, {"a": 1.0}, {7: 1.0}, {0: "2"}, [1.0, 2.0], "balanced"],
    "validation_data": [(X,), (X, ONE_HOT[:, :2]), (X[:, :2], ONE_HOT), (X[:0], ONE_HOT[:0]), (X, ONE_HOT, "w")],
    "params_or_state": [{"dense": PARAMS["dense"]}, CLASSIFIER],
    "y": [LABELS],
}


FIT_LABELS = {
    "params_or_state": ("first argument", "params"),
    "validation_data": ("validation",),
    "metrics": ("metric",),
}
PREDICT_KINDS = {**FIT_KINDS, "x": Array(paired=False)}  # any number of samples


def column_weights(name, value):
    """Sample weights of shape (N, 1): one per sample, as Keras reads them."""
    return (
        name == "sample_weight"
        and np.shape(value) == (24, 1)
        and np.all(np.isfinite(value))
        and np.all(np.asarray(value) >= 0)
        and np.any(np.asarray(value) > 0)
    )


def trainer_cases():
    fit_base = {"params_or_state": PARAMS, "x": X, "y": ONE_HOT, "epochs": 1, "batch_size": 8, "key": KEY, "verbose": 0}
    evaluate_base = {"params_or_state": PARAMS, "x": X, "y": ONE_HOT}
    no_multi = {"mesh": "one CPU device: a mesh is checked in tests/test_parallel.py"}
    return [
        Case(
            "Trainer.fit",
            TRAINER.fit,
            fit_base,
            kinds=FIT_KINDS,
            extra=FIT_EXTRA,
            labels=FIT_LABELS,
            legit=column_weights,
            skip=no_multi,
            slow=True,
        ),
        Case(
            "Trainer.evaluate",
            TRAINER.evaluate,
            evaluate_base,
            kinds={**FIT_KINDS, "y": Array(), "verbose": Name(choices=("auto",), also=(0, 1, 2))},
            extra=FIT_EXTRA,
            labels=FIT_LABELS,
            legit=column_weights,
            skip=no_multi,
            slow=True,
        ),
        Case(
            "Trainer.predict",
            TRAINER.predict,
            {"params_or_state": PARAMS, "x": X},
            kinds=PREDICT_KINDS,
            extra=FIT_EXTRA,
            labels=FIT_LABELS,
            legit=column_weights,
            skip=no_multi,
            slow=True,
        ),
        Case(
            "Trainer.predict_classes",
            TRAINER.predict_classes,
            {"params_or_state": PARAMS, "x": X},
            kinds=PREDICT_KINDS,
            extra=FIT_EXTRA,
            labels=FIT_LABELS,
            legit=column_weights,
            skip=no_multi,
            slow=True,
        ),
        Case(
            "Trainer.init_state",
            TRAINER.init_state,
            {"params": PARAMS, "key": KEY},
            kinds={"params": Sequence_(items=(X,)), "key": Key()},
            slow=True,
        ),  # params fit the model: fit checks
        Case(
            "Trainer",
            fn.Trainer,
            {"objective": TRAINER.objective, "optimizer": "sgd"},
            kinds={"objective": Callable_(uncalled=(fn.objective,)), "optimizer": OPTIMIZER},
            slow=True,
        ),
        Case(
            "compile",
            fn.compile,
            {"model": CLASSIFIER, "loss": "categorical_crossentropy", "optimizer": "sgd"},
            kinds={
                "model": MODEL,
                "loss": LOSS,
                "optimizer": OPTIMIZER,
                "metrics": METRICS_KIND,
                "regularizers": REGULARIZERS,
                "loss_weights": Sequence_(optional=True, items=(math.nan, -1.0)),
                "dtype_policy": POLICY,
                "weighted_loss": WEIGHTED_LOSS,
            },
            labels={"metrics": ("metric",)},
            slow=True,
        ),
        Case(
            "objective",
            fn.objective,
            {"model": CLASSIFIER, "loss": "categorical_crossentropy", "regularizers": [regularizers.l2(0.01)]},
            kinds={
                "model": MODEL,
                "loss": LOSS,
                "regularizers": REGULARIZER,
                "metrics": METRICS_KIND,
                "loss_weights": Sequence_(optional=True, items=(math.nan, -1.0)),
                "dtype_policy": POLICY,
                "weighted_loss": WEIGHTED_LOSS,
            },
            labels={"metrics": ("metric",)},
            slow=True,
        ),
        Case(
            "train_step",
            fn.train_step,
            {"model": CLASSIFIER, "loss": "categorical_crossentropy", "optimizer": "sgd"},
            kinds={
                "model": MODEL,
                "loss": LOSS,
                "optimizer": OPTIMIZER,
                "metrics": METRICS_KIND,
                "regularizers": REGULARIZERS,
                "augment": Callable_(optional=True, uncalled=(augment.random_flip,)),
                "dtype_policy": POLICY,
                "weighted_loss": WEIGHTED_LOSS,
                "checks": Flag(),
            },
            labels={"metrics": ("metric",)},
            use=lambda step: step(STATE, X, ONE_HOT),
            slow=True,
        ),
        Case(
            "training.init_state",
            training.init_state,
            {"params": PARAMS, "optimizer": optax.sgd(0.1), "key": KEY},
            kinds={"params": Sequence_(items=(X,)), "optimizer": Callable_(uncalled=(optax.sgd,)), "key": Key()},
            slow=True,
        ),
    ]


def saving_cases():
    path = Lazy(lambda: str(TMP / f"model-{STATS['inputs']}.safetensors"))
    saved = TMP / "saved.safetensors"
    fn.save_model(saved, CLASSIFIER, PARAMS)
    checkpoint = TMP / "checkpoint.safetensors"
    fn.save_checkpoint(checkpoint, STATE, model=CLASSIFIER, epoch=1)
    return [
        Case(
            "save_model",
            fn.save_model,
            {"path": path, "model": CLASSIFIER, "params": PARAMS},
            kinds={"path": Path(), "model": MODEL, "params": Sequence_(items=(X,)), "input_shape": SHAPE_OR_NONE},
            extra={"params": [{"dense": PARAMS["dense"]}]},  # NaN params save as they are: a diverged run's record
            slow=True,
        ),
        Case("load_model", fn.load_model, {"path": saved}, kinds={"path": Path(write=False)}, slow=True),
        Case(
            "save_checkpoint",
            fn.save_checkpoint,
            {"path": path, "state": STATE, "model": CLASSIFIER, "epoch": 1},
            kinds={
                "path": Path(),
                "state": Sequence_(items=(X,)),
                "model": MODEL,
                "epoch": Int(low=0),
                "history": Sequence_(optional=True),
                "callbacks_state": Sequence_(optional=True),
                "callbacks_params": Sequence_(optional=True),
                "input_shape": SHAPE_OR_NONE,
            },
            extra={"state": [PARAMS], "history": [{"loss": ["a"]}, {3: [1.0]}]},
            slow=True,
        ),
        Case(
            "load_checkpoint",
            fn.load_checkpoint,
            {"path": checkpoint},
            kinds={"path": Path(write=False), "like": Callable_(optional=True, uncalled=(optax.sgd,))},
            slow=True,
        ),
    ]


def sweep_cases():
    base = {
        "model": CLASSIFIER,
        "x": X,
        "y": ONE_HOT,
        "variants": {"learning_rate": np.array([0.1, 0.01])},
        "loss": "categorical_crossentropy",
        "optimizer": "sgd",
        "epochs": 1,
        "batch_size": 8,
        "key": KEY,
        "verbose": 0,
    }
    kinds = {
        **FIT_KINDS,
        "model": MODEL,
        "loss": LOSS,
        "optimizer": OPTIMIZER,
        "metrics": METRICS_KIND,
        "regularizers": REGULARIZERS,
        "monitor": Text(optional=True, bad=("", "nope")),
        "mode": MODE,
        "early_stopping": Callable_(optional=True, uncalled=(callbacks.EarlyStopping,)),
        "initial_params": Sequence_(optional=True, items=(X,)),
        "schedule": Sequence_(optional=True),  # only fn.sweep.halving(...) values
        "max_variants_per_program": Int(low=1, optional=True),  # or "auto", the default
        "dtype_policy": POLICY,
        "key": Key(),
        "variants": Sequence_(),
        "folds": Int(low=2, huge=True),
        "verbose": Int(low=0, high=2),
        "x": Array(any_shape=True),
    }  # the params are built for x: any feature count
    extra = {
        "variants": [
            {"learning_rate": [-0.1, 0.1]},
            {"nope": [1, 2]},
            {},
            {"learning_rate": [math.nan]},
            {"seed": [0.5, 1.5]},
            {"learning_rate": [0.1], "seed": [0, 1]},
        ],
        "initial_params": [PARAMS],
    }
    cv_base = {k: v for k, v in base.items() if k != "variants"} | {"folds": 2}
    labels = {**FIT_LABELS, "variants": ("variant", "hyperparameter")}
    no_multi = {"mesh": "one CPU device: a mesh is checked in tests/test_parallel.py"}
    return [
        Case("sweep.fit", sweep.fit, base, kinds=kinds, extra=extra, skip=no_multi, labels=labels, slow=True),
        Case("sweep.cross_validate", sweep.cross_validate, cv_base, kinds=kinds, extra=extra, labels=labels, slow=True),
        Case(
            "sweep.halving",
            sweep.halving,
            {},
            kinds={"eta": Int(low=2, huge=True), "min_epochs": Int(low=1, huge=True)},
        ),
    ]


def fnnet_testing_cases():
    def f(params, x):
        return jnp.sum(jnp.tanh(x @ params["w"]))

    params = {"w": np.ones((3, 2))}
    return [
        Case(
            "testing.numerical_grad",
            testing.numerical_grad,
            {"f": f, "params": params, "args": [X[:2]]},
            kinds={
                "f": Callable_(),
                "params": Sequence_(items=(X,)),
                "args": Array(),
                "eps": Float(low=0, low_open=True),
                "chunk": Int(low=1),
            },
            skip={"args": "passed through to f"},
            slow=True,
        ),
        Case(
            "testing.check_grads",
            testing.check_grads,
            {"f": f, "params": params, "args": [X[:2]]},
            kinds={
                "f": Callable_(),
                "params": Sequence_(items=(X,)),
                "eps": Float(low=0, low_open=True),
                "rtol": Float(low=0),
                "atol": Float(low=0),
            },
            skip={"args": "passed through to f"},
            slow=True,
        ),
        Case(
            "testing.mlps",
            testing.mlps,
            {},
            kinds={
                "min_depth": Int(low=1),
                "max_depth": Int(low=1),
                "max_width": Int(low=1),
                "min_inputs": Int(low=1),
                "max_inputs": Int(low=1),
                "activations": Sequence_(items=("relux", 3)),
            },
            extra={"min_depth": [4], "min_inputs": [7], "activations": [[]]},
            use=lambda s: DRAW(s),
        ),
        Case(
            "testing.batches",
            testing.batches,
            {"input_shape": (3,)},
            kinds={
                "input_shape": Shape(),
                "min_size": Int(low=1),
                "max_size": Int(low=1),
                "bound": Float(low=0, low_open=True),
            },
            extra={"min_size": [9]},
            use=lambda s: DRAW(s),
        ),
    ]


def DRAW(strategy):
    """One example of a strategy, also inside a running ``@given``."""
    return strategy.validate()


CASES = (
    activation_cases()
    + initializer_cases()
    + regularizer_cases()
    + loss_like_cases(losses, LOSSES)
    + loss_helper_cases()
    + loss_like_cases(metrics, METRICS)
    + metric_helper_cases()
    + optimizer_cases()
    + precision_and_parallel_cases()
    + data_cases()
    + augment_cases()
    + layer_cases()
    + model_cases()
    + model_method_cases()
    + dataset_cases()
    + callback_cases()
    + keys_cases()
    + trainer_cases()
    + saving_cases()
    + sweep_cases()
    + fnnet_testing_cases()
)


def sklearn_cases():
    from fnnet import sklearn as fn_sklearn

    def fitted(estimator_class, y):
        return lambda estimator: estimator.fit(X, y)

    kinds = {
        "model": Callable_(optional=True),
        "hidden_layer_sizes": Shape(),
        "activation": Name(choices=ACTIVATION_NAMES, optional=True),
        "dropout": Float(low=0, high=1, high_open=True),
        "l2": Float(low=0),
        "optimizer": Name(choices=OPTIMIZER_NAMES),
        "learning_rate": Float(low=0, low_open=True),
        "batch_size": Int(low=1),
        "epochs": Int(low=1, huge=True),
        "validation_split": Float(low=0, high=1, high_open=True),
        "early_stopping": Flag(),
        "patience": Int(low=0),
        "random_state": Int(low=0, optional=True),
        "verbose": Int(low=0, high=2),
        "dtype_policy": POLICY,
    }
    base = {"hidden_layer_sizes": (4,), "epochs": 1}
    return [
        Case(
            "sklearn.NeuralNetClassifier",
            fn_sklearn.NeuralNetClassifier,
            base,
            kinds=kinds,
            use=fitted(fn_sklearn.NeuralNetClassifier, LABELS),
            slow=True,
        ),
        Case(
            "sklearn.NeuralNetRegressor",
            fn_sklearn.NeuralNetRegressor,
            base,
            kinds=kinds,
            use=fitted(fn_sklearn.NeuralNetRegressor, X[:, 0]),
            slow=True,
        ),
    ]


CASES += sklearn_cases()


# --- the public surface, and what is not fuzzed (with the reason) --------------------------------------------------

PUBLIC_MODULES = (
    "fnnet",
    "fnnet.activations",
    "fnnet.augment",
    "fnnet.callbacks",
    "fnnet.data",
    "fnnet.datasets",
    "fnnet.datasets.playground",
    "fnnet.datasets.mnist",
    "fnnet.datasets.digits",
    "fnnet.datasets.mnist1d",
    "fnnet.initializers",
    "fnnet.keys",
    "fnnet.layers",
    "fnnet.losses",
    "fnnet.metrics",
    "fnnet.models",
    "fnnet.optimizers",
    "fnnet.parallel",
    "fnnet.precision",
    "fnnet.regularizers",
    "fnnet.saving",
    "fnnet.sklearn",
    "fnnet.sklearn_builder",
    "fnnet.sweep",
    "fnnet.testing",
    "fnnet.training",
)

NOT_FUZZED = {
    "sweep.Halving": "the NamedTuple sweep.halving builds after checking its arguments",
    # changes the process's JAX configuration (every later compile would go to the cache): its bad paths are
    # tested in tests/test_compilation_cache.py, which turns the cache on only in subprocesses
    "enable_compilation_cache": "changes the process's JAX configuration; tests/test_compilation_cache.py",
    # no arguments
    "datasets.digits.load_data": "no arguments",
    "datasets.mnist1d.load_data": "no arguments",
    "datasets.mnist.default_folders": "no arguments",
    "layers.registered": "no arguments",
    "precision.x64_enabled": "no arguments",
    "callbacks.History": "no arguments",
    "callbacks.TerminateOnNaN": "no arguments",
    "callbacks.Callback": "no arguments (a base class)",
    "parallel.fetch": "any pytree: brought to the host as it is",
    # total functions: every value is legitimate
    "activations.name_of": "any object: its registry name or None",
    "initializers.name_of": "any object: its registry name or None",
    "metrics.is_streaming": "any object: True or False",
    "losses.is_concrete": "any objects: whether none is a tracer",
    # helpers that losses, metrics, training and sweeps share: they take arrays, meshes and losses that their
    # public callers (fuzzed) have converted and checked already
    **{
        f"losses.{name}": "a label or shape check that fit, evaluate and the losses run on arrays they converted"
        for name in (
            "check_binary",
            "check_probabilities",
            "check_signs",
            "check_non_negative",
            "check_one_hot",
            "check_class_labels",
            "check_labels",
            "check_label_values",
            "check_samples",
            "labels_in_range",
        )
    },
    "losses.label_rule": "the words for a loss's labels, in messages",
    "losses.check_sample_weight": "the value check of weights whose shape the losses and fit check",
    "losses.weighted": "a loss or metric that fn.objective (fuzzed) was given, made to take sample weights",
    "losses.PerSample": "built by losses.weighted around a user's callable",
    "metrics.metric_name": "any object: a metric's log name (the string, or the callable's __name__)",
    "losses.unconfigured": "the loss inside a WithOptions, or its argument as is",
    "metrics.check_labels": "the label check fit and evaluate run on arrays they converted",
    "losses.WithOptions": "built by losses.configure (fuzzed)",
    "regularizers.is_kernel": "a leaf predicate on jax.tree_util key paths",
    "regularizers.every_leaf": "a leaf predicate on jax.tree_util key paths",
    **{
        f"parallel.{name}": "plumbing for a mesh fit, evaluate, predict and sweeps resolved (resolve_mesh, fuzzed)"
        for name in ("process_slice", "data_devices", "check_batch_size", "place", "place_batch", "shard_batch")
    },
    # the estimators' model=build plumbing: fit runs it on hyperparameters it read (the estimators' model is fuzzed)
    **{
        f"sklearn_builder.{name}": "what the estimators' fit runs for model=build (fuzzed through model)"
        for name in (
            "check_model",
            "check_no_routed",
            "check_no_mlp_hyperparameters",
            "config",
            "trainer",
            "check_output",
        )
    },
    # protocols and values built by fnnet itself, not by users
    "sklearn_builder.BuilderConfig": "built by sklearn_builder.config in the estimators' fit",
    "losses.Loss": "a Protocol",
    "layers.Layer": "the layer value, built by every layer constructor (test_layers.py builds custom ones)",
    "models.ModelLayer": "a Layer subclass built by Sequential and Model",
    "models.SymbolicTensor": "built by Input and by calling layers on symbolic tensors",
    "Objective": "built by fn.objective, which is fuzzed",
    "training.Objective": "built by fn.objective",
    "TrainState": "a pytree built by init_state / Trainer.init_state, which are fuzzed",
    "training.TrainState": "a pytree built by init_state",
    "saving.Checkpoint": "what load_checkpoint returns",
    "sweep.SweepResult": "what sweep.fit returns",
    "sweep.CrossValidation": "what cross_validate returns",
    "callbacks.Resume": "a resumption record built by BackupAndRestore",
    "callbacks.EarlyStoppingState": "built by EarlyStoppingState.start(rule), exercised through the rule",
    "callbacks.ReduceLROnPlateauState": "built by ReduceLROnPlateauState.start(rule), exercised through the rule",
    "callbacks.keep_best": "inside the compiled sweep epoch, on states built by fnnet",
    "callbacks.resume": "the fit loop's hook runner, on callbacks and states built by fnnet",
    "callbacks.run_hooks": "the fit loop's hook runner, on callbacks and states built by fnnet",
}
ALIASES = {  # the same object under another public name: fuzzed once
    "Input": "models.Input",
    "Model": "models.Model",
    "Sequential": "models.Sequential",
    "training.Trainer": "Trainer",
    "training.compile": "compile",
    "training.objective": "objective",
    "training.train_step": "train_step",
    "saving.save_model": "save_model",
    "saving.load_model": "load_model",
    "saving.save_checkpoint": "save_checkpoint",
    "saving.load_checkpoint": "load_checkpoint",
}


def _public_module(value):
    """Whether ``value`` is defined in a public fnnet module (not JAX's, not ``fnnet._checks``)."""
    parts = str(getattr(value, "__module__", "")).split(".")
    return parts[0] == "fnnet" and not any(part.startswith("_") for part in parts)


def public_callables():
    """``{qualified name: object}`` for every public callable: ``__all__`` where a module has one, else the public
    names defined in the module itself (not the ones it imports)."""
    import importlib

    found = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        prefix = module_name.removeprefix("fnnet").removeprefix(".")
        names = getattr(module, "__all__", None)
        if names is None:
            names = [
                n
                for n, v in vars(module).items()
                if not n.startswith("_")
                and _public_module(v)
                and str(getattr(v, "__module__", "")).startswith(module_name)
            ]  # defined here, not imported
        for name in names:
            value = getattr(module, name)
            if callable(value) and not isinstance(value, types.ModuleType):
                found[f"{prefix}.{name}" if prefix else name] = value
    return found


def test_every_public_callable_is_fuzzed_or_says_why_not():
    fuzzed = {case.name.split(" ")[0] for case in CASES}
    missing = sorted(
        name
        for name in public_callables()
        if name not in fuzzed and name not in NOT_FUZZED and ALIASES.get(name) not in fuzzed
    )
    assert not missing, f"public callables without a fuzz case or a reason in NOT_FUZZED: {missing}"
    stale = sorted(set(NOT_FUZZED) - set(public_callables()) | set(NOT_FUZZED) & fuzzed)
    assert not stale, f"NOT_FUZZED names that are not public or are fuzzed after all: {stale}"


def test_every_parameter_is_fuzzed_or_says_why_not():
    unknown = [f"{case.name}: {name}" for case in CASES for name in case.parameters() if case.kind(name) is None]
    assert not unknown, f"parameters whose kind neither the annotation nor the table gives: {unknown}"


# --- the fuzz ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "parameter_name"), case_parameters(CASES))
def test_bad_values_raise_errors_naming_the_parameter(case, parameter_name):
    problems = fuzz(case, parameter_name)
    assert not problems, f"{len(problems)} obscure or silent outcomes:\n" + "\n".join(problems)


def test_summary(tmp_path_factory):
    """The totals of this run (printed; ``pytest -s`` shows them) in ``fuzz_generated_stats.json``."""
    summary = {
        "callables covered": len(COVERED),
        "inputs tried": STATS["inputs"],
        "clear errors": STATS[CLEAR],
        "valid values that work": STATS[WORKS],
        "obscure": STATS[OBSCURE],
        "silent": STATS[SILENT],
        "valid values rejected": STATS[REJECTS_VALID],
    }
    path = tmp_path_factory.getbasetemp() / "fuzz_generated_stats.json"
    path.write_text(json.dumps(summary, indent=1))
    print(f"\ngenerated fuzz: {summary} ({path})")
    assert summary["obscure"] == summary["silent"] == summary["valid values rejected"] == 0
