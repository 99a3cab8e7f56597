"""Algorithm 1: step counts, update orders, seeding, learning, divergence, the averaged G."""

import dataclasses

import numpy as np
import pytest

from npgan.checkpoint import load_checkpoint
from npgan.data.toy import GAUSS1D, RING8
from npgan.models import preset_config
from npgan.run import train_run
from npgan.train import Trainer, TrainingDiverged


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


def test_monitoring_is_stable_for_saturated_logits():
    """D(x) for the metrics comes from the stable sigmoid: no overflow at logits of -+1000."""
    from npgan.gan import StepResult
    from npgan.train import step_metrics

    logits = np.array([[-1000.0], [1000.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = step_metrics(StepResult(1.0, logits, logits), StepResult(0.5, None, logits))
    assert values["mean_d_real"] == values["mean_d_fake"] == 0.5
    assert values["false_negatives"] == values["false_positives"] == 0.5


# -- divergence names what went wrong ----------------------------------------------------------

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
    """The update itself writes the NaN (from a poisoned velocity, the gradients finite): on the fast
    path the compiled update's own check finds it, on the reference path the check after the step."""
    real = trainer.optimizer_g.step

    def step_to_nan(grads):
        if trainer.iteration == 3:
            trainer.optimizer_g._slots["velocity"]["G.0.b"][1] = np.nan
        return real(grads)

    monkeypatch.setattr(trainer.optimizer_g, "step", step_to_nan)


@pytest.mark.parametrize("poison, quantity, message", [
    (poison_loss, "the D loss", "the D loss became nan at iteration 4"),
    (poison_gradient, "the gradient of G.2.W", "the gradient of G.2.W became inf at iteration 4 (the G step; it "
                                               "changed no parameter)"),
    (poison_parameter, "parameter G.0.b", "parameter G.0.b became NaN at iteration 4 (the G step)"),
])
def test_divergence_names_the_quantity_and_the_iteration(tmp_path, monkeypatch, kernel_backend, poison, quantity,
                                                         message):
    # momentum: the optimizer with a compiled update (poison_parameter's NaN is found in its pass)
    trainer = Trainer(small_config(checkpoint_every=2, optimizer="momentum", learning_rate=0.01), RING8)
    poison(trainer, monkeypatch)
    with pytest.raises(TrainingDiverged) as caught:
        train_run(trainer, tmp_path)
    assert str(caught.value) == message
    assert caught.value.quantity == quantity and caught.value.iteration == 4
    assert load_checkpoint(tmp_path / "checkpoint.npz").state["iteration"] == 2  # the last good one


def test_a_non_finite_gradient_is_refused_by_the_optimizer_and_named_by_the_trainer(monkeypatch):
    """Finiteness is checked once per step, by the optimizer (npgan.optim.NonFiniteGradient); the
    trainer turns it into TrainingDiverged naming the gradient, and no parameter has moved."""
    from npgan.optim import NonFiniteGradient

    trainer = Trainer(small_config(), RING8)
    trainer.train_iteration()
    before = parameters(trainer)
    real_gradients, real_step = trainer.gan.discriminator_gradients, trainer.optimizer_d.step
    refused = []

    def with_nan_gradient(*args, **kwargs):
        result = real_gradients(*args, **kwargs)
        trainer.gan.discriminator.grads["3.W"][2, 0] = np.nan  # not the first array checked
        return result

    def watched_step(grads):
        try:
            real_step(grads)
        except NonFiniteGradient as error:
            refused.append(error.name)
            raise

    monkeypatch.setattr(trainer.gan, "discriminator_gradients", with_nan_gradient)
    monkeypatch.setattr(trainer.optimizer_d, "step", watched_step)
    with pytest.raises(TrainingDiverged) as caught:
        trainer.train_iteration()
    assert refused == ["D.3.W"]  # the trainer handed the gradients over unchecked: one check, the optimizer's
    assert str(caught.value) == ("the gradient of D.3.W became NaN at iteration 2 (the D step; it changed no "
                                 "parameter)")
    assert caught.value.quantity == "the gradient of D.3.W" and caught.value.iteration == 2
    assert trainer.iteration == 1 and trainer.optimizer_d.iteration == 1 and trainer.optimizer_g.iteration == 1
    for name, value in parameters(trainer).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


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
    np.testing.assert_array_equal(averaged.sample(9, rng()), averaged.model.sample(9, rng()))


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
