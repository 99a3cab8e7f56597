"""The noise prior p_z of Algorithm 1 ("sample minibatch of m noise samples from p_g(z)").

    uniform      U(-sqrt(3), sqrt(3)) per dimension: zero mean, unit variance (the authors')
    normal       N(0, 1) per dimension
    uniform-pm1  U(-1, 1) per dimension
"""

import numpy as np

NOISE_PRIORS = ("uniform", "normal", "uniform-pm1")


def sample_noise(prior, m, noise_dim, rng, dtype=np.float32):
    """m noise vectors of noise_dim dimensions: an (m, noise_dim) array."""
    if prior == "uniform":
        z = rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), size=(m, noise_dim))
    elif prior == "normal":
        z = rng.standard_normal((m, noise_dim))
    elif prior == "uniform-pm1":
        z = rng.uniform(-1.0, 1.0, size=(m, noise_dim))
    else:
        raise ValueError(f"unknown noise prior {prior!r}; valid: {', '.join(NOISE_PRIORS)}")
    return z.astype(dtype)
