"""Settings for the whole suite.

- One BLAS thread: the tests' matrices are tiny, and on a shared 2-core machine
  BLAS threads made the same tests up to 15 times slower (set before numpy loads).
- Hypothesis: no per-example deadline (CI machines are shared and noisy; a slow
  example is not a wrong one).
- MNIST: the original files from $NPGAN_DATA_DIR (.ci/run sets it) or
  ../shared/data/mnist beside the repository; loaded once per session.
- The Numba kernels (npgan's default path) are compiled, or loaded from their cache, before
  the first test: on a cold cache (a fresh clone) every test that runs npgan in a subprocess
  would otherwise compile them itself, and say so on its stderr.
"""

import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from hypothesis import HealthCheck, settings  # noqa: E402

# kernel_backend (below) only switches npgan.kernels for the whole test: safe across examples
settings.register_profile("npgan", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("npgan")


import pytest  # noqa: E402


def pytest_sessionstart(session):
    import npgan.kernels

    if npgan.kernels.numba_available():
        npgan.kernels.compile_kernels()

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


def mnist_dir():
    """The directory of the four original MNIST files (a failure under CI if absent, else a skip)."""
    directory = os.environ.get("NPGAN_DATA_DIR") or SHARED_MNIST
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")
    if not all(os.path.isfile(os.path.join(directory, name)) for name in names):
        if os.environ.get("CI"):
            pytest.fail(f"the MNIST files are not in {directory}")
        pytest.skip(f"the MNIST files are not in {directory}; set NPGAN_DATA_DIR")
    return directory


def assert_equal_to_rounding(actual, desired, ulps, err_msg=""):
    """Equal up to ``ulps`` units in the last place of desired's largest element. For results that
    differ only by a BLAS's rounding of a product's rows with the number of rows it is computed
    among: OpenBLAS 0.3.31's Haswell kernels on an AMD Zen 3 change the last bit of a few (on
    other CPUs it is bit for bit)."""
    import numpy as np

    tolerance = ulps * np.finfo(desired.dtype).eps * np.abs(desired).max()
    np.testing.assert_allclose(actual, desired, rtol=0, atol=tolerance, err_msg=err_msg)


COMMITTED_RESULTS = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "results")


def committed_generator(name, *, dataset, max_mib):
    """benchmarks/results/<name>, checked as the file a user gets from `npgan export`: at most
    ``max_mib`` MiB, G's parameters alone, float32, of a run on ``dataset``. (path, checkpoint)."""
    import numpy as np

    from npgan.checkpoint import load_checkpoint

    path = os.path.join(COMMITTED_RESULTS, name)
    assert os.path.getsize(path) < max_mib * 2**20
    checkpoint = load_checkpoint(path)
    assert checkpoint.state["contents"] == "generator" and checkpoint.config["dataset"] == dataset
    assert all(name.startswith("G.") and value.dtype == np.float32 for name, value in checkpoint.arrays.items())
    return path, checkpoint


def fashion_mnist_dir():
    """Where Debian's dataset-fashion-mnist puts Fashion-MNIST (.ci/run installs it when it can),
    or a skip that says how to get it."""
    from npgan.data.mnist import DATASETS

    directory = DATASETS["fashion-mnist"]["system_dir"]
    if not os.path.isdir(directory):
        pytest.skip(f"Fashion-MNIST is not in {directory} (apt-get install dataset-fashion-mnist)")
    return directory


@pytest.fixture(params=("numpy", "numba"))
def kernel_backend(request):
    """Run the test once on each path of npgan.kernels: the reference layers, then the Numba
    kernels beside them (minitorch's way: the same tests on every backend)."""
    import npgan.kernels

    with npgan.kernels.use_backend(request.param):
        yield request.param


@pytest.fixture(scope="session")
def mnist():
    from npgan.data.mnist import load_image_dataset

    return load_image_dataset("mnist", mnist_dir())


@pytest.fixture
def forbid_whole_splits(monkeypatch):
    """Make converting a whole split of an ImageData (ImageData.split: .train, .validation,
    .test) fail, for tests that the code under test converts only the rows it uses."""
    from npgan.data.mnist import ImageData

    def whole_split(self, name):
        raise AssertionError(f"the whole {name} split was converted")

    monkeypatch.setattr(ImageData, "split", whole_split)


@pytest.fixture
def without_monitors(monkeypatch):
    """`npgan train` with no monitors (no figures, no Parzen estimates at the checkpoints), for
    tests that read neither: npgan.cli_train takes them from npgan.monitors.standard_monitors."""
    import npgan.monitors
    from npgan.run import Monitors

    monkeypatch.setattr(npgan.monitors, "standard_monitors", lambda dataset: Monitors())
