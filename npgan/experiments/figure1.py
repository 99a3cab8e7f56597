"""Figure 1's protocol: one real 1-D run on gauss1d, stopped at four moments (the panels).

p_data = N(4, 0.5^2), a uniform prior z ~ U(-sqrt 3, sqrt 3), G a one-hidden-layer ReLU
net, D maxout (every setting pinned in FIGURE1_CONFIG). figure1_panels returns four
snapshots of one Trainer; npgan.paper_figures.figure1 draws them:

(a) part-way through training: Algorithm 1 from initialisation until the mean of G's
    samples first comes within FIGURE1_SHIFT of the data mean; p_g overlaps p_data but
    is shifted and broader, D is partially accurate.
(b) D trained alone (G fixed) for FIGURE1_DISCRIMINATOR_STEPS steps: D is close to
    Proposition 1's D*(x) = p_data / (p_data + p_g).
(c) G trained alone (D fixed) for FIGURE1_GENERATOR_STEPS steps: the gradient of D has
    guided G(z) towards the regions D classifies as data; p_g moves towards p_data.
(d) Algorithm 1 continued for FIGURE1_FINAL_ITERATIONS iterations: p_g is close to
    p_data and D is close to 1/2 everywhere (Theorem 1's optimum).

p_g is computed without sampling noise: G is applied to the midpoints of
FIGURE1_QUADRATURE_POINTS equal cells of the prior's range (a midpoint quadrature of the
uniform p_z), the outputs are binned on the x grid and smoothed by a Gaussian kernel of
bandwidth FIGURE1_BANDWIDTH. Its mean and standard deviation are those of the same points.
The map x = G(z) is also kept at FIGURE1_ARROWS evenly spaced z, for the figure's arrows.
"""

import math

import numpy as np

from npgan.data.toy import GAUSS1D
from npgan.layers import sigmoid
from npgan.models import preset_config
from npgan.theory import jensen_shannon_divergence, normalise_density, optimal_discriminator
from npgan.train import Trainer

#: Every setting of the Figure 1 run is pinned here (not taken from the gauss1d
#: preset's defaults), so that the figure does not change when the preset does.
#: A uniform prior as in the paper's figure; a one-hidden-layer G so that G(z) can
#: bend U(-sqrt 3, sqrt 3) into a bell (two hidden layers or 32 units converged
#: less often); a maxout D (on data centred at 4 every unit of a freshly built D
#: has its kink at x = 0, and ReLU units with a negative weight start dead);
#: k = 5 keeps D near D*: with it, seeds 0-9 all end (d) with p_g's mean in
#: [3.95, 4.01] and std in [0.47, 0.52], where k = 3 left seed 0 with p_g of std
#: 1.2 and a D too flat to tell it from p_data.
FIGURE1_CONFIG = {
    "noise": "uniform",
    "noise_dim": 1,
    "generator_hidden": [16],
    "generator_output": "linear",
    "generator_init_scale": None,
    "discriminator_kind": "maxout",
    "discriminator_hidden": [32, 32],
    "discriminator_pieces": 5,
    "discriminator_keep_probs": [1.0, 1.0, 1.0],
    "discriminator_init_scale": None,
    "k_discriminator_steps": 5,
    "generator_loss": "non-saturating",
    "update_order": "sequential",
    "optimizer": "adam",
    "learning_rate": 2e-3,
    "adam_beta1": 0.5,
    "batch_size": 128,
}
#: (a) ends when the mean of G's samples is within this distance of the data mean.
FIGURE1_SHIFT = 1.0
#: How often (iterations) and on how many samples the (a) criterion is checked,
#: and the most iterations (a) may take.
FIGURE1_CHECK_EVERY = 10
FIGURE1_CHECK_SAMPLES = 2000
FIGURE1_MAX_ITERATIONS_A = 2000
#: (b): D steps with G fixed; (c): G steps with D fixed; (d): Algorithm 1 iterations.
FIGURE1_DISCRIMINATOR_STEPS = 1000
FIGURE1_GENERATOR_STEPS = 15
FIGURE1_FINAL_ITERATIONS = 1000
#: p_g: G applied to this many evenly spaced z, then a Gaussian kernel of this bandwidth.
FIGURE1_QUADRATURE_POINTS = 20000
FIGURE1_BANDWIDTH = 0.05
#: The x grid on which every density and D are evaluated.
FIGURE1_GRID = (-4.0, 12.0, 1601)
#: "The bulk": grid points where p_data + p_g exceeds this fraction of its maximum.
FIGURE1_BULK_FRACTION = 0.05
#: Arrows drawn from the z line to the x line.
FIGURE1_ARROWS = 17


def figure1_panels(seed=0):
    """Run the Figure 1 protocol (module docstring) and return the four panel snapshots.

    Each snapshot is a dict: key ("a".."d"), label, steps, x, p_data, p_g,
    discriminator, optimal_discriminator, bulk, z_arrows, x_arrows, numbers.
    """
    trainer = Trainer(preset_config("gauss1d", seed=seed, **FIGURE1_CONFIG), GAUSS1D)
    check_rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    data_mean = float(GAUSS1D.centres[0, 0])
    x = np.linspace(*FIGURE1_GRID)

    iterations = 0
    while iterations < FIGURE1_MAX_ITERATIONS_A:
        for _ in range(FIGURE1_CHECK_EVERY):
            trainer.train_iteration()
        iterations += FIGURE1_CHECK_EVERY
        if abs(float(trainer.sample(FIGURE1_CHECK_SAMPLES, check_rng).mean()) - data_mean) <= FIGURE1_SHIFT:
            break
    panels = [_snapshot(trainer, x, "a", iterations,
                        f"(a) part-way: {iterations} iterations\nof Algorithm 1 from initialisation")]

    trainer.discriminator_steps(FIGURE1_DISCRIMINATOR_STEPS)
    panels.append(_snapshot(trainer, x, "b", FIGURE1_DISCRIMINATOR_STEPS,
                            f"(b) then {FIGURE1_DISCRIMINATOR_STEPS} steps of D alone:\n"
                            "D approaches D* = p_data / (p_data + p_g)"))

    trainer.generator_steps(FIGURE1_GENERATOR_STEPS)
    panels.append(_snapshot(trainer, x, "c", FIGURE1_GENERATOR_STEPS,
                            f"(c) then {FIGURE1_GENERATOR_STEPS} steps of G alone:\n"
                            "G(z) moves up D's slope, towards the data"))

    for _ in range(FIGURE1_FINAL_ITERATIONS):
        trainer.train_iteration()
    panels.append(_snapshot(trainer, x, "d", FIGURE1_FINAL_ITERATIONS,
                            f"(d) then {FIGURE1_FINAL_ITERATIONS} iterations of Algorithm 1:\n"
                            "p_g ~ p_data and D ~ 1/2"))
    return panels


def _snapshot(trainer, x, key, steps, label):
    dx = float(x[1] - x[0])
    p_data = normalise_density(np.exp(GAUSS1D.log_density(x[:, None])), dx)
    outputs = _generator_quadrature(trainer)
    p_g = _smoothed_density(outputs, x, FIGURE1_BANDWIDTH)
    discriminator = _discriminator_output(trainer, x)
    optimal = optimal_discriminator(p_data, p_g)
    total = p_data + p_g
    bulk = total > FIGURE1_BULK_FRACTION * total.max()
    half = math.sqrt(3.0)
    z_arrows = np.linspace(-half, half, FIGURE1_ARROWS)
    x_arrows = _generator_map(trainer, z_arrows)
    numbers = {
        "generator_mean": float(outputs.mean()),
        "generator_std": float(outputs.std()),
        "jensen_shannon": jensen_shannon_divergence(p_data, p_g, dx),
        "mean_abs_d_minus_optimal": float(np.mean(np.abs(discriminator - optimal)[bulk])),
        "mean_abs_d_minus_half": float(np.mean(np.abs(discriminator - 0.5)[bulk])),
    }
    return {"key": key, "label": label, "steps": steps, "x": x, "p_data": p_data, "p_g": p_g,
            "discriminator": discriminator, "optimal_discriminator": optimal, "bulk": bulk,
            "z_arrows": z_arrows, "x_arrows": x_arrows, "numbers": numbers}


def _generator_map(trainer, z):
    """G(z) for the 1-D noise values z (n,) -> (n,) float64, in evaluation mode."""
    return trainer.gan.generate(np.asarray(z, dtype=np.float32)[:, None])[:, 0].astype(np.float64)


def _generator_quadrature(trainer):
    """G at the midpoints of FIGURE1_QUADRATURE_POINTS equal cells of U(-sqrt 3, sqrt 3)."""
    if trainer.config["noise"] != "uniform" or trainer.config["noise_dim"] != 1:
        raise ValueError("Figure 1 needs a 1-D uniform noise prior (noise='uniform', noise_dim=1)")
    half = math.sqrt(3.0)
    n = FIGURE1_QUADRATURE_POINTS
    z = -half + (np.arange(n) + 0.5) * (2 * half / n)
    return _generator_map(trainer, z)


def _smoothed_density(points, x, bandwidth):
    """The density of ``points`` on the uniform grid x: binned, then a Gaussian kernel; normalised.

    Points are binned to their nearest grid point, and the counts convolved with a
    sampled Gaussian of std ``bandwidth``; mass outside the grid is lost.
    """
    dx = float(x[1] - x[0])
    index = np.rint((points - x[0]) / dx).astype(np.int64)
    inside = (index >= 0) & (index < x.size)
    if not np.any(inside):
        raise ValueError(f"no generator sample falls on the grid [{x[0]}, {x[-1]}]")
    counts = np.bincount(index[inside], minlength=x.size).astype(np.float64)
    half_width = int(math.ceil(4 * bandwidth / dx))
    offsets = np.arange(-half_width, half_width + 1) * dx
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    density = np.convolve(counts, kernel / kernel.sum(), mode="same")
    return normalise_density(density, dx)


def _discriminator_output(trainer, x):
    """D(x) = sigmoid(logit) on the grid x (n,) -> (n,) float64, in evaluation mode."""
    discriminator = trainer.gan.discriminator
    discriminator.eval()
    try:
        logits = discriminator.predict(x.astype(np.float32)[:, None])[:, 0].astype(np.float64)
    finally:
        discriminator.train()
    return sigmoid(logits)
