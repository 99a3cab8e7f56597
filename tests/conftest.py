"""Settings for the whole suite.

- One BLAS thread: the tests' matrices are tiny, and on a shared 2-core machine
  BLAS threads made the same tests up to 15 times slower (set before numpy loads).
- Hypothesis: no per-example deadline (CI machines are shared and noisy; a slow
  example is not a wrong one).
"""

import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from hypothesis import settings  # noqa: E402

settings.register_profile("npgan", deadline=None, print_blob=True)
settings.load_profile("npgan")
