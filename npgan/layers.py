"""Layers with hand-written forward and backward passes.

Every layer follows one contract (the CS231n one):

- ``forward(x)`` computes the output and keeps exactly what ``backward`` needs;
- ``backward(grad_out)`` takes dL/d(output) and returns dL/d(input), adding the
  parameter gradients into ``grads`` (``+=``: they accumulate until
  ``zero_grad()``, because D's loss is a real term plus a fake term);
- two switches skip what a caller would throw away (npgan/gan.py uses both):
  ``backward(grad_out, param_grads=False)`` leaves ``grads`` untouched (G's
  gradient taken through D, which must not move D), and
  ``backward(grad_out, input_grad=False)`` computes no dL/d(input) and returns
  None (D's own step: nothing needs the data's gradient; G's first layer: nothing
  needs the noise's). What is computed is computed the same way either way. In a
  Sequential, input_grad=False reaches down to the lowest layer with parameters:
  a parameterless layer below it (paper-mnist D's input dropout) is skipped;
- ``params`` and ``grads`` are dicts with the same keys and shapes (empty for
  parameterless layers);
- ``predict(x)`` is a forward pass that keeps nothing, for sampling, evaluation
  and finite differences.

Weights are (in_features, out_features) and a batch is (N, features): y = x @ W + b,
as in the authors' code.

One pass, one cache. A layer refuses a second ``forward`` while the previous
one has not been backpropagated: the classic GAN bug ``D.forward(real);
D.forward(fake); D.backward(...)`` would otherwise backpropagate the real batch
through the fake batch's activations. The trainer instead runs D once on the
concatenated batch [x_real; x_fake] (the layers treat examples independently,
so this is the same function) and backpropagates that single pass. A pass may
be backpropagated more than once (the simultaneous update sends D's loss and
G's loss back through the same D pass, dropout masks included).

Layers keep the dtype of their parameters: float64 for gradient checks, float32
for training. An input of another dtype is an error, not a silent cast.

The arithmetic runs through npgan.kernels: NumPy by default, or fused Numba kernels
(NPGAN_KERNELS=numba). Each formula below is that of npgan/kernels/reference.py. On
the numba backend a Sequential runs a Linear followed by a ReLU or a Sigmoid as one
kernel (forward_activation / backward_activation), filling both layers' caches as
their own forward would, so the contract and the caches stay the same.
"""

import numbers

import numpy as np

from npgan import kernels
from npgan.init import uniform, zeros


def require_generator(rng, owner):
    """Return ``rng`` if it is a numpy.random.Generator, else raise a helpful TypeError."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{owner} needs an explicit random generator, got {type(rng).__name__}: "
            "pass rng=np.random.default_rng(seed)"
        )
    return rng


def _require_float_array(x, owner, what="input"):
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{owner}: {what} must be a numpy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{owner}: {what} must be a floating-point array, got dtype {x.dtype}; "
            "cast it with .astype(np.float32) (training) or .astype(np.float64) (checks)"
        )


class Layer:
    """Base class: the parameter dicts, the per-pass cache and the train/eval switch."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True
        self._cache = None
        self._awaiting_backward = False

    # -- the cache of one pass ---------------------------------------------------------
    def _keep(self, **cache):
        """Store what backward needs; refuse to overwrite a pass not yet backpropagated."""
        if self._awaiting_backward:
            raise RuntimeError(
                f"{self}: forward called again before the previous forward was "
                "backpropagated; its cached activations would be overwritten. Call "
                "backward first, run both batches as one concatenated pass, or use "
                "predict() for a pass that needs no backward"
            )
        self._cache = cache
        self._awaiting_backward = True

    def _kept(self, grad_out):
        """The cache of the last forward, after checking grad_out against its output."""
        if self._cache is None:
            raise RuntimeError(f"{self}: backward called without a forward pass to backpropagate")
        _require_float_array(grad_out, str(self), "upstream gradient")
        expected = self._cache["output_shape"]
        if grad_out.shape != expected:
            raise ValueError(
                f"{self}: upstream gradient has shape {grad_out.shape}, "
                f"expected the shape of the last forward output {expected}"
            )
        self._awaiting_backward = False
        return self._cache

    def clear_cache(self):
        """Forget the last pass (predict() and gradient checks use this)."""
        self._cache = None
        self._awaiting_backward = False

    # -- the public contract -----------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        """dL/d(input) from dL/d(output) = grad_out, adding dL/d(params) into ``grads``.

        param_grads=False: ``grads`` are left as they are (nothing is computed for them).
        input_grad=False: dL/d(input) is not computed and None is returned.
        """
        raise NotImplementedError

    def skip_backward(self):
        """Close the last forward pass without backpropagating through it (a Sequential does
        this for layers below the lowest one whose gradient anyone needs). The cache stays,
        so the same pass can still be backpropagated again."""
        if self._cache is None:
            raise RuntimeError(f"{self}: backward skipped without a forward pass to close")
        self._awaiting_backward = False

    def predict(self, x):
        """Forward pass that keeps no cache (sampling, evaluation, finite differences)."""
        if self._awaiting_backward:
            raise RuntimeError(f"{self}: predict() called while a forward pass awaits its backward")
        output = self.forward(x)
        self.clear_cache()
        return output

    def zero_grad(self):
        for gradient in self.grads.values():
            gradient.fill(0)

    def astype(self, dtype):
        """Convert the parameters and gradients to ``dtype`` in place; returns self.

        The arrays are replaced, so build an optimizer only after converting.
        """
        for name in self.params:
            self.params[name] = self.params[name].astype(dtype)
            self.grads[name] = self.grads[name].astype(dtype)
        self.clear_cache()
        return self

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def sublayers(self):
        """The layers this one is made of (none for a plain layer)."""
        return []

    def kink_state(self):
        """Which side of each kink the last forward was on; None for smooth layers.

        Gradient checks compare it between x + h and x - h: a finite difference
        that straddles a kink of ReLU or maxout measures no derivative.
        """
        return None

    def _check_input(self, x, features=None):
        _require_float_array(x, str(self))
        if features is not None and (x.ndim != 2 or x.shape[1] != features):
            raise ValueError(f"{self}: expected input of shape (N, {features}), got {x.shape}")
        param_dtypes = {p.dtype for p in self.params.values()}
        if param_dtypes and x.dtype not in param_dtypes:
            raise ValueError(
                f"{self}: input dtype {x.dtype} does not match the parameter dtype "
                f"{param_dtypes.pop()}; cast the input, the layer never casts silently"
            )

    def __repr__(self):
        return f"{type(self).__name__}()"


class Linear(Layer):
    """y = x @ W + b.   x: (N, in_features) -> y: (N, out_features).

    W: (in_features, out_features), drawn uniform(-init_scale, init_scale);
    b: (out_features,), zeros. init_scale defaults to 1/sqrt(in_features);
    the paper's MNIST model uses 0.05 for G and 0.005 for D.
    """

    def __init__(self, in_features, out_features, *, rng, dtype=np.float32, init_scale=None):
        super().__init__()
        require_generator(rng, "Linear")
        self.in_features = _positive_int(in_features, "Linear in_features")
        self.out_features = _positive_int(out_features, "Linear out_features")
        if init_scale is None:
            init_scale = 1.0 / np.sqrt(in_features)
        self.params["W"] = uniform((in_features, out_features), init_scale, rng=rng, dtype=dtype)
        self.params["b"] = zeros((out_features,), dtype=dtype)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x):
        self._check_input(x, self.in_features)
        output = kernels.affine(x, self.params["W"], self.params["b"])
        self._keep(x=x, output_shape=output.shape)
        return output

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        """dW = x^T g,  db = sum_n g  (if param_grads);  dx = g W^T  (if input_grad, else None)."""
        x = self._kept(grad_out)["x"]
        return kernels.affine_backward(x, self.params["W"], grad_out, self.grads["W"], self.grads["b"],
                                       param_grads=param_grads, input_grad=input_grad)

    def forward_activation(self, x, activation):
        """activation(x @ W + b) in one kernel, for a ReLU or Sigmoid ``activation`` that
        follows this layer; both layers keep what their own forward would."""
        self._check_input(x, self.in_features)
        fused = kernels.affine_relu if isinstance(activation, ReLU) else kernels.affine_sigmoid
        output = fused(x, self.params["W"], self.params["b"])
        self._keep(x=x, output_shape=output.shape)
        activation._keep(output=output, output_shape=output.shape)
        return output

    def backward_activation(self, grad_out, activation, *, param_grads=True, input_grad=True):
        """activation.backward then self.backward in one kernel: dz = g * activation'(z),
        dW = x^T dz, db = sum_n dz (if param_grads), dx = dz W^T (if input_grad, else None)."""
        output = activation._kept(grad_out)["output"]
        x = self._kept(grad_out)["x"]
        fused = kernels.affine_relu_backward if isinstance(activation, ReLU) else kernels.affine_sigmoid_backward
        return fused(x, self.params["W"], output, grad_out, self.grads["W"], self.grads["b"],
                     param_grads=param_grads, input_grad=input_grad)

    def __repr__(self):
        return f"Linear({self.in_features} -> {self.out_features})"


class ReLU(Layer):
    """y = max(x, 0), elementwise.   Any shape."""

    def forward(self, x):
        self._check_input(x)
        output = kernels.relu(x)
        self._keep(output=output, output_shape=x.shape)
        return output

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        """dx = g * [x > 0] = g * [y > 0]  (the derivative at exactly 0 is taken as 0).
        No parameters: param_grads changes nothing; input_grad=False returns None."""
        output = self._kept(grad_out)["output"]
        return kernels.relu_backward(grad_out, output) if input_grad else None

    def kink_state(self):
        return None if self._cache is None else self._cache["output"] > 0


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x)), elementwise, for any float without overflow.

    exp(-|x|) never overflows: sigma(x) = 1 / (1 + e) for x >= 0 and e / (1 + e)
    for x < 0, with e = exp(-|x|).
    """

    def forward(self, x):
        self._check_input(x)
        output = kernels.sigmoid(x)
        self._keep(output=output, output_shape=x.shape)
        return output

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        """dx = g * y (1 - y).  No parameters: param_grads changes nothing; input_grad=False
        returns None."""
        output = self._kept(grad_out)["output"]
        return kernels.sigmoid_backward(grad_out, output) if input_grad else None


def sigmoid(x):
    """Numerically stable logistic sigmoid, dtype-preserving (see Sigmoid)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Maxout(Layer):
    """Maxout (Goodfellow et al., 2013).   x: (N, in_features) -> y: (N, units).

    z = x @ W + b gives units * pieces detector columns; unit j is the max of
    columns j*pieces .. j*pieces + pieces - 1 (the authors' layout):
        y[n, j] = max_k z[n, j*pieces + k].
    W: (in_features, units*pieces), b: (units*pieces,).
    """

    def __init__(self, in_features, units, pieces, *, rng, dtype=np.float32, init_scale=None):
        super().__init__()
        require_generator(rng, "Maxout")
        self.in_features = _positive_int(in_features, "Maxout in_features")
        self.units = _positive_int(units, "Maxout units")
        self.pieces = _positive_int(pieces, "Maxout pieces")
        if init_scale is None:
            init_scale = 1.0 / np.sqrt(in_features)
        detectors = units * pieces
        self.params["W"] = uniform((in_features, detectors), init_scale, rng=rng, dtype=dtype)
        self.params["b"] = zeros((detectors,), dtype=dtype)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x):
        self._check_input(x, self.in_features)
        output, winners = kernels.affine_maxout(x, self.params["W"], self.params["b"], self.pieces)
        self._keep(x=x, winners=winners, output_shape=output.shape)
        return output

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        """Each unit's gradient goes to its winning piece only:
        dz[n, j*pieces + k] = g[n, j] if k = argmax_k z[n, j*pieces + k] else 0;
        then as Linear: dW = x^T dz, db = sum_n dz (if param_grads), dx = dz W^T (if
        input_grad, else None)."""
        cache = self._kept(grad_out)
        return kernels.maxout_backward(cache["x"], self.params["W"], cache["winners"], grad_out,
                                       self.grads["W"], self.grads["b"], self.pieces,
                                       param_grads=param_grads, input_grad=input_grad)

    def kink_state(self):
        return None if self._cache is None else self._cache["winners"]

    def __repr__(self):
        return f"Maxout({self.in_features} -> {self.units} units x {self.pieces} pieces)"


class Dropout(Layer):
    """Inverted dropout: y = x * m / keep_prob with m ~ Bernoulli(keep_prob) per element.

    A fresh mask for every example on every training forward; the identity in
    evaluation mode. keep_prob is the probability of KEEPING a unit (the
    authors' include_prob). backward applies the same mask: dx = g * m / keep_prob.
    When no mask applies (eval mode, keep_prob = 1) forward returns x itself.

    For gradient checks, ``freeze_mask()`` makes later forwards reuse the last
    mask instead of drawing a new one; ``unfreeze_mask()`` undoes it.
    """

    def __init__(self, keep_prob, *, rng):
        super().__init__()
        self.keep_prob = validate_keep_prob(keep_prob)
        self.rng = require_generator(rng, "Dropout")
        self._scaled_mask = None
        self._mask_frozen = False

    def forward(self, x):
        self._check_input(x)
        output = None
        if not self.training or self.keep_prob == 1.0:
            scaled_mask = None
        elif self._mask_frozen:
            scaled_mask = self._scaled_mask
            if scaled_mask is None or scaled_mask.shape != x.shape or scaled_mask.dtype != x.dtype:
                raise ValueError(f"{self}: the frozen mask does not fit an input of shape {x.shape}")
        else:
            # The Generator draws u ~ U[0, 1) (float64, whatever the backend: one random
            # stream, the same masks on both); m = [u < keep_prob] / keep_prob.
            output, scaled_mask = kernels.dropout(x, self.rng.random(x.shape), self.keep_prob)
        self._scaled_mask = scaled_mask
        self._keep(scaled_mask=scaled_mask, output_shape=x.shape)
        if output is None:
            output = x if scaled_mask is None else x * scaled_mask
        return output

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        """dx = g * m / keep_prob, with the mask of the forward pass.  No parameters:
        param_grads changes nothing; input_grad=False returns None."""
        scaled_mask = self._kept(grad_out)["scaled_mask"]
        if not input_grad:
            return None
        return grad_out if scaled_mask is None else grad_out * scaled_mask

    def freeze_mask(self):
        self._mask_frozen = True
        return self

    def astype(self, dtype):
        """Dropout has no parameters; its (possibly frozen) mask follows the new dtype."""
        if self._scaled_mask is not None:
            self._scaled_mask = self._scaled_mask.astype(dtype)
        return super().astype(dtype)

    def unfreeze_mask(self):
        self._mask_frozen = False
        return self

    def __repr__(self):
        return f"Dropout(keep_prob={self.keep_prob})"


class Sequential(Layer):
    """A chain of layers: forward left to right, backward right to left.

    Parameters are exposed under dotted names, "<index>.<name>" ("0.W", "2.b";
    nested chains give "1.0.W"); an owner holding several networks prefixes its
    own names ("D.0.W"). The dicts are rebuilt on access but hold the layers' own
    arrays, so an in-place update through them updates the layers.
    """

    def __init__(self, *layers):
        # No Layer.__init__: a chain's params and grads are views of its layers'.
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {index} is a {type(layer).__name__}, not a Layer")
        self.layers = list(layers)
        self.training = True
        self._cache = None
        self._awaiting_backward = False

    @property
    def params(self):
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers)
                for name, value in layer.params.items()}

    @property
    def grads(self):
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers)
                for name, value in layer.grads.items()}

    def forward(self, x):
        index = 0
        while index < len(self.layers):
            layer = self.layers[index]
            if index + 1 < len(self.layers) and _fusable(layer, self.layers[index + 1]):
                x = layer.forward_activation(x, self.layers[index + 1])
                index += 2
            else:
                x = layer.forward(x)
                index += 1
        return x

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        """Right to left, each layer's input gradient the upstream gradient of the one before.

        param_grads goes to every layer. input_grad=False returns None and computes no input
        gradient that only served it: the lowest layer with parameters gets input_grad=False,
        and the parameterless layers below it (an input dropout: its gradient would only
        carry dL/dx down) are skipped (skip_backward). The layers above still compute theirs,
        which the parameters below them need.
        """
        lowest = 0 if input_grad else self._lowest_needing_upstream(param_grads)
        index = len(self.layers) - 1
        while index >= lowest:
            layer = self.layers[index]
            if index - 1 >= lowest and _fusable(self.layers[index - 1], layer):
                index -= 1
                grad_out = self.layers[index].backward_activation(
                    grad_out, layer, param_grads=param_grads, input_grad=input_grad or index > lowest)
            else:
                grad_out = layer.backward(grad_out, param_grads=param_grads,
                                          input_grad=input_grad or index > lowest)
            index -= 1
        for layer in self.layers[:lowest]:
            layer.skip_backward()
        return grad_out if input_grad else None

    def _lowest_needing_upstream(self, param_grads):
        """When nobody needs the input gradient, the index of the lowest layer that needs its
        upstream gradient: the lowest with parameters, or len(self.layers) (every layer
        skipped) when none has any or param_grads is False too."""
        if param_grads:
            for index, layer in enumerate(self.layers):
                if layer.params:
                    return index
        return len(self.layers)

    def skip_backward(self):
        """Close the last pass of every layer without backpropagating (see Layer.skip_backward)."""
        for layer in self.layers:
            layer.skip_backward()

    def predict(self, x):
        for layer in self.layers:
            x = layer.predict(x)
        return x

    def clear_cache(self):
        for layer in self.layers:
            layer.clear_cache()

    def astype(self, dtype):
        for layer in self.layers:
            layer.astype(dtype)
        return self

    def train(self):
        for layer in self.layers:
            layer.train()
        self.training = True
        return self

    def eval(self):
        for layer in self.layers:
            layer.eval()
        self.training = False
        return self

    def sublayers(self):
        return list(self.layers)

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential({inner})"


def _fusable(layer, following):
    """A Linear then a ReLU or Sigmoid, exactly those classes (a subclass may change the
    math), on a backend that fuses them."""
    return (kernels.fuses_layers() and type(layer) is Linear
            and (type(following) is ReLU or type(following) is Sigmoid))


def walk(layer):
    """Yield ``layer`` and, depth first, every layer it is made of."""
    yield layer
    for sublayer in layer.sublayers():
        yield from walk(sublayer)


def validate_keep_prob(keep_prob):
    """keep_prob must be a real number in (0, 1]; return it as a float."""
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, numbers.Real):
        raise ValueError(f"keep_prob must be a number in (0, 1], got {keep_prob!r}")
    if not 0.0 < keep_prob <= 1.0:  # also False for NaN
        raise ValueError(
            f"keep_prob must be in (0, 1] (the probability of keeping a unit), got {keep_prob}"
        )
    return float(keep_prob)


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)
