"""The two kernel backends (npgan/kernels): each Numba kernel against its NumPy reference,
the switch, the layers and a training run on both paths, and npgan gradcheck on both.

How close the paths must be, and why:

- Elementwise work (bias, activation, maxout max and winner, the scatter, the bias sum,
  dropout, the momentum update) is the same operations in the same order and dtype in
  both (no fastmath), so it must agree bit for bit.
- The products: both paths call NumPy's today, so they agree exactly, but the tests allow
  what floating point allows for another BLAS or another summation order (np.dot inside
  Numba goes to SciPy's BLAS; kernels/gemm.py sums its own), so that a kernel computing
  its own product is held to a bound, not to luck. A length-K dot product in floating point is
  within gamma_K |x| |w| of the exact one (gamma_K ~ K eps), so two of them differ by at
  most 2 gamma_K |x| |w|: that elementwise bound is the tolerance on random data.
  On data whose products are exact in any order (small integers and dyadic fractions:
  every partial sum is representable) the whole kernel must agree bit for bit.
- exp: NumPy's float32 exp is its own SIMD code, Numba's is libm's expf; both are
  within about 1 ulp, so sigmoid outputs may differ by a few ulp (4 eps relative here).

Every kernel is compiled once per signature (float32 and float64) and cached on disk
(cache=True), so the suite pays Numba's compilation at most once.
"""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import npgan.kernels
from npgan.data.toy import RING8
from npgan.gradcheck import run_all
from npgan.kernels import compiled, reference
from npgan.layers import Dropout, Linear, Maxout, ReLU, Sequential, Sigmoid
from npgan.models import preset_config
from npgan.train import Trainer
from tests.strategies import seeds

DTYPES = (np.float32, np.float64)
EXP_ULPS = 4


def exact_data(rng, shape, dtype):
    """Small integers over 8: products and sums stay exact in float32 in any order."""
    return (rng.integers(-4, 5, size=shape) / 8).astype(dtype)


def product_bound(x, W, b, dtype):
    """2 gamma_{K+1} (|x| |W| + |b|): how far two correct BLAS products (plus bias) may differ."""
    depth = x.shape[1] + 1
    eps = np.finfo(dtype).eps
    return 2 * depth * eps * (np.abs(x).astype(np.float64) @ np.abs(W) + np.abs(b))


shapes = st.tuples(st.integers(1, 7), st.integers(1, 9), st.integers(1, 5), st.integers(1, 4))


def layer_arrays(seed, shape, dtype, exact):
    rows, in_features, units, pieces = shape
    rng = np.random.default_rng(seed)
    make = (lambda s: exact_data(rng, s, dtype)) if exact else (lambda s: rng.standard_normal(s).astype(dtype))
    x, W, b = make((rows, in_features)), make((in_features, units * pieces)), make((units * pieces,))
    return rng, x, W, b


# -- forward kernels --------------------------------------------------------------------------

@settings(max_examples=15)
@given(seeds, shapes, st.sampled_from(DTYPES), st.booleans())
def test_forward_kernels_match_the_reference(seed, shape, dtype, exact):
    _, x, W, b = layer_arrays(seed, shape, dtype, exact)
    bound = 0 if exact else product_bound(x, W, b, dtype)
    for name in ("affine", "affine_relu"):  # relu is 1-Lipschitz: the product's bound holds
        expected, got = getattr(reference, name)(x, W, b), getattr(compiled, name)(x, W, b)
        assert got.dtype == expected.dtype == dtype
        assert np.all(np.abs(got - expected) <= bound), name
    # sigmoid is 1/4-Lipschitz, then exp's few ulp
    expected, got = reference.affine_sigmoid(x, W, b), compiled.affine_sigmoid(x, W, b)
    assert got.dtype == dtype
    assert np.all(np.abs(got - expected) <= bound / 4 + EXP_ULPS * np.finfo(dtype).eps * np.abs(expected))


@settings(max_examples=15)
@given(seeds, shapes, st.sampled_from(DTYPES))
def test_maxout_forward_matches_the_reference_winners_and_ties_included(seed, shape, dtype):
    """On exact data ties are frequent: the first maximal piece wins on both paths."""
    pieces = shape[3]
    _, x, W, b = layer_arrays(seed, shape, dtype, exact=True)
    expected, expected_winners = reference.affine_maxout(x, W, b, pieces)
    got, got_winners = compiled.affine_maxout(x, W, b, pieces)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_winners, expected_winners)
    assert got.dtype == dtype


def test_maxout_winner_with_nan_is_argmax():
    x = np.array([[1.0]])
    W = np.array([[1.0, np.nan, 3.0, 2.0]])
    b = np.zeros(4)
    for kernels in (reference, compiled):
        np.testing.assert_array_equal(kernels.affine_maxout(x, W, b, 2)[1], [[1, 0]])


@settings(max_examples=10)
@given(seeds, st.tuples(st.integers(1, 6), st.integers(1, 6)), st.sampled_from(DTYPES))
def test_elementwise_activations_match_the_reference(seed, shape, dtype):
    rng = np.random.default_rng(seed)
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    x[0, 0] = 0  # the kink itself
    g = rng.standard_normal(shape).astype(dtype)
    np.testing.assert_array_equal(compiled.relu(x), reference.relu(x))
    np.testing.assert_allclose(compiled.sigmoid(x), reference.sigmoid(x), rtol=EXP_ULPS * np.finfo(dtype).eps,
                               atol=0)
    y = reference.sigmoid(x)
    np.testing.assert_array_equal(compiled.relu_backward(g, reference.relu(x)),
                                  reference.relu_backward(g, reference.relu(x)))
    np.testing.assert_array_equal(compiled.sigmoid_backward(g, y), reference.sigmoid_backward(g, y))


# -- backward kernels -------------------------------------------------------------------------

def run_backward(kernels, name, x, W, b, grad, extra, start, **options):
    grad_W, grad_b = start[0].copy(), start[1].copy()
    grad_x = getattr(kernels, name)(x, W, *extra, grad, grad_W, grad_b, **options) \
        if name != "maxout_backward" else \
        kernels.maxout_backward(x, W, extra[0], grad, grad_W, grad_b, extra[1], **options)
    return grad_x, grad_W, grad_b


@settings(max_examples=15)
@given(seeds, shapes, st.sampled_from(DTYPES))
def test_backward_kernels_match_the_reference_bit_for_bit_on_exact_data(seed, shape, dtype):
    """The gradients accumulate into non-zero arrays, as on a second pass through D."""
    rng, x, W, b = layer_arrays(seed, shape, dtype, exact=True)
    pieces = shape[3]
    start = (exact_data(rng, W.shape, dtype), exact_data(rng, b.shape, dtype))
    _, winners = reference.affine_maxout(x, W, b, pieces)
    cases = {
        "affine_backward": ((), exact_data(rng, (len(x), W.shape[1]), dtype)),
        "affine_relu_backward": ((reference.affine_relu(x, W, b),), exact_data(rng, (len(x), W.shape[1]), dtype)),
        # y (1 - y) with y a dyadic fraction keeps the products exact too
        "affine_sigmoid_backward": ((exact_data(rng, (len(x), W.shape[1]), dtype) + dtype(0.5),),
                                    exact_data(rng, (len(x), W.shape[1]), dtype)),
        "maxout_backward": ((winners, pieces), exact_data(rng, winners.shape, dtype)),
    }
    for name, (extra, grad) in cases.items():
        expected = run_backward(reference, name, x, W, b, grad, extra, start)
        got = run_backward(compiled, name, x, W, b, grad, extra, start)
        for what, e, g in zip(("dx", "dW", "db"), expected, got):
            assert g.dtype == dtype, (name, what)
            np.testing.assert_array_equal(g, e, err_msg=f"{name} {what}")


@settings(max_examples=10)
@given(seeds, shapes, st.sampled_from(DTYPES))
def test_backward_kernels_within_the_product_bound_on_random_data(seed, shape, dtype):
    rng, x, W, b = layer_arrays(seed, shape, dtype, exact=False)
    grad = rng.standard_normal((len(x), W.shape[1])).astype(dtype)
    zero = (np.zeros_like(W), np.zeros_like(b))
    expected = run_backward(reference, "affine_backward", x, W, b, grad, (), zero)
    got = run_backward(compiled, "affine_backward", x, W, b, grad, (), zero)
    eps = np.finfo(dtype).eps
    np.testing.assert_array_equal(got[2], expected[2])  # the bias sum: same order
    assert np.all(np.abs(got[0] - expected[0]) <= 2 * W.shape[1] * eps * (np.abs(grad) @ np.abs(W).T))
    assert np.all(np.abs(got[1] - expected[1]) <= 2 * len(x) * eps * (np.abs(x).T @ np.abs(grad)))


@settings(max_examples=10)
@given(seeds, shapes, st.sampled_from(DTYPES))
def test_backward_kernels_skip_what_they_are_told_and_keep_the_rest_bit_for_bit(seed, shape, dtype):
    """param_grads=False: grad_W and grad_b untouched, the same dx; input_grad=False: None,
    the same grad_W and grad_b; on each implementation, against its own full call."""
    rng, x, W, b = layer_arrays(seed, shape, dtype, exact=False)
    pieces = shape[3]
    start = (rng.standard_normal(W.shape).astype(dtype), rng.standard_normal(b.shape).astype(dtype))
    _, winners = reference.affine_maxout(x, W, b, pieces)
    grad = rng.standard_normal((len(x), W.shape[1])).astype(dtype)
    cases = {
        "affine_backward": (), "affine_relu_backward": (reference.affine_relu(x, W, b),),
        "affine_sigmoid_backward": (reference.affine_sigmoid(x, W, b),), "maxout_backward": (winners, pieces),
    }
    for kernels in (reference, compiled):
        for name, extra in cases.items():
            grad_y = rng.standard_normal(winners.shape).astype(dtype) if name == "maxout_backward" else grad
            full = run_backward(kernels, name, x, W, b, grad_y, extra, start)
            without_params = run_backward(kernels, name, x, W, b, grad_y, extra, start, param_grads=False)
            without_input = run_backward(kernels, name, x, W, b, grad_y, extra, start, input_grad=False)
            where = f"{kernels.__name__}.{name}"
            np.testing.assert_array_equal(without_params[0], full[0], err_msg=where)
            for got, unchanged in zip(without_params[1:], start):
                np.testing.assert_array_equal(got, unchanged, err_msg=where)
            assert without_input[0] is None, where
            for got, accumulated in zip(without_input[1:], full[1:]):
                np.testing.assert_array_equal(got, accumulated, err_msg=where)


# -- dropout and momentum ---------------------------------------------------------------------

@settings(max_examples=10)
@given(seeds, st.sampled_from(DTYPES), st.floats(0.05, 1.0))
def test_dropout_kernel_is_bit_identical(seed, dtype, keep_prob):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 7)).astype(dtype)
    uniform = rng.random(x.shape)
    for got, expected in zip(compiled.dropout(x, uniform, keep_prob), reference.dropout(x, uniform, keep_prob)):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, expected)


@settings(max_examples=10)
@given(seeds, st.sampled_from(DTYPES))
def test_momentum_update_is_bit_identical_and_in_place(seed, dtype):
    rng = np.random.default_rng(seed)
    param, velocity, grad = (rng.standard_normal((4, 3)).astype(dtype) for _ in range(3))
    learning_rate, momentum = dtype(rng.uniform(0, 1)), dtype(rng.uniform(0, 1))
    expected_param, expected_velocity = param.copy(), velocity.copy()
    reference.momentum_update(expected_param, expected_velocity, grad, learning_rate, momentum)
    param_id = id(param)
    compiled.momentum_update(param, velocity, grad, learning_rate, momentum)
    assert id(param) == param_id
    np.testing.assert_array_equal(param, expected_param)
    np.testing.assert_array_equal(velocity, expected_velocity)


# -- the switch ---------------------------------------------------------------------------------

def test_set_backend_and_use_backend():
    assert npgan.kernels.get_backend() in npgan.kernels.BACKENDS
    before = npgan.kernels.get_backend()
    with pytest.raises(ValueError, match="unknown kernel backend 'cuda'; valid: numpy, numba"):
        npgan.kernels.set_backend("cuda")
    with pytest.raises(RuntimeError):
        with npgan.kernels.use_backend("numba"):
            assert npgan.kernels.get_backend() == "numba"
            raise RuntimeError
    assert npgan.kernels.get_backend() == before


def test_the_environment_variable_chooses_the_backend(monkeypatch):
    try:
        monkeypatch.setenv("NPGAN_KERNELS", "numba")
        assert importlib.reload(npgan.kernels).get_backend() == "numba"
        monkeypatch.setenv("NPGAN_KERNELS", "fortran")
        with pytest.raises(ValueError, match="NPGAN_KERNELS: unknown kernel backend 'fortran'"):
            importlib.reload(npgan.kernels)
    finally:
        monkeypatch.delenv("NPGAN_KERNELS")
        importlib.reload(npgan.kernels)
    assert npgan.kernels.get_backend() == "numpy"


def test_other_dtypes_go_through_the_reference_on_the_numba_backend():
    layer = Linear(3, 2, rng=np.random.default_rng(0), dtype=np.longdouble)
    x = np.ones((2, 3), dtype=np.longdouble)
    with npgan.kernels.use_backend("numba"):
        assert npgan.kernels._implementation(x) is reference
        assert layer.predict(x).dtype == np.longdouble


# -- layers, a training run and the gradient checks on both paths ------------------------------------

def a_network(rng, dtype):
    return Sequential(Dropout(0.8, rng=rng), Maxout(6, 4, 3, rng=rng, dtype=dtype, init_scale=0.5),
                      Linear(4, 5, rng=rng, dtype=dtype, init_scale=0.5), ReLU(),
                      Linear(5, 6, rng=rng, dtype=dtype, init_scale=0.5), Sigmoid())


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_network_forward_and_backward_agree_across_backends(dtype):
    """Dropout masks come from the same Generator stream on both paths: the same masks."""
    results = {}
    for backend in npgan.kernels.BACKENDS:
        with npgan.kernels.use_backend(backend):
            network = a_network(np.random.default_rng(0), dtype)
            x = np.random.default_rng(1).standard_normal((5, 6)).astype(dtype)
            y = network.forward(x)
            kinks = [layer.kink_state() for layer in network.layers if layer.kink_state() is not None]
            with pytest.raises(RuntimeError, match="forward called again"):
                network.forward(x)  # the fused pair refuses a second pass like the layers
            grad_x = network.backward(np.random.default_rng(2).standard_normal(y.shape).astype(dtype))
            results[backend] = (y, grad_x, network.grads, kinks)
    eps = np.finfo(dtype).eps
    (y0, dx0, grads0, kinks0), (y1, dx1, grads1, kinks1) = results["numpy"], results["numba"]
    for k0, k1 in zip(kinks0, kinks1):
        np.testing.assert_array_equal(k0, k1)
    np.testing.assert_allclose(y1, y0, rtol=64 * eps)
    np.testing.assert_allclose(dx1, dx0, rtol=64 * eps, atol=64 * eps * np.abs(dx0).max())
    for name in grads0:
        scale = np.abs(grads0[name]).max()
        np.testing.assert_allclose(grads1[name], grads0[name], rtol=64 * eps, atol=64 * eps * scale)


def every_kind_of_layer(rng, dtype):
    """Each layer type alone, each pair the numba backend fuses, a chain like paper-mnist's D
    and G in one (an input dropout below its lowest parameters), and a nested chain."""
    def linear(fan_in, fan_out):
        return Linear(fan_in, fan_out, rng=rng, dtype=dtype, init_scale=0.5)

    return [linear(6, 4), ReLU(), Sigmoid(), Maxout(6, 2, 3, rng=rng, dtype=dtype, init_scale=0.5),
            Dropout(0.7, rng=rng), Sequential(linear(6, 5), ReLU()), Sequential(linear(6, 5), Sigmoid()),
            Sequential(Dropout(0.8, rng=rng), Maxout(6, 4, 3, rng=rng, dtype=dtype, init_scale=0.5),
                       Dropout(0.5, rng=rng), linear(4, 5), ReLU(), linear(5, 6), Sigmoid()),
            Sequential(ReLU(), Sequential(Dropout(0.5, rng=rng), linear(6, 5)), ReLU(), linear(5, 3))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", npgan.kernels.BACKENDS)
def test_backward_without_param_grads_or_input_grad_keeps_the_rest_bit_for_bit(backend, dtype):
    """One pass of each layer backpropagated four times from the same grads (random, not zero):
    param_grads=False leaves them exactly as they were and returns the full backward's dx;
    input_grad=False returns None and adds exactly the full backward's gradients."""
    rng = np.random.default_rng(0)
    with npgan.kernels.use_backend(backend):
        for layer in every_kind_of_layer(rng, dtype):
            x = rng.standard_normal((5, 6)).astype(dtype)
            upstream = rng.standard_normal(layer.forward(x).shape).astype(dtype)
            start = {name: rng.standard_normal(g.shape).astype(dtype) for name, g in layer.grads.items()}

            def backward(**options):
                for name, gradient in layer.grads.items():
                    gradient[...] = start[name]
                grad_x = layer.backward(upstream, **options)
                return grad_x, {name: gradient.copy() for name, gradient in layer.grads.items()}

            full_dx, full_grads = backward()
            for options, grads_expected in (({"param_grads": False}, start), ({"input_grad": False}, full_grads),
                                            ({"param_grads": False, "input_grad": False}, start)):
                grad_x, grads = backward(**options)
                if options.get("input_grad", True):
                    np.testing.assert_array_equal(grad_x, full_dx, err_msg=f"{layer} {options}")
                else:
                    assert grad_x is None, (layer, options)
                assert grads.keys() == grads_expected.keys()
                for name in grads:
                    np.testing.assert_array_equal(grads[name], grads_expected[name],
                                                  err_msg=f"{layer} {name} {options}")
            layer.forward(x)  # every layer's pass was closed, skipped ones included
            layer.clear_cache()


BACKWARD_KERNELS = ("affine_backward", "affine_relu_backward", "affine_sigmoid_backward", "maxout_backward")


def spy_on_backward_kernels(monkeypatch):
    """Record (kernel, param_grads, input_grad) for every backward kernel the layers call."""
    calls = []
    for name in BACKWARD_KERNELS:
        def spy(*arrays, _name=name, _kernel=getattr(npgan.kernels, name), **options):
            calls.append((_name, options.get("param_grads", True), options.get("input_grad", True)))
            return _kernel(*arrays, **options)
        monkeypatch.setattr(npgan.kernels, name, spy)
    return calls


@pytest.mark.parametrize("backend", npgan.kernels.BACKENDS)
def test_a_chain_computes_no_input_gradient_below_its_lowest_parameters(backend, monkeypatch):
    """In a chain like paper-mnist's D (dropout, maxout, ...), input_grad=False reaches the
    maxout: its dz W^T is not computed, and the dropout below it is skipped, not run."""
    rng = np.random.default_rng(0)
    with npgan.kernels.use_backend(backend):
        chain = every_kind_of_layer(rng, np.float32)[7]
        x = rng.standard_normal((5, 6)).astype(np.float32)
        upstream = rng.standard_normal(chain.forward(x).shape).astype(np.float32)
        calls = spy_on_backward_kernels(monkeypatch)

        def refuse(grad_out, **options):
            raise AssertionError("the input dropout was backpropagated")

        monkeypatch.setattr(chain.layers[0], "backward", refuse)
        assert chain.backward(upstream, input_grad=False) is None
        assert [call[1:] for call in calls] == [(True, True), (True, True), (True, False)]
        assert calls[-1][0] == "maxout_backward"
        monkeypatch.undo()
        calls = spy_on_backward_kernels(monkeypatch)
        assert chain.backward(upstream, param_grads=False).shape == x.shape
        assert [call[1:] for call in calls] == [(False, True)] * 3
        chain.forward(x)  # the skipped dropout's pass was closed


def test_training_on_both_backends_is_reproducible_and_agrees():
    """Ten float32 iterations of a small momentum GAN with dropout: each backend repeats
    itself exactly; the two agree to float32 rounding (exp and BLAS order are all that
    differ)."""
    config = preset_config("ring8", generator_hidden=[16], discriminator_hidden=[16, 16],
                           discriminator_keep_probs=[1.0, 0.5, 0.5], batch_size=32, optimizer="momentum",
                           learning_rate=0.05, update_order="simultaneous")
    finals = {}
    for backend in ("numba", "numpy", "numba"):
        with npgan.kernels.use_backend(backend):
            trainer = Trainer(config, RING8)
            for _ in range(10):
                trainer.train_iteration()
        params = {name: value.copy() for name, value in trainer.gan.params.items()}
        if backend in finals:
            for name, value in params.items():
                np.testing.assert_array_equal(value, finals[backend][name])
        finals[backend] = params
    for name, value in finals["numpy"].items():
        np.testing.assert_allclose(finals["numba"][name], value, rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("backend", npgan.kernels.BACKENDS)
def test_npgan_gradcheck_passes_on_both_backends(backend):
    with npgan.kernels.use_backend(backend):
        results = run_all(seed=3)
    assert len(results) == 73
    failures = [r for r in results if not r.ok]
    assert not failures, failures


# -- the hand-written GEMM (benchmarked, not used by the layers) ---------------------------------------

@pytest.mark.parametrize("shape", [(1, 1, 1), (17, 130, 3), (5, 7, 515)])  # edges of every block size
def test_the_blocked_gemm_is_a_matrix_product(shape):
    from npgan.kernels.gemm import blocked_matmul
    rows, inner, columns = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner)).astype(np.float32)
    b = rng.standard_normal((inner, columns)).astype(np.float32)
    got = blocked_matmul(a, b)
    assert got.dtype == np.float32 and got.shape == (rows, columns)
    exact = a.astype(np.float64) @ b
    bound = inner * np.finfo(np.float32).eps * (np.abs(a).astype(np.float64) @ np.abs(b))
    assert np.all(np.abs(got - exact) <= bound)
    exact_a, exact_b = exact_data(rng, a.shape, np.float32), exact_data(rng, b.shape, np.float32)
    np.testing.assert_array_equal(blocked_matmul(exact_a, exact_b), exact_a @ exact_b)
