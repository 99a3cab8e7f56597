"""The Parzen-vs-epoch curve of a run: the full Table 1 procedure on saved epoch checkpoints.

For each checkpoint (epoch-NNNN.npz files, e.g. a run's checkpoints/ directory or an
archive of them), runs `npgan evaluate parzen --json` (10,000 samples of G, sigma chosen
on the first 1,000 validation images, all 10,000 test images) in a subprocess, keeps the
results in a JSON file (already evaluated checkpoints are skipped, so the script can be
re-run as a run goes on), and draws the curve with the rows of Table 1 and the real-data
reference as horizontal lines (npgan.plots.parzen_curve_figure: each reference in its own
colour in every plot, far-outlying first epochs left below the y axis and listed).

    python benchmarks/parzen_curve.py --data-dir ../shared/data/mnist \\
        --results benchmarks/results/paper-mnist-parzen.json \\
        --out benchmarks/figures/paper-mnist-parzen.png CHECKPOINT_DIR [CHECKPOINT_DIR ...]

--generator average evaluates the moving average of G where a run kept one (mnist-tuned);
the curve's label (--label) says which G it is, by default "averaged G" or "G as trained".
--compare LABEL=OTHER.json adds another results file's curve to the figure. Without
checkpoint directories the figure is redrawn from the JSON alone; the committed figures:

    python benchmarks/parzen_curve.py --results benchmarks/results/paper-mnist-parzen.json \\
        --out benchmarks/figures/paper-mnist-parzen.png
    python benchmarks/parzen_curve.py --generator average --title "mnist-tuned, seed 0" \\
        --label "mnist-tuned: averaged G (decay 0.99998)" \\
        --results benchmarks/results/mnist-tuned-parzen.json --out benchmarks/figures/mnist-tuned-parzen.png \\
        --compare "the same run: G as trained=benchmarks/results/mnist-tuned-trained-parzen.json" \\
        --compare "earlier run: averaged G (TensorFlow warm-up, decay 0.99995)=benchmarks/results/mnist-tuned-tf-warmup-parzen.json"
    python benchmarks/parzen_curve.py --generator average --title "earlier mnist-tuned run and paper-mnist, seed 0" \\
        --label "earlier mnist-tuned run: averaged G (TensorFlow warm-up, decay 0.99995)" \\
        --results benchmarks/results/mnist-tuned-tf-warmup-parzen.json \\
        --out benchmarks/figures/mnist-tuned-tf-warmup-parzen.png \\
        --compare "the same run: G as trained=benchmarks/results/mnist-tuned-tf-warmup-trained-parzen.json" \\
        --compare "paper-mnist run (NumPy kernels): G as trained=benchmarks/results/paper-mnist-parzen.json"
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
GENERATOR_LABELS = {"average": "averaged G", "trained": "G as trained"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="*",
                        help="directories holding epoch-NNNN.npz checkpoints (none: redraw from --results)")
    parser.add_argument("--data-dir", help="MNIST directory (default: $NPGAN_DATA_DIR)")
    parser.add_argument("--results", required=True, help="JSON file of the evaluations (read, then extended)")
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--every", type=int, default=1, help="evaluate only epochs divisible by this")
    parser.add_argument("--title", default="paper-mnist, seed 0")
    parser.add_argument("--generator", choices=("average", "trained"), default="trained",
                        help="which G of each checkpoint (npgan evaluate parzen --generator; default: trained)")
    parser.add_argument("--from-epoch", type=int, default=1, help="evaluate only epochs from this one on")
    parser.add_argument("--label", help="the curve's label, which G it is (default: \"averaged G\" with "
                        "--generator average, else \"G as trained\")")
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
    if not epochs:
        sys.exit(f"nothing to draw: {args.results} holds no evaluated epoch and no checkpoint was evaluated "
                 "(give directories of epoch-NNNN.npz checkpoints)")
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
                        label=args.label or GENERATOR_LABELS[args.generator], references=references, more=more)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
