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

Packing (PacGAN, the configuration key pack; npgan/gan.py): D judges packs of `pack` samples
and gives one logit per pack, so the m above is the number of D's judgments, not of samples:
with m samples of each kind a step, n = m / pack packs, and

    L_D = -(1/n) sum_packs log D(x_1, ..., x_pack) - (1/n) sum_packs log(1 - D(G(z_1), ..., G(z_pack)))
    dL_D/da_real = (sigmoid(a_real) - 1) / n,   dL_D/da_fake = sigmoid(a_fake) / n

(the G losses likewise). These functions need no change for it: they average over the logits
they are given, one per pack. A sample's gradient is then that of its pack, taken back through
the Pack layer (npgan/layers.py).
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


# -- the classifier's loss (npgan.evaluate.classifier): softmax cross-entropy -----------------------
#
# For logits a (m, K) and labels y (m,), with p = softmax(a), p_k = exp(a_k) / sum_j exp(a_j):
#
#     L = -(1/m) sum_n log p_{n, y_n} = (1/m) sum_n [ logsumexp_k a_nk - a_{n, y_n} ]
#     logsumexp_k a_k = max_k a_k + log sum_k exp(a_k - max_k a_k)   (no exp overflows; the sum is >= 1)
#     dL/da_nk = (p_nk - [k = y_n]) / m


def log_softmax(logits):
    """log p = a - logsumexp(a) along the last axis, from logits a (..., K), without overflow:
    exp is only taken of a - max(a) <= 0, and the sum it feeds is at least 1."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax_cross_entropy(logits, labels):
    """L = -(1/m) sum_n log softmax(a_n)[y_n] -> (value, grad_logits).

    logits: (m, K) floats; labels: (m,) integers in 0..K-1. dL/da = (softmax(a) - onehot(y)) / m,
    of the logits' shape and dtype."""
    if not isinstance(logits, np.ndarray) or not np.issubdtype(logits.dtype, np.floating) or logits.ndim != 2:
        raise ValueError("logits must be a 2-D (m, K) floating-point numpy array")
    if logits.size == 0:
        raise ValueError("logits is empty")
    labels = np.asarray(labels)
    if labels.shape != (len(logits),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be ({len(logits)},) integers, one per row of logits; got "
                         f"{labels.dtype}{labels.shape}")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must be in 0..{logits.shape[1] - 1} (one per class of the logits)")
    rows = np.arange(len(logits))
    log_probabilities = log_softmax(logits)
    value = -np.mean(log_probabilities[rows, labels])
    grad = np.exp(log_probabilities)
    grad[rows, labels] -= 1
    return value, grad / logits.dtype.type(len(logits))
