"""Layers with hand-written forward and backward passes, in NumPy: the reference.

Every layer follows one contract (the CS231n one):

- ``forward(x)`` computes the output and keeps exactly what ``backward`` needs;
- ``backward(grad_out)`` takes g = dL/d(output) and returns dL/d(input), adding the
  parameter gradients into ``grads`` (``+=``: they accumulate until ``zero_grad()``,
  because D's loss is a real term plus a fake term);
- two switches say what the caller will throw away (npgan/gan.py uses both):
  ``backward(g, param_grads=False)`` leaves ``grads`` untouched (G's gradient taken
  through D must not move D), and ``backward(g, input_grad=False)`` returns None
  instead of dL/d(input) (nothing needs the gradient of the data or of the noise);
- ``params`` and ``grads`` are dicts with the same keys and shapes (empty for
  parameterless layers);
- ``predict(x)`` is a forward pass that keeps nothing, for sampling, evaluation and
  finite differences.

Weights are (in_features, out_features) and a batch is (N, features): y = x @ W + b,
as in the authors' code.

One pass, one cache. A layer refuses a second ``forward`` while the previous one has
not been backpropagated: the classic GAN bug ``D.forward(real); D.forward(fake);
D.backward(...)`` would otherwise backpropagate the real batch through the fake batch's
activations. The trainer instead runs D once on the concatenated batch [x_real; x_fake]
(the layers treat examples independently, so this is the same function) and
backpropagates that single pass. A pass may be backpropagated more than once (the
simultaneous update sends D's loss and G's loss back through the same D pass, dropout
masks included).

Layers keep the dtype of their parameters: float64 for gradient checks, float32 for
training. An input of another dtype is an error, not a silent cast.

This file is the reference a reader checks against the maths. The fast path
(npgan/kernels/: Numba kernels that fuse the bias, the activation and its derivative
around the same matrix products) runs these same layers, sharing their parameters,
gradients and caches, and is held equal to them by tests/test_kernels.py.
"""

import numpy as np

from npgan.init import uniform, zeros
from npgan.validate import require_generator, require_integer, require_real


class Layer:
    """Base class: the parameter dicts, the cache of one pass and the train/eval switch."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True
        self._cache = None
        self._awaiting_backward = False

    # -- the cache of one pass ---------------------------------------------------------
    def keep(self, output, **cache):
        """Store what backward needs (and the output's shape, to check the upstream gradient
        against); refuse to overwrite a pass not yet backpropagated."""
        if self._awaiting_backward:
            raise RuntimeError(
                f"{self}: forward called again before the previous forward was "
                "backpropagated; its cached activations would be overwritten. Call "
                "backward first, run both batches as one concatenated pass, or use "
                "predict() for a pass that needs no backward"
            )
        self._cache = {"output_shape": output.shape, **cache}
        self._awaiting_backward = True

    def kept(self, grad_out):
        """The cache of the last forward, after checking grad_out against its output."""
        if self._cache is None:
            raise RuntimeError(f"{self}: backward called without a forward pass to backpropagate")
        _require_float_array(grad_out, str(self), "upstream gradient")
        if grad_out.shape != self._cache["output_shape"]:
            raise ValueError(
                f"{self}: upstream gradient has shape {grad_out.shape}, "
                f"expected the shape of the last forward output {self._cache['output_shape']}"
            )
        self._awaiting_backward = False
        return self._cache

    @property
    def awaiting_backward(self):
        """True between a forward and its backward (or skip_backward)."""
        return self._awaiting_backward

    def skip_backward(self):
        """Close the last pass without backpropagating through it (when nobody needs this
        layer's gradients). The cache stays: the same pass can still be backpropagated."""
        if self._cache is None:
            raise RuntimeError(f"{self}: backward skipped without a forward pass to close")
        self._awaiting_backward = False

    def clear_cache(self):
        """Forget the last pass (predict() and gradient checks use this)."""
        self._cache = None
        self._awaiting_backward = False
        for sublayer in self.sublayers():
            sublayer.clear_cache()

    # -- the public contract -----------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        raise NotImplementedError

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
        """Training mode (dropout draws masks), for this layer and the layers it is made of."""
        self.training = True
        for sublayer in self.sublayers():
            sublayer.train()
        return self

    def eval(self):
        """Evaluation mode (dropout is the identity), for this layer and its sublayers."""
        self.training = False
        for sublayer in self.sublayers():
            sublayer.eval()
        return self

    def sublayers(self):
        """The layers this one is made of (none for a plain layer)."""
        return []

    def kink_state(self):
        """Which side of each kink the last forward was on; None for smooth layers.

        Gradient checks compare it between x + h and x - h: a finite difference that
        straddles a kink of ReLU or maxout measures no derivative.
        """
        return None

    def check_input(self, x, features=None):
        """A float array of the parameters' dtype (and of width ``features``, if given)."""
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
        self.in_features = require_integer(in_features, "Linear in_features", minimum=1)
        self.out_features = require_integer(out_features, "Linear out_features", minimum=1)
        if init_scale is None:
            init_scale = 1.0 / np.sqrt(in_features)
        self.params["W"] = uniform((in_features, out_features), init_scale, rng=rng, dtype=dtype)
        self.params["b"] = zeros((out_features,), dtype=dtype)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x):
        self.check_input(x, self.in_features)
        y = x @ self.params["W"] + self.params["b"]
        self.keep(y, x=x)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        """dW = x^T g: (in, out),  db = sum_n g: (out,),  dx = g W^T: (N, in);  g = dL/dy: (N, out)."""
        x = self.kept(grad_y)["x"]
        if param_grads:
            self.grads["W"] += x.T @ grad_y
            self.grads["b"] += grad_y.sum(axis=0)
        return grad_y @ self.params["W"].T if input_grad else None

    def __repr__(self):
        return f"Linear({self.in_features} -> {self.out_features})"


class ReLU(Layer):
    """y = max(x, 0), elementwise.   Any shape."""

    def forward(self, x):
        self.check_input(x)
        y = np.where(x > 0, x, x.dtype.type(0))
        self.keep(y, y=y)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        """dx = g * [x > 0] = g * [y > 0]  (the derivative at exactly 0 is taken as 0)."""
        y = self.kept(grad_y)["y"]
        return np.where(y > 0, grad_y, grad_y.dtype.type(0)) if input_grad else None

    def kink_state(self):
        return None if self._cache is None else self._cache["y"] > 0


def sigmoid(x):
    """1 / (1 + exp(-x)) for any float without overflow, dtype-preserving: with e = exp(-|x|)
    (never overflows), sigma(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Layer):
    """y = sigmoid(x) = 1 / (1 + exp(-x)), elementwise (the stable form above).   Any shape."""

    def forward(self, x):
        self.check_input(x)
        y = sigmoid(x)
        self.keep(y, y=y)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        """dx = g * y (1 - y)."""
        y = self.kept(grad_y)["y"]
        return grad_y * y * (1 - y) if input_grad else None


class Maxout(Layer):
    """Maxout (Goodfellow et al., 2013).   x: (N, in_features) -> y: (N, units).

    z = x @ W + b gives units * pieces detector columns; unit j is the max of columns
    j*pieces .. j*pieces + pieces - 1 (the authors' layout):
        y[n, j] = max_k z[n, j*pieces + k].
    W: (in_features, units*pieces), b: (units*pieces,).
    """

    def __init__(self, in_features, units, pieces, *, rng, dtype=np.float32, init_scale=None):
        super().__init__()
        require_generator(rng, "Maxout")
        self.in_features = require_integer(in_features, "Maxout in_features", minimum=1)
        self.units = require_integer(units, "Maxout units", minimum=1)
        self.pieces = require_integer(pieces, "Maxout pieces", minimum=1)
        if init_scale is None:
            init_scale = 1.0 / np.sqrt(in_features)
        self.params["W"] = uniform((in_features, units * pieces), init_scale, rng=rng, dtype=dtype)
        self.params["b"] = zeros((units * pieces,), dtype=dtype)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x):
        self.check_input(x, self.in_features)
        z = (x @ self.params["W"] + self.params["b"]).reshape(len(x), self.units, self.pieces)
        winners = z.argmax(axis=2)  # (N, units): the winning piece k (the first, on a tie)
        y = np.take_along_axis(z, winners[:, :, None], axis=2)[:, :, 0]
        self.keep(y, x=x, winners=winners)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        """Each unit's gradient goes to its winning piece only:
            dz[n, j*pieces + k] = g[n, j] if k = winners[n, j], else 0;
        then as Linear: dW = x^T dz, db = sum_n dz, dx = dz W^T."""
        cache = self.kept(grad_y)
        x, winners = cache["x"], cache["winners"]
        grad_z = np.zeros((len(x), self.units, self.pieces), dtype=grad_y.dtype)
        np.put_along_axis(grad_z, winners[:, :, None], grad_y[:, :, None], axis=2)
        grad_z = grad_z.reshape(len(x), -1)
        if param_grads:
            self.grads["W"] += x.T @ grad_z
            self.grads["b"] += grad_z.sum(axis=0)
        return grad_z @ self.params["W"].T if input_grad else None

    def kink_state(self):
        return None if self._cache is None else self._cache["winners"]

    def __repr__(self):
        return f"Maxout({self.in_features} -> {self.units} units x {self.pieces} pieces)"


class Dropout(Layer):
    """Inverted dropout: y = x * m,  m = [u < keep_prob] / keep_prob,  u ~ U[0, 1) per element.

    keep_prob is the probability of KEEPING a unit (the authors' include_prob). A fresh
    mask for every example on every training forward, drawn from the layer's own
    Generator; the identity (y is x itself) in evaluation mode or when keep_prob = 1.
    For gradient checks, ``freeze_mask()`` makes later forwards reuse the last mask.
    """

    def __init__(self, keep_prob, *, rng):
        super().__init__()
        self.keep_prob = validate_keep_prob(keep_prob)
        self.rng = require_generator(rng, "Dropout")
        self._scaled_mask = None  # m of the last pass (None: no mask applied)
        self._mask_frozen = False

    def draws_mask(self):
        """True when the next forward draws a fresh mask (training, keep_prob < 1, not frozen)."""
        return self.training and self.keep_prob < 1.0 and not self._mask_frozen

    def forward(self, x):
        self.check_input(x)
        if self.draws_mask():
            u = self.rng.random(x.shape)  # float64 whatever x's dtype: the same masks on every path
            scaled_mask = (u < self.keep_prob).astype(x.dtype) * x.dtype.type(1 / self.keep_prob)
        elif self.training and self.keep_prob < 1.0:
            scaled_mask = self._frozen_mask(x)
        else:
            scaled_mask = None
        y = x if scaled_mask is None else x * scaled_mask
        self.keep_mask(y, scaled_mask)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        """dx = g * m, with the mask m of the forward pass."""
        scaled_mask = self.kept(grad_y)["scaled_mask"]
        if not input_grad:
            return None
        return grad_y if scaled_mask is None else grad_y * scaled_mask

    def keep_mask(self, y, scaled_mask):
        self._scaled_mask = scaled_mask
        self.keep(y, scaled_mask=scaled_mask)

    def _frozen_mask(self, x):
        if self._scaled_mask is None or self._scaled_mask.shape != x.shape or self._scaled_mask.dtype != x.dtype:
            raise ValueError(f"{self}: the frozen mask does not fit an input of shape {x.shape}")
        return self._scaled_mask

    def freeze_mask(self):
        self._mask_frozen = True
        return self

    def unfreeze_mask(self):
        self._mask_frozen = False
        return self

    def astype(self, dtype):
        """No parameters; a (possibly frozen) mask follows the new dtype."""
        if self._scaled_mask is not None:
            self._scaled_mask = self._scaled_mask.astype(dtype)
        return super().astype(dtype)

    def __repr__(self):
        return f"Dropout(keep_prob={self.keep_prob})"


class Pack(Layer):
    """Packing (PacGAN, Lin et al. 2018): D judges ``pack`` samples at once, as one input.
    x: (N, d) -> y: (N / pack, pack * d), N a multiple of pack.

    Pack j is samples j*pack .. j*pack + pack - 1 side by side:
        y[j, i*d + k] = x[j*pack + i, k]        (0 <= i < pack, 0 <= k < d)
    which is the row-major reshape of x (a view, nothing copied). The first layer of a
    packed D takes pack * d inputs and sees the samples of a pack together.
    """

    def __init__(self, pack):
        super().__init__()
        self.pack = require_integer(pack, "Pack: samples per pack", minimum=1)

    def forward(self, x):
        self.check_input(x)
        if x.ndim != 2 or len(x) % self.pack:
            raise ValueError(f"{self}: expected (N, d) input with N a multiple of {self.pack} (whole packs), "
                             f"got shape {x.shape}")
        y = x.reshape(len(x) // self.pack, self.pack * x.shape[1])
        self.keep(y, input_shape=x.shape)
        return y

    def backward(self, grad_y, *, param_grads=True, input_grad=True):
        """Each x[n, k] appears once in y, at y[n // pack, (n % pack)*d + k], with weight 1, so
            dL/dx[n, k] = g[n // pack, (n % pack)*d + k]:
        the inverse reshape of g = dL/dy: (N / pack, pack * d) -> (N, d)."""
        input_shape = self.kept(grad_y)["input_shape"]
        return self.unpack(grad_y, input_shape[1]) if input_grad else None

    def unpack(self, grad_y, features):
        """The inverse reshape (packs, pack * features) -> (packs * pack, features) of any rows of g."""
        return grad_y.reshape(len(grad_y) * self.pack, features)

    def __repr__(self):
        return f"Pack({self.pack})"


class Sequential(Layer):
    """A chain of layers: forward left to right, backward right to left.

    Parameters are exposed under dotted names, "<index>.<name>" ("0.W", "2.b"; nested
    chains give "1.0.W"); an owner holding several networks prefixes its own names
    ("D.0.W"). The dicts are rebuilt on access but hold the layers' own arrays, so an
    in-place update through them updates the layers.
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
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers) for name, value in layer.params.items()}

    @property
    def grads(self):
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers) for name, value in layer.grads.items()}

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out, *, param_grads=True, input_grad=True):
        """Right to left: each layer's input gradient is the upstream gradient of the one before
        it. param_grads goes to every layer; input_grad only to the first."""
        for index in reversed(range(len(self.layers))):
            grad_out = self.layers[index].backward(grad_out, param_grads=param_grads,
                                                   input_grad=input_grad or index > 0)
        return grad_out

    def predict(self, x):
        for layer in self.layers:
            x = layer.predict(x)
        return x

    def skip_backward(self):
        for layer in self.layers:
            layer.skip_backward()

    def astype(self, dtype):
        for layer in self.layers:
            layer.astype(dtype)
        return self

    def sublayers(self):
        return list(self.layers)

    def __repr__(self):
        return f"Sequential({', '.join(repr(layer) for layer in self.layers)})"


def walk(layer):
    """Yield ``layer`` and, depth first, every layer it is made of."""
    yield layer
    for sublayer in layer.sublayers():
        yield from walk(sublayer)


def validate_keep_prob(keep_prob):
    """keep_prob must be a real number in (0, 1] (the probability of keeping a unit); as a float."""
    keep_prob = require_real(keep_prob, "keep_prob", positive=True)
    if keep_prob > 1.0:
        raise ValueError(f"keep_prob must be in (0, 1] (the probability of keeping a unit), got {keep_prob}")
    return keep_prob


def _require_float_array(x, owner, what="input"):
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{owner}: {what} must be a numpy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{owner}: {what} must be a floating-point array, got dtype {x.dtype}; "
            "cast it with .astype(np.float32) (training) or .astype(np.float64) (checks)"
        )
