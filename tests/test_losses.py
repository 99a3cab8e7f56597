"""Losses: values at known points, the saturated tails, gradients, bad input."""

import numpy as np
import pytest
from hypothesis import given

from npgan.gradcheck import LOSS_THRESHOLD, check_discriminator_loss, check_generator_loss
from npgan.losses import GENERATOR_LOSSES, discriminator_loss, generator_loss
from tests.strategies import generator_kinds, logit_batches


def test_at_d_one_half_the_discriminator_loss_is_log_4():
    value, grad_real, grad_fake = discriminator_loss(np.zeros((4, 1)), np.zeros((4, 1)))
    assert value == pytest.approx(np.log(4), abs=1e-15)
    np.testing.assert_allclose(grad_real, -0.5 / 4)
    np.testing.assert_allclose(grad_fake, 0.5 / 4)


def test_generator_losses_at_d_one_half():
    assert generator_loss(np.zeros(3), "non-saturating")[0] == pytest.approx(np.log(2))
    assert generator_loss(np.zeros(3), "minimax")[0] == pytest.approx(-np.log(2))


def test_values_match_the_probability_form_away_from_saturation():
    rng = np.random.default_rng(0)
    real, fake = rng.uniform(-4, 4, (6, 1)), rng.uniform(-4, 4, (5, 1))
    d_real, d_fake = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
    expected = -(np.mean(np.log(d_real)) + np.mean(np.log(1 - d_fake)))
    assert discriminator_loss(real, fake)[0] == pytest.approx(expected, rel=1e-12)
    assert generator_loss(fake, "non-saturating")[0] == pytest.approx(-np.mean(np.log(d_fake)), rel=1e-12)
    assert generator_loss(fake, "minimax")[0] == pytest.approx(np.mean(np.log(1 - d_fake)), rel=1e-12)


def test_saturated_tails_are_finite_and_match_closed_forms():
    """At |a| = 1000, log(sigmoid(a)) would be log(0); from logits it is exact:
    softplus(1000) = 1000, softplus(-1000) = 0; the gradient is 0 or -+1/m."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        big = np.array([[1000.0], [-1000.0]])
        value, grad_real, grad_fake = discriminator_loss(big, big)
        assert value == pytest.approx((0 + 1000) / 2 + (1000 + 0) / 2)
        np.testing.assert_array_equal(grad_real, [[0.0], [-0.5]])
        np.testing.assert_array_equal(grad_fake, [[0.5], [0.0]])
        value, grad = generator_loss(big, "non-saturating")
        assert value == pytest.approx(500.0)
        np.testing.assert_array_equal(grad, [[0.0], [-0.5]])
        value, grad = generator_loss(big, "minimax")
        assert value == pytest.approx(-500.0)
        np.testing.assert_array_equal(grad, [[-0.5], [0.0]])


def test_saturation_the_reason_for_the_non_saturating_loss():
    """Where D rejects fakes confidently (a = -10), minimax's gradient vanishes, the
    non-saturating one does not (paper, section 3)."""
    fake = np.full((1, 1), -10.0)
    assert abs(generator_loss(fake, "minimax")[1][0, 0]) < 1e-4
    assert abs(generator_loss(fake, "non-saturating")[1][0, 0]) > 0.99


def test_float32_stays_float32():
    logits = np.zeros((3, 1), dtype=np.float32)
    _, grad_real, grad_fake = discriminator_loss(logits, logits)
    assert grad_real.dtype == grad_fake.dtype == np.float32
    assert generator_loss(logits)[1].dtype == np.float32


@given(logit_batches(), logit_batches())
def test_discriminator_loss_gradients(real, fake):
    for result in check_discriminator_loss(real, fake):
        assert result.ok and result.threshold == LOSS_THRESHOLD, result


@given(logit_batches(), generator_kinds)
def test_generator_loss_gradients(fake, kind):
    for result in check_generator_loss(fake, kind):
        assert result.ok, result


def test_shapes_m_and_m_by_1_both_work():
    for shape in [(5,), (5, 1)]:
        _, grad = generator_loss(np.zeros(shape))
        assert grad.shape == shape


def test_unknown_generator_loss_lists_the_valid_ones():
    with pytest.raises(ValueError, match="non-saturating, minimax"):
        generator_loss(np.zeros(2), "wasserstein")
    assert GENERATOR_LOSSES == ("non-saturating", "minimax")


@pytest.mark.parametrize("logits", [np.zeros((0, 1)), np.zeros((3, 2)), np.zeros(3, dtype=int), [0.0, 1.0]])
def test_bad_logits_are_value_errors(logits):
    with pytest.raises(ValueError):
        discriminator_loss(logits, np.zeros((2, 1)))
    with pytest.raises(ValueError):
        generator_loss(logits)
