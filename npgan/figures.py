"""Figures of the GAN paper and of npgan's toy runs, drawn with matplotlib alone.

Every function draws on its own matplotlib.figure.Figure attached to an Agg canvas
(no display, no pyplot global state), writes exactly one PNG at ``out_path`` (its
directory must exist; the image is rendered in memory first, so a drawing error
leaves no partial file) and returns the numbers it drew.

figure1(out_path, *, seed=0)
    Figure 1 of the paper from a real 1-D run on gauss1d (p_data = N(4, 0.5^2), a
    uniform prior z ~ U(-sqrt 3, sqrt 3), G a one-hidden-layer ReLU net, D maxout).
    Each of the four panels shows p_data (black dots), p_g (green line), D(x) =
    sigmoid(logit) (blue dashes) and, below the x line, the map x = G(z): arrows
    from evenly spaced z on the z line up to G(z) on the x line; where the arrows
    crowd together, p_g is high. The panels are snapshots of one trainer:

    (a) part-way through training: Algorithm 1 from initialisation until the mean
        of G's samples first comes within FIGURE1_SHIFT of the data mean; p_g
        overlaps p_data but is shifted and broader, D is partially accurate.
    (b) D trained alone (G fixed) for FIGURE1_DISCRIMINATOR_STEPS steps: D is close
        to Proposition 1's D*(x) = p_data / (p_data + p_g), drawn as a thin line.
    (c) G trained alone (D fixed) for FIGURE1_GENERATOR_STEPS steps: the gradient of
        D has guided G(z) towards the regions D classifies as data; p_g moves
        towards p_data.
    (d) Algorithm 1 continued for FIGURE1_FINAL_ITERATIONS iterations: p_g is close
        to p_data and D is close to 1/2 everywhere (Theorem 1's optimum).

    p_g is computed without sampling noise: G is applied to the midpoints of
    FIGURE1_QUADRATURE_POINTS equal cells of the prior's range (a midpoint
    quadrature of the uniform p_z), the outputs are binned on the x grid and
    smoothed by a Gaussian kernel of bandwidth FIGURE1_BANDWIDTH. Its mean and
    standard deviation are those of the same points.

saturation_figure(out_path)
    The section 3 argument: with D(G(z)) = sigmoid(a), the gradient magnitude with
    respect to the logit a is D(G(z)) for the minimax G objective log(1 - D(G(z)))
    and 1 - D(G(z)) for the non-saturating -log D(G(z)). Early in training D
    rejects G's samples confidently (D(G(z)) near 0): the minimax gradient vanishes
    there, the non-saturating one is close to 1. Log-scale y axis, logit-scale x.

divergences_figure(out_path, *, seed=0)
    G fitted to the two-mode bimodal1d target (modes at -2 and +2, std 0.5) under each
    f-divergence of npgan.divergences, one panel each, with the mass G puts within 3
    std of each mode: mode-covering against mode-seeking, from real runs
    (divergence_runs; per-divergence settings in DIVERGENCE_RUN_SETTINGS).

parzen_curve_figure(epochs, values, out_path, *, title=None, label="model", references=None, more=None)
    A Parzen log-likelihood against the epoch, with optional labelled horizontal
    reference lines (Table 1's rows, the real-data reference). What an image run
    writes as parzen.png.

toy_samples_figure(samples, toy, out_path, *, title=None)
    G's samples over a toy distribution: a scatter (2-D, equal aspect) with the
    mode centres marked and the 3-std "high quality" circles of the VEEGAN metric
    drawn, or a histogram over the true density (1-D). What ``npgan train`` writes
    as samples.png.

image_grid(images, image_shape, *, rows, columns, padding=2, fill=1.0)
    The images (n, height * width), n = rows * columns, tiled row-major (image i in
    cell (i // columns, i % columns)) into one 2-D float64 array, the cells separated
    by ``padding`` pixels of value ``fill``; no border around the outside:
    (rows * height + (rows - 1) * padding, columns * width + (columns - 1) * padding).

samples_grid_figure(samples, image_shape, out_path, *, rows=10, columns=10, title=None)
    The first rows * columns samples of G as an image grid, as MNIST shows digits:
    gray colour map, 0 = black, 1 = white (values outside [0, 1] are drawn clipped).
    What ``npgan train`` writes as samples.png for image data. Returns the grid.

nearest_neighbours(queries, references, *, chunk_size=10000)
    For each query row, the index of the reference row nearest in squared Euclidean
    distance, found with one matrix product per chunk of ``chunk_size`` references:

        ||q - r||^2 = ||q||^2 - 2 q . r + ||r||^2      (float64)

    Memory: n_queries * chunk_size float64 for the distances. The expansion loses
    digits when q and r are close (a tiny negative value is a zero distance), so the
    distance returned is recomputed directly, sum((q - r)^2), for the chosen r.

figure2(gan, config, training_images, out_path, *, image_shape=(28, 28), rows=5, columns=6, seed=0)
    Figure 2 of the paper: ``rows`` rows of ``columns - 1`` samples of G (drawn
    with npgan.train.generate and numpy.random.default_rng(seed)), and a rightmost
    column, set apart by a gap and a coloured frame, holding for each row the
    training example nearest (nearest_neighbours) to that row's last sample: a
    sample that is a copy of a training image would show up as its own twin, with
    a squared distance near 0 (printed beside it): the paper's check that G has not
    memorised the training set.

figure3(gan, config, out_path, *, image_shape=(28, 28), rows=5, steps=9, seed=0)
    Figure 3 of the paper: each row is G(z) along the straight line
    z = (1 - t) z0 + t z1, t = linspace(0, 1, steps), between two z drawn from the
    configured prior (npgan.noise.sample_noise, numpy.random.default_rng(seed));
    G in evaluation mode. Smooth changes along a row mean G maps nearby z to
    nearby images rather than memorising isolated points.
"""

import io
import math
import os

import numpy as np

from npgan.data.toy import BIMODAL1D, GAUSS1D, ToyDistribution
from npgan.evaluate.modes import evaluate_toy
from npgan.layers import sigmoid
from npgan.models import preset_config
from npgan.noise import sample_noise
from npgan.theory import (
    jensen_shannon_divergence,
    normalise_density,
    optimal_discriminator,
    saturation_curves,
)
from npgan.train import Trainer, generate, generator_output

# ----------------------------------------------------------------- Figure 1 settings

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

#: Figures 2 and 3: pixels of white between the images of a grid.
FIGURE_GRID_PADDING = 2
#: Figure 2: the colour that sets the nearest-training-example column apart.
FIGURE2_NEIGHBOUR_COLOUR = "tab:orange"

PNG_DPI = 110


# ------------------------------------------------------------------------- Figure 1


def figure1(out_path, *, seed=0):
    """Figure 1 of the paper from a real run on gauss1d; writes a PNG, returns its numbers.

    Takes about 13 s on an idle core. Returns a dict of floats (and int step counts):

        iterations_a, discriminator_steps_b, generator_steps_c, iterations_d
        generator_mean_<p>, generator_std_<p>    mean and std of p_g in panel p
        jensen_shannon_<p>                       JSD(p_data || p_g) on the grid
        mean_abs_d_minus_optimal_<p>             mean |D - D*| over the bulk
        mean_abs_d_minus_half_<p>                mean |D - 1/2| over the bulk

    for p in a, b, c, d; the bulk is where p_data + p_g > FIGURE1_BULK_FRACTION
    times its maximum (elsewhere D* is 0/0-like and D is unconstrained).
    """
    _check_out_path(out_path)
    panels = figure1_panels(seed)
    _draw_figure1(panels, out_path, seed)
    numbers = {}
    for panel in panels:
        key = panel["key"]
        numbers.update({f"{name}_{key}": value for name, value in panel["numbers"].items()})
    numbers.update({
        "iterations_a": panels[0]["steps"],
        "discriminator_steps_b": FIGURE1_DISCRIMINATOR_STEPS,
        "generator_steps_c": FIGURE1_GENERATOR_STEPS,
        "iterations_d": FIGURE1_FINAL_ITERATIONS,
    })
    return numbers


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
    return generator_output(trainer.gan, np.asarray(z, dtype=np.float32)[:, None])[:, 0].astype(np.float64)


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


def _draw_figure1(panels, out_path, seed):
    x = panels[0]["x"]
    visible = np.zeros(x.size, dtype=bool)
    for panel in panels:
        visible |= panel["p_data"] > 0.01 * panel["p_data"].max()
        visible |= panel["p_g"] > 0.01 * panel["p_g"].max()
    low, high = x[visible].min(), x[visible].max()
    arrow_tips = np.concatenate([panel["x_arrows"] for panel in panels])
    low, high = min(low, arrow_tips.min()), max(high, arrow_tips.max())
    margin = 0.05 * (high - low)
    low, high = max(low - margin, x[0]), min(high + margin, x[-1])
    shown = (x >= low) & (x <= high)
    # Densities and D share the y axis; a collapsed G's spike is clipped rather than squashing D.
    tallest = max(max(panel["p_data"].max(), panel["p_g"].max()) for panel in panels)
    top = min(max(1.05, 1.08 * tallest), 2.0)
    x_line, z_line = 0.0, -0.42 * top
    # The z line: U(-sqrt 3, sqrt 3) drawn under the middle of the x range.
    z_centre, z_half_length = (low + high) / 2, 0.3 * (high - low)

    figure, axes = _new_figure(figsize=(17, 5.6), ncols=4)
    for ax, panel in zip(axes, panels):
        xs = x[shown]
        ax.plot(xs, panel["p_data"][shown], color="black", linestyle=(0, (1, 2)), linewidth=2.2,
                label=r"data density $p_{\rm data}$")
        ax.plot(xs, panel["p_g"][shown], color="green", linewidth=2.0, label=r"generator density $p_g$")
        # D solid-dashed over the bulk, faint where no density constrains it.
        inside = np.where(panel["bulk"], panel["discriminator"], np.nan)
        ax.plot(xs, panel["discriminator"][shown], color="blue", linestyle="--", linewidth=1.5, alpha=0.3)
        ax.plot(xs, inside[shown], color="blue", linestyle="--", linewidth=2.0, label=r"discriminator $D(x)$")
        if panel["key"] == "b":
            # D* only where it is defined by the densities (the bulk), as in the numbers.
            optimal = np.where(panel["bulk"], panel["optimal_discriminator"], np.nan)
            ax.plot(xs, optimal[shown], color="blue", linewidth=0.9, alpha=0.8,
                    label=r"$D^*(x) = p_{\rm data} / (p_{\rm data} + p_g)$ (Proposition 1)")
        ax.plot([low, high], [x_line, x_line], color="black", linewidth=1.0)
        ax.plot([z_centre - z_half_length, z_centre + z_half_length], [z_line, z_line], color="black",
                linewidth=1.0)
        # p_z is symmetric, so the z line is drawn in whichever direction makes G increasing
        # overall (fewer crossing arrows); its end labels say which way it runs.
        direction = 1.0 if panel["x_arrows"][-1] >= panel["x_arrows"][0] else -1.0
        z_positions = z_centre + direction * panel["z_arrows"] / math.sqrt(3.0) * z_half_length
        for start, end in zip(z_positions, panel["x_arrows"]):
            ax.annotate("", xy=(end, x_line), xytext=(start, z_line),
                        arrowprops={"arrowstyle": "-|>", "linewidth": 0.7, "color": "0.35",
                                    "shrinkA": 0, "shrinkB": 0, "mutation_scale": 7})
        ax.text(low, x_line + 0.02 * top, "x", fontsize=12, ha="left", va="bottom", style="italic")
        ax.text(z_centre - z_half_length - 0.06 * (high - low), z_line, "z", fontsize=12, ha="right",
                va="center", style="italic")
        for end, text in ((-1.0, "-\u221a3"), (1.0, "+\u221a3")):
            ax.text(z_centre + direction * end * z_half_length, z_line - 0.03 * top, text, fontsize=8,
                    ha="center", va="top")
        numbers = panel["numbers"]
        lines = [f"p_g: mean {numbers['generator_mean']:.2f}, std {numbers['generator_std']:.2f}",
                 f"JSD(p_data || p_g) = {numbers['jensen_shannon']:.3f}",
                 f"mean |D - D*| = {numbers['mean_abs_d_minus_optimal']:.3f}",
                 f"mean |D - 1/2| = {numbers['mean_abs_d_minus_half']:.3f}"]
        ax.text(0.02, 0.98, "\n".join(lines), transform=ax.transAxes, fontsize=8, va="top", ha="left",
                family="monospace", color="0.25")
        ax.set_title(panel["label"], fontsize=10)
        ax.set_xlim(low, high)
        ax.set_ylim(z_line - 0.08 * top, top * 1.25)
        ax.set_axis_off()
    handles, labels = axes[1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, frameon=False, fontsize=10)
    figure.suptitle(r"Figure 1 from a real run on gauss1d: $p_{\rm data} = N(4, 0.5^2)$, "
                    f"z ~ U(\u2212\u221a3, \u221a3), seed {seed}; arrows: x = G(z) for evenly spaced z.\n"
                    "Numbers: mean |D \u2212 D*| and mean |D \u2212 1/2| over the bulk, where "
                    f"p_data + p_g > {100 * FIGURE1_BULK_FRACTION:g}% of its maximum; outside it nothing "
                    "constrains D (drawn faint there).", fontsize=10)
    figure.subplots_adjust(left=0.01, right=0.99, top=0.80, bottom=0.09, wspace=0.04)
    _write_png(figure, out_path)


# ------------------------------------------------------------------------ saturation


def saturation_figure(out_path):
    """The section 3 argument as a plot; writes a PNG and returns the SaturationCurves drawn."""
    _check_out_path(out_path)
    logits = np.linspace(-9.0, 9.0, 721)
    curves = saturation_curves(sigmoid(logits))
    d = curves.discriminator_output

    figure, (ax,) = _new_figure(figsize=(7.5, 5.0), ncols=1)
    ax.plot(d, curves.minimax_gradient, color="tab:red", linewidth=2.0,
            label="minimax: |d/da log(1 - D(G(z)))| = D(G(z))")
    ax.plot(d, curves.non_saturating_gradient, color="tab:blue", linewidth=2.0,
            label="non-saturating: |d/da (-log D(G(z)))| = 1 - D(G(z))")
    ax.set_xscale("logit")
    ax.set_yscale("log")
    ax.set_xlim(d[0], d[-1])
    ax.set_ylim(1e-4, 2.0)
    ax.axvspan(d[0], 0.05, color="0.9", zorder=0)
    ax.annotate("early in training D(G(z)) is near 0:\nminimax saturates (gradient = D),\n"
                "non-saturating stays near 1",
                xy=(3e-3, 3e-3), xytext=(1.8e-4, 0.1), fontsize=9,
                arrowprops={"arrowstyle": "->", "color": "tab:red"})
    ax.set_xlabel("D(G(z)) = sigmoid(a), the discriminator's output on a generated sample")
    ax.set_ylabel("gradient magnitude with respect to D's logit a")
    ax.set_title("Section 3: why G maximises log D(G(z)) instead of minimising log(1 - D(G(z)))",
                 fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower center", fontsize=9)
    figure.tight_layout()
    _write_png(figure, out_path)
    return curves


# ------------------------------------------------------------------- f-divergences


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
    from npgan.divergences import DIVERGENCE_NAMES
    from npgan.train import Trainer, TrainingDiverged

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


def divergences_figure(out_path, *, seed=0):
    """G fitted to the two-mode bimodal1d target under each f-divergence; writes a PNG and
    returns {name: per-mode masses, or None if the run diverged}.

    One panel per divergence: a histogram of G's samples over the data density, titled
    with the mass within 3 std of each mode. The f-GAN paper's contrast: KL (and the
    divergences near it) cover both modes, reverse KL seeks one.
    """
    _check_out_path(out_path)
    runs = divergence_runs(seed=seed)
    figure, axes = _new_figure(figsize=(12.0, 6.5), nrows=2, ncols=(len(runs) + 1) // 2)
    grid = np.linspace(-5.0, 5.0, 801)
    density = np.exp(BIMODAL1D.log_density(grid[:, None]))
    masses = {}
    for ax, (name, samples) in zip(axes, runs.items()):
        ax.plot(grid, density, color="black", linestyle=(0, (1, 2)), linewidth=2, label="data")
        settings = "".join(f"\n({key} {value})" for key, value in DIVERGENCE_RUN_SETTINGS.get(name, {}).items())
        if samples is None:
            masses[name] = None
            ax.set_title(f"{name}: diverged{settings}", fontsize=10)
            continue
        masses[name] = mode_masses(samples)
        shown = samples[(samples[:, 0] >= -5) & (samples[:, 0] <= 5), 0]
        ax.hist(shown, bins=100, range=(-5, 5), density=True, color="tab:blue", alpha=0.5, label="G")
        ax.set_title(f"{name}: mass at -2 / +2 = {masses[name][0]:.2f} / {masses[name][1]:.2f}{settings}",
                     fontsize=10)
        ax.set_xlim(-5, 5)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"G fitted to two modes under each f-divergence (bimodal1d, seed {seed})", fontsize=11)
    figure.tight_layout()
    _write_png(figure, out_path)
    return masses


# ------------------------------------------------------------------------ Parzen curve


def parzen_curve_figure(epochs, values, out_path, *, title=None, label="model", references=None, more=None):
    """A Parzen log-likelihood against the epoch; writes a PNG and returns (epochs, values).

    references: an optional {name: value} drawn as labelled horizontal lines (e.g. the
    rows of Table 1, or the real-data reference). more: optional further curves,
    {label: (epochs, values)}. What a run of an image preset writes as parzen.png (the
    quick estimate on validation) and what benchmarks/RESULTS.md shows for the
    reproduction (the full estimate on test).
    """
    curves = {label: (epochs, values), **(more or {})}
    for name, (xs, ys) in curves.items():
        xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        if xs.ndim != 1 or xs.shape != ys.shape or len(xs) == 0:
            raise ValueError(f"epochs and values of {name!r} must be equal-length non-empty 1-D sequences, got "
                             f"shapes {xs.shape} and {ys.shape}")
        curves[name] = xs, ys
    _check_out_path(out_path)
    figure, (ax,) = _new_figure(figsize=(7.5, 4.5), ncols=1)
    markers = "os^v"
    for index, (name, (xs, ys)) in enumerate(curves.items()):
        ax.plot(xs, ys, marker=markers[index % len(markers)], markersize=3, color=f"C{index}", linewidth=1.5,
                label=name)
    for index, (name, value) in enumerate((references or {}).items()):  # in the legend: close values
        ax.axhline(value, color=f"C{(index + len(curves)) % 10}", linestyle="--", linewidth=1.0,  # would overlap
                   label=f"{name}: {value:g}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("Parzen log-likelihood (nats)")
    ax.set_title(title if title else "Parzen-window log-likelihood", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    figure.tight_layout()
    _write_png(figure, out_path)
    return curves[label]


# ----------------------------------------------------------------------- toy samples


def toy_samples_figure(samples, toy, out_path, *, title=None):
    """G's samples over the toy distribution ``toy``; writes a PNG, returns their ModeCoverage.

    samples: (n, toy.dim) finite array. 2-D: scatter, mode centres (red crosses) and
    the circles of radius 3 * toy.std inside which a sample is "high quality", equal
    aspect. 1-D: histogram over the true density, centres and 3-std bands marked.
    Samples far outside the modes are counted in the subtitle, not drawn.
    """
    if not isinstance(toy, ToyDistribution):
        raise TypeError("toy must be a ToyDistribution (e.g. npgan.data.toy.RING8), "
                        f"got {type(toy).__name__}")
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[1] != toy.dim or samples.shape[0] < 1:
        raise ValueError(f"samples must be an (n, {toy.dim}) array for {toy.name}, got shape {samples.shape}")
    if not np.issubdtype(samples.dtype, np.number) or not np.all(np.isfinite(samples)):
        raise ValueError("samples contain NaN or infinite values (did training diverge?); nothing to plot")
    if toy.dim > 2:
        raise ValueError(f"toy_samples_figure draws 1-D or 2-D data, {toy.name} is {toy.dim}-D")
    _check_out_path(out_path)
    samples = samples.astype(np.float64)
    coverage = evaluate_toy(samples, toy)
    radius = 3.0 * toy.std
    margin = max(0.5, 6 * toy.std)
    low = toy.centres.min(axis=0) - margin
    high = toy.centres.max(axis=0) + margin
    outside = int(np.count_nonzero(np.any((samples < low) | (samples > high), axis=1)))
    subtitle = f"{coverage}" + (f"\n{outside} samples lie outside the view" if outside else "")

    if toy.dim == 2:
        figure, (ax,) = _new_figure(figsize=(6.0, 6.4), ncols=1)
        from matplotlib.patches import Circle

        for centre in toy.centres:
            ax.add_patch(Circle(centre, radius, fill=False, color="tab:red", linewidth=0.8))
        ax.scatter(toy.centres[:, 0], toy.centres[:, 1], marker="+", s=20, color="tab:red", linewidths=0.8,
                   label=f"mode centres; circles: 3 std = {radius:g} (high quality)")
        ax.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.4, color="tab:blue", linewidths=0,
                   label=f"G samples (n = {samples.shape[0]})")
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_aspect("equal")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=8, markerscale=2,
                  frameon=False)
    else:
        figure, (ax,) = _new_figure(figsize=(7.0, 4.5), ncols=1)
        grid = np.linspace(low[0], high[0], 801)
        shown = samples[(samples[:, 0] >= low[0]) & (samples[:, 0] <= high[0]), 0]
        ax.hist(shown, bins=80, range=(low[0], high[0]), density=True, color="tab:blue", alpha=0.5,
                label=f"G samples (n = {samples.shape[0]})")
        ax.plot(grid, np.exp(toy.log_density(grid[:, None])), color="black", linestyle=(0, (1, 2)),
                linewidth=2, label="data density")
        for index, centre in enumerate(toy.centres[:, 0]):
            ax.axvspan(centre - radius, centre + radius, color="tab:red", alpha=0.08,
                       label=f"3 std = {radius:g} around a centre (high quality)" if index == 0 else None)
            ax.axvline(centre, color="tab:red", linewidth=0.8)
        ax.set_xlim(low[0], high[0])
        ax.set_xlabel("x")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title((f"{title}\n" if title else f"{toy.name}\n") + subtitle, fontsize=9)
    figure.tight_layout()
    _write_png(figure, out_path)
    return coverage


# ------------------------------------------------------------------------ image grids


def image_grid(images, image_shape, *, rows, columns, padding=2, fill=1.0):
    """Tile images (rows * columns, height * width) row-major into one 2-D float64 array.

    Image i goes to cell (i // columns, i % columns); cells are separated by
    ``padding`` pixels of value ``fill`` (none around the outside), so the grid is
    (rows * height + (rows - 1) * padding, columns * width + (columns - 1) * padding).
    """
    height, width = _image_shape(image_shape)
    for name, value, minimum in (("rows", rows, 1), ("columns", columns, 1), ("padding", padding, 0)):
        if not _is_integer(value) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != height * width:
        raise ValueError(f"images must be an (n, {height * width}) array (one flattened {height}x{width} "
                         f"image per row), got shape {images.shape}")
    if images.shape[0] != rows * columns:
        raise ValueError(f"a {rows} x {columns} grid needs exactly {rows * columns} images, "
                         f"got {images.shape[0]}")
    if not np.issubdtype(images.dtype, np.number) or not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or infinite values (did training diverge?); nothing to tile")
    # Each image gets `padding` rows and columns of fill below and to its right; the
    # last row and column of cells then lose theirs, leaving separators only.
    cells = np.full((rows, columns, height + padding, width + padding), fill, dtype=np.float64)
    cells[:, :, :height, :width] = images.reshape(rows, columns, height, width)
    grid = cells.transpose(0, 2, 1, 3).reshape(rows * (height + padding), columns * (width + padding))
    return grid[:grid.shape[0] - padding, :grid.shape[1] - padding]


def samples_grid_figure(samples, image_shape, out_path, *, rows=10, columns=10, title=None):
    """The first rows * columns of G's samples as an image grid; writes a PNG, returns the grid.

    samples: (n, height * width), n >= rows * columns, pixels in [0, 1] (as G with a
    sigmoid output gives them); drawn gray, 0 = black and 1 = white as in MNIST,
    values outside [0, 1] clipped in the picture. What ``npgan train`` writes as
    samples.png for image data.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[0] < rows * columns:
        raise ValueError(f"a {rows} x {columns} grid needs an (n, pixels) array with n >= {rows * columns}, "
                         f"got shape {samples.shape}")
    grid = image_grid(samples[:rows * columns], image_shape, rows=rows, columns=columns)
    _check_out_path(out_path)
    scale = _inches_per_pixel(grid.shape[0])
    figure, (ax,) = _new_figure(figsize=(grid.shape[1] * scale + 0.4, grid.shape[0] * scale + 0.7), ncols=1)
    _show_grid(ax, grid)
    ax.set_title(title if title else f"{rows * columns} samples of G", fontsize=10)
    figure.tight_layout()
    _write_png(figure, out_path)
    return grid


# ------------------------------------------------------------------ nearest neighbours


def nearest_neighbours(queries, references, *, chunk_size=10000):
    """The nearest reference row of each query row: (indices (n_queries,) int64, squared distances).

    queries: (n_queries, d), references: (n_references, d), finite. The search uses
    ||q - r||^2 = ||q||^2 - 2 q . r + ||r||^2 in float64, one matrix product per chunk
    of chunk_size references (memory: n_queries * chunk_size float64). The expansion
    loses digits when q and r nearly coincide, so of references equally near (up to
    that rounding) any may be returned, and the squared distance returned is
    recomputed directly, sum((q - r)^2), for the chosen r (an exact copy gives 0).
    """
    if not _is_integer(chunk_size) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    queries = np.asarray(queries)
    references = np.asarray(references)
    for name, array in (("queries", queries), ("references", references)):
        if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
            raise ValueError(f"{name} must be a non-empty 2-D array (one point per row), "
                             f"got shape {array.shape}")
        if not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    if queries.shape[1] != references.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} columns but references have "
                         f"{references.shape[1]}: both must be points of the same dimension")
    queries = queries.astype(np.float64)
    if not np.all(np.isfinite(queries)):
        raise ValueError("queries contain NaN or infinite values")
    query_norms = np.einsum("ij,ij->i", queries, queries)
    rows = np.arange(queries.shape[0])
    best_indices = np.zeros(queries.shape[0], dtype=np.int64)
    best_distances = np.full(queries.shape[0], np.inf)
    for start in range(0, references.shape[0], chunk_size):
        chunk = references[start:start + chunk_size].astype(np.float64)
        if not np.all(np.isfinite(chunk)):
            raise ValueError(f"references contain NaN or infinite values (in rows {start}.."
                             f"{start + chunk.shape[0] - 1})")
        distances = query_norms[:, None] - 2.0 * (queries @ chunk.T) + np.einsum("ij,ij->i", chunk, chunk)
        np.maximum(distances, 0.0, out=distances)  # a tiny negative is rounding of a zero distance
        nearest = np.argmin(distances, axis=1)
        nearest_distances = distances[rows, nearest]
        better = nearest_distances < best_distances  # strict: an earlier chunk keeps a tie
        best_indices[better] = start + nearest[better]
        best_distances[better] = nearest_distances[better]
    differences = queries - references[best_indices].astype(np.float64)
    return best_indices, np.einsum("ij,ij->i", differences, differences)


# ------------------------------------------------------------------------- Figure 2


def figure2(gan, config, training_images, out_path, *, image_shape=(28, 28), rows=5, columns=6, seed=0):
    """Figure 2 of the paper: samples of G and, rightmost, the nearest training example; writes a PNG.

    Draws rows * (columns - 1) samples with npgan.train.generate(gan, config, n,
    numpy.random.default_rng(seed)), shown as ``rows`` rows of ``columns - 1``; the
    last sample of each row (framed) is matched to its nearest row of
    ``training_images`` ((N, height * width), pixels in [0, 1], e.g. the 50,000 MNIST
    training images), shown in the separate rightmost column with its squared
    distance. Returns a dict:

        samples                       (rows * (columns - 1), height * width), as drawn
        neighbour_indices             (rows,) row of training_images for each row
        neighbour_squared_distances   (rows,) ||last sample of the row - neighbour||^2
        neighbours                    (rows, height * width) those training images
    """
    height, width = _image_shape(image_shape)
    for name, value, minimum in (("rows", rows, 1), ("columns", columns, 2)):
        if not _is_integer(value) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum} (the last column holds the nearest "
                             f"training examples), got {value!r}")
    training_images = np.asarray(training_images)
    pixels = height * width
    if training_images.ndim != 2 or training_images.shape[0] < 1 or training_images.shape[1] != pixels:
        raise ValueError(f"training_images must be an (N, {pixels}) array of flattened {height}x{width} "
                         f"images, got shape {training_images.shape}")
    if not np.issubdtype(training_images.dtype, np.number) or not np.all(np.isfinite(training_images)):
        raise ValueError("training_images contain NaN or infinite values")
    if training_images.min() < 0 or training_images.max() > 1:
        raise ValueError(f"training_images must have pixels in [0, 1] like G's samples, got values in "
                         f"[{training_images.min()}, {training_images.max()}] (divide 8-bit pixels by 255)")
    _check_out_path(out_path)

    per_row = columns - 1
    samples = generate(gan, config, rows * per_row, np.random.default_rng(seed))
    _check_generated(samples, height, width)
    last_of_each_row = samples.reshape(rows, per_row, -1)[:, -1]
    indices, squared_distances = nearest_neighbours(last_of_each_row, training_images)
    neighbours = training_images[indices]
    padding = FIGURE_GRID_PADDING
    sample_grid = image_grid(samples, image_shape, rows=rows, columns=per_row, padding=padding)
    neighbour_column = image_grid(neighbours, image_shape, rows=rows, columns=1, padding=padding)
    _draw_figure2(sample_grid, neighbour_column, squared_distances, out_path,
                  height=height, width=width, padding=padding, per_row=per_row, seed=seed)
    return {"samples": samples, "neighbour_indices": indices,
            "neighbour_squared_distances": squared_distances, "neighbours": neighbours}


def _draw_figure2(sample_grid, neighbour_column, squared_distances, out_path, *,
                  height, width, padding, per_row, seed):
    from matplotlib.patches import Rectangle

    colour = FIGURE2_NEIGHBOUR_COLOUR
    # Laid out in inches: both grids at the same scale, so their rows line up.
    scale = _inches_per_pixel(sample_grid.shape[0])
    grid_height = sample_grid.shape[0] * scale
    samples_width = sample_grid.shape[1] * scale
    column_width = neighbour_column.shape[1] * scale
    left, gap, right, top, bottom, margin = 0.25, 0.45, 1.0, 1.1, 0.25, 0.12
    figure_width = left + samples_width + gap + column_width + right
    figure_height = top + grid_height + bottom
    figure, (samples_ax, neighbours_ax) = _new_figure(figsize=(figure_width, figure_height), ncols=2)

    def position(x_inches, width_inches):
        return [x_inches / figure_width, bottom / figure_height, width_inches / figure_width,
                grid_height / figure_height]

    samples_ax.set_position(position(left, samples_width))
    neighbours_ax.set_position(position(left + samples_width + gap, column_width))
    _show_grid(samples_ax, sample_grid)
    _show_grid(neighbours_ax, neighbour_column)
    samples_ax.set_title(f"samples of G (seed {seed}); the framed sample of each row\n"
                         "is matched to the training set", fontsize=9)
    neighbours_ax.set_title("nearest\ntraining\nexample", fontsize=9, color=colour, fontweight="bold",
                            pad=72 * margin + 4)  # above the tinted band

    # A dashed frame around each row's last sample, the one the right column matches.
    rows = len(squared_distances)
    x0 = (per_row - 1) * (width + padding) - 0.5
    for row in range(rows):
        y0 = row * (height + padding) - 0.5
        samples_ax.add_patch(Rectangle((x0, y0), width, height, fill=False, edgecolor=colour,
                                       linewidth=1.2, linestyle="--"))
    # The rightmost column: a tinted background band and a solid frame.
    figure.add_artist(Rectangle(((left + samples_width + gap - margin) / figure_width,
                                 (bottom - margin) / figure_height),
                                (column_width + 2 * margin) / figure_width,
                                (grid_height + 2 * margin) / figure_height,
                                transform=figure.transFigure, facecolor=colour, alpha=0.35,
                                edgecolor=colour, linewidth=2.5, zorder=-1))
    for spine in neighbours_ax.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(2.5)
    # Each neighbour's squared distance beside it (0 would mean a copied training image).
    grid_rows = neighbour_column.shape[0]
    text_x = 1.0 + (margin + 0.08) / column_width  # just right of the tinted band, in axes fractions
    neighbours_ax.text(text_x, 1.0, "squared\ndistance", transform=neighbours_ax.transAxes,
                       fontsize=7, ha="left", va="bottom", color="0.3")
    for row, distance in enumerate(squared_distances):
        centre = row * (height + padding) + height / 2
        neighbours_ax.text(text_x, 1.0 - centre / grid_rows, f"{distance:.1f}",
                           transform=neighbours_ax.transAxes, fontsize=8, ha="left", va="center", color="0.2")
    figure.suptitle("Figure 2: samples of G; right: the nearest training example of the sample beside it",
                    fontsize=9, x=0.5, y=1.0 - 0.12 / figure_height, va="top")
    _write_png(figure, out_path)


# ------------------------------------------------------------------------- Figure 3


def figure3(gan, config, out_path, *, image_shape=(28, 28), rows=5, steps=9, seed=0):
    """Figure 3 of the paper: G along straight lines in z space; writes a PNG, returns the numbers.

    Draws 2 * rows noise vectors from config["noise"] with numpy.random.default_rng(seed)
    (pairs z0, z1), evaluates G in evaluation mode (train mode restored after) at
    z = (1 - t) z0 + t z1 for t = linspace(0, 1, steps), one row per pair. Returns:

        t        (steps,) float64
        z        (rows, steps, noise_dim) float32, what G was given; z[:, 0] = z0, z[:, -1] = z1
        images   (rows, steps, height * width) G(z)
    """
    height, width = _image_shape(image_shape)
    for name, value, minimum in (("rows", rows, 1), ("steps", steps, 2)):
        if not _is_integer(value) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    _check_out_path(out_path)
    noise_dim = config["noise_dim"]
    endpoints = sample_noise(config["noise"], 2 * rows, noise_dim, np.random.default_rng(seed))
    z0, z1 = endpoints.reshape(rows, 2, noise_dim).transpose(1, 0, 2).astype(np.float64)
    t = np.linspace(0.0, 1.0, steps)
    z = ((1.0 - t)[None, :, None] * z0[:, None, :] + t[None, :, None] * z1[:, None, :]).astype(np.float32)
    images = generator_output(gan, z.reshape(rows * steps, noise_dim))
    _check_generated(images, height, width)
    padding = FIGURE_GRID_PADDING
    grid = image_grid(images, image_shape, rows=rows, columns=steps, padding=padding)

    scale = _inches_per_pixel(grid.shape[0])
    figure, (ax,) = _new_figure(figsize=(grid.shape[1] * scale + 0.5, grid.shape[0] * scale + 1.3), ncols=1)
    _show_grid(ax, grid)
    ax.set_xticks(np.arange(steps) * (width + padding) + (width - 1) / 2)
    ax.set_xticklabels([f"{value:.2g}" for value in t], fontsize=8)
    ax.set_xlabel("t in z = (1 \u2212 t) z0 + t z1", fontsize=9)
    ax.set_title(f"Figure 3: G(z) along straight lines between pairs of z ~ p_z ({config['noise']}, "
                 f"{noise_dim}-D), seed {seed}", fontsize=9)
    figure.tight_layout()
    _write_png(figure, out_path)
    return {"t": t, "z": z, "images": images.reshape(rows, steps, height * width)}


# --------------------------------------------------------------------------- helpers


def _new_figure(*, figsize, ncols, nrows=1):
    """A Figure on its own Agg canvas (no pyplot, no display) and its nrows * ncols axes, row-major."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, list(axes.ravel())


def _check_out_path(out_path):
    directory = os.path.dirname(os.path.abspath(os.fspath(out_path)))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {out_path}: the directory {directory} does not exist; "
                                "create it first")


def _write_png(figure, out_path):
    """Render the whole PNG in memory first, so a drawing error never leaves a partial file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    with open(out_path, "wb") as file:
        file.write(buffer.getvalue())


def _is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _image_shape(image_shape):
    """(height, width) from a 2-tuple of positive integers, or a ValueError."""
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is None or len(shape) != 2 or not all(_is_integer(side) and side >= 1 for side in shape):
        raise ValueError(f"image_shape must be (height, width) of positive integers, e.g. (28, 28); "
                         f"got {image_shape!r}")
    return int(shape[0]), int(shape[1])


def _check_generated(images, height, width):
    if images.shape[1] != height * width:
        raise ValueError(f"G makes {images.shape[1]} values per sample, but image_shape ({height}, {width}) "
                         f"needs {height * width}")
    if not np.all(np.isfinite(images)):
        raise ValueError("G's samples contain NaN or infinite values (did training diverge?); "
                         "nothing to draw")


def _inches_per_pixel(grid_height):
    """Image pixels to inches: 28 x 28 digits about 0.8 in, and any grid at least 3 in tall."""
    return max(0.028, 3.0 / grid_height)


def _show_grid(ax, grid):
    """An image grid in gray, 0 = black and 1 = white (MNIST's look), pixel for pixel, no ticks."""
    ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
