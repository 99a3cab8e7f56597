"""What the benchmark scripts share: the head of a report (the command that made it and the
machine), writing a report as JSON, the MNIST directory argument, and the environment of a
child process with its thread counts fixed. Imported by the scripts beside it, which run as
``python benchmarks/<name>.py`` (so this folder is on sys.path)."""

import json
import os
import platform
import sys


def report_head(script, argv=None):
    """{"command": "python benchmarks/<script> <arguments>", "machine": {cpus, processor, python}}."""
    arguments = argv if argv is not None else sys.argv[1:]
    return {"command": f"python benchmarks/{script} " + " ".join(arguments),
            "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                        "python": platform.python_version()}}


def write_json(data, path, **options):
    """Write ``data`` to ``path`` as indented JSON (creating its folder) and say so."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1, **options)
    print(f"\nwritten: {path}")


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def thread_environment(threads, **variables):
    """os.environ for a child process with every BLAS, OpenMP and Numba thread count set to
    ``threads`` (they are read once, when those libraries load), plus ``variables``."""
    return {**os.environ, **{name: str(threads) for name in THREAD_VARIABLES}, **variables}


def add_mnist_argument(parser):
    parser.add_argument("--data-dir", default=os.environ.get("NPGAN_DATA_DIR"),
                        help="the directory of the MNIST IDX files (default: $NPGAN_DATA_DIR)")


def mnist_directory(parser, arguments):
    """--data-dir as an absolute path (the children run in other directories), or a usage error."""
    if arguments.data_dir is None or not os.path.isdir(arguments.data_dir):
        parser.error(f"MNIST is needed: pass --data-dir DIR (the four IDX files) or set NPGAN_DATA_DIR; "
                     f"got {arguments.data_dir!r}")
    return os.path.abspath(arguments.data_dir)
