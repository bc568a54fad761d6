"""A training run for tests/test_checkpoints.py, run as a subprocess: ``BackupAndRestore`` across a SIGKILL.

    python tests/checkpoint_worker.py BACKUP_DIR OUT_PREFIX [KILL_AT_STEP]

Trains a small dropout network with shuffles, Adam and early stopping for
6 epochs of 5 steps. With ``KILL_AT_STEP``, the process sends itself SIGKILL
from inside the compiled epoch when the training step of that number (from
1) runs, in the middle of an epoch. Every epoch's start is appended to
``OUT_PREFIX.log``; a run that finishes writes ``OUT_PREFIX.safetensors``
(its final params) and ``OUT_PREFIX.json`` (history, early stopping's state).
"""

import json
import os
import signal
import sys

import jax
import numpy as np

import fnnet as fn
from fnnet import callbacks, layers

backup_dir, out = sys.argv[1], sys.argv[2]
kill_at = int(sys.argv[3]) if len(sys.argv) > 3 else None

rng = np.random.default_rng(0)
x = rng.normal(size=(96, 6)).astype(np.float32)
y = fn.data.to_categorical((x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1), 3)
model = fn.Sequential(
    [layers.Dense(16, activation="relu"), layers.Dropout(0.25), layers.Dense(3, activation="softmax")]
)
trainer = fn.compile(model, "categorical_crossentropy", "adam", metrics=["accuracy"])
steps = [0]


def count_step(_):
    steps[0] += 1
    if steps[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


def augment(key, batch):  # the identity, with a host call per training step
    jax.debug.callback(count_step, batch[0, 0])
    return batch


class EpochLog(callbacks.Callback):
    def on_epoch_begin(self, epoch, state):
        with open(out + ".log", "a") as log:
            log.write(f"{epoch}\n")
            log.flush()
            os.fsync(log.fileno())


stopping = callbacks.EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)
state, history = trainer.fit(
    model.init(jax.random.key(0), (6,)),
    x,
    y,
    epochs=6,
    batch_size=16,
    validation_split=0.25,
    augment=augment,
    callbacks=[callbacks.BackupAndRestore(backup_dir), stopping, EpochLog()],
    key=jax.random.key(1),
    verbose=0,
)
fn.save_model(out + ".safetensors", model, state.params)
with open(out + ".json", "w") as file:
    json.dump({"history": history.history, "epoch": history.epoch, "stopping": stopping.get_state()}, file)
