"""fnnet.sklearn: scikit-learn's own estimator checks, and the estimators in pipelines, searches and pickles."""

import pickle

import joblib
import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fnnet as fn  # noqa: E402
from fnnet import sklearn as fn_sklearn  # noqa: E402
from fnnet.sklearn import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402

# Small networks trained briefly keep the ~100 fits of the check suite fast;
# the learning rate is raised so that they still learn the checks' easy problems.
CHECKED = [
    NeuralNetClassifier(hidden_layer_sizes=(8,), epochs=20, learning_rate=0.01),
    NeuralNetRegressor(hidden_layer_sizes=(8,), epochs=20, learning_rate=0.01),
]


@pytest.mark.slow
@parametrize_with_checks(CHECKED)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    (x_train, y_train), (x_test, y_test) = fn.datasets.digits.load_data()
    return x_train, y_train, x_test, y_test


@pytest.mark.slow
def test_grid_search_over_a_pipeline_picks_the_learning_rate_that_learns(digits):
    x_train, y_train, x_test, y_test = digits
    pipeline = make_pipeline(StandardScaler(), NeuralNetClassifier(hidden_layer_sizes=(32,), epochs=15, random_state=0))
    search = GridSearchCV(pipeline, {"neuralnetclassifier__learning_rate": [1e-5, 1e-2]}, cv=3, n_jobs=2)
    with joblib.parallel_config(backend="threading"):  # fits run concurrently in one process
        search.fit(x_train, y_train)
    assert search.best_params_ == {"neuralnetclassifier__learning_rate": 1e-2}
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] + 0.3
    assert search.score(x_test, y_test) > 0.93


@pytest.mark.slow
def test_classifier_probabilities_follow_classes_and_labels_keep_their_type(digits):
    x_train, y_train, x_test, _ = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    model = NeuralNetClassifier(hidden_layer_sizes=(16,), epochs=5, random_state=0).fit(x_train / 16, names[y_train])
    assert list(model.classes_) == sorted(names)
    proba = model.predict_proba(x_test / 16)
    assert proba.shape == (len(x_test), 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x_test / 16), model.classes_[proba.argmax(axis=1)])


@pytest.mark.slow
def test_pickle_round_trip_predicts_identically_after_the_compiled_programs_are_gone(digits):
    x_train, y_train, x_test, _ = digits
    model = NeuralNetClassifier(hidden_layer_sizes=(16,), dropout=0.2, l2=1e-4, epochs=3, random_state=0)
    model.fit(x_train / 16, y_train)
    assert all(isinstance(leaf, np.ndarray) for layer in model.params_.values() for leaf in layer.values())
    blob = pickle.dumps(model)
    fn_sklearn._trainer.cache_clear()  # the unpickled estimator must rebuild its programs itself
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(restored.predict_proba(x_test / 16), model.predict_proba(x_test / 16))
    assert restored.get_params() == model.get_params()


@pytest.mark.slow
def test_integer_random_state_reproduces_a_fit_and_different_seeds_differ(digits):
    x_train, y_train, x_test, _ = digits
    x_train, x_test = x_train / 16, x_test / 16

    def proba(seed):
        model = NeuralNetClassifier(
            hidden_layer_sizes=(16,), dropout=0.2, epochs=3, validation_split=0.1, random_state=seed
        )
        return model.fit(x_train, y_train).predict_proba(x_test)

    np.testing.assert_array_equal(proba(7), proba(7))
    assert not np.allclose(proba(7), proba(8))
    assert not np.allclose(proba(None), proba(None))


@pytest.mark.slow
def test_learning_rates_share_one_compiled_trainer():
    fn_sklearn._trainer.cache_clear()
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    traces = fn.training.TRACES["fit_epoch"]
    fits = [
        NeuralNetClassifier(hidden_layer_sizes=(5,), epochs=3, learning_rate=rate, random_state=0).fit(x, y)
        for rate in (1e-3, 1e-1)
    ]
    assert fits[0]._fitted_trainer() is fits[1]._fitted_trainer()
    assert fn.training.TRACES["fit_epoch"] <= traces + 1  # the epoch program was traced once (or reused)
    assert fits[1].history_["loss"][-1] < fits[0].history_["loss"][-1]  # and each fit used its own rate


@pytest.mark.slow
def test_regressor_fits_a_linear_function_one_and_several_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.05 * rng.normal(size=400)
    model = NeuralNetRegressor(hidden_layer_sizes=(16,), epochs=60, learning_rate=0.01, random_state=0).fit(x, y)
    assert model.predict(x).shape == (400,)
    assert model.score(x, y) > 0.98

    ys = np.stack([y, -y], axis=1)
    model = NeuralNetRegressor(hidden_layer_sizes=(), epochs=60, learning_rate=0.05, random_state=0).fit(x, ys)
    assert model.n_outputs_ == 2 and model.predict(x).shape == (400, 2)
    assert model.score(x, ys) > 0.98
    kernel = model.params_["dense"]["kernel"]  # no hidden layer: linear regression, weights recovered
    np.testing.assert_allclose(kernel, [[1.5, -1.5], [-2.0, 2.0], [0.5, -0.5]], atol=0.05)


@pytest.mark.slow
def test_early_stopping_stops_patience_epochs_after_the_best_val_loss():
    x, y = make_regression(n_samples=200, n_features=5, noise=30.0, random_state=0)
    model = NeuralNetRegressor(
        hidden_layer_sizes=(64,),
        epochs=500,
        learning_rate=0.01,
        validation_split=0.2,
        early_stopping=True,
        patience=3,
        random_state=0,
    ).fit(x, y / y.std())
    assert model.n_iter_ < 500
    val_loss = model.history_["val_loss"]
    assert len(val_loss) == model.n_iter_ == len(model.history_["loss"])
    assert int(np.argmin(val_loss)) == model.n_iter_ - 1 - 3  # the best epoch, patience epochs before the end


@pytest.mark.parametrize(
    ("hyperparameters", "error", "message"),
    [
        ({"activation": "relux"}, ValueError, "unknown activation 'relux'; valid names: .*relu"),
        ({"optimizer": "adamx"}, ValueError, "unknown optimizer 'adamx'; valid names: adadelta, .*sgd"),
        ({"hidden_layer_sizes": (8, 0)}, ValueError, r"hidden_layer_sizes must be positive .*got \(8, 0\)"),
        ({"hidden_layer_sizes": "8"}, TypeError, "hidden_layer_sizes must be a tuple of ints, .*got '8'"),
        ({"dropout": 1.0}, ValueError, r"dropout must be a number in \[0, 1\), got 1.0"),
        ({"learning_rate": -0.1}, ValueError, r"learning_rate must be a number in \[0, inf\), got -0.1"),
        ({"l2": "big"}, TypeError, "l2 must be a number, got 'big'"),
        ({"epochs": 2.5}, TypeError, "epochs must be an integer, got 2.5"),
        ({"early_stopping": True}, ValueError, "early_stopping=True .* set validation_split in"),
        ({"validation_split": 0.01}, ValueError, "leaves 10 for training and 0 for validation"),
    ],
)
def test_bad_hyperparameters_are_named_in_fit(hyperparameters, error, message):
    x, y = np.random.default_rng(0).normal(size=(10, 2)), np.arange(10) % 2
    model = NeuralNetClassifier(**hyperparameters)
    assert all(model.get_params()[name] is value for name, value in hyperparameters.items())  # stored as given
    with pytest.raises(error, match=message):
        model.fit(x, y)


def test_a_hyperparameter_the_estimator_does_not_have_lists_the_valid_ones():
    with pytest.raises(TypeError, match=r"NeuralNetRegressor has no hyperparameter 'max_iter'; valid ones: .*epochs"):
        NeuralNetRegressor(max_iter=10)
    with pytest.raises(ValueError, match=r"Invalid parameter 'alpha'.*Valid parameters are: .*'l2'"):
        NeuralNetClassifier().set_params(alpha=1e-4)
