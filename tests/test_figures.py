"""npgan.figures: every function writes one real PNG, and Figure 1's run tells the paper's story.

Figures 2 and 3 and the image grids use a small untrained G with 4x4 "images"
(16 sigmoid outputs), so each of their tests takes a fraction of a second.

Figure 1 is run once (seed 0, about 13 s on an idle core) and its numbers are checked
panel by panel. The tolerances come from seeds 0-9 of the same protocol, so that a
platform whose float32 rounding sends the run down another trajectory still passes
(multi-threaded BLAS already does: seed 0 then gives, e.g., an (a) mean of 3.17
instead of 3.19). Each assert quotes the seed-0 value (single-threaded BLAS) and
the range or worst case over the ten seeds.
"""

import os
import struct

import numpy as np
import pytest

from npgan.data.toy import GAUSS1D, GAUSS1D_MEAN, GAUSS1D_STD, GRID25, RING8
from npgan.evaluate.modes import ModeCoverage
from npgan.figures import (
    FIGURE1_SHIFT,
    figure1,
    figure2,
    figure3,
    image_grid,
    nearest_neighbours,
    parzen_curve_figure,
    samples_grid_figure,
    saturation_figure,
    toy_samples_figure,
)
from npgan.models import build_gan, preset_config
from npgan.noise import sample_noise
from npgan.train import generate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MINIMUM_PNG_BYTES = 5_000


def png_size(path):
    """(width, height) of the PNG at ``path`` after checking its signature and size."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    assert os.path.getsize(path) > MINIMUM_PNG_BYTES, f"{path} is only {os.path.getsize(path)} bytes"
    return struct.unpack(">II", head[16:24])


def only_file_in(directory):
    entries = os.listdir(directory)
    assert len(entries) == 1, f"expected exactly one file, found {entries}"
    return os.path.join(directory, entries[0])


# -------------------------------------------------------------------------- Figure 1


@pytest.fixture(scope="module")
def figure1_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("figure1")
    out_path = directory / "fig1.png"
    return directory, out_path, figure1(out_path, seed=0)


def test_figure1_writes_one_wide_png(figure1_run):
    directory, out_path, _ = figure1_run
    assert only_file_in(directory) == str(out_path)
    width, height = png_size(out_path)
    assert width > 2 * height  # four panels side by side


def test_figure1_a_is_part_way_g_shifted_from_the_data(figure1_run):
    numbers = figure1_run[2]
    shift = abs(numbers["generator_mean_a"] - GAUSS1D_MEAN)
    # (a) stops at the first check within FIGURE1_SHIFT of the data mean; seed 0: 0.81.
    assert 0.3 < shift <= FIGURE1_SHIFT
    assert numbers["jensen_shannon_a"] > 0.1  # seed 0: 0.37, least of ten seeds 0.22


def test_figure1_b_discriminator_reaches_proposition1_optimum(figure1_run):
    numbers = figure1_run[2]
    assert numbers["generator_mean_b"] == numbers["generator_mean_a"]  # G was not stepped
    # mean |D - D*| over the bulk: seed 0: 0.029; worst of ten seeds 0.082.
    assert numbers["mean_abs_d_minus_optimal_b"] < 0.1


def test_figure1_c_generator_steps_move_p_g_towards_the_data(figure1_run):
    numbers = figure1_run[2]
    # seed 0: mean 3.19 -> 3.74, JSD 0.37 -> 0.20; true for all ten seeds.
    assert abs(numbers["generator_mean_c"] - GAUSS1D_MEAN) < abs(numbers["generator_mean_b"] - GAUSS1D_MEAN)
    assert numbers["jensen_shannon_c"] < numbers["jensen_shannon_b"]


def test_figure1_d_p_g_close_to_p_data_and_d_close_to_half(figure1_run):
    numbers = figure1_run[2]
    # seed 0: mean 3.98, std 0.50, JSD 0.019, mean |D - 1/2| 0.071;
    # ten seeds: mean 3.95-4.01, std 0.47-0.52, JSD <= 0.066, |D - 1/2| <= 0.084.
    assert abs(numbers["generator_mean_d"] - GAUSS1D_MEAN) < 0.25
    assert abs(numbers["generator_std_d"] - GAUSS1D_STD) < 0.2
    assert numbers["jensen_shannon_d"] < 0.1
    assert numbers["jensen_shannon_d"] < numbers["jensen_shannon_c"]
    assert numbers["mean_abs_d_minus_half_d"] < 0.15
    assert numbers["mean_abs_d_minus_half_d"] < numbers["mean_abs_d_minus_half_b"]


def test_figure1_refuses_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        figure1(tmp_path / "no-such-directory" / "fig1.png")


# ------------------------------------------------------------------------ saturation


def test_saturation_figure_writes_png_and_returns_the_section3_curves(tmp_path):
    out_path = tmp_path / "saturation.png"
    curves = saturation_figure(out_path)
    assert only_file_in(tmp_path) == str(out_path)
    png_size(out_path)
    d = curves.discriminator_output
    assert d.min() < 1e-3 and d.max() > 1 - 1e-3
    np.testing.assert_allclose(curves.minimax_gradient, d, rtol=0, atol=1e-15)
    np.testing.assert_allclose(curves.non_saturating_gradient, 1 - d, rtol=0, atol=1e-15)
    early = d < 0.01  # where the minimax objective saturates
    assert np.all(curves.minimax_gradient[early] < 0.01)
    assert np.all(curves.non_saturating_gradient[early] > 0.99)


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


# ------------------------------------------------------------------ nearest neighbours


def brute_force_nearest(queries, references):
    squared = ((queries[:, None, :].astype(np.float64) - references[None, :, :]) ** 2).sum(axis=2)
    return squared.argmin(axis=1), squared.min(axis=1), squared


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 299, 300, 10000])
def test_nearest_neighbours_agrees_with_brute_force(chunk_size):
    rng = np.random.default_rng(chunk_size)
    queries = rng.standard_normal((25, 9)).astype(np.float32)
    references = rng.standard_normal((300, 9)).astype(np.float32)
    references[::3] += 50.0  # far points, which must never win
    indices, distances = nearest_neighbours(queries, references, chunk_size=chunk_size)
    expected_indices, expected_distances, _ = brute_force_nearest(queries, references)
    assert indices.dtype == np.int64 and indices.shape == (25,)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-12, atol=0)


@pytest.mark.parametrize("chunk_size", [3, 10000])
def test_nearest_neighbours_finds_planted_copies_far_from_the_origin(chunk_size):
    rng = np.random.default_rng(1)
    queries = 1e4 + rng.standard_normal((6, 5))  # large norms: the expansion cancels badly here
    references = 1e4 + rng.standard_normal((40, 5))
    planted = np.array([39, 0, 17, 5, 22, 31])
    references[planted[:3]] = queries[:3]  # exact copies
    references[planted[3:]] = queries[3:] + 1e-6  # near copies
    indices, distances = nearest_neighbours(queries, references, chunk_size=chunk_size)
    np.testing.assert_array_equal(indices, planted)
    np.testing.assert_array_equal(distances[:3], 0.0)  # recomputed directly, not clamped rounding
    np.testing.assert_allclose(distances[3:], 5e-12, rtol=1e-3)
    assert np.all(distances >= 0)


@pytest.mark.parametrize("nearest_first", [True, False])
def test_nearest_neighbours_close_runner_up_in_another_chunk(nearest_first):
    """Chunks are merged by distance: a runner-up 3e-4 farther must lose whichever chunk it is in."""
    query = np.full((1, 3), 0.5)
    references = np.random.default_rng(3).uniform(size=(9, 3)) + 2.0  # far
    nearest, runner_up = (1, 7) if nearest_first else (7, 1)
    references[nearest] = query[0] + [0.01, 0, 0]  # squared distance 1e-4
    references[runner_up] = query[0] + [0.02, 0, 0]  # 4e-4
    indices, distances = nearest_neighbours(query, references, chunk_size=2)
    assert indices[0] == nearest
    np.testing.assert_allclose(distances, [1e-4], rtol=1e-9)


def test_nearest_neighbours_with_duplicated_references():
    rng = np.random.default_rng(2)
    queries = rng.uniform(size=(10, 4))
    base = rng.uniform(size=(30, 4))
    references = np.concatenate([base, base, base])  # every nearest point appears three times
    indices, distances = nearest_neighbours(queries, references, chunk_size=20)
    expected_indices, expected_distances, squared = brute_force_nearest(queries, references)
    np.testing.assert_array_equal(indices % 30, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-12)
    np.testing.assert_allclose(squared[np.arange(10), indices], expected_distances, rtol=1e-12)


@pytest.mark.parametrize("queries, references, chunk_size, message", [
    (np.zeros((3, 4)), np.zeros((5, 3)), 10, "same dimension"),
    (np.zeros((0, 4)), np.zeros((5, 4)), 10, "queries must be a non-empty"),
    (np.zeros((3, 4)), np.zeros((0, 4)), 10, "references must be a non-empty"),
    (np.zeros(4), np.zeros((5, 4)), 10, "queries must be a non-empty 2-D"),
    (np.zeros((3, 4)), np.zeros((5, 4)), 0, "chunk_size"),
    (np.zeros((3, 4)), np.full((5, 4), np.nan), 2, r"NaN or infinite values \(in rows 0..1\)"),
    (np.full((3, 4), np.inf), np.zeros((5, 4)), 10, "queries contain NaN"),
], ids=["width", "no-queries", "no-references", "one-dimensional", "chunk", "nan-reference", "inf-query"])
def test_nearest_neighbours_rejects_bad_input(queries, references, chunk_size, message):
    with pytest.raises(ValueError, match=message):
        nearest_neighbours(queries, references, chunk_size=chunk_size)


# --------------------------------------------------------------------- Figures 2 and 3


@pytest.fixture(scope="module")
def small_gan():
    """An untrained G: 4-D noise -> 16 sigmoid pixels (4x4 "images"), and a small D."""
    config = preset_config("ring8", generator_output="sigmoid", noise_dim=4, generator_hidden=[16],
                           discriminator_hidden=[8, 8], discriminator_keep_probs=[1.0, 1.0, 1.0])
    gan = build_gan(config, 16, rng=np.random.default_rng(0), dropout_rng=np.random.default_rng(1))
    return gan, config


def test_figure2_right_column_is_the_nearest_training_example_of_each_rows_last_sample(tmp_path, small_gan):
    gan, config = small_gan
    rows, columns, seed = 3, 4, 5
    expected_samples = generate(gan, config, rows * (columns - 1), np.random.default_rng(seed))
    last_samples = expected_samples.reshape(rows, columns - 1, 16)[:, -1]
    rng = np.random.default_rng(6)
    training_images = rng.uniform(size=(500, 16)).astype(np.float32)
    planted = np.array([417, 100, 250])
    training_images[planted[0]] = last_samples[0]  # an exact copy
    training_images[planted[1:]] = np.clip(last_samples[1:] + 1e-3 * rng.standard_normal((2, 16)), 0, 1)
    # Exact copies of the other samples of each row are in the set too: the row's last sample
    # is the one to be matched, so a near copy of it must beat an exact copy of its neighbours.
    training_images[:6] = expected_samples.reshape(rows, columns - 1, 16)[:, :2].reshape(6, 16)

    out_path = tmp_path / "fig2.png"
    result = figure2(gan, config, training_images, out_path, image_shape=(4, 4), rows=rows, columns=columns,
                     seed=seed)
    assert only_file_in(tmp_path) == str(out_path)
    png_size(out_path)
    assert gan.generator.training  # train mode restored
    np.testing.assert_array_equal(result["samples"], expected_samples)
    np.testing.assert_array_equal(result["neighbour_indices"], planted)
    np.testing.assert_array_equal(result["neighbours"], training_images[planted])
    assert result["neighbour_squared_distances"][0] == 0.0
    assert np.all(result["neighbour_squared_distances"][1:] < 16 * 1e-4)
    expected_indices, expected_distances, _ = brute_force_nearest(last_samples, training_images)
    np.testing.assert_array_equal(result["neighbour_indices"], expected_indices)
    np.testing.assert_allclose(result["neighbour_squared_distances"], expected_distances,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("training_images, message", [
    (np.zeros((10, 15)), r"\(N, 16\)"),
    (np.full((10, 16), 255, dtype=np.uint8), r"pixels in \[0, 1\]"),
    (np.full((10, 16), np.nan), "NaN or infinite"),
], ids=["width", "eight-bit", "nan"])
def test_figure2_rejects_bad_training_images_and_writes_nothing(tmp_path, small_gan, training_images,
                                                                message):
    gan, config = small_gan
    with pytest.raises(ValueError, match=message):
        figure2(gan, config, training_images, tmp_path / "fig2.png", image_shape=(4, 4))
    assert os.listdir(tmp_path) == []


def test_figure2_rejects_an_image_shape_that_is_not_gs_output(tmp_path, small_gan):
    gan, config = small_gan
    with pytest.raises(ValueError, match="G makes 16 values per sample"):
        figure2(gan, config, np.zeros((10, 25)), tmp_path / "fig2.png", image_shape=(5, 5))
    assert os.listdir(tmp_path) == []


def test_figure3_rows_are_g_along_straight_lines_between_prior_samples(tmp_path, small_gan):
    gan, config = small_gan
    rows, steps, seed = 3, 5, 2
    out_path = tmp_path / "fig3.png"
    result = figure3(gan, config, out_path, image_shape=(4, 4), rows=rows, steps=steps, seed=seed)
    assert only_file_in(tmp_path) == str(out_path)
    png_size(out_path)
    assert gan.generator.training  # train mode restored

    z, images = result["z"], result["images"]
    assert z.shape == (rows, steps, 4) and images.shape == (rows, steps, 16)
    endpoints = sample_noise(config["noise"], 2 * rows, 4, np.random.default_rng(seed)).reshape(rows, 2, 4)
    z0, z1 = endpoints[:, 0], endpoints[:, 1]
    np.testing.assert_array_equal(z[:, 0], z0)
    np.testing.assert_array_equal(z[:, -1], z1)
    np.testing.assert_allclose(z[:, steps // 2], (z0 + z1) / 2, rtol=1e-6, atol=1e-7)  # t = 1/2
    np.testing.assert_array_equal(result["t"], np.linspace(0, 1, steps))
    for k, t in enumerate(result["t"]):
        np.testing.assert_allclose(z[:, k], (1 - t) * z0.astype(np.float64) + t * z1, rtol=1e-6, atol=1e-7)
    assert not np.allclose(z0, z1)  # the rows really move

    gan.generator.eval()
    try:
        start, end = gan.generator.predict(z0), gan.generator.predict(z1)
        everything = gan.generator.predict(z.reshape(-1, 4)).reshape(rows, steps, 16)
    finally:
        gan.generator.train()
    np.testing.assert_allclose(images[:, 0], start, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(images[:, -1], end, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(images, everything, rtol=1e-6, atol=1e-7)
    assert not np.allclose(images[:, 0], images[:, -1], rtol=0, atol=1e-4)


@pytest.mark.parametrize("draw", ["samples_grid", "figure2", "figure3"])
def test_image_figures_refuse_a_missing_directory(tmp_path, small_gan, draw):
    gan, config = small_gan
    out_path = tmp_path / "no-such-directory" / "figure.png"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        if draw == "samples_grid":
            samples_grid_figure(np.zeros((100, 16)), (4, 4), out_path)
        elif draw == "figure2":
            figure2(gan, config, np.zeros((10, 16)), out_path, image_shape=(4, 4))
        else:
            figure3(gan, config, out_path, image_shape=(4, 4))
    assert os.listdir(tmp_path) == []
