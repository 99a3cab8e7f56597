"""`npgan sweep`: seeds and grids parsed and expanded; bad options refused before any work (exit 2,
one line); the runs on a scheduler and two workers started on 127.0.0.1 here; a diverging run
recorded without stopping the others; re-running skips finished runs; results.csv and summary.md;
the local cluster's workers with BLAS pinned to one thread; the message without Dask."""

import csv
import json
import os
import sys

import numpy as np
import pytest

from npgan import sweep
from npgan.cli import main
from npgan.evaluate.modes import evaluate_stacked as real_evaluate_stacked

TINY = ["--preset", "ring8", "--iterations", "20", "--no-progress"]


# -- seeds and grids ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seeds", [("0-4", [0, 1, 2, 3, 4]), ("3", [3]), ("0,2,7", [0, 2, 7]),
                                         ("0-2,5", [0, 1, 2, 5])])
def test_seeds_are_ranges_and_lists(text, seeds):
    assert sweep.parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["4-1", "x", "-1", "0-2,2", "", "1-"])
def test_bad_seeds_are_refused(text):
    with pytest.raises(ValueError, match="--seeds"):
        sweep.parse_seeds(text)


@pytest.mark.parametrize("preset, gan_row", [("ring8", "| GAN (VEEGAN table) | 5 | 1 | 99.3 |"),
                                             ("grid25", "| GAN (VEEGAN table) | 5 | 3.3 | 0.5 |")])
def test_the_summary_holds_veegans_rows_with_its_plain_gan_and_says_what_differs(tmp_path, preset, gan_row):
    runs = sweep.plan_runs(preset, [0, 1], {}, str(tmp_path), iterations=20)
    results = [{"status": "ok", "metrics": {"modes_captured": 8, "num_modes": 8, "high_quality_percent": 50.0}}
               for _ in runs]
    summary = sweep.summary_markdown(preset, runs, sweep.summarise(runs, results))
    lines = summary.splitlines()
    rows = [line for line in lines if "(VEEGAN table) |" in line]
    assert [row.split(" |")[0] for row in rows] == ["| GAN (VEEGAN table)", "| ALI (VEEGAN table)",
                                                    "| Unrolled GAN (VEEGAN table)", "| VEEGAN (VEEGAN table)"]
    assert rows[0] == gan_row
    assert lines.index(rows[-1]) < lines.index(next(line for line in lines if line.startswith("| npgan")))
    assert sweep.VEEGAN_NOTE in summary


def test_the_stacked_mnist_summary_holds_the_published_rows_and_the_training_minutes(tmp_path):
    runs = sweep.plan_runs("stacked-mnist", [0, 1], {"pack": [1, 2]}, str(tmp_path), iterations=20)
    results = [{"status": "ok", "metrics": {"modes_captured": modes, "num_modes": 1000, "kl_to_uniform": kl,
                                            "training_seconds": seconds}}
               for modes, kl, seconds in [(100, 3.0, 60.0), (300, 2.0, 180.0), (900, 0.5, 120.0), (1000, 0.25, 120.0)]]
    summary = sweep.summary_markdown("stacked-mnist", runs, sweep.summarise(runs, results))
    lines = summary.splitlines()
    assert "| model | pack | runs | modes (of 1,000) | KL to uniform | training minutes |" in lines
    published = [line for line in lines if " table) |" in line]
    assert published[0] == "| DCGAN (VEEGAN table) |  |  | 99 | 3.40 |  |"
    assert published[-1] == "| PacDCGAN2 (PacGAN table) |  |  | 1000 | 0.06 |  |"
    assert [line for line in lines if line.startswith("| npgan")] == [
        "| npgan, stacked-mnist | 1 | 2 of 2 | 200.0 ± 100.0 | 2.50 ± 0.50 | 2.0 ± 1.0 |",
        "| npgan, stacked-mnist | 2 | 2 of 2 | 950.0 ± 50.0 | 0.38 ± 0.12 | 2.0 ± 0.0 |"]
    assert sweep.STACKED_NOTE in summary and "26,000 samples" in summary


def test_a_stacked_mnist_run_is_counted_as_npgan_evaluate_modes_counts_it(tmp_path, capsys, monkeypatch):
    """The sweep's metrics of a stacked-mnist run: the figures of `npgan evaluate modes` on its
    checkpoint (both of the G the run samples, here an average), and its training time, which a
    resumed trainer carries on from. A result without them (an older npgan's) is evaluated again
    from the checkpoint, with no training."""
    from npgan.restore import read_checkpoint
    from npgan.train import Trainer
    from tests.conftest import mnist_dir

    from npgan.restore import gan_from_checkpoint

    sampled = []  # the G the sweep counts
    monkeypatch.setattr(sweep, "evaluate_stacked",
                        lambda generator, *args: sampled.append(generator) or real_evaluate_stacked(generator, *args))
    [run] = sweep.plan_runs("stacked-mnist", [0], {"pack": [2], "generator_average_decay": [0.5]}, str(tmp_path),
                            iterations=3, data_dir=mnist_dir())
    result = sweep.run_one(run)
    assert result["status"] == "ok", result["message"]
    assert set(result["metrics"]) == set(sweep.metric_names(run["config"]))
    checkpoint = os.path.join(run["run_dir"], "checkpoint.npz")
    assert main(["evaluate", "modes", "--checkpoint", checkpoint, "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert (result["metrics"]["modes_captured"], result["metrics"]["kl_to_uniform"]) == \
        (evaluated["modes_captured"], evaluated["kl_to_uniform"])
    resumed = Trainer.from_checkpoint(read_checkpoint(checkpoint), sweep.load_dataset("stacked-mnist", mnist_dir()))
    assert 0 < result["metrics"]["training_seconds"] == resumed.elapsed_seconds < result["seconds"]
    assert len(sampled) == 1
    for generator, equal in (("average", True), ("trained", False)):  # the G the CLI samples by default
        expected = gan_from_checkpoint(read_checkpoint(checkpoint), generator).params_of("G")
        assert all(np.array_equal(value, expected[name]) for name, value in sampled[0].params_of("G").items()) == equal

    stale = {**result, "metrics": {"parzen_quick": -100.0, "parzen_quick_standard_error": 1.0}}
    (tmp_path / run["name"] / "result.json").write_text(json.dumps(stale))
    assert sweep.finished_result(run) is None
    stamp = os.stat(checkpoint).st_mtime_ns
    again = sweep.run_one(run)
    assert again["metrics"] == result["metrics"] and os.stat(checkpoint).st_mtime_ns == stamp
    assert sweep.finished_result(run)["metrics"] == result["metrics"]


def test_the_grid_is_typed_per_key_and_expanded_times_the_seeds(tmp_path):
    grid = sweep.parse_grid("ring8", ["k_discriminator_steps=1,3", "generator_loss=non-saturating,minimax",
                                      "discriminator_keep_probs=[1,0.5,0.5],[1,1,1]", "learning_rate=1e-3"])
    assert grid == {"k_discriminator_steps": [1, 3], "generator_loss": ["non-saturating", "minimax"],
                    "discriminator_keep_probs": [[1, 0.5, 0.5], [1, 1, 1]], "learning_rate": [0.001]}
    assert isinstance(grid["learning_rate"][0], float) and isinstance(grid["k_discriminator_steps"][0], int)
    runs = sweep.plan_runs("ring8", [0, 1], grid, str(tmp_path), iterations=20)
    assert len(runs) == 2 * 2 * 2 * 1 * 2
    first, last = runs[0], runs[-1]
    assert first["name"] == os.path.join("k_discriminator_steps=1_generator_loss=non-saturating_"
                                         "discriminator_keep_probs=1x0.5x0.5_learning_rate=0.001", "seed-0")
    assert [first["config"][key] for key in ("k_discriminator_steps", "seed", "iterations")] == [1, 0, 20]
    assert (last["config"]["k_discriminator_steps"], last["config"]["generator_loss"], last["config"]["seed"]) == \
        (3, "minimax", 1)
    assert last["config"]["discriminator_keep_probs"] == [1, 1, 1]
    assert len({run["run_dir"] for run in runs}) == len(runs)
    assert [run["name"] for run in sweep.plan_runs("ring8", [2], {}, str(tmp_path))] == ["seed-2"]
    assert sweep.plan_runs("ring8", [2], {}, str(tmp_path))[0]["config"]["iterations"] == 16000  # the preset's


@pytest.mark.parametrize("options, message", [
    (["--seeds", "4-1"], "--seeds 4-1"),
    (["--grid", "foo=1,2"], "'foo' is not a configuration key of preset ring8"),
    (["--grid", "seed=1,2"], "seed cannot be swept (use --seeds)"),
    (["--grid", "k_discriminator_steps=0.5"], "k_discriminator_steps takes a whole number"),
    (["--grid", "k_discriminator_steps=0,1"], "k_discriminator_steps must be an integer >= 1, got 0"),
    (["--grid", "generator_loss=minimax,bogus"], "generator_loss must be one of"),
    (["--grid", "learning_rate=1,1.0"], "the value 1.0 is given twice"),
    (["--grid", "learning_rate=nan"], "learning_rate takes a finite number"),
    (["--grid", "learning_rate"], "expected key=value1,value2"),
    (["--grid", "discriminator_hidden=[64,x]"], "a list of numbers"),
    (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers is for the local cluster"),
    (["--data-dir", "."], "--data-dir is for MNIST"),
])
def test_bad_options_exit_2_with_one_line_before_any_work(tmp_path, capsys, options, message):
    out = tmp_path / "sweep"
    assert main(["sweep", *TINY, "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("npgan: error: ") and err.count("\n") == 1
    assert not out.exists()


def test_without_dask_the_sweep_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed raises ImportError
    assert main(["sweep", *TINY, "--out", str(tmp_path / "sweep")]) == 2
    assert 'pip install "npgan[distributed]"' in capsys.readouterr().err
    assert not (tmp_path / "sweep").exists()


# -- sweeps on a cluster --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scheduler():
    """A scheduler and two single-threaded worker processes on 127.0.0.1, made here."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40) as cluster:
        yield cluster.scheduler_address


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_sweep_through_a_scheduler_records_a_diverging_run_and_resumes(scheduler, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", *TINY, "--seeds", "0-1", "--grid", "learning_rate=1e-3,1e300", "--scheduler", scheduler,
            "--out", str(out)]
    assert main(argv) == 1  # two runs diverged; the sweep went on
    captured = capsys.readouterr()
    assert "learning_rate=1e+300/seed-0 diverged: parameter D.0.W became inf at iteration 1" in captured.err

    rows = _read_csv(out / "results.csv")
    assert [(row["run"], row["status"]) for row in rows] == [
        ("learning_rate=0.001/seed-0", "ok"), ("learning_rate=0.001/seed-1", "ok"),
        ("learning_rate=1e+300/seed-0", "diverged"), ("learning_rate=1e+300/seed-1", "diverged")]
    for row in rows[:2]:
        assert row["num_modes"] == "8" and 0 <= int(row["modes_captured"]) <= 8
        assert 0 <= float(row["high_quality_percent"]) <= 100 and row["iterations"] == "20"
        run_dir = out / row["run"]
        for name in ("config.json", "metrics.jsonl", "checkpoint.npz", "samples.png", "result.json"):
            assert (run_dir / name).stat().st_size > 0, name
        assert not (run_dir / ".lock").exists()
        result = json.loads((run_dir / "result.json").read_text())
        assert result["metrics"]["modes_captured"] == int(row["modes_captured"])
    assert rows[2]["modes_captured"] == "" and "became inf" in rows[2]["message"]

    # The same figures as npgan evaluate modes on the run's checkpoint.
    assert main(["evaluate", "modes", "--checkpoint", str(out / rows[0]["run"] / "checkpoint.npz"), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["modes_captured"] == int(rows[0]["modes_captured"])

    summary = (out / "summary.md").read_text()
    table = [line for line in summary.splitlines() if line.startswith("| npgan")]
    assert len(table) == 2
    modes = [int(row["modes_captured"]) for row in rows[:2]]
    mean, std = sum(modes) / 2, abs(modes[0] - modes[1]) / 2
    assert table[0].startswith(f"| npgan, ring8 | 0.001 | 2 of 2 | {mean:.1f} ± {std:.1f} |")
    assert table[1] == "| npgan, ring8 | 1e+300 | 0 of 2 (2 diverged) |  |  |"
    assert "| VEEGAN (VEEGAN table) |  | 5 | 8 | 52.9 |" in summary
    assert "| GAN (VEEGAN table) |  | 5 | 1 | 99.3 |" in summary  # VEEGAN's plain GAN row
    assert "its own networks" in summary and "radius 2 and std 0.02" in summary  # what differs

    # Re-run: nothing is trained again; a run deleted is run again, alone.
    stamps = {row["run"]: os.stat(out / row["run"] / "checkpoint.npz").st_mtime_ns for row in rows[:2]}
    removed = out / rows[1]["run"]
    for name in os.listdir(removed):
        os.remove(removed / name)
    os.rmdir(removed)
    assert main(argv + ["--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [run["status"] for run in report["runs"]] == ["ok", "ok", "diverged", "diverged"]
    assert os.stat(out / rows[0]["run"] / "checkpoint.npz").st_mtime_ns == stamps[rows[0]["run"]]
    assert (removed / "checkpoint.npz").exists()
    again = _read_csv(out / "results.csv")
    for row in rows + again:
        del row["seconds"]
    assert again == rows  # the run done again trained to the same figures


def test_a_run_stopped_half_way_continues_from_its_checkpoint(scheduler, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["train", "--preset", "ring8", "--seed", "0", "--iterations", "10", "--no-progress",
                 "--out", str(out / "seed-0")]) == 0
    assert main(["sweep", *TINY, "--seeds", "0", "--scheduler", scheduler, "--out", str(out)]) == 2  # 10 != 20
    assert "holds a run of another configuration (iterations differ)" in capsys.readouterr().err
    # What a sweep's own run of 20 iterations leaves when stopped after its checkpoint at 10:
    config = json.loads((out / "seed-0" / "config.json").read_text())
    (out / "seed-0" / "config.json").write_text(json.dumps({**config, "iterations": 20}))
    assert main(["sweep", *TINY, "--seeds", "0", "--scheduler", scheduler, "--out", str(out), "--json"]) == 0
    lines = (out / "seed-0" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in lines] == [10, 20]


def test_the_local_cluster_pins_blas_to_one_thread_per_worker(monkeypatch, tmp_path, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # the workers get 1 whatever the shell says
    out = tmp_path / "sweep"
    assert main(["sweep", *TINY, "--seeds", "0", "--workers", "1", "--out", str(out)]) == 0
    assert capsys.readouterr().err.endswith("on a local cluster of 1 single-threaded worker\n")
    result = json.loads((out / "seed-0" / "result.json").read_text())
    assert result["status"] == "ok"
    assert result["blas_threads"] == {name: "1" for name in sweep.BLAS_THREAD_VARIABLES}
    assert result["pid"] != os.getpid()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"  # restored in this process
