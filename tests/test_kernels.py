"""The fast path (npgan/kernels) against the reference (the layers' own methods): each runner
against its layer, the switch, a network and a training run on both paths, npgan gradcheck
on both.

How close the paths must be, and why:

- Elementwise work (bias, activation, maxout max and winner, the scatter, the bias sum,
  dropout, the momentum update) is the same operations in the same order and dtype on both
  (no fastmath), so it must agree bit for bit.
- The products: both paths call NumPy's today, so they agree exactly, but the tests allow
  what floating point allows for another BLAS or another summation order (np.dot inside
  Numba goes to SciPy's BLAS; kernels/gemm.py sums its own), so that a kernel computing its
  own product is held to a bound, not to luck. A length-K dot product in floating point is
  within gamma_K |x| |w| of the exact one (gamma_K ~ K eps), so two of them differ by at
  most 2 gamma_K |x| |w|: that elementwise bound is the tolerance on random data. On data
  whose products are exact in any order (small integers and dyadic fractions: every partial
  sum is representable) the whole layer must agree bit for bit.
- exp: NumPy's float32 exp is its own SIMD code, Numba's is libm's expf; both are within
  about 1 ulp, so sigmoid outputs may differ by a few ulp (4 eps relative here).

Every kernel is compiled once per signature (float32 and float64) and cached on disk
(cache=True), so the suite pays Numba's compilation at most once.
"""

import copy
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import npgan.kernels
from npgan.data.toy import RING8
from npgan.gradcheck import run_all
from npgan.kernels import backend, runner
from npgan.layers import Dropout, Linear, Maxout, ReLU, Sequential, Sigmoid
from npgan.models import preset_config
from npgan.optim import Adam, MomentumSGD, ParameterAverage
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


def make_layer(kind, shape, dtype, rng, make):
    """A Linear, a Linear-ReLU or Linear-Sigmoid pair (fused on the numba path) or a Maxout
    of ``shape`` (rows, in_features, units, pieces), its arrays from ``make``."""
    _, in_features, units, pieces = shape
    if kind == "maxout":
        layer = Maxout(in_features, units, pieces, rng=rng, dtype=dtype)
    else:
        layer = Linear(in_features, units * pieces, rng=rng, dtype=dtype)
    layer.params["W"][...] = make(layer.params["W"].shape)
    layer.params["b"][...] = make(layer.params["b"].shape)
    return {"linear": layer, "maxout": layer, "linear-relu": Sequential(layer, ReLU()),
            "linear-sigmoid": Sequential(layer, Sigmoid())}[kind]


def both_paths(layer, x, upstream, start=None, **options):
    """(output, dx, grads, kink states) of ``layer`` on the reference and of an identical copy
    on its numba runner; grads accumulate into ``start`` (or zeros)."""
    results = []
    for path, subject in (("numpy", layer), ("numba", copy.deepcopy(layer))):
        with npgan.kernels.use_backend(path):
            for name, gradient in subject.grads.items():
                gradient[...] = 0 if start is None else start[name]
            run = runner(subject)
            y = run.forward(x)
            kinks = [sub.kink_state() for sub in getattr(subject, "layers", [subject])]
            dx = run.backward(upstream(y) if callable(upstream) else upstream, **options)
            results.append((y, dx, {k: v.copy() for k, v in subject.grads.items()}, kinks))
    return results


# -- forward and backward of each layer, on exact data bit for bit -------------------------------

@settings(max_examples=15)
@given(seeds, shapes, st.sampled_from(DTYPES), st.sampled_from(["linear", "linear-relu", "linear-sigmoid",
                                                                 "maxout"]))
def test_each_runner_matches_its_layer_bit_for_bit_on_exact_data(seed, shape, dtype, kind):
    """Forward, winners (ties are frequent on exact data: the first maximal piece wins on both),
    dx and gradients accumulated into non-zero arrays, as on a second pass through D."""
    rng = np.random.default_rng(seed)
    layer = make_layer(kind, shape, dtype, rng, lambda s: exact_data(rng, s, dtype))
    x = exact_data(rng, (shape[0], shape[1]), dtype)
    start = {name: exact_data(rng, g.shape, dtype) for name, g in layer.grads.items()}
    grad_y = lambda y: exact_data(np.random.default_rng(seed), y.shape, dtype)  # noqa: E731
    if kind == "linear-sigmoid":  # z = 0, y = 1/2: y and y (1 - y) exact, every product exact
        layer.layers[0].params["W"][...] = 0
        layer.layers[0].params["b"][...] = 0
    (y0, dx0, grads0, kinks0), (y1, dx1, grads1, kinks1) = both_paths(layer, x, grad_y, start)
    assert y1.dtype == dx1.dtype == dtype
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)
    for name in grads0:
        np.testing.assert_array_equal(grads1[name], grads0[name], err_msg=name)
    for k0, k1 in zip(kinks0, kinks1):
        np.testing.assert_array_equal(k1, k0)


@settings(max_examples=15)
@given(seeds, shapes, st.sampled_from(DTYPES))
def test_forward_and_backward_within_the_product_bound_on_random_data(seed, shape, dtype):
    rng = np.random.default_rng(seed)
    normal = lambda s: rng.standard_normal(s).astype(dtype)  # noqa: E731
    x, eps = normal((shape[0], shape[1])), np.finfo(dtype).eps
    for kind in ("linear", "linear-relu", "linear-sigmoid"):  # relu is 1-Lipschitz, sigmoid 1/4
        layer = make_layer(kind, shape, dtype, rng, normal)
        linear = layer if kind == "linear" else layer.layers[0]
        W, b = linear.params["W"], linear.params["b"]
        grad = normal((shape[0], W.shape[1]))
        (y0, dx0, grads0, _), (y1, dx1, grads1, _) = both_paths(layer, x, grad)
        bound = product_bound(x, W, b, dtype) * (0.25 if kind == "linear-sigmoid" else 1)
        bound = bound + (EXP_ULPS * eps * np.abs(y0) if kind == "linear-sigmoid" else 0)
        assert np.all(np.abs(y1 - y0) <= bound), kind
        if kind == "linear":
            np.testing.assert_array_equal(grads1["b"], grads0["b"])  # the bias sum: same order
            assert np.all(np.abs(dx1 - dx0) <= 2 * W.shape[1] * eps * (np.abs(grad) @ np.abs(W).T))
            assert np.all(np.abs(grads1["W"] - grads0["W"]) <= 2 * len(x) * eps * (np.abs(x).T @ np.abs(grad)))


def test_maxout_winner_with_nan_is_argmax_on_both_paths():
    layer = Maxout(1, 2, 2, rng=np.random.default_rng(0), dtype=np.float64)
    layer.params["W"][...] = [[1.0, np.nan, 3.0, 2.0]]
    for path in npgan.kernels.BACKENDS:
        with npgan.kernels.use_backend(path):
            runner(layer).forward(np.array([[1.0]]))
            np.testing.assert_array_equal(layer.kink_state(), [[1, 0]])
            layer.clear_cache()


@settings(max_examples=10)
@given(seeds, st.tuples(st.integers(1, 6), st.integers(1, 6)), st.sampled_from(DTYPES))
def test_activations_alone_match_their_layers(seed, shape, dtype):
    rng = np.random.default_rng(seed)
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    x[0, 0] = 0  # the kink itself
    g = rng.standard_normal(shape).astype(dtype)
    (y0, dx0, _, _), (y1, dx1, _, _) = both_paths(ReLU(), x, g)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)
    (y0, dx0, _, _), (y1, dx1, _, _) = both_paths(Sigmoid(), x, g)
    np.testing.assert_allclose(y1, y0, rtol=EXP_ULPS * np.finfo(dtype).eps, atol=0)
    # the backward from the same y: bit for bit
    layer = Sigmoid()
    layer.forward(x)
    y = layer.kept(g)["y"]
    with npgan.kernels.use_backend("numba"):
        np.testing.assert_array_equal(backend.compiled_kernels(g, y).sigmoid_backward(g, y), g * y * (1 - y))


@settings(max_examples=10)
@given(seeds, st.sampled_from(DTYPES), st.floats(0.05, 1.0))
def test_dropout_runner_draws_the_same_masks_bit_for_bit(seed, dtype, keep_prob):
    x = np.random.default_rng(seed).standard_normal((5, 7)).astype(dtype)
    layer = Dropout(keep_prob, rng=np.random.default_rng(seed))
    (y0, dx0, _, _), (y1, dx1, _, _) = both_paths(layer, x, x)
    assert y1.dtype == dtype
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)


@settings(max_examples=10)
@given(seeds, st.sampled_from(DTYPES))
def test_the_momentum_update_is_bit_identical_on_both_paths_and_in_place(seed, dtype):
    rng = np.random.default_rng(seed)
    params = {"w": rng.standard_normal((4, 3)).astype(dtype)}
    grads = [{"w": rng.standard_normal((4, 3)).astype(dtype)} for _ in range(3)]
    finals = {}
    for path in npgan.kernels.BACKENDS:
        with npgan.kernels.use_backend(path):
            copies = {"w": params["w"].copy()}
            array = copies["w"]
            optimizer = MomentumSGD(copies, learning_rate=0.3, momentum=0.7)
            for grad in grads:
                optimizer.step(grad)
            assert copies["w"] is array
            finals[path] = (array, optimizer.state_dict()["velocity.w"])
    for got, expected in zip(finals["numba"], finals["numpy"]):
        np.testing.assert_array_equal(got, expected)


@settings(max_examples=10)
@given(seeds, st.sampled_from(DTYPES), st.integers(-6, 2))
def test_the_adam_update_is_bit_identical_on_both_paths_and_in_place(seed, dtype, scale):
    """Parameters and both moments, after steps whose gradients span a power of ten ``scale``;
    "f" (Fortran order) takes the reference path on numba too."""
    rng = np.random.default_rng(seed)
    params = {"w": rng.standard_normal((4, 3)).astype(dtype), "f": np.asfortranarray(rng.standard_normal((3, 5)))
              .astype(dtype, order="F")}
    grads = [{name: (rng.standard_normal(value.shape) * 10.0**scale).astype(dtype) for name, value in params.items()}
             for _ in range(3)]
    finals = {}
    for path in npgan.kernels.BACKENDS:
        with npgan.kernels.use_backend(path):
            copies = {name: value.copy(order="K") for name, value in params.items()}
            arrays = dict(copies)
            optimizer = Adam(copies, learning_rate=0.01, beta1=0.5)
            for grad in grads:
                assert optimizer.step(grad) is None  # every new parameter finite
            assert all(copies[name] is arrays[name] for name in params)
            finals[path] = {**{f"param.{name}": value for name, value in copies.items()}, **optimizer.state_dict()}
    for name, expected in finals["numpy"].items():
        np.testing.assert_array_equal(finals["numba"][name], expected, err_msg=name)


@settings(max_examples=10)
@given(seeds, st.sampled_from(DTYPES))
def test_the_parameter_average_is_bit_identical_on_both_paths_and_in_place(seed, dtype):
    """Both paths give the same bits, in the caller's arrays, and the normalised average
    sum_k d^(N-k) p_k / sum_k d^(N-k) of the parameters after each update; "f" (Fortran order)
    takes the reference path on numba too."""
    rng = np.random.default_rng(seed)
    steps = [{"w": rng.standard_normal((4, 3)).astype(dtype), "b": rng.standard_normal(3).astype(dtype),
              "f": np.asfortranarray(rng.standard_normal((3, 5)).astype(dtype))} for _ in range(4)]
    decay, finals = 0.9, {}
    for path in npgan.kernels.BACKENDS:
        with npgan.kernels.use_backend(path):
            params = {name: value.copy(order="K") for name, value in steps[0].items()}
            averages = {name: np.empty_like(value) for name, value in params.items()}
            average = ParameterAverage(params, averages, decay=decay)
            for step in steps[1:]:
                for name, value in step.items():
                    params[name][...] = value
                average.update()
            finals[path] = averages
    weights = decay ** np.arange(len(steps) - 2, -1, -1)  # d^(N-k), k = 1..N
    for name in steps[0]:
        np.testing.assert_array_equal(finals["numba"][name], finals["numpy"][name])
        expected = sum(w * step[name].astype(np.float64) for w, step in zip(weights, steps[1:])) / weights.sum()
        np.testing.assert_allclose(finals["numpy"][name], expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-6 if dtype == np.float32 else 1e-14)


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


def test_the_environment_variable_chooses_the_backend_and_numba_is_the_default(monkeypatch):
    session_backend = npgan.kernels.get_backend()
    try:
        for value, expected in (("numba", "numba"), (" NumPy ", "numpy"), ("", "numba")):
            monkeypatch.setenv("NPGAN_KERNELS", value)
            assert importlib.reload(backend).get_backend() == expected
            assert npgan.kernels.get_backend() == expected
        monkeypatch.delenv("NPGAN_KERNELS")
        assert importlib.reload(backend).get_backend() == backend.DEFAULT_BACKEND == "numba"
        monkeypatch.setenv("NPGAN_KERNELS", "fortran")
        with pytest.raises(ValueError, match="NPGAN_KERNELS: unknown kernel backend 'fortran'"):
            importlib.reload(backend)
    finally:
        monkeypatch.undo()  # the session's own NPGAN_KERNELS, if any
        importlib.reload(backend)
    assert npgan.kernels.get_backend() == session_backend


def test_the_reference_runs_itself_and_other_dtypes_and_subclasses_go_through_it_on_numba():
    layer = Linear(3, 2, rng=np.random.default_rng(0), dtype=np.longdouble)
    x = np.ones((2, 3), dtype=np.longdouble)
    with npgan.kernels.use_backend("numpy"):
        assert runner(layer) is layer  # the layer's own methods

    class Subclass(Linear):
        pass

    subclass = Subclass(3, 2, rng=np.random.default_rng(0))
    with npgan.kernels.use_backend("numba"):
        assert backend.compiled_kernels(x) is None
        assert runner(layer).predict(x).dtype == np.longdouble
        assert runner(subclass) is subclass  # a subclass may change the maths: it runs its own


# -- networks, a training run and the gradient checks on both paths ------------------------------

def a_network(rng, dtype):
    return Sequential(Dropout(0.8, rng=rng), Maxout(6, 4, 3, rng=rng, dtype=dtype, init_scale=0.5),
                      Linear(4, 5, rng=rng, dtype=dtype, init_scale=0.5), ReLU(),
                      Linear(5, 6, rng=rng, dtype=dtype, init_scale=0.5), Sigmoid())


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_network_forward_and_backward_agree_across_backends(dtype):
    """Dropout masks come from the same Generator stream on both paths: the same masks."""
    results = {}
    for path in npgan.kernels.BACKENDS:
        with npgan.kernels.use_backend(path):
            network = a_network(np.random.default_rng(0), dtype)
            x = np.random.default_rng(1).standard_normal((5, 6)).astype(dtype)
            run = runner(network)
            y = run.forward(x)
            kinks = [layer.kink_state() for layer in network.layers if layer.kink_state() is not None]
            with pytest.raises(RuntimeError, match="forward called again"):
                run.forward(x)  # the fused pair refuses a second pass like the layers
            grad_x = run.backward(np.random.default_rng(2).standard_normal(y.shape).astype(dtype))
            results[path] = (y, grad_x, network.grads, kinks)
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
@pytest.mark.parametrize("path", npgan.kernels.BACKENDS)
def test_backward_without_param_grads_or_input_grad_keeps_the_rest_bit_for_bit(path, dtype):
    """One pass of each layer backpropagated four times from the same grads (random, not zero):
    param_grads=False leaves them exactly as they were and returns the full backward's dx;
    input_grad=False returns None and adds exactly the full backward's gradients."""
    rng = np.random.default_rng(0)
    with npgan.kernels.use_backend(path):
        for layer in every_kind_of_layer(rng, dtype):
            run = runner(layer)
            x = rng.standard_normal((5, 6)).astype(dtype)
            upstream = rng.standard_normal(run.forward(x).shape).astype(dtype)
            start = {name: rng.standard_normal(g.shape).astype(dtype) for name, g in layer.grads.items()}

            def backward(**options):
                for name, gradient in layer.grads.items():
                    gradient[...] = start[name]
                grad_x = run.backward(upstream, **options)
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
            run.forward(x)  # every layer's pass was closed, skipped ones included
            layer.clear_cache()


@pytest.mark.parametrize("dtype", DTYPES + (np.longdouble,))  # longdouble: the kernels' fallback
def test_accumulate_false_and_rows_give_what_the_reference_gives_bit_for_bit(dtype):
    """The fast path's two backward options (npgan.gan uses both), held to the layers' own methods
    on every kind of layer: accumulate=False leaves in grads exactly what zero_grad() and a full
    backward leave; rows returns exactly those rows of the input gradient a full backward returns
    when the other rows' upstream gradient is zero."""
    for index in range(len(every_kind_of_layer(np.random.default_rng(0), dtype))):
        results = {}
        for path in npgan.kernels.BACKENDS:
            rng = np.random.default_rng(1)
            layer = every_kind_of_layer(np.random.default_rng(0), dtype)[index]
            x = rng.standard_normal((6, 6)).astype(dtype)
            with npgan.kernels.use_backend(path):
                run = runner(layer)
                upstream = rng.standard_normal(run.forward(x).shape).astype(dtype)
                for gradient in layer.grads.values():
                    gradient[...] = rng.standard_normal(gradient.shape)  # stale: to be overwritten
                if path == "numpy":
                    layer.zero_grad()
                    dx = run.backward(upstream)
                    masked = np.concatenate([np.zeros_like(upstream[:2]), upstream[2:5], np.zeros_like(upstream[5:])])
                    rows_dx = run.backward(masked, param_grads=False)[2:5]
                else:
                    dx = run.backward(upstream, accumulate=False)
                    rows_dx = run.backward(upstream[2:5], param_grads=False, rows=slice(2, 5))
                results[path] = dx, rows_dx, {name: value.copy() for name, value in layer.grads.items()}
        (dx0, rows0, grads0), (dx1, rows1, grads1) = results["numpy"], results["numba"]
        tolerance = {"rtol": 64 * np.finfo(dtype).eps, "atol": 64 * np.finfo(dtype).eps}
        np.testing.assert_allclose(dx1, dx0, **tolerance, err_msg=str(index))  # exp: a few ulp apart
        np.testing.assert_allclose(rows1, rows0, **tolerance, err_msg=str(index))
        for name in grads0:
            np.testing.assert_allclose(grads1[name], grads0[name], **tolerance, err_msg=f"{index} {name}")


def test_a_backward_over_rows_computes_no_parameter_gradients():
    chain = every_kind_of_layer(np.random.default_rng(0), np.float32)[7]
    with npgan.kernels.use_backend("numba"):
        run = runner(chain)
        y = run.forward(np.ones((4, 6), np.float32))
        with pytest.raises(ValueError, match="param_grads=False"):
            run.backward(y[2:], rows=slice(2, None))


def test_the_compile_notice_is_one_line_once(capsys):
    """backend announces the first compile of a module's kernels (a cold cache), once."""
    from numba import njit

    backend._announce_compiling(__name__)
    for offset in (1, 2):  # two fresh functions: two compiles, one notice
        njit(lambda value, _offset=offset: value + _offset)(1)
    assert capsys.readouterr().err == backend.COMPILE_NOTICE + "\n"
    backend._compile_the_rest = False  # nothing of npgan's was compiled here


BACKWARD_KERNELS = ("affine_backward", "affine_relu_backward", "affine_sigmoid_backward", "maxout_backward")


def spy_on_backward_kernels(monkeypatch):
    """Record (kernel, param_grads, input_grad) for every backward kernel the numba runners call."""
    calls = []
    compiled = backend.compiled_kernels(np.zeros(1, np.float32))
    assert compiled is not None, "call on the numba backend"
    for name in BACKWARD_KERNELS:
        def spy(*arrays, _name=name, _kernel=getattr(compiled, name), **options):
            calls.append((_name, options.get("param_grads", True), options.get("input_grad", True)))
            return _kernel(*arrays, **options)
        monkeypatch.setattr(compiled, name, spy)
    return calls


def test_a_chain_computes_no_input_gradient_below_its_lowest_parameters(monkeypatch):
    """On the fast path, in a chain like paper-mnist's D (dropout, maxout, ...), input_grad=False
    reaches the maxout: its dz W^T is not computed, and the dropout below it is skipped, not run.
    (The reference computes that product and returns None: tests/test_layers.py.)"""
    rng = np.random.default_rng(0)
    with npgan.kernels.use_backend("numba"):
        chain = every_kind_of_layer(rng, np.float32)[7]
        run = runner(chain)
        x = rng.standard_normal((5, 6)).astype(np.float32)
        upstream = rng.standard_normal(run.forward(x).shape).astype(np.float32)
        calls = spy_on_backward_kernels(monkeypatch)

        def refuse(grad_out, **options):
            raise AssertionError("the input dropout was backpropagated")

        monkeypatch.setattr(chain.layers[0], "backward", refuse)
        assert run.backward(upstream, input_grad=False) is None
        assert [call[1:] for call in calls] == [(True, True), (True, True), (True, False)]
        assert calls[-1][0] == "maxout_backward"
        monkeypatch.undo()
        calls = spy_on_backward_kernels(monkeypatch)
        assert run.backward(upstream, param_grads=False).shape == x.shape
        assert [call[1:] for call in calls] == [(False, True)] * 3
        run.forward(x)  # the skipped dropout's pass was closed


def test_training_on_both_backends_is_reproducible_and_agrees():
    """Ten float32 iterations of a small momentum GAN with dropout: each backend repeats
    itself exactly; the two agree to float32 rounding (exp and BLAS order are all that
    differ)."""
    config = preset_config("ring8", generator_hidden=[16], discriminator_hidden=[16, 16],
                           discriminator_keep_probs=[1.0, 0.5, 0.5], batch_size=32, optimizer="momentum",
                           learning_rate=0.05, update_order="simultaneous")
    finals = {}
    for path in ("numba", "numpy", "numba"):
        with npgan.kernels.use_backend(path):
            trainer = Trainer(config, RING8)
            for _ in range(10):
                trainer.train_iteration()
        params = {name: value.copy() for name, value in trainer.gan.params.items()}
        if path in finals:
            for name, value in params.items():
                np.testing.assert_array_equal(value, finals[path][name])
        finals[path] = params
    for name, value in finals["numpy"].items():
        np.testing.assert_allclose(finals["numba"][name], value, rtol=1e-4, atol=1e-6, err_msg=name)


def test_npgan_gradcheck_passes_on_both_backends(kernel_backend):
    results = run_all(seed=3)
    assert len(results) == 110
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
