"""Stacked MNIST: the data (npgan.data.stacked through load_image_dataset) and its mode count
(npgan.evaluate.modes: each channel classified by the shipped MNIST classifier), the preset, and
`npgan evaluate modes` on a stacked-mnist checkpoint."""

import hashlib
import json
import math
import os

import numpy as np
import pytest

from npgan.checkpoint import save_checkpoint
from npgan.cli import main
from npgan.data import load_dataset
from npgan.data.mnist import IMAGE_DATASETS, Pixels, load_image_dataset
from npgan.data.stacked import (
    IMAGE_PIXELS,
    NUM_MODES,
    SPLIT_SEEDS,
    StackedPixels,
    draw_triples,
    stack_channels,
    unstack_channels,
)
from npgan.evaluate.classifier import load_classifier, shipped_classifier_path
from npgan.evaluate.modes import (
    STACKED_SAMPLES,
    classify_stacked,
    evaluate_stacked,
    evaluate_toy,
    kl_to_uniform,
    stacked_mode_coverage,
)
from npgan.data.toy import RING8
from npgan.models import PRESETS, build_gan, preset_config
from npgan.train import Trainer

from tests.cli_checks import assert_one_npgan_line
from tests.conftest import COMMITTED_RESULTS, committed_generator, mnist_dir

LOG_1000 = math.log(1000)


@pytest.fixture(scope="module")
def stacked():
    return load_image_dataset("stacked-mnist", mnist_dir())


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(shipped_classifier_path("mnist"))


class FreshTriples:
    """A perfect generator: every sample three digits of ``digits`` (a Pixels) drawn anew."""

    def __init__(self, digits):
        self.digits = digits

    def sample(self, n, rng):
        return StackedPixels(self.digits, rng.integers(len(self.digits), size=(n, 3))).rows(slice(None))


class Repeats:
    """A collapsed generator: the same few images over and over."""

    def __init__(self, images):
        self.images = np.asarray(images)

    def sample(self, n, rng):
        return self.images[np.arange(n) % len(self.images)]


# -- the layout ------------------------------------------------------------------------------------

def test_the_layout_is_channel_last_and_unstacking_undoes_it():
    digits = np.random.default_rng(0).integers(0, 256, size=(4, 3, 784)).astype(np.uint8)
    rows = stack_channels(digits)
    assert rows.shape == (4, IMAGE_PIXELS) and rows.dtype == np.uint8
    images = rows.reshape(4, 28, 28, 3)  # an RGB batch
    for channel in range(3):
        np.testing.assert_array_equal(images[:, :, :, channel], digits[:, channel].reshape(4, 28, 28))
    h, w, channel = 5, 17, 2
    assert rows[1, (28 * h + w) * 3 + channel] == digits[1, channel, 28 * h + w]
    np.testing.assert_array_equal(unstack_channels(rows), digits)
    np.testing.assert_array_equal(stack_channels(digits[0]), rows[0])  # one image
    with pytest.raises(ValueError, match="2352 values"):
        unstack_channels(np.zeros((2, 784)))


def test_stacked_pixels_build_rows_from_the_digits_and_their_exact_column_mean():
    rng = np.random.default_rng(1)
    digits = Pixels(rng.integers(0, 256, size=(50, 784)).astype(np.uint8))
    triples = rng.integers(50, size=(123, 3))
    pixels = StackedPixels(digits, triples)
    assert len(pixels) == 123 and pixels.shape == (123, IMAGE_PIXELS)
    whole = pixels.rows(slice(None))
    assert whole.dtype == np.float32 and 0 <= whole.min() and whole.max() <= 1
    expected = stack_channels(digits.images[triples] / np.float32(255))
    np.testing.assert_array_equal(whole, expected)
    np.testing.assert_array_equal(pixels.rows(7), expected[7])
    np.testing.assert_array_equal(pixels.rows([5, 5, 0]), expected[[5, 5, 0]])
    np.testing.assert_array_equal(pixels.column_mean(chunk_rows=10), whole.mean(axis=0, dtype=np.float64))
    for bad, message in [(triples[:, :2], r"\(N, 3\) integer"), (triples + 0.5, "integer"),
                         (np.array([[0, 1, 50]]), "0..49")]:
        with pytest.raises(ValueError, match=message):
            StackedPixels(digits, bad)


# -- the data --------------------------------------------------------------------------------------

def test_stacked_mnist_is_an_image_dataset_of_seeded_triples_into_the_authors_splits(stacked, mnist):
    assert "stacked-mnist" in IMAGE_DATASETS and "stacked-mnist" in PRESETS
    assert stacked.name == "stacked-mnist" and stacked.dim == IMAGE_PIXELS and stacked.image_shape == (28, 28, 3)
    for split, size in (("train", 50000), ("validation", 10000), ("test", 10000)):
        pixels, labels = stacked.pixels[split], getattr(stacked, f"{split}_labels")
        assert stacked.size(split) == size and labels.shape == (size,) and labels.dtype == np.uint16
        np.testing.assert_array_equal(pixels.triples, draw_triples(size, size, SPLIT_SEEDS[split]))
        np.testing.assert_array_equal(pixels.digits.images, mnist.pixels[split].images)  # the MNIST split
        index = np.random.default_rng(0).integers(size, size=100)
        a, b, c = pixels.triples[index].T
        digit_labels = getattr(mnist, f"{split}_labels").astype(int)
        np.testing.assert_array_equal(labels[index], 100 * digit_labels[a] + 10 * digit_labels[b] + digit_labels[c])
        rows = stacked.rows(split, index)
        assert rows.dtype == np.float32 and rows.shape == (100, IMAGE_PIXELS)
        channels = unstack_channels(rows)
        for channel, chosen in enumerate((a, b, c)):
            np.testing.assert_array_equal(channels[:, channel], mnist.rows(split, chosen))
    assert np.unique(stacked.train_labels).size == NUM_MODES  # every triple is in the training set


def test_the_triples_are_pinned(stacked):
    """The same triples on every machine and NumPy version (default_rng's integers stream): if this
    fails, NumPy changed it, and with it every Stacked MNIST split."""
    pinned = {"train": ([[42531, 31848, 25556], [13489, 15391, 2048]],
                        "fa3a0060e61a9a5ab62aa2c68474456806430e6738a6c22d7a6a79a0dab73cda"),
              "validation": ([[4731, 5118, 7551], [9504, 348, 1441]],
                             "f0b039f417dfb83d90d9639b40a4bb5be800d591d90c30ece81e0c66ec81a97d"),
              "test": ([[8375, 2616, 1093], [2984, 4138, 8142]],
                       "0767af701bd768dc7a5db68d57248493f65e78c22ca9fca081896e7100538c19")}
    for split, (first, digest) in pinned.items():
        triples = stacked.pixels[split].triples
        assert triples[:2].tolist() == first
        assert hashlib.sha256(triples.astype("<i4").tobytes()).hexdigest() == digest
    assert stacked.train_labels[:3].tolist() == [118, 827, 890]


def test_memory_stays_bounded_only_triples_are_kept(stacked, forbid_whole_splits):
    """No 2,352-wide array is stored: each split keeps its triples (int32) and MNIST's uint8 digits."""
    for split in ("train", "validation", "test"):
        pixels = stacked.pixels[split]
        assert pixels.triples.dtype == np.int32 and pixels.digits.images.dtype == np.uint8
        assert pixels.digits.images.shape[1] == 784
    sample = stacked.sample(10, np.random.default_rng(0))
    assert sample.shape == (10, IMAGE_PIXELS) and sample.dtype == np.float32
    assert load_dataset("stacked-mnist", mnist_dir()).name == "stacked-mnist"


def test_algorithm_1_runs_on_stacked_mnist_with_the_preset(stacked, forbid_whole_splits):
    """The preset is paper-mnist on other data: G's output and D's input are 2,352 wide."""
    assert {key for key in PRESETS["paper-mnist"] if PRESETS["stacked-mnist"][key] != PRESETS["paper-mnist"][key]} \
        == {"dataset"}
    trainer = Trainer(preset_config("stacked-mnist", iterations=2), stacked)
    for _ in range(2):  # D sees 2,352-wide minibatches of the training set
        trainer.train_iteration()
    samples = trainer.sample(5, np.random.default_rng(0))
    assert samples.shape == (5, IMAGE_PIXELS) and np.all((0 <= samples) & (samples <= 1))


# -- the metric ------------------------------------------------------------------------------------

def test_kl_to_uniform_of_known_histograms():
    assert kl_to_uniform(np.full(1000, 26)) == 0.0
    assert kl_to_uniform(np.eye(1000)[3] * 26000) == pytest.approx(LOG_1000, abs=1e-12)
    assert kl_to_uniform(np.r_[np.full(10, 5), np.zeros(990)]) == pytest.approx(math.log(100), abs=1e-12)
    counts = np.random.default_rng(0).integers(0, 50, size=1000)
    share = counts[counts > 0] / counts.sum()
    assert kl_to_uniform(counts) == pytest.approx(float(np.sum(share * np.log(share * 1000))), rel=1e-12)


class ChannelMean:
    """A stand-in classifier that reads the digit off an image's mean pixel: digit / 10 + 0.05."""

    def predict(self, images):
        return np.floor(np.mean(images, axis=1) * 10).astype(np.int64)


def test_the_mode_is_100_a_plus_10_b_plus_c_of_channels_0_1_2():
    rng = np.random.default_rng(0)
    digits = rng.integers(10, size=(500, 3))
    samples = stack_channels(np.repeat((digits / 10 + 0.05)[:, :, None], 784, axis=2)).astype(np.float32)
    np.testing.assert_array_equal(classify_stacked(samples, ChannelMean()), digits)
    result = stacked_mode_coverage(samples, ChannelMean())
    modes = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
    np.testing.assert_array_equal(result.mode_counts, np.bincount(modes, minlength=1000))
    assert result.modes_captured == np.unique(modes).size and result.n_samples == 500 and result.num_modes == 1000
    for channel in range(3):
        np.testing.assert_array_equal(result.digit_counts[channel], np.bincount(digits[:, channel], minlength=10))
    assert result.kl_to_uniform == pytest.approx(kl_to_uniform(result.mode_counts))
    partly = stacked_mode_coverage(Repeats(samples[:10]).sample(1000, None), ChannelMean())  # 10 modes, 100 each
    assert np.unique(modes[:10]).size == 10
    assert partly.modes_captured == 10 and partly.kl_to_uniform == pytest.approx(math.log(100), abs=1e-12)


def test_real_stacked_images_reach_every_mode_with_a_small_kl(mnist, classifier):
    """A perfect generator: 26,000 images of fresh triples of MNIST test digits (the classifier:
    98.68% on them). What to expect: the rarest triple has probability 7.3e-4 (18 expected
    samples), so all 1,000 modes (P(one missing) < 1e-7); E[KL] = KL(q || uniform) + (K - 1) / 2n
    = 0.0055 + 0.0192, with q the triples as the classifier sees them: 0.0248, sd 0.0010 over
    multinomial draws. Measured: 1,000 modes, KL 0.024 (seeds 0 and 1: 0.024, 0.025)."""
    result = evaluate_stacked(FreshTriples(mnist.pixels["test"]), classifier, STACKED_SAMPLES, np.random.default_rng(0))
    assert result.n_samples == 26000 and result.modes_captured == 1000
    assert 0.020 < result.kl_to_uniform < 0.030
    test_share = np.bincount(mnist.test_labels, minlength=10) / 10000
    assert np.abs(result.digit_counts / 26000 - test_share).max() < 0.01


def test_the_stacked_training_set_as_the_generator(stacked, classifier):
    """ImageData.sample: 26,000 of the 50,000 training triples, with replacement (what a G that
    memorised its training set gives). The 50,000 triples themselves are a histogram with a KL of
    0.0135 to uniform, so E[KL] = 0.0135 + 0.0192 = 0.033. Measured: 1,000 modes, KL 0.032 (seeds
    0, 1, 2: 0.032, 0.034, 0.032)."""
    result = evaluate_stacked(stacked, classifier, STACKED_SAMPLES, np.random.default_rng(0))
    assert result.modes_captured == 1000 and 0.027 < result.kl_to_uniform < 0.039


def test_a_collapsed_generator_reaches_one_mode_and_kl_log_1000(stacked, classifier):
    one = stacked.rows("test", [0])
    result = evaluate_stacked(Repeats(one), classifier, 3000, np.random.default_rng(0), chunk=700)
    assert result.modes_captured == 1 and result.n_samples == 3000
    assert result.kl_to_uniform == pytest.approx(LOG_1000, abs=1e-12)
    assert result.mode_counts[stacked.test_labels[0]] == 3000  # the classifier reads the triple right


def test_chunks_give_the_samples_of_one_call(classifier):
    """evaluate_stacked draws G's noise chunk by chunk: the same z, so the same samples, as one call."""
    config = preset_config("stacked-mnist")
    gan = build_gan(config, IMAGE_PIXELS, rng=np.random.default_rng(3), dropout_rng=np.random.default_rng(3))
    chunked = evaluate_stacked(gan, classifier, 250, np.random.default_rng(5), chunk=60)
    whole = stacked_mode_coverage(gan.sample(250, np.random.default_rng(5)), classifier)
    np.testing.assert_array_equal(chunked.mode_counts, whole.mode_counts)
    np.testing.assert_array_equal(chunked.digit_counts, whole.digit_counts)


def test_bad_samples_and_arguments_are_refused_saying_why(classifier):
    for samples, message in [(np.zeros((5, 784)), "2352"), (np.zeros((0, IMAGE_PIXELS)), "n >= 1"),
                             (np.zeros(IMAGE_PIXELS), "2352"), (np.full((3, IMAGE_PIXELS), np.nan), "NaN")]:
        with pytest.raises(ValueError, match=message):
            stacked_mode_coverage(samples, classifier)

    class Garments:
        def predict(self, images):
            return np.full(len(images), 12)

    with pytest.raises(ValueError, match="0..9"):
        stacked_mode_coverage(np.zeros((2, IMAGE_PIXELS)), Garments())
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        evaluate_stacked(Repeats(np.zeros((1, IMAGE_PIXELS))), classifier, 10, rng=None)
    with pytest.raises(ValueError, match="n_samples"):
        evaluate_stacked(Repeats(np.zeros((1, IMAGE_PIXELS))), classifier, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="columns"):  # stacked samples given to the toy metric
        evaluate_toy(np.zeros((4, IMAGE_PIXELS)), RING8)


# -- the command -----------------------------------------------------------------------------------

def generator_checkpoint(path, preset, data_dim, seed=0):
    """An exported G of ``preset`` with random weights, its samples ``data_dim`` wide."""
    config = preset_config(preset)
    gan = build_gan(config, data_dim, rng=np.random.default_rng(seed), dropout_rng=np.random.default_rng(seed))
    save_checkpoint(path, config=config, state={"contents": "generator", "generator": "trained",
                                                "data_dim": data_dim, "iteration": 0},
                    arrays={name: value.astype(np.float32) for name, value in gan.params_of("G").items()})
    return str(path)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    directory = tmp_path_factory.mktemp("stacked")
    return {"stacked": generator_checkpoint(directory / "stacked.npz", "stacked-mnist", IMAGE_PIXELS),
            "stacked-784": generator_checkpoint(directory / "stacked-784.npz", "stacked-mnist", 784),
            "mnist": generator_checkpoint(directory / "mnist.npz", "paper-mnist", 784),
            "ring8": generator_checkpoint(directory / "ring8.npz", "ring8", 2),
            "ring8-2352": generator_checkpoint(directory / "ring8-2352.npz", "ring8", IMAGE_PIXELS)}


def test_evaluate_modes_json_on_a_stacked_checkpoint(checkpoints, capsys):
    """The keys a committed generator's row is reproduced from; 26,000 samples by default."""
    assert main(["evaluate", "modes", "--checkpoint", checkpoints["stacked"], "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "stacked-mnist" and result["num_modes"] == 1000 and result["n_samples"] == 26000
    assert 1 <= result["modes_captured"] <= 1000 and 0 <= result["kl_to_uniform"] <= LOG_1000 + 1e-12
    histograms = np.array(result["digit_histograms"])
    assert histograms.shape == (3, 10) and np.allclose(histograms.sum(axis=1), 1)
    assert result["seed"] == 0 and result["seconds"] > 0
    assert main(["evaluate", "modes", "--checkpoint", checkpoints["stacked"], "--samples", "500", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "of 1000 modes captured, KL to uniform" in out and "500 samples, seed 1" in out and "channel 2:" in out


def test_evaluate_modes_on_a_toy_checkpoint_keeps_its_keys(checkpoints, capsys):
    assert main(["evaluate", "modes", "--checkpoint", checkpoints["ring8"], "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"modes_captured", "num_modes", "high_quality_fraction", "high_quality_percent", "n_samples"} <= set(result)
    assert result["num_modes"] == 8 and result["n_samples"] == 2500


@pytest.mark.parametrize("name, message", [
    ("mnist", "mode coverage needs a toy checkpoint or a stacked-mnist one; {path} was trained on mnist"),
    ("stacked-784", "(n, 2352)"),
    ("ring8-2352", "samples have 2352 columns but centres have 2"),
])
def test_a_checkpoint_of_other_data_is_one_line(checkpoints, capsys, name, message):
    assert main(["evaluate", "modes", "--checkpoint", checkpoints[name], "--samples", "100"]) == 2
    assert_one_npgan_line(capsys.readouterr().err, message.format(path=checkpoints[name]))


# -- the committed generator --------------------------------------------------------------------------

def test_the_committed_generator_reproduces_its_row(capsys):
    """Issue 23: the best G of the stacked-mnist sweep (G alone, float32, under 20 MB), whose
    `npgan evaluate modes --json` row is recorded in stacked-mnist.json (docs/stacked-mnist.md);
    far past VEEGAN's 150 modes and KL 2.95, and past 900 modes and KL 0.5."""
    with open(os.path.join(COMMITTED_RESULTS, "stacked-mnist.json")) as handle:
        recorded = json.load(handle)["evaluate_modes"]
    path, _ = committed_generator("stacked-mnist-generator.npz", dataset="stacked-mnist", max_mib=20)
    assert main(["evaluate", "modes", "--checkpoint", path, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_samples"] == recorded["n_samples"] == 26000 and result["seed"] == recorded["seed"] == 0
    # the same machine type gives the same figures; a few channels on a class boundary may flip elsewhere
    assert abs(result["modes_captured"] - recorded["modes_captured"]) <= 3
    assert abs(result["kl_to_uniform"] - recorded["kl_to_uniform"]) < 0.01
    assert result["modes_captured"] >= 900 and result["kl_to_uniform"] <= 0.5
