"""The digit (or garment) classifier whose features the quality metrics use: a maxout MLP of
npgan's own layers, trained by npgan (npgan.evaluate.classifier_training), shipped as weights.

The network (the authors' discriminator without its single output, ending in K = 10 classes):

    x (N, 784) -> Dropout(keep 0.8) -> Maxout 240 x 5 -> Dropout(0.5) -> Maxout 240 x 5
               -> Dropout(0.5) -> Linear 240 -> 10 = logits a;   p = softmax(a)

Dropout is the identity in evaluation, so the *features* of an image are the 240 outputs of
the second maxout layer (the penultimate layer), and its class probabilities are softmax(a).
Trained with softmax cross-entropy (npgan.losses.softmax_cross_entropy).

The weights of one classifier per dataset ship with the package in
npgan/evaluate/classifiers/<dataset>.npz: an npgan checkpoint (npgan.checkpoint: verified,
no pickle) whose configuration gives the architecture (CLASSIFIER_KIND, the sizes, the keep
probabilities) and the training recipe, whose state says how it was chosen (the epoch of the
best validation accuracy, and that accuracy), and whose arrays are the float32 parameters
"classifier.1.W", "classifier.1.b", "classifier.3.W", ... (the indices of the Sequential).
Every parameter's shape is checked against the configuration before it is read
(load_classifier), so a file claiming huge layers costs nothing.

    build_network(config, rng)   the Sequential above, for a configuration
    Classifier                   features, probabilities, predictions, accuracy of images
    save_classifier / load_classifier, shipped_classifier_path(dataset), shipped_classifier(dataset)
"""

import os

import numpy as np

from npgan.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from npgan.layers import Dropout, Linear, Maxout, Sequential
from npgan.losses import log_softmax
from npgan.validate import is_integer, is_real

CLASSIFIER_KIND = "classifier"  # config["kind"]: what tells a classifier file from a GAN checkpoint
PREFIX = "classifier"           # the arrays' names: "classifier.1.W", ...
SHIPPED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classifiers")
# What a configuration may claim: the sizes of an MNIST classifier and some room, never more
# (a damaged or hostile file cannot make the loader build a huge network).
MAX_UNITS, MAX_PIECES, MAX_INPUT = 4096, 16, 4096

DEFAULT_ARCHITECTURE = {"kind": CLASSIFIER_KIND, "input_dim": 784, "hidden_units": [240, 240], "pieces": 5,
                        "keep_probs": [0.8, 0.5, 0.5], "classes": 10}


def shipped_classifier_path(dataset):
    """The classifier that ships with npgan for ``dataset`` ("mnist" or "fashion-mnist")."""
    return os.path.join(SHIPPED_DIR, f"{dataset}.npz")


def shipped_classifier(dataset):
    """The classifier that ships with npgan for ``dataset``, loaded (load_classifier) and checked to
    be a classifier of that dataset; ValueError otherwise."""
    classifier = load_classifier(shipped_classifier_path(dataset))
    if classifier.dataset != dataset:
        raise ValueError(f"{shipped_classifier_path(dataset)} is a classifier of {classifier.dataset}, not of "
                         f"{dataset}")
    return classifier


def validate_architecture(config):
    """``config``'s architecture entries checked (kind, input_dim, hidden_units, pieces, keep_probs,
    classes); a ValueError naming the first that is wrong."""
    if not isinstance(config, dict) or config.get("kind") != CLASSIFIER_KIND:
        raise ValueError(f"not an npgan classifier (its configuration's kind is "
                         f"{config.get('kind') if isinstance(config, dict) else None!r}, not {CLASSIFIER_KIND!r})")
    hidden, keep_probs = config.get("hidden_units"), config.get("keep_probs")
    checks = [
        ("input_dim", is_integer(config.get("input_dim")) and 1 <= config["input_dim"] <= MAX_INPUT),
        ("hidden_units", isinstance(hidden, list) and len(hidden) >= 1
         and all(is_integer(units) and 1 <= units <= MAX_UNITS for units in hidden)),
        ("pieces", is_integer(config.get("pieces")) and 1 <= config["pieces"] <= MAX_PIECES),
        ("keep_probs", isinstance(keep_probs, list) and isinstance(hidden, list)
         and len(keep_probs) == len(hidden) + 1 and all(is_real(p) and 0 < p <= 1 for p in keep_probs)),
        ("classes", is_integer(config.get("classes")) and 2 <= config["classes"] <= MAX_UNITS),
    ]
    for key, ok in checks:
        if not ok:
            raise ValueError(f"the classifier's configuration has no valid {key!r} (found {config.get(key)!r})")
    return config


def parameter_shapes(config, state=None):
    """{array name: shape} of the parameters ``config`` implies, computed without building anything
    (the ``implied_shapes`` of npgan.checkpoint.load_checkpoint). CheckpointError if it is not a
    classifier's configuration."""
    try:
        validate_architecture(config)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    widths = [config["input_dim"], *config["hidden_units"]]
    shapes = {}
    for index, (fan_in, units) in enumerate(zip(widths[:-1], widths[1:])):  # Dropout, Maxout, ...
        layer = 2 * index + 1
        shapes[f"{PREFIX}.{layer}.W"] = (fan_in, units * config["pieces"])
        shapes[f"{PREFIX}.{layer}.b"] = (units * config["pieces"],)
    layer = 2 * len(config["hidden_units"]) + 1
    shapes[f"{PREFIX}.{layer}.W"], shapes[f"{PREFIX}.{layer}.b"] = (widths[-1], config["classes"]), (config["classes"],)
    return shapes


def build_network(config, rng, dtype=np.float32):
    """The Sequential of the module docstring for ``config`` (validate_architecture), its weights
    drawn uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) from ``rng`` (Linear's and Maxout's default), its
    Dropout layers drawing their masks from ``rng`` too. Layer 2i + 1 is the i-th maxout layer."""
    validate_architecture(config)
    layers, widths = [], [config["input_dim"], *config["hidden_units"]]
    for keep_prob, fan_in, units in zip(config["keep_probs"], widths[:-1], widths[1:]):
        layers += [Dropout(keep_prob, rng=rng), Maxout(fan_in, units, config["pieces"], rng=rng, dtype=dtype)]
    layers += [Dropout(config["keep_probs"][-1], rng=rng), Linear(widths[-1], config["classes"], rng=rng, dtype=dtype)]
    return Sequential(*layers)


class Classifier:
    """A trained classifier network (build_network) in evaluation mode, with its configuration and
    state (what its file holds).

    features(images):       (N, hidden_units[-1]) float32, the penultimate layer's outputs
    classify(images):       (features, probabilities (N, classes) float64), one pass
    predict(images):        (N,) int64, the most probable class
    accuracy(images, labels): the fraction predicted right
    Images are (N, input_dim) values in [0, 1] (float32 is converted to the network's dtype if
    it is another); they go through the network in batches of ``batch_size`` rows.
    """

    def __init__(self, network, config, state=None, batch_size=2000):
        self.network = network.eval()
        self.config = config
        self.state = dict(state or {})
        self.batch_size = batch_size
        self.dtype = network.layers[-1].params["W"].dtype

    @property
    def dataset(self):
        return self.config.get("dataset")

    def features(self, images):
        return self._run(images, self.network.layers[:-2])

    def classify(self, images):
        features = self.features(images)
        logits = self.network.layers[-1].predict(features).astype(np.float64)
        return features, np.exp(log_softmax(logits))

    def predict(self, images):
        logits = self._run(images, self.network.layers)
        return np.argmax(logits, axis=1).astype(np.int64)

    def accuracy(self, images, labels):
        labels = np.asarray(labels)
        if len(labels) != len(images) or len(labels) == 0:
            raise ValueError(f"accuracy needs one label per image, got {len(labels)} labels for {len(images)} images")
        return float(np.mean(self.predict(images) == labels))

    def _run(self, images, layers):
        images = np.asarray(images)
        if images.ndim != 2 or images.shape[1] != self.config["input_dim"] or len(images) == 0:
            raise ValueError(f"the classifier takes (N, {self.config['input_dim']}) images with N >= 1, "
                             f"got shape {images.shape}")
        outputs = []
        for start in range(0, len(images), self.batch_size):
            x = images[start:start + self.batch_size].astype(self.dtype, copy=False)
            for layer in layers:
                x = layer.predict(x)
            outputs.append(x)
        return np.concatenate(outputs)


def named_parameters(network):
    """The network's parameter arrays under their file names ("classifier.1.W", ...)."""
    return {f"{PREFIX}.{name}": value for name, value in network.params.items()}


def save_classifier(path, classifier):
    """Write ``classifier`` (float32 parameters, its configuration and state) to ``path`` as an
    npgan checkpoint, atomically."""
    arrays = {name: value.astype(np.float32) for name, value in named_parameters(classifier.network).items()}
    save_checkpoint(path, config=classifier.config, state=classifier.state, arrays=arrays)


def load_classifier(path):
    """The Classifier in the file at ``path`` (save_classifier's format), every check of
    npgan.checkpoint.load_checkpoint made (no pickle, SHA-256, sizes bounded by the configuration
    before anything is read) and then: exactly the parameters the configuration implies, float32,
    finite. CheckpointError (a ValueError) saying what is wrong otherwise."""
    checkpoint = load_checkpoint(path, parameter_shapes)
    shapes = parameter_shapes(checkpoint.config)
    arrays = checkpoint.arrays
    unexpected = sorted(set(arrays) - set(shapes))
    if unexpected:
        raise CheckpointError(f"{path}: arrays {', '.join(unexpected)} are not parameters of the classifier its "
                              "configuration describes: not an npgan classifier")
    for name, shape in shapes.items():
        if name not in arrays:
            raise CheckpointError(f"{path} has no parameter {name}: damaged, or not an npgan classifier")
        if arrays[name].dtype != np.float32 or not np.isfinite(arrays[name]).all():
            raise CheckpointError(f"{path}: parameter {name} is {arrays[name].dtype}, not finite float32: damaged")
    network = build_network(checkpoint.config, np.random.default_rng(0))  # every weight overwritten below
    for name, value in named_parameters(network).items():
        value[...] = arrays[name]
    return Classifier(network, checkpoint.config, checkpoint.state)


def is_classifier_file(path):
    """True if the zip directory of ``path`` names only a classifier's arrays (nothing is read or
    verified): what lets npgan train-classifier replace a classifier it wrote, never a GAN checkpoint."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile):
        return False
    return "__meta__.npy" in names and all(name == "__meta__.npy" or name.startswith(f"{PREFIX}.") for name in names)
