"""Does averaging G's parameters raise the Parzen estimate? Averages of a run's epoch
checkpoints, scored with the full Table 1 procedure beside the last checkpoint alone.

    python benchmarks/checkpoint_average.py --data-dir ../shared/data/mnist \
        --uniform 20-80 --uniform 40-80 --uniform 60-80 --decay 0.9999 --decay 0.99995 \
        runs/paper-mnist-0-archive

The directory holds checkpoints named epoch-NNNN.npz (every 5th epoch of a run, say).
--uniform A-B averages those with A <= epoch <= B with equal weights. --decay d weights
each checkpoint up to the last by d^(updates between it and the last): the exponential
moving average that generator_average_decay = d keeps, seen through the checkpoints
(each standing for the epochs between it and the one before). This is what chose the
mnist-tuned preset's decay (benchmarks/RESULTS.md).
"""

import argparse
import json
import os
import re
import sys

import numpy as np

from npgan.checkpoint import load_checkpoint
from npgan.data import load_dataset
from npgan.evaluate.parzen import evaluate_parzen
from npgan.restore import checkpoint_config, gan_from_checkpoint

N_CENTRES = 10_000


def epoch_checkpoints(directory):
    """{epoch: path} of the epoch-NNNN.npz files in ``directory``, by epoch; exits with a
    message when the directory is missing or holds none."""
    if not os.path.isdir(directory):
        sys.exit(f"{directory} is not a directory of epoch-NNNN.npz checkpoints")
    found = {}
    for name in os.listdir(directory):
        match = re.fullmatch(r"epoch-(\d+)\.npz", name)
        if match:
            found[int(match.group(1))] = os.path.join(directory, name)
    if not found:
        sys.exit(f"no epoch-NNNN.npz checkpoints in {directory}")
    return dict(sorted(found.items()))


def averaged_score(checkpoints, weights, data, seed):
    """The full Parzen estimate of G with the weighted average of the checkpoints' G parameters."""
    gan = gan_from_checkpoint(load_checkpoint(checkpoints[-1]), "trained")
    loaded = [load_checkpoint(path) for path in checkpoints]
    total = float(np.sum(weights))
    for name, value in gan.params_of("G").items():
        value[...] = sum(float(w) / total * checkpoint.arrays[name].astype(np.float64)
                         for w, checkpoint in zip(weights, loaded))
    centres = gan.sample(N_CENTRES, np.random.default_rng(seed))
    return evaluate_parzen(centres, data.validation, data.test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="a directory of epoch-NNNN.npz checkpoints")
    parser.add_argument("--data-dir", help="the MNIST IDX files")
    parser.add_argument("--uniform", action="append", default=[], metavar="A-B", help="equal weights, epochs A..B")
    parser.add_argument("--decay", action="append", default=[], type=float, help="exponential weights d^updates")
    parser.add_argument("--seed", type=int, default=1, help="seed of the centres' noise")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    available = epoch_checkpoints(args.directory)
    config = checkpoint_config(load_checkpoint(next(reversed(available.values()))))
    data = load_dataset(config["dataset"], args.data_dir)
    last_epoch = max(available)
    per_epoch = config["iterations_per_epoch"]
    rows = []

    def report(label, epochs, weights):
        result = averaged_score([available[e] for e in epochs], weights, data, args.seed)
        rows.append({"average": label, "epochs": epochs, "test_log_likelihood": result.test_log_likelihood,
                     "standard_error": result.standard_error, "sigma": result.sigma})
        print(f"{label:32s} {result.test_log_likelihood:7.1f} +- {result.standard_error:.1f}  "
              f"sigma {result.sigma:.4f}", flush=True)

    report(f"epoch {last_epoch} alone", [last_epoch], [1.0])
    for window in args.uniform:
        low, high = (int(part) for part in window.split("-"))
        epochs = [e for e in available if low <= e <= high]
        report(f"uniform, epochs {epochs[0]}-{epochs[-1]} ({len(epochs)})", epochs, [1.0] * len(epochs))
    for decay in args.decay:
        epochs = [e for e in available if e >= 5]
        weights = [decay ** ((epochs[-1] - e) * per_epoch) for e in epochs]
        report(f"decay {decay} (epochs {epochs[0]}-{epochs[-1]})", epochs, weights)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"command": " ".join(sys.argv), "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
