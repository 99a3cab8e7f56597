"""Numba kernels for the arithmetic of npgan/layers.py (the reference) and the momentum update.

Each kernel computes what a layer's forward or backward computes (the docstrings of
npgan/layers.py give the formulas; runners.py says which kernel serves which layer):

    affine(x, W, b)                      z = x @ W + b
    affine_relu / affine_sigmoid         y = activation(x @ W + b)
    affine_maxout(x, W, b, pieces)       (y, winners): y[n, j] = max_k z[n, j*pieces + k]
    relu / sigmoid                       elementwise
    relu_backward / sigmoid_backward     dx = g * activation'(y)
    affine_backward, affine_relu_backward, affine_sigmoid_backward, maxout_backward:
                                         grad_W += x^T dz, grad_b += sum_n dz (if param_grads;
                                         with accumulate=False, = instead of +=: the product
                                         written straight into grad_W); returns dx = dz W^T
                                         (if input_grad, else None)
    dropout(x, u, keep_prob)             (x * m, m) with m = [u < keep_prob] / keep_prob
    momentum_update(p, v, g, lr, mu)     in place: v <- mu v - lr g;  p <- p + v; returns
                                         whether every new p is finite
    adam_update(p, m, s, g, ...)         in place: npgan.optim.Adam's update, the same bits;
                                         returns whether every new p is finite
    average_update(a, p, share)          in place: a <- a + (p - a) * share (ParameterAverage)

What they save over the NumPy reference is the traffic around the matrix products:
the bias, the activation (or the maxout max and its winner), the activation's
gradient, the maxout scatter and the bias sum each take one pass over data already in
cache, with no temporaries (``np.where`` masks, ``reshape``/``take_along_axis`` copies,
``lr * grad``); dropout thresholds and scales the Generator's uniforms in the same pass
that applies the mask; the momentum update is one pass over v and p, the parameter average's
one pass over a and p (NumPy makes three, through a scratch array).

The products themselves are NumPy's (``x @ W``, NumPy's BLAS), called just before or
after the compiled pass. ``np.dot`` inside the Numba kernels was the first version: Numba
hands it to SciPy's BLAS build, which ran the paper's products up to 25% slower than NumPy's
here (benchmarks/gemm.py), and a hand-written blocked GEMM (kernels/gemm.py) 4-9 times
slower; with NumPy's products both backends also multiply bit-identically.

No kernel uses ``fastmath``: every elementwise operation is the reference's own, in the
same order and the same dtype (no contraction into fused multiply-adds), and the products
are the same NumPy calls, so apart from ``exp`` (another libm) the two paths agree to the
last bit; tests/test_kernels.py checks how closely.

No kernel is ``parallel=True``: at 2 threads, Numba's OpenMP threads beside OpenBLAS's on a
2-core machine made the whole iteration run at half speed, and with passive OpenMP threads
they gained nothing (benchmarks/RESULTS.md, "Speed, round two").

Every kernel is compiled with ``cache=True``: the machine code is kept in
npgan/kernels/__pycache__ and a later process loads it instead of compiling;
compile_every_kernel() compiles (or loads) them all at once.
Arrays must be C-contiguous and of one dtype, float32 or float64 (npgan.kernels sees
to it and uses the reference otherwise).
"""

import numpy as np
from numba import njit


# -- forward: the product from NumPy, then one compiled pass (bias, activation) in place ------

def affine(x, W, b):
    z = x @ W
    _add_bias(z, b)
    return z


def affine_relu(x, W, b):
    z = x @ W
    _bias_relu(z, b)
    return z


def affine_sigmoid(x, W, b):
    z = x @ W
    _bias_sigmoid(z, b)
    return z


def affine_maxout(x, W, b, pieces):
    return _bias_maxout(x @ W, b, pieces)


@njit(cache=True)
def _add_bias(z, b):
    rows, columns = z.shape
    for n in range(rows):
        for i in range(columns):
            z[n, i] = z[n, i] + b[i]


@njit(cache=True)
def _bias_relu(z, b):
    rows, columns = z.shape
    for n in range(rows):
        for i in range(columns):
            value = z[n, i] + b[i]
            z[n, i] = value if value > 0 else 0


@njit(cache=True)
def _bias_sigmoid(z, b):
    one = np.ones(1, z.dtype)[0]  # a 1 of the arrays' dtype: a literal 1 would widen float32
    rows, columns = z.shape
    for n in range(rows):
        for i in range(columns):
            value = z[n, i] + b[i]
            e = np.exp(-np.abs(value))
            z[n, i] = (one if value >= 0 else e) / (one + e)  # one division, its numerator selected


@njit(cache=True)
def _bias_maxout(z, b, pieces):
    output, winners, nans = _maxout(z, b, pieces, False)
    if nans:  # rare: a z holding a NaN is done again with the rule that covers it
        output, winners, _ = _maxout(z, b, pieces, True)
    return output, winners


@njit(cache=True)
def _maxout(z, b, pieces, nan_rule):
    # The first maximum wins (as argmax), and with nan_rule a NaN beats any number. Without NaNs,
    # `value > best` is the whole rule: the first pass counts NaNs instead (a count, not a branch)
    # and runs 4x faster than with the NaN rule inside the loop (0.38 against 1.47 ms, 200 x 1,200).
    rows = z.shape[0]
    units = z.shape[1] // pieces
    output = np.empty((rows, units), z.dtype)
    winners = np.empty((rows, units), np.int64)
    nans = 0
    for n in range(rows):
        for j in range(units):
            first = j * pieces
            best = z[n, first] + b[first]
            nans += best != best
            best_piece = 0
            for k in range(1, pieces):
                value = z[n, first + k] + b[first + k]
                nans += value != value
                if nan_rule:
                    take = (value > best) | ((value != value) & (best == best))
                else:
                    take = value > best
                best = value if take else best  # selects, not branches: random data would
                best_piece = k if take else best_piece  # mispredict half of them
            output[n, j] = best
            winners[n, j] = best_piece
    return output, winners, nans


@njit(cache=True)
def relu(x):
    flat = x.reshape(-1)
    output = np.empty_like(flat)
    for i in range(flat.size):
        output[i] = flat[i] if flat[i] > 0 else 0
    return output.reshape(x.shape)


@njit(cache=True)
def sigmoid(x):
    flat = x.reshape(-1)
    output = np.empty_like(flat)
    one = np.ones(1, x.dtype)[0]
    for i in range(flat.size):
        e = np.exp(-np.abs(flat[i]))
        output[i] = (one if flat[i] >= 0 else e) / (one + e)
    return output.reshape(x.shape)


@njit(cache=True)
def relu_backward(grad_y, y):
    flat_grad, flat_y = grad_y.reshape(-1), y.reshape(-1)
    output = np.empty_like(flat_grad)
    for i in range(flat_grad.size):
        output[i] = flat_grad[i] if flat_y[i] > 0 else 0
    return output.reshape(grad_y.shape)


@njit(cache=True)
def sigmoid_backward(grad_y, y):
    flat_grad, flat_y = grad_y.reshape(-1), y.reshape(-1)
    output = np.empty_like(flat_grad)
    one = np.ones(1, grad_y.dtype)[0]
    for i in range(flat_grad.size):
        output[i] = flat_grad[i] * flat_y[i] * (one - flat_y[i])
    return output.reshape(grad_y.shape)


# -- backward: one compiled pass for dz and the bias sum, then the products from NumPy ------
# param_grads=False skips the bias sum and x^T dz, input_grad=False skips dz W^T (returns
# None), as the layers' backward methods do. accumulate=False sets grad_W and grad_b to this
# pass's gradients instead of adding to them: the product writes straight into grad_W
# (np.matmul(..., out=)), with no temporary the size of W, no += and no zeroing beforehand.

def _products_backward(x, W, grad_z, grad_W, param_grads, input_grad, accumulate):
    """grad_W += x^T dz, or grad_W = x^T dz (if param_grads); returns dx = dz W^T (if input_grad, else None)."""
    if param_grads:
        if accumulate:
            grad_W += x.T @ grad_z
        else:
            np.matmul(x.T, grad_z, out=grad_W)
    return grad_z @ W.T if input_grad else None


def affine_backward(x, W, grad_z, grad_W, grad_b, *, param_grads=True, input_grad=True, accumulate=True):
    if param_grads:
        _add_column_sums(grad_z, grad_b, accumulate)
    return _products_backward(x, W, grad_z, grad_W, param_grads, input_grad, accumulate)


def affine_relu_backward(x, W, y, grad_y, grad_W, grad_b, *, param_grads=True, input_grad=True, accumulate=True):
    grad_z = _relu_grad_z(y, grad_y, grad_b, param_grads, accumulate)
    return _products_backward(x, W, grad_z, grad_W, param_grads, input_grad, accumulate)


def affine_sigmoid_backward(x, W, y, grad_y, grad_W, grad_b, *, param_grads=True, input_grad=True,
                            accumulate=True):
    grad_z = _sigmoid_grad_z(y, grad_y, grad_b, param_grads, accumulate)
    return _products_backward(x, W, grad_z, grad_W, param_grads, input_grad, accumulate)


def maxout_backward(x, W, winners, grad_y, grad_W, grad_b, pieces, *, param_grads=True, input_grad=True,
                    accumulate=True):
    grad_z = _maxout_grad_z(winners, grad_y, grad_b, pieces, param_grads, accumulate)
    return _products_backward(x, W, grad_z, grad_W, param_grads, input_grad, accumulate)


@njit(cache=True)
def _store_column_sums(column_sums, grad_b, accumulate):
    """grad_b += column_sums, or grad_b = column_sums."""
    for i in range(column_sums.size):
        grad_b[i] = grad_b[i] + column_sums[i] if accumulate else column_sums[i]


@njit(cache=True)
def _add_column_sums(grad_z, grad_b, accumulate):
    """grad_b += sum_n dz (or =), summed row by row as numpy sums axis 0 of a C-ordered array."""
    rows, columns = grad_z.shape
    column_sums = np.zeros(columns, grad_z.dtype)
    for n in range(rows):
        for i in range(columns):
            column_sums[i] += grad_z[n, i]
    _store_column_sums(column_sums, grad_b, accumulate)


@njit(cache=True)
def _relu_grad_z(y, grad_y, grad_b, param_grads, accumulate):
    """dz = g [y > 0], and grad_b += sum_n dz (if param_grads), in one pass."""
    rows, columns = grad_y.shape
    grad_z = np.empty_like(grad_y)
    column_sums = np.zeros(columns, grad_y.dtype)
    for n in range(rows):
        for i in range(columns):
            g = grad_y[n, i] if y[n, i] > 0 else 0
            grad_z[n, i] = g
            if param_grads:
                column_sums[i] += g
    if param_grads:
        _store_column_sums(column_sums, grad_b, accumulate)
    return grad_z


@njit(cache=True)
def _sigmoid_grad_z(y, grad_y, grad_b, param_grads, accumulate):
    """dz = g y (1 - y), and grad_b += sum_n dz (if param_grads), in one pass."""
    rows, columns = grad_y.shape
    grad_z = np.empty_like(grad_y)
    column_sums = np.zeros(columns, grad_y.dtype)
    one = np.ones(1, grad_y.dtype)[0]
    for n in range(rows):
        for i in range(columns):
            g = grad_y[n, i] * y[n, i] * (one - y[n, i])
            grad_z[n, i] = g
            if param_grads:
                column_sums[i] += g
    if param_grads:
        _store_column_sums(column_sums, grad_b, accumulate)
    return grad_z


@njit(cache=True)
def _maxout_grad_z(winners, grad_y, grad_b, pieces, param_grads, accumulate):
    """dz[n, j*pieces + winners[n, j]] = g[n, j], 0 elsewhere, and grad_b += sum_n dz
    (if param_grads)."""
    rows, units = grad_y.shape
    grad_z = np.zeros((rows, units * pieces), grad_y.dtype)
    column_sums = np.zeros(units * pieces, grad_y.dtype)
    for n in range(rows):
        for j in range(units):
            column = j * pieces + winners[n, j]
            grad_z[n, column] = grad_y[n, j]
            if param_grads:
                column_sums[column] += grad_y[n, j]
    if param_grads:
        _store_column_sums(column_sums, grad_b, accumulate)
    return grad_z


@njit(cache=True)
def dropout(x, uniform, keep_prob):
    flat, flat_uniform = x.reshape(-1), uniform.reshape(-1)
    output = np.empty_like(flat)
    scaled_mask = np.empty_like(flat)
    scale = np.full(1, 1 / keep_prob, x.dtype)[0]  # 1 / keep_prob rounded to the dtype, as the reference
    for i in range(flat.size):
        mask = scale if flat_uniform[i] < keep_prob else 0
        scaled_mask[i] = mask
        output[i] = flat[i] * scaled_mask[i]
    return output.reshape(x.shape), scaled_mask.reshape(x.shape)


@njit(cache=True)
def momentum_update(param, velocity, grad, learning_rate, momentum):
    flat_param, flat_velocity, flat_grad = param.reshape(-1), velocity.reshape(-1), grad.reshape(-1)
    non_finite = 0  # counts p - p != 0: a NaN or an inf gives NaN, a finite p gives 0
    for i in range(flat_param.size):
        step = flat_velocity[i] * momentum - learning_rate * flat_grad[i]
        flat_velocity[i] = step
        updated = flat_param[i] + step
        flat_param[i] = updated
        non_finite += (updated - updated) != 0  # no branch: the loop stays vectorised
    return non_finite == 0


@njit(cache=True, error_model="numpy")
def adam_update(param, first, second, grad, beta1, one_minus_beta1, beta2, one_minus_beta2, correction1,
                correction2, learning_rate, epsilon):
    # npgan.optim.Adam's NumPy statements, operation for operation in the same order (so the same
    # roundings: the same bits), in one pass instead of eleven over the arrays and their temporaries.
    # error_model="numpy": a division by zero gives inf or NaN as in NumPy, with no check of the
    # divisor (Python's ZeroDivisionError) that keeps the loop from vectorising (3-4x slower)
    flat_param, flat_first, flat_second, flat_grad = param.reshape(-1), first.reshape(-1), second.reshape(-1), \
        grad.reshape(-1)
    non_finite = 0  # as momentum_update
    for i in range(flat_param.size):
        g = flat_grad[i]
        m = flat_first[i] * beta1 + one_minus_beta1 * g
        s = flat_second[i] * beta2 + one_minus_beta2 * (g * g)
        flat_first[i] = m
        flat_second[i] = s
        updated = flat_param[i] - learning_rate * (m / correction1) / (np.sqrt(s / correction2) + epsilon)
        flat_param[i] = updated
        non_finite += (updated - updated) != 0
    return non_finite == 0


@njit(cache=True)
def average_update(average, param, share):
    flat_average, flat_param = average.reshape(-1), param.reshape(-1)
    for i in range(flat_average.size):
        flat_average[i] += (flat_param[i] - flat_average[i]) * share


def compile_every_kernel():
    """Call every kernel once, on tiny arrays of each dtype and in every form the runners and the
    optimizer call it: a cold cache compiles (and caches) them all at once, a warm one loads
    them. npgan.kernels.backend runs it after announcing a compile, so that one process compiles
    everything and later ones find it all cached."""
    for dtype in (np.float32, np.float64):
        x, W, b = np.ones((2, 3), dtype), np.ones((3, 4), dtype), np.zeros(4, dtype)
        grad_W, grad_b = np.zeros_like(W), np.zeros_like(b)
        for forward in (affine, affine_relu, affine_sigmoid):
            z = forward(x, W, b)
        y, winners = affine_maxout(x, W, b, 2)
        for accumulate in (True, False):
            affine_backward(x, W, z, grad_W, grad_b, accumulate=accumulate)
            affine_relu_backward(x, W, z, z, grad_W, grad_b, accumulate=accumulate)
            affine_sigmoid_backward(x, W, z, z, grad_W, grad_b, accumulate=accumulate)
            maxout_backward(x, W, winners, y, grad_W, grad_b, 2, accumulate=accumulate)
        relu_backward(relu(z), sigmoid_backward(sigmoid(z), z))
        dropout(x, np.zeros(x.shape), 0.5)
        for param in (W, b):
            momentum_update(param.copy(), np.zeros_like(param), param, dtype(0.1), dtype(0.5))
            adam_update(param.copy(), np.zeros_like(param), np.zeros_like(param), param,
                        *(dtype(value) for value in (0.5, 0.5, 0.9, 0.1, 0.5, 0.1, 0.1, 1e-8)))
            average_update(param.copy(), param, dtype(0.5))
