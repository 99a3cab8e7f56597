"""A GAN from a checkpoint: what sampling, evaluation, figures and export read.

A training checkpoint (npgan.checkpoint; written by npgan.train.Trainer.save) holds G's and D's
parameters ("G.0.W", "D.1.b", ...), the optimizers' state, and, where the run kept a moving
average of G's parameters (generator_average_decay > 0), that average under
"generator_average.average.G.0.W", .... An exported checkpoint (``export_generator``, `npgan
export`) holds G alone, float32, and says so in its state (contents "generator").

    gan_from_checkpoint   the GAN of a checkpoint, its G the average or the trained parameters
    export_generator      G alone into a small checkpoint
    checkpoint_config     the checkpoint's configuration, validated
    load_parameters       copy parameters into a GAN, every name, shape, dtype and value checked first
    state_entry           an integer of the checkpoint's run state, checked

Every damage these find raises npgan.checkpoint.CheckpointError (a ValueError) saying what.
"""

import numpy as np

from npgan.checkpoint import CheckpointError, save_checkpoint
from npgan.models import build_gan, validate_config
from npgan.validate import is_integer

GENERATOR_ONLY = "generator"  # state["contents"] of an exported generator
AVERAGE_PREFIX = "generator_average"  # checkpoint arrays "generator_average.average.G.0.W", ...
GENERATOR_CHOICES = ("average", "trained")


def gan_from_checkpoint(checkpoint, generator="average"):
    """The GAN of a loaded Checkpoint, with its parameters, for sampling and evaluation.

    generator: "average" gives G the moving average of its parameters where the run kept
    one (generator_average_decay > 0; the model the run sampled and evaluated), else the
    trained parameters; "trained" always the trained parameters (what Algorithm 1 left).
    A generator-only checkpoint (npgan export) gives a GAN whose discriminator is None.
    A checkpoint whose arrays do not fit its configuration raises CheckpointError."""
    if generator not in GENERATOR_CHOICES:
        raise ValueError(f"generator must be one of {', '.join(GENERATOR_CHOICES)}; got {generator!r}")
    config = checkpoint_config(checkpoint)
    data_dim = state_entry(checkpoint.state, "data_dim", lambda value: value >= 1)
    placeholder = np.random.default_rng(0)  # every parameter is overwritten by the checkpoint's
    gan = build_gan(config, data_dim, rng=placeholder, dropout_rng=placeholder)
    arrays = dict(checkpoint.arrays)
    exported = checkpoint.state.get("contents") == GENERATOR_ONLY
    if exported:
        kept = checkpoint.state.get("generator")
        if generator != kept and not (generator == "average" and kept == "trained"):
            raise CheckpointError(f"the checkpoint holds only the {kept} generator, not the {generator} one")
        gan.discriminator = None
    elif generator == "average" and config["generator_average_decay"] > 0:
        for name in gan.params_of("G"):
            key = f"{AVERAGE_PREFIX}.average.{name}"
            if key not in arrays:
                raise CheckpointError(f"the checkpoint has no {key}: its run kept no parameter average "
                                      "(damaged, or pass generator='trained')")
            arrays[name] = arrays[key]
    try:
        load_parameters(gan, arrays)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    return gan


def export_generator(checkpoint, path, generator="average"):
    """Write G alone (float32; the average or the trained parameters, as gan_from_checkpoint)
    to ``path``: a checkpoint that sampling, evaluation and figures 2 and 3 accept, about a
    third of a training checkpoint's size. Returns the GAN it holds (its discriminator None)."""
    gan = gan_from_checkpoint(checkpoint, generator)
    if gan.discriminator is not None:
        kept = generator if checkpoint_config(checkpoint)["generator_average_decay"] > 0 else "trained"
        state = {"contents": GENERATOR_ONLY, "generator": kept, "data_dim": checkpoint.state["data_dim"],
                 "iteration": checkpoint.state.get("iteration")}
    else:
        state = dict(checkpoint.state)
    save_checkpoint(path, config=checkpoint.config, state=state,
                    arrays={name: value.copy() for name, value in gan.params_of("G").items()})
    gan.discriminator = None
    return gan


def checkpoint_config(checkpoint, changes=None):
    """The checkpoint's configuration (with ``changes``), validated; CheckpointError if it is not one."""
    try:
        return validate_config({**checkpoint.config, **(changes or {})})
    except KeyError as error:
        raise CheckpointError(f"the checkpoint's configuration has no {error} entry: damaged, or written by "
                              "another version of npgan") from None
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"the checkpoint's configuration is invalid: {error}") from None


def state_entry(state, key, valid):
    """state[key], an integer for which valid(value) holds; CheckpointError otherwise."""
    value = state.get(key)
    if not is_integer(value) or not valid(value):
        raise CheckpointError(f"the checkpoint's run state has no valid {key!r} (found {value!r}): damaged")
    return value


def load_parameters(gan, arrays):
    """Copy G's and D's parameters from ``arrays`` into ``gan`` (names, shapes, dtypes and
    finiteness checked, and no parameter of G or D left over), each before anything is copied."""
    params = gan.params
    extra = sorted(name for name in arrays if name.startswith(("G.", "D.")) and name not in params)
    if extra:
        raise ValueError(f"the checkpoint has parameters the model lacks ({', '.join(extra)}): it was made "
                         "for another architecture")
    for name, value in params.items():
        if name not in arrays:
            raise ValueError(f"the checkpoint has no parameter {name}: it was made for another architecture")
        saved = arrays[name]
        if saved.shape != value.shape or saved.dtype != value.dtype:
            raise ValueError(f"parameter {name} is {saved.dtype}{saved.shape} in the checkpoint, the "
                             f"model expects {value.dtype}{value.shape}: another architecture")
        if not np.isfinite(saved).all():
            raise ValueError(f"parameter {name} in the checkpoint holds NaN or inf")
    for name, value in params.items():
        value[...] = arrays[name]
