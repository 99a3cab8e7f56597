"""Helpers shared by the figure tests: a real PNG was written, and nothing else; brute-force
nearest neighbours."""

import os
import struct

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MINIMUM_PNG_BYTES = 5_000


def png_size(path):
    """(width, height) of the PNG at ``path`` after checking its signature and size."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    assert os.path.getsize(path) > MINIMUM_PNG_BYTES, f"{path} is only {os.path.getsize(path)} bytes"
    return struct.unpack(">II", head[16:24])


def only_file_in(directory):
    entries = os.listdir(directory)
    assert len(entries) == 1, f"expected exactly one file, found {entries}"
    return os.path.join(directory, entries[0])


def brute_force_nearest(queries, references):
    """(indices, squared distances) of each query's nearest reference, and the (n, m) squared
    distances, from the full difference tensor in float64."""
    squared = ((queries[:, None, :].astype(np.float64) - references[None, :, :]) ** 2).sum(axis=2)
    return squared.argmin(axis=1), squared.min(axis=1), squared

