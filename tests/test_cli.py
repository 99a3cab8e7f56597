"""The command line: `npgan gradcheck`, its table, its JSON, its exit codes."""

import json
import subprocess
import sys

import pytest

import npgan.gradcheck
from npgan.cli import main
from npgan.gradcheck import CheckResult


def test_gradcheck_prints_a_table_and_exits_0(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["check", "parameter", "rel_error", "threshold", "skipped"]
    assert "sequential G step [non-saturating]" in out
    assert "49 checks, all passed" in out
    assert "FAIL" not in out


def test_gradcheck_json_through_python_dash_m():
    completed = subprocess.run([sys.executable, "-m", "npgan", "gradcheck", "--json", "--seed", "3"],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    rows = json.loads(completed.stdout)
    assert {"check", "parameter", "rel_error", "threshold", "ok"} <= set(rows[0])
    assert all(row["ok"] and row["rel_error"] <= row["threshold"] for row in rows)
    assert {row["check"] for row in rows} >= {"Linear", "ReLU", "Sigmoid", "Maxout", "Dropout",
                                              "discriminator_loss", "sequential D step"}


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
