"""The MNIST handwritten digits (LeCun, Cortes, Burges): 60,000 + 10,000 images of 28x28 pixels.

Read from local files in either layout:

- Keras's ``mnist.npz``, holding uint8 arrays ``x_train (60000, 28, 28)``,
  ``y_train (60000,)``, ``x_test (10000, 28, 28)`` and ``y_test (10000,)``;
- the four original gzipped IDX files ``train-images-idx3-ubyte.gz``,
  ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
  ``t10k-labels-idx1-ubyte.gz``.

Files are looked up in ``path`` (a folder holding them, or the npz file
itself), else in ``$FNNET_DATA`` and then ``~/.fnnet/datasets``. When none
are found and the network allows, ``mnist.npz`` is downloaded from :data:`URL`
into the first of those folders: to a temporary file that is checked against
its SHA-256 before it is renamed into place. npz files are read without
pickle. fnnet never overwrites or deletes a file of yours.
"""

import gzip
import hashlib
import os
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np

from fnnet._checks import flag, path_like

__all__ = ["IDX_FILES", "NPZ_FILE", "SHA256", "URL", "default_folders", "load_data"]

NPZ_FILE = "mnist.npz"
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
SHA256 = {
    NPZ_FILE: "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
"""The SHA-256 digests of the standard files (Keras's npz and the original IDX files)."""
URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def default_folders() -> list[Path]:
    """The folders searched when no ``path`` is given: ``$FNNET_DATA`` (if set), ``~/.fnnet/datasets``."""
    folders = [Path(os.environ["FNNET_DATA"])] if os.environ.get("FNNET_DATA") else []
    return folders + [Path.home() / ".fnnet" / "datasets"]


def load_data(
    path: str | os.PathLike[str] | None = None, *, verify: bool = True, download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return ``(x_train, y_train), (x_test, y_test)`` as NumPy arrays, as Keras's ``mnist.load_data``.

    ``x`` is uint8 of shape ``(n, 28, 28)`` with pixel values 0..255, ``y``
    uint8 of shape ``(n,)`` with the digit 0..9; ``n`` is 60,000 and 10,000
    for the standard files. ``verify=True`` checks each file's SHA-256
    against :data:`SHA256` (pass ``False`` for a file of your own in the same
    layout). ``download=False`` never touches the network.

    Raises ``FileNotFoundError`` saying where to put which files when none are
    found (and none could be downloaded), and ``ValueError`` for a file whose
    digest differs, that is truncated or corrupt, or whose arrays do not have
    MNIST's shapes and dtypes.
    """
    verify, download = flag("verify", verify), flag("download", download)
    folders, npz_target = _search_places(None if path is None else path_like("path", path))
    files = next(filter(None, map(_files_in, folders)), None)
    if files is None:
        if not download:
            raise FileNotFoundError(_instructions(folders, "download=False"))
        try:
            files = _download(npz_target)
        except OSError as error:
            raise FileNotFoundError(_instructions(folders, f"the download failed: {error}")) from error
    if verify:
        for name, file in files.items():
            _verify(file, NPZ_FILE if name == "npz" else IDX_FILES[name])
    if "npz" in files:
        arrays = _read_npz(files["npz"])
    else:
        arrays = {name: _read_idx(file, ndim=3 if name.startswith("x") else 1) for name, file in files.items()}
    _check_arrays(arrays, files)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


# --- finding and fetching the files ------------------------------------------


def _search_places(path):
    """The folders to search, and where a download would put ``mnist.npz``."""
    if path is None:
        folders = default_folders()
        return folders, folders[0] / NPZ_FILE
    path = Path(path).expanduser()
    if path.is_file() or (not path.exists() and path.suffix == ".npz"):
        return [path], path
    return [path], path / NPZ_FILE


def _files_in(place):
    """``{"npz": file}`` or ``{array: IDX file}`` found at ``place`` (a folder or npz file), else None."""
    if place.is_file():
        return {"npz": place}
    if (place / NPZ_FILE).is_file():
        return {"npz": place / NPZ_FILE}
    idx = {name: place / file for name, file in IDX_FILES.items()}
    return idx if all(f.is_file() for f in idx.values()) else None


def _instructions(folders, reason):
    looked = "\n".join(f"  {folder}" for folder in folders)
    idx = ", ".join(IDX_FILES.values())
    return (
        f"MNIST files not found, and not downloaded ({reason}). Looked in:\n{looked}\n"
        f"Put either Keras's {NPZ_FILE} (from {URL}, sha256 {SHA256[NPZ_FILE]})\n"
        f"or the four IDX files {idx}\n"
        "into one of these folders, pass load_data(path=<folder or mnist.npz>), "
        "or set FNNET_DATA to a folder holding them."
    )


def _fetch(url, file):
    """Write the contents at ``url`` to the open binary ``file`` (tests replace this)."""
    with urllib.request.urlopen(url, timeout=60) as response:
        while chunk := response.read(1 << 20):
            file.write(chunk)


def _download(target):
    """Download :data:`URL` to ``target`` through a temporary file checked before renaming."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            _fetch(URL, file)
        _verify(partial, NPZ_FILE)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return {"npz": target}


def _verify(file, standard_name):
    """Raise unless ``file`` has the SHA-256 of the standard file ``standard_name``."""
    with open(file, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    expected = SHA256[standard_name]
    if digest != expected:
        raise ValueError(
            f"SHA-256 of {file} is {digest}, expected {expected} (the standard {standard_name}): "
            "it is truncated, corrupt or a different file. Replace it with the original, "
            "or pass verify=False to load a file you trust."
        )


# --- reading and checking ----------------------------------------------------


def _unusable(file, detail):
    return ValueError(f"{file} is not a usable MNIST file: {detail}")


def _read_npz(file):
    """The four arrays of a Keras-layout npz, loaded without pickle."""
    if not zipfile.is_zipfile(file):
        raise _unusable(file, "not an npz (zip) archive")
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise _unusable(file, f"its npz archive cannot be read without pickle ({error})") from error
    missing = [name for name in IDX_FILES if name not in arrays]
    if missing:
        raise _unusable(file, f"it lacks the arrays {missing}; Keras's layout has {list(IDX_FILES)}")
    return arrays


def _read_idx(file: str | os.PathLike[str], ndim: int) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes: magic ``0x00000800 + ndim``, ``ndim`` big-endian sizes, data."""
    try:
        with gzip.open(file, "rb") as f:
            content = f.read()
    except (OSError, EOFError, zlib.error) as error:
        raise _unusable(file, f"not a complete gzip file ({error})") from error
    header = 4 + 4 * ndim
    magic = int.from_bytes(content[:4], "big")
    if magic != 0x0800 + ndim:
        raise _unusable(
            file, f"magic number {magic:#010x}, expected {0x0800 + ndim:#010x} (IDX, unsigned bytes, {ndim} dimensions)"
        )
    if len(content) < header:
        raise _unusable(file, f"its header is truncated ({len(content)} of {header} bytes)")
    shape = tuple(int.from_bytes(content[i : i + 4], "big") for i in range(4, header, 4))
    size = len(content) - header
    if size != np.prod(shape):
        raise _unusable(
            file,
            f"its header promises shape {shape} = {np.prod(shape)} bytes of data, "
            f"the file holds {size}: truncated or corrupt",
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape).copy()


def _check_arrays(arrays, files):
    """MNIST's shapes and dtypes: uint8 images ``(n, 28, 28)``, uint8 labels ``(n,)`` in 0..9."""
    source = ", ".join(str(f) for f in files.values())
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) == 0:
            raise _unusable(source, f"x_{split} is {x.dtype} {x.shape}, expected uint8 (n, 28, 28)")
        if y.dtype != np.uint8 or y.shape != (len(x),):
            raise _unusable(source, f"y_{split} is {y.dtype} {y.shape}, expected uint8 ({len(x)},) to match x_{split}")
        if y.max() > 9:
            raise _unusable(source, f"y_{split} holds label {y.max()}, expected digits 0..9")
