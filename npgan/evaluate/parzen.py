"""Parzen-window log-likelihood: the procedure behind Table 1 of the paper.

docs/paper.md. Given kernel centres mu_j (m, d), usually m = 10,000
samples of G, and a bandwidth sigma, the density at a point x is a mixture of m
isotropic Gaussians N(mu_j, sigma^2 I):

    log p(x) = logmeanexp_j( -||x - mu_j||^2 / (2 sigma^2) ) - d log(sigma sqrt(2 pi))

    logmeanexp_j(a_j) = max_j a_j + log( (1/m) sum_j exp(a_j - max_j a_j) )

The procedure (evaluate_parzen):

1. sigma = the best of sigmas = numpy.logspace(-1, 0, 10) (0.1 ... 1.0) by the mean
   log p of the FIRST n_validation = 1,000 validation rows (MNIST: training images
   50000..50999). No refinement between grid points. Ties go to the smaller sigma.
2. The reported figure is the mean log p of the test rows at that sigma alone (the
   test rows never touch the choice), +- the standard error std(ddof=0) / sqrt(n).

How it is computed (parzen_log_likelihoods):

- Squared distances by a matrix product, ||x - mu||^2 = ||x||^2 + ||mu||^2 - 2 x.mu
  (npgan.evaluate.neighbours.distance_blocks, shared with the nearest-neighbour search),
  with x and mu both measured from the centres' mean (distances do not change, but
  the rounding error of the expansion grows with the norms: data 1000 away from the
  origin lost 1e-8 relative without it, 4e-16 with it). A direct port of the
  authors' script builds the (batch, m, d) difference tensor instead: 314 MB in
  float32 at their batch of 10, and over a hundred times slower (116 and 165 times in
  two runs of benchmarks/parzen.py).
- Blocks of centre_chunk centres by row_chunk rows of x. Every block of distances
  is computed once and used for every sigma of the grid, so the sigma search costs
  one pass of matrix products, not one per sigma.
- The logsumexp streams over the centre blocks: per row it keeps the smallest
  squared distance so far, r = min_j ||x - mu_j||^2 (for every sigma the largest
  exponent is -r / (2 sigma^2), so one running minimum serves the whole grid), and
  per sigma the running sum S = sum_j exp(-(||x - mu_j||^2 - r) / (2 sigma^2)). When
  a block brings a smaller r', S is first rescaled by exp(-(r - r') / (2 sigma^2))
  <= 1. S >= 1 always (the nearest centre contributes exp(0)), so a point far from
  every centre gets its true, very negative log p, never log 0 = -inf:

      log p(x) = -r / (2 sigma^2) + log S - log m - d log(sigma sqrt(2 pi))

  r is clipped at 0: rounding can make the expansion of a zero distance slightly
  negative, which would put a point on a centre above the kernel's peak. Kernel
  terms below exp(-60) of the nearest one are not evaluated exactly (they cannot
  move S, see _accumulate): on MNIST at the chosen sigma that skips nearly all
  exponentials, the costliest step after the matrix product.
- Memory: about 8 * (2 * row_chunk * centre_chunk + (row_chunk + 2 * centre_chunk)
  * d) + row_chunk * centre_chunk bytes of work arrays, whatever the numbers of
  rows and centres: 68 MB at the defaults (1024 x 2048, d = 784), 30 MB at quick_parzen's
  100 rows by 2,048 centres; besides that only the caller's inputs and (len(sigmas) + 2)
  * n float64 of running state and result. The input checks also go block by block.

Precision, and why the product runs in float64. Measured on MNIST (500 test images
x 2,000 training images, squared distances against differences summed in long
double; timings with a training run busy on both cores of this 2-core machine):

- float32 product: squared distances off by up to 1.3e-4 (3.7e-6 relative; the
  nearest-centre distances are 2.6 to 30, the norms about 100). An error e in a
  distance moves log p by up to e / (2 sigma^2): on the full evaluation (10,000
  training images as centres, sigma 0.1668) log p of single test images moved by up
  to 1.4e-3 nats and the mean by 2e-4. Harmless for a Table 1 figure (standard
  error 1 to 2 nats), far from the 1e-9 agreement with brute force that the tests
  ask of the estimator.
- float64 product: squared distances off by at most 2.5e-13 (6e-15 relative).
- Cost: the product runs at about 34 GFLOP/s in float64, 47 to 62 in float32; the
  full evaluation (11,000 x 10,000 x 784) took 6.9 s in float64, 5.2 s in float32,
  inside the 10 s budget either way.

So the product runs in float64 by default (matmul_dtype=numpy.float64): each block
of x and of the centres is converted to float64 as it is used (float32 MNIST pixels
convert exactly), and norms, distances, exponentials and sums are all float64.
matmul_dtype=numpy.float32 is kept for measuring this trade-off; only the product
then runs in float32 (the norms are taken, in float64, of the same float32-rounded
values, so a zero distance stays near zero).

quick_parzen is a cheap version for monitoring during training; see its docstring
for its defaults and what they cost.
"""

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from npgan.data.mnist import ImageData
from npgan.evaluate.neighbours import distance_blocks, squared_norms
from npgan.validate import require_integer, require_points

DEFAULT_SIGMAS = tuple(np.logspace(-1, 0, 10))  # the authors' grid, 0.1 ... 1.0
DEFAULT_ROW_CHUNK = 1024
DEFAULT_CENTRE_CHUNK = 2048
KERNEL_CUTOFF = 60.0     # kernel terms below exp(-60) relative to the nearest are not evaluated exactly,
SPARSE_FRACTION = 0.03   # and when fewer than 3% of a block are above it, only those are; see _accumulate

QUICK_CENTRES = 5000
QUICK_VALIDATION = 1000
QUICK_SEED = 12345
# Memory of the quick estimate, which runs inside a training process at every epoch's end: G's
# samples are drawn QUICK_SAMPLE_BLOCK at a time (paper-mnist's G holds two 1,200-wide hidden
# activations of float32 per row: 48 MB for 5,000 rows at once, 9.6 MB for 1,000) and the rows
# are scored QUICK_ROW_CHUNK at a time (the distance and exponential blocks of 2,048 centres: 16 MB
# each for 1,000 rows, 1.6 MB for 100). Neither changes a digit: the noise is drawn in the same
# order, and a row's distances and G's output do not depend on the block it is computed in, up to
# the BLAS's rounding: bit for bit on the machine this was measured on, to the last bit of a few
# values on another (OpenBLAS's Haswell kernels on an AMD Zen 3; tests/test_parzen.py checks both).
QUICK_SAMPLE_BLOCK = 1000
QUICK_ROW_CHUNK = 100

POINTS_HINT = "; reshape a single point with x.reshape(1, -1) and 1-D data with x.reshape(-1, 1)"


@dataclass(frozen=True, eq=False)
class ParzenResult:
    """What evaluate_parzen found.

    sigma:                      the bandwidth chosen on the validation rows.
    validation_log_likelihood:  mean log p of the n_validation validation rows at sigma
                                (the best of validation_scores).
    test_log_likelihood:        mean log p of the n_test test rows at sigma: the reported figure.
    standard_error:             std(ddof=0) of the test rows' log p / sqrt(n_test).
    seconds:                    wall-clock time of the evaluation.
    sigmas:                     the grid searched.
    validation_scores:          mean validation log p for each sigma of the grid.
    n_centres, n_validation, n_test: the numbers of centres, validation rows, test rows.
    test_split:                 what played the test set ("test", or for quick_parzen the
                                held-out validation rows, e.g. "validation[1000:2000]").
    test_log_likelihoods:       (n_test,) float64, log p of each test row at sigma.
    """

    sigma: float
    validation_log_likelihood: float
    test_log_likelihood: float
    standard_error: float
    seconds: float
    sigmas: tuple
    validation_scores: tuple
    n_centres: int
    n_validation: int
    n_test: int
    test_split: str = "test"
    test_log_likelihoods: np.ndarray = field(default=None, repr=False)

    def as_dict(self):
        """Every field but the per-row values, as plain Python numbers (JSON-ready)."""
        return {
            "sigma": self.sigma,
            "validation_log_likelihood": self.validation_log_likelihood,
            "test_log_likelihood": self.test_log_likelihood,
            "standard_error": self.standard_error,
            "seconds": self.seconds,
            "sigmas": list(self.sigmas),
            "validation_scores": list(self.validation_scores),
            "n_centres": self.n_centres,
            "n_validation": self.n_validation,
            "n_test": self.n_test,
            "test_split": self.test_split,
        }

    def __str__(self):
        return (f"Parzen log-likelihood {self.test_log_likelihood:.1f} +- {self.standard_error:.1f} "
                f"on {self.n_test} rows of {self.test_split} (sigma {self.sigma:.4f} chosen on "
                f"{self.n_validation} validation rows, validation {self.validation_log_likelihood:.1f}; "
                f"{self.n_centres} centres; {self.seconds:.1f} s)")


# -- the estimator -------------------------------------------------------------------------------

def parzen_log_likelihoods(x, centres, sigmas, *, row_chunk=DEFAULT_ROW_CHUNK,
                           centre_chunk=DEFAULT_CENTRE_CHUNK, matmul_dtype=np.float64):
    """log p(x_i) under the Parzen window of ``centres`` for every sigma of a grid, from one
    pass over the distances.

    x: (n, d) points; centres: (m, d); sigmas: a sequence of positive bandwidths (S of them).
    Returns an (S, n) float64 array, row k for sigmas[k].
    row_chunk, centre_chunk: the block size (memory, see the module docstring).
    matmul_dtype: numpy.float64 (default) or numpy.float32, the type of x.mu's matrix product.
    Raises ValueError for non-2-D, empty or non-finite arrays, mismatched widths, a
    non-positive or non-finite sigma, or a chunk size below 1.
    """
    x = require_points(x, "x", POINTS_HINT)
    centres = require_points(centres, "centres", POINTS_HINT)
    if x.shape[1] != centres.shape[1]:
        raise ValueError(f"x has {x.shape[1]} columns but centres have {centres.shape[1]}: both must be "
                         "points in the same d-dimensional space (MNIST: 784 pixels per row)")
    sigmas = _require_sigmas(sigmas)
    row_chunk = require_integer(row_chunk, "row_chunk", minimum=1)
    centre_chunk = require_integer(centre_chunk, "centre_chunk", minimum=1)
    matmul_dtype = np.dtype(matmul_dtype)
    if matmul_dtype not in (np.float32, np.float64):
        raise ValueError(f"matmul_dtype must be numpy.float32 or numpy.float64, got {matmul_dtype}")
    _require_finite(x, "x", row_chunk)
    _require_finite(centres, "centres", centre_chunk)

    n, d = x.shape
    m = centres.shape[0]
    inverse_two_variances = 1.0 / (2.0 * sigmas ** 2)                                  # (S,)
    log_normalisers = math.log(m) + d * np.log(sigmas * math.sqrt(2.0 * math.pi))     # (S,)
    # Distances do not change when x and the centres move together, but the rounding error of
    # the expansion grows with ||x||^2 + ||mu||^2: measure both from the centres' mean.
    offset = sum(np.sum(centres[start:start + centre_chunk], axis=0, dtype=np.float64)
                 for start in range(0, m, centre_chunk)) / m

    def centred(points):
        return np.subtract(points, offset, dtype=np.float64).astype(matmul_dtype, copy=False)

    row_norms = np.concatenate([squared_norms(centred(x[start:start + row_chunk]))
                                for start in range(0, n, row_chunk)])                 # ||x||^2, (n,)

    # Running state per row, over the centre blocks seen so far; with
    # e_ij = ||mu_j||^2 - 2 x_i.mu_j (so ||x_i - mu_j||^2 = ||x_i||^2 + e_ij):
    nearest = np.full(n, np.inf)           # min_j e_ij
    sums = np.zeros((len(sigmas), n))      # sum_j exp(-(e_ij - nearest_i) / (2 sigma^2)), per sigma
    for rows, _, e in distance_blocks(x, centres, query_chunk=row_chunk, reference_chunk=centre_chunk,
                                      convert=centred):
        _accumulate(e, nearest[rows], sums[:, rows], inverse_two_variances)

    # r = min_j ||x - mu_j||^2, clipped at 0 (rounding can make the expansion of a zero distance negative)
    nearest_squared_distances = np.maximum(row_norms + nearest, 0.0)
    return -np.outer(inverse_two_variances, nearest_squared_distances) + np.log(sums) - log_normalisers[:, None]


def _accumulate(e, nearest, sums, inverse_two_variances):
    """Fold one (rows, centres) block of e = ||mu||^2 - 2 x.mu into the running state, in place.

    nearest: (rows,) min of e so far; sums: (S, rows), sum of exp(-(e - nearest) / (2 sigma^2)).

    Terms below exp(-KERNEL_CUTOFF) = 8.8e-27 are either skipped (counted as 0) or raised to
    exp(-KERNEL_CUTOFF): all m of them together change a sum that is >= 1 (the nearest
    centre's term is exp(0)) by less than m * 8.8e-27, below one rounding step of it for any
    m <= 10^10. Why bother: exp is the costliest step, and NumPy's float64 exp is about three
    times slower on arguments that underflow (-800: 23 ns) than on [-60, 0] (7 ns). When few
    terms are above the cutoff (under SPARSE_FRACTION of the block: small sigma, as at the
    chosen sigma on MNIST) only they are exponentiated (2 ns per entry of the block at 0.1%);
    otherwise all are, clamped at the cutoff (8 ns per entry; the masked form costs 10 to 17
    ns there).
    """
    new_nearest = np.minimum(nearest, e.min(axis=1))
    # the earlier terms, re-referred to the new minimum: exp(-(old - new) / (2 sigma^2)) <= 1
    # (0 on the first block, where old = inf and every sum is still 0)
    sums *= np.exp(-np.outer(inverse_two_variances, nearest - new_nearest))
    nearest[...] = new_nearest
    e -= new_nearest[:, None]              # >= 0: every exponent below is <= 0
    exponents = np.empty_like(e)
    for k, inverse_two_variance in enumerate(inverse_two_variances):
        np.multiply(e, -inverse_two_variance, out=exponents)
        kept = np.greater(exponents, -KERNEL_CUTOFF)
        if np.count_nonzero(kept) < SPARSE_FRACTION * kept.size:
            np.exp(exponents, out=exponents, where=kept)
            sums[k] += np.add.reduce(exponents, axis=1, where=kept)
        else:
            np.maximum(exponents, -KERNEL_CUTOFF, out=exponents)
            np.exp(exponents, out=exponents)
            sums[k] += exponents.sum(axis=1)


def parzen_log_likelihood(x, centres, sigma, *, row_chunk=DEFAULT_ROW_CHUNK,
                          centre_chunk=DEFAULT_CENTRE_CHUNK, matmul_dtype=np.float64):
    """log p(x_i) under the Parzen window of ``centres`` with bandwidth ``sigma``: (n,) float64.

    x: (n, d); centres: (m, d); sigma > 0. The other arguments as parzen_log_likelihoods.
    """
    return parzen_log_likelihoods(x, centres, [sigma], row_chunk=row_chunk, centre_chunk=centre_chunk,
                                  matmul_dtype=matmul_dtype)[0]


def evaluate_parzen(centres, validation, test, *, sigmas=DEFAULT_SIGMAS, n_validation=1000,
                    row_chunk=DEFAULT_ROW_CHUNK, centre_chunk=DEFAULT_CENTRE_CHUNK,
                    matmul_dtype=np.float64, test_split="test"):
    """The paper's Table 1 procedure: sigma chosen on validation, reported on test.

    centres:    (m, d) kernel centres (10,000 samples of G in the paper).
    validation: (>= n_validation, d); only its first n_validation rows are used.
    test:       (n_test, d); every row is evaluated, at the chosen sigma only.
    sigmas:     the grid (default numpy.logspace(-1, 0, 10)).
    test_split: a label for what ``test`` is, kept in the result.
    Returns a ParzenResult. Raises ValueError as parzen_log_likelihoods does, and when
    validation has fewer than n_validation rows.
    """
    started = time.perf_counter()
    validation = require_points(validation, "validation", POINTS_HINT)
    test = require_points(test, "test", POINTS_HINT)
    n_validation = require_integer(n_validation, "n_validation", minimum=1)
    if validation.shape[0] < n_validation:
        raise ValueError(f"validation has {validation.shape[0]} rows, fewer than n_validation = "
                         f"{n_validation}; pass more rows or a smaller n_validation")
    validation = validation[:n_validation]
    _require_finite(validation, "validation", DEFAULT_ROW_CHUNK)  # named here; the estimator would say "x"
    _require_finite(test, "test", DEFAULT_ROW_CHUNK)
    sigmas = _require_sigmas(sigmas)
    blocks = {"row_chunk": row_chunk, "centre_chunk": centre_chunk, "matmul_dtype": matmul_dtype}

    scores = parzen_log_likelihoods(validation, centres, sigmas, **blocks).mean(axis=1)
    best = int(np.argmax(scores))                          # the first maximum: ties go to the smaller sigma
    sigma = float(sigmas[best])
    test_values = parzen_log_likelihood(test, centres, sigma, **blocks)
    return ParzenResult(
        sigma=sigma,
        validation_log_likelihood=float(scores[best]),
        test_log_likelihood=float(test_values.mean()),
        standard_error=float(test_values.std() / math.sqrt(test_values.shape[0])),
        seconds=time.perf_counter() - started,
        sigmas=tuple(float(s) for s in sigmas),
        validation_scores=tuple(float(s) for s in scores),
        n_centres=int(np.shape(centres)[0]),
        n_validation=n_validation,
        n_test=int(test_values.shape[0]),
        test_split=test_split,
        test_log_likelihoods=test_values,
    )


def quick_parzen(gan, config, dataset, *, n_centres=QUICK_CENTRES, n_validation=QUICK_VALIDATION,
                 seed=QUICK_SEED, sigmas=DEFAULT_SIGMAS):
    """A cheap Parzen estimate for monitoring a run, on validation data only.

    Draws n_centres samples of G with gan.sample(n_centres, numpy.random.default_rng(seed))
    (its own generator, so the training random streams are untouched and every call uses
    the same noise; ``gan`` is a GAN, or anything with that method; ``config`` is not
    needed, the GAN carries its noise prior), chooses sigma on validation rows
    0 .. n_validation-1 and reports the mean log p of validation rows n_validation ..
    2 n_validation - 1 (ParzenResult.test_split says which): the test set is never looked
    at while training.

    Defaults: 5,000 centres, sigma chosen on the first 1,000 validation images (as in the
    full procedure), reported on the next 1,000: about 1 s on 2 cores, sampling included
    (``seconds`` includes it). The centres are drawn QUICK_SAMPLE_BLOCK at a time and the rows
    scored QUICK_ROW_CHUNK at a time: the numbers gan.sample(n_centres, rng) and the default
    blocks give, in less memory (NumPy's arrays peak at 39 MB for paper-mnist's G, 87 MB with
    the 5,000 rows sampled at once and 1,000 rows scored at a time). Fewer centres give a lower number (a Parzen window of fewer
    points fits worse), and with too few the estimate stops following G: on mnist-tuned's
    averaged G (benchmarks/quick_parzen.py, RESULTS.md), 2,000 centres (0.4 s, the first
    default) stayed at 155-157 from epoch 50 to 250 while the full figure rose from 215 to
    234.5, and ranked epoch 60 best; 5,000 rose from 190 to 201 and ranked epoch 230 best,
    the full procedure's best (234.7); 10,000 (2 s) came within 3 nats of the full figure.
    On the paper-mnist G of epochs 1 to 15, 2,000 centres gave -265, -59, -108, -69, 2, 25
    at epochs 1, 2, 3, 5, 10, 15 and the full procedure -264, -59, -103, -53, 44, 67. A
    trend to watch and a ranking of checkpoints, not a number for Table 1.
    """
    if not isinstance(dataset, ImageData):
        raise ValueError("quick_parzen needs an image dataset with a validation split (MNIST or "
                         f"Fashion-MNIST), got {type(dataset).__name__}")
    if dataset.size("validation") < 2 * n_validation:
        raise ValueError(f"the validation split has {dataset.size('validation')} rows, fewer than "
                         f"2 * n_validation = {2 * n_validation}")
    started = time.perf_counter()
    centres = sample_in_blocks(gan, n_centres, np.random.default_rng(seed), QUICK_SAMPLE_BLOCK)
    validation = dataset.rows("validation", slice(0, 2 * n_validation))  # only the rows used, as float32
    result = evaluate_parzen(centres, validation[:n_validation], validation[n_validation:],
                             sigmas=sigmas, n_validation=n_validation, row_chunk=QUICK_ROW_CHUNK,
                             test_split=f"validation[{n_validation}:{2 * n_validation}]")
    return replace(result, seconds=time.perf_counter() - started)


def sample_in_blocks(gan, n, rng, block):
    """gan.sample(n, rng), drawn ``block`` rows at a time into one (n, d) array when ``block``
    divides n: the same noise from ``rng`` in the same order, with G's activations for ``block``
    rows alive at a time instead of n. Otherwise one call of gan.sample(n, rng): the matrix
    products of a short last block can round differently from the same rows in a larger product
    (measured: 1 to 8 of 1,001-1,016 rows in blocks of 1,000 differed in their last bits), while
    whole blocks of 1,000 rows gave the rows of one call to the bit on that machine, and to the last
    bit of a few values on another (tests/test_parzen.py)."""
    block = require_integer(block, "block", minimum=1)
    if n % block:
        return gan.sample(n, rng)
    first = gan.sample(min(block, n), rng)
    samples = np.empty((n, *first.shape[1:]), dtype=first.dtype)
    samples[:len(first)] = first
    for start in range(block, n, block):
        samples[start:start + block] = gan.sample(min(block, n - start), rng)
    return samples


# -- helpers ---------------------------------------------------------------------------------------

def _require_finite(array, what, chunk):
    for start in range(0, array.shape[0], chunk):
        if not np.isfinite(array[start:start + chunk]).all():
            row = start + int(np.argmin(np.isfinite(array[start:start + chunk]).all(axis=1)))
            raise ValueError(f"{what} contains NaN or inf (first in row {row}); the Parzen "
                             "log-likelihood needs finite points")


def _require_sigmas(sigmas):
    values = np.asarray(sigmas)
    if values.ndim != 1 or values.shape[0] == 0:
        raise ValueError(f"sigmas must be a non-empty 1-D sequence of bandwidths, got shape {values.shape}")
    if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
        raise ValueError(f"sigmas must be real numbers, got dtype {values.dtype}")
    values = values.astype(np.float64)
    bad = values[~(np.isfinite(values) & (values > 0))]
    if bad.size:
        raise ValueError(f"sigma must be positive and finite, got {bad[0]}")
    return values

