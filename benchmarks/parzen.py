"""The full Parzen-window evaluation of Table 1, timed: npgan against a direct port.

The procedure (docs/paper.md): 10,000 kernel centres, sigma the best of
numpy.logspace(-1, 0, 10) on the first 1,000 validation images, the mean log-likelihood
of the 10,000 test images at that sigma; 784-d MNIST pixels.

- npgan: npgan.evaluate.parzen.evaluate_parzen, distances by matrix products in float64,
  one pass over the validation distances for the whole sigma grid.
- direct: the authors' script (parzen_ll.py) ported line for line to NumPy: for every sigma
  of the search and then for the test set, batches of 10 points, each building the
  (10, 10000, 784) difference tensor (in the data's float32, 314 MB), then
  logmeanexp(-0.5 * sum(((x - mu) / sigma)^2)) - d log(sigma sqrt(2 pi)). Its cost does not
  depend on sigma, so by default it is timed on --direct-rows test images and extrapolated
  linearly to the 10 x 1,000 + 10,000 rows the procedure evaluates (--direct-rows 0 runs
  it in full: about 20 minutes here). The output says which.

Both run in this process, with the BLAS threads left at their default. Centres: samples of
G from --checkpoint, else the first 10,000 training images (the real-data reference).

    python benchmarks/parzen.py --data-dir ../shared/data/mnist [--checkpoint runs/paper-mnist-0/checkpoint.npz] \
        [--json benchmarks/results/parzen.json]
"""

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchlib import add_mnist_argument, mnist_directory, report_head, write_json  # noqa: E402
from npgan.data.mnist import load_image_dataset  # noqa: E402
from npgan.evaluate.parzen import DEFAULT_SIGMAS, evaluate_parzen  # noqa: E402

N_CENTRES, N_VALIDATION, N_TEST = 10000, 1000, 10000


# -- the direct port ---------------------------------------------------------------------------

def direct_log_likelihood(x, centres, sigma, batch_size=10):
    """The authors' theano_parzen + get_ll in NumPy: (n,) log p, one (batch, m, d) tensor at a time."""
    d = centres.shape[1]
    values = []
    for start in range(0, x.shape[0], batch_size):
        a = (x[start:start + batch_size, None, :] - centres[None, :, :]) / sigma
        exponents = -0.5 * (a ** 2).sum(axis=2)
        largest = exponents.max(axis=1)
        log_mean = largest + np.log(np.exp(exponents - largest[:, None]).mean(axis=1))
        values.append(log_mean - d * math.log(sigma * math.sqrt(2 * math.pi)))
    return np.concatenate(values)


def direct_evaluation(centres, validation, test, sigmas):
    """cross_validate_sigma (one full pass per sigma), then the test set at the chosen sigma."""
    scores = [direct_log_likelihood(validation, centres, sigma).mean() for sigma in sigmas]
    sigma = sigmas[int(np.argmax(scores))]
    return sigma, direct_log_likelihood(test, centres, sigma)


# -- the benchmark -----------------------------------------------------------------------------

def centres_for(args, dataset):
    if args.checkpoint is None:
        return dataset.train[:N_CENTRES], f"the first {N_CENTRES} training images"
    from npgan.checkpoint import load_checkpoint
    from npgan.restore import gan_from_checkpoint

    checkpoint = load_checkpoint(args.checkpoint)
    samples = gan_from_checkpoint(checkpoint).sample(N_CENTRES, np.random.default_rng(0))
    return samples, f"{N_CENTRES} samples of G from {args.checkpoint} (seed 0)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_mnist_argument(parser)
    parser.add_argument("--checkpoint", help="centres from this generator (default: real training images)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of npgan's evaluation (default: 3)")
    parser.add_argument("--direct-rows", type=int, default=100,
                        help="test images the direct port is timed on, then extrapolated; 0: run it in full")
    parser.add_argument("--float32", action="store_true", help="also time npgan with a float32 matrix product")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args()
    dataset = load_image_dataset("mnist", mnist_directory(parser, args))
    centres, what = centres_for(args, dataset)
    validation, test = dataset.validation[:N_VALIDATION], dataset.test[:N_TEST]
    sigmas = list(DEFAULT_SIGMAS)
    print(f"command: python benchmarks/parzen.py {' '.join(sys.argv[1:])}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work makes the "
          f"times noisy), numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"centres: {what}; sigma search on {N_VALIDATION} validation images, {N_TEST} test images, "
          f"d = {centres.shape[1]}")

    runs = [evaluate_parzen(centres, validation, test) for _ in range(args.repeats)]
    result = min(runs, key=lambda run: run.seconds)
    npgan_seconds = result.seconds
    print(f"npgan:  {npgan_seconds:6.1f} s (best of {args.repeats}: "
          f"{', '.join(f'{run.seconds:.1f}' for run in runs)} s)  sigma {result.sigma:.4f}, "
          f"test log-likelihood {result.test_log_likelihood:.2f} +- {result.standard_error:.2f}")
    if args.float32:
        fast = evaluate_parzen(centres, validation, test, matmul_dtype=np.float32)
        print(f"npgan, float32 product: {fast.seconds:6.1f} s  sigma {fast.sigma:.4f}, test log-likelihood "
              f"{fast.test_log_likelihood:.4f} (float64: {result.test_log_likelihood:.4f}; largest per-image "
              f"difference {np.abs(fast.test_log_likelihoods - result.test_log_likelihoods).max():.1e})")

    rows_evaluated = len(sigmas) * N_VALIDATION + N_TEST
    if args.direct_rows <= 0:
        started = time.perf_counter()
        sigma, values = direct_evaluation(centres, validation, test, sigmas)
        direct_seconds = time.perf_counter() - started
        how = "run in full"
        print(f"direct: sigma {sigma:.4f}, test log-likelihood {values.mean():.2f} "
              f"(npgan's differs by {abs(values.mean() - result.test_log_likelihood):.1e})")
    else:
        subset = test[:args.direct_rows]
        started = time.perf_counter()
        values = direct_log_likelihood(subset, centres, result.sigma)
        subset_seconds = time.perf_counter() - started
        direct_seconds = subset_seconds * rows_evaluated / len(subset)
        how = (f"extrapolated linearly from {len(subset)} test images in {subset_seconds:.1f} s to the "
               f"{rows_evaluated} rows of the procedure ({len(sigmas)} sigmas x {N_VALIDATION} + {N_TEST})")
        difference = np.abs(values - result.test_log_likelihoods[:len(subset)]).max()
        print(f"direct and npgan on those {len(subset)} images at sigma {result.sigma:.4f}: largest "
              f"difference {difference:.1e} (the direct port works in the data's float32)")
    print(f"direct: {direct_seconds:6.1f} s  ({how})")
    print(f"ratio:  npgan is {direct_seconds / npgan_seconds:.0f} times faster; budget 10 s: "
          f"{'met' if npgan_seconds <= 10 else 'NOT met'} ({npgan_seconds:.1f} s)")
    if args.json:
        write_json({**report_head("parzen.py"), "load_average": os.getloadavg()[0], "centres": what,
                    "npgan_seconds": [run.seconds for run in runs], "direct_seconds": direct_seconds,
                    "direct": how, "ratio": direct_seconds / npgan_seconds, "sigma": result.sigma,
                    "test_log_likelihood": result.test_log_likelihood,
                    "standard_error": result.standard_error}, args.json)


if __name__ == "__main__":
    main()
