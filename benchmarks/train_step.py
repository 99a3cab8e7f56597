"""paper-mnist training throughput: npgan's numba kernels, its NumPy path, and the matrix
products alone (the bound), interleaved in one process.

One iteration is what Trainer.train_iteration does for paper-mnist (the simultaneous
order): G forward on 100 noise vectors, D forward on [x; G(z)] (200 rows, dropout 0.8,
maxout 240x5, dropout 0.5, maxout 240x5, dropout 0.5, linear), D backward twice (for G's
gradient, then D's), G backward, the finiteness checks, two momentum steps.

- numba / numpy: Trainer.train_iteration with npgan.kernels on that backend (two trainers
  built alike from the same seed; the data are 1,000 fixed random images, since the
  speed does not depend on the pixels).
- matmul bound: the same matrix products, of the same shapes, in float32 with np.dot and
  nothing else: what an iteration would cost if everything around the products were free.
- matmul, needed only: the bound without the products whose results npgan throws away
  (D's parameter gradients from the backward pass that serves G's step, which are zeroed
  right after; the gradients with respect to the data and to z): the ceiling of an
  npgan that skipped them.
- PyTorch eager: only if torch is importable (it is never a dependency of npgan); skipped
  otherwise.

The variants are timed in rounds, in rotating order, each round timing --iterations
iterations of each; the table gives the median iterations/s over --rounds rounds and the
ratios of medians. Ratios are what to compare across machines or runs: the absolute numbers
move with the machine's load, printed before and after (os.getloadavg).

BLAS threads are fixed per process (OpenBLAS reads OPENBLAS_NUM_THREADS when it loads), so
each thread count runs in a child process of its own:

    python benchmarks/train_step.py                       # 1 and 2 threads, table + JSON
    python benchmarks/train_step.py --threads 1 --rounds 5
    python benchmarks/train_step.py --kernels             # also per-kernel timings

JSON: benchmarks/results/train_step.json (--json to change).
"""

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="BLAS thread counts (default 1 2)")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--iterations", type=int, default=5, help="iterations per variant per round (default 5)")
    parser.add_argument("--kernels", action="store_true", help="also time each kernel, numba against numpy")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "train_step.json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- the workload ----------------------------------------------------------------------------------

class FixedImages:
    """1,000 random 784-pixel images in [0, 1): a stand-in for MNIST with its shape."""

    dim = 784

    def __init__(self, rng):
        import numpy as np
        self.images = rng.random((1000, self.dim), dtype=np.float32)

    def sample(self, m, rng):
        return self.images[rng.integers(0, len(self.images), size=m)]


def build_trainer(backend):
    """A paper-mnist Trainer on FixedImages (generator_output_bias zeros: no MNIST needed)."""
    import numpy as np

    import npgan.kernels
    from npgan.models import PRESETS
    from npgan.train import Trainer
    npgan.kernels.set_backend(backend)
    config = {**PRESETS["paper-mnist"], "dataset": "ring8", "generator_output_bias": "zeros",
              "preset": "paper-mnist", "seed": 0}
    trainer = Trainer(config, FixedImages(np.random.default_rng(0)))
    return trainer


def matmul_plan(trainer):
    """The float32 operands of the products of one simultaneous iteration, transposed views
    where npgan's backward uses them (x^T, W^T), and their FLOP count."""
    import numpy as np
    m = trainer.config["batch_size"]
    g_widths = [trainer.config["noise_dim"], *trainer.config["generator_hidden"], 784]
    pieces = trainer.config["discriminator_pieces"]
    d_in = [784, *trainer.config["discriminator_hidden"]]
    d_out = [h * pieces for h in trainer.config["discriminator_hidden"]] + [1]
    # (rows, inner, columns, a is a transposed view, b is a transposed view, needed):
    # "needed" is False for the products whose result npgan computes and then throws away
    plan = []
    for fan_in, fan_out in zip(g_widths[:-1], g_widths[1:]):           # G forward: x W
        plan.append((m, fan_in, fan_out, False, False, True))
    for fan_in, fan_out in zip(d_in, d_out):                           # D forward on [x; G(z)]
        plan.append((2 * m, fan_in, fan_out, False, False, True))
    for d_pass in ("for G", "for D"):                                   # D backward, twice
        for layer, (fan_in, fan_out) in enumerate(zip(d_in, d_out)):
            # dW = x^T dz: D's gradients of the pass for G are zeroed right after
            plan.append((fan_in, 2 * m, fan_out, True, False, d_pass == "for D"))
            # dx = dz W^T: the data's gradient (layer 0 of the pass for D) is never used
            plan.append((2 * m, fan_out, fan_in, False, True, layer > 0 or d_pass == "for G"))
    for layer, (fan_in, fan_out) in enumerate(zip(g_widths[:-1], g_widths[1:])):  # G backward
        plan.append((fan_in, m, fan_out, True, False, True))
        plan.append((m, fan_out, fan_in, False, True, layer > 0))       # dL/dz is never used
    rng = np.random.default_rng(0)
    operands = []
    for rows, inner, columns, a_transposed, b_transposed, needed in plan:
        a = rng.standard_normal((inner, rows), dtype=np.float32).T if a_transposed else \
            rng.standard_normal((rows, inner), dtype=np.float32)
        b = rng.standard_normal((columns, inner), dtype=np.float32).T if b_transposed else \
            rng.standard_normal((inner, columns), dtype=np.float32)
        operands.append((a, b, needed))
    flops = sum(2 * rows * inner * columns for rows, inner, columns, *_ in plan)
    needed_flops = sum(2 * rows * inner * columns for rows, inner, columns, *_, needed in plan if needed)
    return operands, flops, needed_flops


def matmul_iteration(operands, needed_only=False):
    import numpy as np
    for a, b, needed in operands:
        if needed or not needed_only:
            np.dot(a, b)


def time_block(function, iterations):
    start = time.perf_counter()
    for _ in range(iterations):
        function()
    return iterations / (time.perf_counter() - start)


def run_child(arguments):
    """Time the variants in this process (its BLAS thread count set by the parent)."""
    import numpy as np

    import npgan.kernels
    load_before = os.getloadavg()
    compile_start = time.perf_counter()
    numba_trainer = build_trainer("numba")
    numba_trainer.train_iteration()  # compiles, or loads the cache
    first_numba_iteration = time.perf_counter() - compile_start
    numpy_trainer = build_trainer("numpy")
    operands, flops, needed_flops = matmul_plan(numpy_trainer)

    def numba_step():
        npgan.kernels.set_backend("numba")
        numba_trainer.train_iteration()

    def numpy_step():
        npgan.kernels.set_backend("numpy")
        numpy_trainer.train_iteration()

    variants = {"npgan numba": numba_step, "npgan numpy": numpy_step,
                "matmul bound": lambda: matmul_iteration(operands),
                "matmul, needed only": lambda: matmul_iteration(operands, needed_only=True)}
    for function in variants.values():
        function()  # warm
    rates = {name: [] for name in variants}
    names = list(variants)
    for round_index in range(arguments.rounds):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            rates[name].append(time_block(variants[name], arguments.iterations))
    result = {
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "gflop_per_iteration": flops / 1e9,
        "needed_gflop_per_iteration": needed_flops / 1e9,
        "first_numba_iteration_seconds": first_numba_iteration,
        "iterations_per_second": rates,
        "median_iterations_per_second": {name: statistics.median(values) for name, values in rates.items()},
        "numpy_version": np.__version__,
        "torch_importable": importlib.util.find_spec("torch") is not None,
    }
    if arguments.kernels:
        result["kernels"] = kernel_timings(arguments.rounds)
    return result


def kernel_timings(rounds):
    """Each kernel at its paper-mnist shape, numpy against numba, interleaved; milliseconds."""
    import numpy as np

    from npgan.kernels import compiled, reference
    rng = np.random.default_rng(0)
    f32 = np.float32
    x = rng.random((200, 784), dtype=f32)
    W = rng.standard_normal((784, 1200), dtype=f32) * f32(0.005)
    b = np.zeros(1200, f32)
    y, winners = reference.affine_maxout(x, W, b, 5)
    g = rng.standard_normal((200, 240), dtype=f32)
    gh = rng.standard_normal((100, 1200), dtype=f32)
    xh = rng.random((100, 1200), dtype=f32)
    Wh = rng.standard_normal((1200, 1200), dtype=f32) * f32(0.05)
    bh = np.zeros(1200, f32)
    yh = reference.affine_relu(xh, Wh, bh)
    uniform = rng.random((200, 784))
    velocity = np.zeros_like(Wh)
    cases = {
        "affine_maxout 200x784 @ 784x1200, 5 pieces": lambda k: k.affine_maxout(x, W, b, 5),
        "maxout_backward (same)": lambda k: k.maxout_backward(x, W, winners, g, np.zeros_like(W),
                                                              np.zeros_like(b), 5),
        "affine_relu 100x1200 @ 1200x1200": lambda k: k.affine_relu(xh, Wh, bh),
        "affine_relu_backward (same)": lambda k: k.affine_relu_backward(xh, Wh, yh, gh, np.zeros_like(Wh),
                                                                        np.zeros_like(bh)),
        "dropout 200x784 (mask from given uniforms)": lambda k: k.dropout(x, uniform, 0.8),
        "momentum_update 1200x1200": lambda k: k.momentum_update(Wh, velocity, Wh, f32(1e-9), f32(0.5)),
    }
    timings = {}
    for name, case in cases.items():
        for kernels in (reference, compiled):
            case(kernels)
        samples = {"numpy": [], "numba": []}
        for round_index in range(rounds):
            for label, kernels in ((("numpy", reference), ("numba", compiled)) if round_index % 2 == 0
                                   else (("numba", compiled), ("numpy", reference))):
                start = time.perf_counter()
                for _ in range(5):
                    case(kernels)
                samples[label].append((time.perf_counter() - start) / 5 * 1e3)
        timings[name] = {label: statistics.median(values) for label, values in samples.items()}
    return timings


# -- the parent: one child per thread count, then the table -------------------------------------------

def main(argv=None):
    arguments = parse_arguments(argv)
    if arguments.child:
        json.dump(run_child(arguments), sys.stdout)
        return 0
    results = []
    for threads in arguments.threads:
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                       "MKL_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
        command = [sys.executable, os.path.abspath(__file__), "--child", "--rounds", str(arguments.rounds),
                   "--iterations", str(arguments.iterations)] + (["--kernels"] if arguments.kernels else [])
        output = subprocess.run(command, env=environment, check=True, capture_output=True, text=True).stdout
        results.append({"threads": threads, **json.loads(output)})
    report = {"command": "python benchmarks/train_step.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                          "python": platform.python_version()},
              "rounds": arguments.rounds, "iterations_per_round": arguments.iterations, "results": results}
    print_table(report)
    os.makedirs(os.path.dirname(os.path.abspath(arguments.json)), exist_ok=True)
    with open(arguments.json, "w") as handle:
        json.dump(report, handle, indent=1)
    print(f"\nwritten: {arguments.json}")
    return 0


def print_table(report):
    print(f"$ {report['command'].strip()}")
    print(f"{report['machine']['cpus']} CPUs; {report['rounds']} interleaved rounds of "
          f"{report['iterations_per_round']} iterations per variant; medians")
    for result in report["results"]:
        medians = result["median_iterations_per_second"]
        print(f"\nBLAS threads {result['threads']}  (load average before {result['load_average_before'][0]:.2f},"
              f" after {result['load_average_after'][0]:.2f}; {result['gflop_per_iteration']:.2f} GFLOP of"
              f" products per iteration, {result['needed_gflop_per_iteration']:.2f} of them needed; first numba iteration {result['first_numba_iteration_seconds']:.1f} s)")
        print(f"| variant | iterations/s (median) | min - max | vs npgan numpy | share of the matmul bound |")
        print("| --- | --- | --- | --- | --- |")
        for name, median in medians.items():
            values = result["iterations_per_second"][name]
            print(f"| {name} | {median:.1f} | {min(values):.1f} - {max(values):.1f} | "
                  f"{median / medians['npgan numpy']:.2f}x | {median / medians['matmul bound']:.0%} |")
        if not result["torch_importable"]:
            print("(PyTorch eager: torch is not importable here; not measured)")
        else:
            print("(PyTorch eager: torch is importable, but no torch variant is written yet; not measured)")
        if "kernels" in result:
            print("\n| kernel (float32) | numpy ms | numba ms | speed-up |")
            print("| --- | --- | --- | --- |")
            for name, timing in result["kernels"].items():
                print(f"| {name} | {timing['numpy']:.2f} | {timing['numba']:.2f} | "
                      f"{timing['numpy'] / timing['numba']:.1f}x |")


if __name__ == "__main__":
    sys.exit(main())
