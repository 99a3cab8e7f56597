"""The gradient checker itself: its formula, its kink handling, its inputs, and that it
fails on wrong derivatives (a check that cannot fail proves nothing)."""

import numpy as np
import pytest
from hypothesis import given, settings

from npgan.gradcheck import (NETWORK_THRESHOLD, check_layer, network_output, numerical_gradient,
                             rel_error, run_all)
from npgan.layers import Linear, ReLU, Sigmoid
from tests.strategies import seeds


def test_rel_error_is_the_cs231n_formula():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.array([0.0]), np.array([1e-9])) == pytest.approx(0.1)  # the 1e-8 floor
    assert rel_error(np.array([1.0, np.nan]), np.array([1.0, 5.0])) == 0.0  # skipped entries ignored
    assert np.isnan(rel_error(np.array([np.nan]), np.array([1.0])))
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0, 2.0]])
    upstream = np.array([[1.0, -2.0, 0.5]])
    numeric, skipped = numerical_gradient(lambda: (x ** 3, []), x, upstream)
    np.testing.assert_allclose(numeric, 3 * x ** 2 * upstream, rtol=1e-9)
    assert skipped == 0
    np.testing.assert_array_equal(x, [[0.5, -1.0, 2.0]])  # restored after perturbing


def test_a_difference_straddling_a_relu_kink_is_skipped_and_counted():
    layer = ReLU()
    x = np.array([[0.0, 1.0, -1.0, 3e-6]])  # 0 and 3e-6 sit within h = 1e-5 of the kink
    numeric, skipped = numerical_gradient(lambda: network_output(layer, x), x, np.ones((1, 4)))
    assert skipped == 2
    assert np.isnan(numeric[0, 0]) and np.isnan(numeric[0, 3])
    np.testing.assert_allclose(numeric[0, 1:3], [1.0, 0.0])


class TransposingLinear(Linear):
    def backward(self, grad_out):
        x = self.kept(grad_out)["x"]
        self.grads["W"] += (x.T @ grad_out).T  # wrong: the transpose of dW (square W)
        self.grads["b"] += grad_out.sum(axis=0)
        return grad_out @ self.params["W"]  # wrong: W instead of W^T


class WrongSigmoid(Sigmoid):
    def backward(self, grad_out):
        return grad_out * self.kept(grad_out)["y"]  # forgot (1 - y)


def test_the_check_fails_on_wrong_derivatives():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    results = check_layer("bad Linear", TransposingLinear(3, 3, rng=rng, dtype=np.float64), x, rng)
    assert {r.parameter for r in results if not r.ok} == {"x", "W"}
    assert not check_layer("bad Sigmoid", WrongSigmoid(), x, rng)[0].ok


def test_float32_or_nan_input_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="float64"):
        check_layer("ReLU", ReLU(), np.ones((2, 2), dtype=np.float32), rng)
    with pytest.raises(ValueError, match="NaN"):
        check_layer("ReLU", ReLU(), np.array([[1.0, np.nan]]), rng)
    with pytest.raises(ValueError, match="float64"):
        check_layer("Linear", Linear(2, 2, rng=rng), np.ones((2, 2)), rng)  # float32 parameters


def test_checking_leaves_the_dropout_of_the_checked_network_unfrozen():
    from npgan.gradcheck import check_discriminator_step, small_gan
    rng = np.random.default_rng(0)
    gan = small_gan(rng)
    check_discriminator_step(gan, rng.random((3, 6)), rng.random((3, 4)))
    x = np.ones((3, 6))
    assert not np.array_equal(gan.discriminator.predict(x), gan.discriminator.predict(x))


@settings(max_examples=4)
@given(seeds)
def test_every_check_of_npgan_gradcheck_passes_for_random_networks(kernel_backend, seed):
    results = run_all(seed)
    assert len(results) == 73
    assert all(r.checked > 0 for r in results)
    failures = [r for r in results if not r.ok]
    assert not failures, failures
    assert all(r.threshold == NETWORK_THRESHOLD for r in results if "step" in r.check)


def test_an_identity_layer_returning_its_input_is_checked_correctly():
    """Dropout with keep_prob = 1 returns x itself; the checker must not see x + h change
    into x - h under its feet (found by Hypothesis)."""
    from npgan.layers import Dropout
    rng = np.random.default_rng(0)
    results = check_layer("Dropout(1.0)", Dropout(1.0, rng=rng), rng.standard_normal((3, 2)), rng)
    assert all(r.ok for r in results), results
