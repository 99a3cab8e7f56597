"""The fast path: npgan's layers run by fused Numba kernels, beside the NumPy reference.

npgan/layers.py is the reference: each layer's forward and backward written in NumPy in
its own methods. This package runs the same layers faster without changing them:

- compiled.py: Numba kernels, each one pass around NumPy's matrix products that fuses the
  bias, the activation and its gradient, the maxout max/winner and its scatter, the bias
  sum, the dropout mask, and the momentum update;
- runners.py: a runner per layer type, and for a Sequential a compiled chain that runs a
  Linear followed by a ReLU or a Sigmoid as one kernel and skips the products nobody needs
  (no input gradient below the lowest layer with parameters). Runners share the layers'
  parameters, gradients and caches and follow the same contract (forward, backward with
  param_grads / input_grad, predict), so either path can backpropagate the other's pass.

Backends: "numpy" runs the layers' own methods (the reference); "numba" runs the
runners. Choose with the environment variable ``NPGAN_KERNELS=numpy|numba`` (read when
npgan is imported), or from Python::

    import npgan.kernels
    npgan.kernels.set_backend("numba")
    with npgan.kernels.use_backend("numpy"):
        ...

The callers that pick a path are npgan.gan.GAN (every pass of training and sampling),
npgan.optim.MomentumSGD (the update) and npgan.gradcheck (so that `npgan gradcheck`
checks the path in use), through ``runner(layer)`` and ``compiled_kernels(*arrays)``.

The default is "numpy": on paper-mnist the numba path measured 1.01-1.11x the numpy
path, inside the run-to-run spread (benchmarks/RESULTS.md, "Speed"). tests/test_kernels.py
holds the two paths to each other. Whatever the setting, arrays the compiled kernels do
not take (a dtype other than float32 or float64, such as the extended-precision copies of
the gradient checks, or mixed dtypes) run through the reference.
"""

from npgan.kernels.backend import (
    BACKENDS,
    ENVIRONMENT_VARIABLE,
    compiled_kernels,
    get_backend,
    set_backend,
    use_backend,
)
from npgan.kernels.runners import runner

__all__ = ["BACKENDS", "ENVIRONMENT_VARIABLE", "compiled_kernels", "get_backend", "runner", "set_backend", "use_backend"]
