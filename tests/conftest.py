"""Hypothesis settings for the whole suite: no per-example deadline (CI machines are
shared and noisy; a slow example is not a wrong one)."""

from hypothesis import settings

settings.register_profile("npgan", deadline=None, print_blob=True)
settings.load_profile("npgan")
