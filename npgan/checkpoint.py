"""Checkpoints: one .npz per save, no pickle, written atomically, verified on load.

Layout of the .npz (every entry a plain array; np.load(..., allow_pickle=False)):

    __meta__          a JSON string: {"format_version", "config", "state", "sha256"}
    <name>            every array of the run: "G.0.W", "D.1.b", "optimizer_d.velocity.D.1.W", ...

"sha256" covers every array's name, dtype, shape and bytes, so a tampered or
corrupted array is refused rather than loaded into a silently wrong model.

No pickle, ever: loading a pickle can run arbitrary code, so a checkpoint passed
around (downloaded, shared) must not be one. Every entry must be a .npy array of a
plain dtype, and its header is checked against its stored size before numpy
allocates anything (a header claiming 10^12 elements is refused, not allocated).

Writes go through npgan.fileio.atomic_write: a temporary file in the same directory,
flushed and fsynced, then renamed over the target (and the directory fsynced): a crash
or a full disk mid-save leaves the previous checkpoint, and no temporary file.
"""

import hashlib
import json
import math
import os
import zipfile
from dataclasses import dataclass

import numpy as np

from npgan.fileio import atomic_write

FORMAT_VERSION = 1
META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted: missing, truncated, tampered, or of another format."""


@dataclass
class Checkpoint:
    config: dict
    state: dict      # JSON-able run state: iteration, random generator states, ...
    arrays: dict     # name -> np.ndarray


def save_checkpoint(path, *, config, state, arrays):
    """Write ``arrays`` with ``config`` and ``state`` to ``path`` atomically."""
    for name, array in arrays.items():
        if name == META_KEY or not isinstance(array, np.ndarray) or array.dtype.hasobject:
            raise ValueError(f"checkpoint entry {name!r} must be a plain numpy array")
    meta = {"format_version": FORMAT_VERSION, "config": config, "state": state,
            "sha256": arrays_digest(arrays)}
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **{META_KEY: np.array(json.dumps(meta))}, **arrays)


def load_checkpoint(path):
    """Read and verify a checkpoint; raise CheckpointError with a one-line reason otherwise."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"checkpoint {path} is not an .npz (zip) archive: truncated, or not an npgan "
                              "checkpoint")
    try:
        _check_entries(path)
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except CheckpointError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, MemoryError) as error:
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or corrupt): {error}") from None
    if META_KEY not in arrays:
        raise CheckpointError(f"checkpoint {path} has no {META_KEY} entry: not an npgan checkpoint")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
        version, config, state, digest = (meta["format_version"], meta["config"], meta["state"],
                                          meta["sha256"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"checkpoint {path} has a corrupt {META_KEY} entry: {_describe(error)}") from None
    if version != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {version!r}; this npgan reads "
                              f"version {FORMAT_VERSION}")
    if not (isinstance(config, dict) and isinstance(state, dict) and isinstance(digest, str)):
        raise CheckpointError(f"checkpoint {path} has a corrupt {META_KEY} entry: config and state must be "
                              "JSON objects, sha256 a string")
    if arrays_digest(arrays) != digest:
        raise CheckpointError(f"checkpoint {path} failed its SHA-256 check: its arrays were changed "
                              "or corrupted after it was written")
    return Checkpoint(config=config, state=state, arrays=arrays)


def _check_entries(path):
    """Every entry a .npy array of a plain dtype whose header matches its size, before any is read.

    np.load allocates what an array's header claims before reading it, so a header
    claiming 10^12 elements would be a huge allocation; object arrays would need pickle.
    """
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = info.filename
            if not name.endswith(".npy"):
                raise CheckpointError(f"checkpoint {path}: entry {name} is not a .npy array")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise CheckpointError(f"checkpoint {path}: entry {name} is a .npy of version {version}, "
                                          "not written by npgan")
                header_size = member.tell()
            if dtype.hasobject:
                raise CheckpointError(f"checkpoint {path}: entry {name} is an object array, which only pickle "
                                      "can load; npgan never unpickles (unpickling can run arbitrary code)")
            size = header_size + math.prod(shape) * dtype.itemsize
            if size != info.file_size:
                raise CheckpointError(f"checkpoint {path}: entry {name} claims {dtype}{shape} ({size} bytes) "
                                      f"but holds {info.file_size} bytes: corrupt")


def _describe(error):
    return f"no {error}" if isinstance(error, KeyError) else str(error)


def arrays_digest(arrays):
    """SHA-256 over the names, dtypes, shapes and bytes of ``arrays``, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
