import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import fnnet as fn
from fnnet import callbacks, layers, regularizers


def blobs(n=40, features=4, classes=3, seed=0):
    """Separable Gaussian blobs: x float32 (n, features), integer labels (n,)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centers = rng.normal(0, 3, (classes, features))
    return (centers[labels] + rng.normal(0, 0.5, (n, features))).astype(np.float32), labels.astype(np.int32)


def classifier(dropout=0.0):
    return fn.Sequential([layers.Dense(8, "tanh"), layers.Dropout(dropout), layers.Dense(3, "softmax")])


@pytest.fixture(scope="module")
def data():
    x, labels = blobs()
    return x, fn.data.to_categorical(labels, 3), labels


def fit(model, x, y, optimizer="adam", metrics=("accuracy",), **kwargs):
    trainer = fn.compile(model, "categorical_crossentropy", optimizer, metrics=list(metrics))
    params = model.init(jax.random.key(0), x.shape[1:])
    kwargs.setdefault("key", jax.random.key(1))
    kwargs.setdefault("verbose", 0)
    return trainer, *trainer.fit(params, x, y, **kwargs)


@pytest.mark.slow
def test_fit_returns_state_and_keras_history(data):
    x, y, _ = data
    trainer, state, history = fit(classifier(), x, y, epochs=3, batch_size=8, validation_split=0.25)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert history.epoch == [0, 1, 2]
    assert all(len(values) == 3 for values in history.history.values())
    assert isinstance(state, fn.TrainState)
    assert int(state.step) == 3 * 4  # 30 training samples in batches of 8: 4 steps an epoch
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.slow
def test_same_key_is_bitwise_reproducible_and_other_keys_differ(data):
    x, y, _ = data
    runs = [fit(classifier(dropout=0.3), x, y, epochs=2, batch_size=8, key=jax.random.key(k))[1:] for k in (5, 5, 6)]
    (s1, h1), (s2, h2), (s3, h3) = runs
    assert h1.history == h2.history
    chex.assert_trees_all_equal(s1.params, s2.params)
    assert h1.history["loss"] != h3.history["loss"]


@pytest.mark.slow
def test_different_keys_give_different_shuffles_and_dropout_masks(data):
    x, y, _ = data
    no_dropout = [fit(classifier(), x, y, epochs=1, batch_size=8, key=jax.random.key(k))[1] for k in (1, 2)]
    # no dropout and the same init: only the shuffle differs, and it changes the result
    assert not np.allclose(no_dropout[0].params["dense"]["kernel"], no_dropout[1].params["dense"]["kernel"])
    full_batch = [
        fit(classifier(dropout=0.5), x, y, epochs=1, batch_size=len(x), shuffle=False, key=jax.random.key(k))[1]
        for k in (1, 2)
    ]
    # one full batch in a fixed order: only the dropout mask differs
    assert not np.allclose(full_batch[0].params["dense"]["kernel"], full_batch[1].params["dense"]["kernel"])


def test_one_trace_across_epochs_callbacks_and_learning_rate_changes(data):
    x, y, _ = data
    traces = fn.training.TRACES["fit_epoch"]
    trainer, state, _ = fit(
        classifier(dropout=0.0625), x, y, epochs=2, batch_size=8
    )  # a configuration no other test compiles
    assert fn.training.TRACES["fit_epoch"] == traces + 1
    halve = callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2)
    state, history = trainer.fit(
        state,
        x,
        y,
        epochs=3,
        batch_size=8,
        verbose=0,
        callbacks=[halve, callbacks.EarlyStopping(monitor="loss", patience=10)],
    )
    assert fn.training.TRACES["fit_epoch"] == traces + 1
    np.testing.assert_allclose(history.history["learning_rate"], [5e-4, 2.5e-4, 1.25e-4], rtol=1e-6)
    assert float(optax.tree_utils.tree_get(state.opt_state, "learning_rate")) == pytest.approx(1.25e-4)


def test_schedule_in_the_optimizer_never_recompiles(data):
    x, y, _ = data
    schedule = fn.optimizers.exponential_decay(0.1, decay_steps=2, decay_rate=0.5)
    traces = fn.training.TRACES["fit_epoch"]
    trainer, state, _ = fit(classifier(), x, y, optimizer=optax.sgd(schedule), epochs=4, batch_size=8)
    assert fn.training.TRACES["fit_epoch"] == traces + 1 and int(state.step) == 20


@pytest.mark.parametrize("batch_size", [1, 3, 7, 40, 100])
def test_partial_batches_weigh_each_sample_once(data, batch_size):
    """With a zero learning rate the epoch's loss is the exact mean over all samples."""
    x, y, _ = data
    trainer, state, history = fit(classifier(), x, y, optimizer=optax.sgd(0.0), epochs=1, batch_size=batch_size)
    expected = trainer.evaluate(state.params, x, y, batch_size=len(x), return_dict=True)
    assert history.history["loss"][0] == pytest.approx(expected["loss"], rel=1e-5)
    assert history.history["accuracy"][0] == pytest.approx(expected["accuracy"], rel=1e-6)
    assert int(state.step) == -(-len(x) // min(batch_size, len(x)))


@pytest.mark.slow
def test_partial_batch_gradient_is_the_mean_over_its_real_samples(data):
    x, y, _ = data
    x, y = x[:5], y[:5]
    model = classifier()
    trainer, state, _ = fit(model, x, y, optimizer=optax.sgd(0.5), epochs=1, batch_size=3, shuffle=False)
    step = jax.jit(fn.train_step(model, "categorical_crossentropy", optax.sgd(0.5), metrics=["accuracy"]))
    manual = fn.training.init_state(model.init(jax.random.key(0), (4,)), optax.sgd(0.5), jax.random.key(1))
    manual, _ = step(manual, x[:3], y[:3])
    manual, _ = step(manual, x[3:], y[3:])  # two real samples, no padding
    chex.assert_trees_all_close(state.params, manual.params, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_full_batch_and_stochastic_gradient_descent(data):
    x, y, _ = data
    _, state, _ = fit(classifier(), x, y, epochs=3, batch_size=len(x))
    assert int(state.step) == 3
    _, state, _ = fit(classifier(), x[:10], y[:10], epochs=2, batch_size=1)
    assert int(state.step) == 20


@pytest.mark.slow
def test_validation_split_holds_out_the_tail_before_shuffling(data):
    x, y, _ = data
    trainer, state, history = fit(classifier(), x, y, epochs=1, batch_size=8, validation_split=0.25)
    tail = trainer.evaluate(state.params, x[30:], y[30:], return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(tail["loss"], rel=1e-5)
    assert int(state.step) == 4  # trained on the first 30 only
    _, _, with_data = fit(classifier(), x[:30], y[:30], epochs=1, batch_size=8, validation_data=(x[30:], y[30:]))
    assert with_data.history == history.history


@pytest.mark.slow
def test_reported_loss_includes_the_penalty_and_metrics_do_not(data):
    x, y, _ = data
    model = fn.Sequential([layers.Dense(3, "softmax", kernel_regularizer=regularizers.l2(0.5))])
    trainer, state, history = fit(
        model, x, y, optimizer=optax.sgd(0.0), epochs=1, batch_size=16, metrics=["accuracy", "categorical_crossentropy"]
    )
    data_loss = fn.losses.categorical_crossentropy(y, model.apply(state.params, x))
    penalty = 0.5 * jnp.sum(state.params["dense"]["kernel"] ** 2)
    assert history.history["loss"][0] == pytest.approx(float(data_loss + penalty), rel=1e-5)
    assert history.history["categorical_crossentropy"][0] == pytest.approx(float(data_loss), rel=1e-5)
    assert trainer.evaluate(state, x, y, return_dict=True)["loss"] == pytest.approx(
        float(data_loss + penalty), rel=1e-5
    )


@pytest.mark.slow
def test_extra_regularizers_over_the_whole_tree(data):
    x, y, _ = data
    model = classifier()
    trainer = fn.compile(
        model,
        "categorical_crossentropy",
        optax.sgd(0.0),
        regularizers=[regularizers.l1(0.1, where=regularizers.every_leaf)],
    )
    params = model.init(jax.random.key(0), (4,))
    expected = fn.losses.categorical_crossentropy(y, model.apply(params, x)) + regularizers.l1(
        0.1, where=regularizers.every_leaf
    )(params)
    assert trainer.evaluate(params, x, y, return_dict=True)["loss"] == pytest.approx(float(expected), rel=1e-5)


def test_a_users_loss_without_sample_weight_is_evaluated_per_sample(data):
    x, y, _ = data
    model = classifier()

    def my_loss(y_true, y_pred):
        return jnp.mean(jnp.sum((y_true - y_pred) ** 2, axis=-1))

    trainer = fn.compile(model, my_loss, optax.sgd(0.0), metrics=[my_loss])
    params = model.init(jax.random.key(0), (4,))
    state, history = trainer.fit(params, x, y, epochs=1, batch_size=7, key=jax.random.key(0), verbose=0)
    expected = float(my_loss(y, model.apply(params, x)))
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert history.history["my_loss"][0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_overfits_a_tiny_subset_with_the_seed_lessons_network():
    (x, labels), _ = fn.datasets.digits.load_data()
    x, labels = x[:20] / 16, labels[:20]
    model = fn.Sequential([layers.Dense(30, "sigmoid"), layers.Dense(30, "sigmoid"), layers.Dense(10, "softmax")])
    trainer = fn.compile(
        model, "sparse_categorical_crossentropy", fn.optimizers.get("adam", learning_rate=0.01), metrics=["accuracy"]
    )
    _, history = trainer.fit(
        model.init(jax.random.key(0), (64,)), x, labels, epochs=200, batch_size=20, key=jax.random.key(1), verbose=0
    )
    assert history.history["loss"][-1] < 0.05
    assert history.history["accuracy"][-1] == 1.0


def test_continue_from_a_state_uses_its_step_and_key(data):
    x, y, _ = data
    trainer, state, _ = fit(classifier(), x, y, epochs=1, batch_size=8)
    assert int(state.step) == 5
    state2, _ = trainer.fit(state, x, y, epochs=1, batch_size=8, verbose=0)
    assert int(state2.step) == 10
    assert jax.random.key_data(state2.key).tolist() == jax.random.key_data(state.key).tolist()
    state3, _ = trainer.fit(state, x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(state2.params["dense"]["kernel"], state3.params["dense"]["kernel"])


def test_zero_epochs_returns_the_initial_state(data):
    x, y, _ = data
    trainer, state, history = fit(classifier(), x, y, epochs=0)
    assert history.history == {} and history.epoch == [] and int(state.step) == 0


@pytest.mark.slow
def test_evaluate_predict_and_classes_are_exact_over_partial_batches(data):
    x, y, labels = data
    trainer, state, _ = fit(classifier(), x, y, epochs=5, batch_size=8)
    expected = classifier().apply(state.params, x)
    for batch_size in (1, 7, 40):
        np.testing.assert_allclose(trainer.predict(state, x, batch_size=batch_size), expected, rtol=1e-5, atol=1e-6)
        scores = trainer.evaluate(state, x, y, batch_size=batch_size, return_dict=True)
        assert scores["loss"] == pytest.approx(float(fn.losses.categorical_crossentropy(y, expected)), rel=1e-5)
        assert scores["accuracy"] == pytest.approx(float(np.mean(np.argmax(expected, 1) == labels)), rel=1e-6)
    np.testing.assert_array_equal(trainer.predict_classes(state, x), np.argmax(expected, axis=1))


def test_predict_classes_thresholds_a_single_sigmoid_output():
    model = fn.Sequential([layers.Dense(1, "sigmoid", kernel_initializer="ones")])
    trainer = fn.compile(model, "binary_crossentropy", "sgd")
    params = model.init(jax.random.key(0), (1,))
    np.testing.assert_array_equal(trainer.predict_classes(params, np.array([[-2.0], [0.5], [3.0]])), [0, 1, 1])


def test_augment_runs_inside_the_step(data):
    x, y, _ = data
    zeroed = lambda key, xb: jnp.zeros_like(xb)  # noqa: E731
    trainer, state, history = fit(classifier(), x, y, optimizer=optax.sgd(0.0), epochs=1, batch_size=8, augment=zeroed)
    assert history.history["loss"][0] == pytest.approx(
        trainer.evaluate(state, np.zeros_like(x), y, return_dict=True)["loss"], rel=1e-5
    )


@pytest.mark.slow
def test_iterable_of_batches_matches_the_in_memory_path(data):
    x, y, _ = data
    _, memory_state, memory_history = fit(
        classifier(), x, y, epochs=2, batch_size=16, shuffle=False, validation_data=(x[:8], y[:8])
    )
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, len(x), 16)]  # last batch holds 8
    trainer = fn.compile(classifier(), "categorical_crossentropy", "adam", metrics=["accuracy"])
    state, history = trainer.fit(
        classifier().init(jax.random.key(0), (4,)),
        batches,
        epochs=2,
        validation_data=(x[:8], y[:8]),
        key=jax.random.key(1),
        verbose=0,
    )
    assert int(state.step) == int(memory_state.step) == 6
    for name in memory_history.history:
        np.testing.assert_allclose(history.history[name], memory_history.history[name], rtol=1e-5)
    chex.assert_trees_all_close(state.params, memory_state.params, rtol=1e-5, atol=1e-6)


def test_an_iterator_of_batches_is_consumed_once(data):
    x, y, _ = data
    trainer = fn.compile(classifier(), "categorical_crossentropy", "adam")
    params = classifier().init(jax.random.key(0), (4,))
    with pytest.raises(ValueError, match="consumed only once"):
        trainer.fit(params, iter([(x, y)]), epochs=2, key=jax.random.key(0), verbose=0)
    state, history = trainer.fit(params, iter([(x, y)]), epochs=1, key=jax.random.key(0), verbose=0)
    assert len(history.epoch) == 1 and int(state.step) == 1


@pytest.mark.slow
def test_train_step_is_pure_and_vmaps_over_stacked_states(data):
    x, y, _ = data
    model = classifier()
    step = fn.train_step(model, "categorical_crossentropy", "sgd", metrics=["accuracy"])
    keys = jax.random.split(jax.random.key(0), 4)
    states = jax.vmap(lambda k: fn.training.init_state(model.init(k, (4,)), fn.optimizers.get("sgd"), k))(keys)
    new_states, scores = jax.jit(jax.vmap(step, in_axes=(0, None, None)))(states, x, y)
    assert scores["loss"].shape == (4,) and new_states.step.tolist() == [1, 1, 1, 1]
    one = jax.tree_util.tree_map(lambda leaf: leaf[2], states)
    alone, alone_scores = step(one, x, y)
    np.testing.assert_allclose(new_states.params["dense"]["kernel"][2], alone.params["dense"]["kernel"], rtol=1e-5)
    assert float(alone_scores["loss"]) == pytest.approx(float(scores["loss"][2]), rel=1e-5)


def test_terminate_on_nan_returns_the_last_finite_state():
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    y = 3 * x
    model = fn.Sequential([layers.Dense(1)])
    params = model.init(jax.random.key(0), (1,))
    trainer = fn.compile(model, "mse", optax.sgd(1e20))  # diverges: inf, then NaN
    guard = callbacks.TerminateOnNaN()
    state, history = trainer.fit(
        params, x, y, epochs=20, batch_size=32, callbacks=[guard], key=jax.random.key(0), verbose=0
    )
    assert len(history.epoch) < 20 and not np.isfinite(history.history["loss"][-1])
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(state.params))
    finite_epochs = sum(np.isfinite(history.history["loss"][:-1]))
    assert int(state.step) == finite_epochs  # the state from the end of the last finite epoch


def test_early_stopping_in_fit_stops_and_restores(data):
    x, y, _ = data
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    trainer, state, history = fit(
        classifier(), x, y, epochs=300, batch_size=40, validation_split=0.5, optimizer=optax.sgd(3.0), callbacks=[stop]
    )
    assert len(history.epoch) < 300
    best = int(np.argmin(history.history["val_loss"]))
    assert trainer.evaluate(state, x[20:], y[20:], return_dict=True)["loss"] == pytest.approx(
        history.history["val_loss"][best], rel=1e-5
    )


@pytest.mark.slow
def test_progress_output(data, capsys):
    x, y, _ = data
    fit(classifier(), x, y, epochs=2, batch_size=8, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2 - ") and "loss: " in lines[0]
    fit(classifier(), x, y, epochs=1, batch_size=8, verbose=0)
    assert capsys.readouterr().out == ""
    fit(classifier(), x, y, epochs=1, batch_size=8, verbose=1)
    captured = capsys.readouterr()
    bar = captured.out + captured.err
    assert "Epoch 1/1" in bar and "5/5" in bar and "accuracy: " in bar


# --- bad input: clear errors before anything compiles --------------------------------


@pytest.fixture
def trainer_and_params():
    model = classifier()
    return fn.compile(model, "categorical_crossentropy", "adam", metrics=["accuracy"]), model.init(
        jax.random.key(0), (4,)
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, r"batch_size must be an integer in \[1, inf\), got 0"),
        ({"epochs": -1}, r"epochs must be an integer in \[0, 2147483647\], got -1"),
        ({"validation_split": 1.0}, r"validation_split must be a number in \[0, 1\), got 1.0"),
        ({"validation_split": -0.1}, r"validation_split must be a number in \[0, 1\)"),
        ({"verbose": 3}, "verbose must be 0, 1 or 2"),
    ],
)
def test_bad_hyperparameters(trainer_and_params, data, kwargs, message):
    trainer, params = trainer_and_params
    x, y, _ = data
    traces = fn.training.TRACES["fit_epoch"]
    with pytest.raises(ValueError, match=message):
        trainer.fit(params, x, y, key=jax.random.key(0), **{"verbose": 0, **kwargs})
    assert fn.training.TRACES["fit_epoch"] == traces


def test_bad_data(trainer_and_params, data):
    trainer, params = trainer_and_params
    x, y, labels = data
    traces = fn.training.TRACES["fit_epoch"]
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="same number of samples, got 40 and 39"):
        trainer.fit(params, x, y[:39], key=key)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy.*to_categorical"):
        trainer.fit(params, x, labels, key=key)
    with pytest.raises(ValueError, match=r"y of shape \(40, 5\) does not fit the model's outputs of shape \(None, 3\)"):
        trainer.fit(params, x, np.ones((40, 5), np.float32), key=key)
    with pytest.raises(ValueError, match=r"layer 'dense'.*4 features.*\(40, 5\)"):
        trainer.fit(params, np.ones((40, 5), np.float32), y, key=key)
    bad = x.copy()
    bad[3, 1] = np.nan
    bad[5, 0] = np.inf
    with pytest.raises(ValueError, match="x holds 2 NaN or infinite values"):
        trainer.fit(params, bad, y, key=key)
    with pytest.raises(ValueError, match="y holds 3 NaN"):  # one sample, three one-hot entries
        trainer.fit(params, x, np.where(np.arange(40)[:, None] == 2, np.nan, y), key=key)
    with pytest.raises(ValueError, match="needs key="):
        trainer.fit(params, x, y)
    with pytest.raises(ValueError, match="at least one sample"):
        trainer.fit(params, x[:0], y[:0], key=key)
    with pytest.raises(TypeError, match="callbacks must be fnnet.callbacks.Callback"):
        trainer.fit(params, x, y, key=key, callbacks=[print], verbose=0)
    assert fn.training.TRACES["fit_epoch"] == traces


def test_sparse_labels_out_of_range_are_caught_before_training(data):
    x, _, labels = data
    model = classifier()
    trainer = fn.compile(model, "sparse_categorical_crossentropy", "adam")
    traces = fn.training.TRACES["fit_epoch"]
    with pytest.raises(ValueError, match=r"labels in \[0, 3\).*from 0 to 7"):
        trainer.fit(model.init(jax.random.key(0), (4,)), x, np.where(labels == 2, 7, labels), key=jax.random.key(0))
    assert fn.training.TRACES["fit_epoch"] == traces


@pytest.mark.slow
def test_concurrent_fits_of_one_trainer_keep_their_own_progress(data):
    import threading

    x, y, _ = data
    model = classifier()
    trainer = fn.compile(model, "categorical_crossentropy", "adam")
    params = model.init(jax.random.key(0), (4,))
    errors, results = [], {}

    def run(seed):
        try:
            results[seed] = trainer.fit(params, x, y, epochs=3, batch_size=4, key=jax.random.key(seed), verbose=1)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 2
    assert results[1][1].history["loss"] != results[2][1].history["loss"]


def test_evaluate_returns_what_keras_returns():
    """Issue 18: ``loss, acc = trainer.evaluate(...)`` bound the strings 'loss' and 'accuracy'."""
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    y = fn.data.to_categorical(np.arange(10) % 3, 3)
    model = fn.Sequential([layers.Dense(3, "softmax")])
    params = model.init(jax.random.key(0), (4,))
    with_metrics = fn.compile(model, "categorical_crossentropy", "sgd", metrics=["accuracy", "mse"])
    logs = with_metrics.evaluate(params, x, y, return_dict=True)
    assert list(logs) == ["loss", "accuracy", "mse"]
    loss, accuracy, mse = with_metrics.evaluate(params, x, y, verbose=0)
    assert [loss, accuracy, mse] == list(logs.values()) and all(isinstance(v, float) for v in (loss, accuracy, mse))
    alone = fn.compile(model, "categorical_crossentropy", "sgd").evaluate(params, x, y)
    assert isinstance(alone, float) and alone == logs["loss"]
    with pytest.raises(TypeError, match="return_dict must be True or False, got 'yes'"):
        with_metrics.evaluate(params, x, y, return_dict="yes")
