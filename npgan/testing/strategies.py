"""Hypothesis strategies for gradient tests: shapes, seeds, and inputs away from kinks.

    from hypothesis import given
    from npgan.testing import assert_gradients_match
    from npgan.testing.strategies import away_from_kinks

    @given(away_from_kinks((4, 3)))
    def test_leaky_relu(x):
        assert_gradients_match(LeakyReLU(0.1), x)

A finite difference that straddles a kink (ReLU at 0, a tie between maxout pieces) measures
no derivative; drawing inputs at least ``margin`` (far more than the step, 1e-5) from every
kink avoids that instead of loosening a tolerance. Hypothesis is a test extra
(pip install -e ".[test]"); npgan.testing itself does not need it.
"""

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hypothesis_numpy
except ImportError as error:
    raise ImportError("npgan.testing.strategies needs Hypothesis, a test extra of npgan: "
                      "pip install hypothesis (or pip install -e \".[test]\")") from error

__all__ = ["away_from_kinks", "batch_sizes", "feature_counts", "keep_probs", "linear_shapes", "logit_batches",
           "maxout_shapes", "seeds"]

seeds = st.integers(min_value=0, max_value=2**32 - 1)
batch_sizes = st.integers(min_value=1, max_value=6)
feature_counts = st.integers(min_value=1, max_value=6)
keep_probs = st.floats(min_value=0.05, max_value=1.0, exclude_min=False)


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


def away_from_kinks(shape, kinks=(0.0,), margin=0.1, bound=3.0, dtype=np.float64):
    """Arrays of ``shape`` (a tuple, or a strategy of tuples) with entries in [-bound, bound],
    each at least ``margin`` from every point of ``kinks`` (ReLU, leaky ReLU: 0)."""
    kinks = tuple(float(kink) for kink in kinks)
    # a kink, a side, a distance: drawn this way, not filtered out of all floats, which are mostly near 0
    distances = st.floats(margin, bound + max(map(abs, kinks)))
    elements = st.tuples(st.sampled_from(kinks), st.sampled_from((-1.0, 1.0)), distances).map(
        lambda drawn: drawn[0] + drawn[1] * drawn[2]).filter(
        lambda value: abs(value) <= bound and all(abs(value - kink) >= margin for kink in kinks))
    return hypothesis_numpy.arrays(dtype, shape, elements=elements)
