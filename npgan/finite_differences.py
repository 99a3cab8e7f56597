"""The finite differences behind every gradient check, and ``check_gradients`` for anyone's layer
or function. Import them from npgan.gradcheck, which also holds npgan's own checks, built from
these (`npgan gradcheck`).

    numeric  df/dv_i = [8 (f(v + h e_i) - f(v - h e_i)) - (f(v + 2h e_i) - f(v - 2h e_i))] / (12 h),
             h = 1e-5 (the five-point centred stencil: truncation error O(h^4))
    rel_error(a, b)  = max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)     (CS231n, element-wise)
    norm_error(a, b) = ||a - b|| / max(1e-8, ||a|| + ||b||)               (norm-wise)

Why five points, not (f(v + h) - f(v - h)) / (2 h): that formula's truncation error
(h^2 / 6 times the third derivative) is what a near-cancelling gradient entry shows.
Hypothesis found one (a Linear-Sigmoid-Linear net, seed 4379): an entry of -7.6e-7,
summed from terms near 0.1, off by 6e-13 with two points, a rel_error of 3.9e-7 for a
correct backprop; with five points the worst entry of that check is 2.7e-9.

Two modes. Element-wise (the default) differences every coordinate, or a random subset of
``coordinates`` of them: it localises a wrong entry, at four evaluations per coordinate.
Directional differences along ``directions`` random unit directions u of each array and
compares u . grad with the derivative of f along u (for an array-valued f, v^T J u with a
random upstream v): four evaluations per direction whatever the size, so a network of
millions of parameters is checked in seconds. A wrong gradient g + e moves u . grad by
u . e, nonzero with probability 1 for a Gaussian direction; how often it clears the
threshold is in docs/gradcheck.md. Element-wise mode passes on rel_error; directional mode on
norm_error over the directions, because a single u . grad can come out near zero by chance.

The code under test runs in its own dtype (float64 for checking; float32 is allowed with a
looser threshold). The finite-difference reference runs on a copy converted to extended
precision (np.longdouble: 64-bit mantissa on x86-64 Linux), because in float64 its
round-off, about eps * |f| / h = 1e-11, is what limits the comparison: a whole network's
gradient has entries near 1e-7 where terms of the batch cancel, and float64 differences
could only confirm those to about 1e-4. In extended precision the round-off is about 2000
times smaller, so the 1e-6 threshold measures the backprop code, not the reference. (On
platforms where longdouble is float64 the checks run at float64's resolution, with its
threshold.) Extended-precision products do not use BLAS (about 100 times slower): a
function that cannot take them, or a network too big for them, is differenced in float64
(reference=np.float64), with a looser threshold (THRESHOLDS).

A layer is checked through f = sum(layer(x) * v) with a random upstream gradient v: an
all-ones v would hide a backward that permutes output units (a maxout gradient routed to
another unit), since every unit would get the same upstream value. The outputs are
differenced before the sum, so outputs a coordinate does not touch cancel exactly. Its
parameter gradients are what a second forward and backward (the same random draws) add to
``grads``, so a backward that overwrites (=) instead of accumulating (+=) fails.

Kinks: ReLU and maxout are not differentiable where an input sits at 0 or two pieces tie.
Draw inputs away from kinks (npgan.testing.strategies); a layer may also report the branch of
each kinked unit (``kink_state()``), and then a coordinate whose four points v +- h, v +- 2h
do not all take the same branches is skipped and counted (directional mode draws another
direction instead).

Randomness: every evaluation of the reference starts from the random state the analytic pass
started from (each numpy Generator the layer holds is rewound), so dropout draws the very
masks of the analytic pass: this checks any layer that takes its randomness from its own
Generator, as STYLE.md asks.
"""

import copy
import inspect
import math
import types
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from npgan.kernels import runner
from npgan.layers import Layer, walk
from npgan.validate import require_generator, require_integer

STEP = 1e-5
EXTENDED = np.longdouble
MODES = ("elementwise", "directional")
DIRECTIONS = 4  # random directions per array in directional mode
WORST_SHOWN = 3  # worst entries kept per checked array

# check_gradients' default threshold, by the precision of the comparison (docs/gradcheck.md
# gives the measurements behind each): float64 code against the extended-precision reference;
# float64 code against a float64 reference (reference=np.float64); float32 code (whatever
# the reference), whose own round-off is about 1e-7 of each sum.
THRESHOLDS = {"longdouble": 1e-7, "float64": 1e-5, "float32": 1e-2}


@dataclass(frozen=True)
class Entry:
    """One compared entry of ``parameter``, both sides and its element-wise error. index: the
    coordinates (element-wise mode), or ("direction", k) for the k-th random direction."""

    parameter: str
    index: tuple
    analytic: float
    numeric: float
    rel_error: float

    def __str__(self):
        where = (f" along direction {self.index[1]}" if self.index[:1] == ("direction",)
                 else f"[{', '.join(str(i) for i in self.index)}]")
        return (f"{self.parameter}{where}: analytic {self.analytic:.9g}, numeric {self.numeric:.9g}, "
                f"rel_error {self.rel_error:.1e}")


@dataclass(frozen=True)
class CheckResult:
    """One checked array: both errors over its compared entries, and the worst of them.

    mode "elementwise" passes on rel_error, "directional" on norm_error (over the directions);
    checked: coordinates or directions compared; skipped: those whose finite difference
    straddled a kink; note: a contract broken (a wrong shape, a NaN), which fails the check.
    """

    check: str
    parameter: str
    rel_error: float
    threshold: float
    checked: int
    skipped: int = 0
    norm_error: float = math.nan
    mode: str = "elementwise"
    worst: tuple = ()
    note: str = ""

    @property
    def ok(self):
        measure = self.rel_error if self.mode == "elementwise" else self.norm_error
        return not self.note and bool(measure <= self.threshold)  # False for NaN: nothing was compared

    def as_dict(self):
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class GradientReport:
    """What check_gradients found: a CheckResult per array (iterate over it), ``ok``, and as
    a string a table of both errors with the worst entries of each failed array."""

    results: tuple
    threshold: float
    precision: str

    @property
    def ok(self):
        return all(result.ok for result in self.results)

    @property
    def failures(self):
        return [result for result in self.results if not result.ok]

    def __iter__(self):
        return iter(self.results)

    def __len__(self):
        return len(self.results)

    def __str__(self):
        mode = self.results[0].mode if self.results else "elementwise"
        measure = "rel_error" if mode == "elementwise" else "norm_error"
        verdict = "passed" if self.ok else f"FAILED for {len(self.failures)} of {len(self.results)} arrays"
        lines = [f"gradient check {verdict}: {mode} mode, {self.precision}, threshold {self.threshold:.0e} "
                 f"on {measure}", format_results(self.results, norm=True)]
        for result in self.failures:
            if result.note:
                lines.append(f"{result.parameter}: {result.note}")
            lines += [f"  {entry}" for entry in result.worst]
        if not self.ok and mode == "directional":
            lines.append("(directional mode names the array; mode='elementwise' on it finds the entries)")
        return "\n".join(lines)


def rel_error(analytic, numeric):
    """max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|) over the entries that are not NaN."""
    a, b = _compared(analytic, numeric)
    if not a.size:
        return float("nan")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def norm_error(analytic, numeric):
    """||a - b|| / max(1e-8, ||a|| + ||b||) over the entries that are not NaN. Never above
    rel_error (away from its 1e-8 floor): |a_i - b_i| <= r (|a_i| + |b_i|) for each i, then the
    triangle inequality."""
    a, b = _compared(analytic, numeric)
    if not a.size:
        return float("nan")
    return float(np.linalg.norm(a - b) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(b)))


def _compared(analytic, numeric):
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"the analytic and numeric gradients' shapes differ, {analytic.shape} vs {numeric.shape}")
    compared = ~(np.isnan(analytic) | np.isnan(numeric))
    return analytic[compared], numeric[compared]


# -- finite differences --------------------------------------------------------------------------

def numerical_gradient(evaluate, array, upstream=None, h=STEP, indices=None):
    """Centred differences (the five-point stencil) of ``evaluate`` with respect to ``array``
    (perturbed in place), at every coordinate or at ``indices`` (index tuples).

    evaluate() -> (output, kinks): output is contracted with ``upstream`` (or, when upstream
    is None, is a scalar, or a vector of several values, which adds a trailing axis to the
    gradient); kinks is a list of arrays, the branch each kinked unit took. Returns
    (gradient, skipped): gradient has the shape of ``array``, NaN where a branch differed
    between the evaluation points (and at the coordinates not in ``indices``).
    """
    _require_finite(array, "the array to differentiate")
    derivatives = {}
    for index in np.ndindex(array.shape) if indices is None else indices:
        original = array[index]

        def move(step):
            array[index] = original + step if step else original

        derivatives[index] = _five_point(evaluate, move, upstream, h)
    found = [derivative for derivative in derivatives.values() if derivative is not None]
    gradient = np.full(array.shape + np.shape(found[0] if found else ()), np.nan, dtype=array.dtype)
    for index, derivative in derivatives.items():
        if derivative is not None:
            gradient[index] = derivative
    return gradient, len(derivatives) - len(found)


def directional_derivatives(evaluate, array, directions, rng, upstream=None, h=STEP):
    """Five-point derivatives of ``evaluate`` (as in numerical_gradient) along ``directions``
    random unit directions u of ``array`` (Gaussian, normalised), drawn from ``rng``.

    A direction whose points straddle a kink is replaced by a fresh one, up to 4 * directions
    draws in all. Returns (units, derivatives, skipped): the directions used, the derivative
    along each, and how many were replaced.
    """
    _require_finite(array, "the array to differentiate")
    original = array.copy()
    units, derivatives, skipped = [], [], 0

    for _ in range(4 * directions):
        unit = rng.standard_normal(array.shape)
        unit /= np.linalg.norm(unit)

        def move(step):
            array[...] = original + step * unit if step else original

        derivative = _five_point(evaluate, move, upstream, h)
        if derivative is None:
            skipped += 1
            continue
        units.append(unit)
        derivatives.append(derivative)
        if len(units) == directions:
            break
    return units, np.array(derivatives, dtype=np.float64), skipped


def _five_point(evaluate, move, upstream, h):
    """The five-point derivative of evaluate() at step 0 along ``move`` (move(s) sets the point
    at step s; move(0) restores it), or None when a kinked unit's branch differs among the points
    (known after two of them, often)."""
    outputs, kinks = [], []
    for step in (h, -h, 2 * h, -2 * h):
        move(step)
        output, branches = evaluate()
        outputs.append(np.array(output, copy=True))  # an identity layer returns its input itself
        kinks.append(branches)
        if any(not np.array_equal(branch, first) for branch, first in zip(branches, kinks[0])):
            move(0)
            return None
    move(0)
    plus, minus, plus2, minus2 = outputs
    difference = 8 * (plus - minus) - (plus2 - minus2)
    if upstream is not None:
        difference = np.sum(difference * upstream)
    return difference / (12 * h)


def network_output(network, x):
    """network(x) and the kink branches that pass took; keeps no cache. Any object with a
    ``forward`` will do: the branches are those of ``kink_state()``, where a layer has one."""
    output = network.forward(x)
    layers = walk(network) if isinstance(network, Layer) else [network]
    kinks = [state.copy() for layer in layers
             if (state := getattr(layer, "kink_state", lambda: None)()) is not None]
    getattr(network, "clear_cache", lambda: None)()
    return output, kinks


# -- the public check ----------------------------------------------------------------------------

def check_gradients(target, *inputs, backward=None, mode="elementwise", coordinates=None,
                    directions=DIRECTIONS, threshold=None, reference=EXTENDED, rng=None, name=None):
    """Check the gradients of ``target`` at ``inputs`` against finite differences.

    target: a layer (forward(x), backward(grad_out) -> dL/dx adding into ``grads``, and the
    dicts ``params`` and ``grads``) with one input x; or a function f(*inputs) -> array with
    ``backward(grad_out, *inputs)`` -> the gradient of each input (a tuple, or one array),
    its vector-Jacobian product.
    mode: "elementwise" (every coordinate, or a random subset of ``coordinates`` per array)
    or "directional" (``directions`` random unit directions per array).
    threshold: by default THRESHOLDS for the dtype of the inputs and parameters and the
    ``reference`` dtype the finite differences run in (np.longdouble, or np.float64 for
    functions that cannot take it).
    rng: a numpy Generator for the upstream gradient, the directions and the coordinates
    (default: np.random.default_rng(0), so a check repeats exactly).
    Returns a GradientReport; the inputs and the parameters are left as they were.
    """
    label = name or getattr(target, "__name__", type(target).__name__)
    plan = _plan(mode, coordinates, directions, reference, rng)
    is_layer = all(hasattr(target, attribute) for attribute in ("forward", "backward", "params", "grads"))
    if is_layer:
        if backward is not None or len(inputs) != 1:
            raise ValueError(f"{label} is a layer: pass one input x and no backward= (the layer has its own)")
        arrays = {"x": inputs[0], **target.params}
    elif callable(target) and backward is not None:
        arrays = dict(zip(_input_names(target, len(inputs)), inputs))
    else:
        raise TypeError(f"{label}: give a layer (forward, backward, params, grads) or a function with "
                        "backward=, its vector-Jacobian product backward(grad_out, *inputs)")
    if not inputs:
        raise ValueError(f"{label}: no input to differentiate with respect to")
    dtypes = {_require_float(array, f"{key} of {label}") for key, array in arrays.items()}
    precision = "float32" if np.dtype(np.float32) in dtypes else _reference_precision(plan.reference)
    threshold = THRESHOLDS[precision] if threshold is None else threshold
    reference_name = "longdouble" if np.dtype(plan.reference) == np.dtype(EXTENDED) else "float64"
    described = f"{min(dtypes, key=lambda d: d.itemsize)} code, {reference_name} finite differences"
    if is_layer:
        results = _check_layer_object(label, target, inputs[0], threshold, plan)
    else:
        results = _check_function(label, target, backward, arrays, threshold, plan)
    return GradientReport(tuple(results), threshold, described)


@dataclass(frozen=True)
class _Plan:
    """How to compare: the mode and its sizes, the reference dtype, the random generator."""

    mode: str
    coordinates: Optional[int]
    directions: int
    reference: type
    rng: np.random.Generator = field(repr=False)


def _plan(mode="elementwise", coordinates=None, directions=DIRECTIONS, reference=EXTENDED, rng=None):
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    if coordinates is not None:
        coordinates = require_integer(coordinates, "coordinates", minimum=1)
    directions = require_integer(directions, "directions", minimum=1)
    if np.dtype(reference) not in (np.dtype(EXTENDED), np.dtype(np.float64)):
        raise ValueError(f"reference must be np.longdouble or np.float64 (the dtype of the finite differences), "
                         f"got {reference!r}")
    rng = np.random.default_rng(0) if rng is None else require_generator(rng, "a gradient check")
    return _Plan(mode, coordinates, directions, reference, rng)


def _reference_precision(reference):
    extended = np.finfo(EXTENDED).eps < np.finfo(np.float64).eps
    return "longdouble" if np.dtype(reference) == np.dtype(EXTENDED) and extended else "float64"


def _input_names(function, count):
    """The names of ``function``'s first ``count`` positional parameters, else input 0, 1, ..."""
    try:
        names = [parameter.name for parameter in inspect.signature(function).parameters.values()
                 if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return names[:count] if len(names) >= count else [f"input {i}" for i in range(count)]


def _check_function(label, function, backward, arrays, threshold, plan):
    """f(*arrays) with its vector-Jacobian product backward(v, *arrays), at a random upstream v."""
    output = np.asarray(function(*arrays.values()))
    upstream = plan.rng.standard_normal(output.shape).astype(output.dtype)
    gradients = backward(upstream, *arrays.values())
    if not isinstance(gradients, (tuple, list)):
        gradients = (gradients,)
    if len(gradients) != len(arrays):
        raise ValueError(f"{label}: backward returned {len(gradients)} gradients for {len(arrays)} inputs")
    analytic = dict(zip(arrays, gradients))
    references = {key: array.astype(plan.reference) for key, array in arrays.items()}
    evaluate = lambda: (function(*references.values()), [])  # noqa: E731
    return _check_arrays(label, references, analytic, lambda key: evaluate, upstream, threshold, plan)


def _check_layer_object(label, layer, x, threshold, plan):
    """dL/dx and every dL/dparam of ``layer`` at ``x``, with a random upstream."""
    if set(layer.grads) != set(layer.params) or any(np.shape(layer.grads[key]) != np.shape(value)
                                                    for key, value in layer.params.items()):
        raise ValueError(f"{label}: grads must have the keys and shapes of params (the layer contract)")
    reference = _reference_copy(layer, plan.reference)  # before the analytic pass: its random state
    upstream, analytic, notes = _layer_gradients(label, layer, x, plan.rng)
    x_reference = x.astype(plan.reference)
    evaluate = _replaying(lambda: network_output(reference, x_reference), reference)
    return _check_arrays(label, {"x": x_reference, **reference.params}, analytic, lambda key: evaluate, upstream,
                         threshold, plan, notes)


def _layer_gradients(label, layer, x, rng):
    """(upstream, analytic gradients, notes) from two passes of ``layer`` on the path in use.
    Both passes start from the same random state (the same dropout masks); the parameter
    gradients are what the second pass added to grads."""
    rewind = _rewinder(layer)
    for gradient in layer.grads.values():
        gradient.fill(0)
    run = runner(layer)  # the layer itself, or its Numba kernels on that backend
    output = run.forward(x)
    upstream = rng.standard_normal(np.shape(output)).astype(output.dtype)
    grad_x = run.backward(upstream)
    if grad_x is None:
        raise ValueError(f"{label}: backward returned None; it must return the gradient of its input")
    first = {key: np.array(value, copy=True) for key, value in layer.grads.items()}
    _clear(layer)
    rewind()
    run.forward(x)
    run.backward(upstream)
    _clear(layer)
    analytic, notes = {"x": grad_x}, {}
    for key, value in layer.grads.items():
        if np.shape(value) != first[key].shape:
            analytic[key] = value
            continue
        analytic[key] = value - first[key]
        if first[key].any() and not analytic[key].any():
            notes[key] = ("a second forward and backward added nothing to grads: does backward "
                          "overwrite (=) instead of accumulating (+=)?")
    return upstream, analytic, notes


def _clear(layer):
    getattr(layer, "clear_cache", lambda: None)()


def _check_arrays(checks, arrays, analytic, evaluator, upstream, threshold, plan, notes=None):
    """For each reference array (perturbed in place), compare analytic[key] with the finite
    differences of evaluator(key)(), in the plan's mode. ``checks`` is one label, or several with
    one analytic dict each: evaluate then returns one value per check, all from the same passes."""
    if isinstance(checks, str):
        checks, analytic = [checks], [analytic]
    results = {check: [] for check in checks}
    for key, array in arrays.items():
        note = (notes or {}).get(key, "")
        gradients = [np.asarray(gradients_of[key]) for gradients_of in analytic]
        shapes = {gradient.shape for gradient in gradients} - {array.shape}
        if shapes:
            shape = shapes.pop()
            note = (f"the analytic gradient has shape {shape}, the array {array.shape}"
                    + (" (a transposed gradient?)" if shape == array.shape[::-1] else ""))
            for check in checks:
                results[check].append(CheckResult(check, key, math.inf, threshold, 0, 0, math.inf, plan.mode, (), note))
            continue
        if plan.mode == "directional":
            units, numeric, skipped = directional_derivatives(evaluator(key), array, plan.directions, plan.rng,
                                                              upstream)
            if not units:
                note = (f"all {skipped} directions drawn crossed a kink: a kinked unit sits within reach of "
                        "every direction (draw the input away from kinks)")
            compared = [[np.sum(unit * gradient) for unit in units] for gradient in gradients]
            labels = [("direction", k) for k in range(len(units))]
        else:
            flat = (np.arange(array.size) if plan.coordinates is None or plan.coordinates >= array.size
                    else np.sort(plan.rng.choice(array.size, plan.coordinates, replace=False)))
            labels = [tuple(int(i) for i in np.unravel_index(f, array.shape)) for f in flat]
            numeric, skipped = numerical_gradient(evaluator(key), array, upstream, indices=labels)
            numeric = np.broadcast_to(numeric.reshape(array.size, -1), (array.size, len(checks)))[flat]
            compared = [gradient.ravel()[flat] for gradient in gradients]
        numeric = numeric.reshape(len(labels), len(checks))
        for column, check in enumerate(checks):
            results[check].append(_result(check, key, compared[column], numeric[:, column], labels, skipped,
                                          threshold, plan.mode, note))
    return [result for check in checks for result in results[check]]


def _result(check, parameter, analytic, numeric, labels, skipped, threshold, mode="elementwise", note=""):
    """The CheckResult of compared vectors (numeric NaN where skipped), labelled by ``labels``."""
    analytic = np.asarray(analytic, dtype=np.float64).ravel()
    numeric = np.asarray(numeric, dtype=np.float64).ravel()
    if not note and not np.all(np.isfinite(analytic)):
        note = f"the analytic gradient has {np.sum(~np.isfinite(analytic))} NaN or infinite entries"
    if not note and np.sum(~np.isfinite(numeric)) > skipped:
        note = "the finite differences are not finite: the function gives NaN or inf near this input"
    with np.errstate(invalid="ignore"):
        errors = np.abs(analytic - numeric) / np.maximum(1e-8, np.abs(analytic) + np.abs(numeric))
    order = [i for i in np.argsort(-np.nan_to_num(errors, nan=-1.0)) if not np.isnan(errors[i])][:WORST_SHOWN]
    worst = tuple(Entry(parameter, labels[i], float(analytic[i]), float(numeric[i]), float(errors[i])) for i in order)
    checked = len(numeric) - (skipped if mode == "elementwise" else 0)
    return CheckResult(check, parameter, rel_error(analytic, numeric), threshold, checked, skipped,
                       norm_error(analytic, numeric), mode, worst, note)


def format_results(results, norm=False):
    """A table of results: check, parameter, rel_error, [norm_error,] threshold, skipped, ok."""
    header = ("check", "parameter", "rel_error", *(("norm_error",) if norm else ()), "threshold", "skipped", "")
    rows = [(r.check, r.parameter, f"{r.rel_error:.2e}", *((f"{r.norm_error:.2e}",) if norm else ()),
             f"{r.threshold:.0e}", f"{r.skipped}/{r.checked + r.skipped}", "ok" if r.ok else "FAIL") for r in results]
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header] + rows)


# -- copies, random state ------------------------------------------------------------------------

def _reference_copy(model, dtype):
    """A copy of a layer or GAN in ``dtype`` (its astype, or, for a layer without one, its params
    dict converted). Made before the analytic pass, its Generators hold that pass's random state."""
    reference = copy.deepcopy(model)
    if hasattr(reference, "astype"):
        return reference.astype(dtype)
    for key in list(reference.params):
        reference.params[key] = reference.params[key].astype(dtype)
    return reference


def _generators(model):
    """Every numpy Generator ``model`` holds, in its attributes, lists, tuples and dicts, at any depth."""
    found, seen, pending = [], set(), [model]
    skipped_types = (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType)
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, np.random.Generator):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif hasattr(item, "__dict__") and not isinstance(item, skipped_types):
            pending.extend(vars(item).values())
    return found


def _rewinder(model):
    """A function that puts every Generator of ``model`` back in the state it has now."""
    generators = _generators(model)
    states = [generator.bit_generator.state for generator in generators]

    def rewind():
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state

    return rewind


def _replaying(evaluate, model):
    """``evaluate`` run each time from ``model``'s present random state (the same dropout masks)."""
    rewind = _rewinder(model)

    def replayed():
        rewind()
        return evaluate()

    return replayed


def _require_float(array, what):
    """The dtype of a finite float32 or float64 array."""
    if not isinstance(array, np.ndarray) or array.dtype not in (np.float32, np.float64):
        dtype = getattr(array, "dtype", type(array).__name__)
        raise ValueError(f"gradient checks take float64 (or float32) arrays: {what} has dtype {dtype}")
    _require_finite(array, what)
    return array.dtype


def _require_float64(array, what):
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        dtype = getattr(array, "dtype", type(array).__name__)
        raise ValueError(f"gradient checks run the code under test in float64: {what} has dtype {dtype}")
    _require_finite(array, what)


def _require_finite(array, what):
    if not np.all(np.isfinite(array)):
        raise ValueError(f"gradient checks need finite values: {what} contains NaN or infinity")
