"""The classifier of the quality metrics: its loss (softmax cross-entropy, gradient-checked), its
training (seeded, chosen on validation), its file (verified, no pickle), the shipped weights and
their accuracy, and `npgan train-classifier` / `npgan evaluate classifier`."""

import configparser
import fnmatch
import json
import os
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npgan.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from npgan.cli import main
from npgan.data.mnist import DATASETS, ImageData
from npgan.evaluate.classifier import (
    DEFAULT_ARCHITECTURE,
    SHIPPED_DIR,
    load_classifier,
    parameter_shapes,
    save_classifier,
    shipped_classifier,
    shipped_classifier_path,
)
from npgan.evaluate.classifier_training import RECIPE, train_classifier
from npgan.losses import softmax_cross_entropy
from npgan.testing import assert_gradients_match
from tests.cli_checks import assert_one_npgan_line
from tests.conftest import fashion_mnist_dir, mnist_dir
from tests.strategies import seeds

REPOSITORY = os.path.join(os.path.dirname(__file__), "..")
ACCURACY_TARGETS = {"mnist": 0.985, "fashion-mnist": 0.89}


# -- the loss ----------------------------------------------------------------------------------

def test_uniform_logits_cost_log_k_and_push_towards_the_label():
    value, grad = softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 3]))
    assert value == pytest.approx(np.log(4), abs=1e-15)
    np.testing.assert_allclose(grad, [[0.125, -0.375, 0.125, 0.125], [0.125, 0.125, 0.125, -0.375]])


def test_the_value_matches_the_probability_form():
    rng = np.random.default_rng(0)
    logits, labels = rng.uniform(-4, 4, (6, 5)), rng.integers(0, 5, 6)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probabilities[np.arange(6), labels]))
    assert softmax_cross_entropy(logits, labels)[0] == pytest.approx(expected, rel=1e-13)


def test_huge_logits_stay_finite_log_sum_exp():
    """exp(1000) overflows; the log-sum-exp form never takes it."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = softmax_cross_entropy(np.array([[1000.0, -1000.0, 0.0], [1000.0, 999.0, -5.0]]),
                                            np.array([1, 0]))
    expected_second = np.log1p(np.exp(-1.0) + np.exp(-1005.0))
    assert value == pytest.approx((2000.0 + expected_second) / 2, rel=1e-15)
    np.testing.assert_allclose(grad[0], [0.5, -0.5, 0.0], atol=1e-300)
    assert np.isfinite(grad).all()


@given(seeds, st.integers(1, 7), st.integers(2, 6), st.floats(0.1, 4.0))
def test_softmax_cross_entropy_gradients(seed, rows, classes, spread):
    """Centred differences in long double against (softmax(a) - onehot(y)) / m; random upstream.
    Logits within +-4: a probability below about 1e-7 L gives a gradient entry that the finite
    difference of L cannot resolve to 1e-7 (L's own rounding / h); huge logits are checked in
    closed form above."""
    rng = np.random.default_rng(seed)
    logits, labels = rng.uniform(-spread, spread, (rows, classes)), rng.integers(0, classes, rows)

    def loss(a):
        return softmax_cross_entropy(a, labels)[0]

    def backward(upstream, a):
        return upstream * softmax_cross_entropy(a, labels)[1]

    report = assert_gradients_match(loss, logits, backward=backward, name="softmax_cross_entropy")
    assert report.threshold == 1e-7


def test_float32_stays_float32():
    _, grad = softmax_cross_entropy(np.zeros((3, 10), dtype=np.float32), np.arange(3))
    assert grad.dtype == np.float32


@pytest.mark.parametrize("logits, labels", [
    (np.zeros((3, 4)), np.array([0, 1, 4])),           # a label past the classes
    (np.zeros((3, 4)), np.array([0, -1, 2])),
    (np.zeros((3, 4)), np.array([0, 1])),              # one label short
    (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0])),     # not integers
    (np.zeros(4), np.array([0])),                      # not (m, K)
    (np.zeros((0, 4)), np.array([], dtype=int)),
    (np.zeros((3, 4), dtype=int), np.array([0, 1, 2])),
])
def test_bad_logits_or_labels_are_value_errors(logits, labels):
    with pytest.raises(ValueError):
        softmax_cross_entropy(logits, labels)


# -- training on a small dataset -----------------------------------------------------------------

def tiny_images(rng, n):
    """n images of 784 pixels whose class k lights rows 2k..2k+3 of the 28 x 28 grid, with noise."""
    labels = rng.integers(0, 10, n)
    images = rng.uniform(0, 0.3, (n, 28, 28))
    for index, label in enumerate(labels):
        images[index, 2 * label:2 * label + 4, :] += 0.6
    return np.clip(images, 0, 1).reshape(n, 784).astype(np.float32), labels.astype(np.uint8)


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    return ImageData("mnist", *tiny_images(rng, 300), *tiny_images(rng, 100), *tiny_images(rng, 100))


@pytest.fixture(scope="module")
def tiny_classifier(tiny_data):
    return train_classifier(tiny_data, seed=3, epochs=4)


def test_training_keeps_the_epoch_of_the_best_validation_accuracy(tiny_data, tiny_classifier):
    records = tiny_classifier.state["records"]
    accuracies = [record["validation_accuracy"] for record in records]
    assert tiny_classifier.state["epoch"] == 1 + int(np.argmax(accuracies))  # the earliest best
    assert tiny_classifier.state["validation_accuracy"] == max(accuracies)
    assert tiny_classifier.accuracy(tiny_data.validation, tiny_data.validation_labels) == max(accuracies)
    assert max(accuracies) > 0.8  # the classes are easy: it learns them in 12 updates


def test_training_is_reproducible_from_its_seed(tiny_data, tiny_classifier):
    again = train_classifier(tiny_data, seed=3, epochs=4)
    other = train_classifier(tiny_data, seed=4, epochs=1)
    for name, value in tiny_classifier.network.params.items():
        np.testing.assert_array_equal(again.network.params[name], value)
        assert not np.array_equal(other.network.params[name], value) or name.endswith(".b")


def test_early_stopping_after_patience_epochs_without_a_better_one(tiny_data):
    classifier = train_classifier(tiny_data, seed=3, epochs=30, patience=1)
    records = classifier.state["records"]
    assert len(records) < 30 and classifier.state["epochs_trained"] == len(records)
    assert records[-1]["validation_accuracy"] <= classifier.state["validation_accuracy"]


def test_weight_columns_stay_within_the_max_norm(tiny_classifier):
    for name, value in tiny_classifier.network.params.items():
        if name.endswith("W"):
            assert np.sqrt((value.astype(np.float64) ** 2).sum(axis=0)).max() <= RECIPE["max_column_norm"] * (1 + 1e-6)


def test_unknown_recipe_entries_are_refused(tiny_data):
    with pytest.raises(ValueError, match="unknown recipe entries"):
        train_classifier(tiny_data, learning_rat=0.1)


# -- the file --------------------------------------------------------------------------------------

def test_a_saved_classifier_loads_as_it_was(tmp_path, tiny_data, tiny_classifier):
    path = tmp_path / "classifier.npz"
    save_classifier(path, tiny_classifier)
    loaded = load_classifier(path)
    np.testing.assert_array_equal(loaded.predict(tiny_data.test), tiny_classifier.predict(tiny_data.test))
    np.testing.assert_array_equal(loaded.features(tiny_data.test), tiny_classifier.features(tiny_data.test))
    assert loaded.state["epoch"] == tiny_classifier.state["epoch"] and loaded.dataset == "mnist"


def write_lying_classifier(path, **config_changes):
    """A classifier file whose configuration claims what ``config_changes`` say, its arrays small."""
    config = {**DEFAULT_ARCHITECTURE, "dataset": "mnist", **config_changes}
    arrays = {name: np.zeros((2,) * len(shape), np.float32)
              for name, shape in parameter_shapes(DEFAULT_ARCHITECTURE).items()}
    save_checkpoint(path, config=config, state={}, arrays=arrays)


@pytest.mark.parametrize("damage, message", [
    ("truncated", "not an .npz"),
    ("flipped", "corrupt"),
    ("tampered", "SHA-256"),
    ("gan", "not an npgan classifier"),
    ("huge", "implies"),
    ("float64", "not finite float32"),
])
def test_damaged_classifier_files_are_refused(tmp_path, tiny_classifier, damage, message):
    path = tmp_path / "classifier.npz"
    save_classifier(path, tiny_classifier)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        path.write_bytes(data[:1000])
    elif damage == "flipped":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "tampered":  # one weight changed, the zip rewritten whole: its CRCs hold, its digest not
        with np.load(path, allow_pickle=False) as archive:
            arrays = dict(archive)
        arrays["classifier.1.W"][0, 0] += 1
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
    elif damage == "gan":
        save_checkpoint(path, config={"preset": "ring8"}, state={}, arrays={"G.0.W": np.zeros((2, 2), np.float32)})
    elif damage == "huge":  # 4096 units x 16 pieces claimed: refused before a byte of a weight is read
        write_lying_classifier(path, hidden_units=[4096, 4096], pieces=16)
    else:
        arrays = {f"classifier.{name}": value.astype(np.float64)
                  for name, value in tiny_classifier.network.params.items()}
        save_checkpoint(path, config=tiny_classifier.config, state={}, arrays=arrays)
    with pytest.raises(CheckpointError, match=message):
        load_classifier(path)


# -- the shipped classifiers -----------------------------------------------------------------------

@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_the_shipped_classifier_is_float32_and_loads_without_pickle(monkeypatch, dataset):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    path = shipped_classifier_path(dataset)
    assert os.path.getsize(path) < 8 * 2**20
    classifier = load_classifier(path)
    assert classifier.dataset == dataset and classifier.config["recipe"]["epochs"] >= classifier.state["epoch"]
    assert all(value.dtype == np.float32 for value in load_checkpoint(path).arrays.values())


def test_shipped_classifier_loads_the_one_of_its_dataset_and_refuses_another(monkeypatch):
    assert shipped_classifier("mnist").dataset == "mnist"
    import npgan.evaluate.classifier as module

    fashion = os.path.join(SHIPPED_DIR, "fashion-mnist.npz")
    monkeypatch.setattr(module, "shipped_classifier_path", lambda dataset: fashion)
    with pytest.raises(ValueError, match="is a classifier of fashion-mnist, not of mnist"):
        shipped_classifier("mnist")


def test_the_shipped_classifiers_are_package_data():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(REPOSITORY, "setup.cfg"))
    patterns = parser["options.package_data"]["npgan"].split()
    for dataset in DATASETS:
        relative = os.path.relpath(shipped_classifier_path(dataset), os.path.join(SHIPPED_DIR, "..", ".."))
        assert any(fnmatch.fnmatch(relative.replace(os.sep, "/"), pattern) for pattern in patterns), relative


def test_the_shipped_mnist_classifier_meets_its_accuracy(mnist):
    classifier = load_classifier(shipped_classifier_path("mnist"))
    assert classifier.accuracy(mnist.test, mnist.test_labels) >= ACCURACY_TARGETS["mnist"]


def test_the_shipped_fashion_classifier_meets_its_accuracy():
    from npgan.data.mnist import load_image_dataset

    data = load_image_dataset("fashion-mnist", fashion_mnist_dir())
    classifier = load_classifier(shipped_classifier_path("fashion-mnist"))
    assert classifier.accuracy(data.test, data.test_labels) >= ACCURACY_TARGETS["fashion-mnist"]


# -- the commands ----------------------------------------------------------------------------------

def test_evaluate_classifier_prints_the_test_accuracy(capsys):
    assert main(["evaluate", "classifier", "--dataset", "mnist", "--data-dir", mnist_dir(), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test_accuracy"] >= ACCURACY_TARGETS["mnist"] and result["validation_accuracy"] >= 0.985
    assert result["dataset"] == "mnist"


@pytest.fixture
def tiny_command_data(monkeypatch, tiny_data):
    """npgan train-classifier trains on tiny_data instead of a real dataset."""
    import npgan.cli

    monkeypatch.setattr(npgan.cli, "_image_data", lambda config, data_dir: tiny_data)


def test_train_classifier_writes_a_classifier_and_may_replace_it(tmp_path, capsys, tiny_command_data):
    out = tmp_path / "classifier.npz"
    for _ in range(2):  # the second run replaces the classifier the first wrote
        assert main(["train-classifier", "--epochs", "2", "--seed", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch   2" in printed and f"wrote {out}" in printed
    classifier = load_classifier(out)
    assert 0 <= classifier.state["test_accuracy"] <= 1 and classifier.config["seed"] == 1


def test_train_classifier_stops_in_one_line_when_it_diverges(tmp_path, capsys, monkeypatch, tiny_command_data):
    monkeypatch.setitem(RECIPE, "learning_rate", 1e30)
    monkeypatch.setitem(RECIPE, "max_column_norm", 1e30)
    out = tmp_path / "classifier.npz"
    assert main(["train-classifier", "--epochs", "2", "--out", str(out)]) == 1
    assert_one_npgan_line(capsys.readouterr().err, "training diverged", "nothing was written")
    assert not out.exists()


@pytest.fixture(scope="module")
def generator_file():
    return os.path.join(REPOSITORY, "benchmarks", "results", "mnist-tuned-generator.npz")


@pytest.mark.parametrize("argv, message", [
    (["train-classifier", "--epochs", "0", "--out", "{tmp}/c.npz"], ">= 1"),
    (["train-classifier", "--out", "{tmp}"], "not a regular file"),
    (["train-classifier", "--out", "{generator}"], "an exported generator"),
    (["train-classifier", "--dataset", "cifar", "--out", "{tmp}/c.npz"], "invalid choice"),
    (["evaluate", "classifier", "--classifier", "{tmp}/missing.npz"], "does not exist"),
    (["evaluate", "classifier", "--classifier", "{generator}"], "not an npgan classifier"),
    (["evaluate", "classifier", "--dataset", "mnist", "--classifier", "{fashion}"], "a classifier of fashion-mnist"),
])
def test_bad_classifier_commands_exit_2_in_one_line(tmp_path, capsys, generator_file, argv, message):
    argv = [arg.format(tmp=tmp_path, generator=generator_file, fashion=shipped_classifier_path("fashion-mnist"))
            for arg in argv]
    assert exit_code(argv) == 2
    assert_one_npgan_line(capsys.readouterr().err, message)


def exit_code(argv):
    """The exit code of `npgan *argv`, whether argparse or the command gave it."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code
