"""Presets: a complete, JSON-serialisable configuration per experiment, and the
construction of G and D from a configuration.

A configuration holds every hyperparameter a run uses (config.json of a run
directory and the checkpoint both store it), so a checkpoint rebuilds its own
networks. Architecture keys:

    generator_hidden           widths of G's ReLU layers
    generator_output           "linear" (toy data) or "sigmoid" (pixels in [0, 1])
    generator_init_scale       G weights ~ U(-s, s); None: 1/sqrt(fan_in)
    generator_output_bias      "zeros", or "logit-mean": G's output bias starts at the
                               logit of the clipped mean training pixel (the authors')
    discriminator_kind         "relu" or "maxout" hidden layers
    discriminator_hidden       widths (units) of D's hidden layers
    discriminator_pieces       pieces per maxout unit
    discriminator_keep_probs   dropout keep_prob before each of D's linear/maxout
                               layers (len = len(discriminator_hidden) + 1); 1 = none
    discriminator_init_scale   D weights ~ U(-s, s); None: 1/sqrt(fan_in)

and, not in the paper, pack: how many samples D judges at once (PacGAN, Lin et al. 2018; 1, the
paper's D, in every preset). D then starts with a Pack layer and its first weights take
pack * data_dim inputs. batch_size stays the number of samples of each kind a step draws (m
real, m noise vectors), so pack must divide it and D judges m / pack packs of each kind; PacGAN's
own code counts its minibatch in packs (100 packs of pack samples each), the same run as
batch_size = 100 * pack here. Kept in samples so that a packed run draws the same data and
noise as its unpacked twin and differs from it only in what D sees.

Also not in the paper: generator_average_decay: 0 (none), or the decay of an
exponential moving average of G's parameters that sampling and evaluation use
(npgan.optim.ParameterAverage; the mnist-tuned preset).

D ends in a Linear to one logit; D(x) = sigmoid(logit) lives in the losses.
"""

import copy

import numpy as np

from npgan.data.mnist import IMAGE_DATASETS, TRAIN_SIZE
from npgan.data.toy import TOY_DISTRIBUTIONS
from npgan.divergences import DIVERGENCE_NAMES
from npgan.gan import GAN
from npgan.layers import Dropout, Linear, Maxout, Pack, ReLU, Sequential, Sigmoid
from npgan.losses import GENERATOR_LOSSES
from npgan.noise import NOISE_PRIORS
from npgan.validate import is_integer, is_real, require_integer

UPDATE_ORDERS = ("sequential", "simultaneous")
OPTIMIZERS = ("momentum", "adam")
GENERATOR_OUTPUT_BIASES = ("zeros", "logit-mean")

_TOY_DEFAULTS = {
    "noise": "normal",
    "noise_dim": 2,
    "batch_size": 256,
    "k_discriminator_steps": 1,
    "generator_loss": "non-saturating",
    "update_order": "sequential",
    "generator_hidden": [128, 128],
    "generator_output": "linear",
    "generator_init_scale": None,
    "generator_output_bias": "zeros",
    "discriminator_kind": "relu",
    "discriminator_hidden": [128, 128],
    "discriminator_pieces": 1,
    "discriminator_keep_probs": [1.0, 1.0, 1.0],
    "discriminator_init_scale": None,
    "pack": 1,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "learning_rate_decay": 1.0,
    "min_learning_rate": 0.0,
    "momentum": 0.5,
    "final_momentum": None,
    "momentum_saturate_epoch": 250,
    "adam_beta1": 0.5,
    "discriminator_loss_scale": 1.0,
    "divergence": "gan",
    "generator_average_decay": 0.0,
    "iterations_per_epoch": None,
    "log_every": 250,
    "checkpoint_every": 2500,
}

PRESETS = {
    # A linear G (x = a z + b, z ~ N(0, 1)) can represent N(4, 0.5^2) exactly. D is maxout:
    # a ReLU D on data centred at 4 lost all its units (a constant D, so G got no gradient);
    # k = 3 keeps D near D* and made every seed converge (4 of 4; k = 1: 2 of 4).
    "gauss1d": {**_TOY_DEFAULTS, "dataset": "gauss1d", "noise": "normal", "noise_dim": 1,
                "generator_hidden": [], "discriminator_kind": "maxout", "discriminator_pieces": 5,
                "discriminator_hidden": [32, 32], "k_discriminator_steps": 3, "learning_rate": 5e-3,
                "iterations": 1500, "batch_size": 128, "log_every": 100, "checkpoint_every": 500},
    # Two modes at -+2 (std 0.5), where the f-divergences differ (npgan figure divergences).
    # G needs hidden layers to put its mass in two places; D as for gauss1d.
    "bimodal1d": {**_TOY_DEFAULTS, "dataset": "bimodal1d", "noise": "normal", "noise_dim": 1,
                  "generator_hidden": [32, 32], "discriminator_kind": "maxout", "discriminator_pieces": 5,
                  "discriminator_hidden": [32, 32], "k_discriminator_steps": 3, "learning_rate": 1e-3,
                  "iterations": 3000, "batch_size": 128, "log_every": 250, "checkpoint_every": 1000},
    # Dropout in D (keep 0.5 before the second hidden layer and the output, the paper's
    # regulariser) was what mattered for mode coverage: without it 5-7 of 8 modes for every
    # learning rate, batch size, k, noise width and D (ReLU or maxout) tried; with it 8 of 8
    # on 4 of 5 seeds (benchmarks/RESULTS.md). Then half the learning rate for twice the
    # iterations (5e-4, 16,000): 8 of 8 on all 5 seeds, against 7-8 at 1e-3 for 8,000 or 16,000.
    "ring8": {**_TOY_DEFAULTS, "dataset": "ring8", "iterations": 16000, "learning_rate": 5e-4,
              "discriminator_keep_probs": [1.0, 0.5, 0.5]},
    # grid25: the same D dropout, then batch 512 and learning rate 5e-4 for 24,000 iterations
    # (batch 256 / lr 1e-3 oscillated between 17 and 24 modes from one snapshot to the next),
    # then G and D 256-256 wide: 23.6 modes over 5 seeds, against 22.0 at 128-128 and 23.0
    # with only G wider (benchmarks/RESULTS.md).
    "grid25": {**_TOY_DEFAULTS, "dataset": "grid25", "iterations": 24000, "batch_size": 512,
               "learning_rate": 5e-4, "discriminator_keep_probs": [1.0, 0.5, 0.5],
               "generator_hidden": [256, 256], "discriminator_hidden": [256, 256],
               "log_every": 500, "checkpoint_every": 4000},
}

# The authors' MNIST model, every number from docs/paper.md (their released pylearn2
# configuration). The number of epochs behind Table 1 is not published; 250 is where the
# momentum schedule ends.
PAPER_MNIST_EPOCHS = 250
PRESETS["paper-mnist"] = {
    "dataset": "mnist",
    "noise": "uniform",                      # U(-sqrt 3, sqrt 3), 100-d
    "noise_dim": 100,
    "batch_size": 100,
    "k_discriminator_steps": 1,
    "generator_loss": "non-saturating",
    "update_order": "simultaneous",          # the released code; Algorithm 1's order collapses G
    "generator_hidden": [1200, 1200],
    "generator_output": "sigmoid",
    "generator_init_scale": 0.05,
    "generator_output_bias": "logit-mean",
    "discriminator_kind": "maxout",
    "discriminator_hidden": [240, 240],
    "discriminator_pieces": 5,
    "discriminator_keep_probs": [0.8, 0.5, 0.5],
    "discriminator_init_scale": 0.005,
    "pack": 1,                               # PacGAN's packing; 1: the paper's D
    "optimizer": "momentum",
    "learning_rate": 0.1,
    "learning_rate_decay": 1.000004,
    "min_learning_rate": 1e-6,
    "momentum": 0.5,
    "final_momentum": 0.7,
    "momentum_saturate_epoch": 250,
    "adam_beta1": 0.5,                       # unused by momentum
    "discriminator_loss_scale": 0.5,
    "divergence": "gan",
    "generator_average_decay": 0.0,
    "iterations_per_epoch": 500,             # 50,000 training images / 100
    "iterations": 500 * PAPER_MNIST_EPOCHS,
    "log_every": 500,                        # one metrics line per epoch
    "checkpoint_every": 500,                 # a checkpoint and samples.png per epoch
}
# Algorithm 1's sequential order on the same model: the paper's algorithm, kept because it
# shows the failure (in a reference run G collapsed to one image within 10 epochs).
PRESETS["paper-mnist-sequential"] = {**PRESETS["paper-mnist"], "update_order": "sequential"}
# The paper's architecture and optimisation on Fashion-MNIST.
PRESETS["fashion-mnist"] = {**PRESETS["paper-mnist"], "dataset": "fashion-mnist"}
# fashion-mnist with two changes (issue 22; benchmarks/RESULTS.md, "Fashion-MNIST"): half the
# learning rate, as with the paper's 0.1 D wins by epoch 4 and G collapses to one image (0.05 and
# 0.02 trained 10 epochs without collapse, 0.05 the faster), and mnist-tuned's average of G.
PRESETS["fashion-tuned"] = {**PRESETS["fashion-mnist"], "learning_rate": 0.05, "generator_average_decay": 0.99998}
# paper-mnist plus one change, not in the paper: G's samples and Parzen estimate come from
# an exponentially weighted average of its parameters over all updates with a horizon of
# 50,000 updates (100 epochs; npgan.optim.ParameterAverage). Training itself is unchanged
# (the same seed trains the same G and D); the average removes the speckle that SGD's
# jitter leaves in the samples. Why this decay: benchmarks/RESULTS.md (a 250-epoch run:
# 234.5 with it; 220.9 with decay 0.99995 and the shorter TensorFlow warm-up of before).
PRESETS["mnist-tuned"] = {**PRESETS["paper-mnist"], "generator_average_decay": 0.99998}
# The paper's model on Stacked MNIST (1,000 modes; G's output and D's input widen to 2,352).
PRESETS["stacked-mnist"] = {**PRESETS["paper-mnist"], "dataset": "stacked-mnist"}
# Table 1 in minutes (issue 21; benchmarks/time_to_table1.py, docs/mnist.md#table-1-in-minutes-mnist-fast):
# the paper's model and Algorithm 1 as paper-mnist, with two changes, each from trials on seed 0 with
# the validation estimate (benchmarks/RESULTS.md, "Time to Table 1").
# - G learns four times as fast, D twice: learning rate 0.4 with D's loss scaled by 0.25 (paper-mnist:
#   0.1 and 0.5), so D steps at 0.1 and G at 0.4. D sets the limit: D's logits ran away within 2 epochs
#   with D at 0.15 (learning rate 0.3, scale 0.5) and at 0.125 (minibatches of 200), never at 0.1. G at
#   0.4 reached 225 at epoch 30 (G at 0.2, the first mnist-fast: 224.1 at epoch 45); G at 0.3 led 0.2
#   early and not by epoch 21; 0.5 was no faster.
# - G sampled from the average of mnist-tuned (horizon 100 epochs): it led every shorter horizon (epoch
#   26 at lr 0.2: 211.6; 10 epochs: 196.9, flat since epoch 22); starting it at epoch 4 or 8 gave 191.9
#   and 182.0. Also tried, and worse: dividing the learning rate by 1.0001 or 1.0002 an update, Adam
#   (2e-4, beta1 0.5), momentum rising to 0.8 by epoch 15 (G fell from 184 to 142 by epoch 17).
PRESETS["mnist-fast"] = {**PRESETS["paper-mnist"], "learning_rate": 0.4, "discriminator_loss_scale": 0.25,
                         "generator_average_decay": 0.99998, "iterations": 500 * 60}
DEFAULT_PRESET = "ring8"
# How many epoch checkpoints (checkpoints/epoch-NNNN.npz) a run keeps, the latest ones; 0 keeps
# every one. Not a hyperparameter (it is no key of a configuration): npgan.run writes it into each
# checkpoint's run state, and `npgan train --keep-checkpoints N` sets it.
KEEP_CHECKPOINTS = 3

# Defaults per f-divergence (npgan.divergences) on top of a preset: what `npgan train --preset P
# --divergence D` (and a sweep, and `npgan figure divergences`) starts from unless an option sets
# the key. The presets were tuned for the GAN; these are the changes the other rows need on the
# 1-D toys, measured on seeds 0-5 (python benchmarks/divergences.py; benchmarks/RESULTS.md):
#
#   - A wide G at the start for Pearson and squared Hellinger on gauss1d, and for KL and Pearson on
#     bimodal1d. Their critic's optimal output grows without bound where the data has mass and G
#     has none, and from the presets' narrow G, far from the data, G stalled (Pearson on gauss1d:
#     mean 2.3-3.3 and std 1.6-1.9 after the 1,500 iterations), collapsed to a point (Hellinger on
#     gauss1d: std 0.016 and 0.012 on seeds 0 and 2) or split badly (Pearson on bimodal1d seed 2:
#     18% and 12% of G on the modes). gauss1d's G is linear: with its one noise input its width at the
#     start is a single uniform draw (0.08 on seed 3); with 8 inputs and weights from U(-2, 2) it
#     is |w| = 1.9-3.8 on seeds 0-9, over the data at 4 (still one Gaussian, N(b, |w|^2), which
#     fits the data exactly). bimodal1d's G starts from weights in U(-1, 1) (KL from the preset's
#     G kept only 22% on one mode in a trial on seed 2).
#   - reverse KL: the minimax G loss, -mean f*(g_f(V)), which at the optimal critic is
#     E_Q[log q/p] + 1: G descends the reverse KL itself. The non-saturating loss weights each
#     sample by about q/p; on gauss1d it left G at mean 3.45-3.52, std 0.36-0.39 after the 1,500
#     iterations (seeds 0-2), and with k = 1 squeezed it to a point inside the data (std 0.004, seed 3).
DIVERGENCE_SETTINGS = {
    "gauss1d": {
        "pearson": {"noise_dim": 8, "generator_init_scale": 2.0},
        "hellinger": {"noise_dim": 8, "generator_init_scale": 2.0},
        "reverse-kl": {"generator_loss": "minimax"},
    },
    "bimodal1d": {
        "kl": {"generator_init_scale": 1.0},
        "pearson": {"generator_init_scale": 1.0},
        "reverse-kl": {"generator_loss": "minimax"},
    },
}


def divergence_settings(preset, divergence):
    """The keys DIVERGENCE_SETTINGS changes for ``divergence`` on ``preset`` (a new dict; {} if none,
    also for a name that is no divergence: validate_config refuses that)."""
    if not isinstance(preset, str) or not isinstance(divergence, str):
        return {}
    return copy.deepcopy(DIVERGENCE_SETTINGS.get(preset, {}).get(divergence, {}))


def preset_config(name, **overrides):
    """The configuration of preset ``name`` with ``overrides`` applied, validated.

    With a divergence (an override, or the preset's own), DIVERGENCE_SETTINGS[name][divergence]
    comes between the preset and the overrides: an override always wins.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    config = copy.deepcopy(PRESETS[name])
    config["preset"] = name
    config["seed"] = 0
    config.update(divergence_settings(name, overrides.get("divergence", config["divergence"])))
    for key, value in overrides.items():
        if key not in config:
            raise ValueError(f"unknown configuration key {key!r}")
        config[key] = value
    if config["dataset"] in IMAGE_DATASETS and "iterations_per_epoch" not in overrides \
            and is_integer(config["iterations_per_epoch"]) \
            and is_integer(config["batch_size"]) and 1 <= config["batch_size"] <= TRAIN_SIZE:
        # an epoch is one pass over the 50,000 training images, whatever the minibatch size
        per_epoch = TRAIN_SIZE // config["batch_size"]
        if "iterations" not in overrides:
            config["iterations"] = config["iterations"] // config["iterations_per_epoch"] * per_epoch
        config["iterations_per_epoch"] = per_epoch
    return validate_config(config)


# Keys added after checkpoints were first written, with the value that reproduces the older
# behaviour: a configuration without them (an older run's config.json) gets these.
ADDED_KEYS = {"generator_output_bias": "zeros", "divergence": "gan", "generator_average_decay": 0.0, "pack": 1}


def validate_config(config):
    """Check every hyperparameter's type and range; return the config or raise ValueError."""
    for key, value in ADDED_KEYS.items():
        config.setdefault(key, value)
    _choice(config, "divergence", DIVERGENCE_NAMES)
    _choice(config, "generator_loss", GENERATOR_LOSSES)
    _choice(config, "update_order", UPDATE_ORDERS)
    _choice(config, "optimizer", OPTIMIZERS)
    _choice(config, "noise", NOISE_PRIORS)
    _choice(config, "generator_output", ("linear", "sigmoid"))
    _choice(config, "generator_output_bias", GENERATOR_OUTPUT_BIASES)
    _choice(config, "dataset", (*TOY_DISTRIBUTIONS, *IMAGE_DATASETS))
    if config["dataset"] in IMAGE_DATASETS and is_integer(config["batch_size"]) and config["batch_size"] > TRAIN_SIZE:
        raise ValueError(f"batch_size {config['batch_size']} is more than the {TRAIN_SIZE} training images")
    if config["dataset"] in IMAGE_DATASETS and config["generator_output"] != "sigmoid":
        raise ValueError(f"{config['dataset']} has pixels in [0, 1]: generator_output must be 'sigmoid'")
    _choice(config, "discriminator_kind", ("relu", "maxout"))
    for key in ("iterations", "batch_size", "k_discriminator_steps", "noise_dim",
                "discriminator_pieces", "log_every", "checkpoint_every"):
        _integer(config, key, minimum=1)
    _integer(config, "seed", minimum=0)
    _integer(config, "pack", minimum=1)
    if config["batch_size"] % config["pack"]:
        raise ValueError(f"pack {config['pack']} must divide batch_size {config['batch_size']}: D judges the m real "
                         "and the m generated samples of a step in packs, and a pack never mixes the two; choose a "
                         f"batch size that is a multiple of {config['pack']}")
    if config["iterations_per_epoch"] is not None:
        _integer(config, "iterations_per_epoch", minimum=1)
    for key in ("learning_rate", "discriminator_loss_scale"):
        _real(config, key, low=0.0, low_open=True)
    _real(config, "learning_rate_decay", low=1.0)
    _real(config, "min_learning_rate", low=0.0, high=config["learning_rate"])
    _real(config, "momentum", low=0.0, high=1.0, high_open=True)
    _real(config, "adam_beta1", low=0.0, high=1.0, high_open=True)
    _real(config, "generator_average_decay", low=0.0, high=1.0, high_open=True)
    if config["final_momentum"] is not None:
        _real(config, "final_momentum", low=0.0, high=1.0, high_open=True)
    for key in ("generator_init_scale", "discriminator_init_scale"):
        if config[key] is not None:
            _real(config, key, low=0.0, low_open=True)
    for key in ("generator_hidden", "discriminator_hidden"):
        widths = config[key]
        if not isinstance(widths, (list, tuple)) or not all(is_integer(w) and w >= 1 for w in widths):
            raise ValueError(f"{key} must be a list of positive integers, got {widths!r}")
    keep = config["discriminator_keep_probs"]
    if not isinstance(keep, (list, tuple)) or len(keep) != len(config["discriminator_hidden"]) + 1:
        raise ValueError("discriminator_keep_probs needs one keep_prob per D layer "
                         f"({len(config['discriminator_hidden']) + 1}), got {keep!r}")
    for value in keep:
        if not (is_real(value) and 0.0 < value <= 1.0):
            raise ValueError(f"every discriminator keep_prob must be in (0, 1], got {value!r}")
    return config


def build_gan(config, data_dim, *, rng, dropout_rng, dtype=np.float32, output_bias=None):
    """G and D for ``config``; weights drawn from ``rng``, dropout masks from ``dropout_rng``.

    output_bias: the initial bias of G's last layer (paper: logit of the mean pixel).
    """
    return GAN(build_generator(config, data_dim, rng=rng, dtype=dtype, output_bias=output_bias),
               build_discriminator(config, data_dim, rng=rng, dropout_rng=dropout_rng, dtype=dtype),
               divergence=config["divergence"], noise=config["noise"], noise_dim=config["noise_dim"])


def build_generator(config, data_dim, *, rng, dtype=np.float32, output_bias=None):
    """G for ``config``: noise (m, noise_dim) -> (m, data_dim); weights drawn from ``rng``."""
    widths = [config["noise_dim"], *config["generator_hidden"]]
    generator_layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        generator_layers += [Linear(fan_in, fan_out, rng=rng, dtype=dtype,
                                    init_scale=config["generator_init_scale"]), ReLU()]
    output = Linear(widths[-1], data_dim, rng=rng, dtype=dtype, init_scale=config["generator_init_scale"])
    if output_bias is not None:
        output.params["b"][...] = output_bias
    generator_layers.append(output)
    if config["generator_output"] == "sigmoid":
        generator_layers.append(Sigmoid())
    return Sequential(*generator_layers)


def build_discriminator(config, data_dim, *, rng, dropout_rng, dtype=np.float32):
    """D for ``config``: (m, data_dim) -> logits (m / pack, 1), one per pack of ``pack`` samples (one
    per sample for pack 1); weights from ``rng``, masks from ``dropout_rng``."""
    widths = [config["pack"] * data_dim, *config["discriminator_hidden"]]
    keep_probs = config["discriminator_keep_probs"]
    scale = config["discriminator_init_scale"]
    discriminator_layers = [Pack(config["pack"])] if config["pack"] > 1 else []
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        if keep_probs[index] < 1.0:
            discriminator_layers.append(Dropout(keep_probs[index], rng=dropout_rng))
        if config["discriminator_kind"] == "maxout":
            discriminator_layers.append(Maxout(fan_in, fan_out, config["discriminator_pieces"], rng=rng,
                                               dtype=dtype, init_scale=scale))
        else:
            discriminator_layers += [Linear(fan_in, fan_out, rng=rng, dtype=dtype, init_scale=scale), ReLU()]
    if keep_probs[-1] < 1.0:
        discriminator_layers.append(Dropout(keep_probs[-1], rng=dropout_rng))
    discriminator_layers.append(Linear(widths[-1], 1, rng=rng, dtype=dtype, init_scale=scale))
    return Sequential(*discriminator_layers)


def _choice(config, key, valid):
    if config[key] not in valid:
        raise ValueError(f"{key} must be one of {', '.join(valid)}; got {config[key]!r}")


def _integer(config, key, minimum):
    require_integer(config[key], key, minimum=minimum)


def _real(config, key, low=None, high=None, low_open=False, high_open=False):
    value = config[key]
    if not is_real(value):
        raise ValueError(f"{key} must be a finite number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(f"{key} must be in {left}{low}, {high}{right}, got {value}")
