"""``compile`` and the ``Trainer``: Keras's ``fit``/``evaluate``/``predict`` over compiled epochs.

Per call, ``fit`` checks its arguments, prepares its data in one call
(``inputs.prepare``: checked, split, placed; shape checks once per shape),
draws the epoch's order on the host, and runs the compiled epoch of its
configuration; the programs are keyed by value (``Objective``, optimizer,
batch size, shapes), so equal configurations share them across trainers.
With ``mesh=`` (a ``jax.sharding.Mesh``, or ``"local"``) the batch axis is
sharded over the mesh's first axis and the parameters are replicated;
``jit`` inserts the gradient all-reduce. The reported ``loss`` includes the
regularization penalty, as in Keras; metrics do not.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NoReturn, overload

import jax
import numpy as np

from fnnet import layers, optimizers, parallel, precision, progress as progress_lib
from fnnet._checks import as_tuple, flag, hyperparameter
from fnnet.protocols import (
    ArrayLike,
    Augment,
    DTypePolicyName,
    KeyLike,
    LossSpec,
    LossWeights,
    MeshLike,
    MetricsSpec,
    OptimizerLike,
    Params,
    Regularizer,
    WeightedLoss,
)
from fnnet.training import epoch as programs, hooks, inputs, runs
from fnnet.keys import as_key
from fnnet.state import ParamsOrState, TrainState, init_state, params_of
from fnnet.training.step import Objective, augmentation, check_objective, objective as make_objective


class Trainer:
    """What ``compile`` returns: an ``Objective`` and an optimizer, ready to train. Immutable.

    Attributes: ``model``, ``objective`` (loss, metrics, regularizers), ``optimizer``
    (optax's; equal trainers share programs, whatever its learning rate).
    """

    __slots__ = ("objective", "optimizer")

    def __init__(self, objective: Objective, optimizer: OptimizerLike) -> None:
        object.__setattr__(self, "objective", check_objective(objective))
        object.__setattr__(self, "optimizer", optimizers.get(optimizer))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"a Trainer is immutable; fn.compile(...) a new one instead of setting {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trainer) and (self.objective, self.optimizer) == (other.objective, other.optimizer)

    def __hash__(self) -> int:
        return hash((self.objective, self.optimizer))

    def __repr__(self) -> str:
        return f"Trainer(loss={self.objective.loss!r}, metrics={list(self.objective.names[1:])})"

    @property
    def model(self) -> layers.Layer:
        return self.objective.model

    def init_state(self, params: Params, key: KeyLike) -> TrainState:
        """A fresh ``TrainState`` for ``params`` with this trainer's optimizer."""
        return init_state(params, self.optimizer, key)

    def fit(
        self,
        params_or_state: ParamsOrState,
        x: Any,
        y: Any = None,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_data: Sequence[Any] | None = None,
        shuffle: bool = True,
        callbacks: hooks.Callback | Iterable[hooks.Callback] | None = (),
        key: KeyLike | None = None,
        verbose: int = 1,
        augment: Augment | None = None,
        mesh: MeshLike = None,
        sample_weight: ArrayLike | None = None,
        class_weight: Mapping[Any, float] | None = None,
        checks: bool = False,
    ) -> tuple[TrainState, hooks.History]:
        """Train for ``epochs`` epochs; returns ``(state, history)``.

        Args:
            params_or_state: initial params (then ``key`` is required) or a
                ``TrainState`` to continue from (its key unless ``key`` is given).
            x: inputs with one sample per row; or an iterable of ``(x, y)`` batches (then ``y=None``),
                for data that does not fit on the device (trained in chunks of batches, one scan each).
            y: targets with one sample per row (None when ``x`` yields batches).
            epochs: passes over the data.
            batch_size: samples per step, clamped to the number of samples
                (``len(x)`` is full-batch gradient descent, 1 is SGD).
            validation_split: fraction of the samples held out from the end,
                before shuffling, as Keras; or ``validation_data=(x_val, y_val)``
                (or ``(x_val, y_val, sample_weight_val)``).
            shuffle: draw a new order every epoch (from the state's key and step).
            callbacks: ``fnnet.callbacks.Callback`` instances (one alone works too).
            key: ``jax.random.key(seed)`` or an int seed: shuffles and dropout derive from it.
            verbose: 0 silent, 1 a progress bar per epoch, 2 a line per epoch.
            augment: ``augment(key, x_batch) -> x_batch``, inside the compiled step.
            mesh: a ``jax.sharding.Mesh`` (or ``"local"``) sharding the batch axis.
            sample_weight: ``(N,)`` non-negative weights of the samples. The
                loss and its gradient are Keras's ``sum_i w_i l_i / n`` over a
                batch's ``n`` real samples (``compile(..., weighted_loss="mean")``:
                ``sum_i w_i l_i / sum_i w_i``); metrics are weighted means.
            class_weight: ``{class: weight}`` (Keras's): each sample's weight is
                multiplied by its class's (classes not named weigh 1); the class
                is the label, the argmax of a one-hot row, or the 0/1 value.
            checks: True: every step runs ``checkify`` checks (NaN or infinite
                inputs, labels the loss cannot take, a NaN loss) and ``fit``
                raises ``checkify.JaxRuntimeError`` naming the step; see
                ``fnnet.training.checks``. A separate compiled program.

        Training stops with a warning after an epoch whose loss is NaN or
        infinite (the failure is reported, never trained on quietly); the
        history keeps that epoch so it can be inspected.

        Returns:
            ``(state, history)``: the final ``TrainState`` and a ``History``
            whose ``history`` maps ``loss``, the metrics and their ``val_``
            forms to per-epoch lists.

        Examples:
            >>> import jax, numpy as np, fnnet as fn
            >>> model = fn.Sequential([fn.layers.Dense(1)])
            >>> trainer = fn.compile(model, "mse", "sgd")
            >>> x = np.ones((8, 2), np.float32); y = np.zeros((8, 1), np.float32)
            >>> state, history = trainer.fit(model.init(jax.random.key(0), (2,)), x, y, epochs=2,
            ...                              batch_size=4, key=jax.random.key(1), verbose=0)
            >>> int(state.step), list(history.history)
            (4, ['loss'])
        """
        hyperparameter("epochs", epochs, integer=True, low=0, high=np.iinfo(np.int32).max)  # state.step is int32
        hyperparameter("batch_size", batch_size, integer=True, low=1)
        hyperparameter("validation_split", validation_split, low=0, high=1, high_inclusive=False)
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        shuffle, augment = flag("shuffle", shuffle), augmentation(augment)
        callbacks = hooks.as_list(callbacks)
        checks = flag("checks", checks)
        mesh = parallel.resolve_mesh(mesh)
        state = self._start_state(params_or_state, key)
        data = inputs.prepare(
            self.objective,
            state.params,
            x,
            y,
            sample_weight=sample_weight,
            class_weight=class_weight,
            validation_split=validation_split,
            validation_data=validation_data,
            batch_size=batch_size,
            epochs=epochs,
            mesh=mesh,
        )
        state = parallel.place(state, mesh)
        if data.stream is not None:
            run_epoch = runs.streamed(self.objective, self.optimizer, data, augment=augment, checks=checks)
            return hooks.run_epochs(
                self, callbacks, state, epochs, run_epoch, progress_lib.Progress(epochs, None, verbose)
            )
        report_every = max(1, data.num_batches // 20) if verbose == 1 and mesh is None else 0
        progress = progress_lib.Progress(epochs, data.num_batches, verbose)
        token = progress_lib.register(progress)
        run_epoch = runs.in_memory(
            self.objective,
            self.optimizer,
            data,
            state,
            shuffle=shuffle,
            augment=augment,
            checks=checks,
            token=token,
            report_every=report_every,
        )

        try:
            return hooks.run_epochs(self, callbacks, state, epochs, run_epoch, progress)
        finally:
            progress_lib.unregister(token)

    def _start_state(self, params_or_state, key):
        if isinstance(params_or_state, layers.Layer):
            raise TypeError(
                "fit's first argument is the model's params or a TrainState, not the model (compile already has "
                "it): params = model.init(key, x.shape[1:]); state, history = trainer.fit(params, x, y, ...)"
            )
        if isinstance(params_or_state, (np.ndarray, jax.Array)):
            raise TypeError(
                "fit's first argument is the model's params (model.init(key, input_shape)) or a TrainState, "
                f"then x and y: fit(params, x, y, ...); got an array of shape {np.shape(params_or_state)}"
            )
        if isinstance(params_or_state, TrainState):
            self.objective.policy.check_state_params(params_or_state.params)
            return params_or_state if key is None else params_or_state._replace(key=as_key(key))
        if key is None:
            raise ValueError("fit from params needs key=jax.random.key(seed) for shuffling and dropout")
        return self.init_state(self.objective.policy.params(params_of(params_or_state)), key)

    @overload
    def evaluate(
        self,
        params_or_state: ParamsOrState,
        x: Any,
        y: Any,
        *,
        batch_size: int = ...,
        mesh: MeshLike = ...,
        sample_weight: ArrayLike | None = ...,
        return_dict: Literal[False] = ...,
        verbose: int | str = ...,
    ) -> Any: ...  # a float or [loss, *metrics]: Any, so that `loss, acc = evaluate(...)` checks
    @overload
    def evaluate(
        self,
        params_or_state: ParamsOrState,
        x: Any,
        y: Any,
        *,
        batch_size: int = ...,
        mesh: MeshLike = ...,
        sample_weight: ArrayLike | None = ...,
        return_dict: Literal[True],
        verbose: int | str = ...,
    ) -> dict[str, float]: ...
    def evaluate(
        self,
        params_or_state: ParamsOrState,
        x: Any,
        y: Any,
        *,
        batch_size: int = 32,
        mesh: MeshLike = None,
        sample_weight: ArrayLike | None = None,
        return_dict: bool = False,
        verbose: int | str = 0,
    ) -> float | list[float] | dict[str, float]:
        """Loss (with penalty) and metrics over ``(x, y)``, exact over partial batches; what Keras's returns.

        Args:
            params_or_state: params or a ``TrainState``.
            x: inputs, one sample per row.
            y: targets, one sample per row.
            batch_size: samples per compiled batch (the result does not depend on it).
            mesh: a ``jax.sharding.Mesh`` (or ``"local"``) sharding the batch axis.
            sample_weight: ``(N,)`` non-negative weights, as in ``fit`` (the loss
                reduced as ``compile``'s ``weighted_loss`` says, metrics weighted means).
            return_dict: False (Keras's default): the loss alone when there are
                no metrics, else the list ``[loss, *metrics]`` in the order of
                ``history.history``, so ``loss, accuracy = trainer.evaluate(...)``
                works as in Keras; True: ``{"loss": ..., metric: ...}``.
            verbose: accepted for Keras scripts; ``evaluate`` prints nothing.

        Returns:
            A float, a list of floats, or a dict of floats (``return_dict=True``).

        Examples:
            >>> import jax, numpy as np, fnnet as fn
            >>> model = fn.Sequential([fn.layers.Dense(1, kernel_initializer="zeros")])
            >>> trainer = fn.compile(model, "mse", "sgd", metrics=["mae"])
            >>> params = model.init(jax.random.key(0), (2,))
            >>> loss, mae = trainer.evaluate(params, np.ones((3, 2)), np.full((3, 1), 2.0))
            >>> loss, mae
            (4.0, 2.0)
            >>> trainer.evaluate(params, np.ones((3, 2)), np.full((3, 1), 2.0), return_dict=True)
            {'loss': 4.0, 'mae': 2.0}
        """
        flag("return_dict", return_dict)
        if verbose not in (0, 1, 2, "auto") or isinstance(verbose, float):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto' (Keras's values), got {verbose!r}")
        hyperparameter("batch_size", batch_size, integer=True, low=1)
        params = params_of(params_or_state)
        mesh = parallel.resolve_mesh(mesh)
        params = self.objective.policy.params(params)
        data = inputs.prepare(
            self.objective, params, x, y, sample_weight=sample_weight, batch_size=batch_size, mesh=mesh, batches=False
        )
        logs = runs.ordered_floats(
            self.objective,
            programs.evaluate(
                parallel.place(params, mesh),
                data.samples,
                objective=self.objective,
                batch_size=data.batch_size,
                mesh=mesh,
            ),
        )
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, params_or_state: ParamsOrState, x: Any, *, batch_size: int = 32, mesh: MeshLike = None) -> Any:
        """The model's outputs for ``x`` in inference mode, batched and jitted.

        Args:
            params_or_state: params or a ``TrainState``.
            x: inputs, one sample per row (one sample ``x[i]`` is passed as ``x[i:i+1]``).
            batch_size: samples per compiled batch.
            mesh: a ``jax.sharding.Mesh`` (or ``"local"``) sharding the batch axis.

        Returns:
            A NumPy array of outputs, one row per sample.

        Examples:
            >>> import jax, numpy as np, fnnet as fn
            >>> model = fn.Sequential([fn.layers.Dense(3, activation="softmax")])
            >>> trainer = fn.compile(model, "categorical_crossentropy", "adam")
            >>> trainer.predict(model.init(jax.random.key(0), (2,)), np.ones((5, 2))).shape
            (5, 3)
        """
        hyperparameter("batch_size", batch_size, integer=True, low=1)
        params = params_of(params_or_state)
        mesh = parallel.resolve_mesh(mesh)
        params = self.objective.policy.params(params)
        x = inputs.samples(inputs.one_array(x, self.model, "inputs", "x"), "x")
        try:
            inputs.output_shape(self.model, params, x)
            inputs.check_params(self.model, params, x)
        except ValueError as error:
            if not inputs.is_structured(x) and x.ndim == 1:
                raise ValueError(
                    f"predict takes a batch of samples, got x of shape {x.shape}; for one sample "
                    "pass x[None] (or x[[i]] to keep the batch axis of a row of a matrix)"
                ) from error
            if "x" in str(error).split():
                raise
            raise ValueError(f"x: {error}") from error
        batch_size = min(batch_size, inputs.count(x))
        parallel.check_batch_size(batch_size, mesh)
        params, x = parallel.place((params, x), mesh)
        return parallel.fetch(programs.predict(params, x, objective=self.objective, batch_size=batch_size, mesh=mesh))

    def predict_classes(
        self, params_or_state: ParamsOrState, x: Any, *, batch_size: int = 32, mesh: MeshLike = None
    ) -> np.ndarray:
        """Integer class labels: a single output column thresholded at 0.5, otherwise the argmax."""
        outputs = self.predict(params_or_state, x, batch_size=batch_size, mesh=mesh)
        if inputs.is_structured(outputs):
            raise ValueError(
                "predict_classes needs a model with one output; this one has several: "
                "threshold or argmax the outputs of predict yourself"
            )
        if outputs.ndim == 1 or outputs.shape[-1] == 1:
            return (outputs.reshape(len(outputs)) > 0.5).astype(np.int32)
        return np.argmax(outputs, axis=-1).astype(np.int32)


def compile(
    model: layers.Layer,
    loss: LossSpec,
    optimizer: OptimizerLike,
    metrics: MetricsSpec = (),  # noqa: A001
    regularizers: Regularizer | Sequence[Regularizer] = (),
    *,
    loss_weights: LossWeights | None = None,
    dtype_policy: DTypePolicyName | precision.Policy = "float32",
    weighted_loss: WeightedLoss = "sum_over_batch_size",
) -> Trainer:
    """A ``Trainer`` for ``model`` minimising ``loss`` plus regularizers.

    Args:
        model: a fnnet ``Layer`` (``Sequential``, ...).
        loss: a loss name (``"categorical_crossentropy"``) or callable; for a
            model with several outputs, a dict by output name or a list in
            output order (or one loss for all).
        optimizer: an optax transformation or a Keras name (``"adam"``).
        metrics: metric names or ``(y_true, y_pred)`` callables (one name alone works too);
            for several outputs, a dict or list of metric lists per output
            (logged as ``<output>_<metric>``), or one list for every output.
        regularizers: extra ``(params) -> scalar`` penalties over the whole
            params tree, added to the layers' own.
        loss_weights: for several outputs, the factor of each output's loss
            in the total (dict by name or list; default 1 each).
        dtype_policy: ``"float32"`` (default), ``"mixed_bfloat16"`` (float32
            params and optimizer state, bfloat16 forward and backward pass,
            float32 loss and metrics) or ``"float64"`` (needs x64); see
            ``fnnet.precision``.
        weighted_loss: how ``sample_weight``/``class_weight`` reduce the loss:
            ``"sum_over_batch_size"`` (default, Keras 3's: ``sum_i w_i l_i / n``
            over the ``n`` real samples, so weights scale the loss and its
            gradient) or ``"mean"`` (``sum_i w_i l_i / sum_i w_i``, the weighted
            mean; Keras's ``"mean_with_sample_weight"`` is accepted for it).

    Returns:
        A ``Trainer``. Equal arguments give equal trainers, which share
        their compiled programs.

    Examples:
        >>> import fnnet as fn
        >>> model = fn.Sequential([fn.layers.Dense(10, activation="softmax")])
        >>> fn.compile(model, "categorical_crossentropy", "adam", metrics=["accuracy"]) == \\
        ...     fn.compile(model, "categorical_crossentropy", "adam", metrics=["accuracy"])
        True
    """
    return Trainer(
        make_objective(
            model,
            loss,
            *as_tuple(regularizers, "regularizers"),
            metrics=metrics,
            loss_weights=loss_weights,
            dtype_policy=dtype_policy,
            weighted_loss=weighted_loss,
        ),
        optimizer,
    )
