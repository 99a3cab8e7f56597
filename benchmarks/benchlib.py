"""What the benchmark scripts share: the head of a report (the command that made it and the
machine) and writing a report as JSON. Imported by the scripts beside it, which run as
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
