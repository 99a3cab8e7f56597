"""The gradient checker itself: its formula (both stencils' directions, both errors), its kink
handling, its inputs, its replay of dropout masks, and that it fails on wrong derivatives (a check
that cannot fail proves nothing). Its use on other people's code: tests/test_gradcheck_tool.py."""

import numpy as np
import pytest
from hypothesis import given, settings

from npgan.gradcheck import (NETWORK_THRESHOLD, check_layer, directional_derivatives, network_output, norm_error,
                             numerical_gradient, rel_error, run_all)
from npgan.layers import Dropout, Linear, Maxout, ReLU, Sequential, Sigmoid
from npgan.testing import assert_gradients_match
from tests.strategies import seeds


def test_rel_error_is_the_cs231n_formula():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.array([0.0]), np.array([1e-9])) == pytest.approx(0.1)  # the 1e-8 floor
    assert rel_error(np.array([1.0, np.nan]), np.array([1.0, 5.0])) == 0.0  # skipped entries ignored
    assert np.isnan(rel_error(np.array([np.nan]), np.array([1.0])))
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.zeros(2), np.zeros(3))


def test_norm_error_is_the_norm_wise_error_and_never_above_rel_error():
    a, b = np.array([3.0, 0.0, 1e-9]), np.array([3.0, 4.0, -1e-9])
    assert norm_error(a, b) == pytest.approx(4.0 / (3.0 + 5.0))
    assert rel_error(a, b) == 1.0  # the entries 0 vs 4, and 1e-9 vs -1e-9, are entirely wrong
    assert norm_error(np.zeros(3), np.zeros(3)) == 0.0  # the same 1e-8 floor as rel_error
    assert norm_error(np.array([1.0, np.nan]), np.array([1.0, 5.0])) == 0.0  # skipped entries ignored
    rng = np.random.default_rng(0)
    for _ in range(100):
        a, b = rng.standard_normal(5), rng.standard_normal(5) * rng.choice([1e-6, 1.0])
        assert norm_error(a, a + b) <= rel_error(a, a + b) + 1e-15


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0, 2.0]])
    upstream = np.array([[1.0, -2.0, 0.5]])
    numeric, skipped = numerical_gradient(lambda: (x ** 3, []), x, upstream)
    np.testing.assert_allclose(numeric, 3 * x ** 2 * upstream, rtol=1e-9)
    assert skipped == 0
    np.testing.assert_array_equal(x, [[0.5, -1.0, 2.0]])  # restored after perturbing


def test_numerical_gradient_at_some_coordinates_and_of_several_values():
    x = np.array([[0.5, -1.0, 2.0]])
    numeric, skipped = numerical_gradient(lambda: (x ** 3, []), x, np.ones((1, 3)), indices=[(0, 2)])
    np.testing.assert_allclose(numeric[0, 2], 12.0, rtol=1e-9)
    assert np.isnan(numeric[0, :2]).all() and skipped == 0  # the coordinates not asked for
    numeric, _ = numerical_gradient(lambda: (np.array([np.sum(x ** 2), np.sum(x)]), []), x)
    np.testing.assert_allclose(numeric, np.stack([2 * x, np.ones_like(x)], axis=-1), rtol=1e-9)  # a column each


def test_directional_derivatives_of_a_known_function():
    """Along a unit u, the derivative of sum(x^3 * v) is u . (3 x^2 v); the array is restored."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    before, upstream = x.copy(), rng.standard_normal((3, 4))
    units, derivatives, skipped = directional_derivatives(lambda: (x ** 3, []), x, 5, rng, upstream)
    assert len(units) == 5 and skipped == 0
    assert all(np.linalg.norm(unit) == pytest.approx(1.0) for unit in units)
    np.testing.assert_allclose(derivatives, [np.sum(unit * 3 * x ** 2 * upstream) for unit in units], rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_a_direction_straddling_a_kink_is_replaced_and_counted():
    layer = ReLU()
    x = np.array([[1e-5, 1.0, -2.0]])  # 1e-5: the kink is within 2h along half the directions
    units, derivatives, skipped = directional_derivatives(lambda: network_output(layer, x), x, 3,
                                                          np.random.default_rng(2), np.ones((1, 3)))
    assert len(units) == 3 and skipped > 0
    np.testing.assert_allclose(derivatives, [unit[0, 0] * (x[0, 0] > 0) + unit[0, 1] for unit in units], rtol=1e-8)


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
    for mode in ("elementwise", "directional"):
        with pytest.raises(AssertionError, match=r"FAILED for 1 of 1 arrays[\s\S]*x.*FAIL"):
            assert_gradients_match(WrongSigmoid(), x, mode=mode, rng=rng)


def test_npgan_layers_pass_in_both_modes_on_both_paths(kernel_backend):
    rng = np.random.default_rng(3)
    maxout = Maxout(4, 3, 2, rng=rng, dtype=np.float64, init_scale=1.0)
    net = Sequential(Dropout(0.7, rng=rng), maxout, Linear(3, 2, rng=rng, dtype=np.float64), Sigmoid())
    for mode in ("elementwise", "directional"):
        report = assert_gradients_match(net, rng.standard_normal((5, 4)), mode=mode, rng=rng)
        assert [result.parameter for result in report] == ["x", "1.W", "1.b", "2.W", "2.b"]


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
    assert len(results) == 110  # 73 unpacked; the Pack layer; D and G steps of a packed D (2 x 18 arrays)
    assert {r.check for r in results} >= {"Pack", "sequential D step, pack 2", "simultaneous G step, pack 2 [minimax]"}
    assert all(r.checked > 0 for r in results)
    failures = [r for r in results if not r.ok]
    assert not failures, failures
    assert all(r.threshold == NETWORK_THRESHOLD for r in results if "step" in r.check)


def test_an_identity_layer_returning_its_input_is_checked_correctly():
    """Dropout with keep_prob = 1 returns x itself; the checker must not see x + h change
    into x - h under its feet (found by Hypothesis)."""
    rng = np.random.default_rng(0)
    for mode in ("elementwise", "directional"):
        assert_gradients_match(Dropout(1.0, rng=rng), rng.standard_normal((3, 2)), mode=mode, rng=rng)
