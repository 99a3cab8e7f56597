"""Initialisers used by the paper's models.

- uniform(-s, s) weights: the authors' G uses s = 0.05, D uses s = 0.005;
- zero biases;
- the generator's output bias from the data marginals: b = logit(clip(mean pixel)),
  so that sigmoid(b) reproduces the mean image before any training.
"""

import numpy as np


def uniform(shape, scale, *, rng, dtype=np.float32):
    """An array of the given shape drawn uniform(-scale, scale) from ``rng``."""
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"init scale must be a finite number >= 0, got {scale!r}")
    return rng.uniform(-scale, scale, size=shape).astype(dtype)


def zeros(shape, *, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def output_bias_from_data(data, *, clip=1e-7, dtype=np.float32):
    """b = log(m / (1 - m)) with m = the per-feature mean of ``data``, clipped to [clip, 1 - clip].

    data: (N, D) values in [0, 1] -> b: (D,). The clip keeps always-black pixels
    (mean 0) at a finite bias, logit(1e-7) = -16.1, as in the authors' code.
    """
    data = np.asarray(data)
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"output_bias_from_data expects a non-empty (N, D) array, got shape {data.shape}")
    return output_bias_from_mean(data.mean(axis=0, dtype=np.float64), clip=clip, dtype=dtype)


def output_bias_from_mean(mean, *, clip=1e-7, dtype=np.float32):
    """b = log(m / (1 - m)), m = ``mean`` (D,) clipped to [clip, 1 - clip]: output_bias_from_data
    for a mean computed elsewhere (npgan.data.mnist.Pixels.column_mean: from uint8 pixels in
    chunks, without the float32 training set)."""
    if not 0 < clip < 0.5:
        raise ValueError(f"clip must be in (0, 0.5), got {clip!r}")
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 1:
        raise ValueError(f"output_bias_from_mean expects a (D,) mean, got shape {mean.shape}")
    if not np.all(np.isfinite(mean)):
        raise ValueError("the data mean contains NaN or infinite values")
    mean = np.clip(mean, clip, 1 - clip)
    return np.log(mean / (1 - mean)).astype(dtype)
