"""A hand-written matrix product in Numba: blocked, its row blocks spread over threads
(prange). Not used by the layers: benchmarks/gemm.py times it against BLAS (np.dot, from
NumPy and from inside a Numba kernel) to let the numbers choose, and BLAS won.

    C[i, j] = sum_k A[i, k] B[k, j]

Blocks of ROWS x DEPTH of A and DEPTH x COLUMNS of B are multiplied while they sit in
cache; the innermost loop runs along a row of B and of C (contiguous), which LLVM
vectorises without fastmath because it is a scaled add, not a reduction. What BLAS has
and this has not: register blocking (a micro-kernel keeping a tile of C in registers),
packing of A and B into contiguous panels, and hand-tuned assembly.

Threads: NUMBA_NUM_THREADS (or numba.set_num_threads).
"""

import numpy as np
from numba import njit, prange

ROWS = 16
DEPTH = 128
COLUMNS = 512


@njit(parallel=True, cache=True)
def blocked_matmul(a, b):
    """a (M, K) @ b (K, N) -> (M, N), in the dtype of a."""
    rows, depth = a.shape
    columns = b.shape[1]
    c = np.zeros((rows, columns), a.dtype)
    for block in prange((rows + ROWS - 1) // ROWS):
        i_start = block * ROWS
        i_end = min(i_start + ROWS, rows)
        for k_start in range(0, depth, DEPTH):
            k_end = min(k_start + DEPTH, depth)
            for j_start in range(0, columns, COLUMNS):
                j_end = min(j_start + COLUMNS, columns)
                width = j_end - j_start
                for i in range(i_start, i_end):
                    c_row = c[i, j_start:j_end]
                    for k in range(k_start, k_end):
                        a_ik = a[i, k]
                        b_row = b[k, j_start:j_end]
                        for j in range(width):
                            c_row[j] += a_ik * b_row[j]
    return c


@njit(cache=True)
def blas_matmul(a, b):
    """np.dot in nopython mode: Numba calls BLAS (SciPy's)."""
    return np.dot(a, b)
