"""Gradient checks: every hand-written derivative against centred finite differences.

    numeric  df/dv_i = [8 (f(v + h e_i) - f(v - h e_i)) - (f(v + 2h e_i) - f(v - 2h e_i))] / (12 h),
             h = 1e-5 (the five-point centred stencil: truncation error O(h^4))
    rel_error(a, b)  = max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)     (CS231n)

Why five points, not (f(v + h) - f(v - h)) / (2 h): that formula's truncation error
(h^2 / 6 times the third derivative) is what a near-cancelling gradient entry shows.
Hypothesis found one (a Linear-Sigmoid-Linear net, seed 4379): an entry of -7.6e-7,
summed from terms near 0.1, off by 6e-13 with two points, a rel_error of 3.9e-7 for a
correct backprop; with five points the worst entry of that check is 2.7e-9.

The code under test runs in float64. The finite-difference reference runs on
a copy converted to extended precision (np.longdouble: 64-bit mantissa on
x86-64 Linux), because in float64 its round-off, about eps * |f| / h = 1e-11,
is what limits the comparison: a whole network's gradient has entries near
1e-7 where terms of the batch cancel, and float64 differences could only
confirm those to about 1e-4. In extended precision the round-off is about
2000 times smaller, so the 1e-6 threshold measures the backprop code, not the
reference. (On platforms where longdouble is float64 the checks still run, at
float64's resolution.)

A layer is checked through f = sum(layer(x) * u) with a random upstream
gradient u (ones would hide a transposed gradient); the outputs are
differenced before the sum, so outputs a coordinate does not touch cancel
exactly. A loss, or a whole step of Algorithm 1, is checked through its value.

Kinks: ReLU and maxout are not differentiable where an input sits at 0 or two
pieces tie. Layer checks draw their inputs away from kinks; the whole-network
checks compare each kinked layer's branch (ReLU's x > 0, maxout's winner) at
the four points v +- h, v +- 2h and skip, and count, the coordinates where it changed.
Dropout is checked with a fixed mask: the mask drawn by the analytic pass is
frozen for all the finite-difference passes.

Thresholds (STYLE.md): 1e-7 per layer and per loss, 1e-6 for a whole G or D.

The analytic gradients come from the path in use (npgan.kernels: the layers' own NumPy
methods, or the Numba kernels beside them), so `NPGAN_KERNELS=numba npgan gradcheck`
checks the fast path; the finite differences always run the reference, in extended precision.
"""

import copy
from dataclasses import asdict, dataclass

import numpy as np

from npgan.divergences import DIVERGENCE_NAMES, generator_objective, variational_objective
from npgan.gan import GAN
from npgan.kernels import runner
from npgan.layers import Dropout, Linear, Maxout, ReLU, Sequential, Sigmoid, walk
from npgan.losses import GENERATOR_LOSSES, discriminator_loss, generator_loss

STEP = 1e-5
EXTENDED = np.longdouble
LAYER_THRESHOLD = 1e-7
LOSS_THRESHOLD = 1e-7
NETWORK_THRESHOLD = 1e-6
UPDATE_ORDERS = ("sequential", "simultaneous")


@dataclass(frozen=True)
class CheckResult:
    """The worst rel_error over one checked array.

    checked: coordinates compared; skipped: coordinates whose finite difference
    straddled a kink.
    """

    check: str
    parameter: str
    rel_error: float
    threshold: float
    checked: int
    skipped: int = 0

    @property
    def ok(self):
        return bool(self.rel_error <= self.threshold)  # False for NaN: nothing was compared

    def as_dict(self):
        return {**asdict(self), "ok": self.ok}


def rel_error(analytic, numeric):
    """max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|) over the entries that are not NaN."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"rel_error: shapes differ, {analytic.shape} vs {numeric.shape}")
    compared = ~(np.isnan(analytic) | np.isnan(numeric))
    if not compared.any():
        return float("nan")
    a, b = analytic[compared], numeric[compared]
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(evaluate, array, upstream=None, h=STEP):
    """Centred differences (the five-point stencil) of ``evaluate`` with respect to ``array``
    (perturbed in place).

    evaluate() -> (output, kinks): output is contracted with ``upstream`` (or is
    a scalar when upstream is None); kinks is a list of arrays, the branch each
    kinked unit took. Returns (gradient, skipped): gradient has the shape of
    ``array``, NaN where a branch differed between the evaluation points.
    """
    _require_finite(array, "the array to differentiate")
    gradient = np.empty(array.shape, dtype=array.dtype)
    skipped = 0

    def evaluate_at(index, value):
        array[index] = value
        output, kinks = evaluate()
        return np.array(output, copy=True), kinks  # an identity layer returns its input itself

    for index in np.ndindex(array.shape):
        original = array[index]
        (plus, kinks), *others = [evaluate_at(index, original + step) for step in (h, -h, 2 * h, -2 * h)]
        array[index] = original
        if any(not np.array_equal(k, other_k) for _, other in others for k, other_k in zip(kinks, other)):
            gradient[index] = np.nan
            skipped += 1
            continue
        (minus, _), (plus2, _), (minus2, _) = others
        difference = 8 * (plus - minus) - (plus2 - minus2)
        if upstream is not None:
            difference = np.sum(difference * upstream)
        gradient[index] = difference / (12 * h)
    return gradient, skipped


def network_output(network, x):
    """network(x) and the kink branches that pass took; keeps no cache."""
    output = network.forward(x)
    kinks = [state.copy() for layer in walk(network) if (state := layer.kink_state()) is not None]
    network.clear_cache()
    return output, kinks


def check_layer(name, layer, x, rng, threshold=LAYER_THRESHOLD):
    """Check dL/dx and every dL/dparam of a float64 ``layer`` at ``x``, with a random upstream."""
    _require_float64(x, f"the input of {name}")
    for key, parameter in layer.params.items():
        _require_float64(parameter, f"parameter {key} of {name}")
    layer.zero_grad()
    run = runner(layer)  # the layer itself, or its Numba kernels on that backend
    output = run.forward(x)
    upstream = rng.standard_normal(output.shape)
    analytic = {"x": run.backward(upstream), **{k: v.copy() for k, v in layer.grads.items()}}
    layer.clear_cache()

    reference = _extended_copy(layer)
    x_extended = x.astype(EXTENDED)
    arrays = {"x": x_extended, **reference.params}
    return [
        _result(name, key, analytic[key],
                *numerical_gradient(lambda: network_output(reference, x_extended), array, upstream),
                threshold)
        for key, array in arrays.items()
    ]


def check_discriminator_loss(real_logits, fake_logits, threshold=LOSS_THRESHOLD):
    _require_float64(real_logits, "real_logits")
    _require_float64(fake_logits, "fake_logits")
    _, grad_real, grad_fake = discriminator_loss(real_logits, fake_logits)
    real, fake = real_logits.astype(EXTENDED), fake_logits.astype(EXTENDED)

    def evaluate():
        return discriminator_loss(real, fake)[0], []

    return [_result("discriminator_loss", "real_logits", grad_real, *numerical_gradient(evaluate, real), threshold),
            _result("discriminator_loss", "fake_logits", grad_fake, *numerical_gradient(evaluate, fake), threshold)]


def check_generator_loss(fake_logits, kind, threshold=LOSS_THRESHOLD):
    _require_float64(fake_logits, "fake_logits")
    _, analytic = generator_loss(fake_logits, kind)
    fake = fake_logits.astype(EXTENDED)
    numeric, skipped = numerical_gradient(lambda: (generator_loss(fake, kind)[0], []), fake)
    return [_result(f"generator_loss[{kind}]", "fake_logits", analytic, numeric, skipped, threshold)]


def check_variational_objective(name, real_outputs, fake_outputs, threshold=LOSS_THRESHOLD):
    """The f-GAN critic objective F = mean g_f(V_real) - mean f*(g_f(V_fake)) of divergence ``name``."""
    _require_float64(real_outputs, "real_outputs")
    _require_float64(fake_outputs, "fake_outputs")
    _, grad_real, grad_fake = variational_objective(name, real_outputs, fake_outputs)
    real, fake = real_outputs.astype(EXTENDED), fake_outputs.astype(EXTENDED)

    def evaluate():
        return variational_objective(name, real, fake)[0], []

    label = f"f-divergence[{name}]"
    return [_result(label, "real_outputs", grad_real, *numerical_gradient(evaluate, real), threshold),
            _result(label, "fake_outputs", grad_fake, *numerical_gradient(evaluate, fake), threshold)]


def check_generator_objective(name, fake_outputs, kind, threshold=LOSS_THRESHOLD):
    _require_float64(fake_outputs, "fake_outputs")
    _, analytic = generator_objective(name, fake_outputs, kind)
    fake = fake_outputs.astype(EXTENDED)
    numeric, skipped = numerical_gradient(lambda: (generator_objective(name, fake, kind)[0], []), fake)
    return [_result(f"f-divergence G[{name}, {kind}]", "fake_outputs", analytic, numeric, skipped, threshold)]


def check_discriminator_step(gan, x_real, z, *, update_order="sequential", threshold=NETWORK_THRESHOLD):
    """D's gradient of L_D as the trainer computes it (GAN.discriminator_gradients, or
    GAN.simultaneous_gradients) against finite differences of L_D."""
    _run_trainer_gradients(gan, x_real, z, update_order, "non-saturating", generator_step=False)
    analytic = {key: value.copy() for key, value in gan.discriminator.grads.items()}
    reference = _extended_copy(gan)
    x_real, z = x_real.astype(EXTENDED), z.astype(EXTENDED)
    m = len(x_real)

    def loss():
        x_fake, g_kinks = network_output(reference.generator, z)
        logits, d_kinks = network_output(reference.discriminator, np.concatenate([x_real, x_fake]))
        return reference.discriminator_loss(logits[:m], logits[m:])[0], g_kinks + d_kinks

    return _compare_parameters(f"{update_order} D step", "D", reference.discriminator, loss, analytic, threshold)


def check_generator_step(gan, x_real, z, *, kind="non-saturating", update_order="sequential",
                         threshold=NETWORK_THRESHOLD):
    """G's gradient of L_G through D as the trainer computes it against finite differences
    of L_G, with the same D pass (the same dropout masks)."""
    _run_trainer_gradients(gan, x_real, z, update_order, kind, generator_step=True)
    analytic = {key: value.copy() for key, value in gan.generator.grads.items()}
    reference = _extended_copy(gan)
    x_real, z = x_real.astype(EXTENDED), z.astype(EXTENDED)
    m = len(x_real)

    def loss():
        x_fake, g_kinks = network_output(reference.generator, z)
        if update_order == "simultaneous":  # the fake half of the one pass on [x; G(z)]
            logits, d_kinks = network_output(reference.discriminator, np.concatenate([x_real, x_fake]))
            logits = logits[m:]
        else:
            logits, d_kinks = network_output(reference.discriminator, x_fake)
        return reference.generator_loss(logits, kind)[0], g_kinks + d_kinks

    return _compare_parameters(f"{update_order} G step [{kind}]", "G", reference.generator, loss, analytic,
                               threshold)


def run_all(seed=0):
    """Every check `npgan gradcheck` runs: each layer, each loss (the GAN's and the f-divergence
    objectives'), whole G and D steps."""
    rng = np.random.default_rng(seed)
    f64 = np.float64
    results = []
    results += check_layer("Linear", Linear(5, 4, rng=rng, dtype=f64), rng.standard_normal((6, 5)), rng)
    results += check_layer("ReLU", ReLU(), away_from_zero(rng, (6, 5)), rng)
    results += check_layer("Sigmoid", Sigmoid(), 3 * rng.standard_normal((6, 5)), rng)
    maxout = Maxout(5, 3, 4, rng=rng, dtype=f64, init_scale=1.0)
    results += check_layer("Maxout", maxout, inputs_with_clear_maxout_winners(maxout, rng, 6), rng)
    results += check_layer("Dropout", Dropout(0.5, rng=rng), rng.standard_normal((6, 5)), rng)

    results += check_discriminator_loss(check_logits(rng, 7), check_logits(rng, 5))
    for kind in GENERATOR_LOSSES:
        results += check_generator_loss(check_logits(rng, 7), kind)

    for name in DIVERGENCE_NAMES:
        results += check_variational_objective(name, check_logits(rng, 7), check_logits(rng, 5))
        for kind in ("minimax", "non-saturating"):
            results += check_generator_objective(name, check_logits(rng, 6), kind)

    gan = small_gan(rng)
    x_real = rng.uniform(0.05, 0.95, size=(6, 6))
    z = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(6, 4))
    for order in UPDATE_ORDERS:
        results += check_discriminator_step(gan, x_real, z, update_order=order)
        for kind in GENERATOR_LOSSES:
            results += check_generator_step(gan, x_real, z, kind=kind, update_order=order)
    return results


def small_gan(rng, dtype=np.float64):
    """A small G and D with the paper's layer types: G ReLU, ReLU, sigmoid; D dropout (keep
    0.8, 0.5, 0.5) around two maxout layers and a linear output. Biases are random, not
    zero: zero biases make exact maxout ties on rows whose inputs dropout removed."""
    generator = Sequential(
        Linear(4, 8, rng=rng, dtype=dtype, init_scale=0.8), ReLU(),
        Linear(8, 8, rng=rng, dtype=dtype, init_scale=0.8), ReLU(),
        Linear(8, 6, rng=rng, dtype=dtype, init_scale=0.8), Sigmoid(),
    )
    discriminator = Sequential(
        Dropout(0.8, rng=rng), Maxout(6, 4, 3, rng=rng, dtype=dtype, init_scale=0.6),
        Dropout(0.5, rng=rng), Maxout(4, 4, 3, rng=rng, dtype=dtype, init_scale=0.6),
        Dropout(0.5, rng=rng), Linear(4, 1, rng=rng, dtype=dtype, init_scale=0.6),
    )
    for network in (generator, discriminator):
        for name, value in network.params.items():
            if name.endswith(".b"):
                value[...] = rng.uniform(-0.5, 0.5, size=value.shape)
    return GAN(generator, discriminator)


def check_logits(rng, n):
    """Logits in [-3, 3]. In the saturated tails a loss gradient shrinks towards 1e-13 and
    a relative comparison would measure the reference's resolution; the tails are tested
    against closed forms instead (tests/test_losses.py)."""
    return rng.uniform(-3, 3, size=(n, 1))


def away_from_zero(rng, shape, margin=0.1):
    """Values with |v| in [margin, 1 + margin] and random signs: no ReLU kink within reach."""
    return rng.choice([-1.0, 1.0], size=shape) * (margin + rng.random(shape))


def inputs_with_clear_maxout_winners(layer, rng, n, margin=1e-3):
    """n inputs for which every unit's best piece beats the second by at least ``margin``."""
    rows = []
    while len(rows) < n:
        x = rng.standard_normal((1, layer.in_features))
        detectors = (x @ layer.params["W"] + layer.params["b"]).reshape(layer.units, layer.pieces)
        ranked = np.sort(detectors, axis=1)
        if layer.pieces == 1 or np.all(ranked[:, -1] - ranked[:, -2] > margin):
            rows.append(x[0])
    return np.array(rows)


def _run_trainer_gradients(gan, x_real, z, update_order, kind, generator_step):
    """Run the trainer's own gradient code once (its dropout masks stay in D for the copy)."""
    _require_float64(x_real, "x_real")
    _require_float64(z, "z")
    for key, parameter in gan.params.items():
        _require_float64(parameter, f"parameter {key}")
    if update_order == "simultaneous":
        gan.simultaneous_gradients(x_real, z, kind=kind)
    elif update_order == "sequential" and generator_step:
        gan.generator_gradients(z, kind=kind)
    elif update_order == "sequential":
        gan.discriminator_gradients(x_real, z)
    else:
        raise ValueError(f"unknown update order {update_order!r}; valid: {', '.join(UPDATE_ORDERS)}")
    gan.generator.clear_cache()
    gan.discriminator.clear_cache()


def _compare_parameters(label, prefix, network, loss, analytic, threshold):
    return [
        _result(label, f"{prefix}.{key}", analytic[key], *numerical_gradient(loss, array), threshold)
        for key, array in network.params.items()
    ]


def _extended_copy(model):
    """A copy of a layer or GAN in extended precision whose dropout layers reuse the
    masks of the last pass (the analytic one)."""
    reference = copy.deepcopy(model).astype(EXTENDED)
    networks = [reference.generator, reference.discriminator] if isinstance(reference, GAN) else [reference]
    for network in networks:
        for layer in walk(network):
            if isinstance(layer, Dropout):
                layer.freeze_mask()
    return reference


def _result(check, parameter, analytic, numeric, skipped, threshold):
    checked = int(np.size(numeric) - skipped)
    return CheckResult(check, parameter, rel_error(analytic, numeric), threshold, checked, skipped)


def _require_float64(array, what):
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        dtype = getattr(array, "dtype", type(array).__name__)
        raise ValueError(f"gradient checks run the code under test in float64: {what} has dtype {dtype}")
    _require_finite(array, what)


def _require_finite(array, what):
    if not np.all(np.isfinite(array)):
        raise ValueError(f"gradient checks need finite values: {what} contains NaN or infinity")
