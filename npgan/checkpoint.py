"""Checkpoints: one .npz per save, no pickle, written atomically, verified on load.

Layout of the .npz (every entry a plain array, stored uncompressed as np.savez writes;
read with allow_pickle=False):

    __meta__          a JSON string: {"format_version", "config", "state", "sha256"}
    <name>            every array of the run: "G.0.W", "D.1.b", "optimizer_d.velocity.D.1.W", ...

"sha256" covers the configuration and the run state (their canonical JSON: sorted keys, no
spaces) and every array's name, dtype, shape and bytes, so a checkpoint edited or corrupted
after it was written (a seed or a learning rate as much as a weight) is refused rather than
loaded into a silently different run. It finds damage and edits; it is not a signature (whoever
edits a file can recompute it), which is why everything below is checked as well.

Format versions: 2 (written since npgan hashes the metadata too) and 1 (before), which is
still read with its own meaning: its SHA-256 covers the arrays alone, so an edit of a
version-1 checkpoint's configuration or run state cannot be detected. Every checkpoint
written now is version 2: a run resumed from a version-1 checkpoint writes version 2 at its
next checkpoint, and `npgan export` of one writes version 2.

No pickle, ever: loading a pickle can run arbitrary code, so a checkpoint passed around
(downloaded, shared) must not be one. And nothing is read before its size is bounded, so a
small file cannot make npgan allocate much more than its own size:

1. the zip directory: every entry a .npy, stored uncompressed, its bytes inside the file and
   the entries together no larger than the file (a deflated or overlapping entry, a zip bomb,
   or a declared size that lies is refused without being read);
2. every entry's .npy header: a plain dtype (an object array would need pickle), and the size
   its shape implies equal to the entry's;
3. __meta__: at most META_MAX_BYTES, parsed (JSON nested too deep is corrupt metadata);
4. with ``implied_shapes`` (npgan.restore.implied_parameter_shapes): every entry's declared
   shape against the shapes its own configuration implies;
5. only then the arrays are read, and the SHA-256 checked.

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

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: the SHA-256 covers the arrays only (see the module docstring)
META_KEY = "__meta__"
META_MAX_BYTES = 1 << 20  # a run's __meta__ takes about 5 kB
# implied_shapes bounds the parameters and what is named after them ("<owner>.<slot>.G.0.W");
# any other entry (step counters, a minibatch order of 50,000 rows) may take this much, or the
# bytes of the largest parameter if that is more.
OTHER_ENTRY_BYTES = 1 << 20


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
    # what a reader will see (tuples as lists, keys as strings), so that its hash is this one
    config, state = json.loads(json.dumps(config)), json.loads(json.dumps(state))
    meta = {"format_version": FORMAT_VERSION, "config": config, "state": state,
            "sha256": checkpoint_digest(arrays, config, state)}
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **{META_KEY: np.array(json.dumps(meta))}, **arrays)


def load_checkpoint(path, implied_shapes=None):
    """Read and verify a checkpoint; raise CheckpointError with a one-line reason otherwise.

    implied_shapes: None, or a function (config, state) -> {parameter name: shape} of what
    the checkpoint's own configuration implies (npgan.restore.implied_parameter_shapes).
    Then, before any array is read, each entry named after a parameter ("G.0.W",
    "optimizer_d.velocity.G.0.W", ...) must declare that shape, and no other entry may be
    larger than OTHER_ENTRY_BYTES or the largest parameter.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"checkpoint {path} is not an .npz (zip) archive: truncated, or not an npgan "
                              "checkpoint")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = _check_entries(path, archive)
            if META_KEY not in entries:
                raise CheckpointError(f"checkpoint {path} has no {META_KEY} entry: not an npgan checkpoint")
            version, config, state, digest = _read_meta(path, archive, entries.pop(META_KEY))
            if implied_shapes is not None:
                _check_implied_shapes(path, entries, implied_shapes(config, state))
            arrays = {name: _read_array(archive, info) for name, (info, _, _) in entries.items()}
    except CheckpointError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, MemoryError, NotImplementedError,
            RuntimeError) as error:  # RuntimeError: zipfile's "encrypted"
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or corrupt): {error}") from None
    expected = checkpoint_digest(arrays, config, state) if version >= 2 else arrays_digest(arrays)
    if expected != digest:
        covered = "its configuration, run state or arrays were" if version >= 2 else "its arrays were"
        raise CheckpointError(f"checkpoint {path} failed its SHA-256 check: {covered} changed or corrupted "
                              "after it was written")
    return Checkpoint(config=config, state=state, arrays=arrays)


def _check_entries(path, archive):
    """{name: (ZipInfo, dtype, shape)} of every entry (".npy" dropped), each checked before any is
    read: a .npy stored uncompressed inside the file, entries not sharing bytes, a plain dtype,
    a header whose shape implies the entry's size.

    np.load allocates what an array's header claims before reading it, so a header
    claiming 10^12 elements would be a huge allocation; object arrays would need pickle;
    a deflated entry could hold a thousand times its size.
    """
    file_size = os.path.getsize(path)
    infos = archive.infolist()
    if sum(info.compress_size for info in infos) > file_size:
        raise CheckpointError(f"checkpoint {path}: its entries claim more bytes than the file holds ({file_size}): "
                              "corrupt, or built to make a reader allocate more than it holds")
    entries = {}
    for info in infos:
        name = info.filename
        if not name.endswith(".npy"):
            raise CheckpointError(f"checkpoint {path}: entry {name} is not a .npy array")
        if name[:-4] in entries:
            raise CheckpointError(f"checkpoint {path}: entry {name} appears twice: corrupt")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise CheckpointError(f"checkpoint {path}: entry {name} is compressed or encrypted; npgan writes every "
                                  "entry uncompressed (np.savez), so that none can hold more than the file's own size: "
                                  "not a checkpoint npgan wrote")
        if info.file_size != info.compress_size or info.header_offset + info.compress_size > file_size:
            raise CheckpointError(f"checkpoint {path}: entry {name} claims {info.file_size} bytes, more than the file "
                                  f"holds there: truncated or corrupt")
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
        entries[name[:-4]] = (info, dtype, shape)
    return entries


def _read_array(archive, info):
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _read_meta(path, archive, entry):
    """(format version, config, state, sha256) from the __meta__ entry, each checked."""
    info, dtype, shape = entry
    corrupt = f"checkpoint {path} has a corrupt {META_KEY} entry"
    if dtype.kind != "U" or shape != ():
        raise CheckpointError(f"{corrupt}: a {dtype}{shape} array, not a JSON string")
    if info.file_size > META_MAX_BYTES:
        raise CheckpointError(f"{corrupt}: {info.file_size} bytes, more than the {META_MAX_BYTES} any npgan "
                              "checkpoint needs")
    try:
        meta = json.loads(str(_read_array(archive, info)))
        version, config, state, digest = (meta["format_version"], meta["config"], meta["state"],
                                          meta["sha256"])
    except RecursionError:
        raise CheckpointError(f"{corrupt}: JSON nested too deeply") from None
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{corrupt}: {_describe(error)}") from None
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise CheckpointError(f"checkpoint {path} has format version {version!r}; this npgan reads versions "
                              f"{' and '.join(map(str, READABLE_VERSIONS))}")
    if not (isinstance(config, dict) and isinstance(state, dict) and isinstance(digest, str)):
        raise CheckpointError(f"{corrupt}: config and state must be JSON objects, sha256 a string")
    try:
        canonical_json(config), canonical_json(state)  # what the digest hashes: nothing it cannot
    except RecursionError:
        raise CheckpointError(f"{corrupt}: JSON nested too deeply") from None
    return version, config, state, digest


def _check_implied_shapes(path, entries, shapes):
    """Every entry's declared shape against ``shapes`` (parameter name -> shape), before any is read."""
    largest = max((math.prod(shape) * 8 for shape in shapes.values()), default=0)
    for name, (info, dtype, shape) in entries.items():
        parameter = next((p for p in shapes if name == p or name.endswith("." + p)), None)
        if parameter is not None:
            if tuple(shape) != tuple(shapes[parameter]) or dtype.itemsize > 8:
                raise CheckpointError(f"checkpoint {path}: entry {name} is {dtype}{shape}, its configuration "
                                      f"implies {tuple(shapes[parameter])}: damaged, tampered with, or another "
                                      "architecture")
        elif info.file_size > max(OTHER_ENTRY_BYTES, largest):
            raise CheckpointError(f"checkpoint {path}: entry {name} is {dtype}{shape} ({info.file_size} bytes), "
                                  "larger than anything its configuration implies: damaged or tampered with")


def _describe(error):
    return f"no {error}" if isinstance(error, KeyError) else str(error)


def canonical_json(value):
    """The one JSON text of ``value`` that the digest hashes: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def checkpoint_digest(arrays, config, state):
    """SHA-256 (format version 2) over the canonical JSON of ``config`` and ``state``, then the
    names, dtypes, shapes and bytes of ``arrays`` in name order."""
    digest = hashlib.sha256()
    digest.update(canonical_json({"config": config, "state": state}).encode() + b"\n")
    _update_with_arrays(digest, arrays)
    return digest.hexdigest()


def arrays_digest(arrays):
    """SHA-256 (format version 1) over the names, dtypes, shapes and bytes of ``arrays``, in name order."""
    digest = hashlib.sha256()
    _update_with_arrays(digest, arrays)
    return digest.hexdigest()


def _update_with_arrays(digest, arrays):
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array)  # its bytes in C order, read in place: no copy as tobytes() would make
