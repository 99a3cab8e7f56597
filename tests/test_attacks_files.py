"""Attacks on the files npgan writes and reads (issue 17, items 1, 2, 7, 13, 15 and the full
disks it saw): outputs that are not regular files, planted symbolic links in a run directory,
the temporaries a SIGKILL leaves, a FIFO as metrics.jsonl, a write that fails half-way. Each
is refused with one line on stderr that starts with "npgan:" (no traceback, docs/troubleshooting.md's
exit code), or survived; a file outside the run directory never changes, an old file is never
truncated, and no temporary is left behind. Run as root, as CI does: root may write anywhere,
so only npgan's own checks stand between a mistake and /dev/null."""

import errno
import os
import resource
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

from npgan import fileio
from npgan.checkpoint import load_checkpoint
from npgan.cli import main
from npgan.monitors import standard_monitors
from npgan.run import RunDirectoryError, train_run
from npgan.train import Trainer
from tests.cli_checks import assert_one_npgan_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--preset", "ring8", "--iterations", "30", "--batch-size", "16", "--no-progress"]
VICTIM = b"a file outside the run directory\n"


def run_npgan(args, cwd, *, code=None, file_size_limit=None, timeout=60):
    """`python -m npgan args` (or ``python -c code args``) in ``cwd``; with file_size_limit every
    write past that many bytes fails half-way (EFBIG; Python ignores SIGXFSZ): a full disk."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, resource.RLIM_INFINITY))

    command = [sys.executable, *(["-c", code] if code else ["-m", "npgan"]), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": ROOT},
                          preexec_fn=limit if file_size_limit is not None else None)


def temporaries(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("files") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture
def victim(tmp_path):
    """A file outside every directory npgan is told to write: it must never change."""
    path = tmp_path / "outside" / "victim.txt"
    path.parent.mkdir()
    path.write_bytes(VICTIM)
    return path


def device_node(path, like="/dev/null"):
    """A character device at ``path`` (the node of ``like``), as root can make one."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.stat(like).st_rdev)
    except (PermissionError, FileNotFoundError):
        pytest.skip("cannot create a device node here (not root)")
    return path


@pytest.fixture(params=["symlink", "dangling symlink", "directory", "fifo", "device"])
def bad_output(request, tmp_path, victim):
    """An existing output path that is not a regular file, and a check that it is unchanged."""
    path = tmp_path / "out.npz"
    if request.param == "symlink":
        path.symlink_to(victim)
    elif request.param == "dangling symlink":
        path.symlink_to(tmp_path / "outside" / "created-through-the-link")
    elif request.param == "directory":
        path.mkdir()
    elif request.param == "fifo":
        os.mkfifo(path)
    else:
        device_node(path)
    kind = stat.S_IFMT(os.lstat(path).st_mode)

    def unchanged():
        assert stat.S_IFMT(os.lstat(path).st_mode) == kind
        assert victim.read_bytes() == VICTIM
        assert sorted(os.listdir(victim.parent)) == ["victim.txt"]
        assert temporaries(tmp_path) == []

    return path, unchanged


# -- item 1 (and every command-line output): refuse what is not a regular file ---------------------

@pytest.mark.parametrize("command", ["export", "sample", "figure"])
def test_an_output_that_is_not_a_regular_file_is_refused(command, bad_output, trained_run, capsys):
    path, unchanged = bad_output
    checkpoint = str(trained_run / "checkpoint.npz")
    argv = {"export": ["export", "--checkpoint", checkpoint, "--out", str(path)],
            "sample": ["sample", "--checkpoint", checkpoint, "-n", "5", "--out", str(path)],
            "figure": ["figure", "saturation", "--out", str(path)]}[command]
    assert main(argv) == 2
    assert_one_npgan_line(capsys.readouterr().err, str(path), "not a regular file")
    unchanged()


def test_export_never_replaces_a_training_checkpoint(trained_run, tmp_path, capsys):
    checkpoint = trained_run / "checkpoint.npz"
    before = checkpoint.read_bytes()
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(checkpoint)]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "training checkpoint", "choose another --out")
    other = tmp_path / "copy.npz"  # any training checkpoint, not only the one exported
    other.write_bytes(before)
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(other)]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "training checkpoint")
    assert checkpoint.read_bytes() == before and other.read_bytes() == before
    assert temporaries(trained_run) == [] and temporaries(tmp_path) == []
    exported = tmp_path / "g.npz"  # an earlier export is replaced: that is what export writes
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(exported)]) == 0
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(exported)]) == 0
    for argv in (["sample", "--checkpoint", str(checkpoint), "-n", "5", "--out", str(exported)],
                 ["figure", "saturation", "--out", str(checkpoint)]):  # no other output replaces a checkpoint
        assert main(argv) == 2
        assert_one_npgan_line(capsys.readouterr().err, "checkpoint", "choose another --out")
    assert checkpoint.read_bytes() == before


@pytest.mark.parametrize("command", ["export", "sample", "figure"])
def test_an_empty_output_path_is_refused(command, trained_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    checkpoint = str(trained_run / "checkpoint.npz")
    argv = {"export": ["export", "--checkpoint", checkpoint, "--out", ""],
            "sample": ["sample", "--checkpoint", checkpoint, "-n", "5", "--out", ""],
            "figure": ["figure", "saturation", "--out", ""]}[command]
    assert main(argv) == 2
    assert_one_npgan_line(capsys.readouterr().err, "--out is empty")
    assert os.listdir(tmp_path) == []


# -- item 13: npgan sample writes exactly --out, atomically -----------------------------------------

def test_sample_writes_exactly_the_path_given_and_reports_it(trained_run, tmp_path, capsys):
    out = tmp_path / "samples"
    assert main(["sample", "--checkpoint", str(trained_run / "checkpoint.npz"), "-n", "7", "--out", str(out)]) == 0
    assert f"to {out}\n" in capsys.readouterr().out
    assert os.listdir(tmp_path) == ["samples"]
    assert np.load(out).shape == (7, 2)


def test_sample_to_a_full_device_is_refused_and_creates_nothing(trained_run, tmp_path, capsys):
    full = device_node(tmp_path / "full", like="/dev/full")  # /dev/full's node: writes fail with ENOSPC
    assert main(["sample", "--checkpoint", str(trained_run / "checkpoint.npz"), "-n", "5", "--out", str(full)]) == 2
    assert_one_npgan_line(capsys.readouterr().err, str(full), "not a regular file")
    assert sorted(os.listdir(tmp_path)) == ["full"]  # no full.npy beside it


@pytest.mark.parametrize("command", ["sample", "figure", "export"])
def test_a_disk_full_half_way_exits_1_and_keeps_the_old_file(command, trained_run, tmp_path):
    """A real failure in the middle of the write (the file size limit: EFBIG after 64 KiB):
    exit 1, one line that names the reason, the old file unchanged, no temporary left."""
    out = tmp_path / {"sample": "samples.npy", "figure": "figure.png", "export": "g.npz"}[command]
    old = b"the previous output\n" * 10
    out.write_bytes(old)
    checkpoint = str(trained_run / "checkpoint.npz")
    args = {"sample": ["sample", "--checkpoint", checkpoint, "-n", "100000", "--out", str(out)],
            "figure": ["figure", "saturation", "--out", str(out)],
            "export": ["export", "--checkpoint", checkpoint, "--out", str(out)]}[command]
    completed = run_npgan(args, tmp_path, file_size_limit=64 * 1024)
    assert completed.returncode == 1, completed.stderr
    assert_one_npgan_line(completed.stderr, f"cannot write {out}", "File too large", "unchanged")
    assert "None" not in completed.stderr
    assert out.read_bytes() == old
    assert temporaries(tmp_path) == []


def test_a_disk_full_reports_the_reason_not_none(trained_run, tmp_path, monkeypatch, capsys):
    """ENOSPC half-way through the .npy (np.save's own write fails), in the process."""
    out = tmp_path / "samples.npy"
    out.write_bytes(b"old")
    real_save = np.save

    def save_half_then_fail(handle, array, **options):
        handle.write(b"\x93NUMPY partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "save", save_half_then_fail)
    assert main(["sample", "--checkpoint", str(trained_run / "checkpoint.npz"), "-n", "5", "--out", str(out)]) == 1
    monkeypatch.setattr(np, "save", real_save)
    assert_one_npgan_line(capsys.readouterr().err, "No space left on device")
    assert out.read_bytes() == b"old" and temporaries(tmp_path) == []


# -- item 2: planted symbolic links in a run directory are never followed ---------------------------

def tiny_image_run(iterations=12):
    from tests.test_paper_mnist import tiny_config, tiny_images

    data = tiny_images()  # epochs of 6 iterations: epoch checkpoints, best.npz, samples.png, parzen.png
    return Trainer(tiny_config(iterations=iterations), data), standard_monitors(data)


RUN_FILES = ["config.json", "samples.png", "curves.png", "parzen.png", "checkpoint.npz", "checkpoints/best.npz",
             "checkpoints/epoch-0001.npz", "checkpoints/epoch-0002.npz"]


@pytest.mark.parametrize("dangling", [False, True], ids=["to a file", "dangling"])
def test_planted_symlinks_in_a_run_directory_are_replaced_never_written_through(tmp_path, victim, dangling):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    for name in RUN_FILES:
        (run / name).symlink_to(tmp_path / "outside" / name.replace("/", "-") if dangling else victim)
    trainer, monitors = tiny_image_run()
    train_run(trainer, run, monitors=monitors)
    assert victim.read_bytes() == VICTIM
    assert sorted(os.listdir(victim.parent)) == ["victim.txt"]  # nothing created through a dangling link
    for name in RUN_FILES:
        assert stat.S_ISREG(os.lstat(run / name).st_mode), name
    assert temporaries(run) == [] and temporaries(run / "checkpoints") == []


@pytest.mark.parametrize("planted", ["symlink", "dangling symlink", "directory"])
def test_a_metrics_file_that_is_not_a_regular_file_is_refused(tmp_path, victim, planted):
    run = tmp_path / "run"
    run.mkdir()
    metrics = run / "metrics.jsonl"
    if planted == "symlink":
        metrics.symlink_to(victim)
    elif planted == "dangling symlink":
        metrics.symlink_to(tmp_path / "outside" / "created-through-the-link")
    else:
        metrics.mkdir()
    trainer, monitors = tiny_image_run()
    refused = r"metrics.jsonl is a (symbolic link|directory), not a regular file.*move it away"
    with pytest.raises(RunDirectoryError, match=refused):
        train_run(trainer, run, monitors=monitors)
    assert trainer.iteration == 0
    assert victim.read_bytes() == VICTIM and sorted(os.listdir(victim.parent)) == ["victim.txt"]


def test_a_checkpoints_directory_that_is_a_symlink_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "epoch-0000.npz").write_bytes(VICTIM)  # an old "epoch checkpoint" would be removed
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoints").symlink_to(outside)
    trainer, monitors = tiny_image_run(iterations=30)
    with pytest.raises(RunDirectoryError, match="checkpoints is a symbolic link"):
        train_run(trainer, run, monitors=monitors, keep_checkpoints=2)
    assert sorted(os.listdir(outside)) == ["epoch-0000.npz"]
    assert (outside / "epoch-0000.npz").read_bytes() == VICTIM


def test_a_temporary_name_planted_in_advance_is_never_opened(tmp_path, victim, monkeypatch):
    """The temporary is created O_CREAT | O_EXCL: if its random name is taken (here: planted
    as a symlink to a file outside), another name is drawn; nothing is written through."""
    names = iter(["planted0000a", "fresh000000b"])
    monkeypatch.setattr(fileio, "_random_suffix", lambda: next(names))
    (tmp_path / ".config.json.planted0000a.tmp").symlink_to(victim)
    fileio.write_atomically(tmp_path / "config.json", "{}")
    assert (tmp_path / "config.json").read_text() == "{}"
    assert victim.read_bytes() == VICTIM
    assert os.path.islink(tmp_path / ".config.json.planted0000a.tmp")


# -- item 7: a resume removes the temporaries a SIGKILL left, and nothing else ------------------------

KILLED_MID_WRITE = """
import os, signal, sys
from npgan.fileio import atomic_write
with atomic_write(sys.argv[1], "wb") as handle:
    handle.write(b"half a checkpoint")
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_resume_removes_the_temporaries_a_sigkill_left_and_nothing_else(tmp_path, victim, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(run)]) == 0
    (run / "checkpoints").mkdir()
    for target in ("checkpoint.npz", "config.json", "metrics.jsonl", "samples.png", "checkpoints/best.npz",
                   "checkpoints/epoch-0003.npz"):  # killed mid-write: the temporary stays
        completed = run_npgan([str(run / target)], tmp_path, code=KILLED_MID_WRITE)
        assert completed.returncode == -signal.SIGKILL
    left = temporaries(run) + temporaries(run / "checkpoints")
    assert len(left) == 6, left
    others = [".checkpoint.npz.tmp", ".notes.txt.0123456789ab.tmp", "checkpoint.npz.0123456789ab.tmp",
              ".checkpoint.npz.0123456789ab.tmp.keep", "mine.tmp"]  # not npgan's: kept
    for name in others:
        (run / name).write_bytes(b"someone else's")
    (run / ".config.json.0123456789ab.tmp").symlink_to(victim)  # npgan's name, but never a link it made
    (run / ".samples.png.0123456789ab.tmp").mkdir()
    assert main(["train", "--resume", "--out", str(run), "--iterations", "40", "--no-progress"]) == 0
    assert temporaries(run / "checkpoints") == []
    assert temporaries(run) == sorted([".checkpoint.npz.tmp", ".notes.txt.0123456789ab.tmp",
                                       "checkpoint.npz.0123456789ab.tmp", "mine.tmp",
                                       ".config.json.0123456789ab.tmp", ".samples.png.0123456789ab.tmp"])
    assert all((run / name).read_bytes() == b"someone else's" for name in others)
    assert victim.read_bytes() == VICTIM


# -- item 15: a FIFO as metrics.jsonl --------------------------------------------------------------

def test_a_fifo_as_metrics_jsonl_is_refused_at_once_and_the_lock_released(tmp_path):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(run)]) == 0
    (run / "metrics.jsonl").unlink()
    os.mkfifo(run / "metrics.jsonl")
    completed = run_npgan(["train", "--resume", "--out", str(run), "--iterations", "40", "--no-progress"],
                          tmp_path, timeout=30)  # it used to block on open() forever, holding the lock
    assert completed.returncode == 2, completed.stderr
    err = "".join(line for line in completed.stderr.splitlines(True) if not line.startswith("training "))
    assert_one_npgan_line(err, "metrics.jsonl is a FIFO, not a regular file", "move it away")
    assert not (run / ".lock").exists()
    assert stat.S_ISFIFO(os.lstat(run / "metrics.jsonl").st_mode)


def test_opening_an_existing_name_never_blocks_or_follows(tmp_path, victim):
    os.mkfifo(tmp_path / "fifo")
    for mode in ("r", "a"):
        with pytest.raises(fileio.NotRegularFile, match="not a regular file"):
            fileio.open_regular(tmp_path / "fifo", mode)
    (tmp_path / "link").symlink_to(victim)
    for mode in ("r", "a"):
        with pytest.raises(fileio.NotRegularFile, match="symbolic link"):
            fileio.open_regular(tmp_path / "link", mode)
    assert victim.read_bytes() == VICTIM
    with fileio.open_regular(tmp_path / "new", "a") as handle:  # "a" creates a missing file
        handle.write("line\n")
    with fileio.open_regular(tmp_path / "new", "r") as handle:
        assert handle.read() == "line\n"
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o666 & ~fileio.current_umask()


# -- a full disk under a run: samples.png and parzen.png stay whole ----------------------------------

def test_a_png_write_that_fails_half_way_keeps_the_old_png(tmp_path):
    from npgan.data.toy import RING8
    from npgan.plots import toy_samples_figure

    out = tmp_path / "samples.png"
    toy_samples_figure(RING8.sample(500, np.random.default_rng(0)), RING8, out)
    old = out.read_bytes()
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # every write past 4 KiB fails (EFBIG)
    try:
        with pytest.raises(OSError) as caught:
            toy_samples_figure(RING8.sample(500, np.random.default_rng(1)), RING8, out)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    assert caught.value.errno == errno.EFBIG
    assert out.read_bytes() == old and temporaries(tmp_path) == []


class HalfThenDiskFull:
    """A temporary file whose first write stores half its bytes, then fails with ENOSPC."""

    def __init__(self, handle):
        self._handle = handle

    def write(self, data):
        self._handle.write(bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return self._handle.__exit__(*exc_info)


def test_a_run_whose_samples_png_cannot_be_written_keeps_the_old_one(tmp_path, monkeypatch):
    """ENOSPC half-way through samples.png during training: the run stops with the OSError that
    npgan train reports (exit 1), samples.png is the previous one whole, no temporary left."""
    trainer, monitors = tiny_image_run()
    run = tmp_path / "run"
    train_run(trainer, run, monitors=monitors)
    old = (run / "samples.png").read_bytes()
    real_open = fileio._open_temporary

    def open_failing_for_samples_png(path, mode, **options):
        handle = real_open(path, mode, **options)
        return HalfThenDiskFull(handle) if os.path.basename(path).startswith(".samples.png.") else handle

    monkeypatch.setattr(fileio, "_open_temporary", open_failing_for_samples_png)
    resumed = Trainer.from_checkpoint(load_checkpoint(run / "checkpoint.npz"), trainer.dataset, iterations=18)
    with pytest.raises(OSError, match="No space left"):
        train_run(resumed, run, monitors=monitors)
    assert (run / "samples.png").read_bytes() == old
    assert temporaries(run) == []
    assert load_checkpoint(run / "checkpoint.npz").state["iteration"] == 18  # written before samples.png


def test_a_failed_first_checkpoint_does_not_point_at_a_resume_that_cannot_work(tmp_path):
    """The disk fills before the first checkpoint: the message says to start again, not to
    --resume (which would find nothing to resume); with a checkpoint, it says to resume."""
    out = tmp_path / "run"
    # config.json and metrics.jsonl fit in 20 kB, the first checkpoint (tens of kB) does not
    failed = run_npgan(["train", *TINY, "--out", str(out)], tmp_path, file_size_limit=20_000)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("npgan: error: training stopped: cannot write into")
    assert "no checkpoint had been written yet: run the same command again" in last
    assert "--resume" not in failed.stderr and not (out / "checkpoint.npz").exists()
    again = run_npgan(["train", *TINY, "--out", str(out)], tmp_path)
    assert again.returncode == 0, again.stderr


def test_every_file_of_a_run_gets_the_same_permissions(trained_run):
    """checkpoint.npz used to be 0600 (mkstemp's) while config.json was 0666 & ~umask: now
    every file npgan writes is created like an ordinary new file."""
    modes = {name: stat.S_IMODE(os.stat(trained_run / name).st_mode)
             for name in ("checkpoint.npz", "config.json", "metrics.jsonl", "samples.png")}
    assert len(set(modes.values())) == 1, modes
