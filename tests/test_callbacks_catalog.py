"""ReduceLROnPlateau (Keras's rule, as a pure state), LambdaCallback, TensorBoard, callbacks' get/set_state."""

import glob
import json
import os
import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnnet as fn
from fnnet import callbacks


def lr_state(learning_rate=1.0):
    params = {"w": jnp.zeros(1)}
    opt = fn.optimizers.get("sgd", learning_rate=learning_rate)
    return fn.TrainState(params, opt.init(params), 0, jax.random.key(0))


def current_lr(state):
    return float(state.opt_state.hyperparams["learning_rate"])


def drive(callback, values, state=None, monitor="val_loss", first_epoch=0):
    """Run ``on_epoch_end`` over scripted values; returns (logged learning rates, final state)."""
    state = state if state is not None else lr_state()
    logged = []
    for epoch, value in enumerate(values, start=first_epoch):
        logs = {"loss": 0.0, monitor: value}
        state = callback.on_epoch_end(epoch, logs, state) or state
        logged.append(logs["learning_rate"])
    return logged, state


def keras_plateau(values, lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0.0, mode="min"):
    """Keras 3's ReduceLROnPlateau.on_epoch_end, transcribed; the rate stored as float32, as Keras's variable."""
    improves = (lambda a, b: a < b - min_delta) if mode == "min" else (lambda a, b: a > b + min_delta)
    best, wait, cooldown_counter, lr, logged = (np.inf if mode == "min" else -np.inf), 0, 0, np.float32(lr), []
    for value in values:
        logged.append(float(lr))
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if improves(value, best):
            best, wait = value, 0
        elif not cooldown_counter > 0:
            wait += 1
            if wait >= patience and lr > np.float32(min_lr):
                lr = np.float32(max(float(lr) * factor, min_lr))
                cooldown_counter, wait = cooldown, 0
    return logged


@pytest.mark.parametrize(
    "kwargs, values",
    [
        ({"patience": 2}, [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0]),
        ({"patience": 1, "cooldown": 2}, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
        ({"patience": 0, "factor": 0.5, "min_lr": 0.2}, [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]),  # floored at min_lr
        ({"patience": 1, "min_delta": 0.05}, [1.0, 0.97, 0.96, 0.8, 0.79, 0.78]),  # 0.03 is no improvement
        ({"patience": 1}, [float("nan"), 1.0, float("nan"), float("nan")]),  # NaN never improves
        ({"patience": 1, "mode": "max"}, [0.5, 0.6, 0.55, 0.58, 0.7, 0.6]),
    ],
)
def test_reduce_lr_on_plateau_follows_keras(kwargs, values):
    plateau = callbacks.ReduceLROnPlateau(**kwargs)
    plateau.on_train_begin(None)
    logged, state = drive(plateau, values)
    expected = keras_plateau(values + [0.0], 1.0, **kwargs)  # one more epoch logs the last rate
    np.testing.assert_allclose(logged, expected[:-1], rtol=1e-6)
    assert current_lr(state) == pytest.approx(expected[-1], rel=1e-6)


@given(
    # no subnormal floats: XLA on CPU flushes them to zero (1.4e-45 compares equal to 0.0), NumPy in Keras does not
    values=st.lists(st.floats(0, 2, width=32, allow_subnormal=False) | st.just(float("nan")), min_size=1, max_size=12),
    patience=st.integers(0, 3),
    cooldown=st.integers(0, 2),
    factor=st.sampled_from([0.1, 0.5]),
    min_lr=st.sampled_from([0.0, 0.01]),
    min_delta=st.sampled_from([0.0, 1e-4, 0.1]),
    mode=st.sampled_from(["min", "max"]),
)
@settings(max_examples=30)
def test_reduce_lr_on_plateau_equals_keras_on_random_sequences(
    values, patience, cooldown, factor, min_lr, min_delta, mode
):
    kwargs = {
        "patience": patience,
        "cooldown": cooldown,
        "factor": factor,
        "min_lr": min_lr,
        "min_delta": min_delta,
        "mode": mode,
    }
    values = [float(np.float32(v)) for v in values]
    plateau = callbacks.ReduceLROnPlateau(**kwargs)
    plateau.on_train_begin(None)
    np.testing.assert_allclose(drive(plateau, values)[0], keras_plateau(values, 1.0, **kwargs), rtol=1e-6)


def test_plateau_rule_is_pure_and_vmaps():
    rule = callbacks.ReduceLROnPlateauRule(sign=-1.0, factor=0.5, patience=1)
    values = jnp.array([[1.0, 1.0, 1.0], [1.0, 0.9, 0.8]])  # a plateau, steady progress
    state = jax.vmap(lambda _: callbacks.ReduceLROnPlateauState.start(rule))(jnp.arange(2))
    update = jax.jit(jax.vmap(lambda s, v, lr: s.update(v, lr)))
    lr = jnp.ones(2)
    for epoch in range(3):
        state, lr = update(state, values[:, epoch], lr)
    np.testing.assert_allclose(lr, [0.25, 1.0])


def test_bad_plateau_arguments_and_missing_values():
    with pytest.raises(ValueError, match=r"factor must be a number in \(0, 1\)"):
        callbacks.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="patience must be"):
        callbacks.ReduceLROnPlateau(patience=-1)
    with pytest.raises(ValueError, match="min_lr must be"):
        callbacks.ReduceLROnPlateau(min_lr=-1.0)
    with pytest.raises(ValueError, match="cannot tell whether 'val_f1'"):
        callbacks.ReduceLROnPlateau(monitor="val_f1")
    plateau = callbacks.ReduceLROnPlateau(monitor="val_accuracy")
    plateau.on_train_begin(None)
    with pytest.raises(ValueError, match=r"monitors 'val_accuracy', which no log has"):
        plateau.on_epoch_end(0, {"loss": 1.0}, lr_state())
    import optax

    no_rate = fn.TrainState({}, optax.sgd(0.1).init({}), 0, jax.random.key(0))
    with pytest.raises(ValueError, match="inject_hyperparams"):
        plateau.on_epoch_end(0, {"val_accuracy": 1.0}, no_rate)


def test_monitor_direction_from_the_name():
    for name in ("val_auc", "precision", "val_recall", "f1_score", "digit_auc", "val_top_k_categorical_accuracy"):
        assert callbacks.monitor_sign(name) == 1.0, name
    for name in ("val_loss", "huber", "val_kld", "digit_loss", "val_digit_mse", "cosine_similarity"):
        assert callbacks.monitor_sign(name) == -1.0, name


def test_verbose_plateau_says_what_it_does(capsys):
    plateau = callbacks.ReduceLROnPlateau(patience=0, verbose=1)
    plateau.on_train_begin(None)
    drive(plateau, [1.0, 2.0])
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.1." in capsys.readouterr().out


def resumed_equals_uninterrupted(make, values, cut, state=None):
    """Run ``values`` uninterrupted, and cut at ``cut`` with the counters through JSON into a new callback."""
    whole = make()
    whole.on_train_begin(state)
    expected = drive(whole, values, state)[0] if isinstance(whole, callbacks.ReduceLROnPlateau) else None
    first = make()
    first.on_train_begin(state)
    logged, middle = drive(first, values[:cut], state)
    saved = json.loads(json.dumps(first.get_state(), allow_nan=False))  # strict JSON
    second = make()
    second.on_train_begin(state)  # as fit: on_train_begin, then resume sets the state
    second.set_state(saved)
    rest, _ = drive(second, values[cut:], middle, first_epoch=cut)
    if expected is not None:
        assert logged + rest == expected
    return whole, second


def test_plateau_state_round_trips_through_json():
    values = [1.0, 0.9, 0.95, 0.96, 0.97, 0.91, 0.92, 0.93, 0.94]
    for cut in range(len(values)):
        whole, resumed = resumed_equals_uninterrupted(
            lambda: callbacks.ReduceLROnPlateau(patience=2, cooldown=1, factor=0.5), values, cut
        )
        assert resumed.get_state() == whole.get_state()
    fresh = callbacks.ReduceLROnPlateau()
    assert fresh.get_state() == {"best": None, "wait": 0, "cooldown_counter": 0}


def test_early_stopping_state_round_trips_through_json():
    def make():
        return callbacks.EarlyStopping(patience=3, restore_best_weights=True)

    values = [1.0, 0.9, 0.95, 0.96, 0.85, 0.9, 0.91, 0.92, 0.93]
    for cut in range(1, len(values)):
        whole, resumed = make(), make()
        whole.on_train_begin(lr_state())
        run_whole = [
            e
            for e, v in enumerate(values)
            if not whole.stop_training and (whole.on_epoch_end(e, {"val_loss": v}, lr_state()) or True)
        ]
        first = make()
        first.on_train_begin(lr_state())
        for e, v in enumerate(values[:cut]):
            first.on_epoch_end(e, {"val_loss": v}, lr_state())
            if first.stop_training:
                break
        if first.stop_training:
            continue
        resumed.on_train_begin(lr_state())
        resumed.set_state(json.loads(json.dumps(first.get_state(), allow_nan=False)))
        resumed.best_params = first.best_params  # arrays: a checkpoint stores them as tensors
        run = list(range(cut))
        for e, v in enumerate(values[cut:], start=cut):
            resumed.on_epoch_end(e, {"val_loss": v}, lr_state())
            run.append(e)
            if resumed.stop_training:
                break
        assert run == run_whole[: len(run)] and resumed.get_state() == whole.get_state()
    assert make().get_state() == {"best": None, "best_epoch": 0, "wait": 0, "stop": False, "stopped_epoch": None}


def test_set_state_before_training_survives_on_train_begin():
    stop = callbacks.EarlyStopping(patience=5)
    stop.set_state({"best": 0.5, "best_epoch": 3, "wait": 4, "stop": False, "stopped_epoch": None})
    stop.on_train_begin(lr_state())
    stop.on_epoch_end(5, {"val_loss": 0.7}, lr_state())  # the fifth epoch without improvement
    assert stop.stop_training
    stop.on_train_begin(lr_state())  # a new run starts afresh
    assert stop.get_state()["wait"] == 0 and stop.get_state()["best"] is None


def test_stateless_callbacks_have_empty_state():
    for callback in (callbacks.Callback(), callbacks.TerminateOnNaN(), callbacks.LambdaCallback()):
        assert callback.get_state() == {} and callback.set_state({}) is None


def test_lambda_callback_takes_keras_functions_or_ones_with_the_state():
    calls = []
    keras_style = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch, logs)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, dict(logs))) or "ignored",
        on_train_end=lambda logs: calls.append(("train_end", logs)),
    )
    state = lr_state()
    assert keras_style.on_train_begin(state) is None
    assert keras_style.on_epoch_begin(0, state) is None
    assert keras_style.on_epoch_end(0, {"loss": 0.5}, state) is None  # a Keras function's return is ignored
    keras_style.on_train_end(state)
    assert calls == [
        ("train_begin", {}),
        ("epoch_begin", 0, {}),
        ("epoch_end", 0, {"loss": 0.5}),
        ("train_end", {"loss": 0.5}),
    ]

    def halve_rate(epoch, logs, state):
        lr = current_lr(state) / 2
        return state.with_hyperparameters(learning_rate=lr)

    with_state = callbacks.LambdaCallback(on_epoch_end=halve_rate, on_train_begin=lambda logs, state: None)
    assert current_lr(with_state.on_epoch_end(0, {}, state)) == 0.5
    assert with_state.on_train_begin(state) is None


def test_lambda_callback_refuses_what_it_cannot_call():
    with pytest.raises(
        TypeError,
        match=r"on_epoch_end must take \(epoch, logs\) as in Keras, or \(epoch, logs, "
        r"state\); it takes 1",
    ):
        callbacks.LambdaCallback(on_epoch_end=lambda epoch: None)
    with pytest.raises(ValueError, match="no batch hooks"):
        callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: None)
    with pytest.raises(TypeError, match="unexpected arguments"):
        callbacks.LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="must be a callable"):
        callbacks.LambdaCallback(on_epoch_end=3)


def read_scalars(folder):
    """{tag: [(step, value)]} from the TFRecord event files in ``folder``, parsed with tensorboardX's protobuf."""
    from tensorboardX.proto import event_pb2

    scalars = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        with open(path, "rb") as file:
            data = file.read()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4  # length, its CRC, the record, its CRC
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_tensorboard_writes_a_scalar_per_log_per_epoch(tmp_path):
    pytest.importorskip("tensorboardX")
    board = callbacks.TensorBoard(log_dir=tmp_path)
    board.on_train_begin(None)
    for epoch in range(3):
        board.on_epoch_end(
            epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.5, "val_loss": 2.0 - epoch, "learning_rate": 0.01}, None
        )
    board.on_train_end(None)
    train, validation = read_scalars(tmp_path / "train"), read_scalars(tmp_path / "validation")
    assert train["epoch_loss"] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert train["epoch_accuracy"] == [(0, 0.5), (1, 0.5), (2, 0.5)]
    assert train["epoch_learning_rate"] == [(e, pytest.approx(0.01)) for e in range(3)]
    assert validation == {"epoch_loss": [(0, 2.0), (1, 1.0), (2, 0.0)]}
    with pytest.raises(ValueError, match="once per epoch"):
        callbacks.TensorBoard(tmp_path, update_freq="batch")


def test_tensorboard_without_tensorboardx_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install fnnet\[tensorboard\]"):
        callbacks.TensorBoard("logs")


def test_fit_with_plateau_lambda_and_tensorboard_sets_the_rate_without_recompiling(tmp_path):
    pytest.importorskip("tensorboardX")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = fn.Sequential([fn.layers.Dense(1)])
    trainer = fn.compile(model, "mse", fn.optimizers.get("sgd", learning_rate=0.05))
    params = model.init(jax.random.key(0), (3,))
    trainer.fit(params, x, y, epochs=1, batch_size=8, key=jax.random.key(1), verbose=0)  # compiles the epoch
    traces = dict(fn.training.TRACES)
    seen = []
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_delta=1e9)  # never improves
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs, state: seen.append(current_lr(state)))
    state, history = trainer.fit(
        params,
        x,
        y,
        epochs=4,
        batch_size=8,
        key=jax.random.key(1),
        verbose=0,
        callbacks=[plateau, record, callbacks.TensorBoard(tmp_path)],
    )
    assert dict(fn.training.TRACES) == traces  # a new rate is a new value in the state, not a new program
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.05, 0.025, 0.0125], rtol=1e-6)
    np.testing.assert_allclose(seen, [0.05, 0.025, 0.0125, 0.00625], rtol=1e-6)  # after each reduction
    assert current_lr(state) == pytest.approx(0.00625)
    logged = read_scalars(tmp_path / "train")
    assert [step for step, _ in logged["epoch_loss"]] == [0, 1, 2, 3]
    np.testing.assert_allclose([v for _, v in logged["epoch_loss"]], history.history["loss"], rtol=1e-6)
