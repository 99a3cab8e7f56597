"""Checkpoints: round trip without pickle, refusal of damaged files, atomic writes."""

import json
import zipfile

import numpy as np
import pytest

import npgan.checkpoint
from npgan.checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint

ARRAYS = {"G.0.W": np.arange(6, dtype=np.float32).reshape(2, 3), "iteration": np.array(5)}


def test_round_trip(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, config={"preset": "ring8"}, state={"iteration": 5}, arrays=ARRAYS)
    loaded = load_checkpoint(path)
    assert loaded.config == {"preset": "ring8"} and loaded.state == {"iteration": 5}
    for name, value in ARRAYS.items():
        np.testing.assert_array_equal(loaded.arrays[name], value)
        assert loaded.arrays[name].dtype == value.dtype
    with np.load(path, allow_pickle=False) as npz:  # nothing in it needs pickle
        assert set(npz.files) == {"__meta__", *ARRAYS}


def rewrite(path, change):
    with np.load(path, allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    change(entries)
    np.savez(path, **entries)


def test_a_tampered_array_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, config={}, state={}, arrays=ARRAYS)
    rewrite(path, lambda entries: entries["G.0.W"].__setitem__((0, 0), 99.0))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(path)


def test_a_truncated_file_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, config={}, state={}, arrays=ARRAYS)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_another_format_version_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, config={}, state={}, arrays=ARRAYS)

    def bump(entries):
        meta = json.loads(str(entries["__meta__"]))
        meta["format_version"] = FORMAT_VERSION + 1
        entries["__meta__"] = np.array(json.dumps(meta))

    rewrite(path, bump)
    with pytest.raises(CheckpointError, match="format version"):
        load_checkpoint(path)


def test_missing_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.npz")
    np.savez(tmp_path / "foreign.npz", x=np.zeros(2))
    with pytest.raises(CheckpointError, match="not an npgan checkpoint"):
        load_checkpoint(tmp_path / "foreign.npz")
    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as archive:
        archive.writestr("x.npy", b"\x93NUMPY garbage")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "pickled.npz")


def test_a_save_that_fails_halfway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, config={"run": 1}, state={}, arrays=ARRAYS)

    def failing_savez(handle, **entries):
        handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(npgan.checkpoint.np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, config={"run": 2}, state={}, arrays=ARRAYS)
    monkeypatch.undo()
    assert load_checkpoint(path).config == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # no temporary file left behind


def test_object_arrays_are_refused_at_save(tmp_path):
    with pytest.raises(ValueError, match="plain numpy array"):
        save_checkpoint(tmp_path / "c.npz", config={}, state={}, arrays={"x": np.array([{}], dtype=object)})
