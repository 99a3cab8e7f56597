"""Run npgan's notebooks top to bottom, as the tests do and as they are committed.

    python tests/notebook_runner.py                      # every notebooks/*.ipynb, written back with its outputs
    python tests/notebook_runner.py notebooks/04_figure1.ipynb

Each notebook runs with nbclient, cell by cell, in a "python3" kernel of this very Python
(its kernel spec is written into a temporary directory put first on JUPYTER_PATH, so a
kernel registered elsewhere on the machine, perhaps without npgan, is never used), in a
temporary working directory, so whatever it writes lands there and not in the repository. A
notebook that reads MNIST gets NPGAN_DATA_DIR from where the other tests find the files
($NPGAN_DATA_DIR or ../shared/data/mnist). Figures are PNG at 80 dpi, so the notebooks stay
small enough to commit with their outputs; no timing metadata is recorded, so a re-run
changes only what the cells print and draw.
"""

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from unittest import mock

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 300  # per cell; the slowest cell (Figure 1's training) takes about 15 s
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"
# The kernel's IPython profile: inline figures as PNG at 80 dpi (set in a profile, so no cell of
# a notebook has to say it).
KERNEL_CONFIG = "c.InlineBackend.figure_formats = {'png'}\nc.InlineBackend.rc = {'figure.dpi': 80}\n"


def notebooks():
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def reads_mnist(notebook):
    return any("NPGAN_DATA_DIR" in cell.source for cell in notebook.cells)


def mnist_dir():
    return os.environ.get("NPGAN_DATA_DIR") or str(SHARED_MNIST)


def kernel_environment(notebook, find_mnist=mnist_dir):
    """The environment a kernel for ``notebook`` starts with: this process's, plus NPGAN_DATA_DIR
    (find_mnist() made absolute) if the notebook reads MNIST."""
    data = {"NPGAN_DATA_DIR": os.path.abspath(find_mnist())} if reads_mnist(notebook) else {}
    return {**os.environ, **data}


@contextlib.contextmanager
def this_python_as_kernel():
    """KERNEL_NAME resolves, inside the block, to a kernel running sys.executable."""
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory(prefix="npgan-jupyter-") as jupyter_dir:
        write_kernel_spec(os.path.join(jupyter_dir, "kernels", KERNEL_NAME))
        profile = Path(jupyter_dir, "ipython", "profile_default")
        profile.mkdir(parents=True)
        (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
        search_path = [jupyter_dir, *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
        with mock.patch.dict(os.environ, JUPYTER_PATH=os.pathsep.join(search_path), IPYTHONDIR=str(profile.parent)):
            argv = KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv
            if argv[0] != sys.executable:
                raise RuntimeError(f"the {KERNEL_NAME} kernel would run {argv[0]}, not {sys.executable}")
            yield KERNEL_NAME


def execute(notebook, kernel_name, working_dir, **kernel_options):
    """Run every cell of ``notebook`` in place; raises CellExecutionError on the first error.
    kernel_options go to the kernel's start (jupyter_client's launch_kernel: env, stderr)."""
    client = NotebookClient(notebook, kernel_name=kernel_name, timeout=CELL_TIMEOUT_SECONDS, record_timing=False,
                            resources={"metadata": {"path": str(working_dir)}})
    client.execute(**kernel_options)
    return notebook


def run(paths, kernel_name):
    """Execute each notebook of ``paths`` in a fresh temporary directory and write it back."""
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory(prefix="npgan-notebook-") as working_dir:
            execute(notebook, kernel_name, working_dir, env=kernel_environment(notebook))
        nbformat.validate(notebook)
        nbformat.write(notebook, path)
        print(f"{path.name}: {sum(c.cell_type == 'code' for c in notebook.cells)} code cells run, "
              f"{path.stat().st_size / 1024:.0f} KiB")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    args = parser.parse_args(argv)
    with this_python_as_kernel() as kernel_name:
        run([path.resolve() for path in args.notebooks] or notebooks(), kernel_name)


if __name__ == "__main__":
    main()
