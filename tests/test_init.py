"""Initialisers of the paper's models."""

import numpy as np
import pytest

from npgan.init import output_bias_from_data, uniform


def test_uniform_stays_inside_its_scale_and_fills_it():
    values = uniform((200, 300), 0.05, rng=np.random.default_rng(0))
    assert values.dtype == np.float32
    assert values.min() >= -0.05 and values.max() <= 0.05
    assert values.min() < -0.049 and values.max() > 0.049


def test_output_bias_reproduces_the_mean_through_the_sigmoid():
    rng = np.random.default_rng(0)
    data = rng.random((500, 6)) ** 2
    data[:, 0] = 0.0  # an always-black pixel: clipped to 1e-7
    data[:, 1] = 1.0  # an always-white pixel: clipped to 1 - 1e-7
    bias = output_bias_from_data(data, dtype=np.float64)
    expected = np.clip(data.mean(axis=0), 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(1 / (1 + np.exp(-bias)), expected, rtol=1e-9)
    assert bias[0] == pytest.approx(np.log(1e-7 / (1 - 1e-7)))


@pytest.mark.parametrize("data", [np.zeros((0, 3)), np.zeros(3), np.full((2, 2), np.nan)])
def test_output_bias_rejects_bad_data(data):
    with pytest.raises(ValueError):
        output_bias_from_data(data)


@pytest.mark.parametrize("scale", [-1.0, float("nan"), float("inf")])
def test_uniform_rejects_bad_scales(scale):
    with pytest.raises(ValueError, match="init scale"):
        uniform((2, 2), scale, rng=np.random.default_rng(0))
