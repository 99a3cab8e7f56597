"""Squared Euclidean distances by matrix products, and the nearest training example of a sample.

Between every query q (a row of an (n, d) array) and every reference r (a row of (m, d)),

    ||q - r||^2 = ||q||^2 - 2 q . r + ||r||^2

so all n * m distances cost one matrix product instead of an (n, m, d) difference tensor.
distance_blocks computes the part that depends on r, e = ||r||^2 - 2 q . r, block by block
in float64 (memory: one block at a time); ||q||^2 is the same for every r, so a nearest-r
search never needs it, and the Parzen estimator (npgan.evaluate.parzen) adds it only to the
smallest e of each row. squared_norms gives ||p||^2 per row.

The expansion loses digits when q and r nearly coincide: their distance is a small
difference of large numbers (a zero distance can come out slightly negative). Measuring
both from a nearby point (the Parzen estimator uses the centres' mean) keeps the numbers
small; nearest_neighbours instead recomputes the distance it returns directly.

nearest_neighbours(queries, references, *, chunk_size=10000, convert=None)
    For each query row, the index of the reference row nearest in squared Euclidean
    distance, one matrix product per chunk of ``chunk_size`` references. Memory:
    n_queries * chunk_size float64 for the distances. The distance returned is
    recomputed directly, sum((q - r)^2), for the chosen r. Figure 2 uses it to show the
    training example nearest to a sample of G; the copy check of npgan.evaluate.quality
    to measure how near G's samples come to their training set (uint8 pixels converted
    block by block, products in float32).
"""

import numpy as np

from npgan.validate import require_integer, require_points


def squared_norms(points):
    """||p||^2 per row in float64, of the values as the matrix product sees them."""
    points = points.astype(np.float64, copy=False)
    return np.einsum("ij,ij->i", points, points)


def distance_blocks(queries, references, *, query_chunk, reference_chunk, convert):
    """Yield (rows, reference_start, e) for every block of queries x references, where

        e[i, j] = ||r_j||^2 - 2 q_i . r_j    (float64; add ||q_i||^2 for the squared distance)

    for the queries ``queries[rows]`` (a slice) and the references from reference_start on.
    Blocks of ``reference_chunk`` references (outer loop) by ``query_chunk`` queries (inner
    loop). ``convert`` maps a block of rows to the array the product is taken in (float64,
    or float32, and shifted if the caller wants); norms are taken of the converted values.
    Each e is a new array, the caller's to change.
    """
    n, m = queries.shape[0], references.shape[0]
    for reference_start in range(0, m, reference_chunk):
        block = convert(references[reference_start:reference_start + reference_chunk])
        block_norms = squared_norms(block)
        for query_start in range(0, n, query_chunk):
            rows = slice(query_start, query_start + query_chunk)
            e = (convert(queries[rows]) @ block.T).astype(np.float64, copy=False)
            e *= -2                        # exact (a power of two): the digits of q . (-2 r)
            e += block_norms[None, :]
            yield rows, reference_start, e
        del block  # freed before the next block is converted: one converted block alive at a time


def nearest_neighbours(queries, references, *, chunk_size=10000, convert=None):
    """The nearest reference row of each query row: (indices (n_queries,) int64, squared distances).

    queries: (n_queries, d), references: (n_references, d), finite. The search uses
    ||q - r||^2 = ||q||^2 - 2 q . r + ||r||^2 (distance_blocks), one matrix product per
    chunk of chunk_size references (memory: n_queries * chunk_size float64). ``convert``
    maps a block of rows to the values compared and the array the product is taken in
    (default: the rows as float64), as distance_blocks' does.
    The expansion loses digits when q and r nearly coincide, so of references equally
    near (up to that rounding) any may be returned, and the squared distance returned is
    recomputed directly, sum((q - r)^2), for the chosen r (an exact copy gives 0).
    """
    chunk_size = require_integer(chunk_size, "chunk_size", minimum=1)
    queries = require_points(queries, "queries")
    references = require_points(references, "references")
    if queries.shape[1] != references.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} columns but references have "
                         f"{references.shape[1]}: both must be points of the same dimension")
    if convert is None:
        def convert(block):
            return block.astype(np.float64, copy=False)
    queries = queries.astype(np.float64)
    if not np.all(np.isfinite(queries)):
        raise ValueError("queries contain NaN or infinite values")
    for start in range(0, references.shape[0], chunk_size):
        if not np.all(np.isfinite(references[start:start + chunk_size])):
            raise ValueError(f"references contain NaN or infinite values (in rows {start}.."
                             f"{min(start + chunk_size, references.shape[0]) - 1})")

    n = queries.shape[0]
    rows = np.arange(n)
    best_indices = np.zeros(n, dtype=np.int64)
    best = np.full(n, np.inf)              # the smallest e = ||r||^2 - 2 q . r so far
    for _, start, e in distance_blocks(queries, references, query_chunk=n, reference_chunk=chunk_size,
                                       convert=convert):
        nearest = np.argmin(e, axis=1)
        nearest_values = e[rows, nearest]
        better = nearest_values < best     # strict: an earlier chunk keeps a tie
        best_indices[better] = start + nearest[better]
        best[better] = nearest_values[better]
    differences = (convert(queries).astype(np.float64, copy=False)
                   - convert(references[best_indices]).astype(np.float64, copy=False))
    return best_indices, np.einsum("ij,ij->i", differences, differences)
