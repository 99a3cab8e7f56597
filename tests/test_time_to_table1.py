"""benchmarks/time_to_table1.py end to end on 100 iterations: the stopping rule reads validation only,
the report and the checkpoint of the stop are what the docs say, and the figure is drawn from the
report. (A threshold far below the first estimate stops it there: the real budget is the
benchmark's, not the suite's.)"""

import json
import os
import sys

import numpy as np
import pytest

from conftest import mnist_dir

BENCHMARKS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "benchmarks"))


@pytest.fixture(scope="module")
def time_to_table1():
    """benchmarks/time_to_table1.py as a module (its import of benchlib needs the folder on sys.path)."""
    sys.path.insert(0, BENCHMARKS)
    try:
        import time_to_table1
    finally:
        sys.path.remove(BENCHMARKS)
    return time_to_table1


@pytest.fixture(scope="module")
def report(time_to_table1, tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("time-to-table1")
    code = time_to_table1.main(["--preset", "mnist-fast", "--seeds", "3", "--threshold", "-1000",
                                "--evaluate-every", "100", "--validation-rows", "2000", "--data-dir", mnist_dir(),
                                "--out", str(out / "runs"), "--json", str(out / "report.json"),
                                "--figure", str(out / "curve.png")])
    with open(out / "report.json") as handle:
        return code, json.load(handle), out


def test_stops_at_the_first_estimate_on_validation_that_reaches_the_threshold(report):
    code, data, _ = report
    (seed,) = data["seeds"]
    assert seed["seed"] == 3 and seed["stopped_by"] == "threshold" and seed["epochs"] == 0.2  # 100 of 500 iterations
    assert len(seed["curve"]) == 1 and seed["curve"][0]["stopping_estimate"] >= -1000
    # a fifth of an epoch of mnist-fast is far from Table 1: the test estimate says so, and so does the exit code
    assert seed["test"] == seed["curve"][0]["test"] < 225 and seed["reached_table1"] is False and code == 1
    assert 0 < seed["training_minutes"] and seed["evaluation_seconds"] > 0
    assert data["reference"]["test"] == pytest.approx(241.2, abs=0.5)  # the real-data row of Table 1's procedure
    assert data["command"].startswith("python benchmarks/time_to_table1.py --preset mnist-fast")


def test_the_stop_is_saved_as_a_checkpoint_the_evaluation_commands_take(report):
    from npgan.checkpoint import load_checkpoint

    _, data, out = report
    checkpoint = load_checkpoint(str(out / "runs" / "seed-3" / "checkpoint.npz"))
    assert checkpoint.state["iteration"] == 100 and checkpoint.config["preset"] == "mnist-fast"
    assert checkpoint.state["elapsed_seconds"] == pytest.approx(data["seeds"][0]["training_minutes"] * 60, abs=0.1)
    assert np.all(np.isfinite(checkpoint.arrays["G.0.W"]))


def test_the_figure_is_drawn_and_redrawn_from_the_report(report, tmp_path):
    _, _, out = report
    with open(out / "curve.png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    import subprocess
    redrawn = tmp_path / "again.png"
    subprocess.run([sys.executable, os.path.join(BENCHMARKS, "time_to_table1.py"), "--from-json",
                    str(out / "report.json"), "--figure", str(redrawn)], check=True, capture_output=True)
    assert redrawn.stat().st_size > 10000


def test_an_evaluation_interval_below_one_iteration_is_a_usage_error(time_to_table1, capsys):
    with pytest.raises(SystemExit) as stopped:
        time_to_table1.main(["--evaluate-every", "0", "--data-dir", "/nonexistent"])
    assert stopped.value.code == 2 and "--evaluate-every must be at least 1, got 0" in capsys.readouterr().err


def test_a_seed_whose_child_fails_is_reported_as_failed_and_the_others_go_on(time_to_table1):
    """Each seed trains in a child process; one that exits with an error (here: a data directory
    that is not there) becomes a failed entry, not a crash of the whole benchmark."""
    result = time_to_table1.seed_in_child(4, ["--data-dir", "/nonexistent/mnist"])
    assert result == {"seed": 4, "stopped_by": "failed", "exit_status": 2, "reached_table1": False, "curve": []}
