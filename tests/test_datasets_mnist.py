"""fnnet.datasets.mnist on small synthetic files: both layouts, checksums, corrupt files, no network."""

import gzip
import hashlib
import io
import os
import urllib.error
import zipfile

import numpy as np
import pytest

from fnnet.datasets import mnist

SIZES = {"train": 6, "test": 4}


@pytest.fixture(autouse=True)
def no_network_and_no_user_folders(monkeypatch, tmp_path):
    """Tests never download, and never see the real $FNNET_DATA or ~/.fnnet."""

    def offline(url, file):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(mnist, "_fetch", offline)
    monkeypatch.delenv("FNNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in SIZES.items():
        arrays[f"x_{split}"] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[f"y_{split}"] = rng.integers(0, 10, size=n, dtype=np.uint8)
    return arrays


def _idx_bytes(array):
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(folder, arrays, **replace):
    """The four gzipped IDX files; ``replace`` maps an array name to raw bytes to write instead."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, file in mnist.IDX_FILES.items():
        content = replace.get(name, _idx_bytes(arrays[name]))
        (folder / file).write_bytes(gzip.compress(content))
    return folder


def write_npz(file, arrays):
    file.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(file, **arrays)
    return file


def _assert_loaded(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for name, got in zip(["x_train", "y_train", "x_test", "y_test"], [x_train, y_train, x_test, y_test]):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[name])
    assert x_train.shape == (SIZES["train"], 28, 28) and y_test.shape == (SIZES["test"],)


def test_reads_keras_npz_from_a_folder_or_the_file(tmp_path):
    arrays = _arrays()
    file = write_npz(tmp_path / "data" / "mnist.npz", arrays)
    _assert_loaded(mnist.load_data(tmp_path / "data", verify=False), arrays)
    _assert_loaded(mnist.load_data(str(file), verify=False), arrays)


def test_reads_the_four_idx_files(tmp_path):
    arrays = _arrays(1)
    folder = write_idx(tmp_path / "idx", arrays)
    result = mnist.load_data(folder, verify=False)
    _assert_loaded(result, arrays)
    result[0][0][0, 0, 0] = 7  # the arrays are the caller's own, writable


def test_looks_in_fnnet_data_then_the_home_folder(tmp_path, monkeypatch):
    home_arrays, env_arrays = _arrays(2), _arrays(3)
    write_npz(tmp_path / "home" / ".fnnet" / "datasets" / "mnist.npz", home_arrays)
    _assert_loaded(mnist.load_data(verify=False), home_arrays)
    write_idx(tmp_path / "env", env_arrays)
    monkeypatch.setenv("FNNET_DATA", str(tmp_path / "env"))
    _assert_loaded(mnist.load_data(verify=False), env_arrays)


def test_verify_rejects_a_file_whose_digest_differs(tmp_path):
    file = write_npz(tmp_path / "mnist.npz", _arrays())
    digest_differs = r"SHA-256 of .*mnist.npz is [0-9a-f]{64}, expected 731c5ac6.*verify=False"
    with pytest.raises(ValueError, match=digest_differs):
        mnist.load_data(file)
    folder = write_idx(tmp_path / "idx", _arrays())
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        mnist.load_data(folder)


def test_verify_accepts_a_file_with_the_expected_digest(tmp_path, monkeypatch):
    arrays = _arrays()
    file = write_npz(tmp_path / "mnist.npz", arrays)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    monkeypatch.setitem(mnist.SHA256, mnist.NPZ_FILE, digest)
    _assert_loaded(mnist.load_data(file), arrays)


def test_truncated_files_are_rejected(tmp_path):
    file = write_npz(tmp_path / "mnist.npz", _arrays())
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a usable MNIST file"):
        mnist.load_data(file, verify=False)
    folder = write_idx(tmp_path / "idx", _arrays())
    gz = folder / mnist.IDX_FILES["x_test"]
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz is not a usable MNIST file: not a compl"):
        mnist.load_data(folder, verify=False)


def test_idx_files_are_checked_for_magic_number_and_length(tmp_path):
    arrays = _arrays()
    labels_as_images = _idx_bytes(arrays["y_train"])
    with pytest.raises(ValueError, match=r"magic number 0x00000801, expected 0x00000803"):
        mnist.load_data(write_idx(tmp_path / "a", arrays, x_train=labels_as_images), verify=False)
    short = _idx_bytes(arrays["x_test"])[:-100]
    promised = r"header promises shape \(4, 28, 28\) = 3136 bytes.*holds 3036.*truncated"
    with pytest.raises(ValueError, match=promised):
        mnist.load_data(write_idx(tmp_path / "b", arrays, x_test=short), verify=False)
    with pytest.raises(ValueError, match="header is truncated"):
        mnist.load_data(write_idx(tmp_path / "c", arrays, y_test=_idx_bytes(arrays["y_test"])[:6]), verify=False)


def test_npz_is_read_without_pickle(tmp_path):
    arrays = _arrays()
    arrays["x_train"] = np.array([object()] * 3, dtype=object)
    file = tmp_path / "mnist.npz"
    np.savez(file, **arrays)
    with pytest.raises(ValueError, match="cannot be read without pickle"):
        mnist.load_data(file, verify=False)
    pickled = tmp_path / "pickled.npz"
    pickled.write_bytes(b"\x80\x04K\x01.")  # a pickle, not a zip
    with pytest.raises(ValueError, match="not an npz"):
        mnist.load_data(pickled, verify=False)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda a: a.pop("y_test"), r"lacks the arrays \['y_test'\]"),
        (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), r"x_train is float32 .* expected uint8"),
        (lambda a: a.update(x_test=a["x_test"][:, :27]), r"x_test is uint8 \(4, 27, 28\)"),
        (lambda a: a.update(y_train=a["y_train"][:5]), r"y_train is uint8 \(5,\), expected uint8 \(6,\)"),
        (lambda a: a.update(y_test=a["y_test"] + 10), "holds label 1[0-9], expected digits 0..9"),
    ],
)
def test_mismatched_arrays_are_rejected(tmp_path, change, words):
    arrays = _arrays()
    change(arrays)
    with pytest.raises(ValueError, match=words):
        mnist.load_data(write_npz(tmp_path / "mnist.npz", arrays), verify=False)


def test_no_files_and_no_network_says_where_to_put_which_files(tmp_path, monkeypatch):
    monkeypatch.setenv("FNNET_DATA", str(tmp_path / "data"))
    for kwargs, reason in [
        ({}, "the download failed: <urlopen error no network in tests>"),
        ({"download": False}, "download=False"),
    ]:
        with pytest.raises(FileNotFoundError) as info:
            mnist.load_data(**kwargs)
        message = str(info.value)
        assert reason in message
        assert str(tmp_path / "data") in message and str(tmp_path / "home" / ".fnnet" / "datasets") in message
        for file in [mnist.NPZ_FILE, mnist.URL, *mnist.IDX_FILES.values()]:
            assert file in message
        assert "FNNET_DATA" in message and "path=" in message


def test_an_incomplete_idx_set_is_not_used(tmp_path):
    folder = write_idx(tmp_path / "idx", _arrays())
    (folder / mnist.IDX_FILES["y_test"]).unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        mnist.load_data(folder, verify=False, download=False)


def _serve(content):
    def fetch(url, file):
        assert url == mnist.URL
        file.write(content)

    return fetch


def test_download_is_verified_then_renamed_into_place(tmp_path, monkeypatch):
    arrays = _arrays()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    monkeypatch.setattr(mnist, "_fetch", _serve(buffer.getvalue()))
    monkeypatch.setitem(mnist.SHA256, mnist.NPZ_FILE, hashlib.sha256(buffer.getvalue()).hexdigest())
    folder = tmp_path / "downloads"
    _assert_loaded(mnist.load_data(folder), arrays)
    assert os.listdir(folder) == ["mnist.npz"]
    _assert_loaded(mnist.load_data(folder, download=False), arrays)


def test_a_download_with_the_wrong_digest_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "_fetch", _serve(b"not mnist"))
    folder = tmp_path / "downloads"
    with pytest.raises(ValueError, match="SHA-256"):
        mnist.load_data(folder)
    assert os.listdir(folder) == []


def test_existing_files_are_never_modified(tmp_path):
    file = write_npz(tmp_path / "mnist.npz", _arrays())
    before = file.read_bytes()
    with pytest.raises(ValueError):
        mnist.load_data(file)  # wrong digest: refused, not replaced
    assert file.read_bytes() == before and os.listdir(tmp_path) == ["mnist.npz"]
    assert zipfile.is_zipfile(file)
