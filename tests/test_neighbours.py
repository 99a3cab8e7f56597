"""npgan.evaluate.neighbours: the nearest reference of each query against brute force (chunks,
far from the origin, close runners-up, duplicates, bad input), and the distance blocks."""

import numpy as np
import pytest

from npgan.evaluate.neighbours import distance_blocks, nearest_neighbours, squared_norms

from tests.figure_checks import brute_force_nearest


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 299, 300, 10000])
def test_nearest_neighbours_agrees_with_brute_force(chunk_size):
    rng = np.random.default_rng(chunk_size)
    queries = rng.standard_normal((25, 9)).astype(np.float32)
    references = rng.standard_normal((300, 9)).astype(np.float32)
    references[::3] += 50.0  # far points, which must never win
    indices, distances = nearest_neighbours(queries, references, chunk_size=chunk_size)
    expected_indices, expected_distances, _ = brute_force_nearest(queries, references)
    assert indices.dtype == np.int64 and indices.shape == (25,)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-12, atol=0)


@pytest.mark.parametrize("chunk_size", [3, 10000])
def test_nearest_neighbours_finds_planted_copies_far_from_the_origin(chunk_size):
    rng = np.random.default_rng(1)
    queries = 1e4 + rng.standard_normal((6, 5))  # large norms: the expansion cancels badly here
    references = 1e4 + rng.standard_normal((40, 5))
    planted = np.array([39, 0, 17, 5, 22, 31])
    references[planted[:3]] = queries[:3]  # exact copies
    references[planted[3:]] = queries[3:] + 1e-6  # near copies
    indices, distances = nearest_neighbours(queries, references, chunk_size=chunk_size)
    np.testing.assert_array_equal(indices, planted)
    np.testing.assert_array_equal(distances[:3], 0.0)  # recomputed directly, not clamped rounding
    np.testing.assert_allclose(distances[3:], 5e-12, rtol=1e-3)
    assert np.all(distances >= 0)


@pytest.mark.parametrize("nearest_first", [True, False])
def test_nearest_neighbours_close_runner_up_in_another_chunk(nearest_first):
    """Chunks are merged by distance: a runner-up 3e-4 farther must lose whichever chunk it is in."""
    query = np.full((1, 3), 0.5)
    references = np.random.default_rng(3).uniform(size=(9, 3)) + 2.0  # far
    nearest, runner_up = (1, 7) if nearest_first else (7, 1)
    references[nearest] = query[0] + [0.01, 0, 0]  # squared distance 1e-4
    references[runner_up] = query[0] + [0.02, 0, 0]  # 4e-4
    indices, distances = nearest_neighbours(query, references, chunk_size=2)
    assert indices[0] == nearest
    np.testing.assert_allclose(distances, [1e-4], rtol=1e-9)


def test_nearest_neighbours_with_duplicated_references():
    rng = np.random.default_rng(2)
    queries = rng.uniform(size=(10, 4))
    base = rng.uniform(size=(30, 4))
    references = np.concatenate([base, base, base])  # every nearest point appears three times
    indices, distances = nearest_neighbours(queries, references, chunk_size=20)
    expected_indices, expected_distances, squared = brute_force_nearest(queries, references)
    np.testing.assert_array_equal(indices % 30, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-12)
    np.testing.assert_allclose(squared[np.arange(10), indices], expected_distances, rtol=1e-12)


@pytest.mark.parametrize("queries, references, chunk_size, message", [
    (np.zeros((3, 4)), np.zeros((5, 3)), 10, "same dimension"),
    (np.zeros((0, 4)), np.zeros((5, 4)), 10, "queries is empty"),
    (np.zeros((3, 4)), np.zeros((0, 4)), 10, "references is empty"),
    (np.zeros(4), np.zeros((5, 4)), 10, "queries must be a 2-D"),
    (np.zeros((3, 4)), np.zeros((5, 4)), 0, "chunk_size"),
    (np.zeros((3, 4)), np.full((5, 4), np.nan), 2, r"NaN or infinite values \(in rows 0..1\)"),
    (np.full((3, 4), np.inf), np.zeros((5, 4)), 10, "queries contain NaN"),
], ids=["width", "no-queries", "no-references", "one-dimensional", "chunk", "nan-reference", "inf-query"])
def test_nearest_neighbours_rejects_bad_input(queries, references, chunk_size, message):
    with pytest.raises(ValueError, match=message):
        nearest_neighbours(queries, references, chunk_size=chunk_size)


@pytest.mark.parametrize("query_chunk, reference_chunk", [(1, 1), (4, 7), (100, 100)])
def test_distance_blocks_plus_query_norms_are_the_squared_distances(query_chunk, reference_chunk):
    """Every (query, reference) pair comes once, in its block; e + ||q||^2 = ||q - r||^2."""
    rng = np.random.default_rng(4)
    queries, references = rng.standard_normal((10, 6)), rng.standard_normal((23, 6))
    _, _, squared = brute_force_nearest(queries, references)
    seen = np.zeros(squared.shape, dtype=int)
    for rows, start, e in distance_blocks(queries, references, query_chunk=query_chunk,
                                          reference_chunk=reference_chunk, convert=lambda block: block):
        assert e.dtype == np.float64
        columns = slice(start, start + e.shape[1])
        seen[rows, columns] += 1
        distances = e + squared_norms(queries[rows])[:, None]
        np.testing.assert_allclose(distances, squared[rows, columns], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(seen, 1)
