"""Keras habits either work as a Keras user expects or raise an error that says what to write instead (issue 18)."""

import numpy as np
import pytest

import fnnet as fn
from fnnet import callbacks, layers, regularizers

X = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
LABELS = [0, 1, 1, 0, 1, 0, 0, 1]


def trainer_and_params():
    model = fn.Sequential([layers.Dense(1, "sigmoid")])
    return fn.compile(model, "binary_crossentropy", "sgd", metrics=["accuracy"]), model.init(0, (2,))


@pytest.mark.parametrize(
    "method, advice",
    [
        ("add", r"fn.Sequential\(\["),
        ("compile", r"fn.compile\(model"),
        ("fit", r"trainer.fit\(params, x, y"),
        ("evaluate", "trainer.evaluate"),
        ("predict", r"model.apply\(params, x\)"),
        ("save", "fn.save_model"),
        ("get_weights", "params are a dict"),
    ],
)
def test_keras_model_methods_say_what_to_write(method, advice):
    model = fn.Sequential([layers.Dense(1)])
    assert not hasattr(model, method)  # no silent no-op: model.add(...) never "works" without mutating
    with pytest.raises(AttributeError, match=f"no .{method}\\(\\): .*{advice}"):
        getattr(model, method)(layers.Dense(2))
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        model.nonsense  # noqa: B018


def test_dense_input_dim_and_input_shape_point_to_init_and_input():
    with pytest.raises(TypeError, match=r"no input_dim.*model.init\(key, \(20,\)\).*fn.Input\(\(20,\)\)"):
        layers.Dense(64, input_dim=20)
    with pytest.raises(TypeError, match=r"model.init\(key, \(784,\)\)"):
        layers.Dense(32, input_shape=(784,))


def test_fit_given_the_model_says_to_pass_params():
    trainer, _ = trainer_and_params()
    with pytest.raises(TypeError, match=r"not the model.*params = model.init\(key, x.shape\[1:\]\)"):
        trainer.fit(trainer.model, X, LABELS, key=0, verbose=0)


def test_lists_work_where_one_array_goes():
    trainer, params = trainer_and_params()
    as_lists, _ = trainer.fit(params, X.tolist(), LABELS, epochs=2, batch_size=4, key=0, verbose=0)
    as_arrays, _ = trainer.fit(params, X, np.asarray(LABELS), epochs=2, batch_size=4, key=0, verbose=0)
    np.testing.assert_allclose(as_lists.params["dense"]["kernel"], as_arrays.params["dense"]["kernel"], rtol=1e-6)
    assert trainer.predict(params, X[:2].tolist()).shape == (2, 1)
    with pytest.raises(ValueError, match="x given as a list must be rectangular"):
        trainer.fit(params, [[1.0, 2.0], [3.0]], [0, 1], key=0, verbose=0)


def test_one_callback_regularizer_or_metric_alone_works_as_a_list():
    trainer, params = trainer_and_params()
    stop = callbacks.EarlyStopping(monitor="loss", patience=0)
    alone, history = trainer.fit(params, X, LABELS, epochs=2, callbacks=stop, key=0, verbose=0)
    listed, listed_history = trainer.fit(params, X, LABELS, epochs=2, callbacks=[stop], key=0, verbose=0)
    assert history.history == listed_history.history
    model = trainer.model
    assert fn.compile(model, "mse", "sgd", regularizers=regularizers.l2(0.1)) == fn.compile(
        model, "mse", "sgd", regularizers=[regularizers.l2(0.1)]
    )
    assert fn.compile(model, "mse", "sgd", metrics=fn.metrics.mae).objective.names == ("loss", "mean_absolute_error")
    with pytest.raises(TypeError, match="callbacks must be a list of fnnet.callbacks.Callback, got 3"):
        trainer.fit(params, X, LABELS, callbacks=3, key=0, verbose=0)
    with pytest.raises(TypeError, match="metrics must be a list"):
        fn.compile(model, "mse", "sgd", metrics=3)


def test_a_merge_layer_called_on_tensors_without_a_list_says_to_use_one():
    a, b = fn.Input((2,)), fn.Input((3,))
    with pytest.raises(TypeError, match=r"Concatenate\(\)\(\[a, b\]\), not Concatenate\(\)\(a, b\)"):
        layers.Concatenate()(a, b)
    assert layers.Concatenate()([a, b]).shape == (5,)


@pytest.mark.parametrize(
    "build",
    [
        lambda: layers.Dense(2, use_bias="no"),
        lambda: layers.BatchNormalization(center="no"),
        lambda: layers.LayerNormalization(scale=1),
        lambda: fn.losses.binary_crossentropy(np.zeros((2, 1)), np.zeros((2, 1)), from_logits="no"),
        lambda: fn.optimizers.get("sgd", momentum=0.9, nesterov="no"),
        lambda: fn.data.train_val_test_split(X, np.asarray(LABELS), key=0, stratify="yes"),
        lambda: fn.Sequential([layers.Dropout(0.5)]).apply({}, X, key=0, training="no"),
        lambda: trainer_and_params()[0].evaluate(trainer_and_params()[1], X, LABELS, return_dict="yes"),
    ],
)
def test_flags_take_bools_only(build):
    with pytest.raises(TypeError, match=r"must be True or False, got '?\w+'? of type"):
        build()


def test_negative_momentum_is_refused():
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\], got -0.5"):
        fn.optimizers.get("sgd", momentum=-0.5)
    with pytest.raises(ValueError, match=r"rho.*|decay must be a number in \[0, 1\]"):
        fn.optimizers.get("rmsprop", rho=1.5)
