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
    assert "73 checks, all passed" in out
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


def test_evaluate_modes_json(trained_run, capsys):
    assert main(["evaluate", "modes", "--checkpoint", str(trained_run / "checkpoint.npz"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["num_modes"] == 8 and result["n_samples"] == 2500
    assert 0 <= result["modes_captured"] <= 8 and 0 <= result["high_quality_fraction"] <= 1


@pytest.mark.parametrize("argv, message", [
    (["train", "--preset", "mnist-huge"], "invalid choice"),
    (["train", "--iterations", "0"], ">= 1"),
    (["train", "--iterations", "-5"], ">= 1"),
    (["train", "--k-discriminator-steps", "0"], ">= 1"),
    (["train", "--batch-size", "0"], ">= 1"),
    (["train", "--learning-rate", "0"], "> 0"),
    (["train", "--learning-rate=-1e-3"], "> 0"),
    (["train", "--learning-rate", "nan"], "finite"),
    (["train", "--learning-rate", "inf"], "finite"),
    (["train", "--iterations", "10", "--epochs", "2"], "not allowed with"),
    (["train", "--generator-loss", "wasserstein"], "invalid choice"),
    (["sample", "--checkpoint", "missing.npz", "-n", "3", "--out", "x.npy"], "does not exist"),
    (["sample", "--checkpoint", "missing.npz", "-n", "0", "--out", "x.npy"], ">= 1"),
    (["evaluate", "modes", "--checkpoint", "missing.npz"], "does not exist"),
    (["figure", "saturation", "--out", "no/such/dir/f.png"], "does not exist"),
])
def test_bad_invocations_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's own errors
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_epochs_on_a_toy_preset_is_refused(capsys, tmp_path):
    assert main(["train", "--epochs", "2", "--out", str(tmp_path / "r")]) == 2
    assert "--iterations" in capsys.readouterr().err


@pytest.mark.parametrize("argv, missing", [([], "COMMAND"), (["evaluate"], "METRIC")])
def test_a_missing_command_names_what_is_missing(argv, missing, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert missing in capsys.readouterr().err
