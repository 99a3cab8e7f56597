"""Toy distributions (npgan.data.toy) and VEEGAN mode coverage (npgan.evaluate.modes)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from npgan.data.toy import (
    GAUSS1D,
    GAUSS1D_MEAN,
    GAUSS1D_STD,
    GRID25,
    GRID25_STD,
    RING8,
    RING8_RADIUS,
    RING8_STD,
    TOY_DISTRIBUTIONS,
    ToyDistribution,
    get_toy,
)
from npgan.evaluate.modes import ModeCoverage, evaluate_toy, mode_coverage

# Probability that an exact sample lies within 3 std of its centre (chi distribution).
HIGH_QUALITY_PROBABILITY_1D = math.erf(3.0 / math.sqrt(2.0))  # 0.99730
HIGH_QUALITY_PROBABILITY_2D = 1.0 - math.exp(-9.0 / 2.0)  # 0.98889


def nearest_mode(samples, centres):
    squared = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(squared, axis=1)


# -- the distributions ---------------------------------------------------------------


def test_registry_holds_the_toys_with_the_specified_values():
    assert set(TOY_DISTRIBUTIONS) == {"gauss1d", "ring8", "grid25", "bimodal1d"}
    assert get_toy("bimodal1d").centres.tolist() == [[-2.0], [2.0]] and get_toy("bimodal1d").std == 0.5
    assert get_toy("gauss1d") is GAUSS1D
    assert get_toy("ring8") is RING8
    assert get_toy("grid25") is GRID25

    assert GAUSS1D.centres.tolist() == [[4.0]] and GAUSS1D.std == 0.5
    assert (GAUSS1D_MEAN, GAUSS1D_STD) == (4.0, 0.5)

    angles = 2.0 * np.pi * np.arange(8) / 8
    expected_ring = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    np.testing.assert_allclose(RING8.centres, expected_ring, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(RING8.centres, axis=1), RING8_RADIUS, rtol=1e-15)
    assert RING8.std == RING8_STD == 0.02

    expected_grid = {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(row) for row in GRID25.centres.tolist()} == expected_grid
    assert GRID25.centres.shape == (25, 2) and GRID25.std == GRID25_STD == 0.05


def test_get_toy_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="gauss1d.*grid25.*ring8"):
        get_toy("ring9")
    with pytest.raises(ValueError):
        get_toy(None)


def test_centres_are_read_only():
    with pytest.raises(ValueError):
        RING8.centres[0, 0] = 5.0


@pytest.mark.parametrize("toy,dim", [(GAUSS1D, 1), (RING8, 2), (GRID25, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_shape_and_dtype(toy, dim, dtype):
    samples = toy.sample(7, np.random.default_rng(0), dtype=dtype)
    assert samples.shape == (7, dim) and samples.dtype == dtype
    assert toy.sample(3, np.random.default_rng(0)).dtype == np.float32  # the default


def test_gauss1d_moments():
    samples = GAUSS1D.sample(20_000, np.random.default_rng(1), dtype=np.float64)[:, 0]
    standard_error = 0.5 / math.sqrt(20_000)
    assert abs(samples.mean() - 4.0) < 5 * standard_error
    assert abs(samples.std() / 0.5 - 1.0) < 0.03


@pytest.mark.parametrize("toy", [RING8, GRID25], ids=lambda toy: toy.name)
def test_mixture_modes_have_the_specified_centres_stds_and_equal_weights(toy):
    n = 20_000 if toy is RING8 else 50_000
    samples = toy.sample(n, np.random.default_rng(2), dtype=np.float64)
    mode = nearest_mode(samples, toy.centres)
    counts = np.bincount(mode, minlength=toy.num_modes)
    expected = n / toy.num_modes
    # Multinomial counts: 5 standard deviations either side of n/K.
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected))
    for k in range(toy.num_modes):
        members = samples[mode == k]
        standard_error = toy.std / math.sqrt(len(members))
        np.testing.assert_allclose(members.mean(axis=0), toy.centres[k], atol=5 * standard_error)
        per_dimension_std = members.std(axis=0)
        assert np.all(np.abs(per_dimension_std / toy.std - 1.0) < 0.10), (k, per_dimension_std)


def test_same_seed_same_samples_and_global_seed_has_no_effect():
    np.random.seed(0)
    first = RING8.sample(100, np.random.default_rng(42))
    np.random.seed(12345)
    second = RING8.sample(100, np.random.default_rng(42))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, RING8.sample(100, np.random.default_rng(43)))


@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)])
def test_sample_without_a_generator_is_a_type_error_with_the_fix(rng):
    with pytest.raises(TypeError, match=r"rng=np\.random\.default_rng\(seed\)"):
        RING8.sample(10, rng)


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10", None])
def test_sample_count_must_be_a_positive_int(n):
    with pytest.raises(ValueError, match="number of samples n must be an integer >= 1"):
        GRID25.sample(n, np.random.default_rng(0))


def test_sample_count_accepts_numpy_integers_and_rejects_integer_dtypes():
    assert GAUSS1D.sample(np.int64(4), np.random.default_rng(0)).shape == (4, 1)
    with pytest.raises(ValueError, match="floating"):
        GAUSS1D.sample(4, np.random.default_rng(0), dtype=np.int32)


@pytest.mark.parametrize(
    "centres,std",
    [
        (np.zeros((0, 2)), 0.1),
        (np.zeros(3), 0.1),
        ([[np.nan, 0.0]], 0.1),
        ([[0.0]], 0.0),
        ([[0.0]], -1.0),
        ([[0.0]], float("inf")),
    ],
)
def test_toy_distribution_rejects_bad_definitions(centres, std):
    with pytest.raises(ValueError):
        ToyDistribution("bad", centres, std)


def test_gauss1d_log_density_integrates_to_one():
    grid = np.linspace(4.0 - 12 * 0.5, 4.0 + 12 * 0.5, 24_001)
    density = np.exp(GAUSS1D.log_density(grid[:, None]))
    assert abs(density.sum() * (grid[1] - grid[0]) - 1.0) < 1e-9


def test_ring8_log_density_integrates_to_one():
    # Spacing std/2: the error of a Riemann sum of a Gaussian is about
    # exp(-2 pi^2 std^2 / spacing^2) = exp(-79), far below the tolerance.
    spacing = RING8_STD / 2
    axis = np.arange(-2.25, 2.25, spacing)
    first, second = np.meshgrid(axis, axis, indexing="ij")
    points = np.stack([first.ravel(), second.ravel()], axis=1)
    total = np.exp(RING8.log_density(points)).sum() * spacing**2
    assert abs(total - 1.0) < 1e-6


def test_log_density_matches_the_gaussian_formula_far_from_the_mode():
    # Far from the mode a naive log(sum(exp(.))) underflows to -inf; the
    # max-subtracted form gives the exact quadratic.
    x = np.array([[4.0], [4.5], [1000.0], [-1e4]])
    expected = -((x[:, 0] - 4.0) ** 2) / (2 * 0.25) - math.log(0.5 * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(GAUSS1D.log_density(x), expected, rtol=1e-14)
    far = GRID25.log_density(np.array([[100.0, 100.0]]))
    assert np.isfinite(far).all() and far[0] < -1e5


def test_log_density_of_a_mixture_is_the_log_of_the_mean_of_the_component_densities():
    rng = np.random.default_rng(3)
    x = rng.normal(scale=3.0, size=(50, 2)) * 0.1 + GRID25.centres[rng.integers(25, size=50)]
    components = np.exp(
        -((x[:, None, :] - GRID25.centres[None]) ** 2).sum(axis=2) / (2 * 0.05**2)
    ) / (2 * math.pi * 0.05**2)
    np.testing.assert_allclose(GRID25.log_density(x), np.log(components.mean(axis=1)), rtol=1e-12)


@pytest.mark.parametrize("x", [np.zeros((3, 1)), np.zeros(2), np.array([[np.nan, 0.0]])])
def test_log_density_rejects_bad_input(x):
    with pytest.raises(ValueError):
        RING8.log_density(x)


# -- mode coverage -------------------------------------------------------------------


def test_all_samples_at_one_centre_capture_one_mode_with_full_quality():
    samples = np.tile(RING8.centres[3], (100, 1))
    result = evaluate_toy(samples, RING8)
    assert isinstance(result, ModeCoverage)
    assert result.modes_captured == 1 and result.high_quality_fraction == 1.0
    assert result.per_mode_counts.tolist() == [0, 0, 0, 100, 0, 0, 0, 0]
    assert result.n_samples == 100 and result.num_modes == 8
    assert "1/8 modes" in str(result)


def test_samples_far_from_every_centre_capture_nothing():
    samples = np.full((50, 2), 30.0)
    result = evaluate_toy(samples, GRID25)
    assert result.modes_captured == 0 and result.high_quality_fraction == 0.0
    assert result.per_mode_counts.sum() == 0


def test_centre_of_the_ring_is_not_high_quality():
    result = evaluate_toy(np.zeros((10, 2)), RING8)
    assert result.modes_captured == 0 and result.high_quality_fraction == 0.0


def test_the_three_std_boundary_is_inclusive():
    std, n_std = 0.02, 3.0
    radius = n_std * std
    centres = np.array([[0.0, 0.0], [10.0, 10.0]])
    on_the_boundary = np.array([[radius, 0.0], [0.0, -radius]])
    just_outside = np.array([[np.nextafter(radius, np.inf), 0.0]])
    assert mode_coverage(on_the_boundary, centres, std, n_std).high_quality_fraction == 1.0
    outside = mode_coverage(just_outside, centres, std, n_std)
    assert outside.high_quality_fraction == 0.0 and outside.modes_captured == 0


def test_mixed_samples_give_the_hand_counted_answer():
    centres = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    std = 0.1  # high-quality radius 0.3
    samples = np.array(
        [
            [0.1, 0.1],  # mode 0, inside
            [0.0, -0.2],  # mode 0, inside
            [1.25, 0.0],  # mode 1, inside
            [0.6, 0.0],  # nearest mode 1 (0.4 away), outside
            [0.0, 1.5],  # nearest mode 2, outside
        ]
    )
    result = mode_coverage(samples, centres, std)
    assert result.per_mode_counts.tolist() == [2, 1, 0]
    assert result.modes_captured == 2 and result.high_quality_fraction == 3 / 5


def test_n_std_widens_the_radius():
    centres = np.array([[0.0]])
    samples = np.array([[0.25], [0.45]])
    assert mode_coverage(samples, centres, 0.1).high_quality_fraction == 0.5
    assert mode_coverage(samples, centres, 0.1, n_std=5.0).high_quality_fraction == 1.0


@pytest.mark.parametrize(
    "toy,expected_fraction",
    [
        (RING8, HIGH_QUALITY_PROBABILITY_2D),
        (GRID25, HIGH_QUALITY_PROBABILITY_2D),
        (GAUSS1D, HIGH_QUALITY_PROBABILITY_1D),
    ],
    ids=["ring8", "grid25", "gauss1d"],
)
def test_samples_of_the_true_distribution_capture_every_mode(toy, expected_fraction):
    # In 2-D, P(||x - c|| <= 3 std) = 1 - exp(-9/2) = 0.9889: even perfect samples
    # have about 1.1% outside the radius, so the bar is that value, not 0.99.
    n = 20_000
    result = evaluate_toy(toy.sample(n, np.random.default_rng(4)), toy)
    assert result.modes_captured == toy.num_modes
    standard_error = math.sqrt(expected_fraction * (1 - expected_fraction) / n)
    assert abs(result.high_quality_fraction - expected_fraction) < 5 * standard_error
    assert result.high_quality_fraction > 0.98


def test_veegan_protocol_size_on_true_samples():
    # VEEGAN's 2,500 samples: a perfect generator captures all 25 grid modes.
    result = evaluate_toy(GRID25.sample(2_500, np.random.default_rng(5)), GRID25)
    assert result.modes_captured == 25


@pytest.mark.parametrize(
    "samples,message",
    [
        (np.zeros((5, 3)), "columns"),
        (np.zeros((0, 2)), "empty"),
        (np.zeros(4), "2-D"),
        (np.array([[0.0, np.nan]]), "NaN"),
        (np.array([[0.0, np.inf]]), "NaN or inf"),
        (np.array([["a", "b"]]), "real numbers"),
    ],
)
def test_bad_samples_are_value_errors(samples, message):
    with pytest.raises(ValueError, match=message):
        evaluate_toy(samples, RING8)


@pytest.mark.parametrize("std,n_std", [(0.0, 3.0), (-0.1, 3.0), (0.1, 0.0), (float("nan"), 3.0)])
def test_bad_radius_is_a_value_error(std, n_std):
    with pytest.raises(ValueError):
        mode_coverage(np.zeros((2, 2)), np.zeros((1, 2)), std, n_std)


def test_evaluate_toy_needs_a_toy_distribution():
    with pytest.raises(TypeError, match="ToyDistribution"):
        evaluate_toy(np.zeros((2, 2)), "ring8")


finite_points = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=30),
    elements=st.floats(-5.0, 5.0, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(
    samples=finite_points,
    num_modes=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    std=st.floats(0.01, 2.0),
    n_std=st.floats(0.5, 5.0),
)
def test_coverage_invariants(samples, num_modes, seed, std, n_std):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, size=(num_modes, samples.shape[1]))
    result = mode_coverage(samples, centres, std, n_std)
    n = samples.shape[0]
    assert result.n_samples == n and result.per_mode_counts.shape == (num_modes,)
    assert 0 <= result.modes_captured <= num_modes
    assert result.modes_captured == np.count_nonzero(result.per_mode_counts)
    assert result.per_mode_counts.sum() == round(result.high_quality_fraction * n)
    assert 0.0 <= result.high_quality_fraction <= 1.0

    # Brute force: the same answer from the definition, one sample at a time.
    distances = np.sqrt(((samples[:, None, :] - centres[None]) ** 2).sum(axis=2))
    nearest = distances.argmin(axis=1)
    inside = distances[np.arange(n), nearest] <= n_std * std
    expected_counts = np.bincount(nearest[inside], minlength=num_modes)
    assert result.per_mode_counts.tolist() == expected_counts.tolist()

    # The order of the samples does not matter; a wider radius never loses a sample.
    shuffled = mode_coverage(samples[rng.permutation(n)], centres, std, n_std)
    assert shuffled.per_mode_counts.tolist() == result.per_mode_counts.tolist()
    wider = mode_coverage(samples, centres, std, 2 * n_std)
    assert np.all(wider.per_mode_counts >= result.per_mode_counts)
