"""Training curves (issue 18, item 4): curves.png in every run directory at each checkpoint, and
`npgan figure curves --run DIR`; the panels of npgan.plots.training_curves_figure (inspected on
the matplotlib Figure it returns, not in pixels); npgan.run.read_metrics, which a resume and the
figure share: a torn last line left out, any other damaged line one "npgan:" line and exit 2."""

import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import npgan.models
from npgan.cli import main
from npgan.monitors import curves_figure, standard_monitors
from npgan.plots import training_curves_figure
from npgan.run import Monitors, RunDirectoryError, read_metrics, train_run
from npgan.train import Trainer
from tests.cli_checks import assert_one_npgan_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--preset", "ring8", "--iterations", "30", "--batch-size", "16", "--no-progress"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A real `npgan train` of 30 iterations, a metrics line and a checkpoint every 10."""
    out = tmp_path_factory.mktemp("curves") / "ring8"
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(npgan.models.PRESETS["ring8"], "log_every", 10)
        patch.setitem(npgan.models.PRESETS["ring8"], "checkpoint_every", 10)
        assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture
def run_copy(trained_run, tmp_path):
    """A copy of the trained run to damage."""
    return shutil.copytree(trained_run, tmp_path / "run")


def record(iteration, **fields):
    """A synthetic metrics.jsonl record, as npgan.run writes them."""
    values = dict(objective_d=1.2, objective_g=0.8, mean_d_real=0.6, mean_d_fake=0.4, sample_diversity=0.15,
                  data_diversity=0.19, collapse_warning=False, parzen_validation=None, epoch=None)
    return {"iteration": iteration, **values, **fields}


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def line_labelled(ax, fragment):
    (line,) = [line for line in ax.get_lines() if fragment in line.get_label()]
    return line


# -- written by every run ---------------------------------------------------------------------------

def test_a_short_train_leaves_curves_png_in_its_run_directory(trained_run):
    assert (trained_run / "curves.png").read_bytes()[:8] == PNG
    records, torn = read_metrics(trained_run / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [10, 20, 30] and not torn


def test_draw_curves_is_called_at_every_checkpoint_with_the_records_so_far(tmp_path):
    """Epochs of 6 iterations with a metrics line each, checkpoints every 4: curves are drawn at
    every checkpoint (the first has no record yet), and a resumed run's include the earlier ones."""
    from npgan.checkpoint import load_checkpoint
    from tests.test_paper_mnist import tiny_config, tiny_images

    drawn = []
    monitors = Monitors(draw_curves=lambda trainer, records, path: drawn.append(
        (trainer.iteration, [r["iteration"] for r in records], os.path.basename(path))))
    trainer = Trainer(tiny_config(checkpoint_every=4, iterations=12), tiny_images())
    train_run(trainer, tmp_path, monitors=monitors)
    assert drawn == [(4, [], "curves.png"), (8, [6], "curves.png"), (12, [6, 12], "curves.png")]
    resumed = Trainer.from_checkpoint(load_checkpoint(tmp_path / "checkpoint.npz"), tiny_images(), iterations=18)
    train_run(resumed, tmp_path, monitors=monitors)
    assert drawn[3:] == [(16, [6, 12], "curves.png"), (18, [6, 12, 18], "curves.png")]


def test_an_image_run_with_the_standard_monitors_writes_curves_png(tmp_path):
    from tests.test_paper_mnist import tiny_config, tiny_images

    data = tiny_images()
    train_run(Trainer(tiny_config(iterations=12), data), tmp_path, monitors=standard_monitors(data))
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    records, _ = read_metrics(tmp_path / "metrics.jsonl")
    assert all(r["parzen_validation"] is not None for r in records)  # a point on the Parzen panel each


# -- npgan figure curves --run DIR --------------------------------------------------------------------

def test_figure_curves_redraws_the_run_directory_and_writes_out_elsewhere(run_copy, tmp_path, capsys):
    os.remove(run_copy / "curves.png")
    assert main(["figure", "curves", "--run", str(run_copy)]) == 0
    assert (run_copy / "curves.png").read_bytes()[:8] == PNG
    assert "3 records" in capsys.readouterr().out
    os.remove(run_copy / "curves.png")
    out = tmp_path / "elsewhere.png"
    assert main(["figure", "curves", "--run", str(run_copy), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG and not (run_copy / "curves.png").exists()


def test_a_torn_last_line_is_left_out(run_copy, capsys):
    with open(run_copy / "metrics.jsonl", "a") as handle:
        handle.write('{"iteration": 40, "objective_d": 1.3')  # killed mid-write
    assert main(["figure", "curves", "--run", str(run_copy)]) == 0
    out = capsys.readouterr().out
    assert "3 records" in out and "torn" in out
    records, torn = read_metrics(run_copy / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [10, 20, 30] and torn


def damage_middle_line(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    (run / "metrics.jsonl").write_text("\n".join([lines[0], '{"iteration": "20"}', lines[2]]) + "\n")


@pytest.mark.parametrize("case, argv, fragments", [
    ("damaged", ["--run", "{run}"], ["metrics.jsonl: line 2 is not a metrics record"]),
    ("missing", ["--run", "{run}/nowhere"], ["nowhere: it does not exist"]),
    ("a file", ["--run", "{run}/config.json"], ["config.json: it is not a directory"]),
    ("no metrics", ["--run", "{run}"], ["has no metrics.jsonl"]),
    ("empty metrics", ["--run", "{run}"], ["holds no metrics record yet"]),
    ("no config", ["--run", "{run}"], ["config.json is missing or damaged"]),
    ("checkpoint", ["--run", "{run}", "--checkpoint", "{run}/checkpoint.npz"], ["takes no --checkpoint"]),
    ("no run", [], ["figure curves needs --run DIR"]),
    ("data dir", ["--run", "{run}", "--data-dir", "{run}"], ["--data-dir is for figure 2"]),
    ("out a directory", ["--run", "{run}", "--out", "{run}"], ["not a regular file"]),
])
def test_a_bad_run_or_option_is_one_line_and_exit_2(run_copy, capsys, case, argv, fragments):
    if case == "damaged":
        damage_middle_line(run_copy)
    elif case == "no metrics":
        os.remove(run_copy / "metrics.jsonl")
    elif case == "empty metrics":
        (run_copy / "metrics.jsonl").write_text("")
    elif case == "no config":
        os.remove(run_copy / "config.json")
    before = (run_copy / "curves.png").read_bytes()
    argv = [arg.replace("{run}", str(run_copy)) for arg in argv]
    assert main(["figure", "curves", *argv]) == 2
    assert_one_npgan_line(capsys.readouterr().err, *fragments)
    assert (run_copy / "curves.png").read_bytes() == before


def test_run_is_refused_for_the_paper_figures(trained_run, tmp_path, capsys):
    assert main(["figure", "saturation", "--run", str(trained_run), "--out", str(tmp_path / "s.png")]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "--run is for figure curves")
    assert not (tmp_path / "s.png").exists()


def test_a_symlink_planted_as_curves_png_is_refused_and_not_written_through(run_copy, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"outside")
    os.remove(run_copy / "curves.png")
    (run_copy / "curves.png").symlink_to(victim)
    assert main(["figure", "curves", "--run", str(run_copy)]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "symbolic link")
    assert victim.read_bytes() == b"outside"


def test_through_python_dash_m_a_damaged_line_is_one_line_without_a_traceback(run_copy):
    damage_middle_line(run_copy)
    completed = subprocess.run([sys.executable, "-m", "npgan", "figure", "curves", "--run", str(run_copy)],
                               capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": ROOT})
    assert completed.returncode == 2
    assert_one_npgan_line(completed.stderr, f"{run_copy / 'metrics.jsonl'}: line 2")


# -- the reader -------------------------------------------------------------------------------------

@pytest.mark.parametrize("middle", [b"[1, 2]", b'{"iteration": 1.5}', b'{"iteration": true}', b"\xff\xfe",
                                    b'{"objective_d": 1.0}', b"[" * 100_000])
def test_read_metrics_refuses_a_damaged_line_that_is_not_the_last(tmp_path, middle):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"iteration": 1}\n' + middle + b'\n{"iteration": 2}\n')
    with pytest.raises(RunDirectoryError, match="line 2 is not a metrics record"):
        read_metrics(path)
    path.write_bytes(b'{"iteration": 1}\n' + middle)  # the same as a last line: torn, left out
    assert read_metrics(path) == ([{"iteration": 1}], True)


def test_read_metrics_refuses_a_metrics_file_that_is_not_a_regular_file(tmp_path):
    (tmp_path / "metrics.jsonl").mkdir()
    with pytest.raises(RunDirectoryError, match="not a regular file"):
        read_metrics(tmp_path / "metrics.jsonl")
    with pytest.raises(FileNotFoundError):
        read_metrics(tmp_path / "missing.jsonl")


# -- the figure's panels ----------------------------------------------------------------------------

def test_the_figure_of_a_toy_run_has_three_labelled_panels_with_the_equilibrium_values(trained_run, tmp_path):
    records, _ = read_metrics(trained_run / "metrics.jsonl")
    config = json.loads((trained_run / "config.json").read_text())
    figure = curves_figure(config, records, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG
    losses, d_outputs, spread = figure.axes
    assert [ax.get_title() for ax in figure.axes] == ["losses", "the discriminator's outputs",
                                                       "diversity: G's samples against the data (1,000 each)"]
    assert all(ax.get_xlabel() == "iteration" and ax.get_ylabel() for ax in figure.axes)
    assert any("ring8, seed 0" in text.get_text() for text in figure.texts)  # the suptitle
    iterations = [r["iteration"] for r in records]
    for ax, fragment, name in [(losses, "L_D =", "objective_d"), (losses, "L_G =", "objective_g"),
                               (d_outputs, "mean D(x)", "mean_d_real"), (d_outputs, "mean D(G(z))", "mean_d_fake"),
                               (spread, "G's samples", "sample_diversity"), (spread, "data", "data_diversity")]:
        line = line_labelled(ax, fragment)
        np.testing.assert_array_equal(line.get_xdata(), iterations)
        np.testing.assert_array_equal(line.get_ydata(), [r[name] for r in records])
    # the values where D = 1/2 (losses.py: L_D = log 4, non-saturating L_G = -log(1/2) = log 2)
    assert line_labelled(losses, "log 4 = 1.386").get_ydata()[0] == pytest.approx(math.log(4))
    assert line_labelled(losses, "log 2 = 0.693").get_ydata()[0] == pytest.approx(math.log(2))
    assert line_labelled(d_outputs, "D = 1/2").get_ydata()[0] == 0.5
    assert "non-saturating" in " ".join(legend_texts(losses))


def test_an_image_runs_records_get_the_parzen_panel_and_collapse_warnings_are_marked(tmp_path):
    records = [record(500 * i, epoch=float(i), parzen_validation=None if i % 2 else 100.0 + i,
                      collapse_warning=i == 4, sample_diversity=0.05 if i == 4 else 0.15) for i in range(1, 7)]
    figure = training_curves_figure(records, tmp_path / "c.png", title="paper-mnist, seed 3: training curves")
    assert len(figure.axes) == 4
    parzen = figure.axes[3]
    assert parzen.get_title() == "quick Parzen estimate on validation"
    assert parzen.get_xlabel() == "iteration" and "nats" in parzen.get_ylabel()
    line = line_labelled(parzen, "parzen_validation")
    np.testing.assert_array_equal(line.get_xdata(), [1000, 2000, 3000])
    np.testing.assert_array_equal(line.get_ydata(), [102.0, 104.0, 106.0])
    (marks,) = figure.axes[2].collections
    np.testing.assert_array_equal(marks.get_offsets(), [[2000, 0.05]])
    assert "collapse_warning" in legend_texts(figure.axes[2])


def test_without_a_parzen_value_there_are_three_panels_and_missing_fields_leave_gaps(tmp_path):
    records = [record(10), {"iteration": 20, "objective_d": 1.3}, record(30, objective_g=None)]
    figure = training_curves_figure(records, tmp_path / "c.png")
    assert len(figure.axes) == 3 and not figure.axes[2].collections  # no collapse warning: no marks
    ydata = line_labelled(figure.axes[0], "L_G =").get_ydata()
    assert ydata[0] == 0.8 and np.isnan(ydata[1]) and np.isnan(ydata[2])


def test_minimax_and_f_divergence_runs_get_their_own_reference_lines(tmp_path):
    records = [record(10, objective_g=-0.6), record(20, objective_g=-0.7)]
    minimax = training_curves_figure(records, tmp_path / "m.png", generator_loss="minimax")
    assert line_labelled(minimax.axes[0], "-log 2").get_ydata()[0] == pytest.approx(-math.log(2))
    assert "L_G = mean log(1 - D(G(z))) (minimax)" in legend_texts(minimax.axes[0])
    critic = training_curves_figure(records, tmp_path / "f.png", divergence="kl")
    texts = legend_texts(critic.axes[0]) + legend_texts(critic.axes[1])
    assert "critic loss -F (f-GAN)" in texts and "mean sigmoid(V(x)) on data" in texts
    assert not any("log 4" in text or "log 2" in text for text in texts)  # D = 1/2 is no optimum there


@pytest.mark.parametrize("records", [[], [{"objective_d": 1.0}], [{"iteration": "10"}], "records"])
def test_records_without_iterations_are_refused_before_any_file(tmp_path, records):
    with pytest.raises(ValueError, match="records must be a non-empty list of metrics records"):
        training_curves_figure(records, tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()
