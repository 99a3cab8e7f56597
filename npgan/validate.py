"""Checks of arguments shared across npgan: one wording for one kind of mistake.

Each ``require_*`` returns the value converted (int, float, array) or raises a ValueError
(TypeError for a missing random generator) that names the argument and what was given.
"""

import math
import numbers

import numpy as np


def is_integer(value):
    """A Python or NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value):
    """A finite Python or NumPy real number, not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def require_integer(value, what, minimum=None):
    """``value`` as an int, if it is an integer (>= minimum, when given)."""
    if not is_integer(value) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{what} must be an integer{bound}, got {value!r}")
    return int(value)


def require_real(value, what, *, positive=False):
    """``value`` as a float, if it is a finite real number (> 0, when positive)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a {'positive ' if positive else ''}real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0.0):
        raise ValueError(f"{what} must be {'positive and ' if positive else ''}finite, got {value}")
    return value


def require_points(array, what, hint=""):
    """``array`` as a non-empty 2-D (rows, d) array of real numbers (not converted)."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (rows, d) array, got shape {array.shape}{hint}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{what} is empty (shape {array.shape}); it needs at least one row and one column")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{what} must hold real numbers, got dtype {array.dtype}")
    return array


def require_generator(rng, owner):
    """``rng`` if it is a numpy.random.Generator, else a TypeError saying how to make one."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{owner} needs an explicit random generator, got {type(rng).__name__}: "
            "pass rng=np.random.default_rng(seed)"
        )
    return rng
