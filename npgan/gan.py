"""A generator G and a discriminator D, and the gradients of Algorithm 1's two steps.

D outputs logits a (D(x) = sigmoid(a)); the losses work from logits (losses.py).

Discriminator step: the gradient of L_D with respect to D's parameters only.
    x_fake = G(z)                      (G is not differentiated: no G gradient)
    a = D([x_real; x_fake])            one pass over the concatenated batch, so
                                       each half is backpropagated through its own
                                       activations and dropout masks
    D.backward([dL_D/da_real; dL_D/da_fake])
                                       (input_grad=False: no gradient for the data)

Generator step: the gradient of L_G with respect to G's parameters only.
    a_fake = D(G(z))
    dL_G/dG(z) = D.backward(dL_G/da_fake)   through D, its dropout masks included
    G.backward(dL_G/dG(z))                  (input_grad=False: none for z)
    The G step must never move D: D's backward here computes no parameter
    gradients (param_grads=False), and D's grads are zeroed after it.

Simultaneous (the authors' released code): one minibatch and one noise batch;
D's gradient and G's gradient both come from the same D pass on [x; G(z)]
(the same dropout masks), taken at the same parameters.

Parameters are named "G.<name>" and "D.<name>" ("D.0.W"), the names used by
the optimizer, checkpoints and gradient checks.

Each pass runs on the kernel backend in use (npgan.kernels.runner): the layers' own NumPy
methods, or the Numba kernels beside them; the arithmetic is the layers'.

Packing (PacGAN, Lin et al. 2018; the configuration key ``pack``): D's first layer is a
Pack (npgan/layers.py), so D judges ``pack`` samples at once and outputs one logit per pack.
Pack groups rows 0..pack-1, pack..2 pack-1, ... of its input; with the m real rows a
multiple of pack, no pack straddles the boundary of [x_real; x_fake]: the first m/pack
logits are the real packs, the rest the generated ones, as if each half were packed alone
(``real_packs``). The losses then average over packs, not samples:
    L_D = mean_{m/pack real packs} softplus(-a) + mean_{m/pack fake packs} softplus(a),
and a sample's gradient is its pack's, taken back through Pack's inverse reshape (the
rows of the D pass above Pack count packs, below it samples). G is unchanged: it draws
samples one by one, and sampling and evaluation never see D. pack = 1: no Pack layer,
the paper's GAN.

divergence: "gan" (the paper's losses, losses.py) or another row of the f-GAN table
(npgan/divergences.py): D is then the critic, its output V, and its loss is -F =
-(mean g_f(V_real) - mean f*(g_f(V_fake))); G's loss is generator_objective's.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from npgan.kernels import runner
from npgan.divergences import generator_objective, get_divergence, variational_objective
from npgan.layers import Pack
from npgan.losses import discriminator_loss, generator_loss
from npgan.noise import NOISE_PRIORS, sample_noise


class GAN:
    """G: noise (m, noise_dim) -> samples (m, data_dim); D: samples -> logits (m / pack, 1), one per
    pack of ``pack`` samples (pack: 1 but for a packed D, whose first layer is a Pack).

    discriminator may be None: a generator alone (npgan export), for sampling only.
    noise, noise_dim: the prior p_z (npgan.noise) that ``sample`` draws z from; a GAN built
    without them generates from given z only (``generate``).
    """

    def __init__(self, generator, discriminator, divergence="gan", *, noise=None, noise_dim=None):
        self.generator = generator
        self.discriminator = discriminator
        get_divergence(divergence)  # a ValueError names the valid ones
        self.divergence = divergence
        if noise is not None and noise not in NOISE_PRIORS:
            raise ValueError(f"unknown noise prior {noise!r}; valid: {', '.join(NOISE_PRIORS)}")
        self.noise, self.noise_dim = noise, noise_dim

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n, rng):
        """n samples G(z), z ~ p_z drawn from ``rng`` (a numpy.random.Generator): (n, data_dim)."""
        if self.noise is None or self.noise_dim is None:
            raise ValueError("this GAN has no noise prior: build it with noise= and noise_dim= "
                             "(npgan.models.build_gan does), or call generate(z)")
        return self.generate(sample_noise(self.noise, n, self.noise_dim, rng))

    def generate(self, z):
        """G(z) for given noise z (m, noise_dim): evaluation mode (no dropout), no cache kept;
        G is back in training mode afterwards."""
        self.generator.eval()
        try:
            return runner(self.generator).predict(z)
        finally:
            self.generator.train()

    @property
    def pack(self):
        """How many samples D judges at once (PacGAN): the pack of D's first layer if it is a
        Pack, else 1."""
        first = (getattr(self.discriminator, "layers", None) or [None])[0]
        return first.pack if isinstance(first, Pack) else 1

    def real_packs(self, real_rows, fake_rows):
        """How many of D's logits judge real samples in a pass on [x_real; x_fake] of real_rows +
        fake_rows samples: real_rows / pack. A ValueError unless both halves are whole packs (then
        no pack mixes real and generated samples), raised before any pass."""
        for rows, what in ((real_rows, "real"), (fake_rows, "generated")):
            if rows % self.pack:
                raise ValueError(f"D judges packs of {self.pack} samples, and a pack never mixes real and "
                                 f"generated ones: {rows} {what} samples are not whole packs; use a minibatch "
                                 f"size that is a multiple of {self.pack}")
        return real_rows // self.pack

    def discriminator_loss(self, real_logits, fake_logits):
        """L_D (or, for an f-divergence, -F) and its gradients with respect to D's outputs."""
        if self.divergence == "gan":
            return discriminator_loss(real_logits, fake_logits)
        value, grad_real, grad_fake = variational_objective(self.divergence, real_logits, fake_logits)
        return -value, -grad_real, -grad_fake

    def generator_loss(self, fake_logits, kind):
        """L_G of this GAN's divergence and its gradient with respect to D's outputs on G(z)."""
        if self.divergence == "gan":
            return generator_loss(fake_logits, kind)
        return generator_objective(self.divergence, fake_logits, kind)

    @property
    def params(self):
        """G's and D's parameters by prefixed name (G's alone for a generator without D)."""
        return {name: value for network in self._networks() for name, value in self.params_of(network).items()}

    @property
    def grads(self):
        return {name: value for network in self._networks() for name, value in self.grads_of(network).items()}

    def _networks(self):
        return ("G",) if self.discriminator is None else ("G", "D")

    def params_of(self, network):
        """The parameters of "G" or "D" alone, under their prefixed names."""
        return _prefixed(network, self._network(network).params)

    def grads_of(self, network):
        """The gradients of "G" or "D" alone, under their prefixed names."""
        return _prefixed(network, self._network(network).grads)

    def _network(self, network):
        if network == "G":
            return self.generator
        if network == "D":
            return self.discriminator
        raise ValueError(f"network must be 'G' or 'D', got {network!r}")

    def zero_grad(self):
        self.generator.zero_grad()
        self.discriminator.zero_grad()

    def astype(self, dtype):
        self.generator.astype(dtype)
        self.discriminator.astype(dtype)
        return self

    def discriminator_gradients(self, x_real, z, *, loss_scale=1.0):
        """Set D's grads to d(loss_scale * L_D)/d(theta_D); G's grads are left untouched.

        Returns the logits of the pass (real_logits, fake_logits) and L_D (unscaled).
        """
        G, D = runner(self.generator), runner(self.discriminator)
        real_packs = self.real_packs(len(x_real), len(z))  # len(x_real) without packing
        x_fake = G.predict(z)
        _check_same_width(x_real, x_fake)
        logits = D.forward(np.concatenate([x_real, x_fake]))  # one logit per pack
        real_logits, fake_logits = logits[:real_packs], logits[real_packs:]
        value, grad_real, grad_fake = self.discriminator_loss(real_logits, fake_logits)
        _set_gradients(self.discriminator, D, loss_scale * np.concatenate([grad_real, grad_fake]), input_grad=False)
        return StepResult(value, real_logits, fake_logits)

    def generator_gradients(self, z, *, kind="non-saturating"):
        """Set G's grads to dL_G/d(theta_G), backpropagating through D; D's grads end at zero.

        Returns L_G and the fake logits of the pass.
        """
        G, D = runner(self.generator), runner(self.discriminator)
        self.real_packs(0, len(z))  # whole packs of generated samples
        x_fake = G.forward(z)
        fake_logits = D.forward(x_fake)
        value, grad_fake = self.generator_loss(fake_logits, kind)
        grad_x_fake = D.backward(grad_fake, param_grads=False)
        _set_gradients(self.generator, G, grad_x_fake, input_grad=False)
        self.discriminator.zero_grad()  # this pass must not move D
        return StepResult(value, None, fake_logits)

    def simultaneous_gradients(self, x_real, z, *, kind="non-saturating", discriminator_loss_scale=1.0):
        """Both nets' grads from one D pass on [x_real; G(z)]; returns (D step, G step) results."""
        G, D = runner(self.generator), runner(self.discriminator)
        m, real_packs = len(x_real), self.real_packs(len(x_real), len(z))
        x_fake = G.forward(z)
        _check_same_width(x_real, x_fake)
        logits = D.forward(np.concatenate([x_real, x_fake]))  # one logit per pack
        real_logits, fake_logits = logits[:real_packs], logits[real_packs:]

        # G's gradient first, through the pass, computing no D gradients. Only the fake rows
        # carry a gradient (the real rows' upstream gradient is zero).
        g_value, g_grad_fake = self.generator_loss(fake_logits, kind)
        if D is self.discriminator:  # the reference: the whole pass, zeros for the real rows
            grad_x_fake = D.backward(np.concatenate([np.zeros_like(real_logits), g_grad_fake]), param_grads=False)[m:]
        else:  # the fast path: the fake rows (packs) alone, the same numbers for half the products
            grad_x_fake = D.backward(g_grad_fake, param_grads=False, rows=slice(real_packs, None))
        _set_gradients(self.generator, G, grad_x_fake, input_grad=False)

        # D's gradient from the same pass (the same activations and dropout masks).
        d_value, grad_real, grad_fake = self.discriminator_loss(real_logits, fake_logits)
        _set_gradients(self.discriminator, D, discriminator_loss_scale * np.concatenate([grad_real, grad_fake]),
                       input_grad=False)
        return StepResult(d_value, real_logits, fake_logits), StepResult(g_value, None, fake_logits)


@dataclass
class StepResult:
    """The loss value of a step and the logits it saw (for monitoring)."""

    loss: float
    real_logits: Optional[np.ndarray]
    fake_logits: np.ndarray


def _set_gradients(network, run, grad_out, **options):
    """Backpropagate grad_out through ``run`` (what runs ``network``), setting the network's grads
    to this pass's gradients rather than adding to what they held. The reference (``run`` is the
    network itself) zeroes them, then its backward adds; the fast path's products write straight
    into them (accumulate=False: no zeroing pass, no temporary the size of W)."""
    if run is network:
        network.zero_grad()
        return run.backward(grad_out, **options)
    return run.backward(grad_out, accumulate=False, **options)


def _prefixed(prefix, params):
    return {f"{prefix}.{name}": value for name, value in params.items()}


def _check_same_width(x_real, x_fake):
    if x_real.ndim != 2 or x_real.shape[1:] != x_fake.shape[1:]:
        raise ValueError(
            f"real data of shape {x_real.shape} does not match the generator's samples "
            f"of shape {x_fake.shape}: expected (m, {x_fake.shape[1]})"
        )
