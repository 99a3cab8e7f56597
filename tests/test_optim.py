"""Optimizers (npgan.optim): the paper's momentum SGD with its schedules, and Adam."""

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from npgan.optim import Adam, MomentumSGD, ParameterAverage

PAPER_SETTINGS = dict(
    learning_rate=0.1,
    momentum=0.5,
    learning_rate_decay=1.000004,
    min_learning_rate=1e-6,
    final_momentum=0.7,
    momentum_start_epoch=1,
    momentum_saturate_epoch=250,
)


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "G.0.W": rng.normal(size=(3, 4)).astype(dtype),
        "G.0.b": rng.normal(size=(4,)).astype(dtype),
        "D.0.W": rng.normal(size=(4, 2)).astype(dtype),
    }


def gradients_at(params, step_number, seed=1):
    """A deterministic, parameter-dependent gradient (a quadratic's plus noise)."""
    rng = np.random.default_rng([seed, step_number])
    return {
        name: (0.3 * param + rng.normal(size=param.shape)).astype(param.dtype)
        for name, param in params.items()
    }


def save_and_load_npz(state):
    """Round trip through an .npz without pickle, as a checkpoint does."""
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


# -- momentum SGD: the update ----------------------------------------------------------


def test_momentum_update_matches_a_hand_computation_over_three_steps():
    # lr 0.5 halved after every step (decay 2), momentum 0.5; all values are
    # dyadic, so the comparison is exact.
    param = np.array([1.0, 2.0])
    optimizer = MomentumSGD({"p": param}, learning_rate=0.5, momentum=0.5, learning_rate_decay=2.0)
    grads = [np.array([1.0, 0.0]), np.array([2.0, 1.0]), np.array([-4.0, 1.0])]
    # step 1: lr 0.5    v = 0.5*[0, 0]      - 0.5*[1, 0]    = [-0.5, 0]      p = [0.5, 2]
    # step 2: lr 0.25   v = 0.5*[-0.5, 0]   - 0.25*[2, 1]   = [-0.75, -0.25] p = [-0.25, 1.75]
    # step 3: lr 0.125  v = 0.5*[-.75, -.25] - 0.125*[-4, 1] = [0.125, -0.25] p = [-0.125, 1.5]
    expected = [[0.5, 2.0], [-0.25, 1.75], [-0.125, 1.5]]
    expected_velocity = [[-0.5, 0.0], [-0.75, -0.25], [0.125, -0.25]]
    for grad, want_param, want_velocity in zip(grads, expected, expected_velocity):
        optimizer.step({"p": grad})
        assert param.tolist() == want_param
        assert optimizer.state_dict()["velocity.p"].tolist() == want_velocity
    assert optimizer.iteration == 3 and optimizer.current_learning_rate == 0.0625


def test_momentum_update_with_the_paper_settings_at_epoch_125():
    param = np.array([0.3, -1.2])
    optimizer = MomentumSGD({"p": param}, **PAPER_SETTINGS)
    optimizer.set_epoch(125)
    mu = 0.5 + 0.2 * 124 / 249
    grads = [np.array([0.2, -0.7]), np.array([1.5, 0.1]), np.array([-0.4, 0.9])]
    expected_param, velocity = param.copy(), np.zeros(2)
    for t, grad in enumerate(grads):
        velocity = mu * velocity - (0.1 / 1.000004**t) * grad
        expected_param = expected_param + velocity
        optimizer.step({"p": grad})
    np.testing.assert_allclose(param, expected_param, rtol=1e-15, atol=1e-15)


def test_parameters_are_modified_in_place():
    params = make_params()
    originals = {name: param for name, param in params.items()}
    layer_view = params["G.0.W"][1:]  # a layer holding a view sees the update too
    before = layer_view.copy()
    optimizer = MomentumSGD(params, learning_rate=0.1, momentum=0.5)
    optimizer.step(gradients_at(params, 0))
    for name in originals:
        assert params[name] is originals[name]
    assert not np.array_equal(layer_view, before)


def test_float32_parameters_stay_float32_and_follow_float32_arithmetic():
    params = make_params(np.float32)
    reference = {name: param.copy() for name, param in params.items()}
    velocity = {name: np.zeros_like(param) for name, param in params.items()}
    optimizer = MomentumSGD(params, **PAPER_SETTINGS)
    for t in range(3):
        grads = gradients_at(params, t)
        optimizer.step(grads)
        learning_rate = np.float32(0.1 / 1.000004**t)
        for name in params:
            velocity[name] = np.float32(0.5) * velocity[name] - learning_rate * grads[name]
            reference[name] = reference[name] + velocity[name]
    for name, param in params.items():
        assert param.dtype == np.float32
        assert optimizer.state_dict()[f"velocity.{name}"].dtype == np.float32
        np.testing.assert_array_equal(param, reference[name])


# -- momentum SGD: the schedules -------------------------------------------------------


def test_learning_rate_after_50000_steps_with_the_paper_decay():
    param = np.zeros(1)
    optimizer = MomentumSGD({"p": param}, **PAPER_SETTINGS)
    grads = {"p": np.zeros(1)}
    assert optimizer.current_learning_rate == 0.1
    for _ in range(50_000):
        optimizer.step(grads)
    assert optimizer.current_learning_rate == pytest.approx(0.1 / 1.000004**50_000, rel=1e-14)
    assert optimizer.current_learning_rate == pytest.approx(0.0819, abs=5e-5)
    # The learning rates of docs/paper.md: 500 updates per epoch, epoch 250 -> 0.0607, epoch 500 -> 0.0368.
    assert optimizer.learning_rate_at_iteration(250 * 500) == pytest.approx(0.0607, abs=5e-5)
    assert optimizer.learning_rate_at_iteration(500 * 500) == pytest.approx(0.0368, abs=5e-5)


def test_learning_rate_floor_is_respected():
    param = np.zeros(1)
    optimizer = MomentumSGD(
        {"p": param},
        learning_rate=0.1,
        momentum=0.5,
        learning_rate_decay=1.01,
        min_learning_rate=1e-6,
    )
    grads = {"p": np.zeros(1)}
    rates = []
    for _ in range(2_000):
        rates.append(optimizer.current_learning_rate)
        optimizer.step(grads)
    rates = np.array(rates)
    assert rates.min() == 1e-6 and optimizer.current_learning_rate == 1e-6
    assert np.all(np.diff(rates) <= 0)
    first_floored = int(np.argmax(rates == 1e-6))
    assert 0.1 / 1.01 ** (first_floored - 1) > 1e-6 >= 0.1 / 1.01**first_floored
    # Far beyond the float range of decay^t: no OverflowError, still the floor.
    assert optimizer.learning_rate_at_iteration(10**9) == 1e-6


@pytest.mark.parametrize(
    "epoch,expected",
    [(1, 0.5), (2, 0.5 + 0.2 / 249), (125, 0.5 + 0.2 * 124 / 249), (250, 0.7), (300, 0.7)],
)
def test_paper_momentum_schedule(epoch, expected):
    optimizer = MomentumSGD({"p": np.zeros(1)}, **PAPER_SETTINGS)
    assert optimizer.momentum_at_epoch(epoch) == pytest.approx(expected, rel=1e-15)
    optimizer.set_epoch(epoch)
    assert optimizer.epoch == epoch
    assert optimizer.current_momentum == optimizer.momentum_at_epoch(epoch)


def test_momentum_at_epoch_125_is_0_5996():
    optimizer = MomentumSGD({"p": np.zeros(1)}, **PAPER_SETTINGS)
    assert round(optimizer.momentum_at_epoch(125), 4) == 0.5996
    assert optimizer.momentum_at_epoch(250) == 0.7 and optimizer.momentum_at_epoch(1) == 0.5


def test_the_epoch_starts_at_one_and_the_step_uses_its_momentum():
    param = np.zeros(1)
    optimizer = MomentumSGD({"p": param}, learning_rate=1.0, momentum=0.5, final_momentum=0.7)
    assert optimizer.epoch == 1 and optimizer.current_momentum == 0.5
    optimizer.step({"p": np.array([-1.0])})  # v = 1
    optimizer.set_epoch(300)
    optimizer.step({"p": np.array([0.0])})  # v = 0.7 * 1
    assert optimizer.state_dict()["velocity.p"].tolist() == [0.7]
    assert param.tolist() == [1.7]


def test_momentum_schedule_variants():
    constant = MomentumSGD({"p": np.zeros(1)}, learning_rate=0.1, momentum=0.9)
    assert constant.momentum_at_epoch(1) == constant.momentum_at_epoch(10_000) == 0.9
    jump = MomentumSGD(
        {"p": np.zeros(1)}, learning_rate=0.1, momentum=0.5, final_momentum=0.9,
        momentum_start_epoch=5, momentum_saturate_epoch=5,
    )
    assert [jump.momentum_at_epoch(e) for e in (1, 4, 5, 6)] == [0.5, 0.5, 0.9, 0.9]
    late = MomentumSGD(
        {"p": np.zeros(1)}, learning_rate=0.1, momentum=0.5, final_momentum=0.7,
        momentum_start_epoch=11, momentum_saturate_epoch=21,
    )
    assert late.momentum_at_epoch(11) == 0.5 and late.momentum_at_epoch(16) == pytest.approx(0.6)


@settings(max_examples=50, deadline=None)
@given(
    initial=st.floats(0.0, 0.99),
    final=st.floats(0.0, 0.99),
    start=st.integers(1, 50),
    ramp=st.integers(0, 300),
)
def test_momentum_schedule_is_monotone_and_bounded(initial, final, start, ramp):
    optimizer = MomentumSGD(
        {"p": np.zeros(1)}, learning_rate=0.1, momentum=initial, final_momentum=final,
        momentum_start_epoch=start, momentum_saturate_epoch=start + ramp,
    )
    values = np.array([optimizer.momentum_at_epoch(e) for e in range(1, start + ramp + 5)])
    low, high = min(initial, final), max(initial, final)
    assert np.all(values >= low - 1e-15) and np.all(values <= high + 1e-15)
    steps = np.diff(values) * (1 if final >= initial else -1)
    assert np.all(steps >= -1e-15)
    assert values[0] == pytest.approx(initial if start > 1 or ramp > 0 else final)
    assert values[-1] == pytest.approx(final)


@pytest.mark.parametrize("epoch", [0, -1, 1.5, True, None])
def test_bad_epoch_is_a_value_error(epoch):
    optimizer = MomentumSGD({"p": np.zeros(1)}, **PAPER_SETTINGS)
    with pytest.raises(ValueError, match="epoch"):
        optimizer.set_epoch(epoch)


# -- shapes, dtypes and in-place updates over random parameters --------------------------

parameter_arrays = st.sampled_from([np.float32, np.float64]).flatmap(
    lambda dtype: hnp.arrays(
        dtype,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
        elements=st.floats(-10, 10, width=32),
    )
)


@settings(max_examples=40, deadline=None)
@given(param=parameter_arrays, seed=st.integers(0, 2**16), use_adam=st.booleans())
def test_any_shape_and_dtype_is_updated_in_place(param, seed, use_adam):
    rng = np.random.default_rng(seed)
    grad = rng.normal(size=param.shape).astype(param.dtype)
    if use_adam:
        optimizer = Adam({"x": param}, learning_rate=1e-2)
    else:
        optimizer = MomentumSGD({"x": param}, learning_rate=1e-2, momentum=0.0)
    expected = param - param.dtype.type(1e-2) * grad  # momentum SGD with mu = 0: plain SGD
    same_object = param
    optimizer.step({"x": grad})
    assert param is same_object and param.dtype == grad.dtype
    if not use_adam:
        np.testing.assert_array_equal(param, expected)
    for value in optimizer.state_dict().values():
        assert value.dtype in (param.dtype, np.int64)


# -- state: save and restore -------------------------------------------------------------


@pytest.mark.parametrize("make_optimizer", [
    lambda params: MomentumSGD(params, **PAPER_SETTINGS),
    lambda params: Adam(params),
], ids=["momentum_sgd", "adam"])
def test_state_round_trip_continues_bit_identically(make_optimizer):
    params = make_params(np.float32)
    optimizer = make_optimizer(params)
    for t in range(5):
        optimizer.set_epoch(1 + 60 * t)
        optimizer.step(gradients_at(params, t))

    restored_params = {name: param.copy() for name, param in params.items()}
    restored = make_optimizer(restored_params)
    state = save_and_load_npz(optimizer.state_dict())
    assert "iteration" in state and "epoch" in state
    restored.load_state_dict(state)
    assert restored.iteration == 5 and restored.epoch == 241

    for t in range(5, 10):
        for which, which_params in ((optimizer, params), (restored, restored_params)):
            which.set_epoch(1 + 60 * t)
            which.step(gradients_at(which_params, t))
    for name in params:
        np.testing.assert_array_equal(params[name], restored_params[name])
    for key, value in optimizer.state_dict().items():
        np.testing.assert_array_equal(value, restored.state_dict()[key])


def test_state_dict_names_and_copies():
    params = make_params()
    sgd = MomentumSGD(params, learning_rate=0.1, momentum=0.5)
    assert set(sgd.state_dict()) == {
        "velocity.G.0.W", "velocity.G.0.b", "velocity.D.0.W", "iteration", "epoch"
    }
    adam = Adam(params)
    assert set(adam.state_dict()) == {
        f"{slot}.{name}" for slot in ("first_moment", "second_moment") for name in params
    } | {"iteration", "epoch"}
    # The state is a snapshot: later steps do not change it.
    snapshot = sgd.state_dict()
    sgd.step(gradients_at(params, 0))
    assert np.all(snapshot["velocity.G.0.W"] == 0) and snapshot["iteration"] == 0


def test_bad_state_is_rejected_and_leaves_the_optimizer_unchanged():
    params = make_params()
    optimizer = MomentumSGD(params, learning_rate=0.1, momentum=0.5)
    optimizer.step(gradients_at(params, 0))
    good = optimizer.state_dict()

    def altered(**changes):
        state = dict(good)
        for key, value in changes.items():
            if value is None:
                del state[key]
            else:
                state[key] = value
        return state

    bad_states = {
        "missing": (altered(**{"velocity.G.0.b": None}), "missing.*velocity.G.0.b"),
        "unexpected": ({**good, "velocity.G.9.W": np.zeros(2)}, "unexpected.*velocity.G.9.W"),
        "shape": (altered(**{"velocity.G.0.W": np.zeros((4, 3))}), "velocity.G.0.W.*shape"),
        "dtype": (altered(**{"velocity.G.0.W": np.zeros((3, 4), np.float32)}), "dtype"),
        "nan": (altered(**{"velocity.G.0.b": np.full(4, np.nan)}), "NaN"),
        "iteration": (altered(iteration=np.array(-1)), "iteration"),
        "float iteration": (altered(iteration=np.array(2.0)), "iteration"),
        "epoch": (altered(epoch=np.array(0)), "epoch"),
    }
    for case, (state, message) in bad_states.items():
        with pytest.raises(ValueError, match=message):
            optimizer.load_state_dict(state)
        for key, value in optimizer.state_dict().items():
            np.testing.assert_array_equal(value, good[key], err_msg=case)
    fewer_parameters = MomentumSGD({"G.0.W": np.zeros((3, 4))}, learning_rate=0.1, momentum=0.5)
    with pytest.raises(ValueError, match=r"unexpected \['velocity.D.0.W', 'velocity.G.0.b'\]"):
        fewer_parameters.load_state_dict(good)


# -- step: checking the gradients -------------------------------------------------------


def test_bad_gradients_are_value_errors_and_change_nothing():
    params = make_params()
    before = {name: param.copy() for name, param in params.items()}
    optimizer = MomentumSGD(params, learning_rate=0.1, momentum=0.5)
    good = gradients_at(params, 0)
    cases = [
        ({k: v for k, v in good.items() if k != "G.0.b"}, "G.0.b"),
        ({**good, "G.1.W": np.zeros(2)}, "G.1.W"),
        ({**good, "D.0.W": np.zeros((2, 4))}, r"D.0.W.*shape \(2, 4\).*\(4, 2\)"),
        ({**good, "D.0.W": good["D.0.W"].astype(np.float32)}, "D.0.W.*dtype"),
        ({**good, "D.0.W": np.full((4, 2), np.inf)}, "D.0.W.*NaN or inf"),
        ({**good, "G.0.b": [0.0] * 4}, "G.0.b.*numpy array"),
        ([good], "dict"),
    ]
    for grads, message in cases:
        with pytest.raises(ValueError, match=message):
            optimizer.step(grads)
    for name, param in params.items():
        np.testing.assert_array_equal(param, before[name])
    assert optimizer.iteration == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_non_finite_finds_what_an_elementwise_test_finds(dtype):
    """One sum of squares per array (npgan.optim.first_non_finite): a NaN or an inf anywhere is
    named, the first in order; finite values whose squares overflow are cleared by the
    elementwise test."""
    from npgan.optim import first_non_finite

    rng = np.random.default_rng(0)
    arrays = {name: rng.standard_normal((5, 7)).astype(dtype) for name in ("a", "b", "c")}
    assert first_non_finite(arrays) is None
    for bad in (np.nan, np.inf, -np.inf):
        for name in ("b", "c"):
            poisoned = {key: value.copy() for key, value in arrays.items()}
            poisoned[name][3, 4] = bad
            assert first_non_finite(poisoned) == name
    both = {key: value.copy() for key, value in arrays.items()}
    both["b"][0, 0], both["b"][0, 1] = np.inf, -np.inf  # no cancellation
    assert first_non_finite(both) == "b"
    huge = np.full((4, 4), np.finfo(dtype).max / 2, dtype=dtype)  # finite; the squares overflow
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.dot(huge.reshape(-1), huge.reshape(-1)))
    assert first_non_finite({"huge": huge, **arrays}) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_step_names_the_first_parameter_its_update_made_non_finite(kernel_backend, dtype):
    """With finite gradients only an overflow makes a parameter NaN or inf: step returns its name
    (the fast path's compiled update checks it in the pass that writes it, the reference after the
    step), the first in order, and None for a finite step."""
    big = np.finfo(dtype).max
    params = {name: np.full((3, 4), 0.5, dtype) for name in ("a", "b", "c")}
    optimizer = MomentumSGD(params, learning_rate=1.0, momentum=0.5)
    zero = {name: np.zeros_like(param) for name, param in params.items()}
    assert optimizer.step(zero) is None
    for names in (("c",), ("b", "c")):
        for param in params.values():
            param[...] = 0.5
        for name in names:
            params[name][1, 2] = big  # finite; big - (-big) overflows to inf
        grads = {name: np.where(params[name] == big, -big, dtype(0)).astype(dtype) for name in params}
        with np.errstate(over="ignore", invalid="ignore"):
            assert optimizer.step(grads) == names[0]
        assert params[names[0]][1, 2] == np.inf
    poisoned = Adam({"p": np.full(3, big, dtype)}, learning_rate=big)  # no compiled update: checked after
    with np.errstate(over="ignore", invalid="ignore"):
        assert poisoned.step({"p": -np.ones(3, dtype)}) == "p"  # p + max overflows


def test_bad_parameters_are_rejected():
    frozen = np.zeros(3)
    frozen.setflags(write=False)
    shared = np.zeros((2, 3))
    cases = [
        ({}, "non-empty"),
        ([np.zeros(2)], "dict"),
        ({"p": [0.0, 1.0]}, "numpy array"),
        ({"p": np.zeros(2, dtype=np.int64)}, "floating"),
        ({"p": frozen}, "read-only"),
        ({"a": shared, "b": shared[0]}, "share memory"),
        ({"": np.zeros(2)}, "non-empty strings"),
    ]
    for params, message in cases:
        with pytest.raises(ValueError, match=message):
            MomentumSGD(params, learning_rate=0.1, momentum=0.5)


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate=-0.1), "learning_rate"),
        (dict(learning_rate=float("inf")), "learning_rate"),
        (dict(learning_rate=float("nan")), "learning_rate"),
        (dict(learning_rate="0.1"), "learning_rate"),
        (dict(momentum=1.0), "momentum"),
        (dict(momentum=-0.1), "momentum"),
        (dict(final_momentum=1.2), "final_momentum"),
        (dict(learning_rate_decay=0.99), "learning_rate_decay"),
        (dict(min_learning_rate=-1e-6), "min_learning_rate"),
        (dict(min_learning_rate=0.2), "min_learning_rate"),
        (dict(momentum_start_epoch=0), "momentum_start_epoch"),
        (dict(momentum_start_epoch=10, momentum_saturate_epoch=5), "momentum_saturate_epoch"),
        (dict(momentum_saturate_epoch=2.5), "momentum_saturate_epoch"),
    ],
)
def test_bad_momentum_hyperparameters(changes, message):
    with pytest.raises(ValueError, match=message):
        MomentumSGD({"p": np.zeros(1)}, **{**PAPER_SETTINGS, **changes})


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(beta1=1.0), "beta1"),
        (dict(beta2=-0.5), "beta2"),
        (dict(epsilon=0.0), "epsilon"),
        (dict(epsilon=float("nan")), "epsilon"),
    ],
)
def test_bad_adam_hyperparameters(changes, message):
    with pytest.raises(ValueError, match=message):
        Adam({"p": np.zeros(1)}, **changes)


def test_momentum_sgd_needs_its_hyperparameters_by_keyword():
    with pytest.raises(TypeError):
        MomentumSGD({"p": np.zeros(1)}, 0.1, 0.5)
    with pytest.raises(TypeError):
        MomentumSGD({"p": np.zeros(1)}, learning_rate=0.1)  # momentum has no default


# -- Adam ------------------------------------------------------------------------------


def test_adam_defaults_are_the_dcgan_settings():
    optimizer = Adam({"p": np.zeros(1)})
    assert (optimizer.learning_rate, optimizer.beta1, optimizer.beta2, optimizer.epsilon) == (
        2e-4, 0.5, 0.999, 1e-8
    )


def test_adam_matches_a_hand_computation_over_two_steps():
    param = np.array([1.0, -2.0, 0.5])
    optimizer = Adam({"p": param}, learning_rate=0.1, beta1=0.5, beta2=0.9, epsilon=1e-8)
    g1, g2 = np.array([0.4, -3.0, 0.0]), np.array([-0.2, 1.0, 2.0])
    # Step 1: the bias-corrected moments are g and g^2, so the step is lr * g / (|g| + eps).
    optimizer.step({"p": g1})
    expected = np.array([1.0, -2.0, 0.5]) - 0.1 * g1 / (np.abs(g1) + 1e-8)
    np.testing.assert_allclose(param, expected, rtol=1e-15)
    # Step 2: m = 0.5*0.5*g1 + 0.5*g2, s = 0.9*0.1*g1^2 + 0.1*g2^2;
    # bias corrections 1 - 0.5^2 = 0.75 and 1 - 0.9^2 = 0.19.
    optimizer.step({"p": g2})
    first = 0.25 * g1 + 0.5 * g2
    second = 0.09 * g1**2 + 0.1 * g2**2
    expected = expected - 0.1 * (first / 0.75) / (np.sqrt(second / 0.19) + 1e-8)
    np.testing.assert_allclose(param, expected, rtol=1e-14)
    assert optimizer.iteration == 2


def test_adam_converges_on_a_quadratic():
    # f(p) = 0.5 * sum(scale * (p - target)^2), badly scaled on purpose.
    target = np.array([3.0, -1.0, 0.5, 10.0])
    scale = np.array([100.0, 1.0, 0.01, 5.0])
    param = np.zeros(4, dtype=np.float32)
    optimizer = Adam({"p": param}, learning_rate=0.05, beta1=0.9)
    for _ in range(3_000):
        optimizer.step({"p": (scale * (param - target)).astype(np.float32)})
    assert param.dtype == np.float32
    np.testing.assert_allclose(param, target, atol=2e-2)


def test_adam_float32_stays_float32():
    params = make_params(np.float32)
    optimizer = Adam(params)
    for t in range(3):
        optimizer.step(gradients_at(params, t))
    assert all(param.dtype == np.float32 for param in params.values())
    assert all(value.dtype in (np.float32, np.int64) for value in optimizer.state_dict().values())
    assert all(np.all(np.isfinite(param)) for param in params.values())
    assert math.isclose(optimizer.current_learning_rate, 2e-4)


# -- the parameter average (not in the paper) -------------------------------------------------


def test_parameter_average_follows_its_formula_step_by_step():
    params = make_params()
    averages = {name: np.zeros_like(value) for name, value in params.items()}
    average = ParameterAverage(params, averages, decay=0.9)
    expected = {name: value.copy() for name, value in params.items()}  # starts at the parameters
    for n in range(40):
        for name, value in params.items():
            value += gradients_at(params, n)[name]
        weight = 0.9 * (1 - 0.9 ** n) / (1 - 0.9 ** (n + 1))
        for name in expected:
            expected[name] = weight * expected[name] + (1 - weight) * params[name]
        average.update()
    assert average.updates == 40
    for name in params:
        np.testing.assert_allclose(averages[name], expected[name], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("decay, n_updates", [(0.9, 60), (0.999, 3000), (0.99998, 2000)])
def test_parameter_average_is_the_normalised_exponential_mean_of_every_iterate(decay, n_updates):
    """a_N = sum_k d^(N-k) p_k / sum_k d^(N-k) over the iterates p_1..p_N, the initial
    parameters excluded; checked after every update against the sum written out."""
    rng = np.random.default_rng(3)
    params = {"p": rng.normal(size=3) * 100.0}  # far from the iterates: any weight on it shows
    averages = {"p": np.empty(3)}
    average = ParameterAverage(params, averages, decay=decay)
    iterates = rng.normal(size=(n_updates, 3)).cumsum(axis=0)  # a random walk, as SGD's iterates
    for n in range(1, n_updates + 1):
        params["p"][...] = iterates[n - 1]
        average.update()
        if n in (1, 2, n_updates // 2, n_updates):
            weights = decay ** np.arange(n - 1, -1, -1, dtype=np.float64)
            expected = weights @ iterates[:n] / weights.sum()
            np.testing.assert_allclose(averages["p"], expected, rtol=1e-9, atol=1e-9)


def test_parameter_average_keeps_its_whole_horizon():
    """Parameters 0, then 1 for the last ln 2 / (1 - d) updates of a run 2.5 horizons long:
    the average is one half (the exponential average's half-life). The warm-up npgan used
    before, min(d, (1 + n)/(10 + n)), would give 0.95 here: a far shorter horizon."""
    decay, n_updates = 0.999, 2500
    half_life = np.log(2) / (1 - decay)
    params = {"p": np.zeros(1)}
    averages = {"p": np.zeros(1)}
    average = ParameterAverage(params, averages, decay=decay)
    for k in range(n_updates):
        params["p"][...] = 1.0 if k >= n_updates - round(half_life) else 0.0
        average.update()
    assert averages["p"][0] == pytest.approx(0.5 / (1 - decay ** n_updates), abs=0.002)


def test_parameter_average_gives_the_initial_parameters_no_weight():
    """Constant parameters 1 after a start at 0: one update makes the average 1 (a plain
    exponential average from the start would be at 1 - 0.999 = 0.001)."""
    params = {"p": np.zeros(1)}
    averages = {"p": np.zeros(1)}
    average = ParameterAverage(params, averages, decay=0.999)
    params["p"][...] = 1.0
    average.update()
    assert averages["p"][0] == 1.0
    for _ in range(20000):
        average.update()
    assert averages["p"][0] == pytest.approx(1.0, abs=1e-12)


def test_parameter_average_state_round_trip_and_bad_states():
    params = make_params(np.float32)
    first = ParameterAverage(params, {k: np.empty_like(v) for k, v in params.items()}, decay=0.99)
    for n in range(5):
        params["G.0.W"] += 1.0
        first.update()
    second = ParameterAverage(params, {k: np.empty_like(v) for k, v in params.items()}, decay=0.99)
    state = save_and_load_npz(first.state_dict())
    second.load_state_dict(state)
    assert second.updates == 5
    for key, value in first.state_dict().items():
        np.testing.assert_array_equal(second.state_dict()[key], value)
    before = second.state_dict()
    for bad, message in (({**state, "average.G.0.W": state["average.G.0.W"][:1]}, "expected"),
                         ({**state, "average.G.0.b": np.full_like(state["average.G.0.b"], np.nan)}, "NaN"),
                         ({k: v for k, v in state.items() if k != "updates"}, "missing"),
                         ({**state, "updates": np.array(-1)}, ">= 0")):
        with pytest.raises(ValueError, match=message):
            second.load_state_dict(bad)
        for key, value in before.items():  # nothing was changed
            np.testing.assert_array_equal(second.state_dict()[key], value)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, float("nan")])
def test_parameter_average_rejects_a_decay_outside_0_1(decay):
    params = make_params()
    with pytest.raises(ValueError, match="decay"):
        ParameterAverage(params, {k: np.empty_like(v) for k, v in params.items()}, decay=decay)


def test_parameter_average_rejects_averages_that_alias_the_parameters():
    params = make_params()
    with pytest.raises(ValueError, match="separate array"):
        ParameterAverage(params, dict(params), decay=0.9)
