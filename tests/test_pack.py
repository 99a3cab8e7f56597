"""Packing (PacGAN, Lin et al. 2018): the Pack layer, D judging packs of samples in the GAN's
steps, its gradients against finite differences on both kernel paths and in both update orders,
the configuration key ``pack`` (validated, 1 for configurations from before it) and `npgan train
--pack`."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npgan.checkpoint import load_checkpoint, save_checkpoint
from npgan.cli import main
from npgan.data.toy import RING8
from npgan.gan import GAN
import npgan.gradcheck
from npgan.gradcheck import (LAYER_THRESHOLD, _draw_biases, check_discriminator_step, check_generator_step,
                             check_layer, small_gan)
from npgan.layers import Pack
from npgan.losses import GENERATOR_LOSSES, softplus
from npgan.models import PRESETS, build_discriminator, build_gan, preset_config, validate_config
from npgan.restore import checkpoint_config, gan_from_checkpoint, implied_parameter_shapes, read_checkpoint
from npgan.run import train_run
from npgan.train import Trainer
from tests.strategies import generator_kinds, seeds
from tests.test_train import small_config

PACKS = (2, 3)
UPDATE_ORDERS = ("sequential", "simultaneous")


# -- the layer ---------------------------------------------------------------------------------

def test_pack_puts_the_samples_of_a_pack_side_by_side():
    x = np.arange(12.0).reshape(6, 2)  # six samples of two features
    y = Pack(3).predict(x)
    np.testing.assert_array_equal(y, [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    pack, d = 3, 2
    for j in range(2):
        for i in range(pack):  # y[j, i d + k] = x[j pack + i, k]
            np.testing.assert_array_equal(y[j, i * d:(i + 1) * d], x[j * pack + i])
    assert np.shares_memory(y, x)  # a reshape: nothing copied
    np.testing.assert_array_equal(Pack(1).predict(x), x)


def test_pack_backward_is_the_inverse_reshape():
    layer = Pack(2)
    x = np.zeros((4, 3))
    layer.forward(x)
    grad_y = np.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(layer.backward(grad_y), grad_y.reshape(4, 3))
    layer.forward(x)
    assert layer.backward(grad_y, input_grad=False) is None


@settings(max_examples=15)
@given(seed=seeds, packs=st.integers(1, 4), pack=st.integers(1, 4), features=st.integers(1, 5))
def test_pack_gradients(kernel_backend, seed, packs, pack, features):
    rng = np.random.default_rng(seed)
    results = check_layer("Pack", Pack(pack), rng.standard_normal((packs * pack, features)), rng)
    assert [result.parameter for result in results] == ["x"]
    assert all(result.ok and result.checked == packs * pack * features for result in results), results
    assert max(result.rel_error for result in results) < LAYER_THRESHOLD


@pytest.mark.parametrize("x, message", [
    (np.zeros((5, 2)), "multiple of 2"), (np.zeros(4), "multiple of 2"), (np.zeros((4, 2), dtype=int), "floating")])
def test_pack_refuses_input_that_is_not_whole_packs(x, message):
    with pytest.raises(ValueError, match=message):
        Pack(2).forward(x)


@pytest.mark.parametrize("pack", [0, -1, 1.5, True, "2"])
def test_a_pack_that_is_not_a_positive_integer_is_refused(pack):
    with pytest.raises(ValueError, match="pack"):
        Pack(pack)


# -- D judging packs in the GAN's steps --------------------------------------------------------

def packed_toy_gan(rng, pack):
    """The ring8 preset's networks (ReLU D, dropout on its hidden layers) built by build_gan with
    ``pack``, narrower, in float64, biases drawn away from zero."""
    config = preset_config("ring8", pack=pack, batch_size=4 * pack, generator_hidden=[8, 8],
                           discriminator_hidden=[8, 8])
    gan = build_gan(config, 2, rng=rng, dropout_rng=rng, dtype=np.float64)
    _draw_biases(gan, rng)
    return gan


def batch(rng, rows, data_dim, noise_dim):
    """``rows`` real samples in (0, 1) and as many noise vectors."""
    return rng.uniform(0.05, 0.95, size=(rows, data_dim)), rng.uniform(-1.7, 1.7, size=(rows, noise_dim))


def check_packed_step(gan, x_real, z, network, update_order, kinds=GENERATOR_LOSSES):
    """npgan.gradcheck's step check of ``network`` ("D", or "G" for each G loss of ``kinds``), which
    splits D's logits at gan.real_packs: one logit per pack."""
    if network == "D":
        return check_discriminator_step(gan, x_real, z, update_order=update_order)
    return check_generator_step(gan, x_real, z, kind=tuple(kinds), update_order=update_order)


def assert_checks_pass(results):
    assert results, "no check ran"
    for result in results:
        assert result.checked > 0, result
        assert result.ok, result


@pytest.mark.parametrize("pack", PACKS)
@pytest.mark.parametrize("update_order", UPDATE_ORDERS)
@settings(max_examples=2)
@given(seed=seeds)
def test_whole_d_and_g_steps_with_packs_against_finite_differences(kernel_backend, pack, update_order, seed):
    """D and G of the paper's layer types (input dropout, maxout), packed: every parameter of D in
    the D step, of G in the G step for both G losses, below NETWORK_THRESHOLD."""
    rng = np.random.default_rng(seed)
    gan = small_gan(rng, pack=pack)
    x_real, z = batch(rng, 3 * pack, 6, 4)
    assert_checks_pass(check_packed_step(gan, x_real, z, "D", update_order))
    assert_checks_pass(check_packed_step(gan, x_real, z, "G", update_order))


@pytest.mark.parametrize("pack", PACKS)
@pytest.mark.parametrize("update_order", UPDATE_ORDERS)
def test_the_toy_preset_built_with_a_pack_passes_the_step_checks(kernel_backend, pack, update_order):
    """The networks build_gan makes from a configuration with ``pack`` (ReLU D, hidden dropout)."""
    rng = np.random.default_rng(pack)
    gan = packed_toy_gan(rng, pack)
    assert isinstance(gan.discriminator.layers[0], Pack) and gan.pack == pack
    x_real, z = batch(rng, 4 * pack, 2, 2)
    assert_checks_pass(check_packed_step(gan, x_real, z, "D", update_order))
    assert_checks_pass(check_packed_step(gan, x_real, z, "G", update_order, kinds=("non-saturating",)))


def test_the_check_fails_when_the_trainer_splits_the_logits_one_pack_off(monkeypatch):
    """A check that cannot fail proves nothing: a trainer that counted one real pack as generated
    (its logits split one pack off the boundary) gives gradients that are not those of L_D."""
    rng = np.random.default_rng(0)
    gan = small_gan(rng, pack=2)
    x_real, z = batch(rng, 6, 6, 4)
    trainer_gradients = npgan.gradcheck._run_trainer_gradients

    def one_pack_off(*args, **options):
        with monkeypatch.context() as patch:
            patch.setattr(GAN, "real_packs", lambda self, real_rows, fake_rows: real_rows // self.pack - 1)
            trainer_gradients(*args, **options)

    monkeypatch.setattr(npgan.gradcheck, "_run_trainer_gradients", one_pack_off)
    results = check_packed_step(gan, x_real, z, "D", "sequential")
    assert not all(result.ok for result in results)


@settings(max_examples=5)
@given(seed=seeds, pack=st.sampled_from(PACKS), kind=generator_kinds)
def test_packs_never_mix_real_and_generated_samples_and_the_losses_average_over_packs(seed, pack, kind):
    """In evaluation mode (no dropout) the D step's logits are D on the real packs alone, then D on
    the generated packs alone; L_D and L_G are means over packs of softplus."""
    rng = np.random.default_rng(seed)
    gan = small_gan(rng, pack=pack)
    gan.discriminator.eval()
    x_real, z = batch(rng, 3 * pack, 6, 4)
    d_step = gan.discriminator_gradients(x_real, z)
    x_fake = gan.generate(z)
    assert d_step.real_logits.shape == d_step.fake_logits.shape == (3, 1)  # m / pack logits each
    np.testing.assert_allclose(d_step.real_logits, gan.discriminator.predict(x_real), rtol=1e-12)
    np.testing.assert_allclose(d_step.fake_logits, gan.discriminator.predict(x_fake), rtol=1e-12)
    expected = np.mean(softplus(-d_step.real_logits)) + np.mean(softplus(d_step.fake_logits))
    assert d_step.loss == pytest.approx(expected, rel=1e-12)
    g_step = gan.generator_gradients(z, kind=kind)
    fake = g_step.fake_logits
    expected = np.mean(softplus(-fake)) if kind == "non-saturating" else -np.mean(softplus(fake))
    assert g_step.loss == pytest.approx(expected, rel=1e-12)
    d_result, g_result = gan.simultaneous_gradients(x_real, z, kind=kind)
    np.testing.assert_allclose(d_result.real_logits, d_step.real_logits, rtol=1e-12)
    assert g_result.fake_logits.shape == (3, 1)


@pytest.mark.parametrize("step", ["discriminator", "generator", "simultaneous"])
def test_a_batch_of_partial_packs_is_refused_before_any_pass(step):
    rng = np.random.default_rng(0)
    gan = small_gan(rng, pack=2)
    x_real, z = batch(rng, 4, 6, 4)
    with pytest.raises(ValueError, match="not whole packs"):
        if step == "discriminator":
            gan.discriminator_gradients(x_real[:3], z[:3])
        elif step == "generator":
            gan.generator_gradients(z[:3])
        else:
            gan.simultaneous_gradients(x_real, z[:3])
    assert not any(layer.awaiting_backward for layer in gan.generator.layers + gan.discriminator.layers)
    gan.simultaneous_gradients(x_real, z)  # nothing was left half done


# -- the configuration -------------------------------------------------------------------------

def test_every_preset_packs_nothing_and_builds_the_d_of_before():
    for name in PRESETS:
        config = preset_config(name)
        assert config["pack"] == 1
        D = build_discriminator(config, 2, rng=np.random.default_rng(0), dropout_rng=np.random.default_rng(1))
        assert not any(isinstance(layer, Pack) for layer in D.layers)


def test_a_configuration_from_before_pack_loads_with_pack_1():
    config = preset_config("grid25")
    del config["pack"]
    assert validate_config(config)["pack"] == 1


@pytest.mark.parametrize("pack, message", [
    (3, "pack 3 must divide batch_size 256"), (0, "pack must be an integer >= 1"),
    (2.0, "pack must be an integer"), (True, "pack must be an integer")])
def test_a_bad_pack_is_refused_saying_why(pack, message):
    with pytest.raises(ValueError, match=message):
        preset_config("ring8", pack=pack)


@pytest.mark.parametrize("preset", ["ring8", "paper-mnist"])
def test_the_implied_parameter_shapes_are_those_of_the_packed_networks(preset):
    """What a checkpoint is checked against before anything is built (npgan.restore): with a Pack
    first in D (a layer index) and D's first weights pack * data_dim wide; paper-mnist's D has input
    dropout too."""
    config = preset_config(preset, pack=4, generator_hidden=[5], discriminator_hidden=[3, 3])
    data_dim = 784 if preset == "paper-mnist" else 2
    gan = build_gan(config, data_dim, rng=np.random.default_rng(0), dropout_rng=np.random.default_rng(1))
    shapes = implied_parameter_shapes(config, {"data_dim": data_dim})
    assert shapes == {name: value.shape for name, value in gan.params.items()}
    assert shapes["D.1.W"][0] == 4 * data_dim if preset == "ring8" else shapes["D.2.W"][0] == 4 * data_dim


@pytest.mark.parametrize("pack", [1, 2])
def test_a_checkpoint_written_before_the_key_existed_loads_with_pack_1(tmp_path, pack):
    """A packed run's checkpoint rebuilds its packed D; one whose configuration has no ``pack`` (an
    npgan from before it) loads, resumes and samples as pack 1, and a packed D's parameters under
    it are refused as another architecture."""
    trainer = Trainer(small_config(pack=pack), RING8)
    checkpoint = load_checkpoint(train_run(trainer, tmp_path / "run"))
    assert gan_from_checkpoint(checkpoint).pack == pack
    old_config = {key: value for key, value in checkpoint.config.items() if key != "pack"}
    save_checkpoint(tmp_path / "old.npz", config=old_config, state=checkpoint.state, arrays=checkpoint.arrays)
    if pack > 1:
        with pytest.raises(ValueError, match="another architecture"):
            gan_from_checkpoint(read_checkpoint(tmp_path / "old.npz"))
        return
    old = read_checkpoint(tmp_path / "old.npz")
    assert checkpoint_config(old)["pack"] == 1 and gan_from_checkpoint(old).pack == 1
    resumed = Trainer.from_checkpoint(old, RING8, iterations=50)
    assert resumed.config["pack"] == 1
    resumed.train_iteration()


def test_train_with_pack_writes_it_into_the_run_and_resumes_and_samples(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "ring8", "--pack", "2", "--iterations", "30", "--out", str(out),
                 "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["pack"] == 2
    assert main(["train", "--resume", "--out", str(out), "--iterations", "40", "--no-progress"]) == 0
    assert main(["train", "--resume", "--out", str(out), "--pack", "4", "--iterations", "50"]) == 2
    assert "pack cannot change" in capsys.readouterr().err
    samples = tmp_path / "samples.npy"
    assert main(["sample", "--checkpoint", str(out / "checkpoint.npz"), "-n", "5", "--out", str(samples)]) == 0
    assert np.load(samples).shape == (5, 2)  # G samples one by one, whatever D judges


@pytest.mark.parametrize("argv, message", [
    (["--pack", "3"], "pack 3 must divide batch_size 256"), (["--pack", "0"], "expected a whole number >= 1"),
    (["--pack", "4", "--batch-size", "6"], "pack 4 must divide batch_size 6")])
def test_train_refuses_a_bad_pack_before_any_work(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    try:
        code = main(["train", "--preset", "ring8", "--out", str(out), *argv])
    except SystemExit as exit_info:  # argparse's own errors
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
