"""A GAN from a checkpoint: what sampling, evaluation, figures and export read.

A training checkpoint (npgan.checkpoint; written by npgan.train.Trainer.save) holds G's and D's
parameters ("G.0.W", "D.1.b", ...), the optimizers' state, and, where the run kept a moving
average of G's parameters (generator_average_decay > 0), that average under
"generator_average.average.G.0.W", .... An exported checkpoint (``export_generator``, `npgan
export`) holds G alone, float32, and says so in its state (contents "generator").

    gan_from_checkpoint   the GAN of a checkpoint, its G the average or the trained parameters
    implied_parameter_shapes  the parameter shapes a configuration implies, nothing built
    check_parameter_shapes    a checkpoint's parameters against them, before anything is built
    export_generator      G alone into a small checkpoint
    checkpoint_kind       "training", "generator" or None for a file, from its zip directory alone
    checkpoint_config     the checkpoint's configuration, validated
    load_parameters       copy parameters into a GAN, every name, shape, dtype and value checked first
    state_entry           an integer of the checkpoint's run state, checked

Every damage these find raises npgan.checkpoint.CheckpointError (a ValueError) saying what.
"""

import numpy as np

from npgan.checkpoint import META_KEY, Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
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
    check_parameter_shapes(checkpoint)  # before building: a configuration may claim anything
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


def read_checkpoint(path):
    """npgan.checkpoint.load_checkpoint with every parameter entry bounded by the shape its own
    configuration implies (implied_parameter_shapes) before any entry is read: what the
    command line loads a checkpoint with."""
    return load_checkpoint(path, implied_parameter_shapes)


def implied_parameter_shapes(config, state):
    """{name: shape} of the parameters that ``config`` and the run state's data_dim imply (G's
    alone for an exported generator), computed without building anything: the layout of
    npgan.models.build_gan ("G.0.W" ..., a layer index for every ReLU, Sigmoid, Dropout and Pack too).
    The ``implied_shapes`` of npgan.checkpoint.load_checkpoint; CheckpointError if config or
    data_dim is not valid."""
    config = checkpoint_config(Checkpoint(config=config, state=state, arrays={}))
    data_dim = state_entry(state, "data_dim", lambda value: value >= 1)
    shapes = {}
    widths = [config["noise_dim"], *config["generator_hidden"], data_dim]
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):  # Linear, ReLU, ...
        shapes[f"G.{2 * index}.W"], shapes[f"G.{2 * index}.b"] = (fan_in, fan_out), (fan_out,)
    if state.get("contents") == GENERATOR_ONLY:
        return shapes
    widths = [config["pack"] * data_dim, *config["discriminator_hidden"]]  # D's first layer: pack samples
    keep_probs = config["discriminator_keep_probs"]
    maxout, layer = config["discriminator_kind"] == "maxout", int(config["pack"] > 1)  # a Pack layer first
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layer += keep_probs[index] < 1.0  # a Dropout
        outputs = fan_out * config["discriminator_pieces"] if maxout else fan_out
        shapes[f"D.{layer}.W"], shapes[f"D.{layer}.b"] = (fan_in, outputs), (outputs,)
        layer += 1 if maxout else 2  # Maxout; or Linear, ReLU
    layer += keep_probs[-1] < 1.0
    shapes[f"D.{layer}.W"], shapes[f"D.{layer}.b"] = (widths[-1], 1), (1,)
    return shapes


def check_parameter_shapes(checkpoint, dtype=np.float32):
    """The checkpoint's G and D parameters are exactly those its configuration implies
    (implied_parameter_shapes: names, shapes, ``dtype``), checked before any network is built,
    so that a configuration claiming huge layers costs nothing: CheckpointError otherwise, with
    the messages of load_parameters."""
    shapes = implied_parameter_shapes(checkpoint.config, checkpoint.state)
    try:
        _check_parameters({name: (shape, np.dtype(dtype)) for name, shape in shapes.items()}, checkpoint.arrays)
    except ValueError as error:
        raise CheckpointError(str(error)) from None


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


def checkpoint_kind(path):
    """What the file at ``path`` is, from the names in its zip directory alone (nothing is
    loaded or verified): "generator" for an exported generator (__meta__ and G's parameters
    only), "training" for any other npgan checkpoint (it holds D, the optimizers, ...: what a
    run resumes from), None for anything else (not a zip, no __meta__, unreadable). Used to
    keep an output from replacing a checkpoint."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile):
        return None
    if f"{META_KEY}.npy" not in names:
        return None
    return "generator" if all(name == f"{META_KEY}.npy" or name.startswith("G.") for name in names) else "training"


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
    _check_parameters({name: (value.shape, value.dtype) for name, value in params.items()}, arrays)
    for name, value in params.items():
        if not np.isfinite(arrays[name]).all():
            raise ValueError(f"parameter {name} in the checkpoint holds NaN or inf")
    for name, value in params.items():
        value[...] = arrays[name]


def _check_parameters(expected, arrays):
    """The G and D entries of ``arrays`` are exactly ``expected`` {name: (shape, dtype)}: a
    ValueError naming the first that is missing, extra or of another shape or dtype."""
    extra = sorted(name for name in arrays if name.startswith(("G.", "D.")) and name not in expected)
    if extra:
        raise ValueError(f"the checkpoint has parameters the model lacks ({', '.join(extra)}): it was made "
                         "for another architecture")
    for name, (shape, dtype) in expected.items():
        if name not in arrays:
            raise ValueError(f"the checkpoint has no parameter {name}: it was made for another architecture")
        saved = arrays[name]
        if saved.shape != tuple(shape) or saved.dtype != dtype:
            raise ValueError(f"parameter {name} is {saved.dtype}{saved.shape} in the checkpoint, the "
                             f"model expects {dtype}{tuple(shape)}: another architecture")
