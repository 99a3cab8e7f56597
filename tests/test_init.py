"""Initialisers of the paper's models."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npgan.data.mnist import Pixels, pixels_to_float
from npgan.init import output_bias_from_data, output_bias_from_mean, uniform

from tests.strategies import seeds


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


@given(seeds, st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=400))
def test_the_bias_from_uint8_pixels_in_chunks_is_the_float32_splits_to_the_last_bit(seed, rows, chunk_rows):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(rows, 12), dtype=np.uint8)
    images[:, 0], images[:, 1] = 0, 255  # always black, always white: the clipped ends
    images[:, 2] = rng.choice([0, 1, 254, 255], size=rows)  # the smallest and largest steps
    whole = np.divide(images, np.float32(255), dtype=np.float32)  # the float32 split npgan used to hold
    mean = Pixels(images).column_mean(chunk_rows=chunk_rows)
    np.testing.assert_array_equal(mean, whole.mean(axis=0, dtype=np.float64))
    np.testing.assert_array_equal(output_bias_from_mean(mean), output_bias_from_data(whole))
    np.testing.assert_array_equal(Pixels(images).rows(slice(None)), whole)
    assert pixels_to_float(images).dtype == np.float32


@pytest.mark.parametrize("mean", [np.full(3, np.nan), np.array([0.5, np.inf]), np.zeros((2, 2))])
def test_output_bias_from_mean_rejects_bad_means(mean):
    with pytest.raises(ValueError):
        output_bias_from_mean(mean)


@pytest.mark.parametrize("scale", [-1.0, float("nan"), float("inf")])
def test_uniform_rejects_bad_scales(scale):
    with pytest.raises(ValueError, match="init scale"):
        uniform((2, 2), scale, rng=np.random.default_rng(0))
