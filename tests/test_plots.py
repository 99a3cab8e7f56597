"""npgan.plots: each drawing function writes one real PNG (and nothing on bad input), and
image_grid puts every pixel where its docstring says."""

import os

import numpy as np
import pytest

from npgan.data.toy import GAUSS1D, GRID25, RING8
from npgan.evaluate.modes import ModeCoverage
from npgan.plots import (
    PARZEN_CURVE_COLOURS,
    draw_parzen_curve_figure,
    image_grid,
    parzen_curve_figure,
    parzen_lower_limit,
    samples_grid_figure,
    toy_samples_figure,
)

from tests.figure_checks import only_file_in, png_size

# ----------------------------------------------------------------------- toy samples


@pytest.mark.parametrize("toy", [RING8, GRID25], ids=lambda toy: toy.name)
def test_toy_samples_figure_2d_writes_png_and_counts_modes(tmp_path, toy):
    samples = toy.sample(2500, np.random.default_rng(0))
    out_path = tmp_path / "samples.png"
    coverage = toy_samples_figure(samples, toy, out_path, title=f"{toy.name} exact samples")
    assert only_file_in(tmp_path) == str(out_path)
    png_size(out_path)
    assert isinstance(coverage, ModeCoverage)
    assert coverage.modes_captured == toy.num_modes
    assert coverage.high_quality_fraction > 0.97  # exact 2-D samples: P(chi_2 <= 3) = 0.989


def test_toy_samples_figure_1d_histogram(tmp_path):
    samples = GAUSS1D.sample(2500, np.random.default_rng(0))
    out_path = tmp_path / "samples.png"
    coverage = toy_samples_figure(samples, GAUSS1D, out_path)
    png_size(out_path)
    assert coverage.modes_captured == 1


def test_toy_samples_figure_collapsed_generator(tmp_path):
    """All samples on one ring mode: one mode captured, and still a picture."""
    noise = np.random.default_rng(0).standard_normal((500, 2))
    samples = RING8.centres[0] + 0.01 * noise
    coverage = toy_samples_figure(samples, RING8, tmp_path / "collapsed.png")
    png_size(tmp_path / "collapsed.png")
    assert coverage.modes_captured == 1


@pytest.mark.parametrize("samples, message", [
    (np.full((10, 2), np.nan), "NaN or infinite"),
    (np.zeros((10, 3)), r"\(n, 2\)"),
    (np.zeros(10), r"\(n, 2\)"),
], ids=["nan", "wrong-width", "one-dimensional"])
def test_toy_samples_figure_rejects_bad_samples_and_writes_nothing(tmp_path, samples, message):
    with pytest.raises(ValueError, match=message):
        toy_samples_figure(samples, RING8, tmp_path / "samples.png")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------- image grids


def numbered_images(n, height, width):
    """n images, all of whose pixels differ (from each other and from 1.0): values in [0, 1)."""
    pixels = height * width
    return np.arange(n * pixels, dtype=np.float64).reshape(n, pixels) / (n * pixels + 1)


def test_image_grid_puts_image_i_in_row_i_div_columns_column_i_mod_columns():
    rows, columns, height, width, padding = 2, 3, 3, 4, 2
    images = numbered_images(rows * columns, height, width)
    grid = image_grid(images, (height, width), rows=rows, columns=columns, padding=padding)
    assert grid.shape == (rows * height + (rows - 1) * padding, columns * width + (columns - 1) * padding)
    assert grid.dtype == np.float64
    covered = np.zeros(grid.shape, dtype=bool)
    for i in range(rows * columns):
        top = (i // columns) * (height + padding)
        left = (i % columns) * (width + padding)
        cell = grid[top:top + height, left:left + width]
        np.testing.assert_array_equal(cell, images[i].reshape(height, width))  # row-major inside a cell too
        covered[top:top + height, left:left + width] = True
    # Everything outside the cells is separator, of the fill value (1.0 by default).
    assert np.all(grid[~covered] == 1.0)
    assert np.count_nonzero(~covered) == grid.size - rows * columns * height * width


def test_image_grid_fill_and_zero_padding():
    images = numbered_images(4, 2, 2)
    grid = image_grid(images, (2, 2), rows=2, columns=2, padding=1, fill=0.25)
    np.testing.assert_array_equal(grid[2, :], 0.25)
    np.testing.assert_array_equal(grid[:, 2], 0.25)
    unpadded = image_grid(images, (2, 2), rows=2, columns=2, padding=0)
    cells = images.reshape(4, 2, 2)
    np.testing.assert_array_equal(unpadded, np.block([[cells[0], cells[1]], [cells[2], cells[3]]]))


@pytest.mark.parametrize("images, image_shape, rows, columns, padding, message", [
    (np.zeros((5, 4)), (2, 2), 2, 3, 2, "needs exactly 6 images, got 5"),
    (np.zeros((6, 5)), (2, 2), 2, 3, 2, r"\(n, 4\)"),
    (np.zeros(24), (2, 2), 2, 3, 2, r"\(n, 4\)"),
    (np.full((6, 4), np.nan), (2, 2), 2, 3, 2, "NaN or infinite"),
    (np.full((6, 4), np.inf), (2, 2), 2, 3, 2, "NaN or infinite"),
    (np.zeros((6, 4)), (4,), 2, 3, 2, "image_shape"),
    (np.zeros((6, 4)), (2, 2), 2, 3, -1, "padding"),
    (np.zeros((6, 4)), (2, 2), 0, 3, 2, "rows"),
], ids=["count", "width", "one-dimensional", "nan", "inf", "shape", "padding", "rows"])
def test_image_grid_rejects_bad_input(images, image_shape, rows, columns, padding, message):
    with pytest.raises(ValueError, match=message):
        image_grid(images, image_shape, rows=rows, columns=columns, padding=padding)


def test_samples_grid_figure_writes_png_of_the_first_rows_times_columns(tmp_path):
    samples = np.random.default_rng(0).uniform(size=(130, 16)).astype(np.float32)
    out_path = tmp_path / "samples.png"
    grid = samples_grid_figure(samples, (4, 4), out_path, title="uniform noise")
    assert only_file_in(tmp_path) == str(out_path)
    png_size(out_path)
    np.testing.assert_array_equal(grid, image_grid(samples[:100], (4, 4), rows=10, columns=10))


def test_samples_grid_figure_rejects_too_few_samples_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="n >= 100"):
        samples_grid_figure(np.zeros((99, 16)), (4, 4), tmp_path / "samples.png")
    assert os.listdir(tmp_path) == []


def test_parzen_curve_figure_draws_several_curves_and_checks_each(tmp_path):
    out_path = tmp_path / "parzen.png"
    epochs, values = parzen_curve_figure([5, 10, 20], [-53.2, 43.9, 95.0], out_path, label="trained",
                                         references={"real data": 241.2},
                                         more={"average": ([15, 20], [120.0, 150.0])})
    assert only_file_in(tmp_path) == str(out_path)
    png_size(out_path)
    np.testing.assert_array_equal(epochs, [5, 10, 20])
    np.testing.assert_array_equal(values, [-53.2, 43.9, 95.0])
    with pytest.raises(ValueError, match="'average'"):
        parzen_curve_figure([5], [1.0], tmp_path / "bad.png", more={"average": ([1, 2], [3.0])})
    assert not (tmp_path / "bad.png").exists()




def test_samples_grid_figure_refuses_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        samples_grid_figure(np.zeros((100, 16)), (4, 4), tmp_path / "no-such-directory" / "figure.png")
    assert os.listdir(tmp_path) == []


# paper-mnist's full Parzen estimate, epochs 1-45 (benchmarks/results/paper-mnist-parzen.json)
PAPER_MNIST_EPOCHS = [1, 2, 3, 5, 10, 15, 20, 25, 30, 35, 40, 45]
PAPER_MNIST_PARZEN = [-264.0, -58.7, -103.1, -53.2, 43.9, 66.8, 95.0, 112.2, 120.5, 127.6, 132.7, 138.6]


def test_parzen_curve_figure_leaves_far_outlying_first_epochs_below_the_axis_and_says_so():
    figure = draw_parzen_curve_figure(PAPER_MNIST_EPOCHS, PAPER_MNIST_PARZEN, label="G as trained",
                                      references={"real data": 241.2})
    (ax,) = figure.axes
    bottom, top = ax.get_ylim()
    assert -264.0 < bottom < -103.1  # epoch 1 cut off, epoch 3 on shown
    assert top > 241.2
    notes = [text.get_text() for text in ax.texts if "below the y axis" in text.get_text()]
    assert len(notes) == 1 and "epoch 1: -264.0" in notes[0] and "-103.1" not in notes[0]
    markers = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == [1]
    # the whole run to epoch 140: its later half, 149-171, lets epochs 1-5 go
    more_epochs = list(range(50, 145, 5))
    more_values = [142.3, 147.4, 148.8, 149.3, 155.8, 156.7, 158.1, 155.8, 160.1, 162.2, 163.1, 164.2, 165.5, 167.5,
                   169.1, 169.0, 170.1, 171.4, 170.9]
    figure = draw_parzen_curve_figure(PAPER_MNIST_EPOCHS + more_epochs, PAPER_MNIST_PARZEN + more_values,
                                      references={"real data": 241.2})
    assert -53.2 < figure.axes[0].get_ylim()[0] < 43.9


def test_parzen_curve_figure_shows_every_value_when_none_is_a_far_outlier():
    values = [44.6, 90.0, 118.2, 137.0, 141.1, 147.0, 153.1, 157.0, 160.3, 161.2]
    figure = draw_parzen_curve_figure(list(range(10, 110, 10)), values, references={"real data": 241.2})
    (ax,) = figure.axes
    assert ax.get_ylim()[0] < min(values)
    assert not [text for text in ax.texts if "below the y axis" in text.get_text()]
    # a flat run with one slightly lower value has no spread to measure outliers by: all shown
    assert parzen_lower_limit([[100.0, 101.0, 101.0, 101.0, 150.0]]) is None
    assert parzen_lower_limit([[-264.0, 5.0, 5.0, 5.0]]) is None  # nothing left to show a span of
    assert parzen_lower_limit([[3.0, np.nan]]) is None


def test_parzen_reference_lines_keep_their_colour_across_plots():
    def reference_colours(references, **curves):
        figure = draw_parzen_curve_figure([10, 20], [150.0, 200.0], label="averaged G", references=references,
                                          more=curves)
        return {line.get_label().split(":")[0]: line.get_color() for line in figure.axes[0].get_lines()
                if line.get_linestyle() == "--"}

    table1 = {"DBN": 138, "Stacked CAE": 121, "Deep GSN": 214, "Adversarial nets (paper)": 225}
    first = reference_colours({**table1, "real data (10,000 training images)": 241.2})
    second = reference_colours({"real data (10,000 training images)": 241.2, "Adversarial nets (paper)": 225},
                               **{"G as trained": ([10, 20], [100.0, 120.0])})
    assert second["Adversarial nets (paper)"] == first["Adversarial nets (paper)"]
    assert second["real data (10,000 training images)"] == first["real data (10,000 training images)"]
    assert len(set(first.values())) == len(first)  # one colour per reference
    assert not set(first.values()) & set(PARZEN_CURVE_COLOURS)  # and none a curve's
