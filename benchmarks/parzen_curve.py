"""The Parzen-vs-epoch curve of a run: the full Table 1 procedure on saved epoch checkpoints.

For each checkpoint (epoch-NNNN.npz files, e.g. a run's checkpoints/ directory or an
archive of them), runs `npgan evaluate parzen --json` (10,000 samples of G, sigma chosen
on the first 1,000 validation images, all 10,000 test images) in a subprocess, keeps the
results in a JSON file (already evaluated checkpoints are skipped, so the script can be
re-run as a run goes on), and draws the curve with the rows of Table 1 and the real-data
reference as horizontal lines.

    python benchmarks/parzen_curve.py --data-dir ../shared/data/mnist \\
        --results benchmarks/results/paper-mnist-parzen.json \\
        --out benchmarks/figures/paper-mnist-parzen.png CHECKPOINT_DIR [CHECKPOINT_DIR ...]

--generator average evaluates the moving average of G where a run kept one (mnist-tuned);
--compare LABEL=OTHER.json adds another results file's curve to the figure.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from npgan.plots import parzen_curve_figure  # noqa: E402

TABLE_1 = {"DBN": 138, "Stacked CAE": 121, "Deep GSN": 214, "Adversarial nets (paper)": 225}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", help="directories holding epoch-NNNN.npz checkpoints")
    parser.add_argument("--data-dir", help="MNIST directory (default: $NPGAN_DATA_DIR)")
    parser.add_argument("--results", required=True, help="JSON file of the evaluations (read, then extended)")
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--every", type=int, default=1, help="evaluate only epochs divisible by this")
    parser.add_argument("--title", default="paper-mnist, seed 0")
    parser.add_argument("--generator", choices=("average", "trained"), default="trained",
                        help="which G of each checkpoint (npgan evaluate parzen --generator; default: trained)")
    parser.add_argument("--from-epoch", type=int, default=1, help="evaluate only epochs from this one on")
    parser.add_argument("--label", default="npgan", help="the curve's label")
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=RESULTS.json",
                        help="draw another results file's curve too (not evaluated here)")
    args = parser.parse_args()

    results = json.load(open(args.results)) if os.path.exists(args.results) else {}
    checkpoints = {}
    for directory in args.directories:
        for path in glob.glob(os.path.join(directory, "epoch-*.npz")):
            epoch = int(re.search(r"epoch-(\d+)\.npz$", path).group(1))
            checkpoints.setdefault(epoch, path)
    for epoch in sorted(checkpoints):
        if str(epoch) in results or (epoch % args.every and epoch > 3) or epoch < args.from_epoch:
            continue
        command = [sys.executable, "-m", "npgan", "evaluate", "parzen", "--checkpoint", checkpoints[epoch],
                   "--json", "--generator", args.generator] + (["--data-dir", args.data_dir] if args.data_dir else [])
        if "reference" not in results:
            command.append("--reference")
        completed = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(completed.stdout)
        if "reference" in result:
            results["reference"] = result.pop("reference")
        results[str(epoch)] = result
        print(f"epoch {epoch}: {result['test_log_likelihood']:.1f} +- {result['standard_error']:.1f} "
              f"(sigma {result['sigma']:.4f}, {result['seconds']:.1f} s)", flush=True)
        os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
        with open(args.results, "w") as handle:
            json.dump(results, handle, indent=1, sort_keys=True)

    epochs = sorted(int(key) for key in results if key.isdigit())
    references = dict(TABLE_1)
    if "reference" in results:
        references["real data (10,000 training images)"] = round(results["reference"]["test_log_likelihood"], 1)
    more = {}
    for item in args.compare:
        label, path = item.split("=", 1)
        other = json.load(open(path))
        other_epochs = sorted(int(key) for key in other if key.isdigit())
        more[label] = other_epochs, [other[str(e)]["test_log_likelihood"] for e in other_epochs]
    parzen_curve_figure(epochs, [results[str(e)]["test_log_likelihood"] for e in epochs], args.out,
                        title=f"{args.title}: Parzen log-likelihood on MNIST test (10,000 samples of G)",
                        label=args.label, references=references, more=more)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
