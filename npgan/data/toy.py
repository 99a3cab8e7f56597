"""Toy target distributions: 1-D Gaussians and the two VEEGAN mode-coverage mixtures.

Each distribution is an equally weighted mixture of K isotropic Gaussians in d
dimensions, all with the same per-dimension standard deviation s:

    p(x) = (1/K) sum_k N(x; c_k, s^2 I_d)

    log p(x) = logsumexp_k( -||x - c_k||^2 / (2 s^2) ) - log K - (d/2) log(2 pi s^2)

The values are fixed, because results are compared with the VEEGAN table
(Srivastava et al. 2017, see docs/paper.md):

- ``gauss1d``: one Gaussian, mean 4.0, std 0.5 (the 1-D example of the paper's
  Figure 1 has no published numbers; mean 4 and std 0.5 are the values of the
  widely used 1-D GAN tutorial setting). Samples (n, 1).
- ``ring8``: 8 Gaussians on a circle of radius 2, centres
  (2 cos(2 pi k / 8), 2 sin(2 pi k / 8)) for k = 0..7 (endpoint excluded), std
  0.02. VEEGAN does not confirm its radius and std; these are the values used
  here. Samples (n, 2).
- ``grid25``: 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05 per dimension.
  Samples (n, 2).
- ``bimodal1d``: two Gaussians at -2 and 2, std 0.5, equal weights: the 1-D target
  on which f-divergences differ (mode-covering KL against mode-seeking reverse KL,
  as in the f-GAN paper). Samples (n, 1).

Sampling draws from an explicit ``numpy.random.Generator``, never the global
NumPy state: first the n mode indices (uniform over the K modes), then the n x d
standard normal noise, so that the same seed always gives the same samples.
"""

import math
from dataclasses import dataclass

import numpy as np

from npgan.validate import require_generator, require_integer, require_real

GAUSS1D_MEAN = 4.0
GAUSS1D_STD = 0.5

RING8_NUM_MODES = 8
RING8_RADIUS = 2.0
RING8_STD = 0.02

GRID25_COORDINATES = (-4.0, -2.0, 0.0, 2.0, 4.0)
GRID25_STD = 0.05

BIMODAL1D_CENTRES = (-2.0, 2.0)
BIMODAL1D_STD = 0.5


def _require_float_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype!r}") from error
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(
            f"dtype must be a floating-point dtype such as np.float32, got {dtype}"
        )
    return dtype


@dataclass(frozen=True, eq=False, repr=False)
class ToyDistribution:
    """An equally weighted mixture of K isotropic Gaussians in d dimensions.

    name:    a short identifier ("ring8").
    centres: (K, d) mode centres c_k; stored as a read-only float64 copy.
    std:     the per-dimension standard deviation s of every mode (> 0).
    """

    name: str
    centres: np.ndarray
    std: float

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        centres = np.array(self.centres, dtype=np.float64)
        if centres.ndim != 2 or centres.shape[0] < 1 or centres.shape[1] < 1:
            raise ValueError(
                f"centres must be a (K, d) array with K >= 1 and d >= 1, got shape {centres.shape}"
            )
        if not np.all(np.isfinite(centres)):
            raise ValueError("centres must be finite (found NaN or inf)")
        centres.setflags(write=False)
        std = require_real(self.std, "std", positive=True)
        object.__setattr__(self, "centres", centres)
        object.__setattr__(self, "std", std)

    def __repr__(self):
        return (
            f"ToyDistribution(name={self.name!r}, num_modes={self.num_modes}, "
            f"dim={self.dim}, std={self.std})"
        )

    @property
    def num_modes(self):
        """K, the number of mixture components."""
        return self.centres.shape[0]

    @property
    def dim(self):
        """d, the dimension of a sample."""
        return self.centres.shape[1]

    def sample(self, n, rng, dtype=np.float32):
        """Draw n samples x = c_k + s * eps, k ~ Uniform{0..K-1}, eps ~ N(0, I_d).

        n:     a positive int.
        rng:   a numpy.random.Generator (np.random.default_rng(seed)).
        dtype: the floating dtype of the result (computed in float64, then cast).
        Returns an (n, d) array.
        """
        n = require_integer(n, "the number of samples n", minimum=1)
        require_generator(rng, f"{self.name}.sample")
        dtype = _require_float_dtype(dtype)
        mode_index = rng.integers(self.num_modes, size=n)
        noise = rng.standard_normal((n, self.dim))
        samples = self.centres[mode_index] + self.std * noise
        return samples.astype(dtype, copy=False)

    def log_density(self, x):
        """log p(x) for each row of x: (n, d) -> (n,) float64.

        log p(x) = m(x) + log sum_k exp(a_k(x) - m(x)) - log K - (d/2) log(2 pi s^2),
        a_k(x) = -||x - c_k||^2 / (2 s^2),  m(x) = max_k a_k(x).

        Subtracting the maximum keeps the largest term at exp(0) = 1, so points far
        from every mode get a large negative log density rather than log(0) = -inf.
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.dim:
            hint = "; reshape a 1-D array with x.reshape(-1, 1)" if self.dim == 1 else ""
            raise ValueError(
                f"{self.name}.log_density expects an (n, {self.dim}) array, "
                f"got shape {x.shape}{hint}"
            )
        if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
            raise ValueError(f"{self.name}.log_density: x must be finite numbers")
        x = x.astype(np.float64, copy=False)
        # One centre at a time: memory stays at (n, d) + (n, K), whatever K is.
        log_kernels = np.empty((x.shape[0], self.num_modes))
        for k, centre in enumerate(self.centres):
            difference = x - centre
            log_kernels[:, k] = -np.sum(difference * difference, axis=1) / (2.0 * self.std**2)
        largest = np.max(log_kernels, axis=1)
        log_sum = largest + np.log(np.sum(np.exp(log_kernels - largest[:, None]), axis=1))
        log_normaliser = (
            math.log(self.num_modes) + 0.5 * self.dim * math.log(2.0 * math.pi * self.std**2)
        )
        return log_sum - log_normaliser


def ring_centres(num_modes, radius):
    """(num_modes, 2) centres (r cos(2 pi k / K), r sin(2 pi k / K)), k = 0..K-1."""
    angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_centres(coordinates):
    """(len(coordinates)^2, 2) centres: every (a, b) with a, b in coordinates, row-major."""
    first, second = np.meshgrid(coordinates, coordinates, indexing="ij")
    return np.stack([first.ravel(), second.ravel()], axis=1)


GAUSS1D = ToyDistribution("gauss1d", np.array([[GAUSS1D_MEAN]]), GAUSS1D_STD)
RING8 = ToyDistribution("ring8", ring_centres(RING8_NUM_MODES, RING8_RADIUS), RING8_STD)
GRID25 = ToyDistribution("grid25", grid_centres(GRID25_COORDINATES), GRID25_STD)
BIMODAL1D = ToyDistribution("bimodal1d", np.array(BIMODAL1D_CENTRES).reshape(-1, 1), BIMODAL1D_STD)

TOY_DISTRIBUTIONS = {toy.name: toy for toy in (GAUSS1D, RING8, GRID25, BIMODAL1D)}


def get_toy(name):
    """The registered ToyDistribution called ``name`` (one of TOY_DISTRIBUTIONS)."""
    if not isinstance(name, str) or name not in TOY_DISTRIBUTIONS:
        valid = ", ".join(sorted(TOY_DISTRIBUTIONS))
        raise ValueError(f"unknown toy distribution {name!r}; valid names: {valid}")
    return TOY_DISTRIBUTIONS[name]
