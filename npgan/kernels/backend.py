"""The switch between the Numba kernels (the default) and the reference (the layers' own NumPy
methods).

``NPGAN_KERNELS=numba|numpy`` is read when npgan is imported; set_backend / use_backend
change it at run time. See npgan/kernels/__init__.py.

Numba is imported, and the kernels loaded, at their first use: ``import npgan`` and
``npgan --help`` do not pay for it. The kernels are compiled once and cached on disk
(compiled.py: cache=True); the first process that has to compile them says so in one line on
stderr, and later ones load the machine code from the cache.
"""

import contextlib
import importlib.util
import os
import sys

import numpy as np

BACKENDS = ("numpy", "numba")
DEFAULT_BACKEND = "numba"
ENVIRONMENT_VARIABLE = "NPGAN_KERNELS"
# a cold compile of the kernels paper-mnist uses, float32 and float64 (benchmarks/startup.py,
# RESULTS.md "Speed, round two"): what the one-line notice announces
COMPILE_SECONDS = 10
COMPILE_NOTICE = (f"npgan: compiling the Numba kernels once (about {COMPILE_SECONDS} s); later runs load "
                  "them from the cache")
_COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_backend = "numpy"
_compiled = None
_compile_the_rest = False  # set when a compile has started: compile_every_kernel() runs next


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
        _announce_compiling(module.__name__)
        _compiled = module
    return _compiled


def _announce_compiling(module_name):
    """Print COMPILE_NOTICE once, when Numba starts compiling a kernel of ``module_name``: a cold
    cache (the first run after installing or changing the kernels). Loading from the cache
    compiles nothing and prints nothing (Numba's "numba:compile" event fires on a compile only).
    The next call of compiled_kernels then compiles every other kernel too, so that later runs,
    whatever layers they use, find them all in the cache."""
    from numba.core import event

    class Announcement(event.Listener):
        announced = False

        def on_start(self, notice):
            function = getattr(notice.data.get("dispatcher"), "py_func", None)
            if not self.announced and getattr(function, "__module__", None) == module_name:
                global _compile_the_rest
                self.announced = _compile_the_rest = True
                print(COMPILE_NOTICE, file=sys.stderr, flush=True)

        def on_end(self, notice):
            pass

    event.register("numba:compile", Announcement())


def _validated(name, where):
    if name not in BACKENDS:
        raise ValueError(f"{where}: unknown kernel backend {name!r}; valid: {', '.join(BACKENDS)}")
    return name


def numba_available():
    """True if numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def set_backend(name):
    """Use backend ``name`` ("numba" or "numpy") from now on; returns the previous one."""
    global _backend
    _validated(name, "set_backend")
    if name == "numba" and not numba_available():
        _load_compiled()  # the ImportError that says what to do
    previous, _backend = _backend, name
    return previous


def get_backend():
    """The backend in use: "numba" or "numpy"."""
    return _backend


@contextlib.contextmanager
def use_backend(name):
    """``with use_backend("numpy"): ...`` runs the block on that backend, then restores."""
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
            if _compile_the_rest:
                _compile_everything()
            return _compiled or _load_compiled()
    return None


def compile_kernels():
    """Compile every Numba kernel now, or load them all from the cache: what a cold first run
    does anyway, at a time of the caller's choosing (the test suite does it before its first
    test)."""
    _load_compiled().compile_every_kernel()


def _compile_everything():
    global _compile_the_rest
    _compile_the_rest = False
    _compiled.compile_every_kernel()


def _from_environment():
    """NPGAN_KERNELS if set; else numba, or numpy where numba is not installed."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if not value:
        return DEFAULT_BACKEND if numba_available() else "numpy"
    return _validated(value, f"the environment variable {ENVIRONMENT_VARIABLE}")


set_backend(_from_environment())
