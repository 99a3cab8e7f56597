"""G fitted to the two-mode bimodal1d target under each f-divergence: the runs behind
``npgan figure divergences`` (npgan.paper_figures.divergences_figure) and benchmarks/divergences.py.

bimodal1d has modes at -2 and +2, std 0.5. divergence_runs trains its preset under each
f-divergence of npgan.divergences (per-divergence settings in DIVERGENCE_RUN_SETTINGS) and
returns samples of G; mode_masses gives the mass G puts within 3 std of each mode:
mode-covering against mode-seeking.
"""

import numpy as np

from npgan.data.toy import BIMODAL1D
from npgan.divergences import DIVERGENCE_NAMES
from npgan.evaluate.modes import evaluate_toy
from npgan.models import preset_config
from npgan.train import Trainer, TrainingDiverged

DIVERGENCES_FIGURE_SAMPLES = 5000
# Per-divergence settings on top of the bimodal1d preset. KL's critic maximises
# E_P[T] - E_Q[exp(T - 1)], whose optimum 1 + log(p/q) is unbounded where G has no mass:
# from the preset's narrow G (weights U(-1/sqrt(fan_in), ..)) it diverged on every seed
# tried (benchmarks/RESULTS.md). G's weights from U(-1, 1) put mass on both modes at the
# start, and KL then trains on every seed.
DIVERGENCE_RUN_SETTINGS = {"kl": {"generator_init_scale": 1.0}}


def divergence_run_config(name, *, seed=0, overrides=None):
    """The configuration of divergence_runs' run of ``name``: bimodal1d, then
    DIVERGENCE_RUN_SETTINGS[name], then overrides[name]."""
    settings = {**DIVERGENCE_RUN_SETTINGS.get(name, {}), **(overrides or {}).get(name, {})}
    return preset_config("bimodal1d", divergence=name, seed=seed, **settings)


def divergence_runs(*, seed=0, names=None, overrides=None):
    """Train the bimodal1d preset under each f-divergence (names: default all six) and
    return {name: samples (DIVERGENCES_FIGURE_SAMPLES, 1)}, or None for a run that
    diverged. overrides: {name: {config key: value}} on top of DIVERGENCE_RUN_SETTINGS."""
    runs = {}
    for name in names or DIVERGENCE_NAMES:
        trainer = Trainer(divergence_run_config(name, seed=seed, overrides=overrides), BIMODAL1D)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                for _ in range(trainer.config["iterations"]):
                    trainer.train_iteration()
        except TrainingDiverged:
            runs[name] = None
            continue
        runs[name] = trainer.sample(DIVERGENCES_FIGURE_SAMPLES, np.random.default_rng(seed + 1))
    return runs


def mode_masses(samples, toy=None):
    """The fraction of ``samples`` within 3 std of each mode centre of ``toy`` (default bimodal1d)."""
    toy = toy or BIMODAL1D
    coverage = evaluate_toy(np.asarray(samples, dtype=np.float64), toy)
    return np.asarray(coverage.per_mode_counts) / coverage.n_samples
