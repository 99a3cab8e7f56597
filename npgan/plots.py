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
    reference lines (Table 1's rows, the real-data reference). What an image run
    writes as parzen.png.

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
from npgan.validate import is_integer, require_integer

PNG_DPI = 110


# ----------------------------------------------------------------------- image grids


def image_grid(images, image_shape, *, rows, columns, padding=2, fill=1.0):
    """Tile images (rows * columns, height * width) row-major into one 2-D float64 array.

    Image i goes to cell (i // columns, i % columns); cells are separated by
    ``padding`` pixels of value ``fill`` (none around the outside), so the grid is
    (rows * height + (rows - 1) * padding, columns * width + (columns - 1) * padding).
    """
    height, width = image_shape_of(image_shape)
    for name, value, minimum in (("rows", rows, 1), ("columns", columns, 1), ("padding", padding, 0)):
        require_integer(value, name, minimum)
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != height * width:
        raise ValueError(f"images must be an (n, {height * width}) array (one flattened {height}x{width} "
                         f"image per row), got shape {images.shape}")
    if images.shape[0] != rows * columns:
        raise ValueError(f"a {rows} x {columns} grid needs exactly {rows * columns} images, "
                         f"got {images.shape[0]}")
    require_finite_samples(images, "images", "tile")
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
    check_out_path(out_path)
    figure, (ax,) = new_figure(figsize=(7.5, 4.5), ncols=1)
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
    write_png(figure, out_path)
    return curves[label]


# --------------------------------------------------------------------------- helpers


def new_figure(*, figsize, ncols, nrows=1):
    """A Figure on its own Agg canvas (no pyplot, no display) and its nrows * ncols axes, row-major."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, list(axes.ravel())


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
    ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
