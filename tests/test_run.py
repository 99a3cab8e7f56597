"""A run directory (npgan.run.train_run): its files and metrics, resume, a stop request, a
damaged metrics file, and the monitors handed in."""

import json
import os

import numpy as np
import pytest

from npgan.checkpoint import load_checkpoint
from npgan.data.toy import RING8
from npgan.restore import gan_from_checkpoint
from npgan.run import Monitors, RunDirectoryError, TrainingInterrupted, train_run
from npgan.train import Trainer, TrainingDiverged

from tests.test_train import small_config


def straight_and_resumed(tmp_path, config, data, stop_at, run=train_run):
    """Two runs of ``config``: one straight through (into tmp_path/straight), and one stopped after
    ``stop_at`` iterations (into tmp_path/resumed), then rebuilt from its checkpoint. Returns the
    trainers (straight, stopped, resumed); the resumed one is still to run."""
    straight = Trainer(config, data)
    run(straight, tmp_path / "straight")
    stopped = Trainer({**config, "iterations": stop_at}, data)
    run(stopped, tmp_path / "resumed")
    resumed = Trainer.from_checkpoint(load_checkpoint(tmp_path / "resumed" / "checkpoint.npz"), data,
                                      iterations=config["iterations"])
    return straight, stopped, resumed


@pytest.mark.parametrize("order", ["sequential", "simultaneous"])
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, order, optimizer):
    config = small_config(update_order=order, optimizer=optimizer, learning_rate=0.01,
                          iterations=40, checkpoint_every=10)
    straight, _, resumed = straight_and_resumed(tmp_path, config, RING8, 20)
    assert resumed.iteration == 20
    train_run(resumed, tmp_path / "resumed")
    for name, value in straight.gan.params.items():
        np.testing.assert_array_equal(resumed.gan.params[name], value, err_msg=name)
    for mine, theirs in ((resumed.optimizer_d, straight.optimizer_d), (resumed.optimizer_g, straight.optimizer_g)):
        for key, value in theirs.state_dict().items():
            np.testing.assert_array_equal(mine.state_dict()[key], value)
    lines = [json.loads(line) for line in open(tmp_path / "resumed" / "metrics.jsonl")]
    assert [line["iteration"] for line in lines] == [10, 20, 30, 40]


def test_run_directory_files_and_metrics(tmp_path):
    trainer = Trainer(small_config(), RING8)
    checkpoint = train_run(trainer, tmp_path)
    config = json.load(open(tmp_path / "config.json"))
    assert config["k_discriminator_steps"] == 1 and config["dataset"] == "ring8"
    records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [r["iteration"] for r in records] == [10, 20, 30, 40]
    expected = {"iteration", "epoch", "objective_d", "objective_g", "mean_d_real", "mean_d_fake",
                "false_negatives", "false_positives", "learning_rate", "momentum", "sample_diversity",
                "data_diversity", "collapse_warning", "parzen_validation", "elapsed_seconds", "peak_rss_mb"}
    assert set(records[0]) == expected
    assert all(r["parzen_validation"] is None for r in records)  # image data only
    assert all(0 <= r["false_negatives"] <= 1 and 0 < r["mean_d_fake"] < 1 for r in records)
    assert all(r["peak_rss_mb"] > 10 for r in records)
    gan = gan_from_checkpoint(load_checkpoint(checkpoint))
    samples = gan.sample(7, np.random.default_rng(0))
    np.testing.assert_array_equal(samples, trainer.sample(7, np.random.default_rng(0)))


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_an_absurd_learning_rate_diverges_with_a_clear_error(tmp_path):
    # at 1e3 D runs away at iteration 3 (npgan.train.RUNAWAY_LOGIT), after two checkpoints;
    # at 1e30 it does in iteration 1, before any
    trainer = Trainer(small_config(optimizer="momentum", learning_rate=1e3, iterations=200,
                                   checkpoint_every=1), RING8)
    with pytest.raises(TrainingDiverged, match="iteration"):
        train_run(trainer, tmp_path)
    kept = load_checkpoint(tmp_path / "checkpoint.npz")  # the last good one
    assert all(np.all(np.isfinite(value)) for value in kept.arrays.values())


def test_a_stop_request_checkpoints_mid_epoch_and_the_resume_is_bit_identical(tmp_path):
    from npgan.monitors import quick_parzen_score
    from tests.test_paper_mnist import tiny_config, tiny_images

    data = tiny_images()
    monitors = Monitors(validation_score=quick_parzen_score)  # in the metrics compared below; no figures
    config = tiny_config(iterations=12)  # epochs of 6 iterations, checkpoints and logs at their ends
    straight = Trainer(config, data)
    train_run(straight, tmp_path / "straight", monitors=monitors)
    first = Trainer(config, data)
    with pytest.raises(TrainingInterrupted) as caught:
        train_run(first, tmp_path / "stopped", monitors=monitors, stop_requested=lambda: first.iteration == 9)
    assert caught.value.iteration == 9
    assert load_checkpoint(tmp_path / "stopped" / "checkpoint.npz").state["iteration"] == 9
    assert [json.loads(line)["iteration"] for line in open(tmp_path / "stopped" / "metrics.jsonl")] == [6]
    resumed = Trainer.from_checkpoint(load_checkpoint(tmp_path / "stopped" / "checkpoint.npz"), data)
    train_run(resumed, tmp_path / "stopped", monitors=monitors)
    for name, value in straight.gan.params.items():
        np.testing.assert_array_equal(resumed.gan.params[name], value, err_msg=name)

    def records(out):
        return [{k: v for k, v in json.loads(line).items() if k not in ("elapsed_seconds", "peak_rss_mb")}
                for line in open(out / "metrics.jsonl")]

    assert records(tmp_path / "stopped") == records(tmp_path / "straight")


def test_no_stop_on_the_last_iteration(tmp_path):
    trainer = Trainer(small_config(iterations=5), RING8)
    train_run(trainer, tmp_path, stop_requested=lambda: trainer.iteration == 5)  # during the last: it completes
    assert load_checkpoint(tmp_path / "checkpoint.npz").state["iteration"] == 5


def test_a_metrics_line_torn_by_a_crash_is_dropped_and_a_damaged_one_refused(tmp_path):
    trainer = Trainer(small_config(iterations=20), RING8)
    train_run(trainer, tmp_path)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + '\n{"iteration": 30, "objec')  # killed mid-write
    resumed = Trainer.from_checkpoint(load_checkpoint(tmp_path / "checkpoint.npz"), RING8, iterations=30)
    train_run(resumed, tmp_path)
    assert [json.loads(line)["iteration"] for line in open(tmp_path / "metrics.jsonl")] == [10, 20, 30]
    (tmp_path / "metrics.jsonl").write_text(lines[0] + "\n#garbage\n" + lines[1] + "\n")
    with pytest.raises(RunDirectoryError, match="line 2 is not a metrics record"):
        train_run(Trainer.from_checkpoint(load_checkpoint(tmp_path / "checkpoint.npz"), RING8, iterations=40),
                  tmp_path)


def test_an_averaged_run_resumes_bit_identically(tmp_path):
    config = small_config(generator_average_decay=0.95, checkpoint_every=10)
    straight, _, resumed = straight_and_resumed(tmp_path, config, RING8, 20)
    train_run(resumed, tmp_path / "resumed")
    for network in ("gan", "model"):
        for name, value in getattr(straight, network).params.items():
            np.testing.assert_array_equal(getattr(resumed, network).params[name], value, err_msg=f"{network} {name}")
    assert resumed.generator_average.updates == 40


# -- the monitors handed in --------------------------------------------------------------------

def test_without_monitors_a_run_writes_no_figure_and_no_best_checkpoint_but_everything_else(tmp_path):
    from tests.test_paper_mnist import tiny_config, tiny_images

    trainer = Trainer(tiny_config(), tiny_images())  # 5 epochs of 6 iterations, a checkpoint at each end
    train_run(trainer, tmp_path, keep_checkpoints=2)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz", "checkpoints", "config.json", "metrics.jsonl"]
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["epoch-0004.npz", "epoch-0005.npz"]
    assert load_checkpoint(tmp_path / "checkpoint.npz").state["keep_checkpoints"] == 2
    assert json.loads((tmp_path / "config.json").read_text()) == trainer.config
    records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [r["iteration"] for r in records] == [6, 12, 18, 24, 30]
    assert all(r["parzen_validation"] is None and r["sample_diversity"] > 0 for r in records)
    state = load_checkpoint(tmp_path / "checkpoint.npz").state
    assert state["iteration"] == 30 and state["parzen_validation"] is None


def test_keep_checkpoints_zero_keeps_every_epoch_and_a_bad_count_is_refused(tmp_path):
    from npgan.checkpoint import CheckpointError, Checkpoint
    from npgan.run import KEEP_CHECKPOINTS, keep_checkpoints_of
    from tests.test_paper_mnist import tiny_config, tiny_images

    train_run(Trainer(tiny_config(), tiny_images()), tmp_path, keep_checkpoints=0)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == [f"epoch-{epoch:04d}.npz" for epoch in range(1, 6)]
    assert keep_checkpoints_of(load_checkpoint(tmp_path / "checkpoint.npz")) == 0
    for bad in (-1, 2.0, True, "3"):
        with pytest.raises(ValueError, match="keep_checkpoints must be a whole number >= 0"):
            train_run(Trainer(tiny_config(), tiny_images()), tmp_path / "bad", keep_checkpoints=bad)
    assert not (tmp_path / "bad").exists()
    assert keep_checkpoints_of(Checkpoint(config={}, state={}, arrays={})) == KEEP_CHECKPOINTS  # written before
    with pytest.raises(CheckpointError, match="keep_checkpoints is -2"):
        keep_checkpoints_of(Checkpoint(config={}, state={"keep_checkpoints": -2}, arrays={}))


class RecordingMonitors:
    """Monitors whose callables record the iteration they are called at."""

    def __init__(self, scores):
        self.scores, self.scored, self.drawn, self.curves = scores, [], [], []
        self.events = []  # the figures' file names and "after_drawing", in the order of the calls

    def monitors(self):
        return Monitors(validation_score=self.validation_score, draw_samples=self.draw_samples,
                        draw_score_curve=self.draw_score_curve, after_drawing=self.after_drawing)

    def validation_score(self, trainer):
        self.scored.append(trainer.iteration)
        return self.scores[trainer.iteration]

    def draw_samples(self, trainer, path):
        self.drawn.append((trainer.iteration, os.path.basename(path)))
        self.events.append(os.path.basename(path))

    def draw_score_curve(self, trainer, curve, path):
        self.curves.append((trainer.iteration, list(curve), os.path.basename(path)))
        self.events.append(os.path.basename(path))

    def after_drawing(self):
        self.events.append("after_drawing")


def test_the_monitors_are_called_at_the_checkpoints_and_the_epoch_ends(tmp_path):
    """Epochs of 6 iterations, checkpoints every 4: a validation score where a checkpoint ends an
    epoch (12, 24 and the last, 30), samples at every checkpoint, the curve after every score;
    best.npz the checkpoint of the best score, the score in the metrics and the checkpoint."""
    from tests.test_paper_mnist import tiny_config, tiny_images

    recorder = RecordingMonitors({12: 1.0, 24: 3.0, 30: 2.0})
    trainer = Trainer(tiny_config(checkpoint_every=4), tiny_images())
    train_run(trainer, tmp_path, monitors=recorder.monitors())
    assert recorder.scored == [12, 24, 30]
    assert recorder.drawn == [(iteration, "samples.png") for iteration in (4, 8, 12, 16, 20, 24, 28, 30)]
    assert recorder.curves == [(12, [(2.0, 1.0)], "parzen.png"), (24, [(2.0, 1.0), (4.0, 3.0)], "parzen.png"),
                               (30, [(2.0, 1.0), (4.0, 3.0), (5.0, 2.0)], "parzen.png")]
    records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [r["parzen_validation"] for r in records] == [None, 1.0, None, 3.0, 2.0]
    best = load_checkpoint(tmp_path / "checkpoints" / "best.npz")
    assert best.state["iteration"] == 24 and best.state["parzen_validation"] == 3.0
    # after_drawing once a checkpoint, after all of its figures
    scored_checkpoint, checkpoint = ["samples.png", "parzen.png", "after_drawing"], ["samples.png", "after_drawing"]
    assert recorder.events == (2 * checkpoint + scored_checkpoint) * 2 + checkpoint + scored_checkpoint  # 4, 8, 12, ... 28, 30

    # a resumed run continues the curve and the best score; a stop draws the samples of its iteration
    recorder = RecordingMonitors({36: 2.5, 42: 9.0})
    resumed = Trainer.from_checkpoint(load_checkpoint(tmp_path / "checkpoint.npz"), tiny_images(), iterations=42)
    with pytest.raises(TrainingInterrupted):
        train_run(resumed, tmp_path, monitors=recorder.monitors(), stop_requested=lambda: resumed.iteration == 37)
    assert recorder.scored == [36] and recorder.drawn == [(32, "samples.png"), (36, "samples.png"),
                                                          (37, "samples.png")]
    assert recorder.curves[-1][1] == [(2.0, 1.0), (4.0, 3.0), (5.0, 2.0), (6.0, 2.5)]
    assert load_checkpoint(tmp_path / "checkpoints" / "best.npz").state["iteration"] == 24

