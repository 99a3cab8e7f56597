"""Runners: npgan's layers run by the Numba kernels of compiled.py.

A runner does what its layer's forward and backward do (npgan/layers.py, the reference),
with the elementwise work around the matrix products done by one compiled pass. It keeps
its results in the layer's own cache (``layer.keep`` / ``layer.kept``) and adds into the
layer's own ``grads`` (or sets them: accumulate=False), so a pass run by one path can be
backpropagated or checked by the other, and predict(), kink_state() and the
one-pass-one-cache guard work unchanged. A backward can also cover some rows of the pass
only (rows=; LayerRunner says when that is the same).

For a Sequential, ChainRunner adds what only a whole chain allows:

- fusion: a Linear followed by a ReLU or a Sigmoid runs as one kernel (affine_relu,
  affine_sigmoid and their backwards), filling both layers' caches;
- skipped products: with input_grad=False no input gradient is computed below the lowest
  layer with parameters, and the parameterless layers below it (paper-mnist D's input
  dropout) are closed without a backward (skip_backward). The reference computes those
  products and throws them away; the results are the same.

Arrays the kernels do not take (see npgan.kernels.compiled) run through the layer itself.
Only the exact classes of npgan.layers get a runner: a subclass may change the maths, so it
runs its own methods.
"""

import numpy as np

from npgan.kernels import backend
from npgan.layers import Dropout, Linear, Maxout, Pack, ReLU, Sequential, Sigmoid


def runner(layer):
    """What runs ``layer`` (a layer or a Sequential) on the current backend: the layer itself
    on "numpy" (the reference); on "numba" its runner, sharing its parameters, gradients and
    caches. A layer of a type without a runner runs itself."""
    if backend.get_backend() != "numba":
        return layer
    make = _RUNNERS.get(type(layer))
    return layer if make is None else make(layer)


class LayerRunner:
    """Runs ``self.layers`` (one layer, or a Linear and its activation) with compiled kernels.

    Its backward takes, besides the layers' param_grads and input_grad, two options of the fast
    path (npgan/gan.py uses both):

    - accumulate=False sets the layers' grads to this pass's gradients instead of adding to them
      (the product writes straight into grad_W): what the reference gets from zero_grad() and
      a backward that adds, without the zeroing pass and without a temporary the size of W;
    - rows (a slice of the forward pass's rows, with param_grads=False): grad_y holds only those
      rows of the upstream gradient, the others being zero, and the input gradient of those rows
      is returned. Every layer treats rows independently, so these are the same numbers the
      whole backward gives for those rows, at a fraction of the products.
    """

    def __init__(self, *layers):
        self.layers = layers
        self.rows = None  # of this runner's last forward pass: what ``rows`` selects from

    def predict(self, x):
        for layer in self.layers:
            if layer.awaiting_backward:
                raise RuntimeError(f"{layer}: predict() called while a forward pass awaits its backward")
        output = self.forward(x)
        for layer in self.layers:
            layer.clear_cache()
        return output

    def skip_backward(self):
        for layer in self.layers:
            layer.skip_backward()

    @staticmethod
    def affine_kernels(layer, x):
        """Check x against ``layer`` (a Linear or a Maxout); the compiled kernels for x and its
        W and b, or None (run the reference)."""
        layer.check_input(x, layer.in_features)
        return backend.compiled_kernels(x, layer.params["W"], layer.params["b"])

    def kept(self, layer, grad_y, rows):
        """layer.kept(grad_y): the cache of its last pass, grad_y checked against its output. With
        ``rows``, grad_y holds those rows only and the check runs on a zero-stride stand-in for
        the whole upstream gradient."""
        if rows is None:
            return layer.kept(grad_y)
        if self.rows is None or len(grad_y) != len(range(*rows.indices(self.rows))):
            raise ValueError(f"{layer}: a backward over rows {rows} needs this runner's own forward pass and "
                             f"an upstream gradient of those rows only; got {len(grad_y)} rows")
        return layer.kept(np.broadcast_to(grad_y.dtype.type(0), (self.rows, *grad_y.shape[1:])))

    def reference_backward(self, grad_y, param_grads, input_grad, accumulate, rows):
        """The layers' own backward methods, top down (where the kernels do not take the arrays)."""
        if rows is not None:  # the whole upstream gradient, zero outside ``rows``
            whole = np.zeros((self.rows, *grad_y.shape[1:]), grad_y.dtype)
            whole[rows] = grad_y
            grad_x = self.reference_backward(whole, param_grads, input_grad, accumulate, None)
            return None if grad_x is None else grad_x[rows]
        for index, layer in enumerate(reversed(self.layers)):
            if param_grads and not accumulate:
                layer.zero_grad()
            last = index == len(self.layers) - 1
            grad_y = layer.backward(grad_y, param_grads=param_grads, input_grad=input_grad or not last)
        return grad_y


def _selected(array, rows):
    return _c(array if rows is None else array[rows])


class LinearRunner(LayerRunner):
    """y = x @ W, then the bias added in place."""

    def forward(self, x):
        (linear,) = self.layers
        kernels = self.affine_kernels(linear, x)
        self.rows = len(x)
        if kernels is None:
            return linear.forward(x)
        y = kernels.affine(_c(x), linear.params["W"], linear.params["b"])
        linear.keep(y, x=x)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True, accumulate=True, rows=None):
        (linear,) = self.layers
        x = self.kept(linear, grad_y, rows)["x"]
        W, grads = linear.params["W"], linear.grads
        kernels = backend.compiled_kernels(x, W, grad_y, grads["W"], grads["b"])
        if kernels is None:
            return self.reference_backward(grad_y, param_grads, input_grad, accumulate, rows)
        return kernels.affine_backward(_selected(x, rows), W, _c(grad_y), grads["W"], grads["b"],
                                       param_grads=param_grads, input_grad=input_grad, accumulate=accumulate)


class FusedRunner(LayerRunner):
    """A Linear then a ReLU or Sigmoid as one kernel each way: y = activation(x @ W + b);
    dz = g * activation'(z), dW = x^T dz, db = sum_n dz, dx = dz W^T."""

    def __init__(self, linear, activation):
        super().__init__(linear, activation)
        self.name = "relu" if type(activation) is ReLU else "sigmoid"

    def forward(self, x):
        linear, activation = self.layers
        kernels = self.affine_kernels(linear, x)
        self.rows = len(x)
        if kernels is None:
            return activation.forward(linear.forward(x))
        y = getattr(kernels, f"affine_{self.name}")(_c(x), linear.params["W"], linear.params["b"])
        linear.keep(y, x=x)
        activation.keep(y, y=y)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True, accumulate=True, rows=None):
        linear, activation = self.layers
        y = self.kept(activation, grad_y, rows)["y"]
        x = self.kept(linear, grad_y, rows)["x"]
        W, grads = linear.params["W"], linear.grads
        kernels = backend.compiled_kernels(x, W, y, grad_y, grads["W"], grads["b"])
        if kernels is None:
            return self.reference_backward(grad_y, param_grads, input_grad, accumulate, rows)
        return getattr(kernels, f"affine_{self.name}_backward")(
            _selected(x, rows), W, _selected(y, rows), _c(grad_y), grads["W"], grads["b"],
            param_grads=param_grads, input_grad=input_grad, accumulate=accumulate)


class ActivationRunner(LayerRunner):
    """A ReLU or a Sigmoid alone: y and dx = g * activation'(y) in one pass each."""

    def __init__(self, activation):
        super().__init__(activation)
        self.name = "relu" if type(activation) is ReLU else "sigmoid"

    def forward(self, x):
        (activation,) = self.layers
        activation.check_input(x)
        self.rows = len(x)
        kernels = backend.compiled_kernels(x)
        if kernels is None:
            return activation.forward(x)
        y = getattr(kernels, self.name)(_c(x))
        activation.keep(y, y=y)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True, accumulate=True, rows=None):
        (activation,) = self.layers
        y = self.kept(activation, grad_y, rows)["y"]
        kernels = backend.compiled_kernels(grad_y, y)
        if kernels is None:
            return self.reference_backward(grad_y, param_grads, input_grad, accumulate, rows)
        return getattr(kernels, f"{self.name}_backward")(_c(grad_y), _selected(y, rows)) if input_grad else None


class MaxoutRunner(LayerRunner):
    """z = x @ W, then the bias, the max over each unit's pieces and its winner in one pass;
    backward scatters g to the winners and sums the bias gradient in one pass."""

    def forward(self, x):
        (maxout,) = self.layers
        kernels = self.affine_kernels(maxout, x)
        self.rows = len(x)
        if kernels is None:
            return maxout.forward(x)
        y, winners = kernels.affine_maxout(_c(x), maxout.params["W"], maxout.params["b"], maxout.pieces)
        maxout.keep(y, x=x, winners=winners)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True, accumulate=True, rows=None):
        (maxout,) = self.layers
        cache = self.kept(maxout, grad_y, rows)
        x, W, grads = cache["x"], maxout.params["W"], maxout.grads
        kernels = backend.compiled_kernels(x, W, grad_y, grads["W"], grads["b"])
        if kernels is None:
            return self.reference_backward(grad_y, param_grads, input_grad, accumulate, rows)
        return kernels.maxout_backward(_selected(x, rows), W, _selected(cache["winners"], rows), _c(grad_y),
                                       grads["W"], grads["b"], maxout.pieces, param_grads=param_grads,
                                       input_grad=input_grad, accumulate=accumulate)


class DropoutRunner(LayerRunner):
    """A fresh mask thresholded, scaled and applied in one pass, from the same uniforms the
    reference draws (so the same masks); the backward is the layer's own, g * m (on the
    selected rows of m, with rows)."""

    def forward(self, x):
        (dropout,) = self.layers
        dropout.check_input(x)
        self.rows = len(x)
        kernels = backend.compiled_kernels(x)
        if kernels is None or not dropout.draws_mask():
            return dropout.forward(x)
        y, scaled_mask = kernels.dropout(_c(x), dropout.rng.random(x.shape), dropout.keep_prob)
        dropout.keep_mask(y, scaled_mask)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True, accumulate=True, rows=None):
        (dropout,) = self.layers
        if rows is None:
            return dropout.backward(grad_y, param_grads=param_grads, input_grad=input_grad)
        scaled_mask = self.kept(dropout, grad_y, rows)["scaled_mask"]
        if not input_grad:
            return None
        return grad_y if scaled_mask is None else grad_y * scaled_mask[rows]


class PackRunner(LayerRunner):
    """Packing is a reshape, nothing to compile: the layer's own forward and backward. Its output
    rows are packs, so ``rows`` of a backward count packs, and the input gradient returned is
    that of their samples (pack times as many rows)."""

    def forward(self, x):
        (pack,) = self.layers
        y = pack.forward(x)
        self.rows = len(y)  # what ``rows`` selects from: packs
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True, accumulate=True, rows=None):
        (pack,) = self.layers
        if rows is None:
            return pack.backward(grad_y, param_grads=param_grads, input_grad=input_grad)
        features = self.kept(pack, grad_y, rows)["input_shape"][1]
        return pack.unpack(grad_y, features) if input_grad else None


class OwnMethodsRunner(LayerRunner):
    """A layer of a type without a runner, in a chain: its own methods, with accumulate and rows
    done around them (LayerRunner.reference_backward)."""

    def forward(self, x):
        y = self.layers[0].forward(x)
        self.rows = len(x)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True, accumulate=True, rows=None):
        return self.reference_backward(grad_y, param_grads, input_grad, accumulate, rows)


class ChainRunner:
    """A Sequential with fused Linear-activation pairs and the skipped products (module docstring);
    its backward takes accumulate and rows as LayerRunner's."""

    def __init__(self, chain):
        self.chain = chain
        self.steps = []  # (index of the step's first layer, its runner)
        layers, index = chain.layers, 0
        while index < len(layers):
            if index + 1 < len(layers) and type(layers[index]) is Linear and type(layers[index + 1]) in (ReLU, Sigmoid):
                self.steps.append((index, FusedRunner(layers[index], layers[index + 1])))
                index += 2
            else:
                make = _RUNNERS.get(type(layers[index]), OwnMethodsRunner)
                self.steps.append((index, make(layers[index])))
                index += 1

    def forward(self, x):
        for _, step in self.steps:
            x = step.forward(x)
        return x

    def predict(self, x):
        for _, step in self.steps:
            x = step.predict(x)
        return x

    def backward(self, grad_out, *, param_grads=True, input_grad=True, accumulate=True, rows=None):
        """As Sequential.backward; with input_grad=False, the layers below the lowest one with
        parameters are closed without a backward and that one computes no input gradient."""
        if rows is not None and param_grads:
            raise ValueError("a backward over some rows of the pass computes no parameter gradients: "
                             "pass param_grads=False")
        lowest = 0 if input_grad else self._lowest_needing_upstream(param_grads)
        for first, step in reversed(self.steps):
            if first < lowest:
                step.skip_backward()
            else:
                grad_out = step.backward(grad_out, param_grads=param_grads, input_grad=input_grad or first > lowest,
                                         accumulate=accumulate, rows=rows)
        return grad_out if input_grad else None

    def skip_backward(self):
        self.chain.skip_backward()

    def _lowest_needing_upstream(self, param_grads):
        """The index of the lowest layer with parameters (the lowest whose upstream gradient
        anyone needs), or len(layers) when none has any or param_grads is False too."""
        if param_grads:
            for index, layer in enumerate(self.chain.layers):
                if layer.params:
                    return index
        return len(self.chain.layers)


def _c(array):
    return np.ascontiguousarray(array)


_RUNNERS = {
    Sequential: ChainRunner,
    Linear: LinearRunner,
    Maxout: MaxoutRunner,
    ReLU: ActivationRunner,
    Sigmoid: ActivationRunner,
    Dropout: DropoutRunner,
    Pack: PackRunner,
}
