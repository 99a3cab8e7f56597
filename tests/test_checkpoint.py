"""Checkpoints: round trip without pickle, refusal of damaged files (through the command line
too: one line, exit 2), atomic writes under failure."""

import io
import json
import tracemalloc
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


def test_a_tampered_array_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, config={}, state={}, arrays=ARRAYS)
    raw_rewrite(path, lambda entries: entries["G.0.W"].__setitem__((0, 0), 99.0))
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

    raw_rewrite(path, bump)
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


# -- a write that fails halfway ------------------------------------------------------------------

class FullDisk:
    """A file that accepts ``budget`` bytes, then fails like a full disk (ENOSPC)."""

    def __init__(self, handle, budget):
        self.handle, self.budget, self.written = handle, budget, 0

    def write(self, data):
        if self.written + len(data) > self.budget:
            part = self.budget - self.written
            self.handle.write(bytes(data[:part]))
            self.written = self.budget
            raise OSError(28, "No space left on device")
        self.written += len(data)
        return self.handle.write(data)

    def __getattr__(self, name):  # seek, tell, flush: the real file's
        return getattr(self.handle, name)


def checkpoint_size(tmp_path):
    save_checkpoint(tmp_path / "size.npz", config={}, state={}, arrays=ARRAYS)
    size = (tmp_path / "size.npz").stat().st_size
    (tmp_path / "size.npz").unlink()
    return size


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_disk_that_fills_during_the_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch, fraction):
    """The real writer (np.savez) stops with ENOSPC after part of the new file is written."""
    budget = int(fraction * checkpoint_size(tmp_path))
    path = tmp_path / "c.npz"
    save_checkpoint(path, config={"run": 1}, state={}, arrays=ARRAYS)
    real_savez = np.savez
    monkeypatch.setattr(npgan.checkpoint.np, "savez",
                        lambda handle, **entries: real_savez(FullDisk(handle, budget), **entries))
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, config={"run": 2}, state={}, arrays={**ARRAYS, "more": np.ones(1000)})
    monkeypatch.undo()
    assert load_checkpoint(path).config == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


@pytest.mark.parametrize("step", ["fsync", "replace", "interrupt"])
def test_a_failure_after_the_data_leaves_the_previous_checkpoint(tmp_path, monkeypatch, step):
    path = tmp_path / "c.npz"
    save_checkpoint(path, config={"run": 1}, state={}, arrays=ARRAYS)

    def fail(*args, **kwargs):
        raise KeyboardInterrupt if step == "interrupt" else OSError(5, "Input/output error")

    target = {"fsync": "fsync", "replace": "replace", "interrupt": "fsync"}[step]
    monkeypatch.setattr(npgan.checkpoint.os, target, fail)
    with pytest.raises((OSError, KeyboardInterrupt)):
        save_checkpoint(path, config={"run": 2}, state={}, arrays=ARRAYS)
    monkeypatch.undo()
    assert load_checkpoint(path).config == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


# -- bad checkpoints: one line each, through the library and the command line --------------------

def toy_checkpoint(path, **overrides):
    """A real (untrained) ring8 checkpoint of a small architecture; returns its loaded content."""
    from npgan.data.toy import RING8
    from npgan.models import preset_config
    from npgan.train import Trainer

    config = preset_config("ring8", generator_hidden=[16], discriminator_hidden=[16],
                           discriminator_keep_probs=[1.0, 0.5], batch_size=8, **overrides)
    Trainer(config, RING8).save(path)
    return load_checkpoint(path)


def resave(path, change):
    """Rewrite a good checkpoint with ``change``(config, state, arrays) applied, with a valid
    SHA-256: damage that only the checks after the digest can find."""
    good = load_checkpoint(path)
    change(good.config, good.state, good.arrays)
    save_checkpoint(path, config=good.config, state=good.state, arrays=good.arrays)


def raw_rewrite(path, change):
    """Rewrite the .npz entries directly (np.savez, no npgan digest recomputed)."""
    with np.load(path, allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    change(entries)
    np.savez(path, **entries)


def change_meta(change):
    def apply(entries):
        meta = json.loads(str(entries["__meta__"]))
        change(meta)
        entries["__meta__"] = np.array(json.dumps(meta))
    return apply


def flip_a_data_byte(path):
    data = bytearray(path.read_bytes())
    offset = data.index(b"G.0.W.npy") + 200  # inside the array's bytes, past its headers
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def huge_header(path):
    """An entry whose .npy header claims 10^12 float64 values (8 TB)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("huge.npy", header.getvalue() + bytes(64))


class _Trap:
    """Unpickling this object would create the file ``marker``: proof that nothing was unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def pickled_object_array(path):
    marker = path.parent / "unpickled"
    with np.load(path, allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    entries["trap"] = np.array([_Trap(str(marker))], dtype=object)
    np.savez(path, **entries)  # np.savez pickles object arrays


def truncate(fraction):
    def apply(path):
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
    return apply


BAD_CHECKPOINTS = {
    # name: (damage applied to a good checkpoint file, message fragment)
    "missing": (lambda path: path.unlink(), "does not exist"),
    "empty file": (lambda path: path.write_bytes(b""), "not an .npz (zip) archive"),
    "random bytes": (lambda path: path.write_bytes(np.random.default_rng(0).bytes(5000)),
                     "not an .npz (zip) archive"),
    "truncated to 99%": (truncate(0.99), "not an .npz (zip) archive: truncated"),
    "truncated to 50%": (truncate(0.5), "not an .npz (zip) archive: truncated"),
    "a .npy, not a .npz": (lambda path: np.save(open(path, "wb"), np.zeros(3)), "not an .npz (zip) archive"),
    "a flipped byte in an array": (flip_a_data_byte, "unreadable (truncated or corrupt)"),
    "a tampered array, zip intact": (lambda path: raw_rewrite(path, lambda e: e["G.0.W"].__setitem__((0, 0), 9.0)),
                                     "failed its SHA-256 check"),
    "another format version": (lambda path: raw_rewrite(path, change_meta(lambda m: m.update(format_version=3))),
                               "format version 3; this npgan reads versions 1 and 2"),
    "no metadata (a foreign .npz)": (lambda path: np.savez(path, x=np.zeros(2)), "not an npgan checkpoint"),
    "metadata not JSON": (lambda path: raw_rewrite(path, lambda e: e.__setitem__("__meta__", np.array("{oops"))),
                          "corrupt __meta__ entry"),
    "metadata without its digest": (lambda path: raw_rewrite(path, change_meta(lambda m: m.pop("sha256"))),
                                    "corrupt __meta__ entry: no 'sha256'"),
    "a pickled object array": (pickled_object_array, "object array, which only pickle can load"),
    "a header claiming 10^12 values": (huge_header, "claims float64(1000000000000,)"),
    "a missing parameter": (lambda path: resave(path, lambda c, s, a: a.pop("G.0.W")), "has no parameter G.0.W"),
    "a mis-shaped parameter": (lambda path: resave(path, lambda c, s, a: a.__setitem__("D.0.W", np.zeros((2, 32), np.float32))),
                               "entry D.0.W is float32(2, 32), its configuration implies (2, 16)"),
    "layer sizes other than its config": (lambda path: resave(path, lambda c, s, a: c.update(generator_hidden=[32])),
                                          "another architecture"),
    "a parameter of a deeper network": (lambda path: resave(path, lambda c, s, a: a.__setitem__("D.9.W", np.zeros(1, np.float32))),
                                        "parameters the model lacks (D.9.W)"),
    "a NaN parameter": (lambda path: resave(path, lambda c, s, a: a["G.0.b"].__setitem__(0, np.nan)), "holds NaN or inf"),
    "a configuration key missing": (lambda path: resave(path, lambda c, s, a: c.pop("noise_dim")),
                                    "configuration has no 'noise_dim' entry"),
    "an invalid configuration value": (lambda path: resave(path, lambda c, s, a: c.update(noise="cauchy")),
                                       "configuration is invalid: noise must be one of"),
    "no data dimension in the state": (lambda path: resave(path, lambda c, s, a: s.pop("data_dim")),
                                       "run state has no valid 'data_dim'"),
}


@pytest.mark.parametrize("case", list(BAD_CHECKPOINTS))
def test_a_bad_checkpoint_is_one_line_and_exit_2_in_sample_evaluate_and_figure(tmp_path, capsys, case):
    from npgan.cli import main

    damage, message = BAD_CHECKPOINTS[case]
    path = tmp_path / "checkpoint.npz"
    toy_checkpoint(path)
    damage(path)
    for argv in (["sample", "--checkpoint", str(path), "-n", "5", "--out", str(tmp_path / "s.npy")],
                 ["evaluate", "modes", "--checkpoint", str(path), "--samples", "50"],
                 ["evaluate", "parzen", "--checkpoint", str(path)],
                 ["figure", "3", "--checkpoint", str(path), "--out", str(tmp_path / "f.png")]):
        assert main(argv) == 2, (case, argv)
        err = capsys.readouterr().err
        assert err.startswith("npgan: error: ") and len(err.strip().splitlines()) == 1, err
        assert message in err, err
        assert "Traceback" not in err
    assert not (tmp_path / "s.npy").exists() and not (tmp_path / "f.png").exists()
    assert not (tmp_path / "unpickled").exists()  # nothing was ever unpickled


def test_a_huge_header_allocates_nothing_large(tmp_path):
    path = tmp_path / "checkpoint.npz"
    toy_checkpoint(path)
    huge_header(path)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="claims"):
            load_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


RESUME_DAMAGE = {
    # damage to the checkpoint of a run directory: message of `npgan train --resume`
    "its optimizer state is missing": (lambda c, s, a: a.pop("optimizer_d.second_moment.D.0.W"),
                                       "Adam state does not match its parameters: missing"),
    "layer sizes other than its config": (lambda c, s, a: c.update(discriminator_hidden=[32]), "another architecture"),
    "its random streams are missing": (lambda c, s, a: s.pop("random_streams"), "random stream states are missing"),
    "its iteration is missing": (lambda c, s, a: s.pop("iteration"), "run state has no valid 'iteration'"),
}


@pytest.mark.parametrize("case", list(RESUME_DAMAGE))
def test_resume_refuses_a_checkpoint_that_does_not_fit(tmp_path, capsys, case):
    from npgan.cli import main

    run = tmp_path / "run"
    run.mkdir()
    toy_checkpoint(run / "checkpoint.npz", optimizer="adam")
    resave(run / "checkpoint.npz", RESUME_DAMAGE[case][0])
    assert main(["train", "--resume", "--out", str(run), "--iterations", "5", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert RESUME_DAMAGE[case][1] in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz"]  # nothing written, the lock released


def test_resume_refuses_another_preset_or_seed_than_the_runs(tmp_path, capsys):
    from npgan.cli import main

    run = tmp_path / "run"
    run.mkdir()
    toy_checkpoint(run / "checkpoint.npz")
    for option, message in ((["--preset", "grid25"], "preset cannot change (saved 'ring8', given 'grid25')"),
                            (["--seed", "3"], "seed cannot change (saved 0, given 3)")):
        assert main(["train", "--resume", "--out", str(run), *option, "--no-progress"]) == 2
        assert message in capsys.readouterr().err
