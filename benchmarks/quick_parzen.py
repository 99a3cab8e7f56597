"""Does the trainer's quick Parzen estimate follow the full one? The quick mode
(npgan.evaluate.parzen.quick_parzen: sigma on validation rows 0-999, scored on rows
1000-1999) with several numbers of centres, on a run's epoch checkpoints, beside the full
Table 1 figure of each from a parzen_curve.py results file.

    python benchmarks/quick_parzen.py --data-dir ../shared/data/mnist --generator average \
        --centres 2000 5000 --full benchmarks/results/mnist-tuned-parzen.json \
        --json benchmarks/results/quick-parzen.json ARCHIVE

The trainer keeps checkpoints/best.npz by this estimate, so what matters is that its
order over the epochs is the full estimate's; the output says, for each number of
centres, which epoch it ranks best and that epoch's full figure.
"""

import argparse
import json
import os
import sys

import numpy as np

from benchlib import add_mnist_argument, mnist_directory, report_head, write_json

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from checkpoint_average import epoch_checkpoints  # noqa: E402
from npgan.checkpoint import load_checkpoint  # noqa: E402
from npgan.data.mnist import load_image_dataset  # noqa: E402
from npgan.evaluate.parzen import quick_parzen  # noqa: E402
from npgan.restore import checkpoint_config, gan_from_checkpoint  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="a directory of epoch-NNNN.npz checkpoints")
    add_mnist_argument(parser)
    parser.add_argument("--centres", type=int, nargs="+", default=[2000, 5000], help="numbers of centres")
    parser.add_argument("--generator", choices=("average", "trained"), default="average")
    parser.add_argument("--full", help="a parzen_curve.py results file: the full figure of each epoch")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args()
    checkpoints = epoch_checkpoints(args.directory)  # first: a wrong directory is told before MNIST loads
    dataset = load_image_dataset("mnist", mnist_directory(parser, args))
    full = {}
    if args.full:
        with open(args.full) as handle:
            full = json.load(handle)

    report = {**report_head("quick_parzen.py"), "generator": args.generator, "epochs": {}}
    print(f"command: {report['command']}")
    print("epoch" + "".join(f"{f'{n} centres':>20s}" for n in args.centres) + "      full")
    for epoch, path in checkpoints.items():
        checkpoint = load_checkpoint(path)
        gan, config = gan_from_checkpoint(checkpoint, args.generator), checkpoint_config(checkpoint)
        results = {n: quick_parzen(gan, config, dataset, n_centres=n) for n in args.centres}
        full_value = full.get(str(epoch), {}).get("test_log_likelihood")
        report["epochs"][epoch] = {"full": full_value, **{
            str(n): {"log_likelihood": r.test_log_likelihood, "sigma": r.sigma, "seconds": r.seconds}
            for n, r in results.items()}}
        print(f"{epoch:5d}" + "".join(f"{r.test_log_likelihood:12.1f} ({r.seconds:.1f} s)" for r in results.values())
              + (f"{full_value:10.1f}" if full_value is not None else ""))
    epochs = list(report["epochs"])
    scored = {epoch: value["full"] for epoch, value in report["epochs"].items() if value["full"] is not None}
    for n in args.centres:
        values = [report["epochs"][epoch][str(n)]["log_likelihood"] for epoch in epochs]
        best = epochs[int(np.argmax(values))]
        line = f"{n} centres rank epoch {best} best"
        if best in scored:
            line += f" (full {scored[best]:.1f}; the full estimate's best: {max(scored.values()):.1f})"
        print(line)
    if args.json:
        write_json(report, args.json)


if __name__ == "__main__":
    main()
