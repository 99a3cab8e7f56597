"""The gradient check as a tool for other people's code (issue 20): check_gradients and
npgan.testing.assert_gradients_match on layers and functions written here the way a user would
write them (not npgan's), in both modes; the bugs it must catch, each caught; correct layers
passing over 200 Hypothesis examples; the thresholds by dtype; the probability with which
directional mode misses one wrong entry; and `npgan gradcheck --full-size` at reduced widths,
passing, and failing on a broken maxout backward."""

import functools
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import npgan.gradcheck
import npgan.kernels
import npgan.layers
from npgan.cli import main
from npgan.gradcheck import (DIRECTIONS, MODES, NETWORK_THRESHOLD, THRESHOLDS, check_gradients, numerical_gradient,
                             rel_error, run_full_size)
from npgan.testing import assert_gradients_match
from tests.strategies import away_from_kinks, batch_sizes, feature_counts, keep_probs, seeds

REDUCED = {"generator_hidden": [32, 32], "discriminator_hidden": [12, 12], "batch_size": 20}


# -- a user's layers: the contract (forward, backward, params, grads), nothing of npgan's ----------

class Linear:
    def __init__(self, n_in, n_out, rng):
        self.params = {"W": rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), "b": rng.standard_normal(n_out)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad_y):
        self.grads["W"] += self.x.T @ grad_y
        self.grads["b"] += grad_y.sum(axis=0)
        return grad_y @ self.params["W"].T


class LeakyReLU:
    def __init__(self, slope=0.1):
        self.slope, self.params, self.grads = slope, {}, {}

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.slope * x)

    def backward(self, grad_y):
        return np.where(self.x > 0, grad_y, self.slope * grad_y)


class LayerNorm:
    def __init__(self, features, rng, eps=1e-5):
        self.eps = eps
        self.params = {"gamma": 1 + 0.1 * rng.standard_normal(features), "beta": 0.1 * rng.standard_normal(features)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x):
        mean = x.mean(axis=1, keepdims=True)
        self.inv_std = 1 / np.sqrt(x.var(axis=1, keepdims=True) + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        return self.params["gamma"] * self.x_hat + self.params["beta"]

    def backward(self, grad_y):
        self.grads["gamma"] += (grad_y * self.x_hat).sum(axis=0)
        self.grads["beta"] += grad_y.sum(axis=0)
        g = grad_y * self.params["gamma"]
        return self.inv_std * (g - g.mean(axis=1, keepdims=True)
                               - self.x_hat * (g * self.x_hat).mean(axis=1, keepdims=True))


class Dropout:
    def __init__(self, keep_prob, rng):
        self.keep_prob, self.rng, self.params, self.grads = keep_prob, rng, {}, {}

    def forward(self, x):
        self.mask = (self.rng.random(x.shape) < self.keep_prob) / self.keep_prob
        return x * self.mask

    def backward(self, grad_y):
        return grad_y * self.mask


class Maxout:
    """units x pieces, the pieces of a unit side by side; reports its winners as kinks."""

    def __init__(self, n_in, units, pieces, rng):
        self.units, self.pieces = units, pieces
        self.params = {"W": rng.standard_normal((n_in, units * pieces)), "b": rng.standard_normal(units * pieces)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x):
        self.x = x
        z = (x @ self.params["W"] + self.params["b"]).reshape(len(x), self.units, self.pieces)
        self.winners = z.argmax(axis=2)
        return np.take_along_axis(z, self.winners[:, :, None], axis=2)[:, :, 0]

    def routed(self, grad_y, winners):
        grad_z = np.zeros((len(grad_y), self.units, self.pieces))
        np.put_along_axis(grad_z, winners[:, :, None], grad_y[:, :, None], axis=2)
        return grad_z.reshape(len(grad_y), -1)

    def backward(self, grad_y):
        grad_z = self.routed(grad_y, self.winners)
        self.grads["W"] += self.x.T @ grad_z
        self.grads["b"] += grad_z.sum(axis=0)
        return grad_z @ self.params["W"].T

    def kink_state(self):
        return self.winners


# -- and the bugs of issue 20, each in a user's layer or function --------------------------------

class LinearWithATransposedGradient(Linear):
    def backward(self, grad_y):
        self.grads["W"] += (grad_y.T @ self.x).reshape(self.params["W"].shape)  # (out, in) poured into (in, out)
        self.grads["b"] += grad_y.sum(axis=0)
        return grad_y @ self.params["W"].T


class LinearAssigningATransposedGradient(Linear):
    def backward(self, grad_y):
        self.grads["W"] = grad_y.T @ self.x  # the (out, in) convention of another library
        self.grads["b"] += grad_y.sum(axis=0)
        return grad_y @ self.params["W"].T


class LinearOverwritingItsGradients(Linear):
    def backward(self, grad_y):
        self.grads["W"][...] = self.x.T @ grad_y  # = instead of +=
        self.grads["b"][...] = grad_y.sum(axis=0)
        return grad_y @ self.params["W"].T


class LinearWithOneBiasSignFlipped(Linear):
    def backward(self, grad_y):
        grad_x = super().backward(grad_y)
        self.grads["b"][7] -= 2 * grad_y[:, 7].sum()  # entry 7 of thousands: the sign of its gradient flipped
        return grad_x


class DropoutForgettingTheMask(Dropout):
    def backward(self, grad_y):
        return grad_y


class MaxoutRoutedToTheWrongPiece(Maxout):
    def backward(self, grad_y):
        grad_z = self.routed(grad_y, (self.winners + 1) % self.pieces)
        self.grads["W"] += self.x.T @ grad_z
        self.grads["b"] += grad_z.sum(axis=0)
        return grad_z @ self.params["W"].T


def mean_squared_error(prediction, target):
    return np.mean((prediction - target) ** 2)


def mean_squared_error_backward(grad, prediction, target):
    return 2 * grad * (prediction - target) / prediction.size, -2 * grad * (prediction - target) / prediction.size


def mean_squared_error_backward_without_the_mean(grad, prediction, target):
    return 2 * grad * (prediction - target), -2 * grad * (prediction - target)  # the 1/m forgotten


def failed_arrays(report):
    return {result.parameter for result in report if not result.ok}


# -- a user's test, as docs/gradcheck.md shows it ------------------------------------------------

def test_a_users_own_layer_is_checked_in_five_lines():
    rng = np.random.default_rng(0)
    assert_gradients_match(LayerNorm(4, rng), rng.standard_normal((5, 4)))
    assert_gradients_match(LeakyReLU(0.1), np.array([[-2.0, -0.5, 0.3, 1.5]]))
    assert_gradients_match(Maxout(3, 2, 3, rng), rng.standard_normal((4, 3)), mode="directional")


def test_the_report_names_both_errors_and_the_worst_entries():
    rng = np.random.default_rng(1)
    with pytest.raises(AssertionError) as failure:
        assert_gradients_match(LinearWithOneBiasSignFlipped(3, 20, rng), rng.standard_normal((4, 3)), rng=rng)
    message = str(failure.value)
    assert "FAILED for 1 of 3 arrays" in message and "norm_error" in message and "rel_error" in message
    assert "b[7]: analytic " in message and "numeric " in message

    report = check_gradients(LinearWithOneBiasSignFlipped(3, 20, rng), rng.standard_normal((4, 3)), rng=rng)
    failure, = report.failures
    worst = failure.worst[0]
    assert (failure.parameter, worst.index) == ("b", (7,))
    assert worst.analytic == pytest.approx(-worst.numeric, rel=1e-9)  # the flipped sign
    assert failure.norm_error <= failure.rel_error  # norm-wise never above element-wise
    assert failure.as_dict()["worst"][0]["index"] == (7,)


# -- the bugs it must catch ----------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_a_transposed_weight_gradient_in_a_non_square_linear_is_caught(mode):
    rng = np.random.default_rng(2)
    report = check_gradients(LinearWithATransposedGradient(5, 3, rng), rng.standard_normal((4, 5)), mode=mode)
    assert failed_arrays(report) == {"W"}
    report = check_gradients(LinearAssigningATransposedGradient(5, 3, rng), rng.standard_normal((4, 5)), mode=mode)
    assert failed_arrays(report) == {"W"}
    assert "(a transposed gradient?)" in str(report)


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_one_over_m_is_caught(mode):
    rng = np.random.default_rng(3)
    prediction, target = rng.standard_normal((8, 2)), rng.standard_normal((8, 2))
    assert check_gradients(mean_squared_error, prediction, target, backward=mean_squared_error_backward,
                           mode=mode).ok
    report = check_gradients(mean_squared_error, prediction, target, mode=mode,
                             backward=mean_squared_error_backward_without_the_mean)
    assert failed_arrays(report) == {"prediction", "target"}  # named as the function names them
    assert all(result.rel_error > 0.8 for result in report)  # 16 times too big: (16 - 1) / (16 + 1)


@pytest.mark.parametrize("mode", MODES)
def test_a_dropout_backward_without_its_mask_is_caught(mode):
    """The check replays the layer's own Generator, so the differences see the analytic pass's mask."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 5))
    assert check_gradients(Dropout(0.5, np.random.default_rng(5)), x, mode=mode).ok
    assert failed_arrays(check_gradients(DropoutForgettingTheMask(0.5, np.random.default_rng(5)), x, mode=mode)) \
        == {"x"}


@pytest.mark.parametrize("mode", MODES)
def test_a_maxout_gradient_routed_to_the_wrong_piece_is_caught(mode):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 4))
    assert check_gradients(Maxout(4, 3, 2, np.random.default_rng(7)), x, mode=mode).ok
    report = check_gradients(MaxoutRoutedToTheWrongPiece(4, 3, 2, np.random.default_rng(7)), x, mode=mode)
    assert failed_arrays(report) == {"x", "W", "b"}


@pytest.mark.parametrize("mode", MODES)
def test_gradients_overwritten_instead_of_accumulated_are_caught(mode):
    """The parameter gradients compared are what a second forward and backward add to grads:
    a backward that overwrites adds nothing."""
    rng = np.random.default_rng(8)
    report = check_gradients(LinearOverwritingItsGradients(4, 3, rng), rng.standard_normal((5, 4)), mode=mode)
    assert failed_arrays(report) == {"W", "b"}
    assert "overwrite (=) instead of accumulating (+=)?" in str(report)


def test_a_sign_error_in_one_bias_entry_among_thousands_is_caught_in_both_modes():
    x = np.random.default_rng(9).standard_normal((3, 1))
    for seed in range(10):
        layer = LinearWithOneBiasSignFlipped(1, 2000, np.random.default_rng(seed))
        rng = np.random.default_rng(seed)
        assert failed_arrays(check_gradients(layer, x, mode="directional", rng=rng)) == {"b"}
    elementwise = check_gradients(layer, x, rng=rng)
    assert failed_arrays(elementwise) == {"b"}
    assert elementwise.failures[0].worst[0].index == (7,)


def test_directional_mode_misses_one_wrong_entry_as_often_as_the_formula_says():
    """One wrong entry e_i of a gradient g (here a sign error: e_i = -2 g_i) among n = 2000. With
    K Gaussian unit directions the check misses it when the norm-wise error over them stays
    below the threshold t: P(miss) = I_y(K/2, K/2), y = x / (1 + x), x = (t rho)^2,
    rho = ||g without entry i|| / |g_i| (docs/gradcheck.md): (2/pi) arctan(t rho) for K = 1,
    y^2 (3 - 2y) for K = 4. Here t rho = 1/2 (P = 0.295 and 0.104, a threshold made large so
    that misses can be counted); at the default threshold 1e-7 the same bug (rho = 51) is missed
    with P = 3 (1e-7 rho)^4, about 2e-21."""
    n, wrong = 2000, 7
    g = np.random.default_rng(10).standard_normal(n)
    rho = np.sqrt(np.sum(g ** 2) - g[wrong] ** 2) / abs(g[wrong])
    threshold = 0.5 / rho

    def score(bias):
        return np.sum(bias * g)

    def backward_with_a_sign_error(grad, bias):
        gradient = grad * g
        gradient[wrong] *= -1
        return gradient

    bias = np.zeros(n)
    for directions, predicted in ((1, 2 / math.pi * math.atan(0.5)), (4, 0.2 ** 2 * (3 - 2 * 0.2))):
        misses = [check_gradients(score, bias, backward=backward_with_a_sign_error, mode="directional",
                                  directions=directions, threshold=threshold, rng=np.random.default_rng(seed)).ok
                  for seed in range(400)]
        spread = 4 * math.sqrt(predicted * (1 - predicted) / len(misses))  # four binomial standard deviations
        assert abs(np.mean(misses) - predicted) < spread, (directions, np.mean(misses), predicted)


def test_an_all_ones_upstream_would_hide_permuted_output_units_but_not_a_transposed_weight():
    """Why the upstream gradient is random: with ones, every output unit gets the same upstream
    value, so a backward that sends unit j's gradient to unit j + 1 gives the same numbers."""
    rng = np.random.default_rng(11)

    class LinearWithUnitsShifted(Linear):
        def backward(self, grad_y):
            return super().backward(np.roll(grad_y, 1, axis=1))

    class LinearWithATransposedSquareWeight(Linear):
        def backward(self, grad_y):
            self.grads["W"] += (self.x.T @ grad_y).T
            self.grads["b"] += grad_y.sum(axis=0)
            return grad_y @ self.params["W"]

    x = rng.standard_normal((5, 4))

    def worst_with_ones(layer):
        upstream = np.ones((5, 4))
        layer.forward(x)
        analytic = {"x": layer.backward(upstream), **layer.grads}
        evaluate = lambda: (layer.forward(x), [])  # noqa: E731
        return max(rel_error(analytic[key], numerical_gradient(evaluate, array, upstream)[0])
                   for key, array in {"x": x, **layer.params}.items())

    assert worst_with_ones(LinearWithUnitsShifted(4, 4, rng)) < 1e-8  # hidden by ones
    assert not check_gradients(LinearWithUnitsShifted(4, 4, rng), x).ok  # caught by a random upstream
    assert worst_with_ones(LinearWithATransposedSquareWeight(4, 4, rng)) > 0.1  # ones do not hide this one


def test_the_differences_replay_the_random_state_of_the_analytic_pass():
    """Every evaluation rewinds each Generator the layer holds (here two dropouts' in a list of a
    user's container) to where the analytic pass started, so dropout draws the same masks. A
    layer drawing from numpy's global random state cannot be replayed: it fails."""

    class Chain:
        def __init__(self, *layers):
            self.layers, self.params, self.grads = list(layers), {}, {}

        def forward(self, x):
            for layer in self.layers:
                x = layer.forward(x)
            return x

        def backward(self, grad_y):
            for layer in reversed(self.layers):
                grad_y = layer.backward(grad_y)
            return grad_y

    class DropoutOnTheGlobalState(Dropout):
        def forward(self, x):
            self.mask = (np.random.random(x.shape) < self.keep_prob) / self.keep_prob
            return x * self.mask

    x = np.random.default_rng(15).standard_normal((6, 5))
    shared = np.random.default_rng(16)
    assert_gradients_match(Chain(Dropout(0.5, shared), LeakyReLU(0.2), Dropout(0.7, shared)), x + 5)
    assert not check_gradients(DropoutOnTheGlobalState(0.5, None), x).ok


# -- correct layers pass: no false alarm ---------------------------------------------------------

@st.composite
def correct_layers(draw):
    """A correct user layer and its input: LeakyReLU's inputs drawn away from its kink, maxout's
    not (its kink_state lets the check skip what straddles a tie), LayerNorm over 3 or more
    features (over 2 its derivative is of order eps / variance: all cancellation)."""
    kind = draw(st.sampled_from(["Linear", "LeakyReLU", "LayerNorm", "Dropout", "Maxout"]))
    rng = np.random.default_rng(draw(seeds))
    batch, features = draw(batch_sizes), draw(feature_counts)
    if kind == "LeakyReLU":
        return LeakyReLU(draw(st.floats(0.0, 0.5))), draw(away_from_kinks((batch, features)))
    if kind == "LayerNorm":
        features = draw(st.integers(3, 8))
        return LayerNorm(features, rng), rng.standard_normal((batch, features))
    layer = {"Linear": lambda: Linear(features, draw(feature_counts), rng),
             "Dropout": lambda: Dropout(draw(keep_probs), rng),
             "Maxout": lambda: Maxout(features, draw(st.integers(1, 3)), draw(st.integers(1, 4)), rng)}[kind]()
    return layer, 3 * rng.standard_normal((batch, features))


@settings(max_examples=200)
@given(correct_layers(), st.sampled_from(MODES), seeds)
def test_correct_user_layers_pass_in_both_modes(layer_and_input, mode, seed):
    layer, x = layer_and_input
    before = {key: value.copy() for key, value in {"x": x, **layer.params}.items()}
    report = assert_gradients_match(layer, x, mode=mode, rng=np.random.default_rng(seed))
    assert all(result.checked > 0 for result in report), str(report)
    for key, value in {"x": x, **layer.params}.items():
        np.testing.assert_array_equal(value, before[key])  # every perturbation undone


# -- thresholds by dtype, the subset mode, bad usage ---------------------------------------------

def test_the_default_threshold_follows_the_dtype_and_the_reference():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((4, 5))
    assert check_gradients(LayerNorm(5, rng), x).threshold == THRESHOLDS["longdouble"] == 1e-7
    assert check_gradients(LayerNorm(5, rng), x, reference=np.float64).threshold == THRESHOLDS["float64"]
    layer = LayerNorm(5, rng)
    layer.params = {key: value.astype(np.float32) for key, value in layer.params.items()}
    layer.grads = {key: value.astype(np.float32) for key, value in layer.grads.items()}
    report = check_gradients(layer, x.astype(np.float32))
    assert report.threshold == THRESHOLDS["float32"] and report.ok, str(report)
    assert "float32 code, longdouble finite differences" in str(report)
    assert check_gradients(LayerNorm(5, rng), x, threshold=1e-9).threshold == 1e-9


def test_elementwise_mode_can_check_a_random_subset_of_coordinates():
    rng = np.random.default_rng(13)
    report = check_gradients(Linear(30, 20, rng), rng.standard_normal((4, 30)), coordinates=25, rng=rng)
    assert [result.checked for result in report] == [25, 25, 20]  # x (120), W (600), b (20: all)


def test_bad_usage_is_refused_with_a_message():
    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 2))
    with pytest.raises(ValueError, match="layer"):
        check_gradients(Linear(2, 2, rng), x, backward=lambda g, x: g)
    with pytest.raises(TypeError, match="backward="):
        check_gradients(mean_squared_error, x, x)
    with pytest.raises(ValueError, match="float64"):
        check_gradients(Linear(2, 2, rng), x.astype(int))
    with pytest.raises(ValueError, match="NaN"):
        check_gradients(LeakyReLU(), np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="mode"):
        check_gradients(LeakyReLU(), x, mode="fast")
    with pytest.raises(TypeError, match="default_rng"):
        check_gradients(LeakyReLU(), x, rng=0)


def test_npgan_testing_needs_no_hypothesis_and_its_strategies_say_what_they_need():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import npgan.testing; print('npgan.testing imported')\n"
            "import npgan.testing.strategies\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(__file__))})
    assert completed.stdout.strip() == "npgan.testing imported"
    assert completed.returncode != 0
    assert "npgan.testing.strategies needs Hypothesis" in completed.stderr


# -- the paper-mnist networks: `npgan gradcheck --full-size`, here at reduced widths ---------------

def test_the_full_size_checks_pass_at_reduced_widths():
    results = run_full_size(0, **REDUCED)
    assert len(results) == 36  # 2 orders x (D + 2 G losses) x 6 arrays
    assert {result.check for result in results} == {
        f"{order} {step}" for order in ("sequential", "simultaneous")
        for step in ("D step", "G step [non-saturating]", "G step [minimax]")}
    assert all(result.mode == "directional" and result.checked == DIRECTIONS for result in results)
    assert all(result.ok and result.norm_error <= NETWORK_THRESHOLD for result in results), \
        [result for result in results if not result.ok]


def test_the_full_size_command_flags_a_maxout_backward_routed_to_the_wrong_piece(monkeypatch, capsys):
    monkeypatch.setattr(npgan.gradcheck, "run_full_size", functools.partial(run_full_size, **REDUCED))
    with npgan.kernels.use_backend("numpy"):  # the Numba path runs its own maxout kernels
        assert main(["gradcheck", "--full-size"]) == 0
        out = capsys.readouterr().out
        assert "norm_error" in out.splitlines()[0] and "36 checks, all passed (directional" in out

        correct_backward = npgan.layers.Maxout.backward  # npgan's (the user's Maxout above is another)

        def backward_to_the_wrong_piece(self, grad_y, **options):
            self._cache["winners"] = (self._cache["winners"] + 1) % self.pieces
            try:
                return correct_backward(self, grad_y, **options)
            finally:
                self._cache["winners"] = (self._cache["winners"] - 1) % self.pieces

        monkeypatch.setattr(npgan.layers.Maxout, "backward", backward_to_the_wrong_piece)
        assert main(["gradcheck", "--full-size"]) == 1
    out = capsys.readouterr().out
    failed = {word for line in out.splitlines() if line.endswith("FAIL") for word in line.split()
              if re.fullmatch(r"[DG]\.\d\.[Wb]", word)}
    assert failed >= {"D.1.W", "D.3.W", "G.0.W", "G.4.W"}  # D's maxouts, and G through them
    assert "FAILED" in out.splitlines()[-1]
