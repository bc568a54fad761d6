"""The Playground's run configuration: one frozen, validated value, to and from a query string.

Every field the page sends is checked here against the TensorFlow
Playground's bounds and value lists (``src/state.ts`` and ``index.html`` of
tensorflow/playground): 0-6 hidden layers of 1-8 neurons, batch size 1-30,
noise 0-50, training share 10-90 %, the Playground's learning and
regularization rates, names from fixed lists. A bad field raises
``ConfigError`` (a ``ValueError``) whose message names the field, the value
given and what is allowed; the server answers it with HTTP 400.

The field names in the query string are the Playground's own (``dataset``,
``regDataset``, ``noise``, ``percTrainData``, ``batchSize``, ``networkShape``,
``activation``, ``learningRate``, ``regularization``, ``regularizationRate``,
``x``, ``y``, ``xTimesY``, ...), plus fnnet's ``optimizer``, ``compare`` and
``compareValues``; ``seed`` is an integer here. ``Config.from_query(
config.to_query())`` gives the config back, so a link reproduces a run.
"""

import dataclasses
import math
from urllib.parse import parse_qsl, urlencode

PROBLEMS = ("classification", "regression")
DATASETS = {"circle": "circle", "xor": "xor", "gauss": "gauss", "spiral": "spiral"}
REG_DATASETS = {"reg-plane": "plane", "reg-gauss": "multigauss"}  # Playground name -> fnnet.datasets.playground
NUM_SAMPLES = {"classification": 500, "regression": 1200}  # the Playground's NUM_SAMPLES_CLASSIFY / _REGRESS
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "L1", "L2")
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REGULARIZATION_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
# fnnet optimizers by name; "momentum" and "nesterov" are SGD with momentum 0.9 (Keras's SGD(momentum=0.9)).
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "amsgrad")
# input features in the Playground's order: (query name, label, formula used in the exported script)
FEATURES = (
    ("x", "X₁", "x1"),
    ("y", "X₂", "x2"),
    ("xSquared", "X₁²", "x1 ** 2"),
    ("ySquared", "X₂²", "x2 ** 2"),
    ("xTimesY", "X₁X₂", "x1 * x2"),
    ("sinX", "sin(X₁)", "np.sin(x1)"),
    ("sinY", "sin(X₂)", "np.sin(x2)"),
)
FEATURE_NAMES = tuple(name for name, _, _ in FEATURES)
COMPARE = ("none", "learningRate", "regularizationRate", "seed")
MAX_LAYERS, MAX_NEURONS, MAX_BATCH, MAX_VARIANTS = 6, 8, 30, 4
MAX_SEED = 2**31 - 1


# fields of TensorFlow Playground links that fnnet's has not: the values accepted (and ignored)
_ANY = ("any value",)
PLAYGROUND_ONLY = {
    "cosX": ("false",),
    "cosY": ("false",),
    "initZero": ("false",),
    "collectStats": _ANY,
    "tutorial": _ANY,
    "hideText": _ANY,
}


def _playground_seed(value):
    """The TensorFlow Playground's seed ``0.84321`` (``Math.random().toFixed(5)``) as the integer 84321."""
    if isinstance(value, str) and value.startswith("0.") and value[2:].isdigit() and len(value) <= 12:
        return int(value[2:])
    return value


class ConfigError(ValueError):
    """A field outside the Playground's bounds; the message says which, what was given and what is allowed."""


def _fail(field, value, allowed):
    raise ConfigError(f"{field}: got {value!r}; expected {allowed}")


def _integer(field, value, low, high):
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            _fail(field, value, f"an integer in [{low}, {high}]")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(field, value, f"an integer in [{low}, {high}]")
    return value


def _choice(field, value, choices):
    if value not in choices:
        _fail(field, value, f"one of {', '.join(map(str, choices))}")
    return value


def _rate(field, value, rates):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    for rate in rates:
        if math.isclose(number, rate, rel_tol=1e-9, abs_tol=1e-12):
            return rate
    _fail(field, value, f"one of the Playground's values {', '.join(format_rate(r) for r in rates)}")


def _boolean(field, value):
    if isinstance(value, bool):
        return value
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    _fail(field, value, "true or false")


def _integers(value):
    if isinstance(value, str):
        return [] if not value.strip() else value.split(",")
    return list(value)


def format_rate(value) -> str:
    """A rate as the Playground writes it: ``0.03``, ``1``, ``0.00001``."""
    return f"{value:.5f}".rstrip("0").rstrip(".") if value < 1 else f"{value:g}"


@dataclasses.dataclass(frozen=True)
class Config:
    """A validated Playground configuration; defaults are the Playground's opening page."""

    problem: str = "classification"
    dataset: str = "circle"
    regDataset: str = "reg-plane"  # noqa: N815 (the Playground's query names)
    noise: int = 0
    percTrainData: int = 50  # noqa: N815
    batchSize: int = 10  # noqa: N815
    networkShape: tuple = (4, 2)  # noqa: N815
    activation: str = "tanh"
    learningRate: float = 0.03  # noqa: N815
    regularization: str = "none"
    regularizationRate: float = 0.0  # noqa: N815
    features: tuple = ("x", "y")
    optimizer: str = "sgd"
    seed: int = 0
    showTestData: bool = False  # noqa: N815
    discretize: bool = False
    compare: str = "none"
    compareValues: tuple = ()  # noqa: N815

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        _choice("problem", self.problem, PROBLEMS)
        _choice("dataset", self.dataset, tuple(DATASETS))
        _choice("regDataset", self.regDataset, tuple(REG_DATASETS))
        set_("noise", _integer("noise", self.noise, 0, 50))
        set_("percTrainData", _integer("percTrainData", self.percTrainData, 10, 90))
        set_("batchSize", _integer("batchSize", self.batchSize, 1, MAX_BATCH))
        shape = _integers(self.networkShape)
        if len(shape) > MAX_LAYERS:
            _fail("networkShape", self.networkShape, f"at most {MAX_LAYERS} hidden layers")
        set_("networkShape", tuple(_integer("networkShape", units, 1, MAX_NEURONS) for units in shape))
        _choice("activation", self.activation, ACTIVATIONS)
        set_("learningRate", _rate("learningRate", self.learningRate, LEARNING_RATES))
        _choice("regularization", self.regularization, REGULARIZATIONS)
        set_("regularizationRate", _rate("regularizationRate", self.regularizationRate, REGULARIZATION_RATES))
        features = tuple(self.features)
        for name in features:
            _choice("feature", name, FEATURE_NAMES)
        if not features:
            _fail("features", features, "at least one input feature")
        set_("features", tuple(name for name in FEATURE_NAMES if name in features))  # the Playground's order
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        set_("seed", _integer("seed", self.seed, 0, MAX_SEED))
        set_("showTestData", _boolean("showTestData", self.showTestData))
        set_("discretize", _boolean("discretize", self.discretize))
        _choice("compare", self.compare, COMPARE)
        set_("compareValues", self._check_compare_values())

    def _check_compare_values(self):
        values = self.compareValues.split(",") if isinstance(self.compareValues, str) else list(self.compareValues)
        values = [v for v in values if v != ""]
        if self.compare == "none":
            if values:
                _fail("compareValues", self.compareValues, "none unless compare is set")
            return ()
        if not 2 <= len(values) <= MAX_VARIANTS:
            _fail("compareValues", self.compareValues, f"2 to {MAX_VARIANTS} comma-separated values")
        if self.compare == "seed":
            checked = tuple(_integer("compareValues", v, 0, MAX_SEED) for v in values)
        else:
            rates = LEARNING_RATES if self.compare == "learningRate" else REGULARIZATION_RATES
            checked = tuple(_rate("compareValues", v, rates) for v in values)
        if len(set(checked)) != len(checked):
            _fail("compareValues", self.compareValues, "distinct values")
        if self.compare == "regularizationRate" and self.regularization == "none":
            _fail("compare", self.compare, "regularization L1 or L2 to compare regularization rates")
        return checked

    # ---- derived values -------------------------------------------------------------------------------------
    @property
    def classification(self) -> bool:
        return self.problem == "classification"

    @property
    def data_name(self) -> str:
        """The ``fnnet.datasets.playground`` name of the data set."""
        return DATASETS[self.dataset] if self.classification else REG_DATASETS[self.regDataset]

    @property
    def num_samples(self) -> int:
        return NUM_SAMPLES[self.problem]

    @property
    def num_train(self) -> int:
        """The Playground's split: the first ``floor(n * percTrainData / 100)`` points train."""
        return self.num_samples * self.percTrainData // 100

    @property
    def variants(self) -> tuple:
        """One dict per trained variant: its ``seed``, ``learningRate`` and ``regularizationRate``."""
        base = {"seed": self.seed, "learningRate": self.learningRate, "regularizationRate": self.regularizationRate}
        if self.compare == "none":
            return (base,)
        return tuple({**base, self.compare: value} for value in self.compareValues)

    def architecture(self) -> tuple:
        """What fixes the compiled program's shapes and structure (not the rates, seeds or display flags)."""
        return (
            self.problem,
            self.features,
            self.networkShape,
            self.activation,
            self.regularization,
            self.optimizer,
            self.batchSize,
            self.num_train,
            len(self.variants),
        )

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)

    # ---- query strings ---------------------------------------------------------------------------------------
    def to_query(self) -> str:
        """The configuration as a query string (the page keeps it in the URL's hash)."""
        items = [
            ("problem", self.problem),
            ("dataset", self.dataset),
            ("regDataset", self.regDataset),
            ("noise", self.noise),
            ("percTrainData", self.percTrainData),
            ("batchSize", self.batchSize),
            ("networkShape", ",".join(map(str, self.networkShape))),
            ("activation", self.activation),
            ("learningRate", format_rate(self.learningRate)),
            ("regularization", self.regularization),
            ("regularizationRate", format_rate(self.regularizationRate)),
        ]
        items += [(name, str(name in self.features).lower()) for name in FEATURE_NAMES]
        items += [
            ("optimizer", self.optimizer),
            ("seed", self.seed),
            ("showTestData", str(self.showTestData).lower()),
            ("discretize", str(self.discretize).lower()),
        ]
        if self.compare != "none":
            values = ",".join(str(v) if self.compare == "seed" else format_rate(v) for v in self.compareValues)
            items += [("compare", self.compare), ("compareValues", values)]
        return urlencode(items, safe=",")

    @classmethod
    def from_query(cls, query) -> "Config":
        """A config from a query string or a ``{name: str}`` mapping; missing fields take the defaults.

        Unknown or repeated fields are errors, as is a malformed value. A TensorFlow Playground link
        works too: its display-only fields are ignored, ``cosX``/``cosY``/``initZero`` must be false, and
        its decimal seed (``0.84321``) becomes the integer of its digits (84321).
        """
        if isinstance(query, str):
            if len(query) > 4096:
                raise ConfigError(f"query: {len(query)} characters; expected at most 4096")
            pairs = parse_qsl(query.lstrip("?#"), keep_blank_values=True)
        else:
            pairs = list(query.multi_items()) if hasattr(query, "multi_items") else list(query.items())
        fields = {f.name for f in dataclasses.fields(cls)} - {"features"}
        values, features, seen = {}, None, set()
        for name, value in pairs:
            if name in seen:
                raise ConfigError(f"{name}: given twice")
            seen.add(name)
            if not isinstance(value, str) or len(value) > 200:
                _fail(name, value, "a short string")
            if name in FEATURE_NAMES:
                features = [] if features is None else features
                if _boolean(name, value):
                    features.append(name)
            elif name in fields:
                values[name] = _playground_seed(value) if name == "seed" else value
            elif name in PLAYGROUND_ONLY or name.endswith("_hide"):
                accepted = PLAYGROUND_ONLY.get(name, _ANY)
                if accepted is not _ANY and value not in accepted:
                    _fail(name, value, f"{' or '.join(accepted)} (fnnet's Playground has no other)")
            else:
                raise ConfigError(
                    f"unknown field {name!r}; valid fields: {', '.join(sorted(fields | set(FEATURE_NAMES)))}"
                )
        if features is not None:  # features not named keep their defaults
            named = {name for name, _ in pairs if name in FEATURE_NAMES}
            features += [name for name in cls.features if name not in named]
            values["features"] = tuple(features)
        return cls(**values)
