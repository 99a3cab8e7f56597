"""npgan.paper_figures: every figure writes one real PNG, and Figure 1's run tells the paper's story.

Figures 2 and 3 use a small untrained G with 4x4 "images" (16 sigmoid outputs), so
each of their tests takes a fraction of a second.

Figure 1 is run once (seed 0, about 13 s on an idle core); its numbers are checked
panel by panel and its drawing (a matplotlib Figure) axis by axis. The tolerances of
the numbers come from seeds 0-9 of the same protocol, so that a platform whose float32 rounding sends the run down another trajectory still passes
(multi-threaded BLAS already does: seed 0 then gives, e.g., an (a) mean of 3.17
instead of 3.19). Each assert quotes the seed-0 value (single-threaded BLAS) and
the range or worst case over the ten seeds.
"""

import os

import numpy as np
import pytest
from matplotlib.text import Annotation

from npgan.data.toy import GAUSS1D_MEAN, GAUSS1D_STD
from npgan.experiments.figure1 import FIGURE1_SHIFT
from npgan.models import build_gan, preset_config
from npgan.noise import sample_noise
import npgan.paper_figures
from npgan.data.toy import BIMODAL1D
from npgan.experiments.f_divergences import divergence_run_config
from npgan.experiments.figure1 import figure1_panels
from npgan.paper_figures import (
    draw_divergences_figure,
    draw_figure1,
    figure1,
    figure1_numbers,
    figure2,
    figure3,
    saturation_figure,
)

from tests.figure_checks import brute_force_nearest, only_file_in, png_size

# -------------------------------------------------------------------------- Figure 1


@pytest.fixture(scope="module")
def figure1_run():
    """The panels of the one Figure 1 run, its numbers and its drawing (nothing written)."""
    panels = figure1_panels(0)
    return panels, figure1_numbers(panels), draw_figure1(panels, seed=0)


def test_figure1_writes_one_wide_png_and_returns_its_numbers(figure1_run, tmp_path, monkeypatch):
    panels, numbers, _ = figure1_run
    monkeypatch.setattr(npgan.paper_figures, "figure1_panels", lambda seed: panels)  # the run is done
    out_path = tmp_path / "fig1.png"
    assert figure1(out_path, seed=0) == numbers
    assert only_file_in(tmp_path) == str(out_path)
    width, height = png_size(out_path)
    assert width > 2 * height  # four panels side by side


def test_figure1_every_panel_has_an_x_axis_and_the_line_d_one_half(figure1_run):
    axes = figure1_run[2].axes
    assert len(axes) == 4
    for ax in axes:
        assert ax.axison and ax.get_xlabel() == "x"
        low, high = ax.get_xlim()
        assert len([tick for tick in ax.get_xticks() if low <= tick <= high]) >= 3
        assert all(label.get_text() for label in ax.get_xticklabels())
        halves = [line for line in ax.get_lines() if np.all(line.get_ydata() == 0.5)]
        assert len(halves) == 1 and "D = 1/2" in halves[0].get_label()
        assert min(halves[0].get_xdata()) <= low and max(halves[0].get_xdata()) >= high


def test_figure1_z_runs_left_to_right_in_every_panel(figure1_run):
    panels, _, figure = figure1_run
    starts = []
    for ax, panel in zip(figure.axes, panels):
        arrows = [text for text in ax.texts if isinstance(text, Annotation)]
        assert len(arrows) == len(panel["z_arrows"])
        # each arrow from z to G(z): its tip is G(z), its tail is z's place on the z line
        np.testing.assert_allclose([arrow.xy[0] for arrow in arrows], panel["x_arrows"])
        tails = np.array([arrow.xyann[0] for arrow in arrows])
        assert np.all(np.diff(tails) > 0)  # z increasing to the right
        starts.append(tails)
        ends = {text.get_text(): text.get_position()[0] for text in ax.texts if not isinstance(text, Annotation)}
        assert ends["\u2212\u221a3"] < ends["0"] < ends["+\u221a3"]
    for tails in starts[1:]:
        np.testing.assert_allclose(tails, starts[0])  # the same z line in every panel


def test_figure1_a_is_part_way_g_shifted_from_the_data(figure1_run):
    numbers = figure1_run[1]
    shift = abs(numbers["generator_mean_a"] - GAUSS1D_MEAN)
    # (a) stops at the first check within FIGURE1_SHIFT of the data mean; seed 0: 0.81.
    assert 0.3 < shift <= FIGURE1_SHIFT
    assert numbers["jensen_shannon_a"] > 0.1  # seed 0: 0.37, least of ten seeds 0.22


def test_figure1_b_discriminator_reaches_proposition1_optimum(figure1_run):
    numbers = figure1_run[1]
    assert numbers["generator_mean_b"] == numbers["generator_mean_a"]  # G was not stepped
    # mean |D - D*| over the bulk: seed 0: 0.029; worst of ten seeds 0.082.
    assert numbers["mean_abs_d_minus_optimal_b"] < 0.1


def test_figure1_c_generator_steps_move_p_g_towards_the_data(figure1_run):
    numbers = figure1_run[1]
    # seed 0: mean 3.19 -> 3.74, JSD 0.37 -> 0.20; true for all ten seeds.
    assert abs(numbers["generator_mean_c"] - GAUSS1D_MEAN) < abs(numbers["generator_mean_b"] - GAUSS1D_MEAN)
    assert numbers["jensen_shannon_c"] < numbers["jensen_shannon_b"]


def test_figure1_d_p_g_close_to_p_data_and_d_close_to_half(figure1_run):
    numbers = figure1_run[1]
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


# ---------------------------------------------------------------------- f-divergences


def test_divergences_figure_panels_have_axes_a_legend_and_their_g_loss():
    rng = np.random.default_rng(0)
    both = BIMODAL1D.sample(2000, rng)
    runs = {"kl": both, "reverse-kl": both[both[:, 0] > 0], "pearson": None, "hellinger": both, "js": both,
            "gan": both}
    figure, masses = draw_divergences_figure(runs, seed=0)
    assert masses["pearson"] is None and masses["reverse-kl"][0] == 0
    assert len(figure.axes) == len(runs)
    for ax, name in zip(figure.axes, runs):
        assert ax.get_xlabel() == "x" and ax.get_ylabel() == "density"
        legend = ax.get_legend()
        assert legend is not None
        labels = [text.get_text() for text in legend.get_texts()]
        assert any("data density" in label for label in labels)
        assert any(label.startswith("G:") for label in labels) == (runs[name] is not None)
        title = ax.get_title()
        assert f"({name})" in title
        assert f"G loss {divergence_run_config(name, seed=0)['generator_loss']}" in title
    assert "G loss minimax" in figure.axes[1].get_title()  # reverse KL descends the divergence itself
    assert "diverged" in figure.axes[2].get_title()


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
    # G(z) for z drawn from the configured prior with default_rng(seed): the samples Figure 2 draws
    z = sample_noise(config["noise"], rows * (columns - 1), config["noise_dim"], np.random.default_rng(seed))
    expected_samples = gan.generate(z)
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


@pytest.mark.parametrize("draw", ["figure2", "figure3"])
def test_image_figures_refuse_a_missing_directory(tmp_path, small_gan, draw):
    gan, config = small_gan
    out_path = tmp_path / "no-such-directory" / "figure.png"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        if draw == "figure2":
            figure2(gan, config, np.zeros((10, 16)), out_path, image_shape=(4, 4))
        else:
            figure3(gan, config, out_path, image_shape=(4, 4))
    assert os.listdir(tmp_path) == []
