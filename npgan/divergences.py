"""The f-divergence view of the GAN objective (Nowozin, Cseke and Tomioka, "f-GAN", 2016).

For a convex f, D_f(P || Q) = integral q(x) f(p(x) / q(x)) dx. Its
Fenchel conjugate f*(t) = sup_u (t u - f(u)) gives the variational lower bound

    D_f(P || Q) >= sup_T  E_P[T(x)] - E_Q[f*(T(x))],

with equality at T(x) = f'(p(x) / q(x)). A critic network outputs an unconstrained V(x);
T = g_f(V) maps it into the domain of f*. The objective of a minibatch of critic outputs
on real data (from P) and on generated data (from Q):

    F(V) = mean g_f(V_real) - mean f*(g_f(V_fake))

The critic ascends F; the generator descends it (or, "non-saturating", ascends
mean g_f(V_fake), the f-GAN paper's heuristic). With the GAN row, T = log D and
-f*(T) = log(1 - D) for D = sigmoid(V): F is the paper's V(D, G), and D_f = 2 JSD - log 4.

Every row is written in V directly, h(V) = f*(g_f(V)), in a stable form (softplus as
np.logaddexp, no clipping epsilons), with its derivative:

    row                g_f(v)                      h(v) = f*(g_f(v))          g_f'(v)      h'(v)
    KL                 v                           exp(v - 1)                 1            exp(v - 1)
    reverse KL         -exp(-v)                    v - 1                      exp(-v)      1
    Pearson chi^2      v                           v^2 / 4 + v                1            v / 2 + 1
    squared Hellinger  1 - exp(-v)                 exp(v) - 1                 exp(-v)      exp(v)
    Jensen-Shannon     log 2 - softplus(-v)        softplus(v) - log 2        sigmoid(-v)  sigmoid(v)
    GAN                -softplus(-v)               softplus(v)                sigmoid(-v)  sigmoid(v)

f(u) is the definition (paper.md section 6; some printed tables swap Pearson and Neyman).
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
        activation=lambda v: v, activation_grad=lambda v: np.ones_like(v),
        conjugate_of_activation=lambda v: np.exp(v - 1.0),
        conjugate_of_activation_grad=lambda v: np.exp(v - 1.0), f_prime_at_1=1.0),
    "reverse-kl": FDivergence(
        "reverse-kl", f=lambda u: -np.log(u), f_prime=lambda u: -1.0 / u,
        conjugate_finite=lambda t: -1.0 - np.log(-t), domain_bound=0.0,
        activation=lambda v: -np.exp(-v), activation_grad=lambda v: np.exp(-v),
        conjugate_of_activation=lambda v: v - 1.0,
        conjugate_of_activation_grad=lambda v: np.ones_like(v), f_prime_at_1=-1.0),
    "pearson": FDivergence(
        "pearson", f=lambda u: (u - 1.0) ** 2, f_prime=lambda u: 2.0 * (u - 1.0),
        conjugate_finite=lambda t: t * t / 4.0 + t, domain_bound=np.inf,
        activation=lambda v: v, activation_grad=lambda v: np.ones_like(v),
        conjugate_of_activation=lambda v: v * v / 4.0 + v,
        conjugate_of_activation_grad=lambda v: v / 2.0 + 1.0, f_prime_at_1=0.0),
    "hellinger": FDivergence(
        "hellinger", f=lambda u: (np.sqrt(u) - 1.0) ** 2, f_prime=lambda u: 1.0 - 1.0 / np.sqrt(u),
        conjugate_finite=lambda t: t / (1.0 - t), domain_bound=1.0,
        activation=lambda v: -np.expm1(-v), activation_grad=lambda v: np.exp(-v),
        conjugate_of_activation=lambda v: np.expm1(v),
        conjugate_of_activation_grad=lambda v: np.exp(v), f_prime_at_1=0.0),
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

    The critic ascends F (its loss is -F); at the optimal critic F equals D_f(P || Q).
    The outputs may have shape (m,) or (m, 1); gradients have their shapes.
    """
    divergence = get_divergence(name)
    real = _check_outputs(real_outputs, "real_outputs")
    fake = _check_outputs(fake_outputs, "fake_outputs")
    value = np.mean(divergence.activation(real)) - np.mean(divergence.conjugate_of_activation(fake))
    grad_real = divergence.activation_grad(real) / real.size
    grad_fake = -divergence.conjugate_of_activation_grad(fake) / fake.size
    return value, grad_real, grad_fake


def generator_objective(name, fake_outputs, kind="minimax"):
    """The generator's loss from the critic's outputs on G(z) -> (value, dL/dV_fake).

    "minimax": L = -mean f*(g_f(V_fake)), the G-dependent part of F (G descends F);
    "non-saturating": L = -mean g_f(V_fake) (the f-GAN paper's alternative; for the GAN row
    it is the paper's -mean log D(G(z))).
    """
    divergence = get_divergence(name)
    fake = _check_outputs(fake_outputs, "fake_outputs")
    if kind == "minimax":
        return (-np.mean(divergence.conjugate_of_activation(fake)),
                -divergence.conjugate_of_activation_grad(fake) / fake.size)
    if kind == "non-saturating":
        return -np.mean(divergence.activation(fake)), -divergence.activation_grad(fake) / fake.size
    raise ValueError(f"unknown generator objective {kind!r}; valid: minimax, non-saturating")


def divergence_on_grid(name, p, q, dx):
    """D_f(P || Q) = sum q f(p / q) dx for densities on a grid (q > 0 where p > 0)."""
    divergence = get_divergence(name)
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or np.any(p < 0) or np.any(q <= 0):
        raise ValueError("divergence_on_grid needs densities of one shape with q > 0 everywhere")
    return float(np.sum(q * divergence.f(p / q)) * dx)


def _check_outputs(outputs, what):
    array = np.asarray(outputs)
    if array.size == 0 or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{what} must be a non-empty float array, got {array.dtype} of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or infinite values")
    return array
