"""The theory of the GAN paper (sections 3 and 4) made checkable on a 1-D grid.

Densities are arrays of values p(x_i) on a uniform grid x_i = x_0 + i dx, shape
(n_grid,). Every integral is the plain Riemann (rectangle) sum

    integral f(x) dx  ~=  dx * sum_i f(x_i),

used everywhere in this module, so that "normalised" (dx * sum p = 1), the
divergences and C(G) all refer to the same discrete measure and the identities
below hold to rounding error, not only up to quadrature error.

An idealisation. The x-form of V below, D* and the JSD need G's samples to have a density
p_g. On the 1-D grid they do; a real G does not: the paper's MNIST G maps 100-d noise into
784-d pixel space, so its samples lie on the image of R^100, a set of dimension <= 100 and of
volume 0 in R^784, and p_g does not exist (Arjovsky and Bottou 2017). V's z-form,
E_x[log D(x)] + E_z[log(1 - D(G(z)))], is what training estimates; the statements of this
module are about densities, and hold for a real G only as idealisations.

Proposition 1 (optimal discriminator for a fixed G):

    D*_G(x) = p_data(x) / (p_data(x) + p_g(x))

Value function and virtual training criterion (0 log 0 = 0 throughout):

    V(D, G) = integral p_data log D + p_g log(1 - D) dx
    C(G)    = max_D V(D, G) = V(D*_G, G)          (the inner maximum, for a fixed G)
            = integral p_data log(p_data / (p_data + p_g)) + p_g log(p_g / (p_data + p_g)) dx

C(G) is not the game's value: that is min_G max_D V = min_G C(G) = -log 4 (Theorem 1).

Theorem 1: with m = (p_data + p_g) / 2,

    KL(p || q) = integral p log(p / q) dx               (natural log, >= 0)
    JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2      (in [0, log 2])
    C(G) = -log 4 + 2 JSD(p_data || p_g)  >=  -log 4,  with equality iff p_g = p_data.

The two G losses at D* (`optimal_discriminator_logit`, `generator_loss_on_grid`). Let p_g
depend on a parameter theta, normalised for every theta (so integral d_theta p_g dx = 0), and
hold D = D*_G fixed at its value for theta; write r = d_theta p_g. Then

    minimax         d_theta E_pg[log(1 - D*)] = integral r log(p_g / (p_data + p_g)) dx
                                               = d_theta C(G) = 2 d_theta JSD(p_data || p_g),

(the envelope theorem: C = V(D*, G) and dV/dD = 0 at D*), and, since
log(1 - D*) - log D* = log(p_g / p_data) and d_theta KL(p_g || p_data) =
integral r log(p_g / p_data) dx + integral r dx = integral r log(p_g / p_data) dx,

    non-saturating  d_theta E_pg[-log D*]      = d_theta KL(p_g || p_data) - d_theta E_pg[log(1 - D*)]
                                               = d_theta [KL(p_g || p_data) - 2 JSD(p_data || p_g)]

(Arjovsky and Bottou 2017, Theorem 2.5). Both gradients vanish at p_g = p_data, where
log D* = log(1 - D*) = -log 2 is constant: the losses share that stationary point, not the
dynamics. Per sample, the two gradients with respect to D's logit differ by the positive factor
D / (1 - D) (`saturation_curves`), which is p_data / p_g at D*: summed over G's samples they
weight them differently, and point in different directions; in a family of p_g that does not
hold p_data the two can even lead to different minimisers (tests/test_theory.py).

Proposition 2, as the paper states it: if G and D have enough capacity, D reaches D*_G at each
step, and p_g is updated to improve U(p_g, D*_G) = E_pdata[log D*_G] + E_pg[log(1 - D*_G)] with
D*_G held fixed, then p_g converges to p_data. The argument: U(p_g, D) is linear, so convex, in
p_g; the supremum over D of convex functions, C(G) = sup_D U(p_g, D), is convex; its gradient
at p_g contains the gradient of U at the maximising D*_G; so the update is a (sub)gradient
step on a convex function, which with small enough steps reaches its unique minimum p_data.
The conclusion is convergence in function space, for the density p_g itself. The paper's own
caveat: a G(z; theta_g) represents only a limited family of p_g, one optimises theta_g rather
than p_g, and a multilayer perceptron brings multiple critical points: a parametric G is
outside the guarantee.

npgan's version (`proposition2_descent`) is its own, nonparametric construction: p_g is the
whole array on the grid, and each step is an exponentiated-gradient (mirror-descent) step on
C with D* recomputed first. With D = D*_G, the functional gradient of V with respect to p_g is
log(1 - D*_G) = log(p_g / (p_data + p_g)), which is also the gradient of C(G) itself (envelope
theorem). One step of size eta keeps p_g a density:

    p_g <- p_g * exp(-eta * log(1 - D*_G)) / Z  =  p_g^(1 - eta) (p_data + p_g)^eta / Z,

Z the normaliser. At eta = 1 this is p_g <- (p_data + p_g) / 2. Why C falls monotonically for
0 < eta <= 1 is argued in `proposition2_descent` (relative smoothness, not the paper's
argument); the per-step rate (1 - eta / 2)^2 of the JSD given there holds locally only.

Section 3 (saturation, `saturation_curves`): with D = sigmoid(a) on a generated
sample,  |d/da log(1 - D)| = D  (minimax G objective, vanishes when D -> 0, i.e.
early in training) and  |d/da -log D| = 1 - D  (non-saturating objective, close
to 1 there).
"""

from dataclasses import dataclass

import numpy as np

#: How far dx * sum(p) may be from 1 for a density passed where normalisation matters.
NORMALISATION_TOLERANCE = 1e-6

#: Default exponentiated-gradient step size of `proposition2_descent`.
PROPOSITION2_STEP_SIZE = 0.1

#: Steps after which JSD(p_data || p_g) < 1e-3 on `proposition2_example()` with
#: PROPOSITION2_STEP_SIZE (measured: JSD = 9.47e-4 after 64 steps, 1.035e-3 after 63).
PROPOSITION2_STEPS_TO_JSD_1E_3 = 64


# --------------------------------------------------------------------------- grid


def grid_spacing(x):
    """dx of a uniform, increasing 1-D grid x of shape (n_grid,), n_grid >= 2."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"grid x must be a 1-D array of at least 2 points, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("grid x contains NaN or infinite values")
    steps = np.diff(x)
    dx = (x[-1] - x[0]) / (x.size - 1)
    if dx <= 0 or not np.allclose(steps, dx, rtol=1e-6, atol=0.0):
        raise ValueError("grid x must be uniform and increasing, e.g. np.linspace(-6, 6, 1201)")
    return float(dx)


def grid_integral(values, dx):
    """Riemann sum dx * sum_i values_i, the integral used throughout this module."""
    dx = _check_dx(dx)
    return float(dx * np.sum(values))


def normalise_density(density, dx):
    """p / (dx * sum p): a density (n_grid,) that integrates to exactly 1 on the grid."""
    density = _check_densities(density, names=("density",))[0]
    mass = grid_integral(density, dx)
    if mass == 0:
        raise ValueError("density is zero everywhere on the grid; there is nothing to normalise")
    return density / mass


def gaussian_mixture_density(x, means, stds, weights=None):
    """p(x) = sum_k w_k N(x; mu_k, sigma_k^2) evaluated at every point of x.

    x: (n_grid,); means, stds, weights: (n_components,). Weights must be >= 0 and
    are divided by their sum (equal weights if None); stds must be > 0. The
    result has the shape of x and integrates to 1 over the real line, not over a
    finite grid: pass it through `normalise_density` before using it there.
    """
    x = np.asarray(x, dtype=np.float64)
    means = np.atleast_1d(np.asarray(means, dtype=np.float64))
    stds = np.atleast_1d(np.asarray(stds, dtype=np.float64))
    if weights is None:
        weights = np.ones_like(means)
    weights = np.atleast_1d(np.asarray(weights, dtype=np.float64))
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D grid, got shape {x.shape}")
    if not (means.ndim == stds.ndim == weights.ndim == 1 and means.size == stds.size == weights.size > 0):
        raise ValueError(
            "means, stds and weights must be 1-D with one entry per component, got shapes "
            f"{means.shape}, {stds.shape}, {weights.shape}"
        )
    for name, array in (("x", x), ("means", means), ("stds", stds), ("weights", weights)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(stds <= 0):
        raise ValueError(f"stds must all be > 0, got {stds}")
    if np.any(weights < 0) or np.sum(weights) == 0:
        raise ValueError(f"weights must be >= 0 and not all zero, got {weights}")
    weights = weights / np.sum(weights)
    standardised = (x[:, None] - means[None, :]) / stds[None, :]  # (n_grid, n_components)
    component_densities = np.exp(-0.5 * standardised**2) / (np.sqrt(2 * np.pi) * stds[None, :])
    return component_densities @ weights


# ------------------------------------------------------------- Proposition 1, Theorem 1


def optimal_discriminator(p_data, p_g):
    """D*_G = p_data / (p_data + p_g), pointwise; shapes (n_grid,) -> (n_grid,).

    Where p_data = p_g = 0 the ratio is 0/0 and any D is optimal (neither term of V
    sees that point); we define D* = 1/2 there, the value it takes wherever
    p_g = p_data.
    """
    p_data, p_g = _check_densities(p_data, p_g)
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def value_function(discriminator, p_data, p_g, dx):
    """V(D, G) = integral p_data log D + p_g log(1 - D) dx  (Riemann sum).

    discriminator, p_data, p_g: (n_grid,), D in [0, 1]. Terms with zero density
    are 0 whatever D is (0 log 0 = 0); a point where p_data > 0 and D = 0 (or
    p_g > 0 and D = 1) makes V = -inf, which is its true value.
    """
    p_data, p_g = _check_densities(p_data, p_g)
    discriminator = np.asarray(discriminator, dtype=np.float64)
    if discriminator.shape != p_data.shape:
        raise ValueError(
            f"discriminator has shape {discriminator.shape} but the densities have shape {p_data.shape}"
        )
    if not np.all(np.isfinite(discriminator)) or np.any((discriminator < 0) | (discriminator > 1)):
        raise ValueError("discriminator values must be finite probabilities in [0, 1]")
    integrand = _x_log_y(p_data, discriminator) + _x_log_y(p_g, 1.0 - discriminator)
    return grid_integral(integrand, dx)


def virtual_training_criterion(p_data, p_g, dx):
    """C(G) = V(D*_G, G) = integral p_data log(p_data / s) + p_g log(p_g / s) dx,  s = p_data + p_g.

    The right-hand form is V at D* with D* = p_data / s and 1 - D* = p_g / s
    substituted; it is used because 1 - D* computed as a difference rounds to 0
    where p_g << p_data (Gaussian tails), which would turn a finite C into -inf.
    Equals -log 4 + 2 JSD(p_data || p_g) when both densities are normalised.
    """
    p_data, p_g = _check_densities(p_data, p_g)
    total = p_data + p_g
    return grid_integral(_x_log_ratio(p_data, total) + _x_log_ratio(p_g, total), dx)


def kl_divergence(p, q, dx):
    """KL(p || q) = integral p log(p / q) dx (natural log), p, q normalised (n_grid,).

    0 where p = 0; +inf if p > 0 somewhere q = 0.
    """
    p, q = _check_densities(p, q, names=("p", "q"))
    _check_normalised(p, dx, "p")
    _check_normalised(q, dx, "q")
    return grid_integral(_x_log_ratio(p, q), dx)


def jensen_shannon_divergence(p, q, dx):
    """JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2, m = (p + q) / 2; in [0, log 2].

    Symmetric, 0 iff p = q, log 2 iff p and q have disjoint supports.
    """
    p, q = _check_densities(p, q, names=("p", "q"))
    _check_normalised(p, dx, "p")
    _check_normalised(q, dx, "q")
    mixture = (p + q) / 2
    return grid_integral(_x_log_ratio(p, mixture) + _x_log_ratio(q, mixture), dx) / 2


# ------------------------------------------------------ the two G losses at a fixed D


def optimal_discriminator_logit(p_data, p_g):
    """a* = log p_data - log p_g, the logit of D*_G (D* = sigmoid(a*)); (n_grid,) -> (n_grid,).

    +inf where p_g = 0 < p_data, -inf where p_data = 0 < p_g, and 0 (D* = 1/2, as in
    `optimal_discriminator`) where both are 0. Working from the logit, as npgan's losses do,
    keeps log D* and log(1 - D*) exact where D* rounds to 0 or 1 (p_g / p_data ~ 1e-17).
    """
    p_data, p_g = _check_densities(p_data, p_g)
    with np.errstate(divide="ignore"):
        logit = np.log(p_data) - np.log(p_g)
    return np.where((p_data == 0) & (p_g == 0), 0.0, logit)


def generator_loss_on_grid(logits, p_g, dx, kind="non-saturating"):
    """G's loss for a fixed D, as an integral over p_g; logits, p_g: (n_grid,), D = sigmoid(logits).

    "non-saturating": E_pg[-log D]     = integral p_g softplus(-a) dx
    "minimax":        E_pg[log(1 - D)] = -integral p_g softplus(a) dx   (the p_g part of V)

    0 where p_g = 0, whatever the logit. Held at a = `optimal_discriminator_logit` of one p_g
    and differentiated along a family p_g(theta), the minimax loss has the gradient of
    C(G) = -log 4 + 2 JSD and the non-saturating one that of KL(p_g || p_data) - 2 JSD
    (the module docstring derives both; tests/test_theory.py measures them).
    """
    logits = np.asarray(logits, dtype=np.float64)
    (p_g,) = _check_densities(p_g, names=("p_g",))
    if logits.shape != p_g.shape:
        raise ValueError(f"logits have shape {logits.shape} but p_g has shape {p_g.shape}")
    if np.any(np.isnan(logits)):
        raise ValueError("logits contain NaN")
    if kind == "non-saturating":
        per_point = np.logaddexp(0.0, -logits)
        sign = 1.0
    elif kind == "minimax":
        per_point = np.logaddexp(0.0, logits)
        sign = -1.0
    else:
        raise ValueError(f"unknown generator loss {kind!r}; valid kinds: non-saturating, minimax")
    safe = np.where(p_g > 0, per_point, 0.0)  # 0 * inf = 0 where p_g has no mass
    return sign * grid_integral(p_g * safe, dx)


# ------------------------------------------------------------------- Proposition 2


@dataclass(frozen=True)
class Proposition2Result:
    """criterion_values: (steps + 1,) C(G) before each step and after the last; final_p_g: (n_grid,)."""

    criterion_values: np.ndarray
    final_p_g: np.ndarray

    @property
    def jensen_shannon_values(self):
        """JSD(p_data || p_g) along the descent, (C(G) + log 4) / 2 by Theorem 1."""
        return (self.criterion_values + np.log(4.0)) / 2


def proposition2_descent(p_data, p_g_initial, dx, step_size=PROPOSITION2_STEP_SIZE, steps=100):
    """Move p_g towards p_data by functional-gradient steps against the optimal D.

    Each step: (1) D <- D*_G (Proposition 1); (2) the gradient of
    V(D*, G) = ... + integral p_g log(1 - D*) with respect to p_g is
    g = log(1 - D*) = log p_g - log(p_data + p_g); (3) exponentiated-gradient step
    p_g <- p_g exp(-step_size g) / Z, which keeps p_g >= 0 and normalised.

    Why C(G) decreases monotonically for 0 < step_size <= 1: this step is mirror
    descent on C with the negative entropy h(p) = integral p log p, i.e.
    p_new = argmin_p <grad C(p_g), p> + KL(p || p_g) / step_size over densities.
    The Hessians are diagonal with 0 <= d2C/dp_g2 = p_data / (p_g (p_data + p_g))
    <= 1 / p_g = d2h/dp_g2, so C is 1-smooth relative to h and
    C(p_new) <= C(p_g) + <grad C, p_new - p_g> + KL(p_new || p_g)
             <= C(p_g) + <grad C, p_new - p_g> + KL(p_new || p_g) / step_size <= C(p_g),
    the last because p_g itself is a candidate of the argmin (Bauschke, Bolte and
    Teboulle 2017; Lu, Freund and Nesterov 2018). This is npgan's argument for its grid
    step, not the paper's (module docstring).

    The rate, locally only. With p_g = p_data (1 + e), log(p_data + p_g) = log p_data +
    log 2 + e / 2 + O(e^2), so a step maps e to (1 - step_size / 2) e + O(e^2) (plus a
    constant the normaliser removes), and the JSD (integral p_data e^2 / 8 + O(e^3)) falls by
    the factor (1 - step_size / 2)^2 per step. That needs |e| << 1 at every grid point. Where
    p_g >> p_data the step leaves p_g nearly unchanged but for the normaliser, so that excess
    mass shrinks only by about 2^-step_size a step, and the JSD with it. Measured (the ratio
    JSD after a step / JSD before, tests/test_theory.py): from p_g = p_data (1 + 0.05 sin 3x)
    it is within 2e-4 of (1 - step_size / 2)^2 at step sizes 0.1, 0.5 and 1; on
    `proposition2_example()`, whose p_g starts 4e11 times p_data at x = +-6, it is 0.911-0.926
    over the first 110 steps at 0.1 (the local rate: 0.9025), 0.64-0.65 over the first 10 at
    0.5 (0.5625) and 0.36-0.42 at 1 (0.25).

    On `proposition2_example()` with step_size = PROPOSITION2_STEP_SIZE = 0.1,
    JSD < 1e-3 after PROPOSITION2_STEPS_TO_JSD_1E_3 = 64 steps (C(G) from -0.98557
    to -1.38440; -log 4 = -1.38629). The count scales like 1 / step_size: 128 steps
    at 0.05, 32 at 0.2, 13 at 0.5, 6 at 1.

    p_data, p_g_initial: normalised densities (n_grid,); p_g_initial must be > 0
    wherever p_data > 0, because a multiplicative step never creates mass.
    Returns a Proposition2Result.
    """
    p_data, p_g = _check_densities(p_data, p_g_initial, names=("p_data", "p_g_initial"))
    _check_normalised(p_data, dx, "p_data")
    _check_normalised(p_g, dx, "p_g_initial")
    if not (np.isfinite(step_size) and 0 < step_size <= 1):
        raise ValueError(f"step_size must be in (0, 1] (monotone descent is guaranteed there), got {step_size}")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps}")
    if np.any((p_data > 0) & (p_g == 0)):
        raise ValueError(
            "p_g_initial is 0 at grid points where p_data > 0; exponentiated-gradient steps "
            "cannot create mass there, so p_g could never reach p_data. Start from a p_g > 0 "
            "on the support of p_data (e.g. a broad Gaussian)."
        )
    support = p_g > 0  # invariant under the multiplicative step
    criterion_values = [virtual_training_criterion(p_data, p_g, dx)]
    for _ in range(int(steps)):
        log_p_g = np.log(p_g[support])
        gradient = log_p_g - np.log(p_data[support] + p_g[support])  # log(1 - D*_G) on the support
        new_log_p_g = log_p_g - step_size * gradient
        new_p_g = np.zeros_like(p_g)
        new_p_g[support] = np.exp(new_log_p_g - np.max(new_log_p_g))  # shift: no overflow
        p_g = new_p_g / grid_integral(new_p_g, dx)
        criterion_values.append(virtual_training_criterion(p_data, p_g, dx))
    return Proposition2Result(criterion_values=np.array(criterion_values), final_p_g=p_g)


def proposition2_example():
    """The documented Proposition 2 example -> (x, dx, p_data, p_g_initial), each normalised.

    x = np.linspace(-6, 6, 1201) (dx = 0.01); p_data = mixture of N(-2, 0.5^2) and
    N(2, 0.5^2), equal weights; p_g_initial = one broad Gaussian N(0, 2^2).
    """
    x = np.linspace(-6.0, 6.0, 1201)
    dx = grid_spacing(x)
    p_data = normalise_density(gaussian_mixture_density(x, means=[-2.0, 2.0], stds=[0.5, 0.5]), dx)
    p_g_initial = normalise_density(gaussian_mixture_density(x, means=[0.0], stds=[2.0]), dx)
    return x, dx, p_data, p_g_initial


# --------------------------------------------------------------- section 3: saturation


@dataclass(frozen=True)
class SaturationCurves:
    """Gradient magnitudes of the two G objectives with respect to D's logit a; all (n,).

    discriminator_output: D(G(z)) in (0, 1); logits: a = log D - log(1 - D);
    minimax_gradient: |d/da log(1 - sigmoid(a))| = D;
    non_saturating_gradient: |d/da -log sigmoid(a)| = 1 - D.
    """

    discriminator_output: np.ndarray
    logits: np.ndarray
    minimax_gradient: np.ndarray
    non_saturating_gradient: np.ndarray


def saturation_curves(d_values):
    """The section 3 argument: gradient magnitudes for D(G(z)) values in the open interval (0, 1).

    log(1 - sigmoid(a)) = -softplus(a),  d/da = -sigmoid(a) = -D       -> magnitude D
    -log sigmoid(a)     =  softplus(-a), d/da = sigmoid(a) - 1 = -(1 - D) -> magnitude 1 - D
    When G is poor, D(G(z)) ~ 0: the minimax gradient vanishes, the non-saturating one is ~1.
    """
    d_values = np.asarray(d_values, dtype=np.float64)
    if not np.all(np.isfinite(d_values)) or np.any((d_values <= 0) | (d_values >= 1)):
        raise ValueError("d_values must be finite and strictly inside (0, 1), where the logit is finite")
    return SaturationCurves(
        discriminator_output=d_values,
        logits=np.log(d_values) - np.log1p(-d_values),
        minimax_gradient=d_values.copy(),
        non_saturating_gradient=1.0 - d_values,
    )


# ----------------------------------------------------------------------- helpers


def _x_log_y(x, y):
    """x log y elementwise, 0 where x = 0 (any y), -inf where x > 0 and y = 0."""
    safe_y = np.where(x > 0, y, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(safe_y), 0.0)


def _x_log_ratio(x, y):
    """x log(x / y) = x (log x - log y) elementwise, 0 where x = 0, +inf where x > 0 and y = 0."""
    positive = x > 0
    safe_x = np.where(positive, x, 1.0)
    safe_y = np.where(positive, y, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(positive, x * (np.log(safe_x) - np.log(safe_y)), 0.0)


def _check_dx(dx):
    if not (np.isscalar(dx) and np.isfinite(dx) and dx > 0):
        raise ValueError(f"dx must be a positive finite grid spacing, got {dx!r}")
    return float(dx)


def _check_densities(*densities, names=("p_data", "p_g")):
    """float64 copies of the densities after checking: 1-D, non-empty, same shape, finite, >= 0."""
    checked = []
    for name, density in zip(names, densities):
        density = np.asarray(density, dtype=np.float64)
        if density.ndim != 1 or density.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array of density values, got shape {density.shape}")
        if not np.all(np.isfinite(density)):
            raise ValueError(f"{name} contains NaN or infinite values; densities must be finite")
        if np.any(density < 0):
            index = int(np.argmin(density))
            raise ValueError(
                f"{name} has negative values (min {density[index]:.3g} at index {index}); densities must be >= 0"
            )
        checked.append(density)
    if any(density.shape != checked[0].shape for density in checked):
        shapes = ", ".join(f"{name} {density.shape}" for name, density in zip(names, checked))
        raise ValueError(f"shape mismatch: {shapes}; densities must be on the same grid")
    return checked


def _check_normalised(density, dx, name):
    mass = grid_integral(density, dx)
    if abs(mass - 1.0) > NORMALISATION_TOLERANCE:
        raise ValueError(
            f"{name} integrates to {mass:.6g} on the grid (dx * sum), not 1; "
            "pass it through normalise_density(density, dx) first"
        )
