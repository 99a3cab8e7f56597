"""Drawing arrays with matplotlib alone: sample grids, toy scatter plots, Parzen curves.

Every drawing function draws on its own matplotlib.figure.Figure attached to an Agg
canvas (no display, no pyplot global state), writes exactly one PNG at ``out_path``
(its directory must exist; the image is rendered in memory first and written with
npgan.fileio.write_atomically, so a drawing error or a crash leaves no partial file)
and returns the numbers it drew. This module draws what it is given; the paper's
figures, which first make their numbers, are in npgan.paper_figures.

image_grid(images, image_shape, *, rows, columns, padding=2, fill=1.0)
    The images (n, height * width), n = rows * columns, tiled row-major (image i in
    cell (i // columns, i % columns)) into one 2-D float64 array, the cells separated
    by ``padding`` pixels of value ``fill``; no border around the outside:
    (rows * height + (rows - 1) * padding, columns * width + (columns - 1) * padding).

samples_grid_figure(samples, image_shape, out_path, *, rows=10, columns=10, title=None)
    The first rows * columns samples of G as an image grid, as MNIST shows digits:
    gray colour map, 0 = black, 1 = white (values outside [0, 1] are drawn clipped).
    What ``npgan train`` writes as samples.png for image data. Returns the grid.

toy_samples_figure(samples, toy, out_path, *, title=None)
    G's samples over a toy distribution: a scatter (2-D, equal aspect) with the
    mode centres marked and the 3-std "high quality" circles of the VEEGAN metric
    drawn, or a histogram over the true density (1-D). What ``npgan train`` writes
    as samples.png.

parzen_curve_figure(epochs, values, out_path, *, title=None, label="model", references=None, more=None)
    A Parzen log-likelihood against the epoch, with optional labelled horizontal
    reference lines (Table 1's rows, the real-data reference), each in its own colour
    in every plot; far-outlying first epochs are left below the y axis and listed.
    What an image run writes as parzen.png. draw_parzen_curve_figure gives the Figure.

training_curves_figure(records, out_path, *, title=None, divergence="gan", generator_loss="non-saturating")
    A run's metrics.jsonl records against the iteration: the losses (with their values
    where D = 1/2), mean D(x) and D(G(z)) with the line D = 1/2, G's sample diversity
    against the data's, and the quick Parzen estimate when the records have one. What
    every run writes as curves.png; returns the Figure.

The helpers shared with npgan.paper_figures: new_figure (a Figure on its own Agg
canvas), check_out_path, write_png, image_shape_of, require_finite_samples, show_grid,
inches_per_pixel.
"""

import io
import os

import numpy as np

from npgan.data.toy import ToyDistribution
from npgan.evaluate.modes import evaluate_toy
from npgan.fileio import write_atomically
from npgan.validate import is_integer, is_real, require_integer

PNG_DPI = 110


# ----------------------------------------------------------------------- image grids


def image_grid(images, image_shape, *, rows, columns, padding=2, fill=1.0):
    """Tile images (rows * columns, height * width) row-major into one 2-D float64 array.

    Image i goes to cell (i // columns, i % columns); cells are separated by
    ``padding`` pixels of value ``fill`` (none around the outside), so the grid is
    (rows * height + (rows - 1) * padding, columns * width + (columns - 1) * padding).
    """
    height, width, channels = image_layout(image_shape)
    for name, value, minimum in (("rows", rows, 1), ("columns", columns, 1), ("padding", padding, 0)):
        require_integer(value, name, minimum)
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != height * width * channels:
        raise ValueError(f"images must be an (n, {height * width * channels}) array (one flattened "
                         f"{'x'.join(map(str, image_shape))} image per row), got shape {images.shape}")
    if images.shape[0] != rows * columns:
        raise ValueError(f"a {rows} x {columns} grid needs exactly {rows * columns} images, "
                         f"got {images.shape[0]}")
    require_finite_samples(images, "images", "tile")
    # Each image gets `padding` rows and columns of fill below and to its right; the
    # last row and column of cells then lose theirs, leaving separators only.
    cells = np.full((rows, columns, height + padding, width + padding, channels), fill, dtype=np.float64)
    cells[:, :, :height, :width] = images.reshape(rows, columns, height, width, channels)
    grid = cells.transpose(0, 2, 1, 3, 4).reshape(rows * (height + padding), columns * (width + padding), channels)
    grid = grid[:grid.shape[0] - padding, :grid.shape[1] - padding]
    return grid[:, :, 0] if channels == 1 else grid


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
    check_out_path(out_path)
    scale = inches_per_pixel(grid.shape[0])
    figure, (ax,) = new_figure(figsize=(grid.shape[1] * scale + 0.4, grid.shape[0] * scale + 0.7), ncols=1)
    show_grid(ax, grid)
    ax.set_title(title if title else f"{rows * columns} samples of G", fontsize=10)
    figure.tight_layout()
    write_png(figure, out_path)
    return grid


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
    require_finite_samples(samples, "samples", "plot")
    if toy.dim > 2:
        raise ValueError(f"toy_samples_figure draws 1-D or 2-D data, {toy.name} is {toy.dim}-D")
    check_out_path(out_path)
    samples = samples.astype(np.float64)
    coverage = evaluate_toy(samples, toy)
    radius = 3.0 * toy.std
    margin = max(0.5, 6 * toy.std)
    low = toy.centres.min(axis=0) - margin
    high = toy.centres.max(axis=0) + margin
    outside = int(np.count_nonzero(np.any((samples < low) | (samples > high), axis=1)))
    subtitle = f"{coverage}" + (f"\n{outside} samples lie outside the view" if outside else "")

    if toy.dim == 2:
        figure, (ax,) = new_figure(figsize=(6.0, 6.4), ncols=1)
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
        figure, (ax,) = new_figure(figsize=(7.0, 4.5), ncols=1)
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
    write_png(figure, out_path)
    return coverage


# ------------------------------------------------------------------------ Parzen curve


#: Parzen curves: each reference line has one colour in every plot, found by the start of its
#: name (Table 1's rows, the real-data reference); any other reference gets one of
#: PARZEN_OTHER_REFERENCE_COLOURS chosen from its name alone. The curves take PARZEN_CURVE_COLOURS
#: in order; no reference uses those.
PARZEN_REFERENCE_COLOURS = {"Adversarial nets": "tab:red", "real data": "black", "Deep GSN": "tab:purple",
                            "DBN": "tab:brown", "Stacked CAE": "tab:pink"}
PARZEN_OTHER_REFERENCE_COLOURS = ("tab:olive", "tab:gray", "goldenrod", "navy")
PARZEN_CURVE_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:cyan")
#: A Parzen curve's y axis reaches down at most this many times as far below its top as the
#: lowest value of the curves' later halves (where they have settled); lower values (the first
#: epochs, often hundreds of nats below the rest) are left below it, when that saves at least a
#: quarter of the height.
PARZEN_DEPTH_LIMIT = 3.0


def parzen_curve_figure(epochs, values, out_path, *, title=None, label="model", references=None, more=None):
    """A Parzen log-likelihood against the epoch; writes a PNG and returns (epochs, values).

    label: which G the curve is (e.g. "averaged G (decay 0.99998)", "G as trained").
    references: an optional {name: value} drawn as labelled horizontal lines (e.g. the
    rows of Table 1, or the real-data reference), each in its own colour, the same in
    every plot (PARZEN_REFERENCE_COLOURS). more: optional further curves,
    {label: (epochs, values)}, each in epoch order. Far-outlying low values
    (parzen_lower_limit) are left below the y axis, marked there and listed on the plot.
    What a run of an image preset writes as parzen.png (the quick estimate on validation)
    and what benchmarks/RESULTS.md shows for the reproduction (the full estimate on test).
    draw_parzen_curve_figure returns the Figure unwritten.
    """
    curves = _parzen_curves(epochs, values, label, more)
    check_out_path(out_path)
    write_png(draw_parzen_curve_figure(epochs, values, title=title, label=label, references=references,
                                       more=more), out_path)
    return curves[label]


def draw_parzen_curve_figure(epochs, values, *, title=None, label="model", references=None, more=None):
    """The Figure parzen_curve_figure writes (same arguments but out_path)."""
    curves = _parzen_curves(epochs, values, label, more)
    references = dict(references or {})
    figure, (ax,) = new_figure(figsize=(9.0, 6.0), ncols=1)
    markers = "os^D"
    for index, (name, (xs, ys)) in enumerate(curves.items()):
        ax.plot(xs, ys, marker=markers[index % len(markers)], markersize=3,
                color=PARZEN_CURVE_COLOURS[index % len(PARZEN_CURVE_COLOURS)], linewidth=1.5, label=name)
    # Named in the legend (close values would overlap as text), highest first as the lines are.
    for name, value in sorted(references.items(), key=lambda item: -item[1]):
        ax.axhline(value, color=parzen_reference_colour(name), linestyle="--", linewidth=1.0,
                   label=f"{name}: {value:g}")
    lower = parzen_lower_limit([ys for _, ys in curves.values()], list(references.values()))
    if lower is not None:
        cut = []
        for index, (name, (xs, ys)) in enumerate(curves.items()):
            below = ys < lower
            if np.any(below):
                ax.plot(xs[below], np.full(np.count_nonzero(below), lower), linestyle="none", marker="v",
                        markersize=6, color=PARZEN_CURVE_COLOURS[index % len(PARZEN_CURVE_COLOURS)],
                        clip_on=False, zorder=5)
                cut.append(f"{name},\n  epoch " + ", ".join(f"{x:g}: {y:.1f}" for x, y in zip(xs[below], ys[below])))
        ax.set_ylim(bottom=lower)
        ax.text(0.99, 0.02, f"\u25bc below the y axis (cut off at {lower:.0f}):\n" + "\n".join(cut),
                transform=ax.transAxes, fontsize=8, va="bottom", ha="right", multialignment="left", zorder=6,
                bbox={"facecolor": "white", "edgecolor": "0.7", "alpha": 0.9})
    ax.set_xlabel("epoch")
    ax.set_ylabel("Parzen log-likelihood (nats)")
    ax.set_title(title if title else "Parzen-window log-likelihood", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=9, frameon=False)
    figure.tight_layout()
    return figure


def parzen_reference_colour(name):
    """The colour of the reference line ``name``, the same in every plot (PARZEN_REFERENCE_COLOURS)."""
    for start, colour in PARZEN_REFERENCE_COLOURS.items():
        if name.startswith(start):
            return colour
    return PARZEN_OTHER_REFERENCE_COLOURS[sum(name.encode()) % len(PARZEN_OTHER_REFERENCE_COLOURS)]


def parzen_lower_limit(curves, references=()):
    """The lower y limit of a Parzen curve figure, or None to show every value.

    curves: the values of each curve in epoch order (a list of 1-D arrays). With top the
    highest value or reference and floor the lowest finite value of the curves' later
    halves, values below top - PARZEN_DEPTH_LIMIT * (top - floor) are left out when that
    saves at least a quarter of the height; the limit then sits 5% of the shown span below
    the lowest value (or reference) kept.
    """
    finite = [np.asarray(ys, dtype=np.float64) for ys in curves]
    settled = np.concatenate([ys[len(ys) // 2:] for ys in finite] + [np.empty(0)])
    settled = settled[np.isfinite(settled)]
    every = np.concatenate(finite + [np.empty(0)])
    every = every[np.isfinite(every)]
    if settled.size == 0:
        return None
    top = max([every.max(), *references])
    depth_limit = top - PARZEN_DEPTH_LIMIT * (top - settled.min())
    lowest = every.min()
    if lowest >= depth_limit:
        return None
    kept = min([every[every >= depth_limit].min(), *references])
    if not top > kept or top - kept > 0.75 * (top - lowest):
        return None
    return float(kept - 0.05 * (top - kept))


def _parzen_curves(epochs, values, label, more):
    """{label: (epochs, values)} of every curve as float64 arrays, or a ValueError naming the bad one."""
    curves = {label: (epochs, values), **(more or {})}
    for name, (xs, ys) in curves.items():
        xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        if xs.ndim != 1 or xs.shape != ys.shape or len(xs) == 0:
            raise ValueError(f"epochs and values of {name!r} must be equal-length non-empty 1-D sequences, got "
                             f"shapes {xs.shape} and {ys.shape}")
        curves[name] = xs, ys
    return curves


# --------------------------------------------------------------------------- helpers


def new_figure(*, figsize, ncols, nrows=1):
    """A Figure on its own Agg canvas (no pyplot, no display) and its nrows * ncols axes, row-major."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, list(axes.ravel())


def set_margins(figure, *, left, right, top, bottom, between):
    """Place the figure's grid of axes (one column) with these margins and this space between rows,
    in inches: what tight_layout would work out, without drawing the figure to measure it."""
    width, height = figure.get_size_inches()
    rows = figure.axes[0].get_subplotspec().get_gridspec().nrows
    axes_height = (height - top - bottom - (rows - 1) * between) / rows
    figure.subplots_adjust(left=left / width, right=1.0 - right / width, top=1.0 - top / height,
                           bottom=bottom / height, hspace=between / axes_height)


def check_out_path(out_path):
    """A FileNotFoundError, before any drawing, when out_path's directory does not exist."""
    directory = os.path.dirname(os.path.abspath(os.fspath(out_path)))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {out_path}: the directory {directory} does not exist; "
                                "create it first")


def write_png(figure, out_path):
    """Render the whole PNG in memory first, so a drawing error never leaves a partial file;
    then write it atomically (npgan.fileio), so neither does a crash."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    write_atomically(out_path, buffer.getvalue())


def image_layout(image_shape):
    """(height, width, channels) from (height, width) (gray: channels 1) or (height, width, 3) (RGB,
    channel last, as Stacked MNIST's rows are laid out), or a ValueError."""
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is None or len(shape) not in (2, 3) or not all(is_integer(side) and side >= 1 for side in shape) \
            or shape[2:] not in ((), (3,)):
        raise ValueError(f"image_shape must be (height, width) or (height, width, 3) of positive integers, e.g. "
                         f"(28, 28); got {image_shape!r}")
    return int(shape[0]), int(shape[1]), int(shape[2]) if len(shape) == 3 else 1


def image_shape_of(image_shape):
    """(height, width) from a 2-tuple of positive integers, or a ValueError."""
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is None or len(shape) != 2 or not all(is_integer(side) and side >= 1 for side in shape):
        raise ValueError(f"image_shape must be (height, width) of positive integers, e.g. (28, 28); "
                         f"got {image_shape!r}")
    return int(shape[0]), int(shape[1])


def require_finite_samples(samples, what, action):
    """A ValueError unless ``samples`` (an array) are numbers, all finite: there is nothing to
    ``action`` ("tile", "plot", "draw") when training diverged."""
    if not np.issubdtype(samples.dtype, np.number) or not np.all(np.isfinite(samples)):
        raise ValueError(f"{what} contain NaN or infinite values (did training diverge?); nothing to {action}")


def inches_per_pixel(grid_height):
    """Image pixels to inches: 28 x 28 digits about 0.8 in, and any grid at least 3 in tall."""
    return max(0.028, 3.0 / grid_height)


def show_grid(ax, grid):
    """An image grid in gray, 0 = black and 1 = white (MNIST's look), pixel for pixel, no ticks."""
    if grid.ndim == 3:  # RGB, channel last: imshow takes it as it is, in [0, 1]
        ax.imshow(np.clip(grid, 0.0, 1.0), interpolation="nearest")
    else:
        ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


# ---------------------------------------------------------------------- training curves

GENERATOR_LOSS_LABELS = {"non-saturating": "L_G = -mean log D(G(z)) (non-saturating)",
                         "minimax": "L_G = mean log(1 - D(G(z))) (minimax)"}


def training_curves_figure(records, out_path, *, title=None, divergence="gan", generator_loss="non-saturating"):
    """A run's training curves against the iteration; writes a PNG and returns the Figure.

    records: the run's metrics.jsonl records in order (dicts with an integer "iteration"), as
    npgan.run.read_metrics gives them; each point is a mean over the log_every iterations up to
    it. The panels, top to bottom (the Figure's axes, in this order):

        losses       objective_d (L_D) and objective_g (L_G). With divergence "gan", their
                     values where D = 1/2 everywhere: L_D = log 4 = 1.386 (L_D is unscaled, the
                     minus V(D, G) of the paper), L_G = log 2 = 0.693 (non-saturating) or
                     -log 2 (minimax)
        D outputs    mean_d_real = mean D(x), mean_d_fake = mean D(G(z)), and the line D = 1/2
        diversity    sample_diversity (G) against data_diversity, the records with a
                     collapse_warning marked
        Parzen       parzen_validation (the quick estimate), only when some record has one

    A field that is missing, None or not finite leaves a gap. divergence and generator_loss:
    the run's config; under an f-divergence (npgan.divergences) D is a critic with output V,
    mean_d_real is the mean sigmoid(V(x)), and no equilibrium values are drawn.
    """
    if not isinstance(records, (list, tuple)) or not records or not all(
            isinstance(record, dict) and is_integer(record.get("iteration")) for record in records):
        raise ValueError("records must be a non-empty list of metrics records (dicts with an integer "
                         "\"iteration\"), as npgan.run.read_metrics gives them")
    if generator_loss not in GENERATOR_LOSS_LABELS:
        raise ValueError(f"generator_loss must be one of {', '.join(GENERATOR_LOSS_LABELS)}, got {generator_loss!r}")
    check_out_path(out_path)
    iterations = np.array([record["iteration"] for record in records], dtype=np.float64)

    def series(name):
        values = [record.get(name) for record in records]
        return np.array([value if is_real(value) else np.nan for value in values], dtype=np.float64)

    parzen = series("parzen_validation")
    panels = 4 if np.any(np.isfinite(parzen)) else 3
    figure, axes = new_figure(figsize=(8.0, 2.5 * panels + 0.9), ncols=1, nrows=panels)
    style = {"marker": "o", "markersize": 2.5} if len(records) <= 60 else {}
    gan = divergence == "gan"

    def curve(ax, name, label, colour, **options):
        values = series(name)
        if np.any(np.isfinite(values)):
            ax.plot(iterations, values, color=colour, linewidth=1.3, label=label, **{**style, **options})
        return values

    losses, d_outputs, spread = axes[:3]
    curve(losses, "objective_d", "L_D = -mean[log D(x) + log(1 - D(G(z)))]" if gan else
          "critic loss -F (f-GAN)", "C0")
    curve(losses, "objective_g", GENERATOR_LOSS_LABELS[generator_loss] if gan else
          f"G loss ({generator_loss})", "C1")
    if gan:
        losses.axhline(np.log(4.0), color="C0", linestyle="--", linewidth=0.9,
                       label=f"L_D where D = 1/2: log 4 = {np.log(4.0):.3f}")
        sign = 1.0 if generator_loss == "non-saturating" else -1.0
        losses.axhline(sign * np.log(2.0), color="C1", linestyle="--", linewidth=0.9,
                       label=f"L_G where D = 1/2: {'' if sign > 0 else '-'}log 2 = {sign * np.log(2.0):.3f}")
    losses.set_ylabel("loss (nats)")
    losses.set_title("losses", fontsize=10)

    curve(d_outputs, "mean_d_real", "mean D(x) on data" if gan else "mean sigmoid(V(x)) on data", "C2")
    curve(d_outputs, "mean_d_fake", "mean D(G(z)) on G's samples" if gan else
          "mean sigmoid(V(G(z))) on G's samples", "C3")
    d_outputs.axhline(0.5, color="black", linestyle="--", linewidth=0.9,
                      label="D = 1/2: D cannot tell them apart (the optimum)" if gan else "1/2 (V = 0)")
    d_outputs.set_ylim(-0.03, 1.03)
    d_outputs.set_ylabel("mean D output")
    d_outputs.set_title("the discriminator's outputs", fontsize=10)

    sample_diversity = curve(spread, "sample_diversity", "G's samples (sample_diversity)", "C4")
    curve(spread, "data_diversity", "data (data_diversity)", "black", linestyle="--")
    warned = np.array([record.get("collapse_warning") is True for record in records])
    if np.any(warned):
        spread.scatter(iterations[warned], sample_diversity[warned], marker="x", s=40, color="tab:red", zorder=3,
                       label="collapse_warning")
    spread.set_ylim(bottom=0.0)
    spread.set_ylabel("mean per-dimension std")
    spread.set_title("diversity: G's samples against the data (1,000 each)", fontsize=10)

    if panels == 4:
        known = np.isfinite(parzen)
        axes[3].plot(iterations[known], parzen[known], color="C5", marker="o", markersize=3, linewidth=1.3,
                     label="parzen_validation (higher is better)")
        axes[3].set_ylabel("log-likelihood (nats)")
        axes[3].set_title("quick Parzen estimate on validation", fontsize=10)

    from matplotlib.ticker import MaxNLocator

    low, high = iterations.min(), iterations.max()
    margin = max(1.0, 0.02 * (high - low))
    for ax in axes:
        ax.set_xlim(low - margin, high + margin)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("iteration")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    figure.suptitle((title if title else "training curves") +
                    "\nlosses, D outputs: means over the iterations since the point before; diversity, "
                    "Parzen: at the point", fontsize=10)
    # Margins fixed in inches, where tight_layout measured them: drawn at every checkpoint of every
    # run, this figure took about 1 s, of which tight_layout's measuring took 0.4.
    set_margins(figure, left=0.95, right=0.2, top=0.85, bottom=0.6, between=0.8)
    write_png(figure, out_path)
    return figure
