"""Test helpers for anyone's hand-written backprop: ``assert_gradients_match`` for pytest.

    import numpy as np
    from npgan.testing import assert_gradients_match

    def test_my_layer():
        rng = np.random.default_rng(0)
        assert_gradients_match(MyLayer(4, 3, rng=rng), rng.standard_normal((5, 4)))

Hypothesis strategies for inputs away from kinks are in npgan.testing.strategies (they need
Hypothesis, a test extra; this module does not).
"""

from npgan.gradcheck import check_gradients

__all__ = ["assert_gradients_match"]


def assert_gradients_match(target, *inputs, **options):
    """Run npgan.gradcheck.check_gradients(target, *inputs, **options) and raise AssertionError
    with its report (both errors per array, the worst entries) unless every array passes.

    target: a layer (forward, backward, params, grads) and its input x, or a function with
    backward=, its vector-Jacobian product; options: mode ("elementwise" or "directional"),
    coordinates, directions, threshold, reference, rng, name. Returns the GradientReport.
    """
    __tracebackhide__ = True  # pytest shows the caller's line
    report = check_gradients(target, *inputs, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report
