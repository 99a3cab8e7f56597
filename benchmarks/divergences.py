"""Every f-divergence on the 1-D toys from `npgan train`'s defaults, over seeds: gauss1d's fit and bimodal1d's modes.

For each preset, seed and divergence, the run `npgan train --preset PRESET --divergence NAME
--seed SEED` trains (the preset, then npgan.models.DIVERGENCE_SETTINGS, through
npgan.experiments.f_divergences.divergence_run: the runs behind `npgan figure divergences`) is
trained in full and 5,000 samples of G are measured:

- gauss1d (N(4, 0.5^2)): G's sample mean and std; the run "fits" when both are within 0.1 of
  the data's.
- bimodal1d (modes at -2 and +2, std 0.5): the fraction of samples within 3 std of each mode; the
  run "covers both" when each mode holds at least 20%, "seeks one" when one mode holds at least
  80% and the other under 5%.

A run that diverged (npgan.train.TrainingDiverged) says so.

    python benchmarks/divergences.py --seeds 0 1 2 3 4 5 --workers 2 --json benchmarks/results/divergences.json
    python benchmarks/divergences.py --presets bimodal1d --set generator_init_scale=1.0  # one change for all
    python benchmarks/divergences.py --presets bimodal1d --set 'generator_hidden=[]'     # G linear: one Gaussian
"""

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy: the runs' matrices are tiny

import numpy as np  # noqa: E402

from benchlib import report_head, write_json  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from npgan.divergences import DIVERGENCE_NAMES  # noqa: E402
from npgan.experiments.f_divergences import divergence_run, mode_masses  # noqa: E402

PRESETS = ("gauss1d", "bimodal1d")
GAUSS1D_MEAN, GAUSS1D_STD = 4.0, 0.5


def verdict(preset, entry):
    if entry is None:
        return "diverged"
    if preset == "gauss1d":
        fits = abs(entry["mean"] - GAUSS1D_MEAN) <= 0.1 and abs(entry["std"] - GAUSS1D_STD) <= 0.1
        return "fits" if fits else "off"
    low, high = sorted(entry["masses"])
    if low >= 0.2:
        return "covers both"
    if high >= 0.8 and low < 0.05:
        return "seeks one"
    return "other"


def measure(job):
    """One run: (preset, name, seed, changes) -> its measurements, or None if it diverged."""
    preset, name, seed, changes = job
    started = time.perf_counter()
    samples = divergence_run(name, seed=seed, preset=preset, overrides={name: changes})
    if samples is None:
        return None
    entry = {"mean": round(float(np.mean(samples)), 3), "std": round(float(np.std(samples)), 3),
             "seconds": round(time.perf_counter() - started, 1)}
    if preset == "bimodal1d":
        entry["masses"] = [round(float(mass), 4) for mass in mode_masses(samples)]
    return entry


def cell(preset, entry):
    if entry is None:
        return "diverged"
    if preset == "gauss1d":
        return f"{verdict(preset, entry)} ({entry['mean']:.2f} / {entry['std']:.2f})"
    return f"{verdict(preset, entry)} ({entry['masses'][0]:.2f} / {entry['masses'][1]:.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", choices=PRESETS, default=list(PRESETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--divergences", nargs="+", choices=DIVERGENCE_NAMES, default=list(DIVERGENCE_NAMES))
    parser.add_argument("--workers", type=int, default=1, help="runs at a time, one process each (default 1)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting changed for every divergence (a JSON value: 1.0, [])")
    args = parser.parse_args()
    changes = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    started = time.perf_counter()
    jobs = [(preset, name, seed, changes) for preset in args.presets for name in args.divergences
            for seed in args.seeds]
    results = {preset: {name: {} for name in args.divergences} for preset in args.presets}
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        for (preset, name, seed, _), entry in zip(jobs, pool.map(measure, jobs)):
            results[preset][name][str(seed)] = entry
            print(f"{preset} seed {seed} {name:>10}: {cell(preset, entry)}", flush=True)
    seconds = time.perf_counter() - started
    print(f"\ncommand: {report_head('divergences.py')['command']}  ({seconds:.0f} s)")
    for preset in args.presets:
        what = "G's mean / std (data: 4 / 0.5)" if preset == "gauss1d" else "mass at -2 / +2"
        print(f"\n{preset}: {what}\n")
        print("| divergence | " + " | ".join(f"seed {s}" for s in args.seeds) + " |")
        print("| --- |" + " --- |" * len(args.seeds))
        for name, by_seed in results[preset].items():
            print(f"| {name} | " + " | ".join(cell(preset, by_seed[str(seed)]) for seed in args.seeds) + " |")
    if args.json:
        write_json({**report_head("divergences.py"), "seconds": round(seconds), "changes": changes, **results},
                   args.json)


if __name__ == "__main__":
    main()
