"""Mode coverage: the VEEGAN toy metric, and the Stacked MNIST mode count.

The toy metric (Srivastava et al. 2017, see docs/paper.md). Given samples x_i
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

Stacked MNIST (npgan.data.stacked; VEEGAN's and PacGAN's protocol, docs/stacked-mnist.md).
Each sample x_i, a 2,352-vector in the channel-last layout, is split into its three 784-pixel
channels, and each channel is classified by npgan's MNIST classifier (the shipped one,
npgan.evaluate.classifier, 98.68% on MNIST's test digits):

    digit_c(i) = argmax_y p(y | channel c of x_i)          c = 0, 1, 2
    mode(i)    = 100 digit_0(i) + 10 digit_1(i) + digit_2(i)   (0..999)
    h_k        = #{i : mode(i) = k} / n
    modes_captured = #{k : h_k > 0}                         (0..1000)
    kl_to_uniform  = KL(h || uniform) = sum_{k : h_k > 0} h_k log(1000 h_k)   (natural log;
                     0 for a flat histogram, log 1000 = 6.908 for a single mode)

The literature evaluates 26,000 samples (STACKED_SAMPLES). What real data gives: every one of
the 1,000 modes (the rarest triple of MNIST's digits has p = 0.090^3 = 7.3e-4, about 19
samples expected in 26,000, none with probability e^-19), and a KL that is not 0: a histogram
of n draws from K near-uniform classes has E[KL] = (K - 1) / 2n + KL(p || uniform) to first
order, 0.019 for 26,000 draws, plus about 0.005 for MNIST's unequal digit frequencies
(measured 0.024 and 0.025; tests/test_stacked_mnist.py).
"""

import time
from dataclasses import dataclass

import numpy as np

from npgan.data.stacked import CHANNELS, IMAGE_PIXELS, NUM_MODES, unstack_channels
from npgan.data.toy import ToyDistribution
from npgan.validate import require_integer, require_points, require_real

STACKED_SAMPLES = 26000   # VEEGAN's and PacGAN's count of generated samples
STACKED_CHUNK = 2000      # samples generated and classified at a time: 19 MB of float32

# The published rows the tables of `npgan sweep` and benchmarks/mode_coverage.py put beside npgan's.
# Srivastava et al. (2017), docs/paper.md: (modes captured, % high quality), 2,500 samples, 5 runs;
# "GAN" is their plain GAN. Trained with their networks and lengths, not npgan's (VEEGAN_NOTE).
VEEGAN_ROWS = {
    "ring8": [("GAN", 1, 99.3), ("ALI", 2.8, 0.13), ("Unrolled GAN", 7.6, 35.6), ("VEEGAN", 8, 52.9)],
    "grid25": [("GAN", 3.3, 0.5), ("ALI", 15.8, 1.6), ("Unrolled GAN", 23.6, 16.0), ("VEEGAN", 24.6, 40.0)],
}
# Stacked MNIST (docs/stacked-mnist.md): (model, modes of 1,000, KL to uniform), 26,000 samples;
# convolutional networks on a GPU, each paper counting with its own classifier (STACKED_NOTE).
STACKED_ROWS = [("DCGAN (VEEGAN table)", 99, 3.40), ("ALI (VEEGAN table)", 16, 5.40),
                ("Unrolled GAN (VEEGAN table)", 48.7, 4.32), ("VEEGAN (VEEGAN table)", 150, 2.95),
                ("PacDCGAN2 (PacGAN table)", 1000, 0.06)]
STACKED_NOTE = ("The published rows are convolutional networks (DCGAN's) trained on a GPU and counted with each "
                "paper's own classifier; npgan's are the paper's fully connected model and npgan's MNIST "
                "classifier, so they compare in order of magnitude and ranking (docs/stacked-mnist.md). Real "
                "images give 1,000 modes and KL 0.024 on npgan's count.")
VEEGAN_NOTE = ("The VEEGAN table's rows (its GAN row is a plain GAN) come from its paper, with its own networks "
               "and training lengths; npgan's ring8 has radius 2 and std 0.02, grid25 std 0.05 "
               "(npgan/data/toy.py), and VEEGAN does not confirm its ring's. The metric is the same; "
               "the setups are not (docs/results.md).")


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


# -- Stacked MNIST --------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class StackedModeCoverage:
    """The result of stacked_mode_coverage (the module docstring gives the definitions).

    modes_captured: the number of the 1,000 digit triples with at least one sample.
    kl_to_uniform:  KL(mode histogram || uniform on 1,000), in nats.
    mode_counts:    (1000,) int64, the samples of each triple 100 a + 10 b + c.
    digit_counts:   (3, 10) int64, the samples whose channel c is classified as digit y.
    n_samples:      n, the number of samples evaluated.
    seconds:        the time taken, sampling included (evaluate_stacked; else 0).
    """

    modes_captured: int
    kl_to_uniform: float
    mode_counts: np.ndarray
    digit_counts: np.ndarray
    n_samples: int
    seconds: float = 0.0

    @property
    def num_modes(self):
        return self.mode_counts.shape[0]

    def as_dict(self):
        """What `npgan evaluate modes --json` prints of it (digit_histograms: shares, 3 x 10)."""
        return {"dataset": "stacked-mnist", "modes_captured": self.modes_captured, "num_modes": self.num_modes,
                "kl_to_uniform": self.kl_to_uniform, "n_samples": self.n_samples,
                "digit_histograms": (self.digit_counts / self.n_samples).tolist(), "seconds": self.seconds}

    def __str__(self):
        return (f"{self.modes_captured}/{self.num_modes} modes captured, KL to uniform "
                f"{self.kl_to_uniform:.3f} (n = {self.n_samples})")


def kl_to_uniform(counts):
    """KL(h || uniform) of the histogram h = counts / sum(counts) over len(counts) classes, in
    nats: sum_{k : h_k > 0} h_k log(K h_k) (0 log 0 = 0)."""
    counts = np.asarray(counts, dtype=np.float64)
    share = counts[counts > 0] / counts.sum()
    # >= 0 in exact arithmetic; a flat histogram can round to -1e-16
    return float(max(np.sum(share * np.log(share * len(counts))), 0.0))


def classify_stacked(samples, classifier):
    """(n, 3) int64: the digit the classifier predicts for each channel of each (n, 2352) sample.

    classifier: anything with predict((m, 784) images) -> (m,) classes 0..9, such as
    npgan.evaluate.classifier.Classifier (the shipped MNIST one). ValueError for samples of
    another width, or not finite."""
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[1] != IMAGE_PIXELS or len(samples) == 0:
        raise ValueError(f"Stacked MNIST samples are (n, {IMAGE_PIXELS}) arrays (28 x 28 x 3, channel last) with "
                         f"n >= 1; got shape {samples.shape}")
    if not np.all(np.isfinite(samples)):
        raise ValueError("the samples contain NaN or inf (did training diverge?)")
    channels = unstack_channels(samples)  # (n, 3, 784)
    digits = np.asarray(classifier.predict(channels.reshape(-1, channels.shape[-1]))).reshape(len(samples), CHANNELS)
    if digits.min() < 0 or digits.max() > 9:
        raise ValueError(f"the classifier predicts classes {digits.min()}..{digits.max()}; Stacked MNIST needs "
                         "one of the ten digits 0..9 (an MNIST classifier)")
    return digits.astype(np.int64)


def stacked_mode_coverage(samples, classifier):
    """The Stacked MNIST mode count of (n, 2352) samples: a StackedModeCoverage (classify_stacked
    for the classifier and the errors)."""
    mode_counts, digit_counts = _stacked_counts(classify_stacked(samples, classifier))
    return _stacked_result(mode_counts, digit_counts)


def evaluate_stacked(generator, classifier, n_samples=STACKED_SAMPLES, rng=None, chunk=STACKED_CHUNK):
    """stacked_mode_coverage of ``n_samples`` samples of ``generator``, drawn and classified
    ``chunk`` at a time, so that memory stays at one chunk (19 MB) however many are asked for.

    generator: anything with sample(m, rng) -> (m, 2352): a GAN (npgan.gan.GAN), or the Stacked
    MNIST data itself (ImageData.sample: the perfect generator). rng: a numpy.random.Generator
    (required). For a GAN whose noise prior draws values one after the other (all of npgan's),
    the samples are those of generator.sample(n_samples, rng) in one call."""
    require_integer(n_samples, "n_samples", 1)
    require_integer(chunk, "chunk", 1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(0)")
    started = time.perf_counter()
    mode_counts, digit_counts = np.zeros(NUM_MODES, np.int64), np.zeros((CHANNELS, 10), np.int64)
    for start in range(0, n_samples, chunk):
        counts = _stacked_counts(classify_stacked(generator.sample(min(chunk, n_samples - start), rng), classifier))
        mode_counts += counts[0]
        digit_counts += counts[1]
    return _stacked_result(mode_counts, digit_counts, seconds=time.perf_counter() - started)


def _stacked_counts(digits):
    modes = digits @ np.array([100, 10, 1])
    mode_counts = np.bincount(modes, minlength=NUM_MODES).astype(np.int64)
    digit_counts = np.stack([np.bincount(digits[:, c], minlength=10) for c in range(CHANNELS)]).astype(np.int64)
    return mode_counts, digit_counts


def _stacked_result(mode_counts, digit_counts, seconds=0.0):
    return StackedModeCoverage(modes_captured=int(np.count_nonzero(mode_counts)),
                               kl_to_uniform=kl_to_uniform(mode_counts), mode_counts=mode_counts,
                               digit_counts=digit_counts, n_samples=int(mode_counts.sum()), seconds=seconds)


def format_stacked(result):
    """The text `npgan evaluate modes` prints for a stacked-mnist checkpoint, from its JSON
    ``result`` (StackedModeCoverage.as_dict, with "seed")."""
    lines = [f"stacked-mnist: {result['modes_captured']} of {result['num_modes']} modes captured, KL to uniform "
             f"{result['kl_to_uniform']:.3f} nats ({result['n_samples']} samples, seed {result['seed']}; "
             f"{result['seconds']:.1f} s)", "digits of each channel (%):"]
    for channel, shares in enumerate(result["digit_histograms"]):
        lines.append(f"  channel {channel}: " + " ".join(f"{100 * share:.1f}" for share in shares))
    return "\n".join(lines)
