"""The notebooks run top to bottom, and are committed without outputs.

Every notebooks/*.ipynb is picked up (a new notebook needs no change here) and executed
with nbclient, cell by cell, in a "python3" kernel; any exception in a cell fails the test
with that cell's traceback. Each notebook runs in its own temporary working directory.

Which Python runs the kernel: a session fixture writes ipykernel's kernel spec for
sys.executable (the interpreter running pytest, so the environment that has npgan and the
test extra) into a temporary directory put first on JUPYTER_PATH. A fresh
`pip install -e ".[test]"` therefore needs no `ipykernel install`, and a "python3" kernel
registered elsewhere on the machine (another Python, perhaps without npgan) is never used.
"""

import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 300  # per cell; the slowest cell (Figure 1's training) takes about 15 s


@pytest.fixture(scope="session")
def kernel_name(tmp_path_factory):
    """KERNEL_NAME, resolved for the rest of the session to a kernel of sys.executable."""
    from ipykernel.kernelspec import write_kernel_spec

    jupyter_dir = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(str(jupyter_dir / "kernels" / KERNEL_NAME))
    search_path = [str(jupyter_dir)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", os.pathsep.join(search_path))
        argv = KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv
        assert argv[0] == sys.executable, f"the {KERNEL_NAME} kernel would run {argv[0]}, not {sys.executable}"
        yield KERNEL_NAME


def execute(notebook, kernel_name, working_dir):
    """Run every cell of ``notebook`` in place; raises CellExecutionError on the first error."""
    client = NotebookClient(notebook, kernel_name=kernel_name, timeout=CELL_TIMEOUT_SECONDS,
                            resources={"metadata": {"path": str(working_dir)}})
    client.execute()
    return notebook


def test_notebooks_are_found():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


def test_the_kernel_is_this_python_with_npgan(kernel_name, tmp_path):
    probe = nbformat.v4.new_notebook()
    probe.cells.append(nbformat.v4.new_code_cell("import os, sys, npgan\nprint(sys.executable)\nprint(os.getcwd())"))
    execute(probe, kernel_name, tmp_path)
    executable, working_dir = probe.cells[0].outputs[0]["text"].split()
    assert os.path.realpath(executable) == os.path.realpath(sys.executable)
    assert os.path.realpath(working_dir) == os.path.realpath(tmp_path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_top_to_bottom(path, kernel_name, tmp_path, monkeypatch):
    notebook = nbformat.read(path, as_version=4)
    if any("NPGAN_DATA_DIR" in cell.source for cell in notebook.cells):
        # the notebook reads MNIST: the kernel (started with this environment) finds it where the
        # other tests do, NPGAN_DATA_DIR or ../shared/data/mnist, instead of downloading it
        from tests.conftest import mnist_dir

        monkeypatch.setenv("NPGAN_DATA_DIR", os.path.abspath(mnist_dir()))
    notebook = execute(notebook, kernel_name, tmp_path)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count is not None for cell in code_cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [index for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} hold outputs or an execution count; clear them "
                       "before committing (Jupyter: Edit > Clear Outputs of All Cells, then save)")
