"""The NumPy reference of every kernel: the plain formulas, one array operation at a time.

These are the functions npgan always ran (layers.py and optim.py call them through
npgan.kernels); npgan/kernels/compiled.py has a Numba version of each, with the same
signature, and tests/test_kernels.py holds the two against each other.

Shapes: x (N, D_in), W (D_in, D_out), b (D_out,), z = x @ W + b (N, D_out). Gradients
``grad_W`` and ``grad_b`` are accumulated into (``+=``), as the layer contract says.

The backward kernels take two switches, for the passes whose products would be thrown
away (npgan/gan.py): ``param_grads=False`` leaves grad_W and grad_b untouched and skips
x^T dz and the bias sum; ``input_grad=False`` skips dz W^T and returns None. What is kept
is computed by the same operations in the same order either way.
"""

import numpy as np


# -- forward: product, bias, activation ------------------------------------------------------

def affine(x, W, b):
    """z = x @ W + b."""
    return x @ W + b


def affine_relu(x, W, b):
    """y = max(x @ W + b, 0)."""
    return relu(affine(x, W, b))


def affine_sigmoid(x, W, b):
    """y = sigmoid(x @ W + b)."""
    return sigmoid(affine(x, W, b))


def affine_maxout(x, W, b, pieces):
    """y[n, j] = max_k z[n, j*pieces + k] with z = x @ W + b; winners[n, j] = that k
    (the first, on a tie). Returns (y, winners)."""
    detectors = affine(x, W, b).reshape(len(x), -1, pieces)
    winners = detectors.argmax(axis=2)
    output = np.take_along_axis(detectors, winners[:, :, None], axis=2)[:, :, 0]
    return output, winners


def relu(x):
    """y = max(x, 0)."""
    return np.where(x > 0, x, x.dtype.type(0))


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: 1 / (1 + e) for x >= 0, e / (1 + e) below,
    with e = exp(-|x|)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


# -- backward ---------------------------------------------------------------------------------

def affine_backward(x, W, grad_z, grad_W, grad_b, *, param_grads=True, input_grad=True):
    """grad_W += x^T dz,  grad_b += sum_n dz  (if param_grads);
    returns dx = dz W^T  (if input_grad, else None)."""
    if param_grads:
        grad_W += x.T @ grad_z
        grad_b += grad_z.sum(axis=0)
    return grad_z @ W.T if input_grad else None


def relu_backward(grad_y, y):
    """dx = g * [y > 0]  (y > 0 exactly where x > 0; the derivative at 0 is taken as 0)."""
    return np.where(y > 0, grad_y, grad_y.dtype.type(0))


def sigmoid_backward(grad_y, y):
    """dx = g * y (1 - y)."""
    return grad_y * y * (1 - y)


def affine_relu_backward(x, W, y, grad_y, grad_W, grad_b, *, param_grads=True, input_grad=True):
    """Through y = relu(x @ W + b): dz = g * [y > 0], then as affine_backward."""
    return affine_backward(x, W, relu_backward(grad_y, y), grad_W, grad_b,
                           param_grads=param_grads, input_grad=input_grad)


def affine_sigmoid_backward(x, W, y, grad_y, grad_W, grad_b, *, param_grads=True, input_grad=True):
    """Through y = sigmoid(x @ W + b): dz = g * y (1 - y), then as affine_backward."""
    return affine_backward(x, W, sigmoid_backward(grad_y, y), grad_W, grad_b,
                           param_grads=param_grads, input_grad=input_grad)


def maxout_backward(x, W, winners, grad_y, grad_W, grad_b, pieces, *, param_grads=True, input_grad=True):
    """dz[n, j*pieces + k] = g[n, j] if k = winners[n, j] else 0, then as affine_backward."""
    grad_detectors = np.zeros((len(x), grad_y.shape[1], pieces), dtype=grad_y.dtype)
    np.put_along_axis(grad_detectors, winners[:, :, None], grad_y[:, :, None], axis=2)
    return affine_backward(x, W, grad_detectors.reshape(len(x), -1), grad_W, grad_b,
                           param_grads=param_grads, input_grad=input_grad)


# -- dropout and the optimizer ------------------------------------------------------------------

def dropout(x, uniform, keep_prob):
    """Inverted dropout from uniform draws u in [0, 1) (the layer's Generator makes them):
    m = [u < keep_prob] / keep_prob;  y = x * m.  Returns (y, m)."""
    scaled_mask = (uniform < keep_prob).astype(x.dtype) * x.dtype.type(1 / keep_prob)
    return x * scaled_mask, scaled_mask


def momentum_update(param, velocity, grad, learning_rate, momentum):
    """In place: v <- momentum * v - learning_rate * grad;  p <- p + v.
    learning_rate and momentum are scalars of the parameters' dtype."""
    velocity *= momentum
    velocity -= learning_rate * grad
    param += velocity
