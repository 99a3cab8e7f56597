"""G fitted to the two-mode bimodal1d target under each f-divergence: the runs behind
``npgan figure divergences`` (npgan.paper_figures.divergences_figure) and benchmarks/divergences.py.

bimodal1d has modes at -2 and +2, std 0.5. divergence_runs trains its preset under each
f-divergence of npgan.divergences (per-divergence settings: npgan.models.DIVERGENCE_SETTINGS) and
returns samples of G; mode_masses gives the mass G puts within 3 std of each mode:
mode-covering against mode-seeking.

Which G loss: the preset's, the non-saturating -mean g_f(V_fake) with Adam, except where
DIVERGENCE_SETTINGS sets the minimax -mean f*(g_f(V_fake)) (reverse KL). At the optimal critic the
minimax loss has the gradient of D_f itself, the non-saturating one that of another divergence
(npgan/divergences.py lists them); overrides={name: {"generator_loss": "minimax"}} trains G with
the minimax loss under any divergence, as `npgan train --generator-loss minimax` does.
"""

import numpy as np

from npgan.data.toy import BIMODAL1D, TOY_DISTRIBUTIONS
from npgan.divergences import DIVERGENCE_NAMES
from npgan.evaluate.modes import evaluate_toy
from npgan.models import DIVERGENCE_SETTINGS, preset_config
from npgan.train import Trainer, TrainingDiverged

DIVERGENCES_FIGURE_SAMPLES = 5000
# The per-divergence settings on top of the bimodal1d preset are the CLI's own defaults
# (npgan.models.DIVERGENCE_SETTINGS, where the reasons are): the figure trains what
# `npgan train --preset bimodal1d --divergence NAME` trains.
DIVERGENCE_RUN_SETTINGS = DIVERGENCE_SETTINGS["bimodal1d"]


def divergence_run_config(name, *, seed=0, overrides=None, preset="bimodal1d"):
    """The configuration of divergence_runs' run of ``name``: ``preset``, then its per-divergence
    settings (npgan.models.preset_config applies them; DIVERGENCE_RUN_SETTINGS for bimodal1d),
    then overrides[name]."""
    return preset_config(preset, divergence=name, seed=seed, **(overrides or {}).get(name, {}))


def divergence_run(name, *, seed=0, overrides=None, preset="bimodal1d", samples=DIVERGENCES_FIGURE_SAMPLES):
    """Train the toy ``preset`` under divergence ``name`` from `npgan train --preset PRESET
    --divergence NAME --seed SEED`'s configuration (plus overrides[name]) for its iterations; return
    ``samples`` samples of G (noise from seed + 1), or None if the run diverged (TrainingDiverged)."""
    config = divergence_run_config(name, seed=seed, overrides=overrides, preset=preset)
    trainer = Trainer(config, TOY_DISTRIBUTIONS[config["dataset"]])
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(trainer.config["iterations"]):
                trainer.train_iteration()
    except TrainingDiverged:
        return None
    return trainer.sample(samples, np.random.default_rng(seed + 1))


def divergence_runs(*, seed=0, names=None, overrides=None, preset="bimodal1d"):
    """Train ``preset`` (default bimodal1d) under each f-divergence (names: default all six) and
    return {name: samples (DIVERGENCES_FIGURE_SAMPLES, 1)}, or None for a run that
    diverged. overrides: {name: {config key: value}} on top of the per-divergence settings."""
    return {name: divergence_run(name, seed=seed, overrides=overrides, preset=preset)
            for name in names or DIVERGENCE_NAMES}


def mode_masses(samples, toy=None):
    """The fraction of ``samples`` within 3 std of each mode centre of ``toy`` (default bimodal1d)."""
    toy = toy or BIMODAL1D
    coverage = evaluate_toy(np.asarray(samples, dtype=np.float64), toy)
    return np.asarray(coverage.per_mode_counts) / coverage.n_samples
