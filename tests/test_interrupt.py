"""SIGINT and SIGTERM in a real `npgan train` process: it finishes the iteration under way,
writes a checkpoint, prints the command that resumes it and exits 130 / 143; that command then
ends the run with every array of its checkpoint (parameters, optimizer state), its random
streams and its metrics bit-identical to an uninterrupted run of the same seed."""

import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from npgan.checkpoint import load_checkpoint
from npgan.cli import main

ITERATIONS = 1200
ARGS = ["train", "--preset", "ring8", "--iterations", str(ITERATIONS), "--batch-size", "16", "--seed", "4",
        "--no-progress"]
# One BLAS thread in every run: the same arithmetic in the same order, so bit-identical results.
ENVIRONMENT = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TIMING_KEYS = ("elapsed_seconds", "peak_rss_mb")


def npgan(*words):
    return [sys.executable, "-m", "npgan", *words]


def metrics(out):
    records = [json.loads(line) for line in open(out / "metrics.jsonl")]
    return [{key: value for key, value in record.items() if key not in TIMING_KEYS} for record in records]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    completed = subprocess.run(npgan(*ARGS, "--out", str(out)), env=ENVIRONMENT, capture_output=True, text=True,
                               timeout=600)
    assert completed.returncode == 0, completed.stderr
    return out


def wait_until(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("signal_number, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_checkpoints_and_the_resumed_run_is_bit_identical(tmp_path, capsys, uninterrupted, signal_number,
                                                                  exit_code):
    out = tmp_path / "run"
    process = subprocess.Popen(npgan(*ARGS, "--out", str(out)), env=ENVIRONMENT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        # training has begun (handlers installed) once metrics.jsonl exists; its first line is
        # iteration 250 of 1,200, then a random moment (the next 950 iterations take over 1 s)
        wait_until(lambda: (out / "metrics.jsonl").exists() or process.poll() is not None)
        # meanwhile a second npgan train into the same directory is refused, naming this one
        assert main(["train", "--resume", "--out", str(out), "--no-progress"]) == 2
        assert f"in use by another npgan train (process {process.pid} on" in capsys.readouterr().err
        wait_until(lambda: (out / "metrics.jsonl").stat().st_size > 0 or process.poll() is not None)
        delay = random.uniform(0.0, 0.5)
        time.sleep(delay)
        process.send_signal(signal_number)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    name = signal.Signals(signal_number).name
    assert process.returncode == exit_code, (delay, stderr)
    assert "Traceback" not in stderr
    found = re.search(rf"npgan: {name}: stopped after iteration (\d+) of {ITERATIONS}; checkpoint written to "
                      rf"(\S+)\. Resume with: (.+)$", stderr.strip())
    assert found, stderr
    stopped_at = int(found.group(1))
    assert 250 <= stopped_at < ITERATIONS
    assert found.group(2) == str(out / "checkpoint.npz")
    assert load_checkpoint(out / "checkpoint.npz").state["iteration"] == stopped_at
    assert all(record["iteration"] <= stopped_at for record in metrics(out))  # no line past the checkpoint
    assert not (out / ".lock").exists()

    resume = shlex.split(found.group(3))
    assert resume == ["npgan", "train", "--resume", "--out", str(out)]
    completed = subprocess.run(npgan(*resume[1:], "--no-progress"), env=ENVIRONMENT, capture_output=True,
                               text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    assert f"resuming after iteration {stopped_at}" in completed.stderr  # continued, did not start again

    mine, theirs = load_checkpoint(out / "checkpoint.npz"), load_checkpoint(uninterrupted / "checkpoint.npz")
    assert sorted(mine.arrays) == sorted(theirs.arrays)
    for key, value in theirs.arrays.items():  # parameters and both optimizers' state
        assert mine.arrays[key].dtype == value.dtype and np.array_equal(mine.arrays[key], value), (key, stopped_at)
    assert mine.state["iteration"] == theirs.state["iteration"] == ITERATIONS
    assert mine.state["random_streams"] == theirs.state["random_streams"]
    assert metrics(out) == metrics(uninterrupted)  # the same window means, diversities and warnings
    assert mine.config == theirs.config
    print(f"{name} after iteration {stopped_at} (delay {delay:.2f} s): resumed, bit-identical")
