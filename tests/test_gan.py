"""GAN gradients without the products whose results would be thrown away (npgan/gan.py):
D's parameter gradients in the backward pass that serves G, the data's gradient in D's own
backward, z's gradient in G's. What G and D receive must be bit for bit what full backward
passes give, on both kernel paths, in both update orders, with D judging one sample at a time
or packs of them (PacGAN: then the fast path backpropagates G's loss over the generated packs).
One exception, the BLAS's and not npgan's: in the simultaneous order the fast path takes the
product for G over the generated rows alone, and the BLAS may round a product of fewer rows
differently from those rows of the whole product (OpenBLAS 0.3.31's Haswell kernels on an AMD
Zen 3 do, for some row counts, by an ulp); G's gradients there agree to 16 ulps of their largest
element, D's bit for bit."""

import numpy as np
import pytest
from hypothesis import given, settings

import npgan.kernels
from npgan.gradcheck import small_gan
from tests.conftest import assert_equal_to_rounding
from tests.strategies import generator_kinds, seeds
from npgan.kernels import runner
from tests.test_kernels import spy_on_backward_kernels

DTYPES = (np.float32, np.float64)


def twin_gans_and_batch(seed, dtype, pack=1):
    """Two identical GANs (weights and dropout streams alike; D packing ``pack`` samples) and one
    batch (of whole packs)."""
    gans = [small_gan(np.random.default_rng(seed), dtype=dtype, pack=pack) for _ in range(2)]
    rng = np.random.default_rng(seed + 1)
    rows = 5 if pack == 1 else 3 * pack
    x_real = rng.uniform(0.05, 0.95, size=(rows, 6)).astype(dtype)
    z = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(rows, 4)).astype(dtype)
    for gan in gans:  # gradients that are not zero to start with, as in a run
        start = np.random.default_rng(seed + 2)
        for name, gradient in gan.grads.items():
            gradient[...] = start.standard_normal(gradient.shape)
    return gans, x_real, z


# -- the reference: gan.py's steps as they were, every backward pass in full, on the same path ----

def full_discriminator_gradients(gan, x_real, z, loss_scale=1.0):
    x_fake = runner(gan.generator).predict(z)
    logits = runner(gan.discriminator).forward(np.concatenate([x_real, x_fake]))
    real = gan.real_packs(len(x_real), len(z))  # one logit per pack of D
    _, grad_real, grad_fake = gan.discriminator_loss(logits[:real], logits[real:])
    gan.discriminator.zero_grad()
    runner(gan.discriminator).backward(loss_scale * np.concatenate([grad_real, grad_fake]))


def full_generator_gradients(gan, z, kind):
    fake_logits = runner(gan.discriminator).forward(runner(gan.generator).forward(z))
    _, grad_fake = gan.generator_loss(fake_logits, kind)
    gan.generator.zero_grad()
    runner(gan.generator).backward(runner(gan.discriminator).backward(grad_fake))
    gan.discriminator.zero_grad()


def full_simultaneous_gradients(gan, x_real, z, kind, discriminator_loss_scale=1.0):
    x_fake = runner(gan.generator).forward(z)
    m, real = len(x_real), gan.real_packs(len(x_real), len(z))
    logits = runner(gan.discriminator).forward(np.concatenate([x_real, x_fake]))
    real_logits, fake_logits = logits[:real], logits[real:]
    _, g_grad_fake = gan.generator_loss(fake_logits, kind)
    gan.generator.zero_grad()
    runner(gan.generator).backward(runner(gan.discriminator).backward(np.concatenate([np.zeros_like(real_logits), g_grad_fake]))[m:])
    _, grad_real, grad_fake = gan.discriminator_loss(real_logits, fake_logits)
    gan.discriminator.zero_grad()
    runner(gan.discriminator).backward(discriminator_loss_scale * np.concatenate([grad_real, grad_fake]))


def assert_same_grads(gan, reference, where, rounded=()):
    """Bit for bit, except the gradients of the networks in ``rounded``: to 16 ulps of their largest
    element (assert_equal_to_rounding; the module docstring says where and why)."""
    assert gan.grads.keys() == reference.grads.keys()
    for name, gradient in gan.grads.items():
        if name.split(".")[0] in rounded:
            assert_equal_to_rounding(gradient, reference.grads[name], ulps=16, err_msg=f"{where}: {name}")
        else:
            np.testing.assert_array_equal(gradient, reference.grads[name], err_msg=f"{where}: {name}")


@pytest.mark.parametrize("pack", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=5)
@given(seed=seeds, kind=generator_kinds)
def test_both_orders_give_the_gradients_of_full_backward_passes_bit_for_bit(kernel_backend, dtype, pack, seed, kind):
    """Sequential order: D step, then G step; simultaneous: both from one pass. Three
    iterations each (the dropout streams advance alike in both GANs)."""
    (gan, reference), x_real, z = twin_gans_and_batch(seed, dtype, pack)
    for iteration in range(3):
        gan.discriminator_gradients(x_real, z, loss_scale=0.5)
        full_discriminator_gradients(reference, x_real, z, loss_scale=0.5)
        assert_same_grads(gan, reference, f"discriminator_gradients, iteration {iteration}")
        gan.generator_gradients(z, kind=kind)
        full_generator_gradients(reference, z, kind)
        assert_same_grads(gan, reference, f"generator_gradients, iteration {iteration}")
        assert all(not gradient.any() for gradient in gan.discriminator.grads.values())
    for iteration in range(3):
        gan.simultaneous_gradients(x_real, z, kind=kind, discriminator_loss_scale=0.5)
        full_simultaneous_gradients(reference, x_real, z, kind, discriminator_loss_scale=0.5)
        assert_same_grads(gan, reference, f"simultaneous_gradients, iteration {iteration}",
                          rounded=("G",) if kernel_backend == "numba" else ())


def test_the_thrown_away_products_are_not_computed_on_the_fast_path(monkeypatch):
    """Which backward kernels each step calls, with (param_grads, input_grad), lowest layer
    last: D's pass for G computes no parameter gradients, G's lowest layer and D's (the maxout
    above the input dropout) no input gradient."""
    (gan, _), x_real, z = twin_gans_and_batch(0, np.float32)
    for_g = [(False, True)] * 3
    without_input = [(True, True), (True, True), (True, False)]
    with npgan.kernels.use_backend("numba"):
        calls = spy_on_backward_kernels(monkeypatch)
        gan.simultaneous_gradients(x_real, z)
        assert [call[1:] for call in calls] == for_g + without_input + without_input
        calls.clear()
        gan.discriminator_gradients(x_real, z)
        assert [call[1:] for call in calls] == without_input
        calls.clear()
        gan.generator_gradients(z)
        assert [call[1:] for call in calls] == for_g + without_input


def test_on_the_reference_path_the_flags_reach_the_layers(monkeypatch):
    """The reference computes every product and throws none of the results in: D's pass for G
    asks every D layer for no parameter gradients; input_grad=False goes to the lowest layer
    of D's and G's chains (D's input dropout, G's first Linear), which return None."""
    (gan, _), x_real, z = twin_gans_and_batch(0, np.float64)
    calls = []
    for network, name in ((gan.generator, "G"), (gan.discriminator, "D")):
        for index, layer in enumerate(network.layers):
            def spy(grad_out, _layer=layer, _where=f"{name}.{index}", **options):
                calls.append((_where, options["param_grads"], options["input_grad"]))
                return type(_layer).backward(_layer, grad_out, **options)
            monkeypatch.setattr(layer, "backward", spy)
    with npgan.kernels.use_backend("numpy"):
        gan.simultaneous_gradients(x_real, z)
    d_layers, g_layers = len(gan.discriminator.layers), len(gan.generator.layers)
    for_g = [(f"D.{i}", False, True) for i in reversed(range(d_layers))]
    for_g += [(f"G.{i}", True, i > 0) for i in reversed(range(g_layers))]
    for_d = [(f"D.{i}", True, i > 0) for i in reversed(range(d_layers))]
    assert calls == for_g + for_d
