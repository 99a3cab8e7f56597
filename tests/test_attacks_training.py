"""Training that fails without saying so (issue 17): every f-divergence trains gauss1d from the
defaults of `npgan train --preset gauss1d --divergence NAME` on seeds 0, 1 and 2, and a run
that explodes without overflowing (Adam at learning rate 1e6) stops as a divergence, exit 1,
one line, the last good checkpoint kept.

bimodal1d under every divergence is benchmarks/divergences.py's (18 runs of 3,000 iterations
do not fit the suite's time); its table is in benchmarks/RESULTS.md.
"""

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from npgan.checkpoint import load_checkpoint
from npgan.cli import main
from npgan.divergences import DIVERGENCE_NAMES, generator_objective, variational_objective
from npgan.experiments.f_divergences import divergence_run
from npgan.gan import StepResult
from npgan.models import PRESETS, preset_config

SEEDS = (0, 1, 2)
GAUSS1D_MEAN, GAUSS1D_STD = 4.0, 0.5
RUNAWAY_BOUND = 1e5  # npgan.train.RUNAWAY_LOGIT


def _gauss1d_moments(job):
    """G's sample mean and std after the run `npgan train --preset gauss1d --divergence NAME --seed
    SEED` trains (npgan.experiments.f_divergences.divergence_run: the same configuration and
    Trainer, without its run directory), or None if it diverged."""
    name, seed = job
    samples = divergence_run(name, seed=seed, preset="gauss1d", samples=5000)
    return None if samples is None else (float(np.mean(samples)), float(np.std(samples)))


def test_every_divergence_trains_gauss1d_from_its_defaults_on_three_seeds():
    """6 divergences x 3 seeds, each the full run `npgan train --preset gauss1d --divergence NAME
    --seed S` trains (1,500 iterations): G's mean and std within 0.1 of the data's (4, 0.5).
    Before: reverse KL's G loss became inf at iteration 16-30 on every seed, and Hellinger, KL and
    Pearson ended off the data (Hellinger seed 0: mean 1.89, std 0.01). The runs go to one process
    per core (spawned, each with one BLAS thread): about 80 s of work."""
    jobs = [(name, seed) for name in DIVERGENCE_NAMES for seed in SEEDS]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        moments = dict(zip(jobs, pool.map(_gauss1d_moments, jobs)))
    failures = {job: result for job, result in moments.items()
                if result is None or abs(result[0] - GAUSS1D_MEAN) > 0.1 or abs(result[1] - GAUSS1D_STD) > 0.1}
    assert not failures, f"(divergence, seed): (mean, std) or None for diverged: {failures}"


def test_the_command_line_starts_each_divergence_from_its_defaults_and_an_option_wins(tmp_path, capsys,
                                                                                       without_monitors):
    """`npgan train --divergence NAME` writes the divergence's defaults into config.json, and an
    option given wins over them (no monitors: config.json is all the test reads)."""
    from npgan.models import DIVERGENCE_SETTINGS

    for name in DIVERGENCE_NAMES:
        out = tmp_path / name
        assert main(["train", "--preset", "gauss1d", "--divergence", name, "--iterations", "1", "--out", str(out),
                     "--no-progress"]) == 0
        config = json.loads((out / "config.json").read_text())
        expected = {**PRESETS["gauss1d"], **DIVERGENCE_SETTINGS["gauss1d"].get(name, {})}
        assert {key: config[key] for key in expected} == {**expected, "divergence": name, "iterations": 1}
    out = tmp_path / "reverse-kl-own-loss"
    assert main(["train", "--preset", "gauss1d", "--divergence", "reverse-kl", "--generator-loss", "non-saturating",
                 "--iterations", "1", "--out", str(out), "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["generator_loss"] == "non-saturating"
    assert preset_config("gauss1d", divergence="hellinger", noise_dim=2)["noise_dim"] == 2
    assert preset_config("gauss1d")["noise_dim"] == PRESETS["gauss1d"]["noise_dim"]  # the GAN: the preset itself
    capsys.readouterr()


def test_every_setting_names_a_configuration_key_and_a_divergence():
    from npgan.models import DIVERGENCE_SETTINGS

    for preset, by_divergence in DIVERGENCE_SETTINGS.items():
        assert preset in PRESETS
        for name, settings in by_divergence.items():
            assert name in DIVERGENCE_NAMES
            assert set(settings) <= set(PRESETS[preset])
            preset_config(preset, divergence=name)  # valid


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_critic_outputs_up_to_the_runaway_bound_give_finite_losses_and_gradients_in_float32(name):
    """The losses overflowed float32 at |V| = 88 where they held exp(+-V) (KL's critic, reverse KL's
    and Hellinger's non-saturating G loss). Now every loss and gradient is finite for every
    |V| <= 1e5 (npgan.train.RUNAWAY_LOGIT), except where f* itself is unbounded: Hellinger's f*(T) -> inf as
    T -> 1, so its critic penalty on a generated sample rated far more real than the data
    (V_fake above 88) overflows as it should."""
    outputs = np.array([-RUNAWAY_BOUND, -800.0, -100.0, -30.5, -1.0, 0.0, 1.0, 30.5, 100.0, 800.0, RUNAWAY_BOUND],
                       dtype=np.float32)
    fake = outputs[outputs <= 80.0] if name == "hellinger" else outputs
    value, grad_real, grad_fake = variational_objective(name, outputs, fake)
    assert np.isfinite(value) and np.all(np.isfinite(grad_real)) and np.all(np.isfinite(grad_fake))
    assert grad_real.dtype == grad_fake.dtype == np.float32
    for kind in ("minimax", "non-saturating"):
        value, grad = generator_objective(name, fake, kind)
        assert np.isfinite(value) and np.all(np.isfinite(grad)) and grad.dtype == np.float32, kind


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_a_run_that_explodes_without_overflowing_is_a_divergence(tmp_path, capsys):
    """Adam at learning rate 1e6 on ring8: before, exit 0 with losses of 2.7e5, D(x) = D(G(z)) =
    0.5 and a "mode collapse?" warning. Now exit 1, one line naming the rule, no checkpoint."""
    out = tmp_path / "run"
    assert main(["train", "--preset", "ring8", "--learning-rate", "1e6", "--iterations", "50", "--out", str(out),
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "RuntimeWarning" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("npgan: training diverged: the mean |logit| of D became ")
    assert (" at iteration 1 (the G step's minibatch; a run that has not run away stays below 100000; the step "
            "changed no parameter); no checkpoint had been written yet. Start again with a lower --learning-rate "
            "(this run: 1e+06).") in line
    assert not (out / "checkpoint.npz").exists() and not (out / ".lock").exists()


def test_a_runaway_after_a_checkpoint_keeps_it(tmp_path, capsys, monkeypatch):
    """D's logits blown up 1e6-fold at the D step of iteration 25: exit 1; the checkpoint of
    iteration 20 is kept, every value finite and D's logits on it ordinary."""
    import npgan.gan
    import npgan.models

    monkeypatch.setitem(npgan.models.PRESETS["ring8"], "checkpoint_every", 10)
    real = npgan.gan.GAN.discriminator_gradients
    calls = []

    def exploding(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 25:
            return StepResult(result.loss, result.real_logits * 1e6, result.fake_logits * 1e6)
        return result

    monkeypatch.setattr(npgan.gan.GAN, "discriminator_gradients", exploding)
    out = tmp_path / "run"
    assert main(["train", "--preset", "ring8", "--iterations", "30", "--batch-size", "16", "--out", str(out),
                 "--no-progress"]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("npgan: training diverged: the mean |logit| of D became ")
    assert "at iteration 25 (the D step's minibatch;" in line
    assert f"; the last good checkpoint is kept in {out / 'checkpoint.npz'}. Start again with" in line
    kept = load_checkpoint(out / "checkpoint.npz")
    assert kept.state["iteration"] == 20
    assert all(np.isfinite(value).all() for value in kept.arrays.values() if value.dtype.kind == "f")


def test_the_runaway_rule_is_the_mean_absolute_logit_of_the_step():
    from npgan.train import RUNAWAY_LOGIT, runaway_logits

    assert RUNAWAY_LOGIT == RUNAWAY_BOUND
    ordinary = StepResult(1.4, np.float32([[3.0], [-80.0]]), np.float32([[-2.0], [1.0]]))
    assert runaway_logits(ordinary) is None  # one large logit is not a run away D
    at_the_bound = StepResult(1.0, np.full((4, 1), RUNAWAY_LOGIT, np.float32),
                              np.full((4, 1), -RUNAWAY_LOGIT, np.float32))
    assert runaway_logits(at_the_bound) is None
    beyond = StepResult(1.0, None, np.float32([[3e38], [-3e38], [3e38]]))  # the mean in float64: no overflow
    assert runaway_logits(beyond) == pytest.approx(3e38, rel=1e-6)
