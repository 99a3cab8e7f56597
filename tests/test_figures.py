"""npgan.figures: every function writes one real PNG, and Figure 1's run tells the paper's story.

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
from npgan.figures import FIGURE1_SHIFT, figure1, saturation_figure, toy_samples_figure

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
