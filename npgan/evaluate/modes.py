"""Mode coverage of samples from a mixture: the VEEGAN toy metric.

Srivastava et al. (2017), see docs/paper.md. Given samples x_i
(n, d), mode centres c_k (K, d) and the per-dimension std s of every mode:

    nearest(i)  = argmin_k ||x_i - c_k||             (ties: the lowest k)
    distance(i) = ||x_i - c_nearest(i)||             (Euclidean)
    high quality:   distance(i) <= n_std * s          (n_std = 3 in VEEGAN; inclusive)
    per_mode_counts[k] = #{i high quality : nearest(i) = k}
    modes_captured     = #{k : per_mode_counts[k] >= 1}
    high_quality_fraction = sum_k per_mode_counts[k] / n

The boundary is inclusive: a sample at exactly n_std * s from its centre counts
as high quality, one a floating-point step further out does not. (A sample built
as c + n_std * s along an axis is only at exactly that distance when the sum is
exact, e.g. for a centre at the origin.)

What to expect from the true distribution: in d dimensions ||x - c|| / s follows
a chi distribution with d degrees of freedom, so the high-quality fraction of
exact samples is P(chi_d <= 3): 0.9973 for d = 1 and 1 - exp(-9/2) = 0.9889 for
d = 2 (ring8, grid25), not 1. VEEGAN's protocol: 2,500 samples, averaged over 5
runs.
"""

from dataclasses import dataclass

import numpy as np

from npgan.data.toy import ToyDistribution
from npgan.validate import require_points, require_real


@dataclass(frozen=True, eq=False)
class ModeCoverage:
    """The result of mode_coverage.

    modes_captured:        number of centres that are the nearest centre of at
                           least one high-quality sample (0..K).
    high_quality_fraction: fraction of the samples within n_std * s of their
                           nearest centre (0..1).
    per_mode_counts:       (K,) int64, high-quality samples per nearest centre.
    n_samples:             n, the number of samples evaluated.
    """

    modes_captured: int
    high_quality_fraction: float
    per_mode_counts: np.ndarray
    n_samples: int

    @property
    def num_modes(self):
        """K, the number of centres."""
        return self.per_mode_counts.shape[0]

    def __str__(self):
        return (
            f"{self.modes_captured}/{self.num_modes} modes captured, "
            f"{100.0 * self.high_quality_fraction:.1f}% high-quality samples "
            f"(n = {self.n_samples})"
        )


def _require_finite_matrix(array, what, hint=""):
    array = require_points(array, what, hint)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or inf")
    return array.astype(np.float64, copy=False)


def mode_coverage(samples, centres, std, n_std=3.0):
    """VEEGAN mode coverage of samples (n, d) against centres (K, d).

    std:   the per-dimension standard deviation s of the modes.
    n_std: the high-quality radius in units of s (3 in VEEGAN).
    Returns a ModeCoverage. Raises ValueError for non-2-D, empty or non-finite
    arrays, mismatched widths, or a non-positive std / n_std.
    """
    samples = _require_finite_matrix(
        samples, "samples", hint="; reshape 1-D samples with samples.reshape(-1, 1)"
    )
    centres = _require_finite_matrix(centres, "centres")
    if samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples have {samples.shape[1]} columns but centres have {centres.shape[1]}: "
            "both must be points in the same d-dimensional space"
        )
    std = require_real(std, "std", positive=True)
    n_std = require_real(n_std, "n_std", positive=True)

    n_samples, num_modes = samples.shape[0], centres.shape[0]
    # One centre at a time: memory stays at (n, d) + (n, K). Direct differences
    # rather than ||x||^2 + ||c||^2 - 2 x.c, which loses the small distances
    # that decide the boundary.
    squared_distances = np.empty((n_samples, num_modes))
    for k, centre in enumerate(centres):
        difference = samples - centre
        squared_distances[:, k] = np.sum(difference * difference, axis=1)
    nearest = np.argmin(squared_distances, axis=1)
    nearest_distance = np.sqrt(squared_distances[np.arange(n_samples), nearest])
    high_quality = nearest_distance <= n_std * std

    per_mode_counts = np.bincount(nearest[high_quality], minlength=num_modes).astype(np.int64)
    return ModeCoverage(
        modes_captured=int(np.count_nonzero(per_mode_counts)),
        high_quality_fraction=float(np.count_nonzero(high_quality)) / n_samples,
        per_mode_counts=per_mode_counts,
        n_samples=n_samples,
    )


def evaluate_toy(samples, toy, n_std=3.0):
    """mode_coverage(samples, toy.centres, toy.std, n_std) for a ToyDistribution."""
    if not isinstance(toy, ToyDistribution):
        raise TypeError(
            f"toy must be a ToyDistribution (e.g. get_toy('ring8')), got {type(toy).__name__}"
        )
    return mode_coverage(samples, toy.centres, toy.std, n_std=n_std)
