"""Algorithm 1: step counts, update orders, seeding, resume, learning, divergence."""

import dataclasses
import json

import numpy as np
import pytest

from npgan.checkpoint import load_checkpoint
from npgan.data.toy import GAUSS1D, RING8
from npgan.models import preset_config
from npgan.train import (
    RunDirectoryError,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    export_generator,
    gan_from_checkpoint,
    generate,
    train_run,
)


def small_config(preset="ring8", **overrides):
    settings = dict(generator_hidden=[16], discriminator_hidden=[16], discriminator_keep_probs=[1.0, 0.5],
                    batch_size=32, iterations=40, log_every=10, checkpoint_every=20)
    settings.update(overrides)
    return preset_config(preset, **settings)


def parameters(trainer):
    return {name: value.copy() for name, value in trainer.gan.params.items()}


def test_sequential_k3_makes_three_d_updates_per_g_update():
    trainer = Trainer(small_config(k_discriminator_steps=3), RING8)
    for _ in range(5):
        trainer.train_iteration()
    assert trainer.optimizer_d.iteration == 15
    assert trainer.optimizer_g.iteration == 5


def test_simultaneous_updates_each_net_once_per_iteration_from_one_batch():
    trainer = Trainer(small_config(update_order="simultaneous", k_discriminator_steps=3), RING8)
    data_state = dict(trainer.rngs["data"].bit_generator.state)
    trainer.train_iteration()
    assert trainer.optimizer_d.iteration == 1 and trainer.optimizer_g.iteration == 1
    replay = np.random.default_rng()
    replay.bit_generator.state = data_state
    RING8.sample(32, replay)  # exactly one minibatch of data was drawn
    assert replay.bit_generator.state == trainer.rngs["data"].bit_generator.state


def test_the_generator_step_does_not_move_d_and_the_d_step_does_not_move_g():
    trainer = Trainer(small_config(), RING8)
    before = parameters(trainer)
    trainer.generator_steps(3)
    after = parameters(trainer)
    assert all(np.array_equal(before[k], after[k]) for k in before if k.startswith("D."))
    assert any(not np.array_equal(before[k], after[k]) for k in before if k.startswith("G."))
    trainer.discriminator_steps(3)
    final = parameters(trainer)
    assert all(np.array_equal(after[k], final[k]) for k in after if k.startswith("G."))
    assert any(not np.array_equal(after[k], final[k]) for k in after if k.startswith("D."))


def test_the_same_seed_gives_identical_parameters_and_another_seed_does_not():
    runs = []
    for seed in (3, 3, 4):
        trainer = Trainer(small_config(seed=seed), RING8)
        for _ in range(20):
            trainer.train_iteration()
        runs.append(parameters(trainer))
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not all(np.array_equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_global_random_state_has_no_effect():
    results = []
    for global_seed in (0, 1):
        np.random.seed(global_seed)
        trainer = Trainer(small_config(), RING8)
        trainer.train_iteration()
        results.append(parameters(trainer))
    assert all(np.array_equal(results[0][k], results[1][k]) for k in results[0])


@pytest.mark.parametrize("order", ["sequential", "simultaneous"])
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, order, optimizer):
    config = small_config(update_order=order, optimizer=optimizer, learning_rate=0.01,
                          iterations=40, checkpoint_every=10)
    straight = Trainer(config, RING8)
    train_run(straight, tmp_path / "straight")

    first = Trainer({**config, "iterations": 20}, RING8)
    train_run(first, tmp_path / "resumed")
    resumed = Trainer.from_checkpoint(load_checkpoint(tmp_path / "resumed" / "checkpoint.npz"), RING8,
                                      iterations=40)
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
    samples = generate(gan, config, 7, np.random.default_rng(0))
    np.testing.assert_array_equal(samples, trainer.sample(7, np.random.default_rng(0)))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_tiny_gan_learns_the_1d_gaussian(seed):
    """From an initial G far from N(4, 0.5^2), the gauss1d preset's 1,500 iterations of
    Algorithm 1 bring G's mean and std to the data's (measured at seeds 0-3: mean 3.98-3.99,
    std 0.50; untrained: mean within 1 of 0)."""
    config = preset_config("gauss1d", seed=seed)
    trainer = Trainer(config, GAUSS1D)
    initial = trainer.sample(5000, np.random.default_rng(1))
    assert abs(initial.mean() - 4.0) > 2.0
    for _ in range(config["iterations"]):
        trainer.train_iteration()
    samples = trainer.sample(5000, np.random.default_rng(1))
    assert abs(samples.mean() - 4.0) < 0.1
    assert abs(samples.std() - 0.5) < 0.05


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_an_absurd_learning_rate_diverges_with_a_clear_error(tmp_path):
    trainer = Trainer(small_config(optimizer="momentum", learning_rate=1e30, iterations=200,
                                   checkpoint_every=1), RING8)
    with pytest.raises(TrainingDiverged, match="iteration"):
        train_run(trainer, tmp_path)
    kept = load_checkpoint(tmp_path / "checkpoint.npz")  # the last good one
    assert all(np.all(np.isfinite(value)) for value in kept.arrays.values())


def test_monitoring_is_stable_for_saturated_logits():
    """D(x) for the metrics comes from the stable sigmoid: no overflow at logits of -+1000."""
    from npgan.gan import StepResult
    from npgan.train import step_metrics

    logits = np.array([[-1000.0], [1000.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = step_metrics(StepResult(1.0, logits, logits), StepResult(0.5, None, logits))
    assert values["mean_d_real"] == values["mean_d_fake"] == 0.5
    assert values["false_negatives"] == values["false_positives"] == 0.5


# -- divergence names what went wrong; a stop request; metrics after a crash --------------------

def poison_loss(trainer, monkeypatch):
    real = trainer.gan.discriminator_gradients

    def with_nan_loss(*args, **kwargs):
        result = real(*args, **kwargs)
        return dataclasses.replace(result, loss=np.float32(np.nan)) if trainer.iteration == 3 else result

    monkeypatch.setattr(trainer.gan, "discriminator_gradients", with_nan_loss)


def poison_gradient(trainer, monkeypatch):
    real = trainer.gan.generator_gradients

    def with_inf_gradient(*args, **kwargs):
        result = real(*args, **kwargs)
        if trainer.iteration == 3:
            trainer.gan.generator.grads["2.W"][0, 0] = np.inf
        return result

    monkeypatch.setattr(trainer.gan, "generator_gradients", with_inf_gradient)


def poison_parameter(trainer, monkeypatch):
    real = trainer.optimizer_g.step

    def step_to_nan(grads):
        real(grads)
        if trainer.iteration == 3:
            trainer.gan.generator.params["0.b"][1] = np.nan

    monkeypatch.setattr(trainer.optimizer_g, "step", step_to_nan)


@pytest.mark.parametrize("poison, quantity, message", [
    (poison_loss, "the D loss", "the D loss became nan at iteration 4"),
    (poison_gradient, "the gradient of G.2.W", "the gradient of G.2.W became inf at iteration 4 (the G step; it "
                                               "changed no parameter)"),
    (poison_parameter, "parameter G.0.b", "parameter G.0.b became NaN at iteration 4 (the G step)"),
])
def test_divergence_names_the_quantity_and_the_iteration(tmp_path, monkeypatch, poison, quantity, message):
    trainer = Trainer(small_config(checkpoint_every=2), RING8)
    poison(trainer, monkeypatch)
    with pytest.raises(TrainingDiverged) as caught:
        train_run(trainer, tmp_path)
    assert str(caught.value) == message
    assert caught.value.quantity == quantity and caught.value.iteration == 4
    assert load_checkpoint(tmp_path / "checkpoint.npz").state["iteration"] == 2  # the last good one


def test_a_stop_request_checkpoints_mid_epoch_and_the_resume_is_bit_identical(tmp_path):
    from tests.test_paper_mnist import tiny_config, tiny_images

    data = tiny_images()
    config = tiny_config(iterations=12)  # epochs of 6 iterations, checkpoints and logs at their ends
    straight = Trainer(config, data)
    train_run(straight, tmp_path / "straight")
    first = Trainer(config, data)
    with pytest.raises(TrainingInterrupted) as caught:
        train_run(first, tmp_path / "stopped", stop_requested=lambda: first.iteration == 9)
    assert caught.value.iteration == 9
    assert load_checkpoint(tmp_path / "stopped" / "checkpoint.npz").state["iteration"] == 9
    assert [json.loads(line)["iteration"] for line in open(tmp_path / "stopped" / "metrics.jsonl")] == [6]
    resumed = Trainer.from_checkpoint(load_checkpoint(tmp_path / "stopped" / "checkpoint.npz"), data)
    train_run(resumed, tmp_path / "stopped")
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


# -- the parameter average of G (generator_average_decay; the mnist-tuned preset) ------------


def test_averaging_changes_what_samples_but_not_what_trains():
    plain, averaged = Trainer(small_config(), RING8), Trainer(small_config(generator_average_decay=0.9), RING8)
    for _ in range(30):
        plain.train_iteration()
        averaged.train_iteration()
    for name, value in plain.gan.params.items():
        np.testing.assert_array_equal(averaged.gan.params[name], value, err_msg=name)
    assert plain.model is plain.gan and averaged.model is not averaged.gan
    assert averaged.generator_average.updates == 30
    assert averaged.model.discriminator is averaged.gan.discriminator
    moved = [name for name, value in averaged.model.params_of("G").items()
             if not np.array_equal(value, averaged.gan.params[name])]
    assert moved == list(averaged.model.params_of("G"))
    rng = lambda: np.random.default_rng(5)  # noqa: E731
    assert not np.array_equal(averaged.sample(9, rng()), plain.sample(9, rng()))
    np.testing.assert_array_equal(averaged.sample(9, rng()), generate(averaged.model, averaged.config, 9, rng()))


def test_an_averaged_run_resumes_bit_identically(tmp_path):
    config = small_config(generator_average_decay=0.95, checkpoint_every=10)
    straight = Trainer(config, RING8)
    train_run(straight, tmp_path / "straight")
    first = Trainer({**config, "iterations": 20}, RING8)
    train_run(first, tmp_path / "resumed")
    resumed = Trainer.from_checkpoint(load_checkpoint(tmp_path / "resumed" / "checkpoint.npz"), RING8, iterations=40)
    train_run(resumed, tmp_path / "resumed")
    for network in ("gan", "model"):
        for name, value in getattr(straight, network).params.items():
            np.testing.assert_array_equal(getattr(resumed, network).params[name], value, err_msg=f"{network} {name}")
    assert resumed.generator_average.updates == 40


def test_averaging_switched_on_at_a_resume_starts_from_the_checkpoints_generator(tmp_path):
    config = small_config()
    train_run(Trainer({**config, "iterations": 20}, RING8), tmp_path)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.npz")
    resumed = Trainer.from_checkpoint(checkpoint, RING8, generator_average_decay=0.9)
    assert resumed.generator_average.updates == 0
    for name, value in resumed.model.params_of("G").items():
        np.testing.assert_array_equal(value, checkpoint.arrays[name])
    plain = Trainer.from_checkpoint(checkpoint, RING8)
    for _ in range(10):
        resumed.train_iteration()
        plain.train_iteration()
    for name, value in plain.gan.params.items():
        np.testing.assert_array_equal(resumed.gan.params[name], value, err_msg=name)


def test_a_checkpoint_gives_the_average_or_the_trained_generator(tmp_path):
    trainer = Trainer(small_config(generator_average_decay=0.9), RING8)
    path = train_run(trainer, tmp_path)
    checkpoint = load_checkpoint(path)
    for choice, source in (("average", trainer.model), ("trained", trainer.gan)):
        gan = gan_from_checkpoint(checkpoint, choice)
        for name, value in source.params_of("G").items():
            np.testing.assert_array_equal(gan.params[name], value, err_msg=f"{choice} {name}")
    with pytest.raises(ValueError, match="generator must be one of"):
        gan_from_checkpoint(checkpoint, "best")
    damaged = dataclasses.replace(checkpoint, arrays={k: v for k, v in checkpoint.arrays.items()
                                                      if not k.startswith("generator_average.")})
    with pytest.raises(ValueError, match="kept no parameter average"):
        gan_from_checkpoint(damaged)
    with pytest.raises(ValueError, match="ParameterAverage state"):
        Trainer.from_checkpoint(damaged, RING8)


@pytest.mark.parametrize("decay", [0.0, 0.9])
def test_an_exported_generator_samples_like_the_run_and_cannot_train(tmp_path, decay):
    trainer = Trainer(small_config(generator_average_decay=decay), RING8)
    checkpoint = load_checkpoint(train_run(trainer, tmp_path / "run"))
    exported = export_generator(checkpoint, tmp_path / "g.npz")
    loaded = load_checkpoint(tmp_path / "g.npz")
    assert set(loaded.arrays) == set(trainer.gan.params_of("G"))
    assert loaded.state["generator"] == ("average" if decay else "trained")
    gan = gan_from_checkpoint(loaded)
    assert gan.discriminator is None and exported.discriminator is None
    rng = lambda: np.random.default_rng(2)  # noqa: E731
    np.testing.assert_array_equal(generate(gan, trainer.config, 50, rng()), trainer.sample(50, rng()))
    with pytest.raises(ValueError, match="generator only"):
        Trainer.from_checkpoint(loaded, RING8)
    if decay:
        with pytest.raises(ValueError, match="only the average generator"):
            gan_from_checkpoint(loaded, "trained")
