"""Peak resident memory of ``npgan train --preset paper-mnist`` (issue 7: below 400 MB; issue 21:
below 400 MB over a whole 250-epoch run on the default path, the Numba kernels, aiming at 350).

One command, in a fresh subprocess per checkout measured:

    python -m npgan train --preset paper-mnist --epochs E --out DIR --data-dir D --no-progress

into a temporary run directory (removed afterwards), with NPGAN_KERNELS=numpy (--kernels numba
for npgan's default path) and one BLAS thread unless told otherwise. Two figures per run:

- peak RSS: the child's ru_maxrss, the largest resident set it reached, from os.wait4 when it
  exits (the resource usage of that one child, as getrusage(RUSAGE_CHILDREN) would give it were
  it the only child);
- peak_rss_mb per epoch: what the run itself wrote into metrics.jsonl (its own getrusage at each
  log line, one per epoch for MNIST). The record of epoch e is written after epoch e's quick
  Parzen estimate but before its checkpoint, samples.png and parzen.png, so those show in the
  record of epoch e + 1 and in the getrusage figure, not in the last record.

Both in MiB (ru_maxrss is in KiB on Linux), as npgan's own peak_rss_mb.

The child imports npgan from --repository (default: this script's repository), put first on
its PYTHONPATH; --baseline DIR runs the same command on another checkout first, for a before
and after in one table (e.g. the main branch).

    python benchmarks/memory.py --data-dir ../shared/data/mnist                    # -> benchmarks/results/memory.json
    python benchmarks/memory.py --data-dir ../shared/data/mnist --baseline ../other-checkout --epochs 2
    python benchmarks/memory.py --data-dir ../shared/data/mnist --kernels numba --epochs 15 --baseline ../before \
        --json benchmarks/results/memory-issue21-numba.json                     # issue 21's plateau

MNIST: --data-dir, else $NPGAN_DATA_DIR (never a download during a measurement).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import add_mnist_argument, mnist_directory, report_head, thread_environment, write_json

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(HERE)
TARGET_MB = 400  # issues 7 and 21


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mnist_argument(parser)
    parser.add_argument("--epochs", type=int, default=2, help="epochs of paper-mnist to train (default 2)")
    parser.add_argument("--repository", default=REPOSITORY,
                        help="the checkout whose npgan is measured (default: this one)")
    parser.add_argument("--baseline", help="another checkout, measured first with the same command")
    parser.add_argument("--kernels", default="numpy", choices=("numpy", "numba"),
                        help="NPGAN_KERNELS of the child (default numpy)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads of the child (default 1)")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "memory.json"))
    arguments = parser.parse_args(argv)
    arguments.data_dir = mnist_directory(parser, arguments)
    if arguments.epochs < 1:
        parser.error("--epochs must be at least 1")
    for checkout in filter(None, (arguments.repository, arguments.baseline)):
        if not os.path.isfile(os.path.join(checkout, "npgan", "__init__.py")):
            parser.error(f"{checkout} is not an npgan checkout (no npgan/__init__.py in it)")
    return arguments


def child_environment(checkout, arguments):
    return thread_environment(arguments.threads, NPGAN_KERNELS=arguments.kernels,
                              PYTHONPATH=os.pathsep.join([os.path.abspath(checkout),
                                                          *filter(None, [os.environ.get("PYTHONPATH")])]))


def git_revision(checkout):
    """The checkout's commit, with "+changes" when its tracked files differ from it."""
    def git(*words):
        return subprocess.run(["git", "-C", checkout, *words], capture_output=True, text=True).stdout.strip()
    revision = git("rev-parse", "--short", "HEAD") or "unknown"
    return revision + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def measure(checkout, arguments):
    """One training run of ``checkout``'s npgan in a fresh process: its peak RSS and per-epoch records."""
    environment = child_environment(checkout, arguments)
    workspace = tempfile.mkdtemp(prefix="npgan-memory-")  # also the working directory: nothing on it to import
    try:
        imported = subprocess.run([sys.executable, "-c", "import npgan; print(npgan.__file__)"], cwd=workspace,
                                  env=environment, capture_output=True, text=True, check=True).stdout.strip()
        if not imported.startswith(os.path.join(os.path.abspath(checkout), "npgan")):
            raise RuntimeError(f"the child imports npgan from {imported}, not from {checkout}")
        run_dir = os.path.join(workspace, "run")
        words = ["npgan", "train", "--preset", "paper-mnist", "--epochs", str(arguments.epochs), "--out", run_dir,
                 "--data-dir", arguments.data_dir, "--no-progress"]
        errors_path = os.path.join(workspace, "stderr.txt")
        start = time.perf_counter()
        with open(errors_path, "w") as errors:
            child = subprocess.Popen([sys.executable, "-m", *words], cwd=workspace, env=environment,
                                     stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if child.returncode != 0:
            with open(errors_path) as errors:
                raise RuntimeError(f"npgan train on {checkout} failed (exit {child.returncode}):\n"
                                   f"{errors.read()[-3000:]}")
        with open(os.path.join(run_dir, "metrics.jsonl")) as handle:
            records = [json.loads(line) for line in handle if line.strip()]
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return {"checkout": os.path.abspath(checkout), "revision": git_revision(checkout), "npgan": imported,
            "command": " ".join(words), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "wall_seconds": round(wall, 1),
            "epochs": [{"epoch": record["epoch"], "peak_rss_mb": record["peak_rss_mb"],
                        "parzen_validation": record["parzen_validation"]} for record in records]}


def main(argv=None):
    if not sys.platform.startswith("linux"):
        sys.exit("benchmarks/memory.py reads ru_maxrss in KiB, as Linux reports it; run it on Linux")
    arguments = parse_arguments(argv)
    load_before = os.getloadavg()
    runs = [measure(checkout, arguments) for checkout in filter(None, (arguments.baseline, arguments.repository))]
    report = {**report_head("memory.py", argv),
              "kernels": arguments.kernels, "threads": arguments.threads, "epochs": arguments.epochs,
              "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "target_mb": TARGET_MB, "runs": runs}
    print_table(report)
    write_json(report, arguments.json)
    return 0


def print_table(report):
    print(f"$ {report['command'].strip()}")
    print(f"{report['machine']['cpus']} CPUs, NPGAN_KERNELS={report['kernels']}, {report['threads']} BLAS thread(s);"
          f" load average before {report['load_average_before'][0]:.2f}, after {report['load_average_after'][0]:.2f}")
    for run in report["runs"]:
        print(f"{run['checkout']} ({run['revision']}): python -m {run['command']}")
    epochs = [record["epoch"] for record in report["runs"][0]["epochs"]]
    print("\npeak RSS in MiB (getrusage of the whole run; peak_rss_mb of metrics.jsonl at each epoch's log line)")
    print("| checkout | revision | peak RSS | " + " | ".join(f"epoch {epoch:g}" for epoch in epochs) + " | wall |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in epochs) + " | --- |")
    for run in report["runs"]:
        print(f"| {run['checkout']} | {run['revision']} | {run['peak_rss_mb']:.1f} | "
              + " | ".join(f"{record['peak_rss_mb']:.1f}" for record in run["epochs"])
              + f" | {run['wall_seconds']:.0f} s |")
    print(f"\nThe target of issues 7 and 21: a peak below {report['target_mb']} MB.")


if __name__ == "__main__":
    sys.exit(main())
