"""npgan's start-up on paper-mnist: the Numba kernels (the default path) compiled (cold), loaded
from their cache (warm), and the NumPy path, each in a fresh subprocess.

The Numba kernels are compiled with cache=True: the first process compiles them all (saying so in
one line on stderr) and writes the machine code next to the module, in npgan/kernels/__pycache__
(*.nbi index and *.nbc code files); a later process loads what it uses. Issues 7 and 21's target:
a warm start-up adds less than 2 s to what the first call has to do anyway.

Two commands, both on this repository's npgan (PYTHONPATH), each in a fresh process:

- phases: a short script that imports npgan (with NPGAN_KERNELS=numba this imports Numba and the
  kernel module), loads MNIST, builds the paper-mnist Trainer and runs --iterations iterations,
  timing each phase from inside. The first iteration of a Numba process compiles the kernels
  (cold) or loads them from the cache (warm); the later ones show what an iteration costs.
- npgan train: ``python -m npgan train --preset paper-mnist --iterations N --no-progress`` into a
  temporary run directory: everything the command does, the checkpoint and samples.png at the
  end included; wall clock only.

For each command: the cache is cleared (the *.nbi/*.nbc files of the kernel module in this
repository's npgan/kernels/__pycache__; NUMBA_CACHE_DIR is removed from the children's
environment so that they cache there), one Numba run (cold), then --repeats rounds of a Numba run
(warm) and a NumPy run, interleaved. One untimed run of each backend comes first, so that every
timed run finds the .pyc files written (PYTHONDONTWRITEBYTECODE is removed from the children's
environment: a user's Python caches bytecode) and MNIST in the OS's file cache. Tables give the cold run and the
medians of the warm and NumPy runs; "numba extra" is the Numba run's wall time minus the NumPy
run's. BLAS and Numba threads: --threads (default 1).

    python benchmarks/startup.py --data-dir /work/shared/data/mnist     # -> benchmarks/results/startup.json

MNIST: --data-dir, else $NPGAN_DATA_DIR (never a download during a measurement).
"""

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import add_mnist_argument, mnist_directory, report_head, thread_environment, write_json

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(HERE)
KERNEL_CACHE = os.path.join(REPOSITORY, "npgan", "kernels", "__pycache__")
NUMBA_CACHE_PATTERNS = ("*.nbi", "*.nbc")

PHASES = r"""
import json, sys, time
start = time.perf_counter()
import npgan.kernels
from npgan.data import load_dataset
from npgan.models import preset_config
from npgan.train import Trainer
imported = time.perf_counter()
dataset = load_dataset("mnist", sys.argv[1])
loaded = time.perf_counter()
trainer = Trainer(preset_config("paper-mnist", iterations=int(sys.argv[2])), dataset)
built = time.perf_counter()
iterations = []
for _ in range(int(sys.argv[2])):
    before = time.perf_counter()
    trainer.train_iteration()
    iterations.append(time.perf_counter() - before)
print(json.dumps({"npgan": npgan.__file__, "backend": npgan.kernels.get_backend(), "import": imported - start,
                  "data": loaded - imported, "build": built - loaded, "iterations": iterations}))
"""


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mnist_argument(parser)
    parser.add_argument("--iterations", type=int, default=3, help="iterations per process (default 3, at least 2)")
    parser.add_argument("--repeats", type=int, default=3, help="warm Numba and NumPy runs per command (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and Numba threads (default 1)")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "startup.json"))
    arguments = parser.parse_args(argv)
    arguments.data_dir = mnist_directory(parser, arguments)
    if arguments.iterations < 2:
        parser.error("--iterations must be at least 2: the first iteration is compared with a later one")
    return arguments


def kernel_cache_files():
    return sorted(path for pattern in NUMBA_CACHE_PATTERNS for path in glob.glob(os.path.join(KERNEL_CACHE, pattern)))


def clear_kernel_cache():
    """Remove Numba's cache files of this repository's kernels; returns how many there were."""
    files = kernel_cache_files()
    for path in files:
        os.remove(path)
    return len(files)


def child_environment(backend, threads):
    environment = thread_environment(threads, NPGAN_KERNELS=backend,
                                     PYTHONPATH=os.pathsep.join([REPOSITORY,
                                                                 *filter(None, [os.environ.get("PYTHONPATH")])]))
    environment.pop("NUMBA_CACHE_DIR", None)  # Numba then caches beside the module, where this script clears
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's Python: bytecode cached after the first run
    return environment


def run_once(command, backend, arguments):
    """One fresh process: (wall seconds, the phases it reported or None)."""
    workspace = tempfile.mkdtemp(prefix="npgan-startup-")  # also the working directory: nothing on it to import
    try:
        if command == "phases":
            words = [sys.executable, "-c", PHASES, arguments.data_dir, str(arguments.iterations)]
        else:
            words = [sys.executable, "-m", "npgan", "train", "--preset", "paper-mnist",
                     "--iterations", str(arguments.iterations), "--data-dir", arguments.data_dir,
                     "--out", os.path.join(workspace, "run"), "--no-progress"]
        start = time.perf_counter()
        finished = subprocess.run(words, cwd=workspace, env=child_environment(backend, arguments.threads),
                                  capture_output=True, text=True)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    if finished.returncode != 0:
        raise RuntimeError(f"{command} with NPGAN_KERNELS={backend} failed (exit {finished.returncode}):\n"
                           f"{finished.stderr[-3000:]}")
    if command != "phases":
        return wall, None
    phases = json.loads(finished.stdout.strip().splitlines()[-1])
    if not phases["npgan"].startswith(os.path.join(REPOSITORY, "npgan")) or phases["backend"] != backend:
        raise RuntimeError(f"the child ran npgan from {phases['npgan']} on {phases['backend']}, not this "
                           f"repository's on {backend}")
    return wall, phases


def main(argv=None):
    arguments = parse_arguments(argv)
    load_before = os.getloadavg()
    for backend in ("numpy", "numba"):  # untimed: .pyc files written, MNIST in the file cache
        run_once("phases", backend, arguments)
    runs = []
    for command in ("phases", "npgan train"):
        cleared = clear_kernel_cache()
        wall, phases = run_once(command, "numba", arguments)
        cached = len(kernel_cache_files())
        if cached == 0:
            raise RuntimeError(f"the Numba run wrote no cache files into {KERNEL_CACHE}: Numba caches elsewhere "
                               "here (an unwritable directory?), so cold and warm cannot be told apart")
        runs.append({"command": command, "backend": "numba", "cache": "cold", "wall_seconds": wall,
                     "phases": phases, "cache_files_cleared": cleared, "cache_files_after": cached})
        for _ in range(arguments.repeats):
            for backend, cache in (("numba", "warm"), ("numpy", None)):
                wall, phases = run_once(command, backend, arguments)
                runs.append({"command": command, "backend": backend, "cache": cache, "wall_seconds": wall,
                             "phases": phases})
    report = {**report_head("startup.py", argv),
              "iterations_per_process": arguments.iterations, "repeats": arguments.repeats,
              "threads": arguments.threads, "load_average_before": load_before,
              "load_average_after": os.getloadavg(), "kernel_cache": KERNEL_CACHE,
              "summary": summarise(runs), "runs": runs}
    print_table(report)
    write_json(report, arguments.json)
    return 0


def summarise(runs):
    """Per command and setting ("numba cold", "numba warm", "numpy"): median wall time and phases;
    then the derived figures."""
    summary = {}
    for command in ("phases", "npgan train"):
        settings = {}
        for label, backend, cache in (("numba cold", "numba", "cold"), ("numba warm", "numba", "warm"),
                                      ("numpy", "numpy", None)):
            chosen = [run for run in runs if run["command"] == command and run["backend"] == backend
                      and run["cache"] == cache]
            entry = {"runs": len(chosen), "wall_seconds": statistics.median(run["wall_seconds"] for run in chosen)}
            if command == "phases":
                for phase in ("import", "data", "build"):
                    entry[phase] = statistics.median(run["phases"][phase] for run in chosen)
                entry["first_iteration"] = statistics.median(run["phases"]["iterations"][0] for run in chosen)
                entry["later_iteration"] = statistics.median(statistics.median(run["phases"]["iterations"][1:])
                                                             for run in chosen)
                entry["outside_phases"] = statistics.median(
                    run["wall_seconds"] - sum(run["phases"][phase] for phase in ("import", "data", "build"))
                    - sum(run["phases"]["iterations"]) for run in chosen)
            settings[label] = entry
        settings["compile: numba cold minus warm"] = (settings["numba cold"]["wall_seconds"]
                                                      - settings["numba warm"]["wall_seconds"])
        settings["numba warm minus numpy"] = settings["numba warm"]["wall_seconds"] - settings["numpy"]["wall_seconds"]
        summary[command] = settings
    return summary


def print_table(report):
    summary = report["summary"]
    print(f"$ {report['command'].strip()}")
    print(f"{report['machine']['cpus']} CPUs, {report['threads']} BLAS/Numba thread(s);"
          f" {report['iterations_per_process']} paper-mnist iterations per process; numba cold once, numba warm and numpy {report['repeats']} times each"
          f" (medians); load average before {report['load_average_before'][0]:.2f}, after"
          f" {report['load_average_after'][0]:.2f}")
    phases = summary["phases"]
    print("\nphases (seconds; wall = the whole process; outside = wall minus the phases and iterations timed"
          " inside: python's own start-up and exit)")
    print("| NPGAN_KERNELS | kernel cache | wall | import npgan | load MNIST | build Trainer | first iteration |"
          " later iteration | outside |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label in ("numba cold", "numba warm", "numpy"):
        entry = phases[label]
        backend, _, cache = label.partition(" ")
        print(f"| {backend} | {cache or '-'} | {entry['wall_seconds']:.2f} | {entry['import']:.2f} | "
              f"{entry['data']:.2f} | {entry['build']:.2f} | {entry['first_iteration']:.2f} | "
              f"{entry['later_iteration']:.2f} | {entry['outside_phases']:.2f} |")
    train = summary["npgan train"]
    print(f"\nnpgan train --preset paper-mnist --iterations {report['iterations_per_process']} (wall seconds, the "
          "whole command: checkpoint and samples.png included)")
    print("| NPGAN_KERNELS | kernel cache | wall |")
    print("| --- | --- | --- |")
    for label in ("numba cold", "numba warm", "numpy"):
        backend, _, cache = label.partition(" ")
        print(f"| {backend} | {cache or '-'} | {train[label]['wall_seconds']:.2f} |")
    warm, numpy_path = phases["numba warm"], phases["numpy"]
    print("\n| | phases | npgan train |")
    print("| --- | --- | --- |")
    for key in ("compile: numba cold minus warm", "numba warm minus numpy"):
        print(f"| {key} | {phases[key]:+.2f} s | {train[key]:+.2f} s |")
    print(f"\nwarm Numba start-up over the NumPy path, by phase: import {warm['import'] - numpy_path['import']:+.2f} s,"
          f" first iteration {warm['first_iteration'] - numpy_path['first_iteration']:+.2f} s, outside the phases"
          f" {warm['outside_phases'] - numpy_path['outside_phases']:+.2f} s; the warm first"
          f" iteration is {warm['first_iteration'] - warm['later_iteration']:+.2f} s over a later one (loading the"
          f" cached kernels). Issue 21's target: a warm start-up under 2 s over the work itself.")


if __name__ == "__main__":
    sys.exit(main())
