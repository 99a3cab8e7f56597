"""Attacks on the lock, the signals around it, the sweep directory and the command line
(issue 17, items 6, 8, 9, 10, 11, 14, 16): each refused or survived with one line on
stderr that starts with "npgan:", the exit code docs/troubleshooting.md gives, no traceback, and
nothing left behind (no .lock, no temporary file, another sweep's results untouched)."""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import npgan.runlock
from npgan import sweep
from npgan.cli import build_parser, main
from npgan.runlock import RunLock
from tests.cli_checks import assert_one_npgan_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--preset", "ring8", "--iterations", "5", "--batch-size", "16", "--no-progress"]


# `python -m npgan` with every write past N bytes failing (EFBIG; SIGXFSZ ignored): a full disk,
# portably (no mount, no root). Set inside the child, not by a preexec_fn (unsafe with threads).
FILE_SIZE_LIMITED = """
import resource, runpy, signal, sys
limit = int(sys.argv.pop(1))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
runpy.run_module("npgan", run_name="__main__", alter_sys=True)
"""


def run_npgan(args, cwd, *, code=None, file_size_limit=None, env=None, timeout=120):
    """`python -m npgan args` (or ``python -c code args``) in ``cwd``, with every write past
    file_size_limit bytes failing if given."""
    if file_size_limit is not None:
        code, args = FILE_SIZE_LIMITED, [str(file_size_limit), *args]
    command = [sys.executable, *(["-c", code] if code else ["-m", "npgan"]), *args]
    environment = {**os.environ, "PYTHONPATH": ROOT, **(env or {})}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environment)


def leftovers(directory):
    return sorted(path for path in os.listdir(directory) if path.endswith(".tmp") or path == ".lock")


# -- item 6: taking over a stale lock is atomic ----------------------------------------------------

# Run in a fresh single-threaded Python (forking pytest, whose other tests may have left threads
# holding locks, could deadlock a child): ``trials`` times, ``racers`` forked processes take the
# same stale lock at once, each holding what it got until all have tried; prints the number of
# winners of each trial. The jitter models a racer descheduled between its look and its move.
RACE = """
import json, os, random, socket, sys, time
import npgan.runlock
from npgan.runlock import RunLock, RunLocked

real_is_running = npgan.runlock._is_running
def preempted_is_running(owner):
    running = real_is_running(owner)
    time.sleep(random.random() * 0.002)
    return running
npgan.runlock._is_running = preempted_is_running

def race(directory, racers):
    stale = {"pid": 2**22 + 17, "host": socket.gethostname(), "process_start": 1, "token": "stale"}
    with open(os.path.join(directory, ".lock"), "w") as handle:
        json.dump(stale, handle)
    start_read, start_write = os.pipe()
    result_read, result_write = os.pipe()
    done_read, done_write = os.pipe()
    children = []
    for _ in range(racers):
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                os.close(start_write)
                os.close(done_write)
                os.read(start_read, 1)  # all start together
                lock = RunLock(directory)
                try:
                    lock.acquire()
                    outcome = b"W"
                except RunLocked:
                    outcome = b"L"
                os.write(result_write, outcome)
                os.read(done_read, 1)  # hold it until every racer has tried
                lock.release()
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        children.append(pid)
    for descriptor in (start_read, result_write, done_read):
        os.close(descriptor)
    os.close(start_write)  # go
    outcomes = b""
    while len(outcomes) < racers:
        chunk = os.read(result_read, racers)
        if not chunk:
            raise SystemExit("a racer died")
        outcomes += chunk
    os.close(done_write)
    os.close(result_read)
    if any(os.waitpid(pid, 0)[1] for pid in children):
        raise SystemExit("a racer failed")
    if os.listdir(directory):
        raise SystemExit(f"left behind: {os.listdir(directory)}")
    return outcomes.count(b"W")

root, trials, racers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
winners = []
for trial in range(trials):
    directory = os.path.join(root, str(trial))
    os.mkdir(directory)
    winners.append(race(directory, racers))
print(json.dumps(winners))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks racers")
def test_racing_takeovers_of_a_stale_lock_have_exactly_one_winner(tmp_path):
    """Before: read, is-running check, remove, create: two or more winners in 2 of 60 trials,
    in every trial with the jitter. Each winner's lock is released and nothing is left."""
    completed = run_npgan([str(tmp_path), "40", "4"], tmp_path, code=RACE)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == [1] * 40


# -- item 8: a full disk at lock creation -----------------------------------------------------------

def test_a_full_disk_at_lock_creation_leaves_nothing_exits_1_and_the_next_run_trains(tmp_path):
    """Before: a 0-byte .lock, exit 2, and every later run told the lock is unreadable."""
    existing = tmp_path / "existing"
    existing.mkdir()
    for out in (existing, tmp_path / "new"):
        completed = run_npgan(["train", *TINY, "--out", str(out)], tmp_path, file_size_limit=0)
        assert completed.returncode == 1, completed.stderr
        assert_one_npgan_line(completed.stderr, f"cannot write the lock {out / '.lock'}", "free some space")
    assert leftovers(existing) == [] and not os.listdir(existing)
    assert not (tmp_path / "new").exists()  # made for the lock, so removed with it
    assert main(["train", *TINY, "--out", str(existing)]) == 0


def test_the_lock_is_whole_when_it_exists(tmp_path):
    with RunLock(str(tmp_path)) as lock:
        owner = json.loads((tmp_path / ".lock").read_text())
        assert owner["pid"] == os.getpid() and owner["token"] == lock._identity["token"]
        assert (tmp_path / ".lock").stat().st_mode & 0o777 == 0o644
        assert os.listdir(tmp_path) == [".lock"]
    assert os.listdir(tmp_path) == []


# -- item 9: locks that are not what they claim --------------------------------------------------------

def test_a_lock_naming_an_impossible_pid_is_taken_over_with_a_note(tmp_path, capsys):
    """Before: OverflowError from os.kill, a traceback."""
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"pid": 99999999999, "host": socket.gethostname()}))
    assert main(["train", *TINY, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "npgan: note: took over the lock of process 99999999999" in err and "Traceback" not in err
    assert not (out / ".lock").exists()


@pytest.mark.parametrize("content", ["[" * 100000 + "]" * 100000, '{"pid": true, "host": "x"}',
                                     '{"pid": "5", "host": "x"}', " " * 100 + "x" * 100000],
                         ids=["deeply nested", "pid true", "pid a string", "long"])
def test_an_unreadable_lock_is_refused_in_one_line(tmp_path, capsys, monkeypatch, content):
    monkeypatch.setattr(npgan.runlock, "_UNREADABLE_RETRIES", 1)
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text(content)
    assert main(["train", *TINY, "--out", str(out)]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "is not a readable npgan lock", "delete it")
    assert (out / ".lock").read_text() == content


def test_a_fifo_as_the_lock_is_refused_without_waiting_on_it(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    os.mkfifo(out / ".lock")
    completed = run_npgan(["train", *TINY, "--out", str(out)], tmp_path, timeout=30)
    assert completed.returncode == 2
    assert_one_npgan_line(completed.stderr, "is not a readable npgan lock")


# -- item 9: the environment, the scheduler, a full file system under a sweep, SIGINT at import ----------

@pytest.mark.parametrize("value", ["bogus", "numba-please"])
def test_a_bad_kernel_backend_in_the_environment_is_one_line(tmp_path, value):
    """Before: a ValueError traceback from the import of npgan.kernels.backend."""
    completed = run_npgan(["train", *TINY], tmp_path, env={"NPGAN_KERNELS": value})
    assert completed.returncode == 2
    assert_one_npgan_line(completed.stderr, f"NPGAN_KERNELS: unknown kernel backend '{value}'; valid: numpy, numba")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("address, message", [
    ("foo://bar:1", "unknown address scheme 'foo'"),
    ("tcp://10.0.0.5", "no host and port"),
    ("tcp://10.0.0.5:http", "no host and port"),
    ("", "--scheduler is empty"),
])
def test_a_scheduler_address_dask_cannot_use_is_refused_before_out_is_made(tmp_path, capsys, address, message):
    """Before: foo:// made --out, then a ValueError traceback from distributed."""
    pytest.importorskip("distributed")
    out = tmp_path / "sweep"
    code = main(["sweep", "--preset", "ring8", "--seeds", "0", "--scheduler", address, "--out", str(out)])
    assert code == 2
    assert_one_npgan_line(capsys.readouterr().err, message)
    assert not out.exists()


def _in_process_cluster(monkeypatch):
    """The sweep's runs in this process (run_one itself), instead of on Dask workers."""
    import npgan.cli_train

    monkeypatch.setattr(npgan.cli_train, "_sweep_on_cluster", lambda args, runs, sweep: [sweep.run_one(run)
                                                                                         for run in runs])


SWEEP = ["sweep", "--preset", "ring8", "--iterations", "5", "--no-progress"]


def test_a_sweep_on_a_full_file_system_is_one_line_and_leaves_no_temporary_file(tmp_path, monkeypatch, capsys):
    """Before: an OSError traceback from writing results.csv."""
    pytest.importorskip("distributed")
    _in_process_cluster(monkeypatch)
    out = tmp_path / "sweep"
    assert main([*SWEEP, "--seeds", "0", "--out", str(out)]) == 0
    capsys.readouterr()
    before = {name: (out / name).read_bytes() for name in ("results.csv", "summary.md")}
    completed = run_npgan([*SWEEP, "--seeds", "0", "--out", str(out)], tmp_path, file_size_limit=0)  # all done
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert lines[0].startswith("sweep ring8: 1 runs (1 already done)")
    assert_one_npgan_line(lines[-1], f"cannot write the sweep's results into {out}", "run the same command again")
    assert {name: (out / name).read_bytes() for name in before} == before
    assert leftovers(out) == []
    # A new sweep directory on a full file system: nothing run, nothing left.
    completed = run_npgan([*SWEEP, "--seeds", "0", "--out", str(tmp_path / "new")], tmp_path, file_size_limit=0)
    assert completed.returncode == 1
    assert_one_npgan_line(completed.stderr, "cannot write into the sweep directory", "nothing was run")
    assert not (tmp_path / "new").exists()


# A Ctrl-C that arrives while Python imports a module of the command line (simulated exactly
# there by a finder that sends SIGINT to the process when the module is looked up).
SIGINT_AT_IMPORT = """
import os, runpy, signal, sys
target = sys.argv.pop(1)
class SigintAt:
    def find_spec(self, name, path=None, target_module=None):
        if name == target:
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, SigintAt())
runpy.run_module("npgan", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("module, message", [
    ("npgan.cli", "npgan: interrupted"),                  # python -m npgan importing the command line
    ("npgan.models", "npgan: interrupted"),               # building the parser
    ("npgan.run", "npgan: SIGINT: stopped before training started"),  # under the lock
])
def test_sigint_during_imports_is_one_line_and_exit_130(tmp_path, module, message):
    """Before: a KeyboardInterrupt traceback for the first two."""
    completed = run_npgan([module, "train", *TINY, "--out", "run"], tmp_path, code=SIGINT_AT_IMPORT)
    assert completed.returncode == 130
    assert_one_npgan_line(completed.stderr, message)
    assert not (tmp_path / "run").exists()


# -- item 10: SIGTERM between taking the lock and training --------------------------------------------

SIGTERM_AT_DATA = """
import os, signal, sys
import npgan.cli_train
real_dataset_for = npgan.cli_train.dataset_for
def dataset_for(*args, **options):  # the moment between the lock and the training
    os.kill(os.getpid(), signal.SIGTERM)
    return real_dataset_for(*args, **options)
npgan.cli_train.dataset_for = dataset_for
from npgan.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_before_training_starts_releases_the_lock_and_exits_143(tmp_path):
    """Before: the process died of the signal (exit -15), silently, and left .lock."""
    new, existing = tmp_path / "new", tmp_path / "existing"
    existing.mkdir()
    for out in (new, existing):
        completed = run_npgan(["train", *TINY, "--out", str(out)], tmp_path, code=SIGTERM_AT_DATA)
        assert completed.returncode == 143, completed.stderr
        assert_one_npgan_line(completed.stderr, "npgan: SIGTERM: stopped before training started",
                              f"the lock of {out} is released")
    assert not new.exists() and os.listdir(existing) == []


def test_under_the_lock_signals_raise_and_are_held_back_while_the_lock_is_removed():
    from npgan.interrupt import ExitOnSignals, SignalStop

    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with ExitOnSignals() as guard:
        with pytest.raises(SignalStop):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        done = []
        with pytest.raises(SignalStop):
            with guard.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                done.append("the block ran to its end")
        assert done == ["the block ran to its end"]
    assert {number: signal.getsignal(number) for number in before} == before
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with ExitOnSignals():  # ignored stays ignored
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- item 11: a sweep into another sweep's --out ---------------------------------------------------------

def test_a_sweep_into_another_sweeps_out_is_refused_and_the_same_sweep_resumes(tmp_path, monkeypatch, capsys):
    """Before: the second sweep ran and replaced the first one's results.csv and summary.md."""
    pytest.importorskip("distributed")
    _in_process_cluster(monkeypatch)
    out = tmp_path / "sweep"
    assert main([*SWEEP, "--seeds", "0-1", "--out", str(out)]) == 0
    capsys.readouterr()
    record = json.loads((out / "sweep.json").read_text())
    assert record["preset"] == "ring8" and sorted(record["runs"]) == ["seed-0", "seed-1"]
    kept = {name: (out / name).read_bytes() for name in ("results.csv", "summary.md", "sweep.json")}

    for other, difference in [(["--seeds", "2"], "its runs seed-0, seed-1 are not in this sweep"),
                              (["--seeds", "0"], "its run seed-1 is not in this sweep"),
                              (["--seeds", "0-2"], "this sweep's run seed-2 is not in it"),
                              (["--seeds", "0-1", "--grid", "learning_rate=0.01"], "not in this sweep")]:
        assert main([*SWEEP, *other, "--out", str(out)]) == 2
        assert_one_npgan_line(capsys.readouterr().err, f"{out} holds the sweep of `npgan sweep", difference,
                              "sweep into another --out")
    assert main([*SWEEP[:4], "6", "--no-progress", "--seeds", "0-1", "--out", str(out)]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "run seed-0 has another configuration (iterations differ)")
    assert {name: (out / name).read_bytes() for name in kept} == kept
    assert sorted(os.listdir(out)) == ["results.csv", "seed-0", "seed-1", "summary.md", "sweep.json"]

    # The same sweep, its seeds written otherwise: resumed (nothing to run), its results rewritten.
    assert main([*SWEEP, "--seeds", "1,0", "--out", str(out)]) == 0
    assert "2 runs (2 already done)" in capsys.readouterr().err
    # A sweep directory of an npgan before sweep.json: its results.csv names its runs.
    os.remove(out / "sweep.json")
    assert main([*SWEEP, "--seeds", "1", "--out", str(out)]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "holds the results.csv of another sweep")
    assert main([*SWEEP, "--seeds", "0-1", "--out", str(out)]) == 0


# -- item 14: --seeds in linear time ---------------------------------------------------------------------

def test_sixty_thousand_seeds_are_refused_at_once_in_a_short_line():
    """Before: 33 s of CPU (a count() per seed) to accept them, a message of 350,000 characters."""
    text = ",".join(f"{start}-{start + 9999}" for start in range(0, 60000, 10000))
    started = time.process_time()
    with pytest.raises(ValueError, match="more than 10000 seeds") as refused:
        sweep.parse_seeds(text)
    assert time.process_time() - started < 2.0  # linear: milliseconds; the quadratic check took 33 s
    assert len(str(refused.value)) < 200
    listed = ",".join(map(str, range(60000)))
    with pytest.raises(ValueError, match="more than 10000 seeds") as refused:
        sweep.parse_seeds(listed)
    assert len(str(refused.value)) < 200


def test_a_repeated_seed_among_ten_thousand_is_named():
    seeds = list(range(10000))
    assert sweep.parse_seeds(",".join(map(str, seeds))) == seeds
    with pytest.raises(ValueError, match="seed 17 is given twice"):
        sweep.parse_seeds(",".join(map(str, range(9999))) + ",17")
    with pytest.raises(ValueError, match="seed 9000 is given twice"):
        sweep.parse_seeds("0-9000,9000")


def test_sixty_thousand_seeds_on_the_command_line_are_one_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    seeds = ",".join(map(str, range(60000)))
    assert main([*SWEEP, "--seeds", seeds, "--out", str(tmp_path / "sweep")]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "more than 10000 seeds")
    assert not (tmp_path / "sweep").exists()


# -- item 16: every rejection of every parser is one line -------------------------------------------------

def _parsers(parser, prefix=()):
    """(words, parser) of the top-level parser and every subcommand's, recursively."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from _parsers(subparser, prefix + (name,))


ALL_PARSERS = [words for words, _ in _parsers(build_parser())]


def test_every_command_has_a_parser_of_npgans_kind():
    from npgan.cli_options import ArgumentParser

    parsers = dict(_parsers(build_parser()))
    assert {"train", "sweep", "sample", "export", "figure", "gradcheck"} <= {words[0] for words in parsers if words}
    assert all(isinstance(parser, ArgumentParser) for parser in parsers.values())


@pytest.mark.parametrize("words", ALL_PARSERS, ids=[" ".join(words) or "npgan" for words in ALL_PARSERS])
def test_an_unknown_option_is_one_line_and_exit_2_for_every_command(words, capsys):
    """Before: a usage block of up to 16 lines, then "npgan train: error: ..."."""
    with pytest.raises(SystemExit) as exit_info:
        main([*words, "--no-such-option"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert_one_npgan_line(err, "npgan: error: ")
    assert "usage:" not in err


@pytest.mark.parametrize("argv, message", [
    (["train", "--iterations", "0"], "argument --iterations: expected a whole number >= 1, got 0 "
                                     "(see npgan train --help)"),
    (["train", "--preset", "nope"], "argument --preset: invalid choice: 'nope'"),
    (["train", "--iterations", "3", "--epochs", "1"], "not allowed with argument"),
    (["sweep"], "the following arguments are required: --preset (see npgan sweep --help)"),
    (["evaluate"], "the following arguments are required: METRIC (see npgan evaluate --help)"),
    (["evaluate", "modes", "--samples", "x"], "(see npgan evaluate modes --help)"),
    (["figure", "4"], "argument name: invalid choice: '4'"),
    (["sample", "-n", "3"], "the following arguments are required: --checkpoint, --out"),
    ([], "the following arguments are required: COMMAND (see npgan --help)"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_argparse_rejections_say_what_and_where_to_look(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert_one_npgan_line(capsys.readouterr().err, message)


def test_help_still_prints_the_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: npgan train")


# -- --out '' -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["train", *TINY, "--out", ""], "argument --out: the path is empty"),
    (["sweep", "--preset", "ring8", "--out", ""], "argument --out: the path is empty"),
])
def test_an_empty_output_path_is_refused(argv, message, tmp_path, monkeypatch, capsys):
    """Before: `npgan train --out ''` trained into runs/ring8-0."""
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    assert code == 2
    assert_one_npgan_line(capsys.readouterr().err, message)
    assert os.listdir(tmp_path) == []
