"""Checkpoints: one .npz per save, no pickle, written atomically, verified on load.

Layout of the .npz (every entry a plain array; np.load(..., allow_pickle=False)):

    __meta__          a JSON string: {"format_version", "config", "state", "sha256"}
    <name>            every array of the run: "G.0.W", "D.1.b", "optimizer_d.velocity.D.1.W", ...

"sha256" covers every array's name, dtype, shape and bytes, so a tampered or
corrupted array is refused rather than loaded into a silently wrong model.
Writes go to a temporary file in the same directory, are flushed and fsynced,
then renamed over the target: a crash mid-save leaves the previous checkpoint.
"""

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass

import numpy as np

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
        if name == META_KEY or not isinstance(array, np.ndarray) or array.dtype == object:
            raise ValueError(f"checkpoint entry {name!r} must be a plain numpy array")
    meta = {"format_version": FORMAT_VERSION, "config": config, "state": state,
            "sha256": arrays_digest(arrays)}
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".checkpoint-", suffix=".npz.tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, **{META_KEY: np.array(json.dumps(meta))}, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_checkpoint(path):
    """Read and verify a checkpoint; raise CheckpointError with a one-line reason otherwise."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or not an npgan .npz): {error}") from None
    if META_KEY not in arrays:
        raise CheckpointError(f"checkpoint {path} has no {META_KEY} entry: not an npgan checkpoint")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
        version, config, state, digest = (meta["format_version"], meta["config"], meta["state"],
                                          meta["sha256"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"checkpoint {path} has a corrupt {META_KEY} entry: {error}") from None
    if version != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {version}; this npgan reads "
                              f"version {FORMAT_VERSION}")
    if arrays_digest(arrays) != digest:
        raise CheckpointError(f"checkpoint {path} failed its SHA-256 check: its arrays were changed "
                              "or corrupted after it was written")
    return Checkpoint(config=config, state=state, arrays=arrays)


def arrays_digest(arrays):
    """SHA-256 over the names, dtypes, shapes and bytes of ``arrays``, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
