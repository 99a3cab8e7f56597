"""paper-mnist training throughput: npgan (its default Numba path and its NumPy reference)
against PyTorch eager, torch.compile, a straightforward hand-written NumPy step and the matrix
products alone, all interleaved in one process.

One iteration is what Trainer.train_iteration does for paper-mnist (the simultaneous
order, batch 100, float32): G forward on 100 noise vectors (100-1200-1200-784, ReLU, ReLU,
sigmoid); one D forward on [x; G(z)] (200 rows: dropout keep 0.8, maxout 240x5, dropout 0.5,
maxout 240x5, dropout 0.5, linear); G's gradient from that pass (non-saturating loss, back
through D's dropout masks, computing no D gradient), D's gradient from the same pass (its
loss scaled by 0.5, computing no gradient for the data), G's backward (none for z); the
finiteness checks; two momentum steps (v <- mu v - lr g, p <- p + v).

- npgan numba (the default) / npgan numpy (the reference): Trainer.train_iteration with
  npgan.kernels on that backend (two trainers built alike from the same seed; the data are
  1,000 fixed random images, since the speed does not depend on the pixels).
- PyTorch eager: only if torch is importable (it is never a dependency of npgan; the CPU
  wheel), with torch.set_num_threads(the BLAS thread count). nn.Linear layers, maxout by
  view + max, nn.Dropout(p = 1 - keep_prob), the same initial parameters as npgan's trainer,
  one D pass on torch.cat([x, G(z)]); G's gradient by torch.autograd.grad(L_G, G's parameters,
  retain_graph=True), D's by torch.autograd.grad(0.5 * L_D, D's parameters): autograd then
  computes only the products those need, as npgan does (but G's over all 2m rows). The same
  momentum update and learning-rate decay, in place under torch.no_grad(); no finiteness
  checks (favours it). torch runs its products on its own BLAS (MKL in the CPU wheel), npgan
  on NumPy's (OpenBLAS).
- PyTorch compiled: the same, with torch.compile (default mode, inductor, dynamic=False) of the
  function from (x, z) to the two losses (both forwards), of the two autograd.grad calls
  (compiled autograd, torch._dynamo.compiled_autograd: each traced and compiled for the
  gradients it asks for; without it, AOTAutograd's backward of the loss graph computes every
  gradient of the graph at both calls, and the step ran at 0.68x eager) and of the momentum
  update (the learning rate a 0-d tensor, so its decay does not recompile). Its first 3
  iterations (the compile) are timed and reported; if compiling fails (no C++ compiler, say)
  the reason is reported and the variant left out.
- straightforward NumPy: the same iteration as a learner would write it, in this file (no
  npgan import): plain ``@``, maxout by reshape + max + argmax and a put_along_axis scatter,
  dropout masks from ``rng.random(shape) < keep_prob``, a temporary for every intermediate,
  nothing preallocated, and one backward function for D that returns every gradient (so the
  pass that serves G also computes D's parameter gradients, and D's pass the data's, and G's
  backward the gradient for z, all thrown away). Kept in float32 throughout. It skips npgan's
  finiteness checks, which favours it.
- the products npgan computes: the 19 matrix products of npgan's default path (2.82 GFLOP:
  no D gradients in the pass that serves G, whose input gradient covers the m fake rows only;
  no gradient for the data or for z), of the same shapes, in float32 with np.dot and nothing
  else: what npgan's iteration would cost if everything around its products were free. (The
  reference computes more: the whole 2m rows for G and the input gradient of D's first maxout.)
- all products (bound): the 24 products of the straightforward step (3.96 GFLOP).

Before timing, each baseline's gradients are held to npgan's (GAN.simultaneous_gradients) on
a tiny float64 instance with the same parameters: the straightforward step with the same
dropout masks (its Generator seeded as npgan's dropout stream, drawn in the same order), PyTorch
eager and compiled with dropout off (keep_prob 1; their masks come from torch's own generator).
A rel_error above 1e-10 stops the benchmark.

The variants are timed in rounds, in rotating order, each round timing --iterations
iterations of each; the table gives the median iterations/s over --rounds rounds and the
ratios of medians against PyTorch eager, the products npgan computes, the straightforward step
and all products, then issue 21's targets for the default path: at 2 threads at least 1.5x
PyTorch eager and 85% of its products, at 1 thread 90% of its products. Ratios are what to
compare across machines or runs: the absolute numbers move with the machine's load, printed
before and after (os.getloadavg).

--profile profiles npgan's iteration on each backend instead (cProfile: milliseconds per
iteration by function), beside the time of the products npgan computes alone.

BLAS threads are fixed per process (OpenBLAS reads OPENBLAS_NUM_THREADS when it loads), so
each thread count runs in a child process of its own:

    python benchmarks/train_step.py                       # 1 and 2 threads, table + JSON
    python benchmarks/train_step.py --threads 1 --rounds 7
    python benchmarks/train_step.py --kernels             # also each layer, reference against numba
    python benchmarks/train_step.py --profile --threads 1 --rounds 4 --iterations 10

JSON: benchmarks/results/train_step.json (--json to change).
"""

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from benchlib import report_head, thread_environment, write_json

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="BLAS thread counts (default 1 2)")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--iterations", type=int, default=5, help="iterations per variant per round (default 5)")
    parser.add_argument("--kernels", action="store_true", help="also time each kernel, numba against numpy")
    parser.add_argument("--profile", action="store_true",
                        help="profile npgan's iteration on each backend instead (cProfile, ms per iteration)")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "train_step.json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- the workload ----------------------------------------------------------------------------------

class FixedImages:
    """1,000 random 784-pixel images in [0, 1): a stand-in for MNIST with its shape."""

    dim = 784

    def __init__(self, rng):
        self.images = rng.random((1000, self.dim), dtype=np.float32)

    def sample(self, m, rng):
        return self.images[rng.integers(0, len(self.images), size=m)]


def build_trainer(backend):
    """A paper-mnist Trainer on FixedImages (generator_output_bias zeros: no MNIST needed)."""
    import npgan.kernels
    from npgan.models import PRESETS
    from npgan.train import Trainer
    npgan.kernels.set_backend(backend)
    config = {**PRESETS["paper-mnist"], "dataset": "ring8", "generator_output_bias": "zeros",
              "preset": "paper-mnist", "seed": 0}
    trainer = Trainer(config, FixedImages(np.random.default_rng(0)))
    return trainer


def matmul_plan(trainer):
    """The float32 operands of the matrix products of one simultaneous iteration, transposed views
    where npgan's backward uses them (x^T, W^T), and their FLOP: {"bound": the 24 products a
    straightforward step computes (every backward in full), "npgan": the 19 the default path
    computes}, each a list of (a, b), and {same keys: FLOP}."""
    m = trainer.config["batch_size"]
    g_widths = [trainer.config["noise_dim"], *trainer.config["generator_hidden"], 784]
    pieces = trainer.config["discriminator_pieces"]
    d_in = [784, *trainer.config["discriminator_hidden"]]
    d_out = [h * pieces for h in trainer.config["discriminator_hidden"]] + [1]
    # (batch rows, inner, columns, a is a transposed view, b is a transposed view, the batch
    # rows npgan computes: 0 for a product it skips); for dW = x^T dz the batch is the inner size
    plan = []
    for fan_in, fan_out in zip(g_widths[:-1], g_widths[1:]):           # G forward: x W
        plan.append((m, fan_in, fan_out, False, False, m))
    for fan_in, fan_out in zip(d_in, d_out):                           # D forward on [x; G(z)]
        plan.append((2 * m, fan_in, fan_out, False, False, 2 * m))
    for d_pass in ("for G", "for D"):                                   # D backward, twice
        for layer, (fan_in, fan_out) in enumerate(zip(d_in, d_out)):
            # dW = x^T dz: D's gradients of the pass for G are zeroed right after
            plan.append((2 * m, fan_in, fan_out, True, False, 2 * m if d_pass == "for D" else 0))
            # dx = dz W^T: for G, the m fake rows only; the data's gradient (layer 0, for D) never
            plan.append((2 * m, fan_out, fan_in, False, True, m if d_pass == "for G" else 2 * m * (layer > 0)))
    for layer, (fan_in, fan_out) in enumerate(zip(g_widths[:-1], g_widths[1:])):  # G backward
        plan.append((m, fan_in, fan_out, True, False, m))
        plan.append((m, fan_out, fan_in, False, True, m * (layer > 0)))  # dL/dz is never used
    rng = np.random.default_rng(0)
    operands, flops = {"bound": [], "npgan": []}, {"bound": 0, "npgan": 0}
    for batch, inner, columns, dw, b_transposed, npgan_batch in plan:
        for name, rows in (("bound", batch), ("npgan", npgan_batch)):
            if rows:
                shape = (inner, rows, columns) if dw else (rows, inner, columns)
                a = rng.standard_normal(shape[1::-1], dtype=np.float32).T if dw else \
                    rng.standard_normal(shape[:2], dtype=np.float32)
                b = rng.standard_normal(shape[2:0:-1], dtype=np.float32).T if b_transposed else \
                    rng.standard_normal(shape[1:], dtype=np.float32)
                operands[name].append((a, b))
                flops[name] += 2 * shape[0] * shape[1] * shape[2]
    return operands, flops


def matmul_iteration(operands):
    for a, b in operands:
        np.dot(a, b)


def network_parameters(network):
    """Copies of an npgan Sequential's parameters as a learner keeps them: a list of [W, b],
    one per layer with parameters, in order (W: (fan_in, fan_out), as npgan's)."""
    return [[layer.params["W"].copy(), layer.params["b"].copy()] for layer in network.layers if layer.params]


def network_gradients(network):
    """An npgan Sequential's gradients in the same layout as network_parameters."""
    return [[layer.grads["W"], layer.grads["b"]] for layer in network.layers if layer.params]


# -- the straightforward NumPy step -------------------------------------------------------------------

def plain_sigmoid(a):
    # the textbook form: it overflows for a < -88 in float32, which G's outputs never reach here
    return 1 / (1 + np.exp(-a))


def maxout(z, pieces):
    """Unit j of z (N, units * pieces) is the max of columns j*pieces .. j*pieces + pieces - 1;
    returns (the maxima, the index of the winning piece)."""
    grouped = z.reshape(len(z), -1, pieces)
    return grouped.max(axis=2), grouped.argmax(axis=2)


def maxout_backward(grad_output, winners, pieces):
    """Each unit's gradient goes to its winning piece; the other pieces get 0."""
    grad = np.zeros((*grad_output.shape, pieces), dtype=grad_output.dtype)
    np.put_along_axis(grad, winners[:, :, None], grad_output[:, :, None], axis=2)
    return grad.reshape(len(grad_output), -1)


class StraightforwardGAN:
    """paper-mnist's simultaneous iteration written plainly, as a learner would (no npgan).

    generator: [[W1, b1], [W2, b2], [W3, b3]] (ReLU, ReLU, sigmoid); discriminator: the same
    for maxout, maxout, linear, with dropout keep_probs[i] before layer i; rng: the Generator of
    the dropout masks. Every backward returns every gradient, wanted or not.
    """

    def __init__(self, generator, discriminator, *, pieces, keep_probs, rng, learning_rate=0.1,
                 learning_rate_decay=1.000004, min_learning_rate=1e-6, momentum=0.5,
                 discriminator_loss_scale=0.5):
        self.G, self.D = generator, discriminator
        self.pieces, self.keep_probs, self.rng = pieces, keep_probs, rng
        self.learning_rate, self.learning_rate_decay = learning_rate, learning_rate_decay
        self.min_learning_rate, self.momentum = min_learning_rate, momentum
        self.discriminator_loss_scale = discriminator_loss_scale
        self.G_velocity = [[np.zeros_like(W), np.zeros_like(b)] for W, b in generator]
        self.D_velocity = [[np.zeros_like(W), np.zeros_like(b)] for W, b in discriminator]

    def generator_forward(self, z):
        (W1, b1), (W2, b2), (W3, b3) = self.G
        h1 = np.maximum(z @ W1 + b1, 0)
        h2 = np.maximum(h1 @ W2 + b2, 0)
        out = plain_sigmoid(h2 @ W3 + b3)
        return out, (z, h1, h2, out)

    def generator_backward(self, cache, grad_out):
        (W1, b1), (W2, b2), (W3, b3) = self.G
        z, h1, h2, out = cache
        grad_a3 = grad_out * out * (1 - out)
        dW3, db3 = h2.T @ grad_a3, grad_a3.sum(axis=0)
        grad_a2 = (grad_a3 @ W3.T) * (h2 > 0)
        dW2, db2 = h1.T @ grad_a2, grad_a2.sum(axis=0)
        grad_a1 = (grad_a2 @ W2.T) * (h1 > 0)
        dW1, db1 = z.T @ grad_a1, grad_a1.sum(axis=0)
        grad_z = grad_a1 @ W1.T
        return [[dW1, db1], [dW2, db2], [dW3, db3]], grad_z

    def dropout_mask(self, shape, keep_prob, dtype):
        return (self.rng.random(shape) < keep_prob).astype(dtype) / keep_prob

    def discriminator_forward(self, x):
        (W1, b1), (W2, b2), (W3, b3) = self.D
        keep1, keep2, keep3 = self.keep_probs
        mask1 = self.dropout_mask(x.shape, keep1, x.dtype)
        h0 = x * mask1
        h1, winners1 = maxout(h0 @ W1 + b1, self.pieces)
        mask2 = self.dropout_mask(h1.shape, keep2, x.dtype)
        h1_dropped = h1 * mask2
        h2, winners2 = maxout(h1_dropped @ W2 + b2, self.pieces)
        mask3 = self.dropout_mask(h2.shape, keep3, x.dtype)
        h2_dropped = h2 * mask3
        logits = h2_dropped @ W3 + b3
        return logits, (mask1, h0, winners1, mask2, h1_dropped, winners2, mask3, h2_dropped)

    def discriminator_backward(self, cache, grad_logits):
        (W1, b1), (W2, b2), (W3, b3) = self.D
        mask1, h0, winners1, mask2, h1_dropped, winners2, mask3, h2_dropped = cache
        dW3, db3 = h2_dropped.T @ grad_logits, grad_logits.sum(axis=0)
        grad_h2 = (grad_logits @ W3.T) * mask3
        grad_z2 = maxout_backward(grad_h2, winners2, self.pieces)
        dW2, db2 = h1_dropped.T @ grad_z2, grad_z2.sum(axis=0)
        grad_h1 = (grad_z2 @ W2.T) * mask2
        grad_z1 = maxout_backward(grad_h1, winners1, self.pieces)
        dW1, db1 = h0.T @ grad_z1, grad_z1.sum(axis=0)
        grad_x = (grad_z1 @ W1.T) * mask1
        return [[dW1, db1], [dW2, db2], [dW3, db3]], grad_x

    def gradients(self, x, z):
        """D's and G's gradients from one D pass on [x; G(z)]; returns (D grads, G grads, L_D, L_G)."""
        m = len(x)
        fake, g_cache = self.generator_forward(z)
        logits, d_cache = self.discriminator_forward(np.concatenate([x, fake]))
        a_real, a_fake = logits[:m], logits[m:]
        d_loss = np.mean(np.logaddexp(0, -a_real)) + np.mean(np.logaddexp(0, a_fake))
        g_loss = np.mean(np.logaddexp(0, -a_fake))  # non-saturating: -mean log D(G(z))
        # G's gradient through D: zero for the real rows; D's gradients of this pass are dropped
        grad_logits = np.concatenate([np.zeros_like(a_real), (plain_sigmoid(a_fake) - 1) / m])
        _, grad_input = self.discriminator_backward(d_cache, grad_logits)
        g_grads, _ = self.generator_backward(g_cache, grad_input[m:])
        grad_logits = self.discriminator_loss_scale * np.concatenate(
            [(plain_sigmoid(a_real) - 1) / m, plain_sigmoid(a_fake) / m])
        d_grads, _ = self.discriminator_backward(d_cache, grad_logits)
        return d_grads, g_grads, d_loss, g_loss

    def momentum_step(self, params, velocities, grads):
        for layer, layer_velocity, layer_grads in zip(params, velocities, grads):
            for i in range(2):
                layer_velocity[i] = self.momentum * layer_velocity[i] - self.learning_rate * layer_grads[i]
                layer[i] += layer_velocity[i]

    def iteration(self, x, z):
        d_grads, g_grads, d_loss, g_loss = self.gradients(x, z)
        self.momentum_step(self.D, self.D_velocity, d_grads)
        self.momentum_step(self.G, self.G_velocity, g_grads)
        self.learning_rate = max(self.learning_rate / self.learning_rate_decay, self.min_learning_rate)
        return float(d_loss), float(g_loss)


# -- PyTorch eager ----------------------------------------------------------------------------------

class TorchGAN:
    """The same iteration in PyTorch eager, from the same initial parameters (lists of [W, b]
    as StraightforwardGAN takes); torch is imported here, never by npgan."""

    def __init__(self, generator, discriminator, *, pieces, keep_probs, dtype="float32", learning_rate=0.1,
                 learning_rate_decay=1.000004, min_learning_rate=1e-6, momentum=0.5,
                 discriminator_loss_scale=0.5, compiled=False):
        import torch
        from torch import nn

        self.torch = torch
        self.dtype = getattr(torch, dtype)

        class Maxout(nn.Module):
            def __init__(self, linear, pieces):
                super().__init__()
                self.linear, self.pieces = linear, pieces

            def forward(self, x):
                z = self.linear(x)
                return z.view(len(z), -1, self.pieces).max(dim=2).values

        def linear(W, b):
            layer = nn.Linear(*W.shape, dtype=self.dtype)
            with torch.no_grad():  # nn.Linear keeps its weight as (fan_out, fan_in)
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                layer.bias.copy_(torch.from_numpy(b))
            return layer

        def dropout(keep_prob):
            return nn.Dropout(p=1 - keep_prob) if keep_prob < 1 else nn.Identity()  # torch's p drops

        (G1, G2, G3), (D1, D2, D3) = generator, discriminator
        self.G = nn.Sequential(linear(*G1), nn.ReLU(), linear(*G2), nn.ReLU(), linear(*G3), nn.Sigmoid())
        self.D = nn.Sequential(dropout(keep_probs[0]), Maxout(linear(*D1), pieces),
                               dropout(keep_probs[1]), Maxout(linear(*D2), pieces),
                               dropout(keep_probs[2]), linear(*D3))
        self.G_params, self.D_params = list(self.G.parameters()), list(self.D.parameters())
        self.G_velocity = [torch.zeros_like(p) for p in self.G_params]
        self.D_velocity = [torch.zeros_like(p) for p in self.D_params]
        self.learning_rate, self.learning_rate_decay = learning_rate, learning_rate_decay
        self.min_learning_rate, self.momentum = min_learning_rate, momentum
        self.discriminator_loss_scale = discriminator_loss_scale
        self.compiled = compiled
        self.backward_context = contextlib.nullcontext
        if compiled:  # one graph for both forwards and the losses, one for the update
            import torch._functorch.config
            from torch._dynamo import compiled_autograd

            # the two autograd.grad calls go back through one graph (retain_graph): no donated buffers
            torch._functorch.config.donated_buffer = False
            # dynamic=False: a graph per shape; the automatic dynamic-shape graph dynamo makes on
            # a second shape gave D wrong gradients here (torch 2.13, the tiny check after the
            # real run)
            self.losses = torch.compile(self.losses, dynamic=False)
            self.update = torch.compile(self.update, dynamic=False)
            # compiled autograd: each autograd.grad call traced and compiled for the gradients it
            # asks for (AOTAutograd's own backward would compute every gradient of the graph twice)
            backward_compiler = torch.compile(dynamic=False)
            self.backward_context = lambda: compiled_autograd._enable(backward_compiler)

    def losses(self, x, z):
        """L_D and L_G from one D pass on [x; G(z)]."""
        softplus = self.torch.nn.functional.softplus
        m = len(x)
        logits = self.D(self.torch.cat([x, self.G(z)]))
        a_real, a_fake = logits[:m], logits[m:]
        return softplus(-a_real).mean() + softplus(a_fake).mean(), softplus(-a_fake).mean()

    def gradients(self, x, z):
        """D's and G's gradients from one D pass on [x; G(z)]; returns (D grads, G grads, L_D, L_G)."""
        d_loss, g_loss = self.losses(x, z)
        # autograd.grad with the one network's parameters as inputs computes what they need only
        with self.backward_context():
            g_grads = self.torch.autograd.grad(g_loss, self.G_params, retain_graph=True)
            d_grads = self.torch.autograd.grad(self.discriminator_loss_scale * d_loss, self.D_params)
        return d_grads, g_grads, d_loss, g_loss

    def update(self, params, velocities, grads, learning_rate):
        """v <- mu v - lr g;  p <- p + v, in place (learning_rate: a number, or a 0-d tensor when
        compiled, so that its decay does not recompile)."""
        for param, velocity, grad in zip(params, velocities, grads):
            if isinstance(learning_rate, float):
                velocity.mul_(self.momentum).sub_(grad, alpha=learning_rate)
            else:
                velocity.mul_(self.momentum).sub_(grad * learning_rate)
            param.add_(velocity)

    def iteration(self, x, z):
        d_grads, g_grads, d_loss, g_loss = self.gradients(x, z)
        learning_rate = self.torch.tensor(self.learning_rate) if self.compiled else self.learning_rate
        with self.torch.no_grad():
            self.update(self.D_params, self.D_velocity, d_grads, learning_rate)
            self.update(self.G_params, self.G_velocity, g_grads, learning_rate)
        self.learning_rate = max(self.learning_rate / self.learning_rate_decay, self.min_learning_rate)
        return d_loss.item(), g_loss.item()


# -- the baselines held to npgan -------------------------------------------------------------------------

BASELINE_CHECK_THRESHOLD = 1e-10


def check_baselines(with_torch, with_compile=False):
    """rel_error of each baseline's gradients and losses against npgan's GAN.simultaneous_gradients
    on a tiny float64 instance from the same parameters: the straightforward step with the same
    dropout masks (its Generator seeded as npgan's dropout stream; the three layers draw in the
    same order and shapes), PyTorch with dropout off. Raises if one is above the threshold."""
    from npgan.gradcheck import rel_error
    from npgan.models import PRESETS, build_gan

    tiny = {**PRESETS["paper-mnist"], "noise_dim": 5, "generator_hidden": [9, 8], "discriminator_hidden": [4, 3],
            "discriminator_pieces": 3, "generator_init_scale": 0.8, "discriminator_init_scale": 0.6}
    data_dim, m, dropout_seed = 12, 6, 2
    cases = {"straightforward numpy": tiny["discriminator_keep_probs"]}
    if with_torch:
        cases["pytorch eager"] = [1.0, 1.0, 1.0]
    if with_compile:
        cases["pytorch compiled"] = [1.0, 1.0, 1.0]
    errors = {}
    for name, keep_probs in cases.items():
        config = {**tiny, "discriminator_keep_probs": keep_probs}
        gan = build_gan(config, data_dim, rng=np.random.default_rng(1), dtype=np.float64,
                        dropout_rng=np.random.default_rng(dropout_seed))
        rng = np.random.default_rng(3)
        for value in gan.params.values():
            if value.ndim == 1:  # random biases: zero ones make exact maxout ties on dropped rows
                value[...] = rng.uniform(-0.5, 0.5, size=value.shape)
        x = rng.random((m, data_dim))
        z = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(m, config["noise_dim"]))
        generator, discriminator = network_parameters(gan.generator), network_parameters(gan.discriminator)
        d_step, g_step = gan.simultaneous_gradients(x, z, kind="non-saturating",
                                                    discriminator_loss_scale=config["discriminator_loss_scale"])
        expected = network_gradients(gan.discriminator) + network_gradients(gan.generator)
        settings = {"pieces": config["discriminator_pieces"], "keep_probs": keep_probs}
        if name == "straightforward numpy":
            baseline = StraightforwardGAN(generator, discriminator, rng=np.random.default_rng(dropout_seed), **settings)
            d_grads, g_grads, d_loss, g_loss = baseline.gradients(x, z)
        else:
            import torch
            baseline = TorchGAN(generator, discriminator, dtype="float64", compiled=name == "pytorch compiled",
                                **settings)
            d_grads, g_grads, d_loss, g_loss = baseline.gradients(torch.from_numpy(x), torch.from_numpy(z))
            # torch's gradients in npgan's layout: W as (fan_in, fan_out)
            d_grads, g_grads = ([[g.numpy().T if g.ndim == 2 else g.numpy() for g in grads[i:i + 2]]
                                 for i in range(0, len(grads), 2)] for grads in (d_grads, g_grads))
            d_loss, g_loss = d_loss.item(), g_loss.item()
        got = d_grads + g_grads
        errors[name] = max([rel_error(a, b) for got_layer, expected_layer in zip(got, expected)
                            for a, b in zip(got_layer, expected_layer)]
                           + [rel_error(d_loss, d_step.loss), rel_error(g_loss, g_step.loss)])
        if not errors[name] <= BASELINE_CHECK_THRESHOLD:
            raise RuntimeError(f"the {name} baseline's gradients differ from npgan's: rel_error {errors[name]:.2e} "
                               f"(threshold {BASELINE_CHECK_THRESHOLD:g}); it does not compute the same step")
    return errors


def time_block(function, iterations):
    start = time.perf_counter()
    for _ in range(iterations):
        function()
    return iterations / (time.perf_counter() - start)


def run_child(arguments):
    """Time the variants in this process (its BLAS thread count set by the parent)."""
    import npgan.kernels
    load_before = os.getloadavg()
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count()))
    compile_start = time.perf_counter()
    numba_trainer = build_trainer("numba")
    numba_trainer.train_iteration()  # compiles, or loads the cache
    first_numba_iteration = time.perf_counter() - compile_start
    numpy_trainer = build_trainer("numpy")
    config = numpy_trainer.config
    m, noise_dim, pieces = config["batch_size"], config["noise_dim"], config["discriminator_pieces"]
    # the baselines start from the parameters npgan's trainers start from
    generator = network_parameters(numpy_trainer.gan.generator)
    discriminator = network_parameters(numpy_trainer.gan.discriminator)
    operands, flops = matmul_plan(numpy_trainer)
    with_torch = importlib.util.find_spec("torch") is not None
    torch_info = None
    if with_torch:
        import torch
        torch.set_num_threads(threads)
        torch_info = {"version": torch.__version__, "num_threads": torch.get_num_threads(),
                      "mkl": torch.backends.mkl.is_available()}
    baseline_errors = check_baselines(with_torch)

    def numba_step():
        npgan.kernels.set_backend("numba")
        numba_trainer.train_iteration()

    def numpy_step():
        npgan.kernels.set_backend("numpy")
        numpy_trainer.train_iteration()

    images = numpy_trainer.dataset  # the same 1,000 fixed images
    settings = {"pieces": pieces, "keep_probs": config["discriminator_keep_probs"],
                "learning_rate": config["learning_rate"], "learning_rate_decay": config["learning_rate_decay"],
                "min_learning_rate": config["min_learning_rate"], "momentum": config["momentum"],
                "discriminator_loss_scale": config["discriminator_loss_scale"]}
    straightforward = StraightforwardGAN([[W.copy(), b.copy()] for W, b in generator],
                                         [[W.copy(), b.copy()] for W, b in discriminator],
                                         rng=np.random.default_rng(1), **settings)
    straightforward_rng = np.random.default_rng(2)

    def straightforward_step():
        x = images.sample(m, straightforward_rng)
        z = straightforward_rng.uniform(-np.sqrt(3), np.sqrt(3), size=(m, noise_dim)).astype(np.float32)
        straightforward.iteration(x, z)

    def torch_step(torch_gan, rng):
        def step():
            x = torch.from_numpy(images.sample(m, rng))
            z = torch.empty((m, noise_dim)).uniform_(-np.sqrt(3), np.sqrt(3))
            torch_gan.iteration(x, z)
        return step

    variants = {"npgan numba": numba_step, "npgan numpy": numpy_step}
    torch_compile = {"tried": with_torch}
    if with_torch:
        torch.manual_seed(0)
        variants["pytorch eager"] = torch_step(TorchGAN(generator, discriminator, dtype="float32", **settings),
                                               np.random.default_rng(3))
        start = time.perf_counter()
        try:  # the first calls compile (inductor: C++ through the machine's compiler)
            compiled_step = torch_step(TorchGAN(generator, discriminator, dtype="float32", compiled=True,
                                                **settings), np.random.default_rng(4))
            for _ in range(3):
                compiled_step()
            torch_compile["compile_seconds"] = time.perf_counter() - start
            baseline_errors.update(check_baselines(False, with_compile=True))
            variants["pytorch compiled"] = compiled_step
        except Exception as error:  # noqa: BLE001 -- whatever stops it is the finding to report
            torch_compile["failed"] = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
    variants["straightforward numpy"] = straightforward_step
    variants["products npgan computes"] = lambda: matmul_iteration(operands["npgan"])
    variants["all products (bound)"] = lambda: matmul_iteration(operands["bound"])
    for function in variants.values():
        function()  # warm
    rates = {name: [] for name in variants}
    names = list(variants)
    for round_index in range(arguments.rounds):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            rates[name].append(time_block(variants[name], arguments.iterations))
    result = {
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "gflop_per_iteration": flops["bound"] / 1e9,
        "npgan_gflop_per_iteration": flops["npgan"] / 1e9,
        "first_numba_iteration_seconds": first_numba_iteration,
        "baseline_gradient_rel_error": baseline_errors,
        "iterations_per_second": rates,
        "median_iterations_per_second": {name: statistics.median(values) for name, values in rates.items()},
        "numpy_version": np.__version__,
        "torch_importable": with_torch,
        "torch": torch_info,
        "torch_compile": torch_compile,
    }
    if arguments.kernels:
        result["kernels"] = kernel_timings(arguments.rounds)
    return result


def profile_child(arguments, top=30):
    """cProfile of --rounds x --iterations npgan iterations on each backend, the backends
    alternating by round: per backend the milliseconds per iteration (profiled, so a little
    slower than timed), and the functions taking the most time of their own (tottime: a product
    written as ``x @ W`` inside a function counts in that function's own time)."""
    import cProfile
    import pstats

    import npgan.kernels
    trainers = {backend: build_trainer(backend) for backend in ("numba", "numpy")}
    profiles = {backend: cProfile.Profile() for backend in trainers}
    for backend, trainer in trainers.items():
        with npgan.kernels.use_backend(backend):
            trainer.train_iteration()  # compiles, or loads the cache
    operands, _ = matmul_plan(trainers["numpy"])
    products = []
    for round_index in range(arguments.rounds):
        for backend in (("numba", "numpy") if round_index % 2 == 0 else ("numpy", "numba")):
            with npgan.kernels.use_backend(backend):
                profiles[backend].enable()
                for _ in range(arguments.iterations):
                    trainers[backend].train_iteration()
                profiles[backend].disable()
        products.append(1e3 / time_block(lambda: matmul_iteration(operands["npgan"]), arguments.iterations))
    count = arguments.rounds * arguments.iterations
    result = {"products_ms_per_iteration": statistics.median(products)}
    for backend, profile in profiles.items():
        stats = pstats.Stats(profile).stats
        rows = sorted(((own, calls, f"{os.path.basename(file)}:{line}({name})" if file != "~" else name)
                       for (file, line, name), (_, calls, own, _, _) in stats.items()), reverse=True)
        result[backend] = {"ms_per_iteration": 1e3 * sum(own for own, _, _ in rows) / count,
                           "functions": [{"function": where, "calls_per_iteration": calls / count,
                                          "own_ms_per_iteration": 1e3 * own / count}
                                         for own, calls, where in rows[:top]]}
    return result


def print_profile(report):
    for result in report["results"]:
        print(f"\nBLAS threads {result['threads']} (load average {result['load_average'][0]:.2f} before,"
              f" {result['load_average_after'][0]:.2f} after); the products npgan computes, alone:"
              f" {result['products_ms_per_iteration']:.1f} ms per iteration")
        for backend in ("numba", "numpy"):
            profile = result[backend]
            print(f"\nnpgan {backend}: {profile['ms_per_iteration']:.1f} ms per iteration (profiled)")
            print("| function | calls per iteration | own ms per iteration |")
            print("| --- | --- | --- |")
            for row in profile["functions"]:
                print(f"| {row['function']} | {row['calls_per_iteration']:g} | {row['own_ms_per_iteration']:.2f} |")


def kernel_timings(rounds):
    """Each layer at its paper-mnist shape, its own NumPy methods (the reference) against its
    Numba runner, interleaved; milliseconds per call (forward, or forward + backward)."""
    import npgan.kernels
    from npgan.kernels import runner
    from npgan.layers import Dropout, Linear, Maxout, ReLU, Sequential
    from npgan.optim import MomentumSGD

    rng = np.random.default_rng(0)
    f32 = np.float32
    x = rng.random((200, 784), dtype=f32)
    xh = rng.random((100, 1200), dtype=f32)
    maxout = Maxout(784, 240, 5, rng=rng, init_scale=0.005)
    hidden = Sequential(Linear(1200, 1200, rng=rng, init_scale=0.05), ReLU())
    dropout = Dropout(0.8, rng=rng)
    g = rng.standard_normal((200, 240), dtype=f32)
    gh = rng.standard_normal((100, 1200), dtype=f32)
    weights = {"W": rng.standard_normal((1200, 1200), dtype=f32)}
    optimizer = MomentumSGD(weights, learning_rate=1e-9, momentum=0.5)

    def forward_backward(layer, inputs, upstream):
        run = runner(layer)
        run.forward(inputs)
        run.backward(upstream)

    cases = {
        "Maxout forward 200x784 @ 784x1200, 5 pieces": lambda: runner(maxout).predict(x),
        "Maxout forward + backward (same)": lambda: forward_backward(maxout, x, g),
        "Linear+ReLU forward 100x1200 @ 1200x1200": lambda: runner(hidden).predict(xh),
        "Linear+ReLU forward + backward (same)": lambda: forward_backward(hidden, xh, gh),
        "Dropout forward 200x784 (fresh mask)": lambda: runner(dropout).predict(x),
        "MomentumSGD step 1200x1200": lambda: optimizer.step(weights),
    }
    timings = {}
    for name, case in cases.items():
        for path in ("numpy", "numba"):
            with npgan.kernels.use_backend(path):
                case()
        samples = {"numpy": [], "numba": []}
        for round_index in range(rounds):
            for path in (("numpy", "numba") if round_index % 2 == 0 else ("numba", "numpy")):
                with npgan.kernels.use_backend(path):
                    start = time.perf_counter()
                    for _ in range(5):
                        case()
                    samples[path].append((time.perf_counter() - start) / 5 * 1e3)
        timings[name] = {path: statistics.median(values) for path, values in samples.items()}
    return timings


# -- the parent: one child per thread count, then the table -------------------------------------------

def main(argv=None):
    arguments = parse_arguments(argv)
    if arguments.child:
        if arguments.profile:
            load = os.getloadavg()
            json.dump({**profile_child(arguments), "load_average": load, "load_average_after": os.getloadavg()},
                      sys.stdout)
        else:
            json.dump(run_child(arguments), sys.stdout)
        return 0
    results = []
    for threads in arguments.threads:
        command = [sys.executable, os.path.abspath(__file__), "--child", "--rounds", str(arguments.rounds),
                   "--iterations", str(arguments.iterations)] + (["--kernels"] if arguments.kernels else []) \
            + (["--profile"] if arguments.profile else [])
        output = subprocess.run(command, env=thread_environment(threads), check=True, capture_output=True,
                                text=True).stdout
        results.append({"threads": threads, **json.loads(output)})
    report = {**report_head("train_step.py", argv),
              "rounds": arguments.rounds, "iterations_per_round": arguments.iterations, "results": results}
    (print_profile if arguments.profile else print_table)(report)
    write_json(report, arguments.json)
    return 0


REFERENCES = {"pytorch eager": "vs PyTorch eager", "products npgan computes": "of the products npgan computes",
              "straightforward numpy": "vs straightforward NumPy", "all products (bound)": "of all products"}
# issue 21: the default path (numba) at 2 threads >= 1.5x PyTorch eager and >= 85% of its products;
# at 1 thread >= 90% of its products
TARGETS = {2: {"pytorch eager": 1.5, "products npgan computes": 0.85}, 1: {"products npgan computes": 0.90}}


def ratio_text(median, reference_name, reference):
    ratio = median / reference
    return f"{ratio:.0%}" if "products" in reference_name else f"{ratio:.2f}x"


def print_table(report):
    print(f"$ {report['command'].strip()}")
    print(f"{report['machine']['cpus']} CPUs; {report['rounds']} interleaved rounds of "
          f"{report['iterations_per_round']} iterations per variant; medians; ratios of medians")
    for result in report["results"]:
        medians = result["median_iterations_per_second"]
        torch_note = (f"PyTorch {result['torch']['version']}, {result['torch']['num_threads']} thread(s)"
                      if result["torch"] else "PyTorch not importable: not measured")
        compile_note = result.get("torch_compile", {})
        if "failed" in compile_note:
            torch_note += f"; torch.compile failed: {compile_note['failed']}"
        elif "compile_seconds" in compile_note:
            torch_note += f"; torch.compile's first 3 iterations {compile_note['compile_seconds']:.0f} s"
        print(f"\nBLAS threads {result['threads']}  (load average before {result['load_average_before'][0]:.2f},"
              f" after {result['load_average_after'][0]:.2f}; {result['npgan_gflop_per_iteration']:.2f} GFLOP of"
              f" products npgan computes per iteration, {result['gflop_per_iteration']:.2f} in all; first"
              f" numba iteration {result['first_numba_iteration_seconds']:.1f} s; {torch_note})")
        errors = ", ".join(f"{name} {error:.1e}" for name, error in result["baseline_gradient_rel_error"].items())
        print(f"baselines' gradients against npgan's, tiny float64 instance, rel_error: {errors}")
        references = [name for name in REFERENCES if name in medians]
        print("| variant | iterations/s | min - max | " + " | ".join(REFERENCES[name] for name in references) + " |")
        print("| --- | --- | --- |" + " --- |" * len(references))
        for name, median in medians.items():
            values = result["iterations_per_second"][name]
            ratios = [ratio_text(median, reference, medians[reference]) for reference in references]
            print(f"| {name} | {median:.2f} | {min(values):.2f} - {max(values):.2f} | " + " | ".join(ratios) + " |")
        targets = TARGETS.get(result["threads"], {})
        cells = [f"{REFERENCES[name]} {ratio_text(medians['npgan numba'], name, medians[name])} (target "
                 f"{ratio_text(target, name, 1)}: {'met' if medians['npgan numba'] / medians[name] >= target else 'not met'})"
                 for name, target in targets.items() if name in medians]
        print(f"\nissue 21 targets, the default path (npgan numba) at {result['threads']} thread(s): "
              + ("; ".join(cells) or "none"))
        if "kernels" in result:
            print("\n| layer (float32) | reference ms | numba ms | speed-up |")
            print("| --- | --- | --- | --- |")
            for name, timing in result["kernels"].items():
                print(f"| {name} | {timing['numpy']:.2f} | {timing['numba']:.2f} | "
                      f"{timing['numpy'] / timing['numba']:.1f}x |")


if __name__ == "__main__":
    sys.exit(main())
