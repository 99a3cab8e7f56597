"""paper-mnist training throughput: npgan (its numba kernels and its NumPy path) against a
straightforward hand-written NumPy step, PyTorch eager and the matrix products alone, all
interleaved in one process.

One iteration is what Trainer.train_iteration does for paper-mnist (the simultaneous
order, batch 100, float32): G forward on 100 noise vectors (100-1200-1200-784, ReLU, ReLU,
sigmoid); one D forward on [x; G(z)] (200 rows: dropout keep 0.8, maxout 240x5, dropout 0.5,
maxout 240x5, dropout 0.5, linear); G's gradient from that pass (non-saturating loss, back
through D's dropout masks, computing no D gradient), D's gradient from the same pass (its
loss scaled by 0.5, computing no gradient for the data), G's backward (none for z); the
finiteness checks; two momentum steps (v <- mu v - lr g, p <- p + v).

- npgan numba / npgan numpy: Trainer.train_iteration with npgan.kernels on that backend (two
  trainers built alike from the same seed; the data are 1,000 fixed random images, since the
  speed does not depend on the pixels).
- straightforward NumPy: the same iteration as a learner would write it, in this file (no
  npgan import): plain ``@``, maxout by reshape + max + argmax and a put_along_axis scatter,
  dropout masks from ``rng.random(shape) < keep_prob``, a temporary for every intermediate,
  nothing preallocated, and one backward function for D that returns every gradient (so the
  pass that serves G also computes D's parameter gradients, and D's pass the data's, and G's
  backward the gradient for z, all thrown away: what npgan computed before it learned to skip
  them). Kept in float32 throughout (its masks are cast to the activations' dtype). It skips
  npgan's finiteness checks, which favours it.
- PyTorch eager: only if torch is importable (it is never a dependency of npgan; the CPU
  wheel), with torch.set_num_threads(the BLAS thread count). nn.Linear layers, maxout by
  view + max, nn.Dropout(p = 1 - keep_prob), the same initial parameters as npgan's trainer,
  one D pass on torch.cat([x, G(z)]); G's gradient by torch.autograd.grad(L_G, G's parameters,
  retain_graph=True), D's by torch.autograd.grad(0.5 * L_D, D's parameters): autograd then
  computes only the products those need, as npgan does. The same momentum update and
  learning-rate decay, in place under torch.no_grad(); no finiteness checks (favours it).
  torch runs its products on its own BLAS (MKL in the CPU wheel), npgan on NumPy's (OpenBLAS).
- matmul bound: the matrix products an iteration used to compute (24: npgan's before it
  skipped the thrown-away ones, and the straightforward step's), of the same shapes, in
  float32 with np.dot and nothing else: what such an iteration would cost if everything
  around the products were free.
- matmul, needed only: the products npgan computes now (19): the bound without D's
  parameter gradients in the pass that serves G, the data's gradient and z's gradient.

Before timing, each baseline's gradients are held to npgan's (GAN.simultaneous_gradients) on
a tiny float64 instance with the same parameters: the straightforward step with the same
dropout masks (its Generator seeded as npgan's dropout stream, drawn in the same order), PyTorch
with dropout off (keep_prob 1; its masks come from torch's own generator). A rel_error above
1e-10 stops the benchmark.

The variants are timed in rounds, in rotating order, each round timing --iterations
iterations of each; the table gives the median iterations/s over --rounds rounds and the
ratios of medians against npgan's NumPy path, the straightforward step, PyTorch eager, the
matmul bound and the needed-only bound, then the issue's targets (npgan at least 1.5x the
straightforward step and 1.5x PyTorch eager; at least 85% of the matmul bound). Ratios are
what to compare across machines or runs: the absolute numbers move with the machine's load,
printed before and after (os.getloadavg).

BLAS threads are fixed per process (OpenBLAS reads OPENBLAS_NUM_THREADS when it loads), so
each thread count runs in a child process of its own:

    python benchmarks/train_step.py                       # 1 and 2 threads, table + JSON
    python benchmarks/train_step.py --threads 1 --rounds 7
    python benchmarks/train_step.py --kernels             # also each layer, reference against numba

JSON: benchmarks/results/train_step.json (--json to change).
"""

import argparse
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
    """The float32 operands of the products of one simultaneous iteration, transposed views
    where npgan's backward uses them (x^T, W^T), and their FLOP count."""
    m = trainer.config["batch_size"]
    g_widths = [trainer.config["noise_dim"], *trainer.config["generator_hidden"], 784]
    pieces = trainer.config["discriminator_pieces"]
    d_in = [784, *trainer.config["discriminator_hidden"]]
    d_out = [h * pieces for h in trainer.config["discriminator_hidden"]] + [1]
    # (rows, inner, columns, a is a transposed view, b is a transposed view, needed):
    # "needed" is False for the products an iteration used to compute and throw away (the
    # straightforward step still does); npgan skips them now
    plan = []
    for fan_in, fan_out in zip(g_widths[:-1], g_widths[1:]):           # G forward: x W
        plan.append((m, fan_in, fan_out, False, False, True))
    for fan_in, fan_out in zip(d_in, d_out):                           # D forward on [x; G(z)]
        plan.append((2 * m, fan_in, fan_out, False, False, True))
    for d_pass in ("for G", "for D"):                                   # D backward, twice
        for layer, (fan_in, fan_out) in enumerate(zip(d_in, d_out)):
            # dW = x^T dz: D's gradients of the pass for G are zeroed right after
            plan.append((fan_in, 2 * m, fan_out, True, False, d_pass == "for D"))
            # dx = dz W^T: the data's gradient (layer 0 of the pass for D) is never used
            plan.append((2 * m, fan_out, fan_in, False, True, layer > 0 or d_pass == "for G"))
    for layer, (fan_in, fan_out) in enumerate(zip(g_widths[:-1], g_widths[1:])):  # G backward
        plan.append((fan_in, m, fan_out, True, False, True))
        plan.append((m, fan_out, fan_in, False, True, layer > 0))       # dL/dz is never used
    rng = np.random.default_rng(0)
    operands = []
    for rows, inner, columns, a_transposed, b_transposed, needed in plan:
        a = rng.standard_normal((inner, rows), dtype=np.float32).T if a_transposed else \
            rng.standard_normal((rows, inner), dtype=np.float32)
        b = rng.standard_normal((columns, inner), dtype=np.float32).T if b_transposed else \
            rng.standard_normal((inner, columns), dtype=np.float32)
        operands.append((a, b, needed))
    flops = sum(2 * rows * inner * columns for rows, inner, columns, *_ in plan)
    needed_flops = sum(2 * rows * inner * columns for rows, inner, columns, *_, needed in plan if needed)
    return operands, flops, needed_flops


def matmul_iteration(operands, needed_only=False):
    for a, b, needed in operands:
        if needed or not needed_only:
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
                 discriminator_loss_scale=0.5):
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

    def gradients(self, x, z):
        """D's and G's gradients from one D pass on [x; G(z)]; returns (D grads, G grads, L_D, L_G)."""
        torch = self.torch
        softplus = torch.nn.functional.softplus
        m = len(x)
        logits = self.D(torch.cat([x, self.G(z)]))
        a_real, a_fake = logits[:m], logits[m:]
        d_loss = softplus(-a_real).mean() + softplus(a_fake).mean()
        g_loss = softplus(-a_fake).mean()
        # autograd.grad with the one network's parameters as inputs computes what they need only
        g_grads = torch.autograd.grad(g_loss, self.G_params, retain_graph=True)
        d_grads = torch.autograd.grad(self.discriminator_loss_scale * d_loss, self.D_params)
        return d_grads, g_grads, d_loss, g_loss

    def iteration(self, x, z):
        d_grads, g_grads, d_loss, g_loss = self.gradients(x, z)
        with self.torch.no_grad():
            for params, velocities, grads in ((self.D_params, self.D_velocity, d_grads),
                                              (self.G_params, self.G_velocity, g_grads)):
                for param, velocity, grad in zip(params, velocities, grads):
                    velocity.mul_(self.momentum).sub_(grad, alpha=self.learning_rate)  # v <- mu v - lr g
                    param.add_(velocity)
        self.learning_rate = max(self.learning_rate / self.learning_rate_decay, self.min_learning_rate)
        return d_loss.item(), g_loss.item()


# -- the baselines held to npgan -------------------------------------------------------------------------

BASELINE_CHECK_THRESHOLD = 1e-10


def check_baselines(with_torch):
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
            baseline = TorchGAN(generator, discriminator, dtype="float64", **settings)
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
    operands, flops, needed_flops = matmul_plan(numpy_trainer)
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

    variants = {"npgan numba": numba_step, "npgan numpy": numpy_step, "straightforward numpy": straightforward_step}
    if with_torch:
        torch.manual_seed(0)
        torch_gan = TorchGAN(generator, discriminator, dtype="float32", **settings)
        torch_rng = np.random.default_rng(3)

        def torch_step():
            x = torch.from_numpy(images.sample(m, torch_rng))
            z = torch.empty((m, noise_dim)).uniform_(-np.sqrt(3), np.sqrt(3))
            torch_gan.iteration(x, z)

        variants["pytorch eager"] = torch_step
    variants["matmul bound"] = lambda: matmul_iteration(operands)
    variants["matmul, needed only"] = lambda: matmul_iteration(operands, needed_only=True)
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
        "gflop_per_iteration": flops / 1e9,
        "needed_gflop_per_iteration": needed_flops / 1e9,
        "first_numba_iteration_seconds": first_numba_iteration,
        "baseline_gradient_rel_error": baseline_errors,
        "iterations_per_second": rates,
        "median_iterations_per_second": {name: statistics.median(values) for name, values in rates.items()},
        "numpy_version": np.__version__,
        "torch_importable": with_torch,
        "torch": torch_info,
    }
    if arguments.kernels:
        result["kernels"] = kernel_timings(arguments.rounds)
    return result


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
        json.dump(run_child(arguments), sys.stdout)
        return 0
    results = []
    for threads in arguments.threads:
        command = [sys.executable, os.path.abspath(__file__), "--child", "--rounds", str(arguments.rounds),
                   "--iterations", str(arguments.iterations)] + (["--kernels"] if arguments.kernels else [])
        output = subprocess.run(command, env=thread_environment(threads), check=True, capture_output=True,
                                text=True).stdout
        results.append({"threads": threads, **json.loads(output)})
    report = {**report_head("train_step.py", argv),
              "rounds": arguments.rounds, "iterations_per_round": arguments.iterations, "results": results}
    print_table(report)
    write_json(report, arguments.json)
    return 0


REFERENCES = {"npgan numpy": "vs npgan numpy", "straightforward numpy": "vs straightforward NumPy",
              "pytorch eager": "vs PyTorch eager", "matmul bound": "of the matmul bound",
              "matmul, needed only": "of needed only"}
TARGETS = {"straightforward numpy": 1.5, "pytorch eager": 1.5, "matmul bound": 0.85}  # issue 7


def print_table(report):
    print(f"$ {report['command'].strip()}")
    print(f"{report['machine']['cpus']} CPUs; {report['rounds']} interleaved rounds of "
          f"{report['iterations_per_round']} iterations per variant; medians; ratios of medians")
    for result in report["results"]:
        medians = result["median_iterations_per_second"]
        torch_note = (f"PyTorch {result['torch']['version']}, {result['torch']['num_threads']} thread(s)"
                      if result["torch"] else "PyTorch not importable: not measured")
        print(f"\nBLAS threads {result['threads']}  (load average before {result['load_average_before'][0]:.2f},"
              f" after {result['load_average_after'][0]:.2f}; {result['gflop_per_iteration']:.2f} GFLOP of"
              f" products per iteration in the bound, {result['needed_gflop_per_iteration']:.2f} needed; first"
              f" numba iteration {result['first_numba_iteration_seconds']:.1f} s; {torch_note})")
        errors = ", ".join(f"{name} {error:.1e}" for name, error in result["baseline_gradient_rel_error"].items())
        print(f"baselines' gradients against npgan's, tiny float64 instance, rel_error: {errors}")
        references = [name for name in REFERENCES if name in medians]
        print("| variant | iterations/s | min - max | " + " | ".join(REFERENCES[name] for name in references) + " |")
        print("| --- | --- | --- |" + " --- |" * len(references))
        for name, median in medians.items():
            values = result["iterations_per_second"][name]
            ratios = [f"{median / medians[reference]:.0%}" if reference.startswith("matmul")
                      else f"{median / medians[reference]:.2f}x" for reference in references]
            print(f"| {name} | {median:.2f} | {min(values):.2f} - {max(values):.2f} | " + " | ".join(ratios) + " |")
        print("\nissue 7 targets (npgan / reference, ratios of medians):")
        print("| npgan path | " + " | ".join(f"{REFERENCES[name]} (target {target:.0%})" if name.startswith("matmul")
                                          else f"{REFERENCES[name]} (target {target:g}x)"
                                          for name, target in TARGETS.items()) + " |")
        print("| --- |" + " --- |" * len(TARGETS))
        for path in ("npgan numba", "npgan numpy"):
            cells = []
            for name, target in TARGETS.items():
                if name not in medians:
                    cells.append("not measured")
                    continue
                ratio = medians[path] / medians[name]
                shown = f"{ratio:.1%}" if name.startswith("matmul") else f"{ratio:.2f}x"
                cells.append(f"{shown} ({'met' if ratio >= target else 'not met'})")
            print(f"| {path} | " + " | ".join(cells) + " |")
        if "kernels" in result:
            print("\n| layer (float32) | reference ms | numba ms | speed-up |")
            print("| --- | --- | --- | --- |")
            for name, timing in result["kernels"].items():
                print(f"| {name} | {timing['numpy']:.2f} | {timing['numba']:.2f} | "
                      f"{timing['numpy'] / timing['numba']:.1f}x |")


if __name__ == "__main__":
    sys.exit(main())
