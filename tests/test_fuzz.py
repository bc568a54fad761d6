"""Fuzzing the public API with bad input: every case raises ValueError/TypeError naming the argument,
before anything trains; valid inputs at the edges train.

Each ``@given`` test draws a case (an entry point, an argument and a bad value)
and asserts the error type and that the message names what was wrong. Run
with ``--hypothesis-show-statistics`` to see how many inputs were tried.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fnnet as fn
from fnnet import callbacks, layers

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

RNG = np.random.default_rng(0)
X = RNG.normal(size=(24, 3)).astype(np.float32)
LABELS = RNG.integers(0, 3, size=24)
ONE_HOT = np.eye(3, dtype=np.float32)[LABELS]
BINARY = (X[:, :1] > 0).astype(np.float32)

CLASSIFIER = fn.Sequential([layers.Dense(4, "relu"), layers.Dense(3, "softmax")])
BINARY_NET = fn.Sequential([layers.Dense(4, "relu"), layers.Dense(1, "sigmoid")])
PARAMS = CLASSIFIER.init(jax.random.key(0), (3,))
BINARY_PARAMS = BINARY_NET.init(jax.random.key(0), (3,))
TRAINER = fn.compile(CLASSIFIER, "categorical_crossentropy", "sgd", metrics=["accuracy"])


def raises_naming(expected, call):
    """``call()`` raises ValueError or TypeError whose message contains ``expected``."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert expected in str(info.value), f"{expected!r} not in: {info.value}"


def not_a_number():
    return st.one_of(st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=2), st.booleans())


def fit(**kwargs):
    args = {"epochs": 1, "batch_size": 8, "key": jax.random.key(0), "verbose": 0} | kwargs
    x, y = args.pop("x", X), args.pop("y", ONE_HOT)
    return TRAINER.fit(args.pop("params", PARAMS), x, y, **args)


# --- fit's hyperparameters ----------------------------------------------------------------

BAD_HYPERPARAMETERS = st.one_of(
    st.tuples(
        st.just("epochs"),
        st.one_of(
            st.integers(max_value=-1),
            st.floats(0.1, 9.9).filter(lambda v: v != int(v)),
            not_a_number(),
            st.just(math.nan),
        ),
    ),
    st.tuples(
        st.just("batch_size"),
        st.one_of(
            st.integers(max_value=0),
            st.floats(0.1, 9.9).filter(lambda v: v != int(v)),
            not_a_number(),
            st.just(math.inf),
        ),
    ),
    st.tuples(
        st.just("validation_split"),
        st.one_of(st.floats(max_value=-1e-6), st.floats(min_value=1.0), st.just(math.nan), not_a_number()),
    ),
    st.tuples(st.just("shuffle"), st.one_of(st.text(max_size=3), st.integers(), st.none())),
    st.tuples(
        st.just("verbose"),
        st.one_of(st.integers().filter(lambda v: v not in (0, 1, 2)), st.text(max_size=2), st.just(True)),
    ),
    st.tuples(
        st.just("callbacks"),
        st.one_of(
            st.lists(st.integers(), min_size=1, max_size=2),
            st.just(["EarlyStopping"]),
            st.just([callbacks.EarlyStopping]),
        ),
    ),
)


@FUZZ
@given(BAD_HYPERPARAMETERS)
def test_fit_rejects_nonsense_hyperparameters_naming_them(case):
    name, value = case
    raises_naming(name, lambda: fit(**{name: value}))


@FUZZ
@given(
    st.one_of(
        st.integers(1, 40).filter(lambda n: n != 24).map(lambda n: np.ones(n)),  # one weight per sample
        st.integers(0, 23).map(lambda i: np.where(np.arange(24) == i, -1.0, 1.0)),  # a negative weight
        st.sampled_from([math.nan, math.inf]).map(lambda v: np.where(np.arange(24) == 3, v, 1.0)),
        st.just(np.zeros(24)),
        st.just(np.ones((24, 2))),
        st.just(np.array(["a"] * 24)),
    )
)
def test_fit_and_evaluate_reject_bad_sample_weights(weights):
    raises_naming("sample_weight", lambda: fit(sample_weight=weights))
    raises_naming("sample_weight", lambda: TRAINER.evaluate(PARAMS, X, ONE_HOT, sample_weight=weights))


@FUZZ
@given(
    st.one_of(
        st.just([1.0, 2.0]),
        st.just({}),
        st.just("balanced"),
        st.integers(max_value=-1).map(lambda c: {c: 1.0}),
        st.floats(max_value=-1e-3).map(lambda w: {0: w}),
        st.sampled_from([math.nan, math.inf, "2"]).map(lambda w: {1: w}),
        st.text(min_size=1, max_size=2).map(lambda c: {c: 1.0}),
    )
)
def test_fit_rejects_bad_class_weights(class_weight):
    raises_naming("class_weight", lambda: fit(class_weight=class_weight))


# --- data ------------------------------------------------------------------------------------


def with_value(value, index):
    x = X.copy()
    x.flat[index] = value
    return x


BAD_X = st.one_of(
    st.tuples(st.sampled_from([math.nan, math.inf, -math.inf]), st.integers(0, X.size - 1)).map(
        lambda c: (with_value(*c), "NaN or infinite")
    ),
    st.just((np.zeros((0, 3), np.float32), "at least one sample")),
    st.just((np.array([["a", "b", "c"]] * 24), "numeric")),
    st.integers(1, 6).filter(lambda f: f != 3).map(lambda f: (np.ones((24, f), np.float32), "features")),
    st.just((np.float32(1.0), "at least one sample")),
)


@FUZZ
@given(BAD_X)
def test_bad_x_is_rejected_naming_the_problem(case):
    x, message = case
    raises_naming(message, lambda: fit(x=x))
    raises_naming(message, lambda: TRAINER.evaluate(PARAMS, x, ONE_HOT))


@FUZZ
@given(
    st.one_of(
        st.integers(1, 40).filter(lambda n: n != 24).map(lambda n: (np.ones((n, 3), np.float32), "same number")),
        st.integers(1, 6).filter(lambda c: c != 3).map(lambda c: (np.ones((24, c), np.float32), "does not fit")),
        st.just((np.full((24, 3), np.nan, np.float32), "NaN")),
    )
)
def test_bad_y_is_rejected(case):
    y, message = case
    raises_naming(message, lambda: fit(y=y))


LABEL_CASES = st.one_of(
    st.sampled_from([2.0, -1.0, 1.5, 7.0]).map(
        lambda v: ("binary_crossentropy", BINARY_NET, np.where(BINARY == 1, v, 0.0).astype(np.float32))
    ),
    st.sampled_from([2.0, 5.0, 0.5]).map(lambda v: ("hinge", BINARY_NET, np.where(BINARY == 1, v, -1.0))),
    st.sampled_from([3, 7, -1]).map(
        lambda v: ("sparse_categorical_crossentropy", CLASSIFIER, np.where(LABELS == 0, v, LABELS))
    ),
    st.just(("sparse_categorical_crossentropy", CLASSIFIER, LABELS + 0.5)),
)


@FUZZ
@given(LABEL_CASES)
def test_label_values_a_loss_cannot_take_are_rejected_before_training(case):
    loss, net, y = case
    trainer = fn.compile(net, loss, "sgd")
    params = net.init(jax.random.key(0), (3,))
    raises_naming(loss, lambda: trainer.fit(params, X, y, key=jax.random.key(0), verbose=0))


@FUZZ
@given(
    st.sampled_from(
        [
            ({"kernel": np.ones((3, 5)), "bias": np.ones(5)}, "dense"),
            ({"dense": {"kernel": np.ones((3, 5), np.float32), "bias": np.ones(5, np.float32)}}, "dense"),
            ({"dense": PARAMS["dense"]}, "dense_1"),
            ({**PARAMS, "extra": {"kernel": np.ones((1, 1), np.float32)}}, "extra"),
            ([PARAMS["dense"], PARAMS["dense_1"]], "dict"),
            (X, "fit's first argument"),
        ]
    )
)
def test_params_of_another_model_are_rejected_naming_the_layer(case):
    params, message = case
    raises_naming(message, lambda: fit(params=params))


# --- compile, layers, predict ----------------------------------------------------------------


@FUZZ
@given(
    st.one_of(
        st.tuples(st.just("loss"), st.one_of(st.sampled_from(["msee", "crossentropy", ""]), st.integers())),
        st.tuples(st.just("optimizer"), st.one_of(st.sampled_from(["adamm", "SGD", ""]), st.integers())),
        st.tuples(st.just("metric"), st.sampled_from(["acuracy", ["accuracy", 3], [None]])),
        st.tuples(st.just("dtype_policy"), st.sampled_from(["bfloat16", "float16", "", None, 32])),
        st.tuples(st.just("regularizers"), st.sampled_from([["l2"], [0.01]])),
    )
)
def test_compile_rejects_unknown_names(case):
    name, value = case
    args = {"loss": "mse", "optimizer": "sgd", "metrics": (), "regularizers": (), "dtype_policy": "float32"}
    args["metrics" if name == "metric" else name] = value
    raises_naming(name, lambda: fn.compile(CLASSIFIER, **args))


@FUZZ
@given(
    st.one_of(
        st.tuples(st.just("units"), st.one_of(st.integers(max_value=0), st.floats(0.5, 9.5), st.text(max_size=2))),
        st.tuples(st.just("activation"), st.sampled_from(["relux", "ReLU", 3])),
        st.tuples(st.just("initializer"), st.sampled_from(["glorot", "he", 3])),
    )
)
def test_dense_rejects_bad_arguments(case):
    name, value = case
    args = {"units": 4}
    args["kernel_initializer" if name == "initializer" else name] = value
    raises_naming(name, lambda: layers.Dense(**args))


@FUZZ
@given(st.one_of(st.floats(min_value=1.0), st.floats(max_value=-1e-9), st.just(math.nan), not_a_number()))
def test_dropout_rejects_rates_outside_0_1(rate):
    raises_naming("rate", lambda: layers.Dropout(rate))


def test_sequential_needs_layers():
    raises_naming("at least one layer", lambda: fn.Sequential([]))
    raises_naming("fnnet layers", lambda: fn.Sequential(["Dense"]))


def test_predict_names_one_sample_and_evaluate_batch_size():
    raises_naming("x[None]", lambda: TRAINER.predict(PARAMS, X[0]))
    raises_naming("batch_size", lambda: TRAINER.evaluate(PARAMS, X, ONE_HOT, batch_size=0))
    raises_naming("batch_size", lambda: TRAINER.predict(PARAMS, X, batch_size=-1))


# --- valid inputs at the edges train -----------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["one sample", "one feature", "batch of 1", "bfloat16 data", "float16 data", "integer data", "boolean data"]
)
def test_valid_inputs_at_the_edges_train(case):
    x, y, batch_size = X, BINARY, 8
    if case == "one sample":
        x, y = X[:1], BINARY[:1]
    elif case == "one feature":
        x = X[:, :1]
    elif case == "batch of 1":
        batch_size = 1
    elif case.endswith("16 data"):
        x = jnp.asarray(X, jnp.bfloat16 if case.startswith("b") else jnp.float16)
    elif case == "integer data":
        x = (X * 10).astype(np.int32)
    elif case == "boolean data":
        x = X > 0
    net = fn.Sequential([layers.Dense(2, "tanh"), layers.Dense(1, "sigmoid")])
    trainer = fn.compile(net, "binary_crossentropy", "sgd", metrics=["accuracy"])
    state, history = trainer.fit(
        net.init(jax.random.key(0), x.shape[1:]),
        x,
        y,
        epochs=2,
        batch_size=batch_size,
        key=jax.random.key(1),
        verbose=0,
    )
    assert np.all(np.isfinite(history.history["loss"]))
    assert trainer.predict(state, x).shape == (len(x), 1)


@pytest.mark.slow
def test_valid_float64_data_train_under_the_float64_policy():
    with jax.enable_x64(True):
        net = fn.Sequential([layers.Dense(2, "tanh"), layers.Dense(1, "sigmoid")])
        trainer = fn.compile(net, "binary_crossentropy", "sgd", dtype_policy="float64")
        state, history = trainer.fit(
            net.init(jax.random.key(0), (3,), jnp.float64),
            X.astype(np.float64),
            BINARY.astype(np.float64),
            epochs=2,
            batch_size=1,
            key=jax.random.key(1),
            verbose=0,
        )
        assert np.all(np.isfinite(history.history["loss"]))
        assert state.params["dense"]["kernel"].dtype == np.float64


def test_a_loss_that_turns_nan_stops_training_with_a_warning():
    net = fn.Sequential([layers.Dense(1)])
    trainer = fn.compile(net, "mse", fn.optimizers.get("sgd", learning_rate=1e20))
    with pytest.warns(RuntimeWarning, match="fit stopped: the loss of epoch"):
        _, history = trainer.fit(
            net.init(jax.random.key(0), (3,)),
            X * 1e3,
            BINARY,
            epochs=20,
            batch_size=24,
            key=jax.random.key(0),
            verbose=0,
        )
    assert len(history.history["loss"]) < 20 and not np.isfinite(history.history["loss"][-1])
