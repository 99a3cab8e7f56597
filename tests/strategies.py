"""Hypothesis strategies shared by the test modules: npgan.testing.strategies (the ones npgan
exports for anyone's gradient tests), and the few that only npgan's own tests need."""

from hypothesis import strategies as st

from npgan.testing.strategies import (  # noqa: F401  (re-exported for the test modules)
    away_from_kinks,
    batch_sizes,
    feature_counts,
    keep_probs,
    linear_shapes,
    logit_batches,
    maxout_shapes,
    seeds,
)

generator_kinds = st.sampled_from(["non-saturating", "minimax"])
