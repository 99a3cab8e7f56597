"""The paper-mnist preset against docs/paper.md, and training on image data: shuffled
passes, epoch checkpoints, samples.png, the diversity monitor, resume, Figures 2 and 3."""

import json
import os

import numpy as np
import pytest

from npgan.checkpoint import load_checkpoint
from npgan.cli import main
from npgan.data.mnist import ImageData, Pixels
from npgan.init import output_bias_from_data
from npgan.layers import Dropout, Linear, Maxout, ReLU, Sigmoid
from npgan.models import PRESETS, preset_config
from npgan.monitors import quick_parzen_score, standard_monitors
from npgan.run import Monitors, diversity, train_run
from npgan.train import ShuffledBatches, Trainer

from tests.conftest import mnist_dir


def assert_uniform_range(weights, scale):
    """U(-scale, scale), and not narrower: the largest of n draws is below scale (1 - 20/n)
    with probability (1 - 20/n)^n < e^-20."""
    assert scale * (1 - 20 / weights.size) < np.abs(weights).max() <= scale


@pytest.fixture(scope="module")
def paper_trainer(mnist):
    return Trainer(preset_config("paper-mnist"), mnist)


def test_the_generator_is_the_authors(paper_trainer, mnist):
    layers = paper_trainer.gan.generator.layers
    assert [type(layer) for layer in layers] == [Linear, ReLU, Linear, ReLU, Linear, Sigmoid]
    assert [layers[i].params["W"].shape for i in (0, 2, 4)] == [(100, 1200), (1200, 1200), (1200, 784)]
    for i in (0, 2, 4):
        weights = layers[i].params["W"]
        assert weights.dtype == np.float32
        assert_uniform_range(weights, 0.05)
        assert abs(weights.mean()) < 1e-3
    assert not layers[0].params["b"].any() and not layers[2].params["b"].any()
    mean = np.clip(mnist.train.astype(np.float64).mean(axis=0), 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(layers[4].params["b"], np.log(mean / (1 - mean)), rtol=1e-6, atol=1e-6)
    assert layers[4].params["b"].min() == pytest.approx(np.log(1e-7 / (1 - 1e-7)), rel=1e-6)  # clipped corners


def test_the_discriminator_is_the_authors(paper_trainer):
    layers = paper_trainer.gan.discriminator.layers
    assert [type(layer) for layer in layers] == [Dropout, Maxout, Dropout, Maxout, Dropout, Linear]
    assert [layer.keep_prob for layer in layers if isinstance(layer, Dropout)] == [0.8, 0.5, 0.5]
    maxouts = [layer for layer in layers if isinstance(layer, Maxout)]
    assert [(m.params["W"].shape, m.units, m.pieces) for m in maxouts] == [((784, 1200), 240, 5),
                                                                         ((240, 1200), 240, 5)]
    assert layers[-1].params["W"].shape == (240, 1)
    for layer in maxouts + [layers[-1]]:
        assert_uniform_range(layer.params["W"], 0.005)
        assert not layer.params["b"].any()


def test_the_optimisation_is_the_authors(paper_trainer):
    config = paper_trainer.config
    assert (config["noise"], config["noise_dim"], config["batch_size"]) == ("uniform", 100, 100)
    assert (config["update_order"], config["generator_loss"], config["k_discriminator_steps"]) == \
        ("simultaneous", "non-saturating", 1)
    assert config["discriminator_loss_scale"] == 0.5 and config["iterations_per_epoch"] == 500
    for optimizer in (paper_trainer.optimizer_d, paper_trainer.optimizer_g):
        assert optimizer.learning_rate_at_iteration(0) == 0.1
        assert optimizer.learning_rate_at_iteration(500 * 100) == pytest.approx(0.0819, abs=5e-5)
        assert optimizer.learning_rate_at_iteration(10**9) == 1e-6
        momenta = [optimizer.momentum_at_epoch(epoch) for epoch in (1, 125, 250, 300)]
        assert momenta == pytest.approx([0.5, 0.5 + 0.2 * 124 / 249, 0.7, 0.7])


def test_the_variants_differ_from_paper_mnist_only_where_named():
    paper = PRESETS["paper-mnist"]
    assert {k for k in paper if PRESETS["paper-mnist-sequential"][k] != paper[k]} == {"update_order"}
    assert {k for k in paper if PRESETS["fashion-mnist"][k] != paper[k]} == {"dataset"}
    assert {k for k in paper if PRESETS["mnist-tuned"][k] != paper[k]} == {"generator_average_decay"}
    assert set(PRESETS["mnist-tuned"]) == set(paper)
    assert paper["generator_average_decay"] == 0.0 and PRESETS["mnist-tuned"]["generator_average_decay"] == 0.99998
    fast = PRESETS["mnist-fast"]
    assert {k for k in paper if fast[k] != paper[k]} == {"learning_rate", "discriminator_loss_scale",
                                                         "generator_average_decay", "iterations"}
    assert set(fast) == set(paper)
    assert (fast["learning_rate"], fast["discriminator_loss_scale"], fast["generator_average_decay"],
            fast["iterations"]) == (0.4, 0.25, 0.99998, 500 * 60)
    # D steps at paper-mnist's doubled rate (0.4 x 0.25 = 0.2 x 0.5), G at four times the paper's
    assert fast["learning_rate"] * fast["discriminator_loss_scale"] == 2 * paper["learning_rate"] * \
        paper["discriminator_loss_scale"]
    fashion = PRESETS["fashion-tuned"]
    assert {k for k in paper if fashion[k] != paper[k]} == {"dataset", "learning_rate", "generator_average_decay"}
    assert set(fashion) == set(paper)
    assert (fashion["dataset"], fashion["learning_rate"], fashion["generator_average_decay"]) == \
        ("fashion-mnist", 0.05, 0.99998)


def test_an_epoch_follows_the_minibatch_size():
    config = preset_config("paper-mnist", batch_size=50)
    assert config["iterations_per_epoch"] == 1000 and config["iterations"] == 250 * 1000
    with pytest.raises(ValueError, match="more than the 50000 training images"):
        preset_config("paper-mnist", batch_size=50001)
    with pytest.raises(ValueError, match="generator_output must be 'sigmoid'"):
        preset_config("paper-mnist", generator_output="linear")


def test_mnist_diversity_of_the_data_and_of_a_collapsed_generator(mnist):
    rng = np.random.default_rng(0)
    assert 0.17 < diversity(mnist.sample(1000, rng)) < 0.21
    assert diversity(np.repeat(mnist.train[:1], 1000, axis=0)) == 0.0


# -- training on a small image set -----------------------------------------------------------------

def tiny_images(n=60, side=4, seed=0):
    """An ImageData of n (side x side) images: two kinds of bars, in [0, 1]."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, side, side), dtype=np.float32)
    images[: n // 2, :, 0] = 1.0
    images[n // 2:, 0, :] = 1.0
    images = np.clip(images + rng.uniform(0, 0.1, images.shape).astype(np.float32), 0, 1).reshape(n, -1)
    labels = np.zeros(n, dtype=np.uint8)
    held_out = images[rng.integers(n, size=2000)]  # quick_parzen: 1,000 to choose sigma, 1,000 to score
    return ImageData("mnist", images, labels, held_out, np.zeros(2000, dtype=np.uint8), images[:10], labels[:10],
                     image_shape=(side, side))


def tiny_pixels(n=60, side=4, seed=0):
    """Like tiny_images, but uint8 pixel values 0..255 as MNIST is stored; and the same images
    as float32 pixel / 255 (the splits npgan held before it kept uint8)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(n, side, side), dtype=np.uint8)
    images[: n // 2, :, 0] = 255
    images[n // 2:, 0, :] = rng.integers(200, 256, size=(n - n // 2, side), dtype=np.uint8)
    images = images.reshape(n, -1)
    held_out = images[rng.integers(n, size=2000)]

    def image_data(convert):
        return ImageData("mnist", convert(images), np.zeros(n, dtype=np.uint8), convert(held_out),
                         np.zeros(2000, dtype=np.uint8), convert(images[:10]), np.zeros(10, dtype=np.uint8),
                         image_shape=(side, side))

    return image_data(lambda pixels: pixels), image_data(lambda pixels: np.divide(pixels, np.float32(255),
                                                                                   dtype=np.float32))


def run(trainer, out_dir, **options):
    """npgan.run.train_run with the monitors `npgan train` gives it (quick Parzen, samples.png, parzen.png)."""
    return train_run(trainer, out_dir, monitors=standard_monitors(trainer.dataset), **options)


def scored_run(trainer, out_dir, **options):
    """train_run with the one monitor that enters the training's records and best.npz, the quick
    Parzen estimate, and none of the figures (which take most of a tiny run's time)."""
    return train_run(trainer, out_dir, monitors=Monitors(validation_score=quick_parzen_score), **options)


def tiny_config(**overrides):
    settings = dict(noise_dim=4, generator_hidden=[16], discriminator_hidden=[8, 8], discriminator_pieces=2,
                    batch_size=10, iterations_per_epoch=6, iterations=30, log_every=6, checkpoint_every=6)
    settings.update(overrides)
    return preset_config("paper-mnist", **settings)


def test_shuffled_batches_visit_every_row_once_per_pass():
    batches = ShuffledBatches(Pixels(np.arange(30, dtype=np.float32).reshape(30, 1)))
    rng = np.random.default_rng(1)
    passes = [np.concatenate([batches.sample(10, rng) for _ in range(3)]).ravel() for _ in range(2)]
    assert all(sorted(p) == list(range(30)) for p in passes)
    assert not np.array_equal(passes[0], passes[1])  # a fresh permutation each pass
    with pytest.raises(ValueError, match="minibatch of 31 rows"):
        batches.sample(31, rng)


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
def test_image_resume_is_bit_identical_mid_epoch(tmp_path, order):
    from tests.test_run import straight_and_resumed

    data = tiny_images()
    config = tiny_config(update_order=order, checkpoint_every=4)  # checkpoints fall inside epochs
    straight, first, resumed = straight_and_resumed(tmp_path, config, data, 16, run=scored_run)
    assert resumed.batches.position == first.batches.position == 40  # 16 minibatches of 10, passes of 60
    scored_run(resumed, tmp_path / "resumed")
    for name, value in straight.gan.params.items():
        np.testing.assert_array_equal(resumed.gan.params[name], value, err_msg=name)


def test_training_on_uint8_pixels_gives_the_parameters_of_the_float32_splits(tmp_path):
    stored, former = tiny_pixels()
    assert stored.pixels["train"].images.dtype == np.uint8 and former.pixels["train"].images.dtype == np.float32
    runs = {}
    for label, data in (("uint8", stored), ("float32", former)):
        runs[label] = Trainer(tiny_config(), data)
        scored_run(runs[label], tmp_path / label)  # minibatches, logit-mean bias, diversity, quick Parzen
    for name, value in runs["float32"].gan.params.items():
        np.testing.assert_array_equal(runs["uint8"].gan.params[name], value, err_msg=name)
    records = [[json.loads(line) for line in open(tmp_path / label / "metrics.jsonl")] for label in runs]
    assert [r["parzen_validation"] for r in records[0]] == [r["parzen_validation"] for r in records[1]]
    assert [r["data_diversity"] for r in records[0]] == [r["data_diversity"] for r in records[1]]


def test_paper_mnist_from_uint8_pixels_is_what_it_was_from_the_float32_splits(mnist):
    """Two iterations of the real thing: the logit-mean bias and the minibatches the same to the bit."""
    former = ImageData("mnist", mnist.train, mnist.train_labels, mnist.validation, mnist.validation_labels,
                       mnist.test, mnist.test_labels)  # float32 splits, used as they are
    config = preset_config("paper-mnist", iterations=2)
    now, before = Trainer(config, mnist), Trainer(config, former)
    np.testing.assert_array_equal(now.gan.params["G.4.b"], output_bias_from_data(mnist.train))
    for trainer in (now, before):
        trainer.train_iteration()
        trainer.train_iteration()
    for name, value in before.gan.params.items():
        np.testing.assert_array_equal(now.gan.params[name], value, err_msg=name)


def test_training_and_resuming_never_convert_a_whole_split(tmp_path, forbid_whole_splits):
    """Only the rows in use become float32: minibatches, monitoring samples, quick Parzen's 2,000
    validation rows; and a resumed trainer keeps no reference to the checkpoint's arrays."""
    import gc
    import weakref

    data, _ = tiny_pixels()
    config = tiny_config(iterations=12)
    run(Trainer(config, data), tmp_path)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.npz")
    arrays = {name: weakref.ref(array) for name, array in checkpoint.arrays.items()}
    resumed = Trainer.from_checkpoint(checkpoint, data, iterations=18)
    del checkpoint
    gc.collect()
    assert [name for name, array in arrays.items() if array() is not None] == []
    run(resumed, tmp_path)
    assert resumed.iteration == 18
    with pytest.raises(AssertionError, match="the whole train split was converted"):
        data.train


def test_image_run_directory_epoch_checkpoints_samples_and_metrics(tmp_path):
    trainer = Trainer(tiny_config(learning_rate=0.05), tiny_images())
    run(trainer, tmp_path, keep_checkpoints=2)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["best.npz", "epoch-0004.npz", "epoch-0005.npz"]
    epoch4 = load_checkpoint(tmp_path / "checkpoints" / "epoch-0004.npz")
    assert epoch4.state["iteration"] == 24
    assert load_checkpoint(tmp_path / "checkpoint.npz").state["iteration"] == 30
    assert os.path.getsize(tmp_path / "samples.png") > 1000
    assert os.path.getsize(tmp_path / "parzen.png") > 1000
    records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [r["epoch"] for r in records] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert {"sample_diversity", "data_diversity", "collapse_warning"} <= set(records[0])
    assert len({r["data_diversity"] for r in records}) == 1
    # the quick Parzen estimate at every epoch's end; best.npz is the checkpoint of the best one
    scores = [r["parzen_validation"] for r in records]
    assert all(np.isfinite(scores)) and len(set(scores)) > 1
    best = load_checkpoint(tmp_path / "checkpoints" / "best.npz")
    assert best.state["parzen_validation"] == max(scores)
    assert best.state["iteration"] == 6 * (1 + scores.index(max(scores)))


def test_a_collapse_is_warned_when_diversity_falls(tmp_path, monkeypatch):
    """The warning fires when G's diversity falls below half the data's after having been
    above it, or to under half its own best (the sequential order's collapse on MNIST never
    got above 0.29 of the data's), and at the end of a run that ends there; not while a
    young G's diversity is still growing."""
    import npgan.run

    for measured, expected in (([0.05, 0.30, 0.25, 0.05, 0.04], [False, False, False, True, True]),
                               ([0.01, 0.03, 0.05, 0.02, 0.03], [False, False, False, True, True]),
                               ([0.01, 0.02, 0.03, 0.04, 0.05], [False, False, False, False, True])):
        values = iter([0.2] + measured)  # the data's first, then G's at the five logs
        monkeypatch.setattr(npgan.run, "diversity", lambda samples: next(values))
        records = []
        train_run(Trainer(tiny_config(), tiny_images()), tmp_path / str(measured), on_log=records.append)
        assert [r["collapse_warning"] for r in records] == expected, measured
        assert [r["sample_diversity"] for r in records] == measured


def test_figures_2_and_3_from_a_checkpoint_through_the_command_line(tmp_path, mnist, capsys):
    config = preset_config("paper-mnist", generator_hidden=[32], discriminator_hidden=[8, 8], iterations=1)
    trainer = Trainer(config, mnist)
    trainer.save(tmp_path / "checkpoint.npz")
    checkpoint = str(tmp_path / "checkpoint.npz")
    assert main(["figure", "2", "--checkpoint", checkpoint, "--data-dir", mnist_dir(),
                 "--out", str(tmp_path / "fig2.png")]) == 0
    assert main(["figure", "3", "--checkpoint", checkpoint, "--out", str(tmp_path / "fig3.png")]) == 0
    assert os.path.getsize(tmp_path / "fig2.png") > 1000 and os.path.getsize(tmp_path / "fig3.png") > 1000
    capsys.readouterr()
    assert main(["figure", "2", "--out", str(tmp_path / "x.png")]) == 2
    assert "figure 2 needs --checkpoint" in capsys.readouterr().err
    assert main(["figure", "3", "--checkpoint", checkpoint, "--out", str(tmp_path / "no" / "fig3.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("quiet", [True, False])
def test_npgan_train_prints_the_collapse_warning(capsys, quiet):
    from npgan.cli_train import _progress_bar

    bar, _, on_log = _progress_bar(10, 0, quiet=quiet)
    record = {"iteration": 5000, "sample_diversity": 0.004, "data_diversity": 0.191, "collapse_warning": False}
    on_log(record)
    assert "warning" not in capsys.readouterr().err
    on_log({**record, "collapse_warning": True})
    if bar is not None:
        bar.close()
    err = capsys.readouterr().err
    assert "warning: at iteration 5000 G's samples vary far less than the data (diversity 0.004 vs 0.191)" in err
