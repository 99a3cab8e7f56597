"""The f-divergence table: f, its Fenchel conjugate, the output activation, the variational
bound and its optimum, the GAN row against the paper's V(D, G) and C(G), the JS row and the
c (u - 1) shift, Pearson's conjugate on u > 0, and what each G loss descends."""

import numpy as np
import pytest

from npgan.divergences import (
    DIVERGENCE_NAMES,
    DIVERGENCES,
    divergence_on_grid,
    generator_objective,
    get_divergence,
    variational_objective,
)
from npgan.gradcheck import check_generator_objective, check_variational_objective
from npgan.losses import discriminator_loss, generator_loss
from npgan.theory import (
    gaussian_mixture_density,
    jensen_shannon_divergence,
    kl_divergence,
    optimal_discriminator,
    value_function,
    virtual_training_criterion,
)

# Points t inside each conjugate's domain where f*(t) = sup_u (t u - f(u)) is attained at
# some u > 0 (for Pearson that needs t >= -2: below, the sup over u > 0 sits at u -> 0).
T_RANGES = {"kl": (-2.0, 2.0), "reverse-kl": (-3.0, -0.2), "pearson": (-1.9, 3.0),
            "hellinger": (-2.0, 0.8), "js": (-2.0, 0.6), "gan": (-3.0, -0.05)}
X = np.linspace(-20.0, 20.0, 40001)
DX = X[1] - X[0]
P = gaussian_mixture_density(X, [0.0], [1.0])
Q = gaussian_mixture_density(X, [1.0], [1.5])  # wider than P, so p/q stays bounded


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_f_vanishes_at_one_and_is_convex(name):
    """f(1) = 0, so D_f(P || P) = 0; except the GAN row, f(1) = -log 4: its D_f is C(G),
    whose minimum at p_g = p_data is -log 4 (Theorem 1)."""
    f = DIVERGENCES[name].f
    assert f(np.float64(1.0)) == pytest.approx(-np.log(4) if name == "gan" else 0.0, abs=1e-15)
    u = np.linspace(0.01, 20.0, 20001)
    second_differences = np.diff(f(u), 2)
    assert np.all(second_differences > -1e-12)
    assert np.mean(second_differences > 0) > 0.99  # strictly convex


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_the_conjugate_is_the_supremum_of_t_u_minus_f(name):
    divergence = DIVERGENCES[name]
    u = np.logspace(-7, 5, 400001)
    f_u = divergence.f(u)
    for t in np.linspace(*T_RANGES[name], 9):
        supremum = np.max(t * u - f_u)
        assert divergence.conjugate(t) == pytest.approx(supremum, abs=2e-6, rel=1e-6), t


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_the_conjugate_of_the_conjugate_gives_f_back(name):
    divergence = DIVERGENCES[name]
    bound = divergence.domain_bound
    top = bound - 1e-9 if np.isfinite(bound) else 12.0
    t = np.linspace(-12.0, top, 400001)
    conjugate = divergence.conjugate(t)
    for u in (0.2, 0.5, 1.0, 2.0, 5.0):
        assert np.max(t * u - conjugate) == pytest.approx(float(divergence.f(np.float64(u))), abs=1e-6), u


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_the_activation_maps_onto_the_conjugates_domain_and_h_is_the_conjugate_of_it(name):
    divergence = DIVERGENCES[name]
    v = np.linspace(-30.0, 30.0, 6001)
    t = divergence.activation(v)
    assert np.all(np.isfinite(t)) and np.all(t < divergence.domain_bound)
    assert np.all(np.diff(t) > 0)  # increasing: one V for each T
    if np.isfinite(divergence.domain_bound):
        assert divergence.domain_bound - t[-1] < 1e-12  # reaches up to the bound
    small = np.linspace(-5.0, 5.0, 101)
    np.testing.assert_allclose(divergence.conjugate_of_activation(small),
                               divergence.conjugate(divergence.activation(small)), rtol=1e-10, atol=1e-12)
    assert divergence.f_prime(np.float64(1.0)) == pytest.approx(divergence.f_prime_at_1, abs=1e-15)


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_the_bound_is_tight_at_t_star_and_lower_elsewhere(name):
    """For P = N(0, 1), Q = N(1, 1.5^2): F(T) = int p T - int q f*(T) equals D_f at T = f'(p/q)
    and is smaller for any other T."""
    divergence = DIVERGENCES[name]
    exact = divergence_on_grid(name, P, Q, DX)
    assert exact > divergence_on_grid(name, P, P, DX) + 0.01  # P and Q are apart

    def bound(t):
        return float(np.sum(P * t - Q * divergence.conjugate(t)) * DX)

    t_star = divergence.f_prime(P / Q)
    assert bound(t_star) == pytest.approx(exact, rel=1e-9)
    room = np.minimum(0.5, (divergence.domain_bound - t_star) / 2)  # stays inside the domain
    for other in (t_star - 0.1, t_star + 0.2 * room, t_star - 0.3 * np.abs(np.sin(X)),
                  np.full_like(X, divergence.f_prime_at_1)):
        assert bound(other) < exact - 1e-6


def test_the_gan_row_is_the_papers_value_function_and_virtual_criterion():
    d_star = optimal_discriminator(P, Q)
    gan = DIVERGENCES["gan"]
    # T = log D and -f*(T) = log(1 - D): the bound is V(D, G) for any D ...
    for discriminator in (d_star, np.full_like(X, 0.3), 1 / (1 + np.exp(-np.sin(X)))):
        t = np.log(discriminator)
        bound = float(np.sum(P * t - Q * gan.conjugate(t)) * DX)
        assert bound == pytest.approx(value_function(discriminator, P, Q, DX), rel=1e-9)
    # ... its best T is log D*, and D_f is C(G) = -log 4 + 2 JSD.
    np.testing.assert_allclose(gan.f_prime(P / Q), np.log(d_star), rtol=1e-12)
    c_of_g = virtual_training_criterion(P, Q, DX)
    assert divergence_on_grid("gan", P, Q, DX) == pytest.approx(c_of_g, rel=1e-9)
    assert c_of_g == pytest.approx(-np.log(4) + 2 * jensen_shannon_divergence(P, Q, DX), rel=1e-9)


def test_the_js_and_kl_rows_are_the_theory_modules_divergences():
    assert divergence_on_grid("js", P, Q, DX) == pytest.approx(2 * jensen_shannon_divergence(P, Q, DX), rel=1e-9)
    assert divergence_on_grid("kl", P, Q, DX) == pytest.approx(kl_divergence(P, Q, DX), rel=1e-9)
    assert divergence_on_grid("reverse-kl", P, Q, DX) == pytest.approx(kl_divergence(Q, P, DX), rel=1e-9)


def test_the_js_row_is_twice_the_jsd_and_the_gan_row_shifted_by_log_2_times_u_minus_1():
    """D_JS = 2 JSD. f_JS(u) = f_GAN(u) + log 2 (u - 1) + log 4, so f_JS*(t) = f_GAN*(t - log 2) - log 2,
    g_JS = g_GAN + log 2, D_JS = D_GAN + log 4 = C(G) + log 4, and F_JS = F_GAN + log 4 with the
    same gradients on every minibatch."""
    js, gan = DIVERGENCES["js"], DIVERGENCES["gan"]
    jsd = jensen_shannon_divergence(P, Q, DX)
    assert divergence_on_grid("js", P, Q, DX) == pytest.approx(2 * jsd, rel=1e-9)
    gan_plus_log_4 = divergence_on_grid("gan", P, Q, DX) + np.log(4)
    assert divergence_on_grid("js", P, Q, DX) == pytest.approx(gan_plus_log_4, rel=1e-9)
    log2 = np.log(2.0)
    u = np.logspace(-6, 6, 1001)
    np.testing.assert_allclose(js.f(u), gan.f(u) + log2 * (u - 1) + np.log(4), rtol=1e-10, atol=1e-10)
    t = np.linspace(-20.0, log2 - 1e-6, 1001)
    np.testing.assert_allclose(js.conjugate(t), gan.conjugate(t - log2) - log2, rtol=1e-10, atol=1e-12)
    v = np.linspace(-30.0, 30.0, 601)
    np.testing.assert_allclose(js.activation(v), gan.activation(v) + log2, rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(3)
    real, fake = rng.normal(0, 3, 9), rng.normal(0, 3, 7)
    value_js, real_js, fake_js = variational_objective("js", real, fake)
    value_gan, real_gan, fake_gan = variational_objective("gan", real, fake)
    assert value_js == pytest.approx(value_gan + np.log(4), rel=1e-13)
    np.testing.assert_allclose(real_js, real_gan, rtol=1e-13)
    np.testing.assert_allclose(fake_js, fake_gan, rtol=1e-13)


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
@pytest.mark.parametrize("c", [-1.3, 0.7])
def test_generators_that_differ_by_c_times_u_minus_1_give_the_same_divergence(name, c):
    """g(u) = f(u) + c (u - 1): D_g = D_f, g*(t) = f*(t - c) + c (by maximisation over u > 0), and
    the bound with T* + c under g is D_f: the same optimum, T shifted by c."""
    divergence = DIVERGENCES[name]

    def g(u):
        return divergence.f(u) + c * (u - 1.0)

    exact = divergence_on_grid(name, P, Q, DX)
    assert float(np.sum(Q * g(P / Q)) * DX) == pytest.approx(exact, rel=1e-9, abs=1e-12)
    u = np.logspace(-7, 5, 400001)
    g_u = g(u)
    for t in np.linspace(*T_RANGES[name], 7) + c:  # t - c inside f*'s domain, attained at some u > 0
        assert np.max(t * u - g_u) == pytest.approx(float(divergence.conjugate(t - c)) + c, abs=2e-6, rel=1e-6), t
    t_star = divergence.f_prime(P / Q)
    shifted_bound = float(np.sum(P * (t_star + c) - Q * (divergence.conjugate(t_star) + c)) * DX)
    assert shifted_bound == pytest.approx(exact, rel=1e-9)


def test_pearson_conjugate_on_positive_u_is_piecewise_and_the_full_line_one_still_bounds():
    """sup_{u > 0} (t u - (u - 1)^2) is t^2/4 + t for t >= -2 and -1 below. npgan uses the full-line
    t^2/4 + t, never smaller ((t/2 + 1)^2 >= 0), so its F is smaller: still a lower bound on D_f,
    and equal to it at T* = 2 (p/q - 1) >= -2, where the two conjugates agree."""
    pearson = DIVERGENCES["pearson"]
    assert pearson.domain_bound == np.inf  # the full-line conjugate, over every t

    def piecewise(t):
        return np.where(t >= -2.0, t * t / 4.0 + t, -1.0)

    u = np.logspace(-9, 4, 400001)
    f_u = pearson.f(u)
    for t in (-6.0, -4.0, -2.5, -2.0, -1.0, 0.0, 1.5, 3.0):
        assert np.max(t * u - f_u) == pytest.approx(float(piecewise(np.float64(t))), abs=1e-6), t
    t = np.linspace(-10.0, 10.0, 2001)
    assert np.all(pearson.conjugate(t) >= piecewise(t))
    np.testing.assert_allclose(pearson.conjugate(t[t >= -2.0]), piecewise(t[t >= -2.0]), rtol=1e-14, atol=1e-14)
    assert np.all(pearson.conjugate(t[t < -2.0]) > piecewise(t[t < -2.0]))

    exact = divergence_on_grid("pearson", P, Q, DX)
    t_star = pearson.f_prime(P / Q)
    assert t_star.min() >= -2.0

    def bound(t, conjugate):
        return float(np.sum(P * t - Q * conjugate(t)) * DX)

    assert bound(t_star, pearson.conjugate) == pytest.approx(bound(t_star, piecewise), rel=1e-12)
    assert bound(t_star, pearson.conjugate) == pytest.approx(exact, rel=1e-9)
    low = t_star - 3.0  # dips below -2 wherever p/q < 1.5
    assert (low < -2.0).mean() > 0.5
    assert bound(low, pearson.conjugate) < bound(low, piecewise) < exact


def _best_bound_over_a_class(features, name="kl"):
    """max over w of F(T) = int p T - int q f*(T) for T = w . features (concave in w: f* is convex),
    by Newton's method with backtracking; KL row (f*(t) = exp(t - 1))."""
    assert name == "kl"
    phi = np.stack(features)
    w = np.zeros(len(phi))

    def bound(w):
        return float(np.sum(P * (w @ phi) - Q * np.exp(w @ phi - 1.0)) * DX)

    for _ in range(100):
        weighted = Q * np.exp(w @ phi - 1.0)
        gradient = (phi @ P - phi @ weighted) * DX
        if np.max(np.abs(gradient)) < 1e-12:
            break
        step = np.linalg.solve(-(phi * weighted) @ phi.T * DX, -gradient)
        size = 1.0
        while bound(w + size * step) < bound(w) and size > 1e-8:
            size /= 2
        w = w + size * step
    return bound(w)


def test_a_critic_class_without_t_star_gives_only_a_lower_bound():
    """P = N(0, 1), Q = N(1, 1.5^2): T* = 1 + log(p/q) is quadratic in x. The best affine T reaches
    2/9 = 0.222 (in closed form: max_b -b - 1.125 b^2), below KL(P || Q) = 0.350; the best quadratic
    T, a class that holds T*, reaches KL itself."""
    kl = divergence_on_grid("kl", P, Q, DX)
    assert kl == pytest.approx(np.log(1.5) + 2 / 4.5 - 0.5, rel=1e-9)
    affine = _best_bound_over_a_class([np.ones_like(X), X])
    quadratic = _best_bound_over_a_class([np.ones_like(X), X, X ** 2])
    assert affine == pytest.approx(2 / 9, rel=1e-9)
    assert affine < kl - 0.1
    assert quadratic == pytest.approx(kl, rel=1e-9)


# What the non-saturating G loss -E_Q[T*] descends at the optimal critic, for P = data, Q = G
# (npgan/divergences.py derives it; each up to an additive constant).
def _kl(p, q):
    return float(np.sum(p * np.log(p / q)) * DX)


def _jsd(p, q):
    mixture = (p + q) / 2
    return (_kl(p, mixture) + _kl(q, mixture)) / 2


NON_SATURATING_DESCENDS = {
    "kl": lambda p, q: _kl(q, p),
    "reverse-kl": lambda p, q: float(np.sum((q - p) ** 2 / p) * DX) / 2,
    "pearson": lambda p, q: 2 * _kl(p, q),
    "hellinger": lambda p, q: 2 / 3 * float(np.sum(q ** 1.5 / np.sqrt(p)) * DX),
    "js": lambda p, q: _kl(q, p) - 2 * _jsd(p, q),
    "gan": lambda p, q: _kl(q, p) - 2 * _jsd(p, q),
}


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_at_the_optimal_critic_minimax_g_loss_descends_d_f_and_non_saturating_another_divergence(name):
    """Q = N(theta, 1.2^2) against P = N(0, 1) (Q < sqrt 2 wide, so chi^2(Q || P) is finite; not 1 wide,
    where KL is symmetric); hold T* = f'(p/q) of theta fixed and move theta. The minimax
    G loss -E_Q[f*(T*)] has the derivative of D_f(P || Q), the non-saturating -E_Q[T*] that of the
    divergence of NON_SATURATING_DESCENDS; the two differ, and both vanish at Q = P."""
    divergence = DIVERGENCES[name]
    x = np.linspace(-12.0, 12.0, 24001)
    dx = x[1] - x[0]
    p = gaussian_mixture_density(x, [0.0], [1.0])

    def q(theta, width=1.2):
        return gaussian_mixture_density(x, [theta], [width])

    def derivative(function, theta, width=1.2, h=1e-5):
        return (function(q(theta + h, width)) - function(q(theta - h, width))) / (2 * h)

    for theta in (0.4, 1.0):
        t_star = divergence.f_prime(p / q(theta))
        minimax = derivative(lambda q_: -float(np.sum(q_ * divergence.conjugate(t_star)) * dx), theta)
        non_saturating = derivative(lambda q_: -float(np.sum(q_ * t_star) * dx), theta)
        assert minimax == pytest.approx(derivative(lambda q_: divergence_on_grid(name, p, q_, dx), theta), rel=1e-6)
        assert non_saturating == pytest.approx(derivative(lambda q_: NON_SATURATING_DESCENDS[name](p, q_), theta),
                                               rel=1e-6)
        assert abs(non_saturating - minimax) > 0.05 * abs(minimax)
    t_star = divergence.f_prime(p / q(0.0, width=1.0))  # Q = P: T* = f'(1) everywhere
    for loss in (lambda q_: float(np.sum(q_ * divergence.conjugate(t_star)) * dx),
                 lambda q_: float(np.sum(q_ * t_star) * dx)):
        assert abs(derivative(loss, 0.0, width=1.0)) < 1e-8


def test_on_minibatches_the_gan_row_is_the_gan_loss():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(0, 3, (7, 1)), rng.normal(0, 3, (5, 1))
    value, grad_real, grad_fake = variational_objective("gan", real, fake)
    loss, loss_real, loss_fake = discriminator_loss(real, fake)
    assert value == pytest.approx(-loss, rel=1e-14)
    np.testing.assert_allclose(grad_real, -loss_real, rtol=1e-14)
    np.testing.assert_allclose(grad_fake, -loss_fake, rtol=1e-14)
    for kind in ("minimax", "non-saturating"):
        value, grad = generator_objective("gan", fake, kind)
        expected, expected_grad = generator_loss(fake, kind)
        assert value == pytest.approx(expected, rel=1e-14)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-14)


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_the_minibatch_objective_is_the_formula_and_its_gradients_check(name):
    divergence = DIVERGENCES[name]
    rng = np.random.default_rng(1)
    real, fake = rng.normal(0, 1.5, 9), rng.normal(0, 1.5, 4)
    value, _, _ = variational_objective(name, real, fake)
    expected = np.mean(divergence.activation(real)) - np.mean(divergence.conjugate(divergence.activation(fake)))
    assert value == pytest.approx(expected, rel=1e-12)
    results = check_variational_objective(name, real, fake)
    results += check_generator_objective(name, fake, "minimax") + check_generator_objective(name, fake, "non-saturating")
    assert all(result.ok for result in results), results


def test_saturated_outputs_stay_finite_where_a_naive_form_would_not():
    """At V = -800 a naive -log(1 - exp(log sigmoid(V))) or log(sigmoid(V)) gives inf / -inf."""
    v = np.array([-800.0, 800.0])
    for name in ("gan", "js"):
        value, grad_real, grad_fake = variational_objective(name, v, v)
        assert np.isfinite(value) and np.all(np.isfinite(grad_real)) and np.all(np.isfinite(grad_fake))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown divergence 'chi'"):
        get_divergence("chi")
    with pytest.raises(ValueError, match="real_outputs contains NaN"):
        variational_objective("kl", np.array([np.nan]), np.array([0.0]))
    with pytest.raises(ValueError, match="fake_outputs must be a non-empty float array"):
        variational_objective("kl", np.array([0.0]), np.array([]))
    with pytest.raises(ValueError, match="q > 0"):
        divergence_on_grid("kl", P, np.zeros_like(P), DX)
    with pytest.raises(ValueError, match="non-saturating"):
        generator_objective("kl", np.array([0.0]), "other")


@pytest.mark.parametrize("name", ["kl", "reverse-kl", "js"])
def test_whole_d_and_g_steps_check_under_another_divergence(name):
    """The trainer's own gradient code (npgan.gan) with an f-divergence's objective, checked
    end to end like the GAN's: one D pass on [x; G(z)], G through D with its dropout masks."""
    from npgan.gradcheck import check_discriminator_step, check_generator_step, small_gan

    rng = np.random.default_rng(5)
    gan = small_gan(rng)
    gan.divergence = name
    x_real = rng.uniform(0.05, 0.95, size=(6, 6))
    z = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(6, 4))
    results = []
    for order in ("sequential", "simultaneous"):
        results += check_discriminator_step(gan, x_real, z, update_order=order)
        for kind in ("minimax", "non-saturating"):
            results += check_generator_step(gan, x_real, z, kind=kind, update_order=order)
    assert all(result.ok for result in results), [r for r in results if not r.ok]


def test_a_configuration_without_the_divergence_key_is_the_gan():
    """config.json of a run made before divergences existed still loads, as the GAN."""
    from npgan.models import build_gan, preset_config, validate_config

    config = preset_config("ring8")
    del config["divergence"]
    assert validate_config(config)["divergence"] == "gan"
    gan = build_gan(preset_config("ring8", divergence="reverse-kl"), 2, rng=np.random.default_rng(0),
                    dropout_rng=np.random.default_rng(1))
    assert gan.divergence == "reverse-kl"
    with pytest.raises(ValueError, match="divergence must be one of"):
        preset_config("ring8", divergence="chi")


@pytest.mark.parametrize("name", DIVERGENCE_NAMES)
def test_each_divergence_trains_gauss1d_from_the_command_line(tmp_path, name, capsys):
    from npgan.checkpoint import load_checkpoint
    from npgan.cli import main

    out = tmp_path / name
    assert main(["train", "--preset", "gauss1d", "--divergence", name, "--iterations", "40", "--out", str(out),
                 "--learning-rate", "1e-3",
                 "--no-progress"]) == 0
    checkpoint = load_checkpoint(out / "checkpoint.npz")
    assert checkpoint.config["divergence"] == name and checkpoint.state["iteration"] == 40
    capsys.readouterr()
    assert main(["train", "--preset", "gauss1d", "--divergence", "gan", "--resume", "--iterations", "50",
                 "--learning-rate", "1e-3",
                 "--out", str(out), "--no-progress"]) == (0 if name == "gan" else 2)


def test_the_divergences_figure_draws_each_run_and_reports_the_mode_masses(tmp_path, monkeypatch):
    import npgan.paper_figures
    from npgan.data.toy import BIMODAL1D

    rng = np.random.default_rng(0)
    both = BIMODAL1D.sample(1000, rng)
    one = both[both[:, 0] > 0]
    monkeypatch.setattr(npgan.paper_figures, "divergence_runs",
                        lambda seed: {"kl": both, "reverse-kl": one, "pearson": None})
    masses = npgan.paper_figures.divergences_figure(tmp_path / "divergences.png")
    assert masses["pearson"] is None
    assert masses["kl"] == pytest.approx([0.5, 0.5], abs=0.05)
    assert masses["reverse-kl"][0] == 0 and masses["reverse-kl"][1] > 0.99
    assert (tmp_path / "divergences.png").stat().st_size > 1000


def test_kl_runs_from_a_wide_generator_and_overrides_come_last():
    from npgan.experiments.f_divergences import DIVERGENCE_RUN_SETTINGS, divergence_run_config
    from npgan.models import preset_config

    assert divergence_run_config("kl", seed=2)["generator_init_scale"] == 1.0
    assert divergence_run_config("kl", seed=2)["seed"] == 2
    assert divergence_run_config("gan")["generator_init_scale"] == preset_config("bimodal1d")["generator_init_scale"]
    assert divergence_run_config("kl", overrides={"kl": {"generator_init_scale": 0.3}})["generator_init_scale"] == 0.3
    assert "generator_init_scale" not in DIVERGENCE_RUN_SETTINGS.get("reverse-kl", {})


def test_divergence_runs_are_real_short_runs():
    from npgan.experiments.f_divergences import divergence_runs, mode_masses

    runs = divergence_runs(seed=0, names=["gan", "reverse-kl"],
                           overrides={"gan": {"iterations": 30}, "reverse-kl": {"iterations": 30}})
    assert set(runs) == {"gan", "reverse-kl"}
    for samples in runs.values():
        assert samples.shape == (5000, 1) and np.all(np.isfinite(samples))
        assert mode_masses(samples).shape == (2,)
