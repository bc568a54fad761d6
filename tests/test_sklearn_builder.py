"""fnnet.sklearn with model=build: a user's network builder, its routed model__* parameters, checks and caches."""

import functools
import pickle

import jax
import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

import fnnet as fn  # noqa: E402
from fnnet import sklearn_builder  # noqa: E402
from fnnet.sklearn import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402

BUILT = []  # the keywords of each call of build_classifier


def build_classifier(units=8, depth=1, activation="relu", n_outputs=2):
    """A module-level builder (it pickles): ``depth`` hidden layers of ``units``, softmax over ``n_outputs``."""
    BUILT.append({"units": units, "depth": depth, "activation": activation, "n_outputs": n_outputs})
    hidden = [fn.layers.Dense(units, activation=activation) for _ in range(depth)]
    return fn.Sequential([*hidden, fn.layers.Dense(n_outputs, activation="softmax")])


def build_regressor(units=8, n_outputs=1, n_features_in=None):
    """A regressor's network: one hidden layer and linear outputs (``n_features_in`` is passed, unused)."""
    return fn.Sequential([fn.layers.Dense(units, activation="relu"), fn.layers.Dense(n_outputs)])


def build_same_classifier(units=8, n_outputs=2):
    """Another builder returning a network equal to build_classifier's."""
    return fn.Sequential([fn.layers.Dense(units, activation="relu"), fn.layers.Dense(n_outputs, activation="softmax")])


def build_layers(sizes=(8,), n_outputs=2):
    """Hidden layers given as a list of sizes (a routed value that does not hash)."""
    hidden = [fn.layers.Dense(units, activation="relu") for units in sizes]
    return fn.Sequential([*hidden, fn.layers.Dense(n_outputs, activation="softmax")])


def build_needs_units(units, n_outputs):
    return fn.Sequential([fn.layers.Dense(units), fn.layers.Dense(n_outputs, activation="softmax")])


def build_three_classes():
    return fn.Sequential([fn.layers.Dense(3, activation="softmax")])


def build_relu_outputs(n_outputs):
    return fn.Sequential([fn.layers.Dense(n_outputs, activation="relu")])


def build_nothing():
    return "a network"


# The builder estimators of the check suite: every check is expected to pass (n_outputs is passed to the builder,
# so the checks' multiclass and multi-output problems get matching output layers).
CHECKED = [
    NeuralNetClassifier(model=build_classifier, model__units=8, epochs=20, learning_rate=0.01),
    NeuralNetRegressor(model=build_regressor, model__units=8, epochs=20, learning_rate=0.01),
]


def check_id(value):
    """A test id without the builder's address (parametrize_with_checks's ids hold the estimator's repr, which
    names the function with its address, so that pytest-xdist's workers would collect different tests)."""
    if isinstance(value, functools.partial):
        keywords = ",".join(f"{key}={item}" for key, item in value.keywords.items())
        return f"{value.func.__name__}({keywords})" if keywords else value.func.__name__
    return f"{type(value).__name__}(model={value.model.__name__})"


# what parametrize_with_checks does, with the ids above
@pytest.mark.slow
@pytest.mark.parametrize(
    ("estimator", "check"),
    [pair for estimator in CHECKED for pair in estimator_checks_generator(estimator, mark="xfail")],
    ids=check_id,
)
def test_scikit_learn_estimator_checks_with_a_builder(estimator, check):
    check(estimator)


def data(n=40, features=3, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, features))
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)


def test_a_builder_of_the_built_in_architecture_trains_bitwise_the_same_params():
    x, y = data()
    built = NeuralNetClassifier(model=build_classifier, model__units=6, epochs=3, random_state=0).fit(x, y)
    mlp = NeuralNetClassifier(hidden_layer_sizes=(6,), epochs=3, random_state=0).fit(x, y)
    assert jax.tree_util.tree_structure(built.params_) == jax.tree_util.tree_structure(mlp.params_)
    for a, b in zip(jax.tree_util.tree_leaves(built.params_), jax.tree_util.tree_leaves(mlp.params_)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(built.predict_proba(x), mlp.predict_proba(x))
    assert built.history_ == mlp.history_

    y2 = np.stack([x[:, 0], x[:, 1]], axis=1)
    regressor = NeuralNetRegressor(model=build_regressor, model__units=5, epochs=2, random_state=0).fit(x, y2)
    reference = NeuralNetRegressor(hidden_layer_sizes=(5,), epochs=2, random_state=0).fit(x, y2)
    np.testing.assert_array_equal(regressor.predict(x), reference.predict(x))


def test_routed_parameters_are_hyperparameters_of_the_constructor_set_params_and_clone():
    x, y = data()
    model = NeuralNetClassifier(model=build_classifier, model__units=4, epochs=1, random_state=0)
    assert model.get_params()["model__units"] == 4 and "model__units=4" in repr(model)
    BUILT.clear()
    model.fit(x, y)
    assert BUILT == [{"units": 4, "depth": 1, "activation": "relu", "n_outputs": 2}]  # n_outputs from the classes
    assert model.params_["dense"]["kernel"].shape == (3, 4)

    assert model.set_params(model__units=5, model__depth=2, epochs=2) is model
    assert model.get_params()["model__depth"] == 2 and model.epochs == 2
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    copy.fit(x, y)
    assert [leaf["kernel"].shape for leaf in copy.params_.values()] == [(3, 5), (5, 5), (5, 2)]
    assert model.get_params()["model__units"] == 5  # the clone's fit did not touch the original


@pytest.mark.slow
def test_grid_search_over_routed_parameters_and_the_learning_rate_picks_and_refits():
    x, y = data(n=60)
    grid = {"model__units": [4, 8], "model__activation": ["relu", "tanh"], "learning_rate": [1e-5, 5e-2]}
    estimator = NeuralNetClassifier(model=build_classifier, epochs=5, batch_size=16, random_state=0)
    search = GridSearchCV(estimator, grid, cv=2).fit(x, y)
    assert set(search.best_params_) == set(grid)
    assert search.best_params_["learning_rate"] == 5e-2  # 1e-5 learns nothing in 5 epochs
    best = search.best_estimator_
    assert best.get_params()["model__units"] == search.best_params_["model__units"]
    assert best.params_["dense"]["kernel"].shape == (3, search.best_params_["model__units"])
    assert search.score(x, y) > 0.8


def test_a_builder_returning_an_equal_network_shares_the_compiled_programs():
    x, y = data()
    first = NeuralNetClassifier(model=build_classifier, epochs=1, random_state=0).fit(x, y)
    again = NeuralNetClassifier(model=build_classifier, epochs=1, learning_rate=0.1, random_state=0).fit(x, y)
    assert again._fitted_trainer() is first._fitted_trainer()  # one Trainer per builder configuration
    traces = fn.training.TRACES["fit_epoch"]
    other = NeuralNetClassifier(model=build_same_classifier, epochs=1, random_state=0).fit(x, y)
    assert other._fitted_trainer() == first._fitted_trainer()
    assert fn.training.TRACES["fit_epoch"] == traces  # an equal network compiled nothing new
    listed = NeuralNetClassifier(model=build_layers, model__sizes=[8], epochs=1, random_state=0).fit(x, y)  # unhashable
    np.testing.assert_array_equal(listed.params_["dense"]["kernel"], first.params_["dense"]["kernel"])
    assert listed._fitted_trainer() == first._fitted_trainer()


@pytest.mark.parametrize(
    ("hyperparameters", "error", "message"),
    [
        ({"model__units": 8}, ValueError, r"model__units=8 is routed to model=build, but model is None"),
        (
            {"model": build_classifier, "model__unitz": 8},
            ValueError,
            r"build_classifier\(\) takes no parameter 'unitz' \(given as model__unitz\); "
            r"its parameters: units, depth, activation, n_outputs",
        ),
        (
            {"model": build_classifier, "hidden_layer_sizes": (8,)},
            ValueError,
            r"hidden_layer_sizes=\(8,\) shapes the built-in network.*route it as model__hidden_layer_sizes=\(8,\)",
        ),
        (
            {"model": build_classifier, "activation": "tanh"},
            ValueError,
            r"activation='tanh' .* belongs to the builder; route it as model__activation='tanh'",
        ),
        (
            {"model": build_three_classes},
            ValueError,
            r"must give class probabilities of shape \(n_samples, 2\) .* gives \(n_samples, 3\)",
        ),
        (
            {"model": build_relu_outputs},
            ValueError,
            r"its last layer has activation='relu'; give it activation='softmax'",
        ),
        ({"model": build_nothing}, TypeError, r"must return an fnnet network .* got 'a network'"),
        ({"model": 3}, TypeError, r"model must be None or a function build\(\*\*kwargs\) -> fnnet Layer, got 3"),
        ({"model": build_same_classifier()}, TypeError, r"model must be a function that builds the network"),
        (
            {"model": build_needs_units},
            ValueError,
            r"build_needs_units\(\) needs 'units': route it as model__units=\.\.\.",
        ),
    ],
)
def test_builder_errors_name_what_was_expected_and_given(hyperparameters, error, message):
    x, y = data(n=10)
    model = NeuralNetClassifier(epochs=1, **hyperparameters)  # the constructor only stores
    traces = fn.training.TRACES["fit_epoch"]
    with pytest.raises(error, match=message):
        model.fit(x, y)
    assert fn.training.TRACES["fit_epoch"] == traces  # nothing compiled


def test_an_unknown_keyword_that_is_not_routed_is_rejected_naming_the_valid_ones():
    with pytest.raises(TypeError, match=r"has no hyperparameter 'units'; valid ones: .*model__<name>"):
        NeuralNetClassifier(model=build_classifier, units=8)


@pytest.mark.slow
def test_a_builder_made_estimator_saves_its_network_and_pickles(tmp_path):
    x, y = data()
    model = NeuralNetClassifier(model=build_classifier, model__depth=2, l2=1e-3, epochs=2, random_state=0).fit(x, y)
    network, params = fn.load_model(model.save_model(tmp_path / "built.safetensors"))
    probabilities = np.asarray(network.apply(params, x.astype(np.float32)), np.float64)
    np.testing.assert_allclose(probabilities, model.predict_proba(x), rtol=1e-6, atol=1e-7)

    blob = pickle.dumps(model)
    sklearn_builder._cached.cache_clear()  # the unpickled estimator calls the builder again
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(restored.predict_proba(x), model.predict_proba(x))
    assert restored.get_params() == model.get_params()
