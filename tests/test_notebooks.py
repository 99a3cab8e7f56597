"""The notebooks are committed executed, with their outputs, and still run top to bottom.

Every notebooks/*.ipynb is picked up (a new notebook needs no change here). Each is executed
by tests/notebook_runner.py exactly as it is run before a commit (`python
tests/notebook_runner.py` writes the outputs back): nbclient, cell by cell, in a "python3"
kernel of sys.executable (the interpreter running pytest, so the environment that has npgan
and the test extra), in its own temporary working directory, two notebooks at a time; a
notebook that reads MNIST finds it where the other tests do. Any exception in a cell fails the
test with that cell's traceback.

The committed copies are checked as a reader on a repository page sees them: every code cell
run, in order, from one fresh kernel; no error among the outputs; figures as PNG; nothing
naming this machine's directories; the folder small enough to clone.
"""

import base64
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebook_runner  # noqa: E402  (tests/notebook_runner.py: the same runner as before a commit)

NOTEBOOKS = notebook_runner.notebooks()
FOLDER_LIMIT_BYTES = 5 * 1024 * 1024
IMAGE_LIMIT_BYTES = 200 * 1024
NOTEBOOKS_AT_ONCE = 2  # the machines this suite runs on have two cores
MACHINE_PATHS = ("/tmp/", "/work/", "/root/", "/home/", "npgan-notebook-")


@pytest.fixture(scope="session")
def kernel_name():
    with notebook_runner.this_python_as_kernel() as name:
        yield name


def test_notebooks_are_found():
    assert NOTEBOOKS, f"no notebooks found in {notebook_runner.NOTEBOOK_DIR}"


def test_the_kernel_is_this_python_with_npgan(kernel_name, tmp_path):
    probe = nbformat.v4.new_notebook()
    probe.cells.append(nbformat.v4.new_code_cell("import os, sys, npgan\nprint(sys.executable)\nprint(os.getcwd())"))
    notebook_runner.execute(probe, kernel_name, tmp_path)
    executable, working_dir = probe.cells[0].outputs[0]["text"].split()
    assert os.path.realpath(executable) == os.path.realpath(sys.executable)
    assert os.path.realpath(working_dir) == os.path.realpath(tmp_path)
    assert KernelSpecManager().get_kernel_spec(kernel_name).argv[0] == sys.executable


def run_notebook(path, kernel_name, working_dir):
    """``path`` executed in a kernel of its own, started in working_dir; the kernel's own messages
    on stderr go to working_dir/kernel-stderr.txt, not into another test's output."""
    from tests.conftest import mnist_dir

    notebook = nbformat.read(path, as_version=4)
    environment = notebook_runner.kernel_environment(notebook, mnist_dir)  # conftest's: skips without MNIST
    with open(working_dir / "kernel-stderr.txt", "wb") as stderr:
        return notebook_runner.execute(notebook, kernel_name, working_dir, env=environment, stderr=stderr)


@pytest.fixture(scope="module")
def executions(kernel_name, tmp_path_factory, request):
    """The runs of the notebooks this session tests, two at a time: {path: a Future of the executed
    notebook}. Each runs in its own kernel process (most of them one core's work), so two side by
    side take about half as long as one after the other on two cores. The first test that asks
    starts them all; each test waits for its own."""
    wanted = [item.callspec.params["path"] for item in request.session.items
              if getattr(item, "originalname", None) == "test_notebook_runs_top_to_bottom"]
    with ThreadPoolExecutor(NOTEBOOKS_AT_ONCE) as pool:
        futures = {path: pool.submit(run_notebook, path, kernel_name, tmp_path_factory.mktemp(path.stem))
                   for path in wanted}
        yield futures
        for future in futures.values():  # tests deselected or stopped early: start no more kernels
            future.cancel()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_top_to_bottom(path, executions):
    notebook = executions[path].result()
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count is not None for cell in code_cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_committed_with_its_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), (
        f"{path.name}: execution counts {counts}: run it top to bottom in a fresh kernel before committing "
        "(python tests/notebook_runner.py)")
    outputs = [output for cell in code_cells for output in cell.outputs]
    assert outputs, f"{path.name} is committed without outputs (python tests/notebook_runner.py)"
    errors = [output.get("ename") for output in outputs if output.output_type == "error"]
    assert not errors, f"{path.name}: committed with errors {errors}"
    stderr = [output.text for output in outputs if output.output_type == "stream" and output.name == "stderr"]
    assert not any("Traceback" in text for text in stderr), f"{path.name}: a traceback on stderr"
    images = [output.data for output in outputs if "data" in output and any(k.startswith("image/") for k in output.data)]
    for data in images:
        assert set(k for k in data if k.startswith("image/")) == {"image/png"}, f"{path.name}: figures as PNG only"
        assert len(base64.b64decode(data["image/png"])) <= IMAGE_LIMIT_BYTES, f"{path.name}: a figure over 200 KiB"
    text = json.dumps([cell.outputs for cell in code_cells])
    leaked = [fragment for fragment in MACHINE_PATHS if fragment in text]
    assert not leaked, f"{path.name}: outputs name this machine's directories ({leaked})"


def test_the_notebooks_folder_is_small():
    size = sum(path.stat().st_size for path in notebook_runner.NOTEBOOK_DIR.rglob("*") if path.is_file())
    assert size <= FOLDER_LIMIT_BYTES, f"notebooks/ holds {size / 2**20:.1f} MiB; keep it under 5 MiB"
