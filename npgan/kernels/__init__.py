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
  Their backward also takes accumulate=False (set the gradients: the products write into
  them) and rows (backpropagate some rows of the pass only), which npgan.gan uses.

Backends: "numba" (the default) runs the runners; "numpy" runs the layers' own methods
(the reference). Choose with the environment variable ``NPGAN_KERNELS=numba|numpy`` (read
when npgan is imported), or from Python::

    import npgan.kernels
    npgan.kernels.set_backend("numpy")          # the reference from now on
    with npgan.kernels.use_backend("numba"):    # the fast path for a block
        ...

The callers that pick a path are npgan.gan.GAN (every pass of training and sampling),
npgan.optim.MomentumSGD (the update) and npgan.gradcheck (so that `npgan gradcheck`
checks the path in use), through ``runner(layer)`` and ``compiled_kernels(*arrays)``.

The default is "numba" (where numba is installed; "numpy" otherwise): on paper-mnist it
also writes the gradients in place, backpropagates G's loss through D over the fake rows
only, and measured faster than the reference at 1 and 2 threads (benchmarks/RESULTS.md,
"Speed, round two"). The kernels are compiled once, with a one-line notice on stderr, and
cached (backend.py). tests/test_kernels.py holds the two paths to each other. Whatever the
setting, arrays the compiled kernels do not take (a dtype other than float32 or float64,
such as the extended-precision copies of the gradient checks, or mixed dtypes) run through
the reference.
"""

from npgan.kernels.backend import (
    BACKENDS,
    DEFAULT_BACKEND,
    ENVIRONMENT_VARIABLE,
    compile_kernels,
    compiled_kernels,
    get_backend,
    numba_available,
    set_backend,
    use_backend,
)
from npgan.kernels.runners import runner

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "ENVIRONMENT_VARIABLE", "compile_kernels", "compiled_kernels", "get_backend",
           "numba_available", "runner", "set_backend", "use_backend"]
