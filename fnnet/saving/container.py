"""The safetensors container: validated reading, atomic writing, one writer among processes.

The file layout (https://github.com/huggingface/safetensors, the format's
spec) is

- 8 bytes: ``N``, the header's length, an unsigned little-endian integer;
- ``N`` bytes: a JSON object ``{name: {"dtype": "F32", "shape": [..],
  "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}``, padded
  with spaces so the data start on an 8-byte boundary;
- the tensors' bytes, little-endian, C order, back to back: ``begin`` and
  ``end`` count from the first data byte, and the tensors cover the data
  exactly, without gaps or overlaps.

fnnet writes it itself (``safetensors.numpy`` has no bfloat16) so that any
safetensors reader opens the files and every field of a file read is
checked before a byte of it is used: a short, tampered or foreign file
(a pickle renamed ``.safetensors``) raises ``ValueError`` saying what is
wrong. Nothing is ever unpickled or executed.

Writes are atomic: the bytes go to ``.<name>.<random>.tmp`` in the target's
folder, are flushed and fsynced, and ``os.replace`` puts them in place; the
folder is fsynced after. A failed write leaves the previous file as it was
and removes its temporary file; the temporary files a crash left behind are
never read and are removed by the next write of the same file. With several
processes (``jax.distributed``) only process 0 writes and every process
waits for it.
"""

import json
import math
import os
import secrets
import struct
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import jax
import ml_dtypes
import numpy as np

from fnnet._checks import path_like

MAX_HEADER_BYTES = 100_000_000  # the limit of the reference (Rust) reader
METADATA = "__metadata__"

DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16),
    "U32": np.dtype(np.uint32),
    "I32": np.dtype(np.int32),
    "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64),
    "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
    "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
}
"""The safetensors dtype names and their NumPy dtypes (bfloat16 and float8 from ml_dtypes, as JAX's)."""

_NAMES = {dtype: name for name, dtype in DTYPES.items()}


def dtype_name(dtype) -> str:
    """The safetensors name of a NumPy/JAX dtype (``"F32"``); TypeError for one the format cannot hold."""
    dtype = np.dtype(dtype).newbyteorder("=")
    if dtype not in _NAMES:
        raise TypeError(f"safetensors cannot hold dtype {dtype}; it holds {', '.join(str(d) for d in _NAMES)}")
    return _NAMES[dtype]


def encode(tensors, metadata) -> tuple:
    """``(header bytes, arrays in file order)`` for ``{name: array}`` and ``{str: str}`` metadata."""
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata maps strings to strings (JSON-encode other values)")
    header, offset, arrays = {}, 0, []
    for name in sorted(tensors):
        if not isinstance(name, str) or not name or name == METADATA:
            raise ValueError(f"a tensor name must be a non-empty string other than {METADATA!r}, got {name!r}")
        array = np.asarray(tensors[name])
        array = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")
        header[name] = {
            "dtype": dtype_name(array.dtype),
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
        arrays.append(array)
    if metadata:
        header[METADATA] = dict(metadata)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-(len(text) + 8) % 8)
    return struct.pack("<Q", len(text)) + text, arrays


def write(path: str | os.PathLike[str], tensors: Mapping[str, Any], metadata: Mapping[str, str]) -> str:
    """Write ``tensors`` (``{name: array}``) and ``metadata`` (``{str: str}``) to ``path`` atomically.

    With several processes, only process 0 writes; every process must call
    this (it waits for the write, so that every process can read the file
    after). Returns the path.
    """
    path = path_like("path", path)
    head, arrays = encode(tensors, metadata)

    def chunks(file):
        file.write(head)
        for array in arrays:
            file.write(array.reshape(-1).view(np.uint8).data)

    if jax.process_count() == 1:
        return atomic_write(path, chunks)
    from jax.experimental import multihost_utils

    if jax.process_index() == 0:
        atomic_write(path, chunks)
    multihost_utils.sync_global_devices(f"fnnet.saving.write:{os.fspath(path)}")
    return os.fspath(path)


def temporary_files(path: str | os.PathLike[str]) -> list[str]:
    """The temporary files of unfinished writes of ``path`` (``.<name>.<hex>.tmp`` beside it)."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    prefix = f".{name}."
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return []
    return [
        os.path.join(folder, entry)
        for entry in entries
        if entry.startswith(prefix)
        and entry.endswith(".tmp")
        and len(entry) == len(prefix) + 16 + 4
        and _is_hex(entry[len(prefix) : -4])
    ]


def _is_hex(text):
    return all(c in "0123456789abcdef" for c in text)


def atomic_write(path: str | os.PathLike[str], write_to: Callable[[BinaryIO], object]) -> str:
    """Call ``write_to(file)`` on a temporary file beside ``path``, then fsync and ``os.replace`` it.

    The previous file at ``path`` is untouched until the new one is complete
    on disk; on any failure the temporary file is removed and the error
    raised. Leftovers of earlier crashed writes of ``path`` are removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {folder!r} does not exist")
    for leftover in temporary_files(path):
        _remove(leftover)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    try:
        with open(temporary, "xb") as file:
            write_to(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    fsync_folder(folder)
    return path


def fsync_folder(folder):
    """fsync a folder, so that a rename in it survives a power loss (a no-op where folders cannot be opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _foreign(start: bytes):
    """A description of a well-known non-safetensors format the file starts with, or None."""
    if start[:1] == b"\x80" and len(start) > 1 and 2 <= start[1] <= 5:
        return f"a Python pickle (protocol {start[1]}); fnnet never unpickles files"
    if start[:4] == b"PK\x03\x04":
        return "a zip archive (a PyTorch .pt/.pth or Keras .keras file?); fnnet never unpickles files"
    if start[:8] == b"\x89HDF\r\n\x1a\n":
        return "an HDF5 file (Keras .h5?)"
    if start[:6] == b"\x93NUMPY":
        return "a NumPy .npy file"
    return None


def read(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``(tensors, metadata)`` of a safetensors file: ``{name: numpy array}`` and ``{str: str}``.

    The file is parsed as safetensors first; only when that fails is it
    described as a well-known foreign format (a pickle, a zip, HDF5, .npy),
    so that no header length a writer can produce (640 is ``80 02`` …, a
    pickle's first bytes) is ever mistaken for one. Raises ``ValueError``
    naming the problem for a file that is not a complete, consistent
    safetensors file.
    """
    path = path_like("path", path)
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        start = file.read(8)
        try:
            header, data = _read_parts(path, file, start, size)
        except ValueError as error:
            foreign = _foreign(start)
            if foreign:
                raise ValueError(f"{path!r} is not a safetensors file: it is {foreign}") from error
            raise
    return decode(path, header, data), header.pop(METADATA, {})


def _read_parts(path, file, start: bytes, size: int) -> tuple:
    """``(checked header, data bytes)`` of the open ``file`` whose first 8 bytes were ``start``."""
    if len(start) < 8:
        raise ValueError(f"{path!r} is not a safetensors file: {size} bytes, fewer than the 8 of the header length")
    (length,) = struct.unpack("<Q", start)
    if length > MAX_HEADER_BYTES:
        raise ValueError(
            f"{path!r}: its header length {length:,} bytes is over the {MAX_HEADER_BYTES:,}-byte "
            "limit (not a safetensors file, or a tampered one)"
        )
    if 8 + length > size:
        raise ValueError(
            f"{path!r}: its header length {length:,} bytes points past the end of the file "
            f"({size:,} bytes): the file is truncated or not a safetensors file"
        )
    header = parse_header(path, file.read(length))
    return header, file.read()


def parse_header(path, text: bytes) -> dict:
    """The header's JSON object, its entries' fields checked (not yet against the data)."""
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path!r}: the header is not valid JSON ({error}): not a safetensors file") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path!r}: the header is JSON {type(header).__name__}, not an object")
    metadata = header.get(METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{path!r}: the header's {METADATA} must map strings to strings")
    for name, entry in header.items():
        if name == METADATA:
            continue
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(
                f"{path!r}: tensor {name!r} has header entry {entry!r}; expected exactly dtype, shape and data_offsets"
            )
        if entry["dtype"] not in DTYPES:
            raise ValueError(f"{path!r}: tensor {name!r} has dtype {entry['dtype']!r}, not one of {sorted(DTYPES)}")
        shape, offsets = entry["shape"], entry["data_offsets"]
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise ValueError(f"{path!r}: tensor {name!r} has shape {shape!r}; expected a list of non-negative ints")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(o) is int and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise ValueError(
                f"{path!r}: tensor {name!r} has data_offsets {offsets!r}; expected [begin, end], 0 <= begin <= end"
            )
        expected = math.prod(shape) * DTYPES[entry["dtype"]].itemsize
        if offsets[1] - offsets[0] != expected:
            raise ValueError(
                f"{path!r}: tensor {name!r} of shape {tuple(shape)} and dtype {entry['dtype']} needs "
                f"{expected:,} bytes but its data_offsets {offsets} span {offsets[1] - offsets[0]:,}"
            )
    return header


def decode(path, header, data: bytes) -> dict:
    """``{name: array}`` from the checked header and the data bytes, checking they cover the data exactly."""
    entries = sorted(((e["data_offsets"], name) for name, e in header.items() if name != METADATA))
    position = 0
    for (begin, end), name in entries:
        if end > len(data):
            raise ValueError(
                f"{path!r}: tensor {name!r} has data_offsets [{begin}, {end}], outside the file's "
                f"{len(data):,} data bytes: the file is truncated or its header tampered with"
            )
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else f"leaves a gap at byte {position}"
            raise ValueError(f"{path!r}: tensor {name!r} at data_offsets [{begin}, {end}] {problem}")
        position = end
    if position != len(data):
        raise ValueError(
            f"{path!r}: {len(data) - position:,} bytes after the last tensor belong to none "
            "(a tampered or badly written file)"
        )
    tensors = {}
    for (begin, _), name in entries:
        entry = header[name]
        dtype, count = DTYPES[entry["dtype"]], math.prod(entry["shape"])
        if count == 0:
            tensors[name] = np.zeros(entry["shape"], dtype)
            continue
        array = np.frombuffer(data, dtype=dtype.newbyteorder("<"), count=count, offset=begin)
        tensors[name] = array.astype(dtype, copy=False).reshape(entry["shape"])
    return tensors
