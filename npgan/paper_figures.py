"""The paper's figures: Figures 1, 2 and 3, the saturation argument and the f-divergence runs.

Each function makes its numbers (a training run of npgan.experiments, samples of a GAN,
the curves of npgan.theory), draws them with the helpers of npgan.plots (its own Figure on
an Agg canvas, no pyplot), writes exactly one PNG at ``out_path`` (its directory must
exist; rendered in memory, written atomically) and returns the numbers it drew.
``npgan figure ...`` calls them.

figure1(out_path, *, seed=0)
    Figure 1 of the paper from a real 1-D run on gauss1d (the protocol, panels (a)-(d),
    is npgan.experiments.figure1). Each of the four panels shows, over a labelled x axis,
    p_data (black dots), p_g (green line), D(x) = sigmoid(logit) (blue dashes; in (b)
    Proposition 1's D*(x) = p_data / (p_data + p_g) as a thin line), the line D = 1/2
    (D at Theorem 1's optimum) and, below the x axis, the map x = G(z): arrows from
    evenly spaced z on the z line (-sqrt 3 on the left in every panel) up to G(z) on the
    x axis; where the arrows crowd together, p_g is high, where they cross G is
    decreasing. draw_figure1 returns the Figure without writing it.

figure2(gan, config, training_images, out_path, *, image_shape=(28, 28), rows=5, columns=6, seed=0)
    Figure 2 of the paper: ``rows`` rows of ``columns - 1`` samples of G (drawn
    with gan.sample and numpy.random.default_rng(seed)), and a rightmost column, set
    apart by a gap and a coloured frame, holding for each row the training example
    nearest (npgan.evaluate.neighbours.nearest_neighbours) to that row's last sample: a
    sample that is a copy of a training image would show up as its own twin, with a
    squared distance near 0 (printed beside it): the paper's check that G has not
    memorised the training set.

figure3(gan, config, out_path, *, image_shape=(28, 28), rows=5, steps=9, seed=0)
    Figure 3 of the paper: each row is G(z) along the straight line
    z = (1 - t) z0 + t z1, t = linspace(0, 1, steps), between two z drawn from the
    configured prior (npgan.noise.sample_noise, numpy.random.default_rng(seed));
    G in evaluation mode. Smooth changes along a row mean G maps nearby z to
    nearby images rather than memorising isolated points.

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
    (npgan.experiments.f_divergences.divergence_runs; per-divergence settings in
    DIVERGENCE_RUN_SETTINGS). Each panel has x and density axes, a legend, and names the
    G loss its run trained with. draw_divergences_figure returns the Figure unwritten.
"""

import math

import numpy as np

from npgan.data.toy import BIMODAL1D
from npgan.evaluate.neighbours import nearest_neighbours
from npgan.experiments.f_divergences import (
    DIVERGENCE_RUN_SETTINGS,
    divergence_run_config,
    divergence_runs,
    mode_masses,
)
from npgan.experiments.figure1 import (
    FIGURE1_BULK_FRACTION,
    FIGURE1_DISCRIMINATOR_STEPS,
    FIGURE1_FINAL_ITERATIONS,
    FIGURE1_GENERATOR_STEPS,
    figure1_panels,
)
from npgan.layers import sigmoid
from npgan.noise import sample_noise
from npgan.plots import (
    check_out_path,
    image_grid,
    image_shape_of,
    inches_per_pixel,
    new_figure,
    require_finite_samples,
    show_grid,
    write_png,
)
from npgan.theory import saturation_curves
from npgan.validate import require_integer

#: Figures 2 and 3: pixels of white between the images of a grid.
FIGURE_GRID_PADDING = 2
#: Figure 2: the colour that sets the nearest-training-example column apart.
FIGURE2_NEIGHBOUR_COLOUR = "tab:orange"


# ------------------------------------------------------------------------- Figure 1


def figure1(out_path, *, seed=0):
    """Figure 1 of the paper from a real run on gauss1d; writes a PNG, returns its numbers.

    Runs npgan.experiments.figure1.figure1_panels(seed), draws its four panels with
    draw_figure1 (module docstring) and returns figure1_numbers of them. Takes about 13 s
    on an idle core.
    """
    check_out_path(out_path)
    panels = figure1_panels(seed)
    write_png(draw_figure1(panels, seed=seed), out_path)
    return figure1_numbers(panels)


def figure1_numbers(panels):
    """The numbers of Figure 1's panels (figure1_panels), a dict of floats (and int step counts):

        iterations_a, discriminator_steps_b, generator_steps_c, iterations_d
        generator_mean_<p>, generator_std_<p>    mean and std of p_g in panel p
        jensen_shannon_<p>                       JSD(p_data || p_g) on the grid
        mean_abs_d_minus_optimal_<p>             mean |D - D*| over the bulk
        mean_abs_d_minus_half_<p>                mean |D - 1/2| over the bulk

    for p in a, b, c, d; the bulk is where p_data + p_g > FIGURE1_BULK_FRACTION
    times its maximum (elsewhere D* is 0/0-like and D is unconstrained).
    """
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


def draw_figure1(panels, *, seed):
    """The matplotlib Figure of Figure 1 for the panels of figure1_panels(seed) (not written).

    In every panel: the x axis (ticks, labelled x) at height 0, with the densities and D
    above it on one y scale (ticks 0, 1/2, 1); a dotted line at D = 1/2, the value of D at
    Theorem 1's optimum; below it the z line, z = -sqrt 3 on the left and +sqrt 3 on the
    right in every panel, with arrows from evenly spaced z up to x = G(z) (where G is
    decreasing the arrows cross).
    """
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
    z_line = -0.45 * top
    # The z line: U(-sqrt 3, sqrt 3) drawn under the middle of the x range, -sqrt 3 on the left.
    z_centre, z_half_length = (low + high) / 2, 0.3 * (high - low)

    figure, axes = new_figure(figsize=(15.5, 5.8), ncols=4)
    for index, (ax, panel) in enumerate(zip(axes, panels)):
        xs = x[shown]
        ax.plot([low, high], [0.5, 0.5], color="0.45", linestyle=":", linewidth=1.2,
                label=r"$D = 1/2$, D at the optimum $p_g = p_{\rm data}$ (Theorem 1)")
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
        _draw_z_line(ax, panel, z_centre, z_half_length, z_line, top)
        numbers = panel["numbers"]
        lines = [f"p_g: mean {numbers['generator_mean']:.2f}, std {numbers['generator_std']:.2f}",
                 f"JSD(p_data || p_g) = {numbers['jensen_shannon']:.3f}",
                 f"mean |D - D*| = {numbers['mean_abs_d_minus_optimal']:.3f}",
                 f"mean |D - 1/2| = {numbers['mean_abs_d_minus_half']:.3f}"]
        ax.text(0.02, 0.98, "\n".join(lines), transform=ax.transAxes, fontsize=8, va="top", ha="left",
                family="monospace", color="0.25")
        ax.set_title(panel["label"], fontsize=10)
        ax.set_xlim(low, high)
        ax.set_ylim(z_line - 0.1 * top, top * 1.3)
        _figure1_axes(ax, top, ylabel=index == 0)
    handles, labels = axes[1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=5, frameon=False, fontsize=10)
    figure.suptitle(r"Figure 1 from a real run on gauss1d: $p_{\rm data} = N(4, 0.5^2)$, "
                    f"z ~ U(\u2212\u221a3, \u221a3), seed {seed}; arrows: x = G(z) for evenly spaced z.\n"
                    "Numbers: mean |D \u2212 D*| and mean |D \u2212 1/2| over the bulk, where "
                    f"p_data + p_g > {100 * FIGURE1_BULK_FRACTION:g}% of its maximum; outside it nothing "
                    "constrains D (drawn faint there).", fontsize=10)
    figure.subplots_adjust(left=0.045, right=0.99, top=0.81, bottom=0.1, wspace=0.14)
    return figure


def _figure1_axes(ax, top, *, ylabel):
    """The x axis at height 0 (ticks, label x at its right end) and a y axis from 0 to 1 for the
    densities and D; nothing below 0, where the z line is."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_position(("data", 0.0))
    ax.spines["left"].set_bounds(0.0, min(top, 1.5))
    ax.set_yticks([0.0, 0.5, 1.0] + ([1.5] if top >= 1.5 else []))
    ax.tick_params(labelsize=8)
    ax.set_xlabel("x", fontsize=11, style="italic", loc="right", labelpad=0)
    if ylabel:
        ax.set_ylabel("density, and D(x)", fontsize=9, loc="top")


def _draw_z_line(ax, panel, z_centre, z_half_length, z_line, top):
    """The z line under the x axis, -sqrt 3 on the left, and the arrows z -> x = G(z)."""
    ax.plot([z_centre - z_half_length, z_centre + z_half_length], [z_line, z_line], color="black",
            linewidth=1.0)
    z_positions = z_centre + panel["z_arrows"] / math.sqrt(3.0) * z_half_length
    for start, end in zip(z_positions, panel["x_arrows"]):
        ax.annotate("", xy=(end, 0.0), xytext=(start, z_line),
                    arrowprops={"arrowstyle": "-|>", "linewidth": 0.7, "color": "0.35",
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 7})
    ax.text(z_centre - 1.12 * z_half_length, z_line, "z", fontsize=11, ha="right",
            va="center", style="italic")
    for position, text in ((-1.0, "\u2212\u221a3"), (0.0, "0"), (1.0, "+\u221a3")):
        ax.plot([z_centre + position * z_half_length] * 2, [z_line, z_line - 0.02 * top], color="black",
                linewidth=1.0)
        ax.text(z_centre + position * z_half_length, z_line - 0.03 * top, text, fontsize=8, ha="center",
                va="top")


# ------------------------------------------------------------------------ saturation


def saturation_figure(out_path):
    """The section 3 argument as a plot; writes a PNG and returns the SaturationCurves drawn."""
    check_out_path(out_path)
    logits = np.linspace(-9.0, 9.0, 721)
    curves = saturation_curves(sigmoid(logits))
    d = curves.discriminator_output

    figure, (ax,) = new_figure(figsize=(7.5, 5.0), ncols=1)
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
    write_png(figure, out_path)
    return curves


# ------------------------------------------------------------------- f-divergences


#: The divergences figure: each f-divergence's name in its panel title.
DIVERGENCE_TITLES = {"kl": "KL", "reverse-kl": "reverse KL", "pearson": "Pearson \u03c7\u00b2",
                     "hellinger": "squared Hellinger", "js": "Jensen-Shannon", "gan": "GAN"}
#: The generator objectives of npgan.divergences.generator_objective, as the panels name them.
GENERATOR_LOSS_FORMULAS = {"minimax": r"$L_G = -$mean $f^*(g_f(V(G(z))))$",
                           "non-saturating": r"$L_G = -$mean $g_f(V(G(z)))$"}


def divergences_figure(out_path, *, seed=0):
    """G fitted to the two-mode bimodal1d target under each f-divergence; writes a PNG and
    returns {name: per-mode masses, or None if the run diverged}.

    Runs npgan.experiments.f_divergences.divergence_runs(seed=seed) and draws them with
    draw_divergences_figure.
    """
    check_out_path(out_path)
    figure, masses = draw_divergences_figure(divergence_runs(seed=seed), seed=seed)
    write_png(figure, out_path)
    return masses


def draw_divergences_figure(runs, *, seed):
    """The Figure of the divergences figure for ``runs`` ({name: samples (n, 1), or None if the
    run diverged}, as divergence_runs(seed=seed) returns them) and the per-mode masses drawn.

    One panel per divergence: a histogram of G's samples over the data density (x against
    density, each panel with its legend), titled with the divergence, the mass G puts within 3
    std of each mode, the G loss its run trained with (npgan.divergences.generator_objective:
    minimax or non-saturating) and any setting that run changes from the bimodal1d preset. The
    f-GAN paper's contrast: KL (and the divergences near it) cover both modes, reverse KL seeks one.
    """
    figure, axes = new_figure(figsize=(13.0, 8.0), nrows=2, ncols=(len(runs) + 1) // 2)
    grid = np.linspace(-5.0, 5.0, 801)
    density = np.exp(BIMODAL1D.log_density(grid[:, None]))
    masses = {}
    for ax, (name, samples) in zip(axes, runs.items()):
        generator_loss = divergence_run_config(name, seed=seed)["generator_loss"]
        changes = {key: value for key, value in DIVERGENCE_RUN_SETTINGS.get(name, {}).items()
                   if key != "generator_loss"}
        heading = f"{DIVERGENCE_TITLES.get(name, name)} ({name})"
        loss_line = f"G loss {generator_loss}: {GENERATOR_LOSS_FORMULAS[generator_loss]}"
        if name == "gan" and generator_loss == "non-saturating":
            loss_line = f"G loss {generator_loss}: " + r"$L_G = -$mean $\log D(G(z))$"
        settings = "".join(f", {key} {value}" for key, value in changes.items())
        ax.plot(grid, density, color="black", linestyle=(0, (1, 2)), linewidth=2,
                label="data density (bimodal1d)")
        if samples is None:
            masses[name] = None
            ax.text(0.5, 0.5, "the run diverged:\nno samples of G", transform=ax.transAxes, ha="center",
                    va="center", fontsize=10, color="tab:red")
            ax.set_title(f"{heading}: diverged{settings}\n{loss_line}", fontsize=9.5)
        else:
            masses[name] = mode_masses(samples)
            shown = samples[(samples[:, 0] >= -5) & (samples[:, 0] <= 5), 0]
            ax.hist(shown, bins=100, range=(-5, 5), density=True, color="tab:blue", alpha=0.5,
                    label=f"G: {samples.shape[0]:,} samples")
            ax.set_title(f"{heading}{settings}\n{loss_line}\nmass within 3 std of -2 / +2: "
                         f"{masses[name][0]:.2f} / {masses[name][1]:.2f}", fontsize=9.5)
        ax.set_xlim(-5, 5)
        ax.set_ylim(0.0, 1.3 * ax.get_ylim()[1])  # room for the legend above the modes
        ax.set_xlabel("x", fontsize=9)
        ax.set_ylabel("density", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.legend(loc="upper center", fontsize=8, frameon=False)
    for ax in axes[len(runs):]:
        ax.set_axis_off()
    figure.suptitle(f"G fitted to two modes under each f-divergence (bimodal1d, seed {seed}): each panel "
                    f"is `npgan train --preset bimodal1d --divergence NAME --seed {seed}`", fontsize=11)
    figure.tight_layout()
    return figure, masses


# ------------------------------------------------------------------------- Figure 2


def figure2(gan, config, training_images, out_path, *, image_shape=(28, 28), rows=5, columns=6, seed=0):
    """Figure 2 of the paper: samples of G and, rightmost, the nearest training example; writes a PNG.

    Draws rows * (columns - 1) samples with gan.sample(n, numpy.random.default_rng(seed))
    (config is not needed: the GAN carries its noise prior), shown as ``rows`` rows of ``columns - 1``; the
    last sample of each row (framed) is matched to its nearest row of
    ``training_images`` ((N, height * width), pixels in [0, 1], e.g. the 50,000 MNIST
    training images), shown in the separate rightmost column with its squared
    distance. Returns a dict:

        samples                       (rows * (columns - 1), height * width), as drawn
        neighbour_indices             (rows,) row of training_images for each row
        neighbour_squared_distances   (rows,) ||last sample of the row - neighbour||^2
        neighbours                    (rows, height * width) those training images
    """
    height, width = image_shape_of(image_shape)
    require_integer(rows, "rows", minimum=1)
    require_integer(columns, "columns (the last holds the nearest training examples)", minimum=2)
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
    check_out_path(out_path)

    per_row = columns - 1
    samples = gan.sample(rows * per_row, np.random.default_rng(seed))
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
    scale = inches_per_pixel(sample_grid.shape[0])
    grid_height = sample_grid.shape[0] * scale
    samples_width = sample_grid.shape[1] * scale
    column_width = neighbour_column.shape[1] * scale
    left, gap, right, top, bottom, margin = 0.25, 0.45, 1.0, 1.1, 0.25, 0.12
    figure_width = left + samples_width + gap + column_width + right
    figure_height = top + grid_height + bottom
    figure, (samples_ax, neighbours_ax) = new_figure(figsize=(figure_width, figure_height), ncols=2)

    def position(x_inches, width_inches):
        return [x_inches / figure_width, bottom / figure_height, width_inches / figure_width,
                grid_height / figure_height]

    samples_ax.set_position(position(left, samples_width))
    neighbours_ax.set_position(position(left + samples_width + gap, column_width))
    show_grid(samples_ax, sample_grid)
    show_grid(neighbours_ax, neighbour_column)
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
    write_png(figure, out_path)


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
    height, width = image_shape_of(image_shape)
    require_integer(rows, "rows", minimum=1)
    require_integer(steps, "steps", minimum=2)
    check_out_path(out_path)
    noise_dim = config["noise_dim"]
    endpoints = sample_noise(config["noise"], 2 * rows, noise_dim, np.random.default_rng(seed))
    z0, z1 = endpoints.reshape(rows, 2, noise_dim).transpose(1, 0, 2).astype(np.float64)
    t = np.linspace(0.0, 1.0, steps)
    z = ((1.0 - t)[None, :, None] * z0[:, None, :] + t[None, :, None] * z1[:, None, :]).astype(np.float32)
    images = gan.generate(z.reshape(rows * steps, noise_dim))
    _check_generated(images, height, width)
    padding = FIGURE_GRID_PADDING
    grid = image_grid(images, image_shape, rows=rows, columns=steps, padding=padding)

    scale = inches_per_pixel(grid.shape[0])
    figure, (ax,) = new_figure(figsize=(grid.shape[1] * scale + 0.5, grid.shape[0] * scale + 1.3), ncols=1)
    show_grid(ax, grid)
    ax.set_xticks(np.arange(steps) * (width + padding) + (width - 1) / 2)
    ax.set_xticklabels([f"{value:.2g}" for value in t], fontsize=8)
    ax.set_xlabel("t in z = (1 \u2212 t) z0 + t z1", fontsize=9)
    ax.set_title(f"Figure 3: G(z) along straight lines between pairs of z ~ p_z ({config['noise']}, "
                 f"{noise_dim}-D), seed {seed}", fontsize=9)
    figure.tight_layout()
    write_png(figure, out_path)
    return {"t": t, "z": z, "images": images.reshape(rows, steps, height * width)}


def _check_generated(images, height, width):
    """A ValueError unless G's samples are finite images of (height, width)."""
    if images.shape[1] != height * width:
        raise ValueError(f"G makes {images.shape[1]} values per sample, but image_shape ({height}, {width}) "
                         f"needs {height * width}")
    require_finite_samples(images, "G's samples", "draw")
