"""Mode coverage over seeds, in the form of the VEEGAN table (docs/paper.md).

For each preset and seed this runs the real commands

    python -m npgan train --preset P --seed S --out RUNS/P-S --no-progress
    python -m npgan evaluate modes --checkpoint RUNS/P-S/checkpoint.npz --json

and prints a Markdown table of the mean (and std) over seeds beside VEEGAN's rows.
Runs already trained in RUNS are evaluated again, not retrained.

    python benchmarks/mode_coverage.py --presets ring8 grid25 --seeds 0 1 2 3 4 --runs runs/coverage
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from npgan.evaluate.modes import VEEGAN_ROWS  # noqa: E402  (Srivastava et al. 2017, 2,500 samples, 5 runs)


def run(command):
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr}")
    return completed.stdout


def coverage(preset, seed, runs_dir, extra):
    out = os.path.join(runs_dir, f"{preset}-{seed}")
    checkpoint = os.path.join(out, "checkpoint.npz")
    started = time.perf_counter()
    if not os.path.exists(checkpoint):
        run([sys.executable, "-m", "npgan", "train", "--preset", preset, "--seed", str(seed), "--out", out, "--no-progress", *extra])
    seconds = time.perf_counter() - started
    result = json.loads(run([sys.executable, "-m", "npgan", "evaluate", "modes", "--checkpoint", checkpoint, "--json"]))
    return result["modes_captured"], result["high_quality_percent"], seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["ring8", "grid25"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--runs", default="runs/coverage")
    parser.add_argument("extra", nargs="*", help="options passed on to npgan train (after --)")
    args = parser.parse_args()
    table = {}
    for preset in args.presets:
        rows = [coverage(preset, seed, args.runs, args.extra) for seed in args.seeds]
        for seed, (modes, hq, seconds) in zip(args.seeds, rows):
            print(f"{preset} seed {seed}: {modes} modes, {hq:.1f}% high quality ({seconds:.0f} s)", flush=True)
        modes, hq, _ = np.array(rows).T
        table[preset] = (modes.mean(), modes.std(), hq.mean(), hq.std())

    print(f"\nnpgan command: {' '.join(sys.argv)}\n")
    print("| model | ring8 modes | ring8 % high quality | grid25 modes | grid25 % high quality |")
    print("| --- | --- | --- | --- | --- |")
    for (name, ring_modes, ring_hq), (_, grid_modes, grid_hq) in zip(VEEGAN_ROWS["ring8"], VEEGAN_ROWS["grid25"]):
        print(f"| {name} (VEEGAN table) | {ring_modes} | {ring_hq} | {grid_modes} | {grid_hq} |")
    cells = []
    for preset in ("ring8", "grid25"):
        if preset in table:
            modes_mean, modes_std, hq_mean, hq_std = table[preset]
            cells += [f"{modes_mean:.1f} ± {modes_std:.1f}", f"{hq_mean:.1f} ± {hq_std:.1f}"]
        else:
            cells += ["", ""]
    print(f"| npgan, Algorithm 1 ({len(args.seeds)} seeds) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
