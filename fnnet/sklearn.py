"""scikit-learn estimators over fnnet: ``NeuralNetClassifier`` and ``NeuralNetRegressor``.

Both build a multilayer perceptron from their hyperparameters, ``Dense``
hidden layers (each followed by ``Dropout`` when ``dropout > 0``) and an
output ``Dense``, or call ``model=build`` for the whole network
(``fnnet.sklearn_builder``), and train it with ``fnnet.compile(...).fit``. They follow
scikit-learn's conventions, so they work in ``Pipeline``, ``GridSearchCV``
and ``clone``, and pass ``sklearn.utils.estimator_checks``:

- the constructor only stores its arguments; they are checked in ``fit``,
  and an argument the estimator does not have raises ``TypeError`` naming
  the valid ones (as ``set_params`` raises scikit-learn's ``ValueError``);
- ``fit(X, y)`` returns ``self`` and sets the fitted attributes
  ``params_`` (the fnnet params tree, as NumPy arrays, so a fitted estimator
  pickles), ``history_`` (Keras's ``history.history``: per-epoch ``loss``
  and, with ``validation_split``, ``val_loss``), ``n_iter_`` (epochs run),
  ``n_features_in_`` and ``n_outputs_``; the classifier also ``classes_``.
  Compiled functions are never stored: they are rebuilt, once per process
  and configuration, from the hyperparameters ``fit`` used.
- ``X`` is converted to float32; NaN, infinity, sparse input and a wrong
  number of features are rejected with scikit-learn's own errors.

Hyperparameters, with Keras's words where Keras and scikit-learn's
``MLPClassifier`` differ:

| name | default | meaning |
| --- | --- | --- |
| model | None | ``build(**kwargs) -> Layer``, the whole network (the classifier's must output probabilities, e.g. a last ``Dense(n_outputs, "softmax")``); ``build`` is passed ``n_outputs`` and ``n_features_in`` when it names them. It replaces the next three, which then stay at their defaults |
| model__<name> | (none) | routed to the builder as ``<name>=value``: a hyperparameter (``get_params``, ``set_params``, ``GridSearchCV``); ValueError in ``fit`` if the builder has no such parameter or ``model=None`` |
| hidden_layer_sizes | (100,) | units of each hidden ``Dense`` layer; ``()``: none |
| activation | "relu" | the hidden layers' activation (``fnnet.activations``) |
| dropout | 0.0 | ``Dropout`` rate after each hidden layer |
| l2 | 0.0 | Keras's penalty ``l2 * sum w^2`` over every kernel, added to the mean loss (``MLPClassifier``'s ``alpha`` adds ``alpha / 2 * sum w^2`` divided by the batch's size) |
| optimizer | "adam" | a name from ``fnnet.optimizers`` |
| learning_rate | 0.001 | the optimizer's learning rate |
| batch_size | 32 | samples per step, clamped to the training set |
| epochs | 200 | passes over the data (``MLPClassifier``'s ``max_iter``) |
| validation_split | 0.0 | fraction of the samples held out, drawn at random with ``random_state`` (Keras takes the last rows); recorded as ``history_["val_loss"]`` |
| early_stopping | False | stop once ``val_loss`` has not improved for ``patience`` epochs and restore the best epoch's weights; needs ``validation_split > 0`` |
| patience | 10 | see ``early_stopping`` |
| random_state | None | ``None``: fresh randomness from NumPy's global generator; an int seeds ``jax.random.key``, so the initialization, shuffles, dropout masks and validation split are reproduced |
| verbose | 0 | 0 silent, 1 a progress bar per epoch, 2 a line |
| dtype_policy | float32 | ``fnnet.precision``: ``"mixed_bfloat16"`` or ``"float64"`` (with x64) as in ``fn.compile`` |
"""

import functools
import inspect
import numbers
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Self, cast

import jax
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from fnnet import (
    activations,
    callbacks,
    data,
    layers,
    models,
    optimizers,
    precision,
    regularizers,
    saving,
    sklearn_builder,
    training,
)
from fnnet._checks import hyperparameter, resolve
from fnnet.protocols import ActivationLike, DTypePolicyName, OptimizerName

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

# Prediction pads the input to whole batches of this many rows, so every row
# goes through the same compiled program: a sample's prediction does not
# depend on how many samples came with it (scikit-learn checks this to 1e-7),
# and inputs of up to this many rows share one compilation.
_PREDICT_BATCH = 256
# The built-in network's hyperparameters: with model=, the builder's parameters (model__*) take their place.
_MLP_HYPERPARAMETERS = ("hidden_layer_sizes", "activation", "dropout")


class _NeuralNet(BaseEstimator):
    """What both estimators share.

    A subclass sets the output layer's activation, the loss, the keywords
    ``validate_data`` checks ``y`` with, and ``_fit_targets(y)``, which sets
    the fitted target attributes (``n_outputs_``, ...) and returns the
    targets the network trains on.
    """

    _output_activation: str
    _loss: str
    _y_validation: dict[str, Any]
    dtype_policy: DTypePolicyName  # (a hyperparameter: a type checker would widen the Literal to str)
    if TYPE_CHECKING:  # set by fit (validate_data, _fit_targets); _fit_targets is each subclass's
        n_features_in_: int
        n_outputs_: int

        def _fit_targets(self, y: np.ndarray) -> np.ndarray: ...

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        """Reject a hyperparameter the estimator does not have, naming the valid ones (Python's error would not)."""
        unknown = sorted(set(kwargs) - set(cls._get_param_names()))
        unknown = [name for name in unknown if not name.startswith(sklearn_builder.PREFIX)]
        if unknown:
            raise TypeError(
                f"{cls.__name__} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"valid ones: {', '.join(cls._get_param_names())}, and model__<name> for model=build's parameters"
            )
        return super().__new__(cls)

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: ActivationLike = "relu",
        *,
        model: Callable[..., layers.Layer] | None = None,
        dropout: float = 0.0,
        l2: float = 0.0,
        optimizer: OptimizerName = "adam",
        learning_rate: float = 0.001,
        batch_size: int = 32,
        epochs: int = 200,
        validation_split: float = 0.0,
        early_stopping: bool = False,
        patience: int = 10,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        dtype_policy: DTypePolicyName = "float32",
        **routed: Any,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.model = model
        self.dropout = dropout
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose
        self.dtype_policy = dtype_policy
        # the model__* parameters: private, so scikit-learn's checks do not take them for attributes set in __init__
        self._routed = dict(routed)

    # scikit-learn reads the hyperparameters from ``inspect.signature(cls)``, which ``__new__`` would shadow;
    # the model__* keywords are listed by ``get_params`` instead.
    __signature__ = inspect.Signature(
        [p for p in [*inspect.signature(__init__).parameters.values()][1:] if p.kind is not p.VAR_KEYWORD]
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters, the ``model__*`` ones (routed to ``model``) included."""
        return {**super().get_params(deep=deep), **self._routed}

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters; a ``model__<name>`` is stored for the builder (checked in ``fit``)."""
        for name in [name for name in params if name.startswith(sklearn_builder.PREFIX)]:
            self._routed[name] = params.pop(name)
        return super().set_params(**params)

    def fit(self, X: Any, y: Any) -> Self:
        """Train a fresh network on ``X`` (n_samples, n_features) and targets ``y``; returns ``self``."""
        X, y = cast(tuple[np.ndarray, np.ndarray], validate_data(self, X, y, dtype=np.float32, **self._y_validation))
        y = self._fit_targets(y)
        self._fitted_config = self._config()
        if hyperparameter("learning_rate", self.learning_rate, low=0) == 0:
            raise ValueError("learning_rate must be > 0 (scikit-learn's rule: a rate of 0 trains nothing), got 0")
        hyperparameter("epochs", self.epochs, integer=True, low=1)
        hyperparameter("patience", self.patience, integer=True, low=0)
        trainer = self._fitted_trainer()
        if isinstance(self.random_state, (bool, np.bool_)):  # scikit-learn would read True as the seed 1
            raise TypeError(f"random_state must be None, an int seed or a RandomState, got {self.random_state!r}")
        rng = resolve("random_state", check_random_state, self.random_state)
        init_key, fit_key = jax.random.split(jax.random.key(rng.randint(np.iinfo(np.int32).max)))
        params = trainer.model.init(init_key, (self.n_features_in_,), trainer.objective.policy.param_dtype)
        state = trainer.init_state(params, fit_key)
        # the rate lives in the optimizer state, so every rate shares one compiled Trainer
        state = state.with_hyperparameters(learning_rate=self.learning_rate)
        state, history = trainer.fit(
            state, epochs=self.epochs, batch_size=self.batch_size, verbose=self.verbose, **self._validation(X, y, rng)
        )
        self.params_ = jax.tree_util.tree_map(np.asarray, state.params)
        self.history_ = history.history
        self.n_iter_ = len(self.history_["loss"])
        return self

    def _config(self) -> "_Config | sklearn_builder.BuilderConfig":
        """The checked, hashable description of the network, loss and optimizer that a ``Trainer`` is built from."""
        sklearn_builder.check_model(self.model)
        if not isinstance(self.optimizer, str):
            raise TypeError(f"optimizer must be a Keras optimizer name such as 'adam' or 'sgd', got {self.optimizer!r}")
        hyperparameter("l2", self.l2, low=0)
        precision.get(self.dtype_policy)
        if self.model is not None:
            defaults = inspect.signature(type(self)).parameters
            sklearn_builder.check_no_mlp_hyperparameters(
                {name: (getattr(self, name), defaults[name].default) for name in _MLP_HYPERPARAMETERS}
            )
            return sklearn_builder.config(
                self.model,
                self._routed,
                n_features_in=self.n_features_in_,
                n_outputs=self.n_outputs_,
                probabilities=self._output_activation == "softmax",
                loss=self._loss,
                optimizer=self.optimizer,
                l2=float(self.l2),
                dtype_policy=self.dtype_policy,
            )
        sklearn_builder.check_no_routed(self._routed)
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else sizes
        if not (
            isinstance(sizes, (tuple, list))
            and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in sizes)
        ):
            raise TypeError(f"hidden_layer_sizes must be a tuple of ints, one per hidden layer, got {sizes!r}")
        if any(s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive numbers of units, got {sizes!r}")
        activations.get(self.activation)
        hyperparameter("dropout", self.dropout, low=0, high=1, high_inclusive=False)
        return _Config(
            tuple(int(s) for s in sizes),
            self.activation,
            float(self.dropout),
            self._output_activation,
            self.n_outputs_,
            self._loss,
            self.optimizer,
            float(self.l2),
            self.dtype_policy,
        )

    def _validation(self, X: np.ndarray, y: np.ndarray, rng: np.random.RandomState) -> dict[str, Any]:
        """``fit``'s data keywords: the training arrays, a random held-out split and early stopping."""
        hyperparameter("validation_split", self.validation_split, low=0, high=1, high_inclusive=False)
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise TypeError(f"early_stopping must be True or False, got {self.early_stopping!r}")
        if self.early_stopping and not self.validation_split:
            raise ValueError(
                "early_stopping=True monitors val_loss on held-out samples; set validation_split in (0, 1), e.g. 0.1"
            )
        if not self.validation_split:
            return {"x": X, "y": y}
        n_val = int(round(len(X) * self.validation_split))
        data.check_validation_split(self.validation_split, len(X), n_val)
        order = rng.permutation(len(X))
        held_out, kept = order[:n_val], order[n_val:]
        stop = [callbacks.EarlyStopping("val_loss", patience=self.patience, restore_best_weights=True)]
        return {
            "x": X[kept],
            "y": y[kept],
            "validation_data": (X[held_out], y[held_out]),
            "callbacks": stop if self.early_stopping else (),
        }

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's outputs for ``X`` as float64, shape (n_samples, n_outputs_)."""
        check_is_fitted(self)
        X = cast(np.ndarray, validate_data(self, X, dtype=np.float32, reset=False))  # scikit-learn is untyped
        padded = np.concatenate([X, np.zeros((-len(X) % _PREDICT_BATCH, X.shape[1]), X.dtype)])
        outputs = self._fitted_trainer().predict(self.params_, padded, batch_size=_PREDICT_BATCH)
        return outputs[: len(X)].astype(np.float64)

    def _fitted_trainer(self) -> training.Trainer:
        """The compiled ``Trainer`` of the configuration ``fit`` used."""
        config = self._fitted_config
        return _trainer(config) if isinstance(config, _Config) else sklearn_builder.trainer(config)

    def save_model(self, path: str | os.PathLike[str]) -> str:
        """Write the fitted network (model and ``params_``) with ``fn.save_model``; returns the path.

        ``fn.load_model(path)`` gives ``(model, params)`` back, whose outputs
        are ``predict_proba``'s (columns in ``classes_`` order) or ``predict``'s
        for a regressor; the estimator itself pickles, as scikit-learn requires.
        """
        check_is_fitted(self)
        return saving.save_model(path, self._fitted_trainer().model, self.params_, input_shape=(self.n_features_in_,))


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A classifier: an MLP (or ``model=build``'s network) with softmax over ``len(classes_)`` outputs, cross-entropy.

    Hyperparameters: see the table in ``fnnet.sklearn``'s docstring.

    Labels may be any values ``numpy.unique`` sorts (ints, strings);
    ``predict_proba`` columns follow ``classes_``. A single class is
    allowed: the network then predicts it for every sample.
    """

    _output_activation = "softmax"
    _loss = "sparse_categorical_crossentropy"
    _y_validation = {}

    def _fit_targets(self, y: np.ndarray) -> np.ndarray:
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.n_outputs_ = len(self.classes_)
        return codes.astype(np.int32)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in the order of ``classes_``."""
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, as a label from ``classes_``."""
        codes = np.argmax(self._outputs(X), axis=1)
        return self.classes_[codes]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A regressor: an MLP (or ``model=build``'s network) with linear outputs, mean squared error loss.

    Hyperparameters: see the table in ``fnnet.sklearn``'s docstring.

    A 1-D ``y`` gives 1-D predictions; a 2-D ``y`` (n_samples, n_targets)
    trains one output per column and gives 2-D predictions.
    """

    _output_activation = "linear"
    _loss = "mse"
    _y_validation = {"multi_output": True, "y_numeric": True}

    def _fit_targets(self, y: np.ndarray) -> np.ndarray:
        self._y_ndim = y.ndim
        y = y.reshape(len(y), -1).astype(np.float32)
        self.n_outputs_ = y.shape[1]
        return y

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: shape (n_samples,) if ``y`` was 1-D in ``fit``, else (n_samples, n_targets)."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self._y_ndim == 1 else outputs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class _Config(NamedTuple):
    """What ``_trainer`` builds a ``Trainer`` from: everything that shapes the compiled programs."""

    hidden_layer_sizes: tuple[int, ...]
    activation: ActivationLike
    dropout: float
    output_activation: str
    n_outputs: int
    loss: str
    optimizer: str
    l2: float
    dtype_policy: DTypePolicyName


@functools.lru_cache(maxsize=32)
def _trainer(config: _Config) -> training.Trainer:
    """The ``Trainer`` for one configuration, shared by the estimators that have it.

    The compiled programs are keyed by value (equal configurations share them
    without this cache); the cache saves rebuilding and re-checking the
    ``Trainer`` on every refit and predict (cross-validation, a grid search:
    a warm ``predict`` about 0.4 ms faster, a warm ``fit`` about 0.7 ms).
    A ``Trainer`` may fit in several threads at once (joblib's threading backend).
    """
    stack = []
    for units in config.hidden_layer_sizes:
        stack.append(layers.Dense(units, activation=config.activation))
        if config.dropout:
            stack.append(layers.Dropout(config.dropout))
    stack.append(layers.Dense(config.n_outputs, activation=config.output_activation))
    penalties = [regularizers.l2(config.l2)] if config.l2 else []
    return training.compile(
        models.Sequential(stack),
        config.loss,
        optimizers.get(config.optimizer),
        regularizers=penalties,
        dtype_policy=config.dtype_policy,
    )
