"""G's parameter average (npgan.optim.ParameterAverage.update) on both paths, in one process.

    python benchmarks/parameter_average.py [--rounds 15] [--updates 20] [--json results/X.json]

mnist-tuned and mnist-fast average paper-mnist's G (2.48 million float32 parameters) after
every step. The NumPy path makes three passes through a scratch array (p - a, times the share,
added to a); the Numba path one compiled pass (npgan.kernels.compiled.average_update), the
same float32 arithmetic in the same order, so both give the same bits (tests/test_kernels.py).
Rounds alternate the two paths; the report gives each path's median milliseconds an update and
the ratio of the medians (a ratio in one process, so a busy machine slows both alike).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchlib import report_head, write_json  # noqa: E402

import npgan.kernels  # noqa: E402
from npgan.models import build_gan, preset_config  # noqa: E402
from npgan.optim import ParameterAverage  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds, each timing both paths (default: 15)")
    parser.add_argument("--updates", type=int, default=20, help="updates timed per path and round (default: 20)")
    parser.add_argument("--json", help="also write the report to this file")
    arguments = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    gan = build_gan(preset_config("paper-mnist"), 784, rng=rng, dropout_rng=rng)
    params = gan.params_of("G")
    size = sum(value.size for value in params.values())
    averages = {path: {name: np.empty_like(value) for name, value in params.items()} for path in npgan.kernels.BACKENDS}
    updaters = {}
    for path in npgan.kernels.BACKENDS:
        with npgan.kernels.use_backend(path):
            updaters[path] = ParameterAverage(params, averages[path], decay=0.99998)
            updaters[path].update()  # compiles (or loads) the kernel; makes the NumPy path's scratch
    milliseconds = {path: [] for path in npgan.kernels.BACKENDS}
    for _ in range(arguments.rounds):
        for path in npgan.kernels.BACKENDS:
            with npgan.kernels.use_backend(path):
                started = time.perf_counter()
                for _ in range(arguments.updates):
                    updaters[path].update()
                milliseconds[path].append(1000 * (time.perf_counter() - started) / arguments.updates)
    for name in params:
        np.testing.assert_array_equal(averages["numba"][name], averages["numpy"][name])
    medians = {path: statistics.median(values) for path, values in milliseconds.items()}
    report = {**report_head("parameter_average.py", argv), "parameters": size, "dtype": "float32",
              "median_ms_per_update": medians, "numpy_over_numba": medians["numpy"] / medians["numba"],
              "milliseconds": milliseconds}
    print(f"{report['command']}\nG of paper-mnist, {size:,} float32 parameters, {arguments.rounds} rounds of "
          f"{arguments.updates} updates per path (medians; bit-identical averages checked):")
    for path in npgan.kernels.BACKENDS:
        print(f"  {path:>5}: {medians[path]:.2f} ms an update")
    print(f"  numpy / numba: {report['numpy_over_numba']:.2f}x")
    if arguments.json:
        write_json(report, arguments.json)


if __name__ == "__main__":
    main()
