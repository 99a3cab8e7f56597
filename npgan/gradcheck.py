"""Gradient checks: hand-written derivatives against centred finite differences.

The public tool, for anyone's layer or function (npgan/finite_differences.py, imported here):
``check_gradients`` (its pytest form: npgan.testing.assert_gradients_match) in element-wise or
directional mode, with both errors (``rel_error``, ``norm_error``), a ``GradientReport`` of
``CheckResult``s and their worst ``Entry``s, and ``THRESHOLDS`` by precision. docs/gradcheck.md
explains the modes, what each catches and misses, and the thresholds.

This module holds npgan's own checks, built from it: each layer and loss, whole D and G steps
of Algorithm 1 (`npgan gradcheck`), and the paper-mnist networks at their real sizes
(`npgan gradcheck --full-size`).

Thresholds (STYLE.md): 1e-7 per layer and per loss, 1e-6 for a whole G or D, against the
extended-precision reference. A loss, or a whole step, is checked through its value; for a
step, the analytic side is the trainer's own code (GAN.discriminator_gradients,
GAN.generator_gradients, GAN.simultaneous_gradients) and the finite differences replay its
dropout masks. The loss is always evaluated in extended precision (from float64 logits when
the network is differenced in float64): L's own float64 round-off, eps |L| / h = 1e-11, would
otherwise be the largest error.

The analytic gradients come from the path in use (npgan.kernels: the layers' own NumPy
methods, or the Numba kernels beside them): `npgan gradcheck` checks the fast path (the
default) and `NPGAN_KERNELS=numpy npgan gradcheck` the reference's own backward; the finite
differences always run the reference.
"""

from dataclasses import replace

import numpy as np

from npgan.data.mnist import IMAGE_SHAPE
from npgan.divergences import DIVERGENCE_NAMES, generator_objective, variational_objective
from npgan.finite_differences import (  # the public tool is imported from here (__all__)
    DIRECTIONS,
    EXTENDED,
    MODES,
    STEP,
    THRESHOLDS,
    CheckResult,
    Entry,
    GradientReport,
    _check_arrays,
    _check_function,
    _plan,
    _reference_copy,
    _replaying,
    _require_float64,
    _rewinder,
    check_gradients,
    directional_derivatives,
    format_results,
    network_output,
    norm_error,
    numerical_gradient,
    rel_error,
)
from npgan.gan import GAN
from npgan.layers import Dropout, Linear, Maxout, Pack, ReLU, Sequential, Sigmoid
from npgan.losses import GENERATOR_LOSSES, discriminator_loss, generator_loss
from npgan.models import build_gan, preset_config
from npgan.noise import sample_noise

__all__ = [
    # the tool, for anyone's code (npgan/finite_differences.py)
    "check_gradients", "GradientReport", "CheckResult", "Entry", "rel_error", "norm_error", "THRESHOLDS", "MODES",
    "DIRECTIONS", "STEP", "EXTENDED", "numerical_gradient", "directional_derivatives", "network_output",
    "format_results",
    # npgan's own checks
    "LAYER_THRESHOLD", "LOSS_THRESHOLD", "NETWORK_THRESHOLD", "UPDATE_ORDERS", "check_layer",
    "check_discriminator_loss", "check_generator_loss", "check_variational_objective", "check_generator_objective",
    "check_discriminator_step", "check_generator_step", "check_every_step", "run_all", "run_full_size",
    "small_gan", "check_logits", "away_from_zero", "inputs_with_clear_maxout_winners",
]

LAYER_THRESHOLD = 1e-7
LOSS_THRESHOLD = 1e-7
NETWORK_THRESHOLD = 1e-6
UPDATE_ORDERS = ("sequential", "simultaneous")


def check_layer(name, layer, x, rng, threshold=LAYER_THRESHOLD):
    """Check dL/dx and every dL/dparam of a float64 ``layer`` at ``x``, with a random upstream."""
    _require_float64(x, f"the input of {name}")
    for key, parameter in layer.params.items():
        _require_float64(parameter, f"parameter {key} of {name}")
    return list(check_gradients(layer, x, rng=rng, threshold=threshold, name=name))


def _check_loss(label, loss, arrays, threshold):
    """``loss(*arrays) -> (value, *gradients)``: its gradients against differences of its value."""
    for key, array in arrays.items():
        _require_float64(array, key)

    def vector_jacobian_product(upstream, *values):
        return tuple(upstream * gradient for gradient in loss(*values)[1:])

    return _check_function(label, lambda *values: loss(*values)[0], vector_jacobian_product, arrays,
                           threshold, _plan())


def check_discriminator_loss(real_logits, fake_logits, threshold=LOSS_THRESHOLD):
    return _check_loss("discriminator_loss", discriminator_loss,
                       {"real_logits": real_logits, "fake_logits": fake_logits}, threshold)


def check_generator_loss(fake_logits, kind, threshold=LOSS_THRESHOLD):
    return _check_loss(f"generator_loss[{kind}]", lambda fake: generator_loss(fake, kind),
                       {"fake_logits": fake_logits}, threshold)


def check_variational_objective(name, real_outputs, fake_outputs, threshold=LOSS_THRESHOLD):
    """The f-GAN critic objective F = mean g_f(V_real) - mean f*(g_f(V_fake)) of divergence ``name``."""
    return _check_loss(f"f-divergence[{name}]", lambda real, fake: variational_objective(name, real, fake),
                       {"real_outputs": real_outputs, "fake_outputs": fake_outputs}, threshold)


def check_generator_objective(name, fake_outputs, kind, threshold=LOSS_THRESHOLD):
    return _check_loss(f"f-divergence G[{name}, {kind}]", lambda fake: generator_objective(name, fake, kind),
                       {"fake_outputs": fake_outputs}, threshold)


def check_discriminator_step(gan, x_real, z, *, update_order="sequential", threshold=NETWORK_THRESHOLD,
                             mode="elementwise", directions=DIRECTIONS, reference=EXTENDED, rng=None):
    """D's gradient of L_D as the trainer computes it (GAN.discriminator_gradients, or
    GAN.simultaneous_gradients) against finite differences of L_D, with the same dropout masks."""
    plan = _plan(mode, None, directions, reference, rng)
    copied = _reference_copy(gan, plan.reference)  # before the trainer's pass draws its masks
    _run_trainer_gradients(gan, x_real, z, update_order, "non-saturating", generator_step=False)
    analytic = {key: value.copy() for key, value in gan.grads_of("D").items()}
    x_real, z = x_real.astype(plan.reference), z.astype(plan.reference)
    x_fake, _ = network_output(copied.generator, z)  # G is not perturbed in a check of D: one pass
    m = copied.real_packs(len(x_real), len(z))  # D's real logits: len(x_real), or its packs with pack > 1

    def loss(logits):
        logits = logits.astype(EXTENDED)  # L_D's own round-off in float64 would be eps |L| / h
        return copied.discriminator_loss(logits[:m], logits[m:])[0], []

    evaluator = _network_evaluators(copied, copied.discriminator, np.concatenate([x_real, x_fake]), loss)
    return _check_arrays(f"{update_order} D step{_packed(gan)}", copied.params_of("D"), analytic, evaluator, None,
                         threshold, plan)


def check_generator_step(gan, x_real, z, *, kind="non-saturating", update_order="sequential",
                         threshold=NETWORK_THRESHOLD, mode="elementwise", directions=DIRECTIONS,
                         reference=EXTENDED, rng=None):
    """G's gradient of L_G through D as the trainer computes it against finite differences
    of L_G, with the same D pass (the same dropout masks). kind: a G loss, or a tuple of them,
    checked from the same passes (the trainer's, from the same random state; the differences',
    one value per kind), which halves the cost of checking both."""
    plan = _plan(mode, None, directions, reference, rng)
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    copied = _reference_copy(gan, plan.reference)
    rewind = _rewinder(gan)
    analytic = []
    for each in kinds:
        rewind()  # every kind's pass draws the same dropout masks
        _run_trainer_gradients(gan, x_real, z, update_order, each, generator_step=True)
        analytic.append({key: value.copy() for key, value in gan.grads_of("G").items()})
    x_real, z = x_real.astype(plan.reference), z.astype(plan.reference)
    m = copied.real_packs(len(x_real), len(z))  # D's real logits: len(x_real), or its packs with pack > 1

    def loss(x_fake):
        if update_order == "simultaneous":  # the fake half of the one pass on [x; G(z)]
            logits, kinks = network_output(copied.discriminator, np.concatenate([x_real, x_fake]))
            logits = logits[m:]
        else:
            logits, kinks = network_output(copied.discriminator, x_fake)
        logits = logits.astype(EXTENDED)  # L_G's own round-off in float64 would be eps |L| / h
        values = [copied.generator_loss(logits, each)[0] for each in kinds]
        return (values[0] if len(kinds) == 1 else np.array(values)), kinks

    evaluator = _network_evaluators(copied, copied.generator, z, loss)
    return _check_arrays([f"{update_order} G step{_packed(gan)} [{each}]" for each in kinds], copied.params_of("G"),
                         analytic, evaluator, None, threshold, plan)


def _packed(gan):
    """The label's mark of a D that judges packs: ", pack N", or nothing."""
    return f", pack {gan.pack}" if gan.pack > 1 else ""


def _network_evaluators(model, network, x, finish):
    """evaluator(key) -> evaluate() for the parameter "<net>.<i>.<name>" of ``network`` (of
    ``model``): finish(network(x)) -> (value, kinks), every pass from the random state of now.
    The layers below layer i do not move when its parameters do: they run once per parameter."""
    rewind = _rewinder(model)

    def evaluator(key):
        index = int(key.split(".")[1]) if isinstance(network, Sequential) else 0
        rewind()
        below, kinks_below = network_output(Sequential(*network.layers[:index]), x) if index else (x, [])
        rest = Sequential(*network.layers[index:]) if isinstance(network, Sequential) else network

        def evaluate():
            output, kinks = network_output(rest, below)
            value, kinks_after = finish(output)
            return value, kinks_below + kinks + kinks_after

        return _replaying(evaluate, model)

    return evaluator


def check_every_step(gan, x_real, z, **options):
    """The D step and both G steps (both G losses), in both update orders."""
    results = []
    for order in UPDATE_ORDERS:
        results += check_discriminator_step(gan, x_real, z, update_order=order, **options)
        results += check_generator_step(gan, x_real, z, kind=GENERATOR_LOSSES, update_order=order, **options)
    return results


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
    results += check_every_step(gan, x_real, z)

    # packing (PacGAN): the Pack layer, and D judging 3 real and 3 generated packs of 2 samples
    results += check_layer("Pack", Pack(2), rng.standard_normal((6, 5)), rng)
    packed = small_gan(rng, pack=2)
    x_real = rng.uniform(0.05, 0.95, size=(6, 6))
    z = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(6, 4))
    return results + check_every_step(packed, x_real, z)


def run_full_size(seed=0, directions=DIRECTIONS, **preset_overrides):
    """`npgan gradcheck --full-size`: the D step and both G steps, in both update orders, of the
    paper-mnist networks at their real sizes (G 100-1200-1200-784, D maxout 240 x 5 twice, a
    minibatch of 100), in directional mode, float64, against a float64 reference.

    The weights are redrawn at 1/sqrt(fan_in) with biases in U(-0.5, 0.5): at the preset's
    initial scales (D's weights within 0.005) L is log 2 to within 1e-13 along a unit
    direction, flatter than float64 can difference. The architecture, the dropout and the code
    are the preset's. Each check draws its own minibatch and noise. preset_overrides
    (generator_hidden=[32, 32], ...) give a smaller version.
    """
    config = preset_config("paper-mnist", generator_init_scale=None, discriminator_init_scale=None,
                           **preset_overrides)
    rng = np.random.default_rng(seed)
    pixels = int(np.prod(IMAGE_SHAPE))
    gan = build_gan(config, pixels, rng=rng, dropout_rng=rng, dtype=np.float64)
    _draw_biases(gan, rng)
    m = config["batch_size"]

    def draw_batch():
        return (rng.uniform(0.0, 1.0, size=(m, pixels)),
                sample_noise(config["noise"], m, config["noise_dim"], rng, dtype=np.float64))

    options = {"mode": "directional", "directions": directions, "reference": np.float64, "rng": rng}
    results = []
    for order in UPDATE_ORDERS:
        results += _on_a_batch_clear_of_ties(check_discriminator_step, gan, draw_batch,
                                             update_order=order, **options)
        results += _on_a_batch_clear_of_ties(check_generator_step, gan, draw_batch,
                                             update_order=order, kind=GENERATOR_LOSSES, **options)
    return results


def _on_a_batch_clear_of_ties(check, gan, draw_batch, attempts=3, **options):
    """check(gan, x_real, z, **options) on a batch from draw_batch(); on a fresh batch again (up
    to ``attempts``) while an array got fewer clean directions than asked: then a unit of that
    batch sits so close to a kink (1e-7 from a maxout tie, say) that most directions cross it.
    A bug fails on every batch; this only moves the point. Given-up directions count as skipped."""
    given_up = {}
    for attempt in range(attempts):
        results = check(gan, *draw_batch(), **options)
        if attempt == attempts - 1 or all(result.checked == options["directions"] for result in results):
            break
        for result in results:
            key = (result.check, result.parameter)
            given_up[key] = given_up.get(key, 0) + result.checked + result.skipped
    return [replace(result, skipped=result.skipped + given_up.get((result.check, result.parameter), 0))
            for result in results]


def small_gan(rng, dtype=np.float64, pack=1):
    """A small G and D with the paper's layer types: G ReLU, ReLU, sigmoid; D dropout (keep
    0.8, 0.5, 0.5) around two maxout layers and a linear output. Biases are random, not
    zero: zero biases make exact maxout ties on rows whose inputs dropout removed.
    pack > 1: D judges packs of ``pack`` samples (a Pack layer first, its first maxout
    pack * 6 inputs wide), as build_gan makes it for the key pack."""
    generator = Sequential(
        Linear(4, 8, rng=rng, dtype=dtype, init_scale=0.8), ReLU(),
        Linear(8, 8, rng=rng, dtype=dtype, init_scale=0.8), ReLU(),
        Linear(8, 6, rng=rng, dtype=dtype, init_scale=0.8), Sigmoid(),
    )
    discriminator = Sequential(
        *([Pack(pack)] if pack > 1 else []),
        Dropout(0.8, rng=rng), Maxout(pack * 6, 4, 3, rng=rng, dtype=dtype, init_scale=0.6),
        Dropout(0.5, rng=rng), Maxout(4, 4, 3, rng=rng, dtype=dtype, init_scale=0.6),
        Dropout(0.5, rng=rng), Linear(4, 1, rng=rng, dtype=dtype, init_scale=0.6),
    )
    gan = GAN(generator, discriminator)
    _draw_biases(gan, rng)
    return gan


def _draw_biases(gan, rng):
    for name, value in gan.params.items():
        if name.endswith(".b"):
            value[...] = rng.uniform(-0.5, 0.5, size=value.shape)


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
    """Run the trainer's own gradient code once."""
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
