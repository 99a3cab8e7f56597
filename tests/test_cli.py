"""The command line: `npgan gradcheck`, train, sample, evaluate; the table of bad command lines
(exit 2, one line, before any work); the run directory's lock; exit 1 on divergence or a failing
write; the signal handlers installed only while training."""

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

import npgan.gradcheck
from npgan.checkpoint import load_checkpoint
from npgan.cli import main
from npgan.gradcheck import CheckResult


def test_gradcheck_prints_a_table_and_exits_0(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["check", "parameter", "rel_error", "threshold", "skipped"]
    assert "sequential G step [non-saturating]" in out
    assert "110 checks, all passed" in out
    assert "FAIL" not in out


def test_gradcheck_json_through_python_dash_m():
    completed = subprocess.run([sys.executable, "-m", "npgan", "gradcheck", "--json", "--seed", "3"],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    rows = json.loads(completed.stdout)
    assert {"check", "parameter", "rel_error", "threshold", "ok"} <= set(rows[0])
    assert all(row["ok"] and row["rel_error"] <= row["threshold"] for row in rows)
    assert {row["check"] for row in rows} >= {"Linear", "ReLU", "Sigmoid", "Maxout", "Dropout",
                                              "discriminator_loss", "sequential D step", "Pack",
                                              "simultaneous D step, pack 2"}


def test_a_failing_check_exits_1_and_says_fail(monkeypatch, capsys):
    bad = CheckResult("Linear", "W", 3e-3, 1e-7, checked=20)
    monkeypatch.setattr(npgan.gradcheck, "run_all", lambda seed: [bad])
    assert main(["gradcheck"]) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["gradcheck", "--seed", "-1"], ["gradcheck", "--seed", "x"], ["nonsense"]])
def test_bad_usage_exits_2_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "gradcheck" in capsys.readouterr().out


# -- train, sample, evaluate ---------------------------------------------------------------------

TINY = ["--preset", "ring8", "--iterations", "30", "--batch-size", "16", "--no-progress"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "ring8"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def test_train_writes_the_run_directory(trained_run):
    for name in ("config.json", "metrics.jsonl", "checkpoint.npz", "samples.png"):
        assert (trained_run / name).stat().st_size > 0, name
    config = json.loads((trained_run / "config.json").read_text())
    assert config["iterations"] == 30 and config["batch_size"] == 16 and config["preset"] == "ring8"
    assert (trained_run / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_refuses_to_overwrite_a_run_and_resumes_it(trained_run, capsys):
    assert main(["train", *TINY, "--out", str(trained_run)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--resume", "--out", str(trained_run), "--iterations", "40", "--no-progress"]) == 0
    lines = (trained_run / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["iteration"] == 40
    assert main(["train", "--resume", "--out", str(trained_run), "--batch-size", "99"]) == 2
    assert "cannot change" in capsys.readouterr().err


def test_sample_writes_an_n_by_dim_float32_array(trained_run, tmp_path):
    import numpy as np

    out = tmp_path / "s.npy"
    assert main(["sample", "--checkpoint", str(trained_run / "checkpoint.npz"), "-n", "11", "--out", str(out)]) == 0
    samples = np.load(out)
    assert samples.shape == (11, 2) and samples.dtype == np.float32
    again = tmp_path / "t.npy"
    main(["sample", "--checkpoint", str(trained_run / "checkpoint.npz"), "-n", "11", "--out", str(again)])
    np.testing.assert_array_equal(np.load(again), samples)


def test_averaging_switched_on_at_a_resume_export_and_the_generator_option(tmp_path, capsys):
    import numpy as np

    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    assert main(["train", "--resume", "--out", str(out), "--iterations", "40", "--generator-average-decay", "0.9",
                 "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["generator_average_decay"] == 0.9
    assert main(["train", "--resume", "--out", str(out), "--iterations", "50", "--generator-average-decay", "0.8"]) == 2
    assert "generator_average_decay cannot change" in capsys.readouterr().err
    checkpoint = str(out / "checkpoint.npz")
    samples = {}
    for choice in ("average", "trained"):
        path = tmp_path / f"{choice}.npy"
        assert main(["sample", "--checkpoint", checkpoint, "-n", "20", "--out", str(path), "--generator", choice]) == 0
        samples[choice] = np.load(path)
    assert not np.array_equal(samples["average"], samples["trained"])
    exported = tmp_path / "g.npz"
    assert main(["export", "--checkpoint", checkpoint, "--out", str(exported)]) == 0
    assert "wrote G" in capsys.readouterr().out
    assert exported.stat().st_size < (out / "checkpoint.npz").stat().st_size / 2
    again = tmp_path / "again.npy"
    assert main(["sample", "--checkpoint", str(exported), "-n", "20", "--out", str(again)]) == 0
    np.testing.assert_array_equal(np.load(again), samples["average"])
    assert main(["sample", "--checkpoint", str(exported), "-n", "20", "--out", str(again), "--generator",
                 "trained"]) == 2
    assert "holds only the average generator" in capsys.readouterr().err
    assert main(["train", *TINY, "--out", str(tmp_path / "bad"), "--generator-average-decay", "1.5"]) == 2
    assert "generator_average_decay must be in [0.0, 1.0)" in capsys.readouterr().err


def test_keep_checkpoints_is_kept_by_a_resume_until_another_is_given(tmp_path, monkeypatch, without_monitors):
    """--keep-checkpoints N: the last N epoch checkpoints (0: all); a resume keeps the run's N."""
    import npgan.cli_train
    import npgan.models
    from tests.test_paper_mnist import tiny_config, tiny_images

    # paper-mnist shrunk to 6 iterations an epoch on 60 tiny images, with no monitors: epoch
    # checkpoints in a fraction of a second
    monkeypatch.setattr(npgan.models, "preset_config", lambda preset, **changes: tiny_config(**changes))
    monkeypatch.setattr(npgan.cli_train, "dataset_for", lambda config, data_dir=None: tiny_images())
    out = tmp_path / "run"

    def train(*words):
        assert main(["train", "--preset", "paper-mnist", "--out", str(out), "--no-progress", *words]) == 0
        return sorted(name for name in os.listdir(out / "checkpoints") if name.startswith("epoch-"))

    assert train("--epochs", "3", "--keep-checkpoints", "1") == ["epoch-0003.npz"]
    assert load_checkpoint(out / "checkpoint.npz").state["keep_checkpoints"] == 1
    assert train("--resume", "--epochs", "4") == ["epoch-0004.npz"]  # the run's 1, not the default 3
    assert train("--resume", "--epochs", "6", "--keep-checkpoints", "0") == ["epoch-0004.npz", "epoch-0005.npz",
                                                                              "epoch-0006.npz"]
    assert load_checkpoint(out / "checkpoint.npz").state["keep_checkpoints"] == 0
    assert train("--resume", "--epochs", "7") == [f"epoch-{epoch:04d}.npz" for epoch in range(4, 8)]


def test_evaluate_modes_json(trained_run, capsys):
    assert main(["evaluate", "modes", "--checkpoint", str(trained_run / "checkpoint.npz"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["num_modes"] == 8 and result["n_samples"] == 2500
    assert 0 <= result["modes_captured"] <= 8 and 0 <= result["high_quality_fraction"] <= 1


# Bad command lines: each refused with its message and exit 2 before any work starts (no run
# directory created, no data loaded), never a traceback. {toy} is a ring8 checkpoint, {run}
# a ring8 run directory, "afile" a plain file; the working directory is a fresh tmp_path.
BAD_COMMAND_LINES = [
    (["train", "--preset", "mnist-huge"], "invalid choice"),
    (["train", "--iterations", "0"], ">= 1"),
    (["train", "--iterations", "-5"], ">= 1"),
    (["train", "--iterations", "1e3"], "expected a whole number, got '1e3'"),
    (["train", "--k-discriminator-steps", "0"], ">= 1"),
    (["train", "--batch-size", "0"], ">= 1"),
    (["train", "--batch-size", "abc"], "expected a whole number, got 'abc'"),
    (["train", "--batch-size", "100000000"], "expected at most 10,000,000"),
    (["train", "--seed", "-1"], "expected a whole number >= 0, got -1"),
    (["train", "--seed", "1.5"], "expected a whole number, got '1.5'"),
    (["train", "--keep-checkpoints", "-1"], "expected a whole number >= 0, got -1"),
    (["train", "--keep-checkpoints", "all"], "expected a whole number, got 'all'"),
    (["train", "--learning-rate", "0"], "> 0"),
    (["train", "--learning-rate=-1e-3"], "> 0"),
    (["train", "--learning-rate", "nan"], "finite"),
    (["train", "--learning-rate", "inf"], "finite"),
    (["train", "--learning-rate=-inf"], "finite"),
    (["train", "--learning-rate", "1e400"], "finite"),  # overflows to inf
    (["train", "--learning-rate", "fast"], "expected a number, got 'fast'"),
    (["train", "--iterations", "10", "--epochs", "2"], "not allowed with"),
    (["train", "--epochs", "2"], "preset ring8 trains on a stream of toy data and has no epochs; use --iterations"),
    (["train", "--generator-loss", "wasserstein"], "invalid choice"),
    (["train", "--noise", "cauchy"], "invalid choice"),
    (["train", "--dataset", "mnist"], "--dataset is for the image presets; ring8 trains on its toy distribution"),
    (["train", "--preset", "paper-mnist", "--batch-size", "50001"], "is more than the 50000 training images"),
    (["train", "--data-dir", "no/such/dir"], "no/such/dir does not exist"),
    (["train", "--data-dir", "afile"], "afile is not a directory"),
    (["train", "--data-dir", "."], "--data-dir is for MNIST and Fashion-MNIST; ring8 is generated"),
    (["train", "--out", "afile"], "--out afile is a file, not a run directory"),
    (["train", "--resume", "--out", "nowhere"], "nothing to resume: nowhere does not exist"),
    (["train", "--resume", "--out", "afile"], "nothing to resume: afile is not a directory"),
    (["train", "--resume", "--out", "{run}", "--batch-size", "99"], "batch_size cannot change"),
    (["train", "--resume", "--out", "{run}", "--preset", "grid25"], "preset cannot change (saved 'ring8', given 'grid25')"),
    (["train", "--resume", "--out", "{run}", "--iterations", "5"], "--resume can only train it further"),
    (["sample", "--checkpoint", "missing.npz", "-n", "3", "--out", "x.npy"], "does not exist"),
    (["sample", "--checkpoint", "missing.npz", "-n", "0", "--out", "x.npy"], ">= 1"),
    (["sample", "--checkpoint", "{toy}", "-n", "nan", "--out", "x.npy"], "expected a whole number, got 'nan'"),
    (["sample", "--checkpoint", "{toy}", "-n", "20000000", "--out", "x.npy"], "expected at most 10,000,000"),
    (["sample", "--checkpoint", "{toy}", "-n", "5", "--out", "no/such/dir/x.npy"],
     "cannot write no/such/dir/x.npy: the directory no/such/dir does not exist"),
    (["sample", "--checkpoint", "{toy}", "-n", "5", "--out", "."], "cannot write .: it is a directory"),
    (["sample", "--checkpoint", "{toy}", "-n", "5"], "the following arguments are required: --out"),
    (["evaluate", "modes", "--checkpoint", "missing.npz"], "does not exist"),
    (["evaluate", "modes", "--checkpoint", "{toy}", "--samples", "-3"], ">= 1"),
    (["evaluate", "parzen", "--checkpoint", "{toy}"], "needs an image checkpoint (MNIST or Fashion-MNIST)"),
    (["evaluate", "parzen", "--checkpoint", "{toy}", "--validation", "0"], ">= 1"),
    (["evaluate", "parzen", "--checkpoint", "{toy}", "--data-dir", "nowhere"], "nowhere does not exist"),
    (["figure", "saturation", "--out", "no/such/dir/f.png"], "does not exist"),
    (["figure", "1", "--out", "no/such/dir/f.png"], "the directory no/such/dir does not exist"),  # not after a run
    (["figure", "2", "--out", "f.png"], "figure 2 needs --checkpoint"),
    (["figure", "1", "--checkpoint", "{toy}"], "figure 1 takes no --checkpoint"),
    (["figure", "3", "--checkpoint", "{toy}", "--out", "f.png"], "figure 3 needs an image generator"),
    (["figure", "4"], "invalid choice"),
    (["gradcheck", "--seed", "x"], "expected a whole number, got 'x'"),
]


@pytest.mark.parametrize("argv, message", BAD_COMMAND_LINES, ids=[" ".join(argv) for argv, _ in BAD_COMMAND_LINES])
def test_bad_command_lines_exit_2_with_their_message_before_any_work(argv, message, capsys, tmp_path, monkeypatch,
                                                                      trained_run):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a directory")
    argv = [word.format(toy=trained_run / "checkpoint.npz", run=trained_run) for word in argv]
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's own errors
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    if not err.startswith("usage:"):  # our own checks: exactly one line
        assert err.startswith("npgan: error: ") and len(err.strip().splitlines()) == 1, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["afile"]  # nothing created: no runs/, no output
    assert not (trained_run / ".lock").exists()


@pytest.mark.parametrize("argv, missing", [([], "COMMAND"), (["evaluate"], "METRIC")])
def test_a_missing_command_names_what_is_missing(argv, missing, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert missing in capsys.readouterr().err


# -- the lock of a run directory -------------------------------------------------------------------

@pytest.fixture
def other_process():
    """A live process that is not this one (its PID is what a lock names)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def write_lock(directory, **owner):
    from npgan.runlock import _process_start

    directory.mkdir(exist_ok=True)
    pid = owner.get("pid")
    owner = {"host": socket.gethostname(), "process_start": _process_start(pid) if pid else None,
             "started": "2026-01-01 00:00:00", "token": "theirs", **owner}
    (directory / ".lock").write_text(json.dumps(owner))


def test_a_run_directory_in_use_is_refused_naming_the_process(tmp_path, capsys, other_process):
    out = tmp_path / "run"
    write_lock(out, pid=other_process.pid)
    assert main(["train", *TINY, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"in use by another npgan train (process {other_process.pid} on {socket.gethostname()}" in err
    assert f"kill {other_process.pid}" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # untouched, the lock still theirs
    assert json.loads((out / ".lock").read_text())["token"] == "theirs"
    assert main(["train", "--resume", "--out", str(out), "--no-progress"]) == 2  # --resume too
    assert f"process {other_process.pid}" in capsys.readouterr().err


def test_the_lock_of_a_dead_process_is_taken_over_with_a_note(tmp_path, capsys, other_process):
    out = tmp_path / "run"
    other_process.kill()
    other_process.wait()
    write_lock(out, pid=other_process.pid)
    assert main(["train", *TINY, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"note: took over the lock of process {other_process.pid}" in err
    assert not (out / ".lock").exists()  # released at the end


def test_a_reused_pid_is_not_mistaken_for_the_owner(tmp_path, capsys, other_process):
    out = tmp_path / "run"
    write_lock(out, pid=other_process.pid, process_start=1)  # the PID now runs another process
    assert main(["train", *TINY, "--out", str(out)]) == 0
    assert "took over the lock" in capsys.readouterr().err


def test_a_lock_from_another_host_or_unreadable_is_never_taken_over(tmp_path, capsys, monkeypatch):
    import npgan.runlock

    out = tmp_path / "run"
    write_lock(out, pid=12345, host="elsewhere")
    assert main(["train", *TINY, "--out", str(out)]) == 2
    assert f"it runs on another host; if it is no longer running, delete {out / '.lock'}" in capsys.readouterr().err
    monkeypatch.setattr(npgan.runlock, "_UNREADABLE_RETRIES", 2)
    (out / ".lock").write_text("")
    assert main(["train", *TINY, "--out", str(out)]) == 2
    assert "is not a readable npgan lock; if no npgan train is running" in capsys.readouterr().err


def test_the_lock_is_exclusive_and_a_directory_it_made_is_removed_when_unused(tmp_path):
    from npgan.runlock import RunLock, RunLocked

    out = tmp_path / "new"
    first = RunLock(str(out))
    assert first.acquire() is None
    with pytest.raises(RunLocked, match=f"process {os.getpid()}"):
        RunLock(str(out)).acquire()
    first.release()
    assert not out.exists()  # created for the lock, nothing written: removed
    with RunLock(str(out)):
        (out / "config.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_the_lock_is_released_and_the_handlers_restored_on_every_way_out(tmp_path, capsys, monkeypatch):
    """Success, divergence, a failing write, an interruption, a second signal: afterwards no
    .lock, and SIGINT/SIGTERM have the handlers they had before (ours only while training)."""
    import npgan.run

    real_train_run = npgan.run.train_run
    during = []
    action = {}

    def watched_train_run(trainer, out, **options):
        during.append({number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)})
        assert os.path.exists(os.path.join(out, ".lock"))

        def progress(done, values):
            if done == 7 and action.get("signals"):
                for number in action["signals"]:
                    os.kill(os.getpid(), number)
        return real_train_run(trainer, out, **{**options, "progress": progress})

    monkeypatch.setattr(npgan.run, "train_run", watched_train_run)

    def sentinel(number, frame):
        raise AssertionError("the previous handler ran")

    before = {number: signal.signal(number, sentinel) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        cases = [
            ([], 0, "done"),
            (["--learning-rate", "1e300"], 1, "training diverged: parameter D.0.W became inf at iteration 1"),
            (["--signals", signal.SIGINT], 130, "SIGINT: stopped after iteration 7 of 30"),
            (["--signals", signal.SIGTERM, signal.SIGTERM], 143, "a second SIGTERM: stopped at once"),
        ]
        for index, (options, code, message) in enumerate(cases):
            action["signals"] = options[1:] if options[:1] == ["--signals"] else None
            argv = ["train", *TINY, "--out", str(tmp_path / str(index)), *(options if not action["signals"] else [])]
            assert main(argv) == code, capsys.readouterr().err
            captured = capsys.readouterr()
            assert message in captured.out + captured.err
            assert not (tmp_path / str(index) / ".lock").exists()
            assert signal.getsignal(signal.SIGINT) is sentinel and signal.getsignal(signal.SIGTERM) is sentinel
        assert all(handler is not sentinel for handlers in during for handler in handlers.values())
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def test_a_damaged_metrics_file_refuses_the_resume_in_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    (out / "metrics.jsonl").write_text('{"iteration": 30}\n[]\n{"iteration": 30}\n')
    assert main(["train", "--resume", "--out", str(out), "--iterations", "40", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"npgan: error: {out / 'metrics.jsonl'}: line 2 is not a metrics record; the file is damaged "
                       "(move it away to resume without the earlier metrics)")
    assert not (out / ".lock").exists()
    assert json.loads((out / "config.json").read_text())["iterations"] == 30  # untouched


def test_a_write_that_fails_during_training_exits_1_and_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    """A full disk at the second checkpoint: exit 1 with one line, the first checkpoint intact,
    no temporary file, the lock released; the printed resume command continues the run."""
    import npgan.checkpoint
    import npgan.models

    monkeypatch.setitem(npgan.models.PRESETS["ring8"], "checkpoint_every", 10)
    real_savez = npgan.checkpoint.np.savez
    saves = []

    def savez_that_fills_the_disk(handle, **entries):
        saves.append(1)
        if len(saves) == 2:
            handle.write(b"PK\x03\x04 part of a zip")
            raise OSError(28, "No space left on device")
        real_savez(handle, **entries)

    monkeypatch.setattr(npgan.checkpoint.np, "savez", savez_that_fills_the_disk)
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("npgan: error: training stopped: cannot write into") and "No space left on device" in err
    assert f"Resume with: npgan train --resume --out {out}" in err
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "config.json", "metrics.jsonl", "samples.png"]
    assert load_checkpoint(out / "checkpoint.npz").state["iteration"] == 10
    monkeypatch.setattr(npgan.checkpoint.np, "savez", real_savez)
    assert main(["train", "--resume", "--out", str(out), "--no-progress"]) == 0
    assert load_checkpoint(out / "checkpoint.npz").state["iteration"] == 30


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
@pytest.mark.parametrize("learning_rate, quantity", [("1e300", "parameter D.0.W became inf at iteration 1 (the D step)"),
                                                     ("1e30", "the G loss became nan at iteration 1")])
def test_an_absurd_learning_rate_exits_1_naming_the_quantity_and_the_hint(tmp_path, capsys, learning_rate, quantity):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--optimizer", "momentum", "--learning-rate", learning_rate, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "RuntimeWarning" not in err
    line = err.strip().splitlines()[-1]
    assert line == (f"npgan: training diverged: {quantity}; no checkpoint had been written yet. Start again with "
                    f"a lower --learning-rate (this run: {float(learning_rate):g}).")
    assert not (out / "checkpoint.npz").exists() and not (out / ".lock").exists()


def test_divergence_after_a_checkpoint_keeps_it_and_says_so(tmp_path, capsys, monkeypatch):
    """A gradient poisoned at iteration 25: exit 1 naming it; the checkpoint of iteration 20 is kept."""
    import npgan.gan
    import npgan.models

    monkeypatch.setitem(npgan.models.PRESETS["ring8"], "checkpoint_every", 10)
    real = npgan.gan.GAN.discriminator_gradients
    calls = []

    def poisoned(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 25:
            self.discriminator.grads["0.b"][3] = np.nan
        return result

    monkeypatch.setattr(npgan.gan.GAN, "discriminator_gradients", poisoned)
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert ("training diverged: the gradient of D.0.b became NaN at iteration 25 (the D step; it changed no "
            f"parameter); the last good checkpoint is kept in {out / 'checkpoint.npz'}") in err
    kept = load_checkpoint(out / "checkpoint.npz")
    assert kept.state["iteration"] == 20
    assert all(np.isfinite(value).all() for value in kept.arrays.values() if value.dtype.kind == "f")
