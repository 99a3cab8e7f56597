"""The GAN losses, computed from D's logits a (D = sigmoid(a)), with no clipping epsilons.

    log D(x)      = -softplus(-a)          softplus(t) = log(1 + e^t) = logaddexp(0, t)
    log(1 - D(x)) = -softplus(a)

Both are finite for any finite a (at a = +-1000 too), where log(sigmoid(a))
would give log(0) = -inf. Their derivatives:

    d/da softplus(a)  = sigmoid(a)
    d/da softplus(-a) = -sigmoid(-a) = sigmoid(a) - 1

Discriminator (Algorithm 1 ascends V; we descend its negation), m real and m fake:
    L_D = -(1/m) sum log D(x) - (1/m) sum log(1 - D(G(z)))
        =  mean softplus(-a_real) + mean softplus(a_fake)
    dL_D/da_real = (sigmoid(a_real) - 1) / m,   dL_D/da_fake = sigmoid(a_fake) / m

Generator:
    "minimax"         L_G = (1/m) sum log(1 - D(G(z))) = -mean softplus(a_fake)
                      dL_G/da_fake = -sigmoid(a_fake) / m
    "non-saturating"  L_G = -(1/m) sum log D(G(z)) = mean softplus(-a_fake)
                      dL_G/da_fake = (sigmoid(a_fake) - 1) / m

At D = 1/2 (a = 0) L_D = 2 log 2 = log 4, the value of -V at the optimum.
The logits may have shape (m,) or (m, 1); gradients have the shape of the logits.
"""

import numpy as np

from npgan.layers import sigmoid

GENERATOR_LOSSES = ("non-saturating", "minimax")


def softplus(t):
    """log(1 + exp(t)), stable for any float (np.logaddexp)."""
    return np.logaddexp(0, t)


def discriminator_loss(real_logits, fake_logits):
    """L_D = mean softplus(-a_real) + mean softplus(a_fake) -> (value, grad_real, grad_fake)."""
    _check_logits(real_logits, "real_logits")
    _check_logits(fake_logits, "fake_logits")
    value = np.mean(softplus(-real_logits)) + np.mean(softplus(fake_logits))
    grad_real = (sigmoid(real_logits) - 1) / real_logits.size
    grad_fake = sigmoid(fake_logits) / fake_logits.size
    return value, grad_real, grad_fake


def generator_loss(fake_logits, kind="non-saturating"):
    """L_G for kind "non-saturating" (-mean log D(G(z))) or "minimax" (mean log(1 - D(G(z))))
    -> (value, grad_fake)."""
    _check_logits(fake_logits, "fake_logits")
    if kind == "non-saturating":
        value = np.mean(softplus(-fake_logits))
        grad_fake = (sigmoid(fake_logits) - 1) / fake_logits.size
    elif kind == "minimax":
        value = -np.mean(softplus(fake_logits))
        grad_fake = -sigmoid(fake_logits) / fake_logits.size
    else:
        raise ValueError(f"unknown generator loss {kind!r}; valid kinds: {', '.join(GENERATOR_LOSSES)}")
    return value, grad_fake


def _check_logits(logits, name):
    if not isinstance(logits, np.ndarray) or not np.issubdtype(logits.dtype, np.floating):
        raise ValueError(f"{name} must be a floating-point numpy array of logits")
    if logits.size == 0:
        raise ValueError(f"{name} is empty")
    if not (logits.ndim == 1 or (logits.ndim == 2 and logits.shape[1] == 1)):
        raise ValueError(f"{name} must have shape (m,) or (m, 1), got {logits.shape}")
