"""The f-divergence view of the GAN objective (Nowozin, Cseke and Tomioka, "f-GAN", 2016).

For a convex f, D_f(P || Q) = integral q(x) f(p(x) / q(x)) dx. Its
Fenchel conjugate f*(t) = sup_u (t u - f(u)) gives the variational bound. For every T,

    D_f(P || Q) >= E_P[T(x)] - E_Q[f*(T(x))]

(Fenchel-Young, f(u) >= t u - f*(t), at u = p(x) / q(x), t = T(x), integrated against q).
The supremum over all functions T equals D_f, and is attained at T*(x) = f'(p(x) / q(x)),
where Fenchel-Young holds with equality. A critic network realises only some functions T:
the supremum over a network class is a lower bound on D_f, equal to it only when the class
holds T* (tests/test_divergences.py: an affine T stays below KL, a quadratic one reaches it).
A critic outputs an unconstrained V(x); T = g_f(V) maps it into the domain of f*. The
objective of a minibatch of critic outputs on real data (from P) and on generated data
(from Q), a Monte Carlo estimate of the bound at T = g_f(V):

    F(V) = mean g_f(V_real) - mean f*(g_f(V_fake))

The critic ascends F. G has two losses (`generator_objective`):

    minimax         L = -mean f*(g_f(V_fake)), the Q part of F: G descends F itself;
    non-saturating  L = -mean g_f(V_fake) = -mean T(G(z)), the f-GAN paper's alternative.

At the optimal critic T* the minimax loss has the gradient of D_f(P || Q) itself (the
envelope theorem: dF/dT = 0 at T*). The non-saturating one descends something else: with
q = q_theta and T* held fixed, d_theta (-E_Q[T*]) = -integral d_theta q f'(p / q) dx, the
gradient of integral q psi(p / q) dx with psi(r) = r * integral^r f'(s) / s^2 ds (check:
psi(r) - r psi'(r) = -f'(r)). Row by row (P = the data, Q = G; measured in tests/test_divergences.py):

    KL                 KL(Q || P)                        (the reverse of its D_f)
    reverse KL         chi^2(Q || P) / 2 = integral (q - p)^2 / p dx / 2   (infinite when Q has the
                                                         heavier tails: each sample weighs q/p)
    Pearson chi^2      2 KL(P || Q)
    squared Hellinger  (2/3) integral q^(3/2) p^(-1/2) dx
    Jensen-Shannon     KL(Q || P) - 2 JSD(P || Q)        (as the GAN row: Arjovsky and Bottou 2017)
    GAN                KL(Q || P) - 2 JSD(P || Q)

each up to an additive constant. All of them are stationary at Q = P, as D_f is: the two
losses share that point, not the path to it. npgan's f-divergence runs train G with the
non-saturating loss and Adam (the toy presets' defaults), except where
npgan.models.DIVERGENCE_SETTINGS sets the minimax one (reverse KL on gauss1d and bimodal1d);
`npgan train --generator-loss minimax` (or non-saturating) chooses for any row.

With the GAN row, T = log D and -f*(T) = log(1 - D) for D = sigmoid(V): F is the paper's
V(D, G), and D_f = C(G) = 2 JSD - log 4. The Jensen-Shannon row's D_f is 2 JSD(P || Q)
(at most 2 log 2).

Generators that differ by c (u - 1) give the same divergence: with g(u) = f(u) + c (u - 1),
D_g = D_f + c (integral p - integral q) = D_f, and

    g*(t) = sup_u ((t - c) u - f(u)) + c = f*(t - c) + c,    g'(u) = f'(u) + c,

so the bound with T + c under g equals the bound with T under f: the same optimum, T* moved by
c. An added constant k, g = f + k, gives D_g = D_f + k and g* = f* - k. The GAN and JS rows
are one of each: f_JS(u) = f_GAN(u) + log 2 (u - 1) + log 4, so f_JS*(t) = f_GAN*(t - log 2) - log 2
(-log(2 - e^t) = -log(1 - e^(t - log 2)) - log 2), g_JS = g_GAN + log 2, D_JS = D_GAN + log 4 =
2 JSD, and on every minibatch F_JS = F_GAN + log 4 with the same gradients.

Pearson chi^2, f(u) = (u - 1)^2. Over the domain of likelihood ratios, u > 0,
sup_{u > 0} (t u - (u - 1)^2) is t^2 / 4 + t for t >= -2 (attained at u = 1 + t / 2) and -1
below (the supremum approached as u -> 0). npgan, as the f-GAN paper, uses the conjugate over
the whole real line, t^2 / 4 + t for every t: smooth, with g_f(v) = v. It is never smaller,
t^2 / 4 + t + 1 = (t / 2 + 1)^2 >= 0, so F with it is at most F with the piecewise conjugate,
itself at most D_f: still a lower bound. The two agree where T* lives, T* = 2 (p / q - 1) >= -2,
so the supremum is still D_f.

Every row is written in V directly, h(V) = f*(g_f(V)), in a stable form (softplus as
np.logaddexp, no clipping epsilons), with its derivative (s(x) = softplus(x), sigma = sigmoid):

    row                g_f(v)                      h(v) = f*(g_f(v))          g_f'(v)            h'(v)
    KL                 log s(v)                    s(v) / e                   sigma(v) / s(v)    sigma(v) / e
    reverse KL         -s(-v)                      -1 - log s(-v)             sigma(-v)          sigma(-v) / s(-v)
    Pearson chi^2      v                           v^2 / 4 + v                1                  v / 2 + 1
    squared Hellinger  1 - s(-v)                   1 / s(-v) - 1              sigma(-v)          sigma(-v) / s(-v)^2
    Jensen-Shannon     log 2 - s(-v)               s(v) - log 2               sigma(-v)          sigma(v)
    GAN                -s(-v)                      s(v)                       sigma(-v)          sigma(v)

Any increasing g_f onto the domain of f* gives the same supremum over all functions V and the
same optimum T; it decides how V is scaled, and so how the critic and G train (and, for a
network critic, which functions T it can reach). The f-GAN paper's table
uses g_f(v) = v for KL, -exp(-v) for reverse KL and 1 - exp(-v) for squared Hellinger.
Those put an exponential of V into the losses: h = exp(v - 1) into KL's critic loss, and
exp(-v) into the non-saturating G loss -g_f of reverse KL and Hellinger. Once the critic
separates G's samples from the data they overflow float32 at |V| = 88: reverse KL on
gauss1d, G loss inf at iteration 16-30 on every seed; KL on bimodal1d, even from a wide
G, D loss inf on 2 of 6 seeds. Here those three rows use softplus where the paper has exp,
so that g_f and h grow at most linearly in |v| either way, except where f* itself is
unbounded on its domain (Hellinger's h -> inf as T -> 1, at v -> +inf). At P = Q the
optimal V is log(e^e - 1) = 2.65 (KL), -log(e - 1) = -0.54 (reverse KL, Hellinger) and 0
(Pearson, JS, GAN). float32 outputs are computed in float64; the gradients are handed back
in float32.

f(u) is the definition (docs/paper.md; some printed tables swap Pearson and Neyman).
f(1) = 0, so D_f(P || P) = 0, for every row but GAN: its f(1) = -log 4, and its D_f is
C(G) = -log 4 + 2 JSD, at least -log 4 (Theorem 1).
"""

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from npgan.layers import sigmoid
from npgan.losses import softplus

LOG2 = math.log(2.0)


def log_softplus(x):
    """log(softplus(x)) = log(log(1 + e^x)), finite for every finite x: below x = -30,
    log(1 + e^x) = e^x (1 - e^x / 2 + ...), so the log is x - e^x / 2 (error e^(2x) < 1e-26)."""
    x = np.asarray(x)
    far_left = x < -30.0
    return np.where(far_left, x - np.exp(np.minimum(x, 0.0)) / 2.0, np.log(softplus(np.where(far_left, 0.0, x))))


def _sigmoid_over_softplus(x):
    """sigma(x) / softplus(x) = exp(log sigma(x) - log softplus(x)), in (0, 1] (1 as x -> -inf)."""
    return np.exp(-softplus(-x) - log_softplus(x))


def _xlogx(u):
    u = np.asarray(u, dtype=np.float64)
    return np.where(u > 0, u * np.log(np.where(u > 0, u, 1.0)), 0.0)


@dataclass(frozen=True)
class FDivergence:
    """One row of the f-GAN table.

    f(u), u > 0: the generator function (convex; f(1) = 0 except GAN's -log 4).
    f_prime(u): f'(u); the optimal critic is T = f'(p / q).
    conjugate(t): f*(t), t inside the domain (t < domain_bound, or all of R when the
        bound is inf); +inf outside it.
    activation(v), activation_grad(v): T = g_f(v) and its derivative.
    conjugate_of_activation(v), conjugate_of_activation_grad(v): h(v) = f*(g_f(v)) and h'(v),
        written in v for stability.
    f_prime_at_1: f'(1), the value of T where P = Q.
    """

    name: str
    f: Callable
    f_prime: Callable
    conjugate_finite: Callable
    domain_bound: float
    activation: Callable
    activation_grad: Callable
    conjugate_of_activation: Callable
    conjugate_of_activation_grad: Callable
    f_prime_at_1: float

    def conjugate(self, t):
        """f*(t); +inf outside the domain of f*."""
        t = np.asarray(t, dtype=np.float64)
        inside = t < self.domain_bound
        safe = np.where(inside, t, self.domain_bound - 1.0)
        return np.where(inside, self.conjugate_finite(safe), np.inf)


DIVERGENCES = {
    "kl": FDivergence(
        "kl", f=_xlogx, f_prime=lambda u: np.log(u) + 1.0,
        conjugate_finite=lambda t: np.exp(t - 1.0), domain_bound=np.inf,
        activation=log_softplus, activation_grad=_sigmoid_over_softplus,
        conjugate_of_activation=lambda v: softplus(v) / math.e,
        conjugate_of_activation_grad=lambda v: sigmoid(v) / math.e, f_prime_at_1=1.0),
    "reverse-kl": FDivergence(
        "reverse-kl", f=lambda u: -np.log(u), f_prime=lambda u: -1.0 / u,
        conjugate_finite=lambda t: -1.0 - np.log(-t), domain_bound=0.0,
        activation=lambda v: -softplus(-v), activation_grad=lambda v: sigmoid(-v),
        conjugate_of_activation=lambda v: -1.0 - log_softplus(-v),
        conjugate_of_activation_grad=lambda v: _sigmoid_over_softplus(-v), f_prime_at_1=-1.0),
    "pearson": FDivergence(
        "pearson", f=lambda u: (u - 1.0) ** 2, f_prime=lambda u: 2.0 * (u - 1.0),
        conjugate_finite=lambda t: t * t / 4.0 + t, domain_bound=np.inf,
        activation=lambda v: v, activation_grad=lambda v: np.ones_like(v),
        conjugate_of_activation=lambda v: v * v / 4.0 + v,
        conjugate_of_activation_grad=lambda v: v / 2.0 + 1.0, f_prime_at_1=0.0),
    "hellinger": FDivergence(
        "hellinger", f=lambda u: (np.sqrt(u) - 1.0) ** 2, f_prime=lambda u: 1.0 - 1.0 / np.sqrt(u),
        conjugate_finite=lambda t: t / (1.0 - t), domain_bound=1.0,
        activation=lambda v: 1.0 - softplus(-v), activation_grad=lambda v: sigmoid(-v),
        conjugate_of_activation=lambda v: np.expm1(-log_softplus(-v)),
        conjugate_of_activation_grad=lambda v: np.exp(-softplus(v) - 2.0 * log_softplus(-v)), f_prime_at_1=0.0),
    "js": FDivergence(
        "js", f=lambda u: -(u + 1.0) * np.log((1.0 + u) / 2.0) + _xlogx(u),
        f_prime=lambda u: np.log(2.0 * u / (1.0 + u)),
        conjugate_finite=lambda t: -np.log(2.0 - np.exp(t)), domain_bound=LOG2,
        activation=lambda v: LOG2 - softplus(-v), activation_grad=lambda v: sigmoid(-v),
        conjugate_of_activation=lambda v: softplus(v) - LOG2,
        conjugate_of_activation_grad=lambda v: sigmoid(v), f_prime_at_1=0.0),
    "gan": FDivergence(
        "gan", f=lambda u: _xlogx(u) - (u + 1.0) * np.log(u + 1.0),
        f_prime=lambda u: np.log(u / (u + 1.0)),
        conjugate_finite=lambda t: -np.log(-np.expm1(t)), domain_bound=0.0,
        activation=lambda v: -softplus(-v), activation_grad=lambda v: sigmoid(-v),
        conjugate_of_activation=lambda v: softplus(v),
        conjugate_of_activation_grad=lambda v: sigmoid(v), f_prime_at_1=-LOG2),
}
DIVERGENCE_NAMES = tuple(DIVERGENCES)


def get_divergence(name):
    if name not in DIVERGENCES:
        raise ValueError(f"unknown divergence {name!r}; valid: {', '.join(DIVERGENCES)}")
    return DIVERGENCES[name]


def variational_objective(name, real_outputs, fake_outputs):
    """F = mean g_f(V_real) - mean f*(g_f(V_fake)) -> (value, dF/dV_real, dF/dV_fake).

    The critic ascends F (its loss is -F). In expectation F is a lower bound on D_f(P || Q) for
    every critic; it equals D_f only at T = g_f(V) = f'(p / q), which a network class may not hold.
    The outputs may have shape (m,) or (m, 1); gradients have their shapes.
    """
    divergence = get_divergence(name)
    real = _check_outputs(real_outputs, "real_outputs")
    fake = _check_outputs(fake_outputs, "fake_outputs")
    real_wide, fake_wide = _at_least_float64(real), _at_least_float64(fake)
    value = np.mean(divergence.activation(real_wide)) - np.mean(divergence.conjugate_of_activation(fake_wide))
    grad_real = divergence.activation_grad(real_wide) / real.size
    grad_fake = -divergence.conjugate_of_activation_grad(fake_wide) / fake.size
    return value, grad_real.astype(real.dtype), grad_fake.astype(fake.dtype)


def generator_objective(name, fake_outputs, kind="minimax"):
    """The generator's loss from the critic's outputs on G(z) -> (value, dL/dV_fake).

    "minimax": L = -mean f*(g_f(V_fake)), the G-dependent part of F (G descends F; at the
    optimal critic it has the gradient of D_f(P || Q));
    "non-saturating": L = -mean g_f(V_fake) (the f-GAN paper's alternative; for the GAN row
    it is the paper's -mean log D(G(z)); at the optimal critic it has the gradient of another
    divergence, listed in the module docstring). The default is "minimax" here; a run's
    `generator_loss` (the toy presets: "non-saturating") decides what training uses.
    """
    divergence = get_divergence(name)
    fake = _check_outputs(fake_outputs, "fake_outputs")
    wide = _at_least_float64(fake)
    if kind == "minimax":
        value, grad = -np.mean(divergence.conjugate_of_activation(wide)), -divergence.conjugate_of_activation_grad(wide)
    elif kind == "non-saturating":
        value, grad = -np.mean(divergence.activation(wide)), -divergence.activation_grad(wide)
    else:
        raise ValueError(f"unknown generator objective {kind!r}; valid: minimax, non-saturating")
    return value, (grad / fake.size).astype(fake.dtype)


def divergence_on_grid(name, p, q, dx):
    """D_f(P || Q) = sum q f(p / q) dx for densities on a grid (q > 0 where p > 0)."""
    divergence = get_divergence(name)
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or np.any(p < 0) or np.any(q <= 0):
        raise ValueError("divergence_on_grid needs densities of one shape with q > 0 everywhere")
    return float(np.sum(q * divergence.f(p / q)) * dx)


def _at_least_float64(array):
    """float32 outputs in float64 (float64 and extended precision as they are): the losses
    are computed there, and their gradients handed back in the outputs' dtype."""
    return array.astype(np.result_type(array.dtype, np.float64), copy=False)


def _check_outputs(outputs, what):
    array = np.asarray(outputs)
    if array.size == 0 or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{what} must be a non-empty float array, got {array.dtype} of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or infinite values")
    return array
