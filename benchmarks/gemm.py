"""The hand-written blocked, prange-parallel Numba GEMM (npgan/kernels/gemm.py) against BLAS:
np.dot from NumPy, and np.dot inside a Numba kernel (what npgan's kernels use), on the
float32 products of a paper-mnist forward pass. The middle column needs SciPy (Numba's
np.dot calls SciPy's BLAS); without it that column is nan. Interleaved rounds in one process per
thread count (BLAS and Numba threads both set), medians; GFLOP/s per product.

    python benchmarks/gemm.py [--threads 1 2] [--rounds 7]     # -> benchmarks/results/gemm.json
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchlib import thread_environment, write_json

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

# (rows, inner, columns): G's three layers on 100 rows, D's maxout layers on 200
SHAPES = [(100, 100, 1200), (100, 1200, 1200), (100, 1200, 784), (200, 784, 1200), (200, 240, 1200)]


def run_child(rounds):
    import numpy as np

    from npgan.kernels.gemm import blas_matmul, blocked_matmul
    rng = np.random.default_rng(0)
    load_before = os.getloadavg()
    variants = {"numpy np.dot": np.dot, "np.dot in numba": blas_matmul, "blocked prange numba": blocked_matmul}
    try:
        blas_matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))
    except Exception:  # Numba's np.dot needs SciPy (its BLAS bindings): not installed
        variants.pop("np.dot in numba")
    results = {}
    for rows, inner, columns in SHAPES:
        a = rng.standard_normal((rows, inner), dtype=np.float32)
        b = rng.standard_normal((inner, columns), dtype=np.float32)
        reference = a.astype(np.float64) @ b
        bound = 2 * inner * np.finfo(np.float32).eps * (np.abs(a).astype(np.float64) @ np.abs(b))
        for function in variants.values():
            assert np.all(np.abs(function(a, b) - reference) <= bound)  # correct, and warm
        seconds = {name: [] for name in variants}
        names = list(variants)
        for round_index in range(rounds):
            for name in names[round_index % len(names):] + names[:round_index % len(names)]:
                start = time.perf_counter()
                for _ in range(5):
                    variants[name](a, b)
                seconds[name].append((time.perf_counter() - start) / 5)
        flop = 2 * rows * inner * columns
        results[f"{rows}x{inner} @ {inner}x{columns}"] = {
            name: flop / statistics.median(values) / 1e9 for name, values in seconds.items()}
    return {"load_average_before": load_before, "load_average_after": os.getloadavg(), "gflops": results}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", default=os.path.join(HERE, "results", "gemm.json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        json.dump(run_child(arguments.rounds), sys.stdout)
        return 0
    report = {"command": "python benchmarks/gemm.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "cpus": os.cpu_count(), "rounds": arguments.rounds, "results": []}
    print(f"$ {report['command'].strip()}")
    for threads in arguments.threads:
        output = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--rounds",
                                 str(arguments.rounds)], env=thread_environment(threads), check=True,
                                capture_output=True, text=True).stdout
        result = {"threads": threads, **json.loads(output)}
        report["results"].append(result)
        print(f"\n{threads} thread(s); load average {result['load_average_before'][0]:.2f} before, "
              f"{result['load_average_after'][0]:.2f} after; GFLOP/s, median of {arguments.rounds} rounds")
        print("| product (float32) | numpy np.dot | np.dot in numba | blocked prange numba | blocked / np.dot |")
        print("| --- | --- | --- | --- | --- |")
        for shape, rates in result["gflops"].items():
            print(f"| {shape} | {rates['numpy np.dot']:.1f} | {rates.get('np.dot in numba', float('nan')):.1f} | "
                  f"{rates['blocked prange numba']:.1f} | {rates['blocked prange numba'] / rates['numpy np.dot']:.2f}x |")
    write_json(report, arguments.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
