import csv

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fnnet as fn
from fnnet import callbacks


def scripted(callback, values, monitor="val_loss"):
    """Drive a callback through epochs whose monitored value is scripted; params record the epoch.

    Returns (epochs run, state after on_train_end).
    """
    state = fn.TrainState(params={"epoch": jnp.asarray(-1)}, opt_state=(), step=0, key=jax.random.key(0))
    state = callback.on_train_begin(state) or state
    run = []
    for epoch, value in enumerate(values):
        state = state._replace(params={"epoch": jnp.asarray(epoch)})
        callback.on_epoch_end(epoch, {monitor: value, "loss": 0.0}, state)
        run.append(epoch)
        if callback.stop_training:
            break
    return run, callback.on_train_end(state) or state


@pytest.mark.parametrize(
    "kwargs, values, epochs_run",
    [
        ({"patience": 0}, [1.0, 0.9, 0.95, 0.8], [0, 1, 2]),
        ({"patience": 2}, [1.0, 0.9, 0.95, 0.96, 0.97], [0, 1, 2, 3]),
        ({"patience": 2}, [1.0, 0.9, 0.95, 0.85, 0.9, 0.9], [0, 1, 2, 3, 4, 5]),
        ({"patience": 1, "min_delta": 0.05}, [1.0, 0.97, 0.96], [0, 1]),  # 0.03 is no improvement
        ({"patience": 1, "min_delta": 0.05}, [1.0, 0.9, 0.8, 0.79], [0, 1, 2, 3]),
        ({"patience": 0}, [float("nan"), 0.9, 0.95], [0, 1, 2]),  # NaN never improves; epoch 0 never stops
        ({"patience": 2}, [1.0, 0.9, 0.95, 0.96], [0, 1, 2, 3]),
        ({"patience": 2, "baseline": 0.5}, [1.0, 0.9, 0.95, 0.96], [0, 1, 2]),  # wait never resets above 0.5
        ({"patience": 2, "baseline": 0.95}, [1.0, 0.9, 0.95, 0.96], [0, 1, 2, 3]),
        ({"patience": 0, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 2.5, 2.6], [0, 1, 2, 3, 4]),
        ({"patience": 0, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 3.5], [0, 1, 2, 3]),
    ],
)
def test_keras_semantics_on_scripted_sequences(kwargs, values, epochs_run):
    assert scripted(callbacks.EarlyStopping(**kwargs), values)[0] == epochs_run


def test_max_mode_for_accuracy_in_auto_mode():
    run, _ = scripted(
        callbacks.EarlyStopping(monitor="val_accuracy", patience=0), [0.5, 0.6, 0.55], monitor="val_accuracy"
    )
    assert run == [0, 1, 2]
    run, _ = scripted(callbacks.EarlyStopping(monitor="val_loss", mode="max", patience=0), [0.5, 0.6, 0.55])
    assert run == [0, 1, 2]


def test_restore_best_weights_at_the_end_of_training():
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    run, state = scripted(stop, [1.0, 0.5, 0.7, 0.8, 0.9])
    assert run == [0, 1, 2, 3] and int(state.params["epoch"]) == 1
    _, state = scripted(callbacks.EarlyStopping(patience=2), [1.0, 0.5, 0.7, 0.8])
    assert int(state.params["epoch"]) == 3  # without restoring: the last weights
    _, state = scripted(callbacks.EarlyStopping(patience=10, restore_best_weights=True), [1.0, 0.5, 0.7])
    assert int(state.params["epoch"]) == 1  # restored even when training ran out of epochs, as Keras 3


def test_early_stopping_rule_is_pure_and_vmaps():
    rule = callbacks.EarlyStoppingRule(sign=-1.0, patience=1)
    values = jnp.array([[1.0, 0.9, 0.95, 0.96], [1.0, 0.9, 0.8, 0.7]])  # two variants
    state = jax.vmap(lambda _: callbacks.EarlyStoppingState.start(rule))(jnp.arange(2))
    update = jax.jit(jax.vmap(lambda s, v, e: s.update(v, e), in_axes=(0, 0, None)))
    for epoch in range(4):
        state = update(state, values[:, epoch], epoch)
    assert state.stop.tolist() == [True, False]
    assert state.best_epoch.tolist() == [1, 3]
    np.testing.assert_allclose(state.best, [0.9, 0.7])


def test_bad_early_stopping_arguments():
    with pytest.raises(ValueError, match="cannot tell whether 'val_f1'"):
        callbacks.EarlyStopping(monitor="val_f1")
    with pytest.raises(ValueError, match="mode must be"):
        callbacks.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="patience must be"):
        callbacks.EarlyStopping(patience=-1)
    stop = callbacks.EarlyStopping(monitor="val_accuracy")
    stop.on_train_begin(None)
    with pytest.raises(ValueError, match=r"monitors 'val_accuracy', which no log has; the logs are \['loss'"):
        stop.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0}, None)


def test_history_records_logs_and_epochs():
    history = callbacks.History()
    history.on_train_begin(None)
    history.on_epoch_end(0, {"loss": 2.0}, None)
    history.on_epoch_end(1, {"loss": 1.0}, None)
    assert history.history == {"loss": [2.0, 1.0]} and history.epoch == [0, 1]


def test_csv_logger_writes_a_header_and_a_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    for append in (False, True):
        logger = callbacks.CSVLogger(path, append=append)
        logger.on_train_begin(None)
        logger.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75}, None)
        logger.on_epoch_end(1, {"loss": 0.25, "accuracy": 1.0}, None)
        logger.on_train_end(None)
    rows = list(csv.DictReader(open(path)))
    assert [row["epoch"] for row in rows] == ["0", "1", "0", "1"]
    assert float(rows[1]["loss"]) == 0.25 and float(rows[3]["accuracy"]) == 1.0


def test_learning_rate_scheduler_needs_the_rate_in_the_state():
    import optax

    state = fn.TrainState({}, optax.sgd(0.1).init({}), 0, jax.random.key(0))
    with pytest.raises(ValueError, match="inject_hyperparams"):
        callbacks.LearningRateScheduler(lambda epoch, lr: lr).on_epoch_begin(0, state)
    with pytest.raises(TypeError, match="schedule must be a callable"):
        callbacks.LearningRateScheduler(0.1)


def test_a_custom_callback_can_stop_training():
    class StopAfterTwo(callbacks.Callback):
        def on_epoch_end(self, epoch, logs, state):
            self.stop_training = epoch == 1

    x = np.ones((4, 2), np.float32)
    model = fn.Sequential([fn.layers.Dense(1)])
    trainer = fn.compile(model, "mse", "sgd")
    _, history = trainer.fit(
        model.init(jax.random.key(0), (2,)),
        x,
        x[:, :1],
        epochs=10,
        callbacks=[StopAfterTwo()],
        key=jax.random.key(0),
        verbose=0,
    )
    assert history.epoch == [0, 1]


def test_verbose_early_stopping_and_scheduler_say_what_they_do(capsys):
    run, _ = scripted(callbacks.EarlyStopping(patience=0, verbose=1, restore_best_weights=True), [1.0, 0.5, 0.7])
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out and "best epoch: 2." in out
    opt = fn.optimizers.get("sgd", learning_rate=0.1)
    state = fn.TrainState({"w": jnp.ones(1)}, opt.init({"w": jnp.ones(1)}), 0, jax.random.key(0))
    callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2, verbose=1).on_epoch_begin(0, state)
    assert "setting learning rate to 0.05" in capsys.readouterr().out
