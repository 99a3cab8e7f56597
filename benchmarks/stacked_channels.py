"""Are a Stacked MNIST generator's channels digits? Each channel's quality, as MNIST's.

    python benchmarks/stacked_channels.py --checkpoint G.npz --data-dir ../shared/data/mnist [--json out.json]

The mode count (`npgan evaluate modes`) asks only which digit the classifier reads in each
channel; a channel the classifier reads as a 3 counts as a 3 however rough it looks. This
script draws 10,000 samples (noise seed 0), cuts them into their three 784-pixel channels,
and scores each channel's 10,000 digits as `npgan evaluate quality` scores an MNIST generator
(npgan.evaluate.quality: Fréchet distance, precision, recall, classes, in the features of the
shipped MNIST classifier, against MNIST's 10,000 test digits, whose features are computed once
for all three), beside 10,000 real training digits as the floor.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchlib import add_mnist_argument, mnist_directory, report_head, write_json  # noqa: E402

from npgan.data import load_dataset  # noqa: E402
from npgan.data.stacked import unstack_channels  # noqa: E402
from npgan.evaluate.classifier import shipped_classifier  # noqa: E402
from npgan.evaluate.quality import RealFeatures  # noqa: E402
from npgan.restore import checkpoint_config, gan_from_checkpoint, read_checkpoint  # noqa: E402

SAMPLES = 10000
KEYS = ("frechet_distance", "precision", "recall", "classes_covered", "kl_to_uniform", "mean_top_probability")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a stacked-mnist checkpoint or exported G")
    add_mnist_argument(parser)
    parser.add_argument("--json", help="also write the report to this file")
    arguments = parser.parse_args(argv)
    data_dir = mnist_directory(parser, arguments)
    checkpoint = read_checkpoint(arguments.checkpoint)
    if checkpoint_config(checkpoint)["dataset"] != "stacked-mnist":
        parser.error(f"{arguments.checkpoint} is not a stacked-mnist generator")
    gan = gan_from_checkpoint(checkpoint)
    mnist = load_dataset("mnist", data_dir)
    classifier = shipped_classifier("mnist")
    channels = unstack_channels(gan.sample(SAMPLES, np.random.default_rng(0)))  # (n, 3, 784)
    real = RealFeatures(classifier, mnist.rows("test", slice(None)))  # what evaluate_quality compares with
    reference = real.compare(mnist.rows("train", slice(0, SAMPLES)), classifier, "the reference images")
    report = {**report_head("stacked_channels.py", argv), "checkpoint": arguments.checkpoint, "channels": [],
              "real_training_digits": {key: reference[key] for key in KEYS}}
    for channel in range(channels.shape[1]):
        result = real.compare(np.ascontiguousarray(channels[:, channel]), classifier)
        report["channels"].append({key: result[key] for key in KEYS})
    print(report["command"])
    print(f"{'':>24} " + " ".join(f"{key:>20}" for key in KEYS))
    rows = [(f"channel {c}", values) for c, values in enumerate(report["channels"])]
    for name, values in rows + [("real training digits", report["real_training_digits"])]:
        print(f"{name:>24} " + " ".join(f"{values[key]:>20.3f}" for key in KEYS))
    if arguments.json:
        write_json(report, arguments.json)
    return report


if __name__ == "__main__":
    main()
