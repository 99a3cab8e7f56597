"""Parzen-window log-likelihood: the fast estimator against a brute-force one written here,
the sigma search (validation only), convergence on a known mixture, the standard error,
bad input, bounded memory, the quick mode and `npgan evaluate parzen`."""

import json
import math
import os
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npgan.cli import main
from npgan.data.toy import get_toy
from npgan.evaluate.parzen import (
    DEFAULT_SIGMAS,
    QUICK_ROW_CHUNK,
    QUICK_SAMPLE_BLOCK,
    QUICK_SEED,
    evaluate_parzen,
    parzen_log_likelihood,
    parzen_log_likelihoods,
    quick_parzen,
    sample_in_blocks,
)
from npgan.models import preset_config
from npgan.train import Trainer

from tests.conftest import assert_equal_to_rounding, committed_generator, mnist_dir
from tests.strategies import seeds


def brute_force_log_likelihood(x, centres, sigma):
    """log p(x_i) = logmeanexp_j(-||x_i - mu_j||^2 / (2 sigma^2)) - d log(sigma sqrt(2 pi)), in long
    double, from the full (n, m, d) difference tensor; the max-subtracted logmeanexp written out."""
    x = np.asarray(x, dtype=np.longdouble)
    centres = np.asarray(centres, dtype=np.longdouble)
    sigma = np.longdouble(sigma)
    differences = x[:, None, :] - centres[None, :, :]
    exponents = -(differences * differences).sum(axis=2) / (2 * sigma * sigma)
    largest = exponents.max(axis=1)
    log_mean = largest + np.log(np.exp(exponents - largest[:, None]).sum(axis=1) / centres.shape[0])
    return (log_mean - x.shape[1] * np.log(sigma * np.sqrt(2 * np.pi, dtype=np.longdouble))).astype(np.float64)


def rel_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def random_problem(seed, n, m, d, n_far):
    """x (n, d) and centres (m, d) in [0, 1]^d; the first n_far rows of x moved 30 away in
    every coordinate, where exp(-||x - mu||^2 / (2 sigma^2)) underflows to 0 for every centre."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    x[:n_far] += 30.0
    return x, rng.random((m, d))


# -- agreement with brute force ------------------------------------------------------------------

@settings(max_examples=60)
@given(seed=seeds, n=st.integers(1, 12), m=st.integers(1, 15), d=st.integers(1, 7),
       row_chunk=st.integers(1, 5), centre_chunk=st.integers(1, 6),
       sigma=st.floats(0.05, 3.0))
def test_agrees_with_brute_force_across_chunk_boundaries(seed, n, m, d, row_chunk, centre_chunk, sigma):
    x, centres = random_problem(seed, n, m, d, n_far=n // 3)
    fast = parzen_log_likelihood(x, centres, sigma, row_chunk=row_chunk, centre_chunk=centre_chunk)
    assert fast.shape == (n,) and fast.dtype == np.float64
    assert rel_error(fast, brute_force_log_likelihood(x, centres, sigma)) < 1e-9


@pytest.mark.parametrize("row_chunk, centre_chunk", [(1, 1), (3, 7), (16, 5), (64, 64)])
def test_far_points_where_a_naive_exp_underflows(row_chunk, centre_chunk):
    x, centres = random_problem(seed=4, n=40, m=50, d=6, n_far=10)
    sigma = 0.1
    squared = ((x[:10, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    assert np.all(np.exp(-squared / (2 * sigma ** 2)) == 0.0)  # the naive form would give log 0 = -inf
    fast = parzen_log_likelihood(x, centres, sigma, row_chunk=row_chunk, centre_chunk=centre_chunk)
    assert np.all(np.isfinite(fast))
    assert np.all(fast[:10] < -1e5)
    assert rel_error(fast, brute_force_log_likelihood(x, centres, sigma)) < 1e-9


def test_one_centre_is_a_gaussian_even_very_far_away():
    centre = np.array([[0.25, -1.0, 3.0]])
    x = np.array([[0.25, -1.0, 3.0], [1.0, 2.0, 3.0], [1e4, -1e4, 5e3]])
    sigma = 0.3
    expected = (-((x - centre) ** 2).sum(axis=1) / (2 * sigma ** 2)
                - 3 * math.log(sigma * math.sqrt(2 * math.pi)))
    assert rel_error(parzen_log_likelihood(x, centre, sigma), expected) < 1e-12


def test_far_from_the_origin_as_exact_as_near_it():
    # ||x||^2 + ||mu||^2 - 2 x.mu taken about the origin loses digits as the norms grow (1e-8
    # relative here); measured from the centres' mean it does not
    rng = np.random.default_rng(5)
    x, centres = 1000 + rng.random((30, 20)), 1000 + rng.random((40, 20))
    x[:5] = centres[:5]
    for sigma in (0.1, 1.0):
        assert rel_error(parzen_log_likelihood(x, centres, sigma, row_chunk=7, centre_chunk=9),
                         brute_force_log_likelihood(x, centres, sigma)) < 1e-9


def test_a_point_on_a_centre_gets_at_most_the_kernel_peak():
    # Every other centre is so far (in units of sigma) that only a point's own kernel counts:
    # log p = -log m - d log(sigma sqrt(2 pi)) exactly when the rounding of the expansion of
    # the zero distance is clipped at 0; unclipped, about a third of the points went above it.
    rng = np.random.default_rng(0)
    points, sigma = rng.random((500, 20)), 0.01
    peak = -math.log(500) - 20 * math.log(sigma * math.sqrt(2 * math.pi))
    values = parzen_log_likelihood(points, points, sigma)
    assert np.all(values <= peak)
    assert rel_error(values, np.full(500, peak)) < 1e-9


@pytest.mark.parametrize("row_chunk, centre_chunk", [(2, 3), (1000, 1000)])
def test_the_sigma_grid_from_one_pass_equals_one_call_per_sigma(row_chunk, centre_chunk):
    x, centres = random_problem(seed=7, n=30, m=45, d=5, n_far=5)
    sigmas = [0.05, 0.1, 0.4, 1.0, 2.5]
    grid = parzen_log_likelihoods(x, centres, sigmas, row_chunk=row_chunk, centre_chunk=centre_chunk)
    assert grid.shape == (5, 30)
    for k, sigma in enumerate(sigmas):
        single = parzen_log_likelihood(x, centres, sigma, row_chunk=row_chunk, centre_chunk=centre_chunk)
        assert rel_error(grid[k], single) < 1e-12
        assert rel_error(grid[k], brute_force_log_likelihood(x, centres, sigma)) < 1e-9


def test_float32_inputs_and_the_float32_product_are_close_but_not_exact():
    rng = np.random.default_rng(0)
    x = rng.random((20, 784)).astype(np.float32)
    centres = rng.random((30, 784)).astype(np.float32)
    reference = brute_force_log_likelihood(x, centres, 0.2)
    assert rel_error(parzen_log_likelihood(x, centres, 0.2), reference) < 1e-9
    float32_product = parzen_log_likelihood(x, centres, 0.2, matmul_dtype=np.float32)
    assert 1e-11 < rel_error(float32_product, reference) < 1e-5


def test_memory_stays_in_blocks():
    rng = np.random.default_rng(0)
    x, centres = rng.random((3000, 40)), rng.random((2500, 40))   # one (n, m) float64 matrix: 60 MB
    tracemalloc.start()
    try:
        parzen_log_likelihoods(x, centres, DEFAULT_SIGMAS, row_chunk=128, centre_chunk=256)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # blocks: 8 * (2 * 128 * 256 + (128 + 2 * 256) * 40) + 128 * 256 bytes = 0.8 MB; the state and
    # the result (11 x 3000 float64) 0.5 MB
    assert peak < 3e6


# -- the procedure --------------------------------------------------------------------------------

def signs(rng, n, d):
    return rng.choice([-1.0, 1.0], size=(n, d))


def test_sigma_is_chosen_on_the_first_validation_rows_only():
    # One centre at 0: log p is the log-density of N(0, sigma^2 I), whose mean over points with
    # every coordinate +-s is largest exactly at sigma = s (the maximum-likelihood sigma).
    rng = np.random.default_rng(0)
    centre = np.zeros((1, 4))
    sigmas = np.array(DEFAULT_SIGMAS)
    validation = np.concatenate([sigmas[3] * signs(rng, 50, 4), sigmas[8] * signs(rng, 70, 4)])
    test_a, test_b = sigmas[8] * signs(rng, 40, 4), sigmas[0] * signs(rng, 60, 4)
    result_a = evaluate_parzen(centre, validation, test_a, n_validation=50)
    result_b = evaluate_parzen(centre, validation, test_b, n_validation=50)
    assert result_a.sigma == result_b.sigma == sigmas[3]
    assert result_a.validation_scores == result_b.validation_scores
    assert result_a.validation_log_likelihood == max(result_a.validation_scores)
    assert result_a.test_log_likelihood != result_b.test_log_likelihood
    # with all 120 rows the choice moves: to sigmas[7], the grid point nearest the pooled
    # maximum-likelihood sigma sqrt((50 sigmas[3]^2 + 70 sigmas[8]^2) / 120) = 0.61
    assert evaluate_parzen(centre, validation, test_a, n_validation=120).sigma == sigmas[7]


@pytest.mark.parametrize("planted", [0, 4, 9])
def test_a_planted_validation_set_picks_its_sigma(planted):
    rng = np.random.default_rng(planted)
    sigmas = np.array(DEFAULT_SIGMAS)
    validation = sigmas[planted] * signs(rng, 30, 3)
    test = rng.standard_normal((25, 3))
    result = evaluate_parzen(np.zeros((1, 3)), validation, test, n_validation=30)
    assert result.sigma == sigmas[planted]
    assert int(np.argmax(result.validation_scores)) == planted
    expected = parzen_log_likelihood(test, np.zeros((1, 3)), sigmas[planted])
    assert result.test_log_likelihood == pytest.approx(expected.mean(), rel=1e-12)


MIXTURE_MEANS = np.array([[-2.0, 0.0], [2.0, 1.0]])
MIXTURE_WEIGHTS = np.array([0.3, 0.7])
MIXTURE_STD = 0.5


def draw_mixture(n, rng):
    component = rng.choice(2, size=n, p=MIXTURE_WEIGHTS)
    return MIXTURE_MEANS[component] + MIXTURE_STD * rng.standard_normal((n, 2))


def mixture_log_density(x):
    squared = ((x[:, None, :] - MIXTURE_MEANS[None, :, :]) ** 2).sum(axis=2)
    terms = np.log(MIXTURE_WEIGHTS) - squared / (2 * MIXTURE_STD ** 2) - np.log(2 * np.pi * MIXTURE_STD ** 2)
    return np.logaddexp(terms[:, 0], terms[:, 1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_estimate_of_a_known_mixture_approaches_its_log_density(seed):
    rng = np.random.default_rng(seed)
    validation, test = draw_mixture(500, rng), draw_mixture(2000, rng)
    truth = mixture_log_density(test).mean()
    errors = {m: abs(evaluate_parzen(draw_mixture(m, rng), validation, test, n_validation=500).test_log_likelihood
                     - truth) for m in (10, 100, 1000)}
    # measured (seeds 0-7): 0.18 to 1.0 nats with 10 centres, 0.06 to 0.16 with 100, 0.02 to 0.04 with 1000
    assert errors[1000] < errors[100] < errors[10]
    assert errors[1000] < 0.05 and errors[1000] < errors[10] / 4


def test_the_standard_error_is_the_population_std_over_root_n():
    rng = np.random.default_rng(3)
    centres, validation, test = rng.random((40, 5)), rng.random((20, 5)), rng.random((33, 5))
    result = evaluate_parzen(centres, validation, test, n_validation=20)
    values = parzen_log_likelihood(test, centres, result.sigma)
    assert result.test_log_likelihood == pytest.approx(values.mean(), rel=1e-12)
    assert result.standard_error == pytest.approx(np.std(values, ddof=0) / math.sqrt(33), rel=1e-12)
    assert result.standard_error != pytest.approx(np.std(values, ddof=1) / math.sqrt(33), rel=1e-6)
    np.testing.assert_allclose(result.test_log_likelihoods, values, rtol=1e-12)
    record = result.as_dict()
    assert {"sigma", "validation_log_likelihood", "test_log_likelihood", "standard_error", "seconds",
            "sigmas", "validation_scores", "n_centres", "n_validation", "n_test"} <= set(record)
    assert (record["n_centres"], record["n_validation"], record["n_test"]) == (40, 20, 33)
    json.dumps(record)


# -- bad input -----------------------------------------------------------------------------------

GOOD_X, GOOD_CENTRES = np.zeros((3, 4)), np.ones((5, 4))
NAN_CENTRES = GOOD_CENTRES.copy()
NAN_CENTRES[2, 1] = np.nan
INF_X = GOOD_X.copy()
INF_X[1, 3] = np.inf


@pytest.mark.parametrize("x, centres, sigma, message", [
    (GOOD_X, np.ones((5, 3)), 0.5, "x has 4 columns but centres have 3"),
    (GOOD_X, NAN_CENTRES, 0.5, "centres contains NaN or inf (first in row 2)"),
    (INF_X, GOOD_CENTRES, 0.5, "x contains NaN or inf (first in row 1)"),
    (np.zeros((0, 4)), GOOD_CENTRES, 0.5, "x is empty"),
    (GOOD_X, np.zeros((0, 4)), 0.5, "centres is empty"),
    (np.zeros(4), GOOD_CENTRES, 0.5, "x must be a 2-D (rows, d) array"),
    (GOOD_X, GOOD_CENTRES, 0.0, "sigma must be positive and finite, got 0.0"),
    (GOOD_X, GOOD_CENTRES, -0.1, "sigma must be positive and finite, got -0.1"),
    (GOOD_X, GOOD_CENTRES, np.nan, "sigma must be positive and finite, got nan"),
    (GOOD_X, GOOD_CENTRES, np.inf, "sigma must be positive and finite, got inf"),
])
def test_bad_input_is_a_clear_value_error(x, centres, sigma, message):
    with pytest.raises(ValueError) as error:
        parzen_log_likelihood(x, centres, sigma)
    assert message in str(error.value)


def test_bad_procedure_arguments_are_clear_value_errors():
    with pytest.raises(ValueError, match="validation has 3 rows, fewer than n_validation = 1000"):
        evaluate_parzen(GOOD_CENTRES, GOOD_X, GOOD_X)
    with pytest.raises(ValueError, match="sigmas must be a non-empty"):
        evaluate_parzen(GOOD_CENTRES, GOOD_X, GOOD_X, n_validation=3, sigmas=[])
    with pytest.raises(ValueError, match="test contains NaN"):
        evaluate_parzen(GOOD_CENTRES, GOOD_X, INF_X, n_validation=3)
    with pytest.raises(ValueError, match="row_chunk must be an integer >= 1"):
        parzen_log_likelihood(GOOD_X, GOOD_CENTRES, 0.5, row_chunk=0)


# -- quick mode and the command line --------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, mnist):
    config = preset_config("paper-mnist", generator_hidden=[32], discriminator_hidden=[8, 8], iterations=1)
    path = tmp_path_factory.mktemp("parzen") / "checkpoint.npz"
    Trainer(config, mnist).save(path)
    return str(path)


def test_quick_parzen_uses_its_own_noise_and_validation_rows_only(mnist):
    trainer = Trainer(preset_config("paper-mnist", generator_hidden=[32], discriminator_hidden=[8, 8],
                                    iterations=1), mnist)
    streams = {name: rng.bit_generator.state for name, rng in trainer.rngs.items()}
    first = quick_parzen(trainer.gan, trainer.config, mnist, n_centres=300, n_validation=200)
    again = quick_parzen(trainer.gan, trainer.config, mnist, n_centres=300, n_validation=200)
    assert {name: rng.bit_generator.state for name, rng in trainer.rngs.items()} == streams
    assert first.test_log_likelihood == again.test_log_likelihood and first.sigma == again.sigma
    assert first.test_split == "validation[200:400]"
    assert (first.n_centres, first.n_validation, first.n_test) == (300, 200, 200)
    expected = evaluate_parzen(
        trainer.sample(300, np.random.default_rng(QUICK_SEED)), mnist.validation[:200], mnist.validation[200:400],
        n_validation=200)
    assert first.test_log_likelihood == pytest.approx(expected.test_log_likelihood, rel=1e-12)
    with pytest.raises(ValueError, match="image dataset with a validation split"):
        quick_parzen(trainer.gan, trainer.config, get_toy("ring8"))


def test_quick_parzen_blocks_change_no_digit(mnist, kernel_backend):
    """quick_parzen draws its centres QUICK_SAMPLE_BLOCK at a time and scores QUICK_ROW_CHUNK rows at
    a time: the same noise in the same order, the same centres and log-likelihoods (up to the BLAS's
    rounding of a product's rows, assert_equal_to_rounding) as one call of gan.sample and the default
    blocks, on paper-mnist's G (the products a training run makes) and MNIST's validation images."""
    gan = Trainer(preset_config("paper-mnist", iterations=1), mnist).gan
    whole = gan.sample(2500, np.random.default_rng(7))
    for block in (QUICK_SAMPLE_BLOCK // 2, 500, 2500, 5000):  # whole blocks, or one call
        assert_equal_to_rounding(sample_in_blocks(gan, 2500, np.random.default_rng(7), block), whole, ulps=8)
    for n in (1001, 1008):  # a short last block: one call of gan.sample, not blocks
        np.testing.assert_array_equal(sample_in_blocks(gan, n, np.random.default_rng(7), QUICK_SAMPLE_BLOCK),
                                      gan.sample(n, np.random.default_rng(7)))
    assert_equal_to_rounding(
        sample_in_blocks(gan, 5000, np.random.default_rng(7), QUICK_SAMPLE_BLOCK),  # quick_parzen's own case
        gan.sample(5000, np.random.default_rng(7)), ulps=8)
    validation = mnist.rows("validation", slice(0, 600))
    assert_equal_to_rounding(parzen_log_likelihoods(validation, whole, DEFAULT_SIGMAS, row_chunk=QUICK_ROW_CHUNK),
                             parzen_log_likelihoods(validation, whole, DEFAULT_SIGMAS), ulps=8)


def test_quick_parzen_memory_on_paper_mnist(mnist, kernel_backend):
    """It runs inside every training process at each epoch's end, where it sets the peak: its
    NumPy arrays stay below 45 MB on both paths (39 MB: the 5,000 float32 centres, 15.7 MB; the
    2,000 validation rows, 6.3 MB; G's activations for 1,000 rows; one converted block of 2,048
    centres and the blocks of 2,048 centres by 100 rows). Sampling 5,000 rows at once gave 50 MB
    on the Numba path and 84 MB on NumPy's; scoring 1,024 rows at a time, 74 MB."""
    trainer = Trainer(preset_config("paper-mnist", iterations=1), mnist)
    trainer.gan.sample(10, np.random.default_rng(0))  # a first call's one-off allocations are not the estimate's
    tracemalloc.start()
    try:
        quick_parzen(trainer.model, trainer.config, mnist)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 45e6


def test_quick_parzen_and_the_command_convert_only_the_rows_they_use(tiny_checkpoint, mnist, request, capsys):
    trainer = Trainer(preset_config("paper-mnist", generator_hidden=[32], discriminator_hidden=[8, 8],
                                    iterations=1), mnist)
    expected = evaluate_parzen(trainer.sample(300, np.random.default_rng(QUICK_SEED)), mnist.validation[:200],
                               mnist.validation[200:400], n_validation=200)
    request.getfixturevalue("forbid_whole_splits")  # from here on
    quick = quick_parzen(trainer.gan, trainer.config, mnist, n_centres=300, n_validation=200)
    assert quick.test_log_likelihood == pytest.approx(expected.test_log_likelihood, rel=1e-12)
    assert main(["evaluate", "parzen", "--checkpoint", tiny_checkpoint, "--data-dir", mnist_dir(),
                 "--samples", "300", "--validation", "200", "--test", "300", "--json", "--reference"]) == 0
    assert json.loads(capsys.readouterr().out)["reference"]["n_centres"] == 300


def test_evaluate_parzen_command_json_with_the_reference(tiny_checkpoint, capsys):
    assert main(["evaluate", "parzen", "--checkpoint", tiny_checkpoint, "--data-dir", mnist_dir(),
                 "--samples", "500", "--validation", "200", "--test", "500", "--json", "--reference"]) == 0
    result = json.loads(capsys.readouterr().out)
    keys = {"sigma", "validation_log_likelihood", "test_log_likelihood", "standard_error", "seconds"}
    for record in (result, result["reference"]):
        assert keys <= set(record)
        assert any(record["sigma"] == sigma for sigma in DEFAULT_SIGMAS)
        assert all(math.isfinite(record[key]) for key in keys)
        assert record["standard_error"] > 0 and record["seconds"] > 0
        assert (record["n_centres"], record["n_validation"], record["n_test"]) == (500, 200, 500)
    # real digits as centres fit real digits far better than an untrained generator's blur
    assert result["reference"]["test_log_likelihood"] > result["test_log_likelihood"] + 100
    assert result["reference"]["centres"] == "training images 0..499"


def test_evaluate_parzen_command_prints_a_table(tiny_checkpoint, capsys):
    assert main(["evaluate", "parzen", "--checkpoint", tiny_checkpoint, "--data-dir", mnist_dir(),
                 "--samples", "300", "--validation", "100", "--test", "200", "--reference"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "200 test images" in lines[0] and "100 validation images" in lines[0]
    assert lines[2].startswith("G: 300 samples (seed 0)") and " +- " in lines[2]
    assert lines[3].startswith("real data: 300 training images") and " +- " in lines[3]


def test_evaluate_parzen_command_refuses_a_toy_checkpoint(tmp_path, capsys):
    path = str(tmp_path / "toy.npz")
    Trainer(preset_config("ring8", iterations=1), get_toy("ring8")).save(path)
    assert main(["evaluate", "parzen", "--checkpoint", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs an image checkpoint" in err and "ring8" in err


@pytest.mark.parametrize("extra, message", [
    (["--test", "10001"], "--test 10001: the mnist test split has 10000 images"),
    (["--validation", "10001"], "--validation 10001: the mnist validation split has 10000 images"),
    (["--samples", "50001", "--reference"], "training split has 50000"),
    (["--samples", "0"], ">= 1"),
    (["--test", "-3"], ">= 1"),
])
def test_evaluate_parzen_command_bad_options_exit_2(tiny_checkpoint, extra, message, capsys):
    try:
        code = main(["evaluate", "parzen", "--checkpoint", tiny_checkpoint, "--data-dir", mnist_dir(), *extra])
    except SystemExit as exit_info:  # argparse's own errors
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_evaluate_parzen_command_on_nan_samples_exits_2(tiny_checkpoint, monkeypatch, capsys):
    from npgan.gan import GAN

    monkeypatch.setattr(GAN, "sample", lambda gan, n, rng: np.full((n, 784), np.nan, np.float32))
    assert main(["evaluate", "parzen", "--checkpoint", tiny_checkpoint, "--data-dir", mnist_dir(),
                 "--samples", "50", "--validation", "20", "--test", "20"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "centres contains NaN or inf (first in row 0)" in err and "diverge" in err


def test_the_committed_generator_reaches_table_1(capsys):
    """Issue 6's goal on the file a user gets: G alone, float32, under 12 MB, and the full
    procedure (10,000 centres, sigma on 1,000 validation images, 10,000 test images) gives at
    least the paper's 225, below the real-data reference printed beside it."""
    path, checkpoint = committed_generator("mnist-tuned-generator.npz", dataset="mnist", max_mib=12)
    assert checkpoint.state["generator"] == "average"
    assert main(["evaluate", "parzen", "--checkpoint", path, "--data-dir", mnist_dir(),
                 "--json", "--reference"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["n_centres"], result["n_validation"], result["n_test"]) == (10000, 1000, 10000)
    assert result["test_log_likelihood"] >= 225
    assert 235 < result["reference"]["test_log_likelihood"] < 250  # Theis et al.: about 243
    assert result["test_log_likelihood"] < result["reference"]["test_log_likelihood"]
