"""Tests of npgan.theory: Proposition 1, Theorem 1, the two G losses at D*, Proposition 2 and
the saturation argument.

All in float64. Random inputs come from Hypothesis strategies (kept local to this
file for now) or from np.random.default_rng(seed).
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from npgan.theory import (
    PROPOSITION2_STEP_SIZE,
    PROPOSITION2_STEPS_TO_JSD_1E_3,
    gaussian_mixture_density,
    generator_loss_on_grid,
    grid_integral,
    grid_spacing,
    jensen_shannon_divergence,
    kl_divergence,
    normalise_density,
    optimal_discriminator,
    optimal_discriminator_logit,
    proposition2_descent,
    proposition2_example,
    saturation_curves,
    value_function,
    virtual_training_criterion,
)

LOG_2 = np.log(2.0)
LOG_4 = np.log(4.0)
HYPOTHESIS_SETTINGS = settings(max_examples=60, deadline=None)


# ------------------------------------------------------------------ strategies


@st.composite
def density_pairs(draw, allow_zeros=True):
    """(p, q, dx): two normalised densities on the same grid of 2..40 points."""
    n_grid = draw(st.integers(min_value=2, max_value=40))
    dx = draw(st.floats(min_value=1e-3, max_value=2.0))
    positive = st.floats(min_value=1e-6, max_value=1e3)
    elements = st.one_of(st.just(0.0), positive) if allow_zeros else positive
    p = draw(hnp.arrays(np.float64, n_grid, elements=elements))
    q = draw(hnp.arrays(np.float64, n_grid, elements=elements))
    assume(p.sum() > 0 and q.sum() > 0)
    return normalise_density(p, dx), normalise_density(q, dx), dx


def random_densities(rng, n_grid=50, dx=0.1):
    """Two normalised, strictly positive densities drawn with rng."""
    p_data = normalise_density(rng.uniform(0.01, 1.0, size=n_grid), dx)
    p_g = normalise_density(rng.uniform(0.01, 1.0, size=n_grid), dx)
    return p_data, p_g


def total_variation(p, q, dx):
    """TV(p, q) = (1/2) integral |p - q| dx, for Pinsker-type lower bounds."""
    return grid_integral(np.abs(p - q), dx) / 2


def rel_error(a, b):
    """max |a - b| / max(1e-8, |a| + |b|), elementwise then max (house gradient-check metric)."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# -------------------------------------------------------- Proposition 1, Theorem 1


@HYPOTHESIS_SETTINGS
@given(density_pairs())
def test_criterion_is_minus_log_4_plus_twice_jsd(densities):
    p_data, p_g, dx = densities
    criterion = virtual_training_criterion(p_data, p_g, dx)
    jsd = jensen_shannon_divergence(p_data, p_g, dx)
    assert abs(criterion - (-LOG_4 + 2 * jsd)) < 1e-10
    assert criterion >= -LOG_4 - 1e-12


@HYPOTHESIS_SETTINGS
@given(density_pairs(allow_zeros=False))
def test_criterion_is_value_function_at_optimal_discriminator(densities):
    p_data, p_g, dx = densities
    at_optimum = value_function(optimal_discriminator(p_data, p_g), p_data, p_g, dx)
    assert abs(virtual_training_criterion(p_data, p_g, dx) - at_optimum) < 1e-12


def test_criterion_stays_finite_where_one_minus_optimal_discriminator_rounds_to_zero():
    dx = 1.0
    p_data = normalise_density(np.array([1.0, 1.0]), dx)
    p_g = normalise_density(np.array([1.0, 1e-20]), dx)
    assert 1.0 - optimal_discriminator(p_data, p_g)[1] == 0.0  # the cancellation C(G) avoids
    criterion = virtual_training_criterion(p_data, p_g, dx)
    assert np.isfinite(criterion)
    assert abs(criterion - (-LOG_4 + 2 * jensen_shannon_divergence(p_data, p_g, dx))) < 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_equal_densities_give_minus_log_4_and_one_half(seed):
    rng = np.random.default_rng(seed)
    p_data, _ = random_densities(rng)
    dx = 0.1
    np.testing.assert_array_equal(optimal_discriminator(p_data, p_data), np.full(p_data.shape, 0.5))
    assert abs(virtual_training_criterion(p_data, p_data, dx) + LOG_4) < 1e-12
    assert jensen_shannon_divergence(p_data, p_data, dx) == 0.0


def test_optimal_discriminator_values_and_the_zero_over_zero_convention():
    p_data = np.array([0.0, 1.0, 3.0, 0.0])
    p_g = np.array([0.0, 3.0, 1.0, 2.0])
    np.testing.assert_array_equal(optimal_discriminator(p_data, p_g), [0.5, 0.25, 0.75, 0.0])


@pytest.mark.parametrize("seed", range(20))
def test_optimal_discriminator_maximises_value_function(seed):
    rng = np.random.default_rng(seed)
    dx = 0.1
    p_data, p_g = random_densities(rng, dx=dx)
    d_star = optimal_discriminator(p_data, p_g)
    best_value = value_function(d_star, p_data, p_g, dx)

    random_discriminator = rng.uniform(0.0, 1.0, size=p_data.shape)
    assert value_function(random_discriminator, p_data, p_g, dx) < best_value

    # small perturbations of D* too: V is strictly concave in D where p_data + p_g > 0
    nudged = d_star + rng.uniform(-1e-3, 1e-3, size=p_data.shape)
    assert value_function(nudged, p_data, p_g, dx) < best_value


def test_value_function_treats_zero_log_zero_as_zero():
    dx = 0.5
    p_data = np.array([2.0, 0.0])
    p_g = np.array([0.0, 2.0])
    perfect = np.array([1.0, 0.0])  # log D and log(1 - D) of 0 only where the density is 0
    assert value_function(perfect, p_data, p_g, dx) == 0.0
    assert value_function(np.array([0.0, 0.0]), p_data, p_g, dx) == -np.inf


@HYPOTHESIS_SETTINGS
@given(density_pairs())
def test_jsd_is_bounded_symmetric_and_separates(densities):
    p, q, dx = densities
    jsd = jensen_shannon_divergence(p, q, dx)
    assert -1e-15 <= jsd <= LOG_2 + 1e-15
    assert abs(jsd - jensen_shannon_divergence(q, p, dx)) < 1e-14
    assert jensen_shannon_divergence(p, p, dx) == 0.0
    # "0 only if p = q", made quantitative: Pinsker on both halves gives JSD >= TV^2 / 2
    assert jsd >= total_variation(p, q, dx) ** 2 / 2 - 1e-14


@HYPOTHESIS_SETTINGS
@given(density_pairs(allow_zeros=False), st.integers(min_value=1, max_value=39))
def test_jsd_of_disjoint_supports_is_log_2(densities, split):
    p, q, dx = densities
    assume(split < p.size)
    p_left = normalise_density(np.where(np.arange(p.size) < split, p, 0.0), dx)
    q_right = normalise_density(np.where(np.arange(q.size) >= split, q, 0.0), dx)
    assert abs(jensen_shannon_divergence(p_left, q_right, dx) - LOG_2) < 1e-14
    assert abs(virtual_training_criterion(p_left, q_right, dx)) < 1e-14  # -log 4 + 2 log 2


@HYPOTHESIS_SETTINGS
@given(density_pairs())
def test_kl_is_non_negative_and_zero_on_itself(densities):
    p, q, dx = densities
    assert kl_divergence(p, p, dx) == 0.0
    kl = kl_divergence(p, q, dx)
    assert kl >= 2 * total_variation(p, q, dx) ** 2 - 1e-14  # Pinsker, hence >= 0


def test_kl_is_infinite_where_q_misses_mass_of_p():
    dx = 1.0
    p = np.array([0.5, 0.5])
    q = np.array([1.0, 0.0])
    assert kl_divergence(p, q, dx) == np.inf
    assert abs(kl_divergence(q, p, dx) - LOG_2) < 1e-15


@pytest.mark.parametrize("seed", range(5))
def test_c_of_g_is_the_inner_maximum_and_the_games_value_is_its_minimum(seed):
    """C(G) = max_D V(D, G) for a fixed G (no D does better), and min_G C(G) = -log 4 is the value
    of the game min_G max_D V, reached at p_g = p_data: C(G) itself is not the game's value."""
    rng = np.random.default_rng(seed)
    dx = 0.1
    p_data, p_g = random_densities(rng, dx=dx)
    criterion = virtual_training_criterion(p_data, p_g, dx)
    for _ in range(20):
        assert value_function(rng.uniform(0.0, 1.0, size=p_data.shape), p_data, p_g, dx) < criterion
    assert criterion > -LOG_4 + 1e-3
    assert abs(virtual_training_criterion(p_data, p_data, dx) + LOG_4) < 1e-12


# ------------------------------------------------- the two G losses at D*: gradients


def _location_family(x, dx):
    """p_g(theta) = p_data of proposition2_example shifted by theta (p_g = p_data at theta = 0)."""
    return lambda theta: normalise_density(gaussian_mixture_density(x, [theta - 2.0, theta + 2.0], [0.5, 0.5]), dx)


def _width_family(x, dx):
    """p_g(theta) = N(0, theta^2): a family that does not hold p_data."""
    return lambda theta: normalise_density(gaussian_mixture_density(x, [0.0], [theta]), dx)


def _kl_minus_twice_jsd(p_data, p_g, dx):
    return kl_divergence(p_g, p_data, dx) - 2 * jensen_shannon_divergence(p_data, p_g, dx)


def _derivative(function, theta, h=1e-5):
    return (function(theta + h) - function(theta - h)) / (2 * h)


@pytest.mark.parametrize("family, thetas", [(_location_family, [-1.0, -0.3, 0.2, 0.7, 1.5]),
                                            (_width_family, [0.5, 1.0, 2.0, 3.0])])
def test_at_d_star_minimax_loss_follows_c_of_g_and_non_saturating_loss_kl_minus_2_jsd(family, thetas):
    """Hold D at D*_G of p_g(theta) and move theta: the minimax loss E_pg[log(1 - D*)] has the
    derivative of C(G) = -log 4 + 2 JSD, the non-saturating E_pg[-log D*] that of
    KL(p_g || p_data) - 2 JSD (Arjovsky and Bottou 2017; derived in npgan/theory.py)."""
    x, dx, p_data, _ = proposition2_example()
    p_g = family(x, dx)
    for theta in thetas:
        logits = optimal_discriminator_logit(p_data, p_g(theta))  # D* frozen at theta
        minimax = _derivative(lambda t: generator_loss_on_grid(logits, p_g(t), dx, "minimax"), theta)
        criterion = _derivative(lambda t: virtual_training_criterion(p_data, p_g(t), dx), theta)
        non_saturating = _derivative(lambda t: generator_loss_on_grid(logits, p_g(t), dx, "non-saturating"), theta)
        kl_minus_jsd = _derivative(lambda t: _kl_minus_twice_jsd(p_data, p_g(t), dx), theta)
        assert rel_error(minimax, criterion) < 1e-7, theta
        assert rel_error(non_saturating, kl_minus_jsd) < 1e-7, theta
        assert abs(non_saturating - minimax) > 0.03 * abs(minimax), theta  # not the same gradient


def test_the_two_g_losses_share_the_stationary_point_not_the_dynamics():
    x, dx, p_data, _ = proposition2_example()
    # At p_g = p_data (theta = 0 of the location family) both gradients vanish ...
    p_g = _location_family(x, dx)
    logits = optimal_discriminator_logit(p_data, p_g(0.0))
    np.testing.assert_allclose(logits, 0.0, atol=1e-12)  # D* = 1/2
    for kind in ("minimax", "non-saturating"):
        assert abs(_derivative(lambda t: generator_loss_on_grid(logits, p_g(t), dx, kind), 0.0)) < 1e-9
    # ... elsewhere the non-saturating one is steeper (3.3x at theta = 1, 7.6x at 1.5) ...
    ratios = []
    for theta in (1.0, 1.5):
        logits = optimal_discriminator_logit(p_data, p_g(theta))
        ratios.append(_derivative(lambda t: generator_loss_on_grid(logits, p_g(t), dx, "non-saturating"), theta)
                      / _derivative(lambda t: generator_loss_on_grid(logits, p_g(t), dx, "minimax"), theta))
    assert 3.0 < ratios[0] < 3.6 and 7.0 < ratios[1] < 8.2
    # ... and in a family without p_data the criteria they follow have different minimisers:
    # N(0, s^2) against the two modes at -2, +2 (std 0.5): JSD is least at s = 2.08,
    # KL(p_g || p_data) - 2 JSD at s = 1.74 (the narrower, KL(p_g || p_data) being mode-seeking).
    widths = np.linspace(1.0, 3.0, 201)
    p_g = _width_family(x, dx)
    best_minimax = widths[np.argmin([jensen_shannon_divergence(p_data, p_g(s), dx) for s in widths])]
    best_non_saturating = widths[np.argmin([_kl_minus_twice_jsd(p_data, p_g(s), dx) for s in widths])]
    assert abs(best_minimax - 2.08) < 0.02 and abs(best_non_saturating - 1.74) < 0.02


def test_generator_loss_on_grid_values_and_bad_input():
    _, dx, p_data, p_g = proposition2_example()
    half = optimal_discriminator_logit(p_data, p_data)  # D* = 1/2
    assert abs(generator_loss_on_grid(half, p_data, dx, "non-saturating") - LOG_2) < 1e-12
    assert abs(generator_loss_on_grid(half, p_data, dx, "minimax") + LOG_2) < 1e-12
    logits = optimal_discriminator_logit(p_data, p_g)
    d_star = optimal_discriminator(p_data, p_g)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), d_star, rtol=1e-12)
    # V(D*, G) = E_pdata[log D*] + the minimax loss
    v = grid_integral(p_data * -np.logaddexp(0.0, -logits), dx) + generator_loss_on_grid(logits, p_g, dx, "minimax")
    assert abs(v - virtual_training_criterion(p_data, p_g, dx)) < 1e-12
    # where p_g = 0 the loss sees nothing (logit +inf there)
    edge = optimal_discriminator_logit(np.array([0.5, 0.5]), np.array([1.0, 0.0]))  # D* = 1/3, then 1
    assert edge[1] == np.inf
    assert generator_loss_on_grid(edge, np.array([1.0, 0.0]), 1.0, "minimax") == pytest.approx(np.log(2 / 3), rel=1e-14)
    with pytest.raises(ValueError, match="unknown generator loss"):
        generator_loss_on_grid(logits, p_g, dx, "other")
    with pytest.raises(ValueError, match="logits have shape"):
        generator_loss_on_grid(logits[:3], p_g, dx)


# ----------------------------------------------------------------- Proposition 2


def test_proposition2_descent_reaches_documented_jsd():
    _, dx, p_data, p_g_initial = proposition2_example()
    result = proposition2_descent(
        p_data, p_g_initial, dx, step_size=PROPOSITION2_STEP_SIZE, steps=PROPOSITION2_STEPS_TO_JSD_1E_3
    )
    criterion = result.criterion_values
    assert criterion.shape == (PROPOSITION2_STEPS_TO_JSD_1E_3 + 1,)
    assert np.all(np.diff(criterion) < 0)
    assert criterion[0] > -LOG_4 + 0.3  # a real distance to travel
    jsd = result.jensen_shannon_values
    assert jsd[-1] < 1e-3 <= jsd[-2]  # the documented count is the first that gets there
    assert abs(jensen_shannon_divergence(p_data, result.final_p_g, dx) - jsd[-1]) < 1e-12
    assert abs(criterion[-1] + LOG_4) < 2e-3
    assert np.all(result.final_p_g >= 0)
    assert abs(grid_integral(result.final_p_g, dx) - 1.0) < 1e-12


def test_proposition2_descent_converges_to_minus_log_4():
    _, dx, p_data, p_g_initial = proposition2_example()
    criterion = proposition2_descent(p_data, p_g_initial, dx, step_size=0.5, steps=200).criterion_values
    assert np.all(np.diff(criterion) <= 1e-14)  # flat to rounding once converged
    assert abs(criterion[-1] + LOG_4) < 1e-12


@HYPOTHESIS_SETTINGS
@given(density_pairs(allow_zeros=False), st.floats(min_value=1e-3, max_value=1.0))
def test_proposition2_criterion_never_increases_for_step_sizes_up_to_one(densities, step_size):
    p_data, p_g, dx = densities
    criterion = proposition2_descent(p_data, p_g, dx, step_size=step_size, steps=10).criterion_values
    assert np.all(np.diff(criterion) <= 1e-12)


@pytest.mark.parametrize("step_size", [0.1, 0.5, 1.0])
def test_proposition2_rate_holds_locally_only(step_size):
    """JSD after a step / JSD before is (1 - step_size / 2)^2 when p_g = p_data (1 + e) with |e| << 1
    everywhere (here |e| <= 0.05); from the example's broad Gaussian, 4e11 times p_data at x = +-6,
    the JSD falls more slowly (measured ranges in proposition2_descent's docstring)."""
    x, dx, p_data, p_g_initial = proposition2_example()
    local_rate = (1 - step_size / 2) ** 2
    near = normalise_density(p_data * (1 + 0.05 * np.sin(3 * x)), dx)
    jsd = proposition2_descent(p_data, near, dx, step_size=step_size, steps=5).jensen_shannon_values
    assert np.max(np.abs(jsd[1:] / jsd[:-1] - local_rate)) < 2e-4
    jsd = proposition2_descent(p_data, p_g_initial, dx, step_size=step_size, steps=10).jensen_shannon_values
    ratios = jsd[1:] / jsd[:-1]
    low, high = {0.1: (0.921, 0.93), 0.5: (0.64, 0.66), 1.0: (0.36, 0.42)}[step_size]  # measured
    assert 1.02 * local_rate < low < ratios.min() and ratios.max() < high  # at least 2% slower than local


def test_proposition2_step_size_one_averages_the_densities():
    rng = np.random.default_rng(7)
    dx = 0.1
    p_data, p_g = random_densities(rng, dx=dx)
    one_step = proposition2_descent(p_data, p_g, dx, step_size=1.0, steps=1).final_p_g
    np.testing.assert_allclose(one_step, (p_data + p_g) / 2, rtol=1e-12, atol=0)


def test_proposition2_rejects_p_g_missing_the_support_of_p_data():
    dx = 1.0
    with pytest.raises(ValueError, match="cannot create mass"):
        proposition2_descent(np.array([0.5, 0.5]), np.array([1.0, 0.0]), dx)


@pytest.mark.parametrize("step_size", [0.0, -0.1, 1.5, np.nan])
def test_proposition2_rejects_step_sizes_outside_zero_one(step_size):
    _, dx, p_data, p_g_initial = proposition2_example()
    with pytest.raises(ValueError, match="step_size"):
        proposition2_descent(p_data, p_g_initial, dx, step_size=step_size, steps=1)


# ------------------------------------------------------------ section 3: saturation


def test_saturation_curves_match_finite_differences_of_both_objectives():
    d_values = np.linspace(0.01, 0.99, 99)
    curves = saturation_curves(d_values)
    logits = curves.logits
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), d_values, rtol=1e-14)

    def minimax_objective(a):  # log(1 - sigmoid(a))
        return -np.logaddexp(0.0, a)

    def non_saturating_objective(a):  # -log sigmoid(a)
        return np.logaddexp(0.0, -a)

    h = 1e-5
    minimax_numeric = (minimax_objective(logits + h) - minimax_objective(logits - h)) / (2 * h)
    non_saturating_numeric = (non_saturating_objective(logits + h) - non_saturating_objective(logits - h)) / (2 * h)
    assert rel_error(curves.minimax_gradient, np.abs(minimax_numeric)) < 1e-7
    assert rel_error(curves.non_saturating_gradient, np.abs(non_saturating_numeric)) < 1e-7
    # both objectives are decreasing in a: G is pushed towards larger D(G(z))
    assert np.all(minimax_numeric < 0) and np.all(non_saturating_numeric < 0)


def test_saturation_minimax_gradient_vanishes_when_d_of_g_is_small():
    curves = saturation_curves(np.array([1e-4, 0.5, 1 - 1e-4]))
    assert curves.minimax_gradient[0] < 1e-3 * curves.non_saturating_gradient[0]
    assert curves.minimax_gradient[1] == curves.non_saturating_gradient[1] == 0.5
    assert curves.non_saturating_gradient[2] < 1e-3 * curves.minimax_gradient[2]


@pytest.mark.parametrize("bad_d_values", [[0.0, 0.5], [0.5, 1.0], [np.nan], [1.2]])
def test_saturation_curves_reject_values_outside_open_unit_interval(bad_d_values):
    with pytest.raises(ValueError, match=r"inside \(0, 1\)"):
        saturation_curves(np.array(bad_d_values))


# ------------------------------------------------------------ grid and mixtures


def test_gaussian_mixture_density_is_normalised_with_normalised_weights():
    x = np.linspace(-20, 20, 4001)
    dx = grid_spacing(x)
    density = gaussian_mixture_density(x, means=[-2.0, 3.0], stds=[0.5, 1.5], weights=[1.0, 3.0])
    assert abs(grid_integral(density, dx) - 1.0) < 1e-12
    np.testing.assert_allclose(
        density, gaussian_mixture_density(x, means=[-2.0, 3.0], stds=[0.5, 1.5], weights=[0.25, 0.75]), rtol=1e-14
    )
    assert abs(grid_integral(x * density, dx) - (0.25 * -2.0 + 0.75 * 3.0)) < 1e-12
    single = gaussian_mixture_density(np.array([1.0]), means=[1.0], stds=[2.0])
    assert abs(single[0] - 1 / (np.sqrt(2 * np.pi) * 2.0)) < 1e-15


@pytest.mark.parametrize(
    "means, stds, weights, message",
    [
        ([0.0, 1.0], [1.0], [0.5, 0.5], "one entry per component"),
        ([0.0], [0.0], [1.0], "stds must all be > 0"),
        ([0.0, 1.0], [1.0, 1.0], [1.0, -0.5], "weights must be >= 0"),
        ([0.0], [1.0], [0.0], "not all zero"),
        ([np.nan], [1.0], [1.0], "means contains NaN"),
    ],
)
def test_gaussian_mixture_density_rejects_bad_parameters(means, stds, weights, message):
    with pytest.raises(ValueError, match=message):
        gaussian_mixture_density(np.linspace(-1, 1, 5), means, stds, weights)


def test_grid_spacing_of_linspace_and_rejection_of_uneven_grids():
    assert abs(grid_spacing(np.linspace(-6, 6, 1201)) - 0.01) < 1e-15
    with pytest.raises(ValueError, match="uniform and increasing"):
        grid_spacing(np.array([0.0, 1.0, 3.0]))


# -------------------------------------------------------------------- bad input

GOOD = np.array([0.5, 0.5])


@pytest.mark.parametrize(
    "p_data, p_g, message",
    [
        (np.array([0.5, -0.1]), GOOD, "p_data has negative values"),
        (GOOD, np.array([np.nan, 1.0]), "p_g contains NaN"),
        (GOOD, np.array([np.inf, 1.0]), "p_g contains NaN or infinite"),
        (GOOD, np.array([0.2, 0.3, 0.5]), "shape mismatch"),
        (np.ones((2, 2)), np.ones((2, 2)), "1-D array"),
    ],
)
def test_bad_densities_are_rejected_everywhere(p_data, p_g, message):
    dx = 1.0
    with pytest.raises(ValueError, match=message):
        optimal_discriminator(p_data, p_g)
    with pytest.raises(ValueError, match=message):
        virtual_training_criterion(p_data, p_g, dx)
    with pytest.raises(ValueError, match=message):
        value_function(np.full(np.shape(p_data), 0.5), p_data, p_g, dx)
    with pytest.raises(ValueError, match=message.replace("p_data", "p").replace("p_g", "q")):
        jensen_shannon_divergence(p_data, p_g, dx)
    with pytest.raises(ValueError, match=message.replace("p_data", "p").replace("p_g", "q")):
        kl_divergence(p_data, p_g, dx)


def test_unnormalised_densities_are_rejected_by_the_divergences():
    with pytest.raises(ValueError, match="normalise_density"):
        jensen_shannon_divergence(np.array([1.0, 1.0]), GOOD, 1.0)
    with pytest.raises(ValueError, match="normalise_density"):
        kl_divergence(GOOD, np.array([0.1, 0.1]), 1.0)
    with pytest.raises(ValueError, match="normalise_density"):
        proposition2_descent(GOOD, np.array([2.0, 2.0]), 1.0)


@pytest.mark.parametrize("dx", [0.0, -0.1, np.nan, np.inf])
def test_bad_grid_spacing_is_rejected(dx):
    with pytest.raises(ValueError, match="dx must be a positive finite"):
        virtual_training_criterion(GOOD, GOOD, dx)


@pytest.mark.parametrize("discriminator", [np.array([0.5, 1.5]), np.array([-0.1, 0.5]), np.array([np.nan, 0.5])])
def test_value_function_rejects_discriminators_outside_unit_interval(discriminator):
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        value_function(discriminator, GOOD, GOOD, 1.0)


def test_value_function_rejects_discriminator_of_wrong_shape():
    with pytest.raises(ValueError, match="discriminator has shape"):
        value_function(np.array([0.5, 0.5, 0.5]), GOOD, GOOD, 1.0)
