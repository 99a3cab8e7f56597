"""The switch between the reference (the layers' own NumPy methods) and the Numba kernels.

``NPGAN_KERNELS=numpy|numba`` is read when npgan is imported; set_backend / use_backend
change it at run time. See npgan/kernels/__init__.py.
"""

import contextlib
import os

import numpy as np

BACKENDS = ("numpy", "numba")
ENVIRONMENT_VARIABLE = "NPGAN_KERNELS"
_COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_backend = "numpy"
_compiled = None


def _load_compiled():
    global _compiled
    if _compiled is None:
        try:
            from npgan.kernels import compiled as module
        except ImportError as error:
            raise ImportError(
                f"the numba kernels need numba ({error}); install it "
                "(pip install numba) or use the numpy backend (NPGAN_KERNELS=numpy)"
            ) from error
        _compiled = module
    return _compiled


def _validated(name, where):
    if name not in BACKENDS:
        raise ValueError(f"{where}: unknown kernel backend {name!r}; valid: {', '.join(BACKENDS)}")
    return name


def set_backend(name):
    """Use backend ``name`` ("numpy" or "numba") from now on; returns the previous one."""
    global _backend
    _validated(name, "set_backend")
    if name == "numba":
        _load_compiled()
    previous, _backend = _backend, name
    return previous


def get_backend():
    """The backend in use: "numpy" or "numba"."""
    return _backend


@contextlib.contextmanager
def use_backend(name):
    """``with use_backend("numba"): ...`` runs the block on that backend, then restores."""
    previous = set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def compiled_kernels(*arrays):
    """The module of Numba kernels (compiled.py) if the numba backend is on and the arrays
    share one dtype the kernels take (float32 or float64); None otherwise: run the reference."""
    if _backend == "numba":
        dtype = arrays[0].dtype
        if dtype in _COMPILED_DTYPES and all(array.dtype == dtype for array in arrays):
            return _compiled
    return None


set_backend(_validated(os.environ.get(ENVIRONMENT_VARIABLE, "numpy").strip().lower() or "numpy",
                       f"the environment variable {ENVIRONMENT_VARIABLE}"))
