"""Issue 18: a callback's ``monitor`` that no log has raises after the first epoch; arguments checked when made."""

import os
import re

import jax
import numpy as np
import pytest

import fnnet as fn
from fnnet import callbacks

MODEL = fn.Sequential([fn.layers.Dense(1)])
TRAINER = fn.compile(MODEL, "mse", "sgd")
PARAMS = MODEL.init(jax.random.key(0), (2,))
X = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
Y = X.sum(axis=1, keepdims=True)
LOGS = "['loss', 'val_loss']"


def fit(callback_list, epochs=3, validation_split=0.25):
    """Fit the tiny model with ``callback_list`` after a callback that records the epochs begun; returns them."""
    begun = []
    counter = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: begun.append(epoch))
    TRAINER.fit(
        PARAMS,
        X,
        Y,
        epochs=epochs,
        batch_size=4,
        validation_split=validation_split,
        callbacks=[counter, *callback_list],
        key=jax.random.key(0),
        verbose=0,
    )
    return begun


def typo_callbacks(tmp_path):
    return {
        "EarlyStopping": callbacks.EarlyStopping(monitor="val_los", mode="min", patience=5),
        "ReduceLROnPlateau": callbacks.ReduceLROnPlateau(monitor="val_los", mode="min"),
        "ModelCheckpoint": callbacks.ModelCheckpoint(
            tmp_path / "best.safetensors", monitor="val_los", mode="min", save_best_only=True
        ),
    }


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"])
def test_a_typo_monitor_raises_after_the_first_epoch_with_the_logs_and_the_closest_name(tmp_path, name):
    callback = typo_callbacks(tmp_path)[name]
    begun = []
    counter = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: begun.append(epoch))
    logs = "['loss', 'val_loss', 'learning_rate']" if name == "ReduceLROnPlateau" else LOGS
    message = f"{name} monitors 'val_los', which no log has; the logs are {logs} (did you mean 'val_loss'?)"
    with pytest.raises(ValueError, match=re.escape(message)):
        TRAINER.fit(
            PARAMS,
            X,
            Y,
            epochs=3,
            validation_split=0.25,
            callbacks=[counter, callback],
            key=jax.random.key(0),
            verbose=0,
        )
    assert begun == [0]
    assert os.listdir(tmp_path) == []  # ModelCheckpoint saved nothing


def test_a_model_checkpoint_keeping_the_best_file_needs_its_monitor_too(tmp_path):
    checkpoint = callbacks.ModelCheckpoint(
        tmp_path / "{epoch}.safetensors", monitor="vall_loss", keep=1, keep_best=True
    )
    with pytest.raises(
        ValueError,
        match=re.escape(f"monitors 'vall_loss', which no log has; the logs are {LOGS} (did you mean 'val_loss'?)"),
    ):
        fit([checkpoint])
    assert os.listdir(tmp_path) == []


def test_a_val_monitor_without_validation_data_says_so():
    stop = callbacks.EarlyStopping(monitor="val_loss")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "EarlyStopping monitors 'val_loss', which no log has; the logs are ['loss'] (val_ logs need validation "
            "data: pass validation_split or validation_data to fit)"
        ),
    ):
        fit([stop], validation_split=0.0)


def test_the_monitor_is_checked_in_the_first_epoch_even_before_start_from_epoch():
    with pytest.raises(ValueError, match="monitors 'val_los'"):
        fit([callbacks.EarlyStopping(monitor="val_los", mode="min", start_from_epoch=2)])


def test_the_helper_returns_the_value_or_none_when_not_required():
    logs = {"loss": 1.0, "accuracy": 0.5, "val_loss": 2.0, "val_accuracy": 0.25}
    assert callbacks.monitored_value("EarlyStopping", "val_loss", logs) == 2.0
    assert callbacks.monitored_value("ModelCheckpoint", "val_los", logs, required=False) is None
    with pytest.raises(
        ValueError,
        match=re.escape(
            "EarlyStopping monitors 'val_los', which no log has; the logs are ['loss', 'accuracy', 'val_loss', "
            "'val_accuracy'] (did you mean 'val_loss'?)"
        ),
    ):
        callbacks.monitored_value("EarlyStopping", "val_los", logs)
    with pytest.raises(ValueError, match=r"the logs are \['loss'\]$"):  # nothing close: no suggestion
        callbacks.monitored_value("EarlyStopping", "zzz", {"loss": 1.0})


def test_a_typo_that_auto_mode_cannot_read_is_named_when_made():
    with pytest.raises(ValueError, match=r"cannot tell whether 'val_los' .* \(a typo of 'val_loss'\?\)"):
        callbacks.EarlyStopping(monitor="val_los")
    with pytest.raises(ValueError, match=r"\(a typo of 'val_accuracy'\?\)"):
        callbacks.ReduceLROnPlateau(monitor="val_acuracy")


def test_correct_monitors_work(tmp_path):
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=5)
    plateau = callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5)
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "best.safetensors", save_best_only=True)
    assert fit([stop, plateau, checkpoint]) == [0, 1, 2]
    assert (tmp_path / "best.safetensors").exists()


def test_model_checkpoint_without_save_best_only_ignores_the_monitor(tmp_path):
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "{epoch}.safetensors")  # monitor="val_loss", never read
    assert fit([checkpoint], epochs=2, validation_split=0.0) == [0, 1]
    assert sorted(os.listdir(tmp_path)) == ["1.safetensors", "2.safetensors"]


def test_the_first_epoch_decides_a_monitor_missing_later_only_warns_in_model_checkpoint(tmp_path):
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "best.safetensors", save_best_only=True, save_weights_only=True)
    checkpoint.set_training(TRAINER, [checkpoint])
    checkpoint.on_train_begin(None)
    state = TRAINER.init_state(PARAMS, jax.random.key(0))
    checkpoint.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0}, state)
    assert checkpoint.best == 1.0
    with pytest.warns(RuntimeWarning, match="only with val_loss in the logs"):
        checkpoint.on_epoch_end(1, {"loss": 1.0}, state)
    checkpoint.on_train_begin(None)  # a new fit: its first epoch decides again
    with pytest.raises(ValueError, match="which no log has"):
        checkpoint.on_epoch_end(0, {"loss": 1.0}, state)


# The constructors check their arguments: (callback, kwargs, error, message).
ES, RLROP = callbacks.EarlyStopping, callbacks.ReduceLROnPlateau


def checkpoint(**kwargs):
    return callbacks.ModelCheckpoint("best.safetensors", **kwargs)


def backup(**kwargs):
    return callbacks.BackupAndRestore("backup", **kwargs)


BAD = [
    *[(make, {"monitor": 3}, TypeError, "monitor must be a log name") for make in (ES, RLROP, checkpoint)],
    *[(make, {"monitor": None}, TypeError, "monitor must be a log name") for make in (ES, RLROP, checkpoint)],
    *[(make, {"monitor": ""}, ValueError, "monitor must be a log name") for make in (ES, RLROP, checkpoint)],
    *[
        (make, {"mode": "up"}, ValueError, "mode must be 'auto', 'min' or 'max', got 'up'")
        for make in (ES, RLROP, checkpoint)
    ],
    *[(make, {"verbose": "no"}, TypeError, "verbose must be an integer") for make in (ES, RLROP, checkpoint)],
    *[
        (make, {"verbose": 2}, ValueError, r"verbose must be an integer in \[0, 1\]")
        for make in (ES, RLROP, checkpoint)
    ],
    *[(make, {"patience": -1}, ValueError, "patience must be") for make in (ES, RLROP)],
    *[(make, {"patience": 1.5}, TypeError, "patience must be an integer") for make in (ES, RLROP)],
    *[(make, {"patience": True}, TypeError, "patience must be an integer") for make in (ES, RLROP)],
    *[(make, {"min_delta": float("nan")}, ValueError, "min_delta must be finite") for make in (ES, RLROP)],
    *[(make, {"min_delta": "0.1"}, TypeError, "min_delta must be a number") for make in (ES, RLROP)],
    (ES, {"start_from_epoch": -1}, ValueError, "start_from_epoch must be"),
    (ES, {"baseline": float("inf")}, ValueError, "baseline must be finite"),
    (
        ES,
        {"restore_best_weights": "no"},
        TypeError,
        re.escape("restore_best_weights must be True or False, got 'no' of type str"),
    ),
    (ES, {"restore_best_weights": 1}, TypeError, "restore_best_weights must be True or False"),
    (RLROP, {"cooldown": -1}, ValueError, "cooldown must be"),
    (RLROP, {"cooldown": 0.5}, TypeError, "cooldown must be an integer"),
    (RLROP, {"factor": 0}, ValueError, re.escape("factor must be a number in (0, 1), got 0")),
    (RLROP, {"factor": 1.0}, ValueError, re.escape("factor must be a number in (0, 1), got 1.0")),
    (RLROP, {"factor": -0.5}, ValueError, re.escape("factor must be a number in (0, 1)")),
    (RLROP, {"factor": "0.5"}, TypeError, "factor must be a number"),
    (RLROP, {"min_lr": -1.0}, ValueError, "min_lr must be"),
    (checkpoint, {"save_best_only": "no"}, TypeError, "save_best_only must be True or False, got 'no' of type str"),
    (checkpoint, {"save_weights_only": 1}, TypeError, "save_weights_only must be True or False"),
    (checkpoint, {"keep_best": "yes", "keep": 2}, TypeError, "keep_best must be True or False"),
    (checkpoint, {"initial_value_threshold": "0.5"}, TypeError, "initial_value_threshold must be a number"),
    (checkpoint, {"initial_value_threshold": float("inf")}, ValueError, "initial_value_threshold must be finite"),
    (backup, {"delete_checkpoint": "no"}, TypeError, "delete_checkpoint must be True or False, got 'no'"),
]


@pytest.mark.parametrize(
    "make, kwargs, error, message",
    BAD,
    ids=[f"{getattr(m, '__name__', m)}-{'-'.join(k)}-{k[next(iter(k))]!r}" for m, k, _, _ in BAD],
)
def test_constructors_check_their_arguments(make, kwargs, error, message):
    with pytest.raises(error, match=message):
        make(**kwargs)


def test_constructors_accept_good_arguments():
    assert ES(verbose=True).verbose == 1 and ES(verbose=np.int64(0)).verbose == 0
    assert ES(restore_best_weights=np.bool_(True)).restore_best_weights is True
    assert RLROP(factor=np.float32(0.5), patience=np.int32(2), verbose=1).rule.factor == 0.5
    assert checkpoint(save_best_only=True, initial_value_threshold=np.float32(0.5)).save_best_only is True
    assert backup(delete_checkpoint=False).delete_checkpoint is False
