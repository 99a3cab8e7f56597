"""Hypothesis strategies shared by the test modules."""

import numpy as np
from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**32 - 1)
batch_sizes = st.integers(min_value=1, max_value=6)
feature_counts = st.integers(min_value=1, max_value=6)
keep_probs = st.floats(min_value=0.05, max_value=1.0, exclude_min=False)
generator_kinds = st.sampled_from(["non-saturating", "minimax"])


@st.composite
def linear_shapes(draw):
    """(batch, in_features, out_features)."""
    return draw(batch_sizes), draw(feature_counts), draw(feature_counts)


@st.composite
def maxout_shapes(draw):
    """(batch, in_features, units, pieces)."""
    return (draw(batch_sizes), draw(feature_counts), draw(st.integers(1, 4)),
            draw(st.integers(1, 4)))


@st.composite
def logit_batches(draw, low=-3.0, high=3.0):
    """A float64 (m, 1) array of logits; m from 1 to 8."""
    m = draw(st.integers(min_value=1, max_value=8))
    values = draw(st.lists(st.floats(low, high), min_size=m, max_size=m))
    return np.array(values, dtype=np.float64).reshape(m, 1)
