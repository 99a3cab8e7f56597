"""Training-step speed of two source trees of npgan, interleaved in one run: did a change keep it?

For a refactor that must not slow the step (issue 16: the Numba path within 5%), time the
paper-mnist iteration of Trainer.train_iteration (benchmarks/train_step.py's build_trainer:
the paper's model on 1,000 fixed random images) of this tree and of a baseline tree, e.g. a
``git worktree add ../before <commit>``. Each measurement is a child process with the tree
first on sys.path and the BLAS threads pinned; children alternate between the trees, round
after round, so that the machine's load falls on both alike. Reported: the median
iterations/s per tree and backend, and the ratio this tree / baseline.

    python benchmarks/compare_trees.py --baseline ../before [--backends numba numpy]
           [--threads 1] [--rounds 7] [--iterations 20]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from benchlib import report_head, thread_environment, write_json

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = """
import json, sys, time
sys.path.insert(0, {tree!r})
sys.path.insert(0, {benchmarks!r})
from train_step import build_trainer
trainer = build_trainer({backend!r})
for _ in range(3):
    trainer.train_iteration()  # compile (numba), warm the caches
start = time.perf_counter()
for _ in range({iterations}):
    trainer.train_iteration()
import npgan
print(json.dumps({{"rate": {iterations} / (time.perf_counter() - start), "npgan": npgan.__file__}}))
"""


def measure(tree, backend, iterations, threads):
    code = CHILD.format(tree=tree, benchmarks=os.path.join(tree, "benchmarks"), backend=backend,
                        iterations=iterations)
    output = subprocess.run([sys.executable, "-c", code], env=thread_environment(threads), check=True,
                            capture_output=True, text=True).stdout
    result = json.loads(output)
    expected = os.path.join(os.path.realpath(tree), "npgan", "__init__.py")
    if os.path.realpath(result["npgan"]) != expected:
        raise RuntimeError(f"the child imported {result['npgan']}, not the tree {tree}")
    return result["rate"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the other source tree (a checkout of npgan)")
    parser.add_argument("--backends", nargs="+", default=["numba", "numpy"], choices=["numba", "numpy"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--json", default=os.path.join(HERE, "results", "compare_trees.json"))
    arguments = parser.parse_args(argv)
    trees = {"this tree": os.path.realpath(os.path.join(HERE, "..")),
             "baseline": os.path.realpath(arguments.baseline)}
    rates = {(name, backend): [] for name in trees for backend in arguments.backends}
    for round_index in range(arguments.rounds):
        order = list(trees) if round_index % 2 == 0 else list(reversed(trees))
        for backend in arguments.backends:
            for name in order:
                rates[name, backend].append(measure(trees[name], backend, arguments.iterations, arguments.threads))
        print(f"round {round_index + 1}/{arguments.rounds} done", file=sys.stderr, flush=True)
    report = {**report_head("compare_trees.py", argv), "trees": trees, "threads": arguments.threads,
              "iterations_per_measurement": arguments.iterations,
              "rates": {f"{name}/{backend}": values for (name, backend), values in rates.items()}}
    print(f"$ {report['command'].strip()}")
    print(f"{arguments.rounds} alternating rounds, {arguments.iterations} iterations each, "
          f"{arguments.threads} BLAS thread(s); medians of iterations/s")
    print("| backend | this tree | baseline | this / baseline |")
    print("| --- | --- | --- | --- |")
    for backend in arguments.backends:
        mine, theirs = (statistics.median(rates[name, backend]) for name in trees)
        report[f"ratio/{backend}"] = mine / theirs
        print(f"| {backend} | {mine:.2f} | {theirs:.2f} | {mine / theirs:.3f} |")
    write_json(report, arguments.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
