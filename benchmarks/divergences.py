"""Mode covering against mode seeking: G fitted to bimodal1d under each f-divergence, over seeds.

For each seed and each divergence, the bimodal1d preset (modes at -2 and +2, std 0.5) is
trained with npgan.experiments.f_divergences.divergence_runs (the runs behind `npgan figure
divergences`), and the fraction of 5,000 samples of G within 3 std of each mode is measured. A run
"covers both" when each mode holds at least 20% of the samples, "seeks one" when one
mode holds at least 80% and the other under 5%.

    python benchmarks/divergences.py --seeds 0 1 2 --json benchmarks/results/divergences.json
    python benchmarks/divergences.py --set generator_init_scale=1.0 ...   # a change for every divergence
    python benchmarks/divergences.py --set 'generator_hidden=[]' ...      # G linear: one Gaussian
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from benchlib import write_json

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from npgan.divergences import DIVERGENCE_NAMES  # noqa: E402
from npgan.experiments.f_divergences import divergence_runs, mode_masses  # noqa: E402


def verdict(masses):
    if masses is None:
        return "diverged"
    low, high = sorted(masses)
    if low >= 0.2:
        return "covers both"
    if high >= 0.8 and low < 0.05:
        return "seeks one"
    return "other"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a bimodal1d setting changed for every divergence (a JSON value: 1.0, [])")
    args = parser.parse_args()
    changes = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    started = time.perf_counter()
    results = {name: {} for name in DIVERGENCE_NAMES}
    for seed in args.seeds:
        for name, samples in divergence_runs(seed=seed, overrides={n: changes for n in DIVERGENCE_NAMES}).items():
            masses = None if samples is None else [round(float(m), 4) for m in mode_masses(samples)]
            spread = None if samples is None else round(float(np.std(samples)), 3)
            results[name][str(seed)] = {"masses": masses, "verdict": verdict(masses), "std": spread}
            print(f"seed {seed} {name:>10}: {verdict(masses):>11}  {masses}  std {spread}", flush=True)
    print(f"\ncommand: python benchmarks/divergences.py --seeds {' '.join(map(str, args.seeds))}"
          + "".join(f" --set {item}" for item in args.set) +
          f"  ({time.perf_counter() - started:.0f} s)")
    print("| divergence | " + " | ".join(f"seed {s}" for s in args.seeds) + " |")
    print("| --- |" + " --- |" * len(args.seeds))
    for name, by_seed in results.items():
        cells = []
        for seed in args.seeds:
            entry = by_seed[str(seed)]
            cells.append(entry["verdict"] if entry["masses"] is None else
                         f"{entry['verdict']} ({entry['masses'][0]:.2f} / {entry['masses'][1]:.2f})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        write_json({"changes": changes, **results}, args.json)


if __name__ == "__main__":
    main()
