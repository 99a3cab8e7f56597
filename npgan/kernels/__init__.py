"""Kernels: the numeric inner loops of the layers and the optimizer, on two backends.

- "numpy" (reference.py): plain NumPy, one array operation at a time.
- "numba" (compiled.py): the same functions compiled with Numba, each a single pass
  that fuses the bias, the activation and its gradient, the maxout max/scatter, the
  dropout mask and the momentum update around the BLAS products.

Choose one with the environment variable ``NPGAN_KERNELS=numpy|numba`` (read when
npgan is imported), or from Python::

    import npgan.kernels
    npgan.kernels.set_backend("numba")
    with npgan.kernels.use_backend("numpy"):
        ...

The default is "numpy": on paper-mnist the numba path measured 1.01-1.11x the numpy
path, inside the run-to-run spread (benchmarks/RESULTS.md, "Speed"). Both backends compute
the same functions; tests/test_kernels.py holds them to each other. Whatever the
setting, an array the compiled kernels do not take (a dtype other than float32 or
float64, such as the extended-precision copies of the gradient checks, or mixed
dtypes) goes through the reference.

The functions below are what layers.py and optim.py call; their docstrings are in
reference.py.
"""

import contextlib
import os

import numpy as np

from npgan.kernels import reference

BACKENDS = ("numpy", "numba")
ENVIRONMENT_VARIABLE = "NPGAN_KERNELS"
_COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_backend = "numpy"
_compiled = None


def _load_compiled():
    global _compiled
    if _compiled is None:
        try:
            from npgan.kernels import compiled
        except ImportError as error:
            raise ImportError(
                f"the numba kernels need numba ({error}); install it "
                "(pip install numba) or use the numpy backend (NPGAN_KERNELS=numpy)"
            ) from error
        _compiled = compiled
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


def fuses_layers():
    """True when a Linear followed by a ReLU or a Sigmoid runs as one fused kernel
    (Sequential asks; on the numpy backend the layers run one by one)."""
    return _backend == "numba"


def _implementation(*arrays):
    """compiled.py when the backend is numba and every array is one float32/float64 dtype."""
    if _backend == "numba":
        dtype = arrays[0].dtype
        if dtype in _COMPILED_DTYPES and all(array.dtype == dtype for array in arrays):
            return _compiled
    return reference


def _c(array):
    return np.ascontiguousarray(array)


# -- the kernels ---------------------------------------------------------------------------------

def affine(x, W, b):
    kernels = _implementation(x, W, b)
    return kernels.affine(_c(x), W, b)


def affine_relu(x, W, b):
    kernels = _implementation(x, W, b)
    return kernels.affine_relu(_c(x), W, b)


def affine_sigmoid(x, W, b):
    kernels = _implementation(x, W, b)
    return kernels.affine_sigmoid(_c(x), W, b)


def affine_maxout(x, W, b, pieces):
    kernels = _implementation(x, W, b)
    return kernels.affine_maxout(_c(x), W, b, pieces)


def relu(x):
    return _implementation(x).relu(_c(x))


def sigmoid(x):
    return _implementation(x).sigmoid(_c(x))


def relu_backward(grad_y, y):
    return _implementation(grad_y, y).relu_backward(_c(grad_y), _c(y))


def sigmoid_backward(grad_y, y):
    return _implementation(grad_y, y).sigmoid_backward(_c(grad_y), _c(y))


# The backward kernels: param_grads=False leaves grad_W and grad_b untouched (no x^T dz, no
# bias sum); input_grad=False computes no dz W^T and returns None.

def affine_backward(x, W, grad_z, grad_W, grad_b, *, param_grads=True, input_grad=True):
    kernels = _implementation(x, W, grad_z, grad_W, grad_b)
    return kernels.affine_backward(_c(x), W, _c(grad_z), grad_W, grad_b,
                                   param_grads=param_grads, input_grad=input_grad)


def affine_relu_backward(x, W, y, grad_y, grad_W, grad_b, *, param_grads=True, input_grad=True):
    kernels = _implementation(x, W, y, grad_y, grad_W, grad_b)
    return kernels.affine_relu_backward(_c(x), W, _c(y), _c(grad_y), grad_W, grad_b,
                                        param_grads=param_grads, input_grad=input_grad)


def affine_sigmoid_backward(x, W, y, grad_y, grad_W, grad_b, *, param_grads=True, input_grad=True):
    kernels = _implementation(x, W, y, grad_y, grad_W, grad_b)
    return kernels.affine_sigmoid_backward(_c(x), W, _c(y), _c(grad_y), grad_W, grad_b,
                                           param_grads=param_grads, input_grad=input_grad)


def maxout_backward(x, W, winners, grad_y, grad_W, grad_b, pieces, *, param_grads=True, input_grad=True):
    kernels = _implementation(x, W, grad_y, grad_W, grad_b)
    return kernels.maxout_backward(_c(x), W, _c(winners), _c(grad_y), grad_W, grad_b, pieces,
                                   param_grads=param_grads, input_grad=input_grad)


def dropout(x, uniform, keep_prob):
    kernels = _implementation(x)
    return kernels.dropout(_c(x), _c(uniform), float(keep_prob))


def momentum_update(param, velocity, grad, learning_rate, momentum):
    """learning_rate and momentum: scalars of the parameters' dtype (np.float32(0.1))."""
    kernels = _implementation(param, velocity, grad)
    if kernels is not reference and not (param.flags.c_contiguous and velocity.flags.c_contiguous):
        kernels = reference  # the update is in place: no contiguous copy may stand in for them
    return kernels.momentum_update(param, velocity, _c(grad), learning_rate, momentum)


set_backend(_validated(os.environ.get(ENVIRONMENT_VARIABLE, "numpy").strip().lower() or "numpy",
                       f"the environment variable {ENVIRONMENT_VARIABLE}"))
