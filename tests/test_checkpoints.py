"""Checkpoints of whole training states, ModelCheckpoint and BackupAndRestore: bit-for-bit round trips,
resumed runs equal to uninterrupted ones (in process, and across a SIGKILL in the middle of an epoch),
and a failed write that leaves the previous checkpoint intact."""

import json
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import optax
import pytest

import fnnet as fn
from fnnet import callbacks, layers
from fnnet.saving import container
from fnnet.training import epoch as programs

WORKER = pathlib.Path(__file__).resolve().parent / "checkpoint_worker.py"

RNG = np.random.default_rng(0)
X = RNG.normal(size=(80, 5)).astype(np.float32)
Y = fn.data.to_categorical((X[:, 0] > X[:, 1]).astype(int) + (X[:, 2] > 0.5), 3)
MODEL = fn.Sequential(
    [
        layers.Dense(12, activation="relu"),
        layers.BatchNormalization(),
        layers.Dropout(0.3),
        layers.Dense(3, activation="softmax"),
    ]
)
TRAINER = fn.compile(MODEL, "categorical_crossentropy", "adam", metrics=["accuracy"])
PARAMS = jax.jit(lambda key: MODEL.init(key, (5,)))(jax.random.key(0))


def assert_bitwise(a, b):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            assert str(jax.random.key_impl(x)) == str(jax.random.key_impl(y))
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        x, y = np.asarray(x), np.asarray(y)
        assert (x.dtype, x.shape, x.tobytes()) == (y.dtype, y.shape, y.tobytes())


def fit(callback_list, epochs=6):
    return TRAINER.fit(
        PARAMS,
        X,
        Y,
        epochs=epochs,
        batch_size=16,
        validation_split=0.25,
        callbacks=callback_list,
        key=jax.random.key(1),
        verbose=0,
    )


@pytest.mark.parametrize("impl", ["threefry2x32", "rbg"])
def test_a_train_state_with_adam_and_a_typed_key_round_trips_bit_for_bit(tmp_path, impl):
    state = TRAINER.init_state(PARAMS, jax.random.key(7, impl=impl))
    state, _ = TRAINER.fit(state, X, Y, epochs=1, batch_size=16, verbose=0)  # moments and count not zero
    history = {"loss": [0.5, float("inf")], "accuracy": [0.25, 0.5]}
    path = fn.save_checkpoint(
        tmp_path / "c.safetensors", state, model=MODEL, epoch=2, history=history, callbacks_state=[{"wait": 1}, {}]
    )
    checkpoint = fn.load_checkpoint(path, like=state)
    assert_bitwise(state, checkpoint.state)
    assert (checkpoint.epoch, checkpoint.history, checkpoint.callbacks_state) == (2, history, [{"wait": 1}, {}])
    assert checkpoint.model == MODEL
    for like in (TRAINER, TRAINER.optimizer):  # the optimizer's init gives the tree
        assert_bitwise(state.opt_state, fn.load_checkpoint(path, like=like).state.opt_state)
    assert fn.load_checkpoint(path).state.opt_state is None
    model, params = fn.load_model(path)  # a checkpoint is a model file too
    assert model == MODEL
    assert_bitwise(state.params, params)


def test_a_checkpoint_that_does_not_match_its_template_names_the_leaf(tmp_path):
    state = TRAINER.init_state(PARAMS, jax.random.key(1))
    path = fn.save_checkpoint(tmp_path / "c.safetensors", state, model=MODEL, epoch=0)
    with pytest.raises(ValueError, match="the optimizer state: it lacks opt_state/0/trace/"):
        fn.load_checkpoint(path, like=optax.sgd(0.1, momentum=0.9))
    with pytest.raises(ValueError, match="key: the state expects a rbg key, the file holds threefry2x32"):
        fn.load_checkpoint(path, like=state._replace(key=jax.random.key(1, impl="rbg")))
    with pytest.raises(ValueError, match="is a model file"):
        fn.load_checkpoint(fn.save_model(tmp_path / "m.safetensors", MODEL, PARAMS))
    tensors, metadata = container.read(path)
    container.write(path, {**tensors, "step": np.zeros(2, np.int32)}, metadata)
    with pytest.raises(ValueError, match="step must be a 0-d integer tensor"):
        fn.load_checkpoint(path)
    container.write(path, {**tensors, "payload": np.zeros(2, np.int32)}, metadata)
    with pytest.raises(ValueError, match="the tensor 'payload' is not part of an fnnet checkpoint"):
        fn.load_checkpoint(path)


class Crash(callbacks.Callback):
    """Stands in for a crash: raises at the start of epoch ``at`` (no hook after it runs)."""

    def __init__(self, at):
        self.at = at

    def on_epoch_begin(self, epoch, state):
        if epoch == self.at:
            raise KeyboardInterrupt


def run_callbacks(backup_dir, crash_at=None):
    return [
        callbacks.BackupAndRestore(backup_dir),
        callbacks.EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True),
        callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5),
        Crash(crash_at),
    ]


def test_a_resumed_fit_equals_the_uninterrupted_one_early_stopping_and_plateau_counters_included(tmp_path):
    plain = run_callbacks(tmp_path / "plain")
    reference, reference_history = fit(plain)
    assert not (tmp_path / "plain").exists()  # delete_checkpoint=True: removed at a normal end
    with pytest.raises(KeyboardInterrupt):
        fit(run_callbacks(tmp_path / "backup", crash_at=4))
    backup = fn.load_checkpoint(tmp_path / "backup" / "latest.safetensors")
    assert backup.epoch == 4 and int(backup.state.step) == 4 * 4  # the 4 epochs done, nothing more lost
    resumed_callbacks = run_callbacks(tmp_path / "backup")
    compiled = programs.fit_epoch._cache_size()
    resumed, resumed_history = fit(resumed_callbacks)
    assert programs.fit_epoch._cache_size() == compiled  # the restored state runs the compiled epoch as it is
    assert_bitwise(reference, resumed)
    assert resumed_history.history == reference_history.history
    assert resumed_history.epoch == reference_history.epoch == list(range(6))
    for done, again in zip(plain[1:3], resumed_callbacks[1:3]):
        assert done.get_state() == again.get_state()
    assert not (tmp_path / "backup").exists()


def test_a_failed_backup_write_leaves_the_previous_backup_intact_and_resumable(tmp_path, monkeypatch):
    replace, writes = os.replace, []

    def failing_replace(source, target):
        writes.append(target)
        if len(writes) == 3:
            raise OSError(28, "No space left on device")
        return replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        fit([callbacks.BackupAndRestore(tmp_path), callbacks.Callback()])
    monkeypatch.undo()
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    backup = fn.load_checkpoint(tmp_path / "latest.safetensors", like=TRAINER.init_state(PARAMS, jax.random.key(1)))
    assert backup.epoch == 2  # written when epoch 3 began; the write when epoch 4 began failed
    reference, history = fit([callbacks.Callback(), callbacks.Callback()])
    resumed, resumed_history = fit([callbacks.BackupAndRestore(tmp_path), callbacks.Callback()])
    assert_bitwise(reference, resumed)
    assert resumed_history.history == history.history


def test_backup_and_restore_keeps_a_finished_run_when_asked_and_resumes_it_without_training(tmp_path):
    state, history = fit([callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)], epochs=2)
    assert fn.load_checkpoint(tmp_path / "latest.safetensors").epoch == 2
    again, again_history = fit([callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)], epochs=2)
    assert_bitwise(state.params, again.params)
    assert again_history.history == history.history


def test_backup_and_restore_refuses_another_run_and_warns_about_its_place(tmp_path):
    fit([callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)], epochs=1)
    other = fn.compile(MODEL, "categorical_crossentropy", optax.sgd(0.1, momentum=0.9))
    with pytest.raises(ValueError, match="cannot resume from .*opt_state"):
        other.fit(
            PARAMS, X, Y, epochs=1, callbacks=[callbacks.BackupAndRestore(tmp_path)], key=jax.random.key(1), verbose=0
        )
    with pytest.raises(ValueError, match="save_freq must be 'epoch'"):
        callbacks.BackupAndRestore(tmp_path, save_freq=10)
    with pytest.warns(RuntimeWarning, match="list BackupAndRestore first"):
        fit(
            [callbacks.LearningRateScheduler(lambda epoch, lr: lr), callbacks.BackupAndRestore(tmp_path / "b")],
            epochs=1,
        )


def test_model_checkpoint_formats_the_path_keeps_the_latest_and_the_best(tmp_path):
    checkpoint = callbacks.ModelCheckpoint(
        str(tmp_path / "ckpt" / "{epoch:02d}-{val_loss:.4f}.safetensors"), keep=2, keep_best=True
    )
    _, history = fit([checkpoint])
    names = sorted(os.listdir(tmp_path / "ckpt"))
    losses = history.history["val_loss"]
    best = int(np.argmin(losses))
    expected = {f"{e + 1:02d}-{losses[e]:.4f}.safetensors" for e in {4, 5, best}}
    assert set(names) == expected
    last = fn.load_checkpoint(tmp_path / "ckpt" / f"06-{losses[5]:.4f}.safetensors")
    assert last.epoch == 6 and last.history == history.history and last.callbacks_state == [checkpoint.get_state()]


def test_model_checkpoint_save_best_only_with_a_threshold_and_weights_only(tmp_path):
    path = tmp_path / "best.safetensors"
    checkpoint = callbacks.ModelCheckpoint(
        path, monitor="val_accuracy", save_best_only=True, save_weights_only=True, initial_value_threshold=0.0
    )
    state, history = fit([checkpoint])
    accuracy = history.history["val_accuracy"]
    assert checkpoint.best == max(accuracy)
    model, params = fn.load_model(path)
    assert model == MODEL
    assert container.read(path)[1]["format"] == "fnnet.model/1"
    never = callbacks.ModelCheckpoint(
        tmp_path / "never.safetensors", monitor="val_accuracy", save_best_only=True, initial_value_threshold=1.5
    )
    fit([never], epochs=2)
    assert not (tmp_path / "never.safetensors").exists()
    with pytest.raises(
        ValueError,
        match=r"ModelCheckpoint monitors 'val_auc', which no log has.*"
        r"did you mean 'val_accuracy'",
    ):
        fit([callbacks.ModelCheckpoint(tmp_path / "x.safetensors", monitor="val_auc", save_best_only=True)], epochs=1)
    with pytest.raises(ValueError, match="names 'val_f1', which is not in the logs"):
        fit([callbacks.ModelCheckpoint(str(tmp_path / "{val_f1}.safetensors"))], epochs=1)


def read_log(path):
    return [int(line) for line in path.read_text().split()]


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_from_its_backup_and_equals_the_uninterrupted_run(tmp_path):
    def worker(backup, out, *kill):
        return subprocess.run(
            [sys.executable, str(WORKER), str(tmp_path / backup), str(tmp_path / out), *kill],
            capture_output=True,
            text=True,
            timeout=300,
        )

    done = worker("plain", "plain")
    assert done.returncode == 0, done.stderr[-3000:]
    killed = worker("backup", "run", "13")  # 5 steps an epoch: step 13 is the third of epoch 3 (index 2)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert read_log(tmp_path / "run.log") == [0, 1, 2]
    backup = fn.load_checkpoint(tmp_path / "backup" / "latest.safetensors")
    assert backup.epoch == 2 and int(backup.state.step) == 10  # only epoch 3's two steps are lost
    restarted = worker("backup", "run")
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert read_log(tmp_path / "run.log") == [0, 1, 2, 2, 3, 4, 5]
    _, reference = fn.load_model(tmp_path / "plain.safetensors")
    _, resumed = fn.load_model(tmp_path / "run.safetensors")
    assert_bitwise(reference, resumed)
    assert json.loads((tmp_path / "run.json").read_text()) == json.loads((tmp_path / "plain.json").read_text())
    assert not (tmp_path / "backup").exists()
