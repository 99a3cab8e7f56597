"""Bugs found in other from-scratch GAN code, each a failing test if it came back.

Each test asserts the correct behaviour, and where it helps, shows that the
gradient check catches the buggy variant (so the check is not vacuous)."""

import numpy as np
import pytest
from hypothesis import given, settings

from npgan.gan import GAN
from npgan.gradcheck import check_discriminator_step, check_generator_step, check_layer, small_gan
from npgan.layers import Dropout, Linear, Maxout, Sequential
from npgan.losses import discriminator_loss, generator_loss
from tests.strategies import generator_kinds, seeds


def gan_and_batch(seed):
    rng = np.random.default_rng(seed)
    gan = small_gan(rng)
    x_real = rng.uniform(0.05, 0.95, size=(5, 6))
    z = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(5, 4))
    return gan, x_real, z


# -- dropout backward without the mask ----------------------------------------------------------

def test_dropout_backward_applies_the_forward_mask():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((8, 16)) + 5  # no zeros of its own
    y = layer.forward(x)
    grad = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(grad == 0, y == 0)
    np.testing.assert_array_equal(grad[y != 0], 2.0)


class DropoutForgettingTheMask(Dropout):
    def backward(self, grad_out, **options):
        self.kept(grad_out)
        return grad_out


def test_the_gradient_check_catches_a_dropout_backward_without_the_mask():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5))
    assert all(r.ok for r in check_layer("Dropout", Dropout(0.5, rng=rng), x, rng))
    assert not all(r.ok for r in check_layer("bad Dropout", DropoutForgettingTheMask(0.5, rng=rng), x, rng))


def test_the_whole_network_checks_catch_a_dropout_backward_without_the_mask():
    """The same bug inside D, where the trainer meets it: the D step's check flags the weights
    below each broken dropout, the G step's check flags G (its gradient comes through D's
    dropouts), and D's top layer, above every dropout, stays correct."""
    rng = np.random.default_rng(3)
    gan = small_gan(rng)
    x_real = rng.uniform(0.05, 0.95, size=(6, 6))
    z = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(6, 4))
    layers = gan.discriminator.layers
    for index, layer in enumerate(layers):
        if isinstance(layer, Dropout):
            layers[index] = DropoutForgettingTheMask(layer.keep_prob, rng=layer.rng)
    failed = {r.parameter for r in check_discriminator_step(gan, x_real, z) + check_generator_step(gan, x_real, z)
              if not r.ok}
    assert {"D.1.W", "D.3.W", "G.0.W"} <= failed
    assert "D.5.W" not in failed


# -- one pass's activations overwritten by another ----------------------------------------------

def test_a_second_forward_before_backward_is_refused():
    """The bug: D.forward(real); D.forward(fake); D.backward(g_real) would backpropagate the
    real batch through the fake batch's cached activations and masks."""
    gan, x_real, z = gan_and_batch(0)
    D = gan.discriminator
    D.forward(x_real)
    with pytest.raises(RuntimeError, match="overwritten"):
        D.forward(gan.generator.predict(z))


def test_the_design_one_pass_over_real_and_fake_backpropagates_each_half_correctly():
    """GAN.discriminator_gradients runs D once on [x_real; G(z)]: its gradient matches finite
    differences of L_D, while the two-pass bug (with the guard bypassed) does not."""
    gan, x_real, z = gan_and_batch(1)
    assert all(r.ok for r in check_discriminator_step(gan, x_real, z))

    D = gan.discriminator
    for layer in D.layers:
        if isinstance(layer, Dropout):
            layer.eval()  # a deterministic D, so the two computations can be compared
    x_fake = gan.generator.predict(z)
    real_logits = D.forward(x_real)
    D.clear_cache()  # bypass the guard, as code without it would silently do
    fake_logits = D.forward(x_fake)
    _, grad_real, grad_fake = discriminator_loss(real_logits, fake_logits)
    D.zero_grad()
    D.backward(grad_real)  # uses the fake pass's activations: the bug
    D.backward(grad_fake)
    buggy = {k: v.copy() for k, v in D.grads.items()}
    gan.discriminator_gradients(x_real, z)
    correct = D.grads
    assert any(not np.allclose(buggy[k], correct[k]) for k in correct)


# -- gradients that do not accumulate ---------------------------------------------------------

def test_discriminator_gradient_is_the_sum_of_the_real_and_fake_terms():
    rng = np.random.default_rng(2)
    D = Sequential(Maxout(3, 2, 2, rng=rng, dtype=np.float64), Linear(2, 1, rng=rng, dtype=np.float64))
    generator = Sequential(Linear(2, 3, rng=rng, dtype=np.float64))
    gan = GAN(generator, D)
    x_real, z = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    x_fake = generator.predict(z)
    gan.discriminator_gradients(x_real, z)
    together = {k: v.copy() for k, v in D.grads.items()}

    D.zero_grad()
    _, grad_real, _ = discriminator_loss(D.predict(x_real), D.predict(x_fake))
    _, _, grad_fake = discriminator_loss(D.predict(x_real), D.predict(x_fake))
    D.forward(x_real)
    D.backward(grad_real)
    D.forward(x_fake)
    D.backward(grad_fake)  # += : the fake term adds to the real one
    for k in together:
        np.testing.assert_allclose(D.grads[k], together[k], rtol=1e-12, atol=1e-15)


# -- generator updates that skip or move the discriminator ----------------------------------------

@settings(max_examples=10)
@given(seeds, generator_kinds)
def test_the_generator_step_backpropagates_through_d(seed, kind):
    gan, x_real, z = gan_and_batch(seed)
    for order in ("sequential", "simultaneous"):
        results = check_generator_step(gan, x_real, z, kind=kind, update_order=order)
        assert all(r.ok for r in results), [r for r in results if not r.ok]


def test_the_generator_step_leaves_d_gradients_at_zero_and_the_d_step_leaves_g_alone():
    gan, x_real, z = gan_and_batch(3)
    gan.generator_gradients(z)
    assert all(not g.any() for g in gan.discriminator.grads.values())
    g_grads = {k: v.copy() for k, v in gan.generator.grads.items()}
    assert any(v.any() for v in g_grads.values())
    gan.discriminator.clear_cache()
    gan.discriminator_gradients(x_real, z)
    assert any(v.any() for v in gan.discriminator.grads.values())
    for k, v in gan.generator.grads.items():
        np.testing.assert_array_equal(v, g_grads[k])


def test_a_generator_step_that_skips_d_fails_the_check():
    """Feeding dL/da straight into G (as if D were the identity) is caught."""
    gan, x_real, z = gan_and_batch(4)

    def skipping_generator_gradients(z, *, kind="non-saturating"):
        x_fake = gan.generator.forward(z)
        fake_logits = gan.discriminator.forward(x_fake)
        _, grad_fake = generator_loss(fake_logits, kind)
        gan.discriminator.clear_cache()
        gan.generator.zero_grad()
        gan.generator.backward(np.repeat(grad_fake, x_fake.shape[1], axis=1))

    gan.generator_gradients = skipping_generator_gradients
    assert not all(r.ok for r in check_generator_step(gan, x_real, z))


def test_simultaneous_and_sequential_agree_without_dropout():
    """With no dropout (the same D function), both orders take the same gradients at the
    same parameters from the same batch."""
    gan, x_real, z = gan_and_batch(5)
    for layer in gan.discriminator.layers:
        if isinstance(layer, Dropout):
            layer.eval()
    gan.simultaneous_gradients(x_real, z, kind="minimax")
    both = {k: v.copy() for k, v in gan.grads.items()}
    gan.discriminator.clear_cache()
    gan.generator.clear_cache()
    gan.discriminator_gradients(x_real, z)
    d_grads = {k: v.copy() for k, v in gan.discriminator.grads.items()}
    gan.discriminator.clear_cache()
    gan.generator_gradients(z, kind="minimax")
    for k, v in d_grads.items():
        np.testing.assert_allclose(both[f"D.{k}"], v, rtol=1e-12, atol=1e-15)
    for k, v in gan.generator.grads.items():
        np.testing.assert_allclose(both[f"G.{k}"], v, rtol=1e-12, atol=1e-15)


def test_gan_parameter_names_are_prefixed_by_owner():
    gan, _, _ = gan_and_batch(0)
    names = list(gan.params)
    assert names[0] == "G.0.W" and "D.1.W" in names and "D.5.b" in names
    assert gan.params["D.1.W"] is gan.discriminator.layers[1].params["W"]
    assert list(gan.grads) == names


def test_real_data_of_the_wrong_width_is_a_value_error():
    gan, _, z = gan_and_batch(0)
    with pytest.raises(ValueError, match=r"does not match.*\(m, 6\)"):
        gan.discriminator_gradients(np.zeros((5, 7)), z)
