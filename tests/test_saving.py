"""save_model / load_model and the safetensors container: round trips bit for bit, atomic writes,
and every kind of bad file rejected with a ValueError that names the problem, nothing executed."""

import errno
import json
import os
import pathlib
import pickle
import struct

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from safetensors import safe_open

import fnnet as fn
from fnnet import layers
from fnnet.layers import base
from fnnet.saving import container

ROOT = pathlib.Path(__file__).resolve().parents[1]


def scale_init(key, input_shape, dtype=jnp.float32):
    base.as_shape(input_shape)
    return {"alpha": jnp.asarray(1.5, dtype)}


def scale_apply(params, x, *, key=None, training=False):
    return x * params["alpha"]


def Scale(name=None):
    """A user's layer kind with a 0-d parameter: ``y = alpha * x``.

    Its functions are defined once, at module level, so every Scale (a loaded one too) has the very
    same functions and equal Scales share compiled programs.
    """
    return base.layer("TestSavingScale", scale_init, scale_apply, base.no_penalty, base.as_shape, name=name)


fn.layers.register("TestSavingScale", Scale)


def perturbed(params, seed=0):
    """``params`` with every leaf moved by noise, so the moving statistics are not their initial 0 and 1."""
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(
        lambda leaf: (np.asarray(leaf, np.float64) + rng.normal(size=leaf.shape)).astype(leaf.dtype), params
    )


def initialized(model, input_shape=None, dtype=jnp.float32):
    """``model.init`` compiled once (faster than its many small eager operations)."""
    return jax.jit(lambda key: model.init(key, input_shape, dtype))(jax.random.key(0))


def assert_bitwise(a, b):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        assert (x.dtype, x.shape) == (y.dtype, y.shape)
        assert x.tobytes() == y.tobytes()


def sequential():
    return fn.Sequential(
        [
            layers.Dense(8, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.2),
            Scale(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def functional():
    inputs = fn.Input((5,), name="pixels")
    h = layers.Dense(6, activation="relu")(inputs)
    h = layers.BatchNormalization()(h)
    block = layers.Dense(6, activation="tanh")(h)
    h = layers.Add()([block, h])
    return fn.Model(inputs, layers.Dense(2, name="digit")(h))


def saved(tmp_path, model=None, dtype=jnp.float32, name="model.safetensors"):
    model = model or sequential()
    params = perturbed(initialized(model, None if model.graph else (5,), dtype))
    path = tmp_path / name
    fn.save_model(path, model, params)
    return path, model, params


@pytest.mark.parametrize("build", [sequential, functional])
def test_models_round_trip_bit_for_bit_with_their_batchnorm_statistics_and_predictions(tmp_path, build):
    path, model, params = saved(tmp_path, build())
    loaded, restored = fn.load_model(path)
    assert loaded == model and loaded.get_config() == model.get_config()
    assert_bitwise(params, restored)
    assert "moving_variance" in restored["batch_normalization"]
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    assert_bitwise(jax.jit(model.apply)(params, x), jax.jit(loaded.apply)(restored, x))


def test_the_file_is_plain_safetensors_with_flat_names_and_string_metadata(tmp_path):
    path, model, params = saved(tmp_path)
    with safe_open(str(path), framework="numpy") as file:
        names, metadata = set(file.keys()), file.metadata()
        np.testing.assert_array_equal(file.get_tensor("params/dense/kernel"), params["dense"]["kernel"])
    assert names == {
        "params/dense/kernel",
        "params/dense/bias",
        "params/dense_1/kernel",
        "params/dense_1/bias",
        "params/test_saving_scale/alpha",
        *(f"params/batch_normalization/{leaf}" for leaf in ("gamma", "beta", "moving_mean", "moving_variance")),
    }
    assert metadata["format"] == "fnnet.model/1" and metadata["fnnet_version"] == fn.__version__
    assert json.loads(metadata["config"]) == model.get_config()
    assert json.loads(metadata["input_shape"]) == [5]
    raw = path.read_bytes()
    assert (8 + struct.unpack("<Q", raw[:8])[0]) % 8 == 0  # the data start 8-byte aligned


def test_bfloat16_and_0d_leaves_round_trip_and_any_reader_opens_them(tmp_path):
    path, _, params = saved(tmp_path, dtype=jnp.bfloat16)
    _, restored = fn.load_model(path)
    assert restored["dense"]["kernel"].dtype == jnp.bfloat16 and restored["test_saving_scale"]["alpha"].shape == ()
    assert_bitwise(params, restored)
    with safe_open(str(path), framework="flax") as file:  # the reference reader, bfloat16 included
        assert file.get_tensor("params/dense/kernel").dtype == jnp.bfloat16


def test_float64_round_trips_under_x64_and_asks_for_x64_otherwise(tmp_path):
    with jax.enable_x64(True):
        path, _, params = saved(tmp_path, dtype=jnp.float64)
        _, restored = fn.load_model(path)
        assert restored["dense"]["kernel"].dtype == jnp.float64
        assert_bitwise(params, restored)
    with pytest.raises(ValueError, match="float64 params: enable jax_enable_x64"):
        fn.load_model(path)


def test_the_input_shape_is_inferred_or_asked_for(tmp_path):
    model = fn.Sequential([layers.Flatten(), layers.Dense(3)])
    params = model.init(jax.random.key(0), (4, 2))
    fn.save_model(tmp_path / "flat.safetensors", model, params)  # (8,) gives the same params as (4, 2)
    assert_bitwise(params, fn.load_model(tmp_path / "flat.safetensors")[1])
    model = fn.Sequential([layers.Reshape((2, 4)), layers.Dense(3)])
    params = model.init(jax.random.key(0), (8,))
    with pytest.raises(ValueError, match="pass input_shape="):
        fn.save_model(tmp_path / "reshape.safetensors", model, params)
    fn.save_model(tmp_path / "reshape.safetensors", model, params, input_shape=(8,))
    assert_bitwise(params, fn.load_model(tmp_path / "reshape.safetensors")[1])


def test_params_that_do_not_fit_the_model_are_refused_when_saving(tmp_path):
    model = sequential()
    params = initialized(model, (5,))
    del params["dense_1"]["bias"]
    with pytest.raises(ValueError, match="lacks params/dense_1/bias"):
        fn.save_model(tmp_path / "m.safetensors", model, params, input_shape=(5,))
    assert not os.listdir(tmp_path)


# --- bad files ---------------------------------------------------------------------------------------------


def split(path):
    raw = pathlib.Path(path).read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def join(path, header, data):
    text = json.dumps(header).encode()
    pathlib.Path(path).write_bytes(struct.pack("<Q", len(text)) + text + data)


def test_truncated_data_is_named(tmp_path):
    path, _, _ = saved(tmp_path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="outside the file's .* data bytes: the file is truncated"):
        fn.load_model(path)


def test_a_truncated_header_is_named(tmp_path):
    path, _, _ = saved(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="points past the end of the file"):
        fn.load_model(path)
    path.write_bytes(b"\x01\x02")
    with pytest.raises(ValueError, match="fewer than the 8 of the header length"):
        fn.load_model(path)


def test_offsets_outside_the_file_overlaps_and_trailing_bytes_are_named(tmp_path):
    path, _, _ = saved(tmp_path)
    header, data = split(path)
    last = max((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][1])
    begin, end = header[last]["data_offsets"]
    header[last]["data_offsets"] = [begin + 4096, end + 4096]
    join(path, header, data)
    with pytest.raises(ValueError, match=f"tensor '{last}' has data_offsets .* outside the file's"):
        fn.load_model(path)
    header[last]["data_offsets"] = [begin - 4, end - 4]
    join(path, header, data)
    with pytest.raises(ValueError, match="overlaps the previous tensor"):
        fn.load_model(path)
    header[last]["data_offsets"] = [begin, end]
    join(path, header, data + b"junk")
    with pytest.raises(ValueError, match="bytes after the last tensor belong to none"):
        fn.load_model(path)
    header[last]["data_offsets"] = [begin, end + 4]
    join(path, header, data)
    with pytest.raises(ValueError, match="needs .* bytes but its data_offsets"):
        fn.load_model(path)


def test_an_oversized_header_and_a_header_that_is_not_json_are_named(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(ValueError, match="over the 100,000,000-byte limit"):
        fn.load_model(path)
    path.write_bytes(struct.pack("<Q", 4) + b"\xff{}x")
    with pytest.raises(ValueError, match="header is not valid JSON"):
        fn.load_model(path)
    path.write_bytes(struct.pack("<Q", 2) + b"[]")
    with pytest.raises(ValueError, match="not an object"):
        fn.load_model(path)


def test_an_unknown_class_name_is_refused_and_nothing_is_imported(tmp_path):
    path, model, _ = saved(tmp_path)
    header, data = split(path)
    config = json.loads(header["__metadata__"]["config"])
    config["config"]["layers"][0]["class_name"] = "os.system"
    header["__metadata__"]["config"] = json.dumps(config)
    join(path, header, data)
    with pytest.raises(ValueError, match="unknown layer class_name 'os.system'"):
        fn.load_model(path)


def test_a_shape_or_dtype_that_does_not_match_the_config_names_the_leaf(tmp_path):
    path, _, params = saved(tmp_path)
    tensors, metadata = container.read(path)
    tensors["params/dense/kernel"] = np.zeros((5, 9), np.float32)
    container.write(path, tensors, metadata)
    with pytest.raises(
        ValueError,
        match=r"params/dense/kernel: .* expects shape \(5, 8\), the file holds shape "
        r"\(5, 9\)",
    ):
        fn.load_model(path)
    tensors["params/dense/kernel"] = np.zeros((5, 8), np.float16)
    container.write(path, tensors, metadata)
    with pytest.raises(ValueError, match="params/dense/kernel: .* expects dtype float32, the file holds float16"):
        fn.load_model(path)
    del tensors["params/dense/kernel"]
    tensors["params/dense/extra"] = np.zeros(2, np.float32)
    container.write(path, tensors, metadata)
    with pytest.raises(ValueError, match="lacks params/dense/kernel; it holds params/dense/extra"):
        fn.load_model(path)


def test_metadata_that_is_not_fnnet_is_named(tmp_path):
    path = tmp_path / "other.safetensors"
    container.write(path, {"weight": np.zeros(3, np.float32)}, {"format": "pt"})
    with pytest.raises(ValueError, match="format 'pt' is not one fnnet reads"):
        fn.load_model(path)


class Marker:
    """A pickle whose unpickling creates a file: the proof that a load did unpickle."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_a_pickle_renamed_safetensors_is_refused_and_never_unpickled(tmp_path, protocol):
    marker = tmp_path / "unpickled"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(Marker(marker), protocol=protocol))
    with pytest.raises(ValueError, match="pickle|not a safetensors file|header length"):
        fn.load_model(path)
    with pytest.raises(ValueError):
        fn.load_checkpoint(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the payload is live: unpickling it would have made the marker
    assert marker.exists()


# --- atomic writes -----------------------------------------------------------------------------------------


def temporaries(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


@pytest.mark.parametrize("failure", ["replace", "enospc"])
def test_a_failed_write_leaves_the_previous_file_intact_and_no_temporary(tmp_path, monkeypatch, failure):
    path, model, params = saved(tmp_path)
    before = path.read_bytes()

    def fail(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace" if failure == "replace" else "fsync", fail)
    with pytest.raises(OSError, match="No space left"):
        fn.save_model(path, model, perturbed(params, seed=1))
    monkeypatch.undo()
    assert path.read_bytes() == before and not temporaries(tmp_path)
    assert_bitwise(params, fn.load_model(path)[1])


def test_leftovers_of_a_crashed_write_are_ignored_then_cleaned(tmp_path):
    path, model, params = saved(tmp_path)
    leftover = tmp_path / f".{path.name}.0123456789abcdef.tmp"
    leftover.write_bytes(b"half a file")
    other = tmp_path / "someone_elses.tmp"
    other.write_bytes(b"not ours")
    assert_bitwise(params, fn.load_model(path)[1])
    fn.save_model(path, model, params)
    assert not leftover.exists() and other.exists()


def test_saving_into_a_missing_folder_says_so(tmp_path):
    model = sequential()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fn.save_model(tmp_path / "nowhere" / "m.safetensors", model, initialized(model, (5,)))


# --- sweeps, estimators, the demo ---------------------------------------------------------------------------


def test_a_sweep_saves_its_best_variant_or_any_other(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = x[:, :1] * 2
    result = fn.sweep.fit(
        fn.Sequential([layers.Dense(1)]),
        x,
        y,
        fn.sweep.grid(learning_rate=[0.01, 0.1]),
        loss="mse",
        optimizer="sgd",
        epochs=2,
        batch_size=8,
        key=jax.random.key(0),
        verbose=0,
    )
    model, params = fn.load_model(result.save_model(tmp_path / "best.safetensors"))
    assert_bitwise(result.params(result.best_index), params)
    _, params = fn.load_model(result.save_model(tmp_path / "other.safetensors", k=1 - result.best_index))
    assert_bitwise(result.params(1 - result.best_index), params)


@pytest.mark.slow  # scikit-learn's fit compiles its own programs
def test_an_estimator_saves_its_network_and_still_pickles(tmp_path):
    sklearn = pytest.importorskip("fnnet.sklearn")
    X = np.random.default_rng(0).normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    clf = sklearn.NeuralNetClassifier(hidden_layer_sizes=(5,), epochs=2, random_state=0).fit(X, y)
    model, params = fn.load_model(clf.save_model(tmp_path / "clf.safetensors"))
    probabilities = np.asarray(model.apply(params, X.astype(np.float32)), np.float64)
    np.testing.assert_allclose(probabilities, clf.predict_proba(X), rtol=1e-6, atol=1e-7)
    assert pickle.loads(pickle.dumps(clf)).predict(X).tolist() == clf.predict(X).tolist()


# Issue 18: a header length whose bytes begin like a pickle (640 = 80 02 00.., 896, 1152, 1408) was refused.
HEADER_LENGTHS = set(range(8, 8193, 8))


def header_length(path) -> int:
    return struct.unpack("<Q", pathlib.Path(path).read_bytes()[:8])[0]


def test_every_header_length_the_container_writes_reads_back(tmp_path):
    path, seen = tmp_path / "c.safetensors", set()
    for length in sorted(HEADER_LENGTHS):
        # {} is the 8-byte header; {"__metadata__":{"":"x.."}} is 24 characters plus the x's
        metadata = {} if length == 8 else {"": "x" * (length - 24)}
        if length != 8 and length < 24:
            continue  # no header between {} and the shortest metadata: no writer makes one
        head, _ = container.encode({}, metadata)
        path.write_bytes(head)
        seen.add(header_length(path))
        assert container.read(path) == ({}, metadata)
    assert seen == HEADER_LENGTHS - {16}


@pytest.mark.slow
def test_models_and_checkpoints_load_whatever_their_header_length(tmp_path, monkeypatch):
    """Sequential([Dense(1, name="d" * n)]) for growing n: every 8-byte step of the header up to 8192 loads."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # durability is not what this test is about
    optimizer = optax.adam(1e-3)
    seen = {"model": set(), "checkpoint": set()}
    n = 0
    while min(max(lengths, default=0) for lengths in seen.values()) <= 8192:
        n += 1
        model = fn.Sequential([layers.Dense(1, name="d" * n)])
        params = {"d" * n: {"kernel": np.full((1, 1), 0.5, np.float32), "bias": np.zeros(1, np.float32)}}
        model_path = fn.save_model(tmp_path / "m.safetensors", model, params, input_shape=(1,))
        if header_length(model_path) not in seen["model"]:
            seen["model"].add(header_length(model_path))
            assert fn.load_model(model_path)[0] == model
        state = fn.training.init_state(params, optimizer, jax.random.key(0))
        checkpoint_path = fn.save_checkpoint(tmp_path / "c.safetensors", state, model=model, epoch=1, input_shape=(1,))
        if header_length(checkpoint_path) not in seen["checkpoint"]:
            seen["checkpoint"].add(header_length(checkpoint_path))
            assert fn.load_checkpoint(checkpoint_path, like=state).epoch == 1
    for kind, lengths in seen.items():
        every_step = set(range(min(lengths), 8193, 8))
        assert every_step <= lengths, f"{kind}: header lengths never written: {sorted(every_step - lengths)[:5]}"
    assert min(seen["model"]) < 640  # the four pickle-like lengths are among those loaded
