"""Layers: forward values against closed forms, gradients against finite differences,
the contract (params/grads, accumulation, dtypes, caches) and bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npgan.gradcheck import LAYER_THRESHOLD, away_from_zero, check_layer, inputs_with_clear_maxout_winners
from npgan.layers import Dropout, Linear, Maxout, ReLU, Sequential, Sigmoid, sigmoid
from tests.strategies import keep_probs, linear_shapes, maxout_shapes, seeds


def assert_all_pass(results):
    assert results, "no check ran"
    for result in results:
        assert result.checked > 0, result
        assert result.ok, result


# -- forward values ------------------------------------------------------------------------

def test_linear_forward_is_x_at_w_plus_b():
    layer = Linear(2, 3, rng=np.random.default_rng(0), dtype=np.float64)
    layer.params["W"][...] = [[1, 2, 3], [4, 5, 6]]
    layer.params["b"][...] = [0.5, -0.5, 1]
    x = np.array([[1.0, -1.0], [2.0, 0.5]])
    np.testing.assert_array_equal(layer.predict(x), [[-2.5, -3.5, -2.0], [4.5, 6.0, 10.0]])


def test_relu_forward():
    x = np.array([[-2.0, 0.0, 3.5]])
    np.testing.assert_array_equal(ReLU().predict(x), [[0.0, 0.0, 3.5]])


def test_sigmoid_values_and_extremes_without_warnings():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is exact enough
        for dtype in (np.float32, np.float64):
            x = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]], dtype=dtype)
            y = Sigmoid().predict(x)
            assert y.dtype == dtype
            assert y[0, 2] == 0.5
            assert y[0, 0] == 0.0 and y[0, 4] == 1.0
            np.testing.assert_allclose(y[0, 1], np.exp(-30.0) / (1 + np.exp(-30.0)), rtol=1e-6)
    assert np.isclose(sigmoid(np.float64(2.0)), 1 / (1 + np.exp(-2.0)))


def test_maxout_takes_the_max_of_consecutive_pieces():
    """Unit j is the max of detector columns j*pieces .. j*pieces + pieces - 1."""
    layer = Maxout(1, 2, 3, rng=np.random.default_rng(0), dtype=np.float64)
    layer.params["W"][...] = [[1.0, 5.0, 2.0, -1.0, -4.0, -2.0]]
    layer.params["b"][...] = 0.0
    y = layer.forward(np.array([[1.0], [-1.0]]))
    np.testing.assert_array_equal(y, [[5.0, -1.0], [-1.0, 4.0]])
    # backward routes each unit's gradient to its winning piece only
    layer.backward(np.array([[10.0, 20.0], [100.0, 200.0]]))
    # row 1 (x = 1): winners are pieces 1 and 0; row 2 (x = -1): pieces 0 and 1
    np.testing.assert_array_equal(layer.grads["b"], [100, 10, 0, 20, 200, 0])
    np.testing.assert_array_equal(layer.grads["W"], [[-100, 10, 0, 20, -200, 0]])


def test_dropout_keeps_with_probability_keep_prob_and_rescales():
    x = np.ones((2000, 50))
    y = Dropout(0.8, rng=np.random.default_rng(1)).predict(x)
    assert set(np.unique(y)) == {0.0, 1.25}
    assert abs((y > 0).mean() - 0.8) < 0.01
    assert abs(y.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation


def test_dropout_draws_a_fresh_mask_per_example_and_per_forward():
    layer = Dropout(0.5, rng=np.random.default_rng(2))
    x = np.ones((4, 64))
    first = layer.predict(x)
    second = layer.predict(x)
    assert not np.array_equal(first, second)
    assert len({row.tobytes() for row in first}) == 4


def test_dropout_is_the_identity_in_eval_mode_and_keep_prob_one():
    x = np.random.default_rng(3).standard_normal((5, 7))
    layer = Dropout(0.5, rng=np.random.default_rng(0)).eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    np.testing.assert_array_equal(Dropout(1.0, rng=np.random.default_rng(0)).predict(x), x)


# -- gradients against finite differences, over random shapes and values, on both paths --------
# (kernel_backend: once with the layers' own methods, once with the Numba kernels; the finite
# differences always run the reference in extended precision)

@given(linear_shapes(), seeds)
def test_linear_gradients(kernel_backend, shape, seed):
    batch, inputs, outputs = shape
    rng = np.random.default_rng(seed)
    layer = Linear(inputs, outputs, rng=rng, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(outputs)
    assert_all_pass(check_layer("Linear", layer, rng.standard_normal((batch, inputs)), rng))


@given(linear_shapes(), seeds)
def test_relu_gradients(kernel_backend, shape, seed):
    rng = np.random.default_rng(seed)
    assert_all_pass(check_layer("ReLU", ReLU(), away_from_zero(rng, shape[:2]), rng))


@given(linear_shapes(), seeds, st.floats(0.1, 10.0))
def test_sigmoid_gradients(kernel_backend, shape, seed, scale):
    rng = np.random.default_rng(seed)
    assert_all_pass(check_layer("Sigmoid", Sigmoid(), scale * rng.uniform(-1, 1, shape[:2]), rng))


@given(maxout_shapes(), seeds)
def test_maxout_gradients(kernel_backend, shape, seed):
    batch, inputs, units, pieces = shape
    rng = np.random.default_rng(seed)
    layer = Maxout(inputs, units, pieces, rng=rng, dtype=np.float64, init_scale=1.0)
    layer.params["b"][...] = rng.standard_normal(units * pieces)
    x = inputs_with_clear_maxout_winners(layer, rng, batch)
    assert_all_pass(check_layer("Maxout", layer, x, rng))


@given(linear_shapes(), seeds, keep_probs)
def test_dropout_gradients_with_a_fixed_mask(kernel_backend, shape, seed, keep_prob):
    rng = np.random.default_rng(seed)
    layer = Dropout(keep_prob, rng=rng)
    assert_all_pass(check_layer("Dropout", layer, rng.standard_normal(shape[:2]), rng))


@given(seeds)
def test_sequential_gradients(kernel_backend, seed):
    rng = np.random.default_rng(seed)
    net = Sequential(Linear(3, 5, rng=rng, dtype=np.float64), Sigmoid(),
                     Linear(5, 2, rng=rng, dtype=np.float64))
    assert_all_pass(check_layer("Sequential", net, rng.standard_normal((4, 3)), rng))


def test_the_layer_threshold_is_the_style_guide_one():
    assert LAYER_THRESHOLD == 1e-7


# -- the contract ------------------------------------------------------------------------------

def all_layers(rng, dtype=np.float64):
    return [Linear(4, 3, rng=rng, dtype=dtype), ReLU(), Sigmoid(),
            Maxout(4, 2, 3, rng=rng, dtype=dtype), Dropout(0.5, rng=rng)]


def test_params_and_grads_have_the_same_keys_shapes_and_dtypes():
    for layer in all_layers(np.random.default_rng(0), np.float32):
        assert layer.params.keys() == layer.grads.keys()
        for name in layer.params:
            assert layer.params[name].shape == layer.grads[name].shape
            assert layer.params[name].dtype == layer.grads[name].dtype == np.float32
    linear = Linear(7, 2, rng=np.random.default_rng(0))
    assert linear.params["W"].shape == (7, 2) and linear.params["b"].shape == (2,)
    maxout = Maxout(7, 3, 5, rng=np.random.default_rng(0))
    assert maxout.params["W"].shape == (7, 15) and maxout.params["b"].shape == (15,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_keep_the_dtype(dtype):
    rng = np.random.default_rng(0)
    for layer in all_layers(rng, dtype):
        x = rng.standard_normal((3, 4)).astype(dtype)
        y = layer.forward(x)
        grad = layer.backward(np.ones_like(y))
        assert y.dtype == dtype and grad.dtype == dtype, layer
        assert all(g.dtype == dtype for g in layer.grads.values())


def test_gradients_accumulate_until_zero_grad():
    rng = np.random.default_rng(0)
    for layer in (Linear(4, 3, rng=rng, dtype=np.float64), Maxout(4, 2, 3, rng=rng, dtype=np.float64)):
        x = rng.standard_normal((5, 4))
        upstream = rng.standard_normal(layer.forward(x).shape)
        layer.backward(upstream)
        once = {k: v.copy() for k, v in layer.grads.items()}
        layer.backward(upstream)  # the same pass backpropagated again adds the same gradient
        for name in once:
            np.testing.assert_allclose(layer.grads[name], 2 * once[name])
        layer.zero_grad()
        assert all(not g.any() for g in layer.grads.values())


def test_zero_grad_keeps_the_gradient_arrays():
    layer = Linear(2, 2, rng=np.random.default_rng(0))
    before = layer.grads["W"]
    layer.zero_grad()
    assert layer.grads["W"] is before


def test_sequential_dotted_names_and_shared_arrays():
    rng = np.random.default_rng(0)
    inner = Sequential(Linear(2, 3, rng=rng), ReLU())
    net = Sequential(Linear(4, 2, rng=rng), inner, Sigmoid())
    assert list(net.params) == ["0.W", "0.b", "1.0.W", "1.0.b"]
    assert list(net.grads) == list(net.params)
    assert net.params["1.0.W"] is inner.layers[0].params["W"]
    net.params["0.b"] += 1  # in-place updates through the view reach the layer
    assert np.all(net.layers[0].params["b"] == 1)


def test_sequential_train_and_eval_switch_dropout():
    rng = np.random.default_rng(0)
    net = Sequential(Dropout(0.5, rng=rng), Linear(4, 4, rng=rng, dtype=np.float64))
    x = np.ones((3, 4))
    net.eval()
    assert not net.layers[0].training
    np.testing.assert_array_equal(net.predict(x), net.predict(x))
    net.train()
    assert net.layers[0].training
    assert not np.array_equal(net.predict(x), net.predict(x))


def test_astype_converts_parameters_and_gradients():
    net = Sequential(Linear(3, 2, rng=np.random.default_rng(0)), Sigmoid())
    net.astype(np.float64)
    assert all(p.dtype == np.float64 for p in net.params.values())
    assert all(g.dtype == np.float64 for g in net.grads.values())


# -- randomness --------------------------------------------------------------------------------

def test_layers_draw_only_from_their_own_generator():
    np.random.seed(0)
    first = Sequential(Linear(5, 4, rng=np.random.default_rng(42)), Maxout(4, 2, 2, rng=np.random.default_rng(43)))
    np.random.seed(1)
    second = Sequential(Linear(5, 4, rng=np.random.default_rng(42)), Maxout(4, 2, 2, rng=np.random.default_rng(43)))
    for name in first.params:
        np.testing.assert_array_equal(first.params[name], second.params[name])
    np.random.seed(0)
    mask_a = Dropout(0.5, rng=np.random.default_rng(7)).predict(np.ones((4, 9)))
    np.random.seed(1)
    mask_b = Dropout(0.5, rng=np.random.default_rng(7)).predict(np.ones((4, 9)))
    np.testing.assert_array_equal(mask_a, mask_b)


@pytest.mark.parametrize("make", [
    lambda rng: Linear(2, 2, rng=rng),
    lambda rng: Maxout(2, 2, 2, rng=rng),
    lambda rng: Dropout(0.5, rng=rng),
])
@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)])
def test_a_missing_generator_is_a_helpful_error(make, rng):
    with pytest.raises(TypeError, match="default_rng"):
        make(rng)


# -- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("keep_prob", [0, 0.0, -0.5, 1.5, float("nan"), float("inf"), True, "0.5", None])
def test_keep_prob_outside_0_1_is_a_value_error(keep_prob):
    with pytest.raises(ValueError, match="keep_prob"):
        Dropout(keep_prob, rng=np.random.default_rng(0))


def test_wrong_input_width_names_the_layer_and_both_shapes():
    layer = Linear(784, 240, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Linear\(784 -> 240\).*\(N, 784\).*\(100, 785\)"):
        layer.forward(np.zeros((100, 785), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Maxout.*\(N, 3\).*\(2, 3, 1\)"):
        Maxout(3, 2, 2, rng=np.random.default_rng(0)).forward(np.zeros((2, 3, 1), dtype=np.float32))


def test_wrong_upstream_gradient_shape_is_a_value_error():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    layer.forward(np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expected.*\(4, 2\)"):
        layer.backward(np.zeros((4, 3), dtype=np.float32))


@pytest.mark.parametrize("x", [np.zeros((2, 3), dtype=np.float64), np.zeros((2, 3), dtype=np.int64),
                               [[0.0, 0.0, 0.0]]])
def test_wrong_input_dtype_is_a_value_error(x):
    with pytest.raises(ValueError, match="dtype|numpy array"):
        Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float32).forward(x)


def test_integer_input_to_parameterless_layers_is_a_value_error():
    for layer in (ReLU(), Sigmoid(), Dropout(0.5, rng=np.random.default_rng(0))):
        with pytest.raises(ValueError, match="floating-point"):
            layer.forward(np.zeros((2, 2), dtype=np.int32))


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3), (True, 3)])
def test_bad_layer_sizes_are_value_errors(args):
    with pytest.raises(ValueError, match=r"must be an integer >= 1"):
        Linear(*args, rng=np.random.default_rng(0))
