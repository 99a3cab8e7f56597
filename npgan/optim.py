"""Optimizers that update named parameter arrays in place.

An optimizer is built from a dict of dotted names to parameter arrays, the very
arrays the layers hold ({"G.0.W": W, "G.0.b": b, ...}). ``step(grads)`` takes a
dict with the same names and shapes and changes every parameter in place
(``p += v``, never ``p = p + v``), so the layers see the new values without being
told. All state is plain arrays: ``state_dict()`` returns flat names
("velocity.G.0.W", "iteration", "epoch") that an .npz holds without pickle, and
``load_state_dict`` puts them back.

MomentumSGD: the paper's optimizer (the authors' pylearn2 configuration)
------------------------------------------------------------------------
For the t-th update (t = 0, 1, 2, ...) during epoch e:

    lr_t  = max(lr_0 / decay^t, lr_min)          (paper: 0.1, 1.000004, 1e-6)
    v    <- mu_e * v - lr_t * grad               (v starts at 0)
    p    <- p + v

i.e. the learning rate is divided by ``learning_rate_decay`` after every update,
never going below ``min_learning_rate``. It is computed in closed form, as
pylearn2's ExponentialDecay does, so no rounding error accumulates.

The momentum mu_e follows pylearn2's MomentumAdjustor, a linear ramp from mu_0 to
mu_final between epochs e_start and e_saturate (paper: 0.5 -> 0.7, 1 -> 250):

    alpha = clip((e - e_start) / (e_saturate - e_start), 0, 1)
    mu_e  = mu_0 * (1 - alpha) + alpha * mu_final

Epochs count from 1. In pylearn2 the adjustor runs once before training and
after every epoch, so its counter equals e throughout epoch e; npgan's trainer
calls ``set_epoch(e)`` before the first update of epoch e. With the paper's
values: epoch 1: 0.5; epoch 125: 0.5 + 0.2 * 124/249 = 0.59960; epoch 250: 0.7;
epoch 300: 0.7.

Adam: NOT in the GAN paper
--------------------------
Kingma and Ba (2014), with the DCGAN settings of Radford et al. (2015):
lr = 2e-4, beta1 = 0.5, beta2 = 0.999, epsilon = 1e-8. For the t-th update
(t = 1, 2, ...):

    m <- beta1 * m + (1 - beta1) * grad
    s <- beta2 * s + (1 - beta2) * grad^2
    m_hat = m / (1 - beta1^t),   s_hat = s / (1 - beta2^t)     (bias correction)
    p <- p - lr * m_hat / (sqrt(s_hat) + epsilon)

Dtype: all arithmetic happens in each parameter's dtype (float32 parameters stay
float32: the scalars are cast to it), and a gradient of another dtype is an
error, not a silent cast. A step checks every gradient (names, shapes, dtypes,
finiteness: first_non_finite) before it changes anything, so a failed step leaves the
parameters and the state untouched, and returns the name of a parameter the update itself
made NaN or inf (an overflow), or None.
"""

import math
from collections.abc import Mapping

import numpy as np

from npgan.kernels import compiled_kernels
from npgan.validate import require_integer, require_real

ITERATION_KEY = "iteration"
EPOCH_KEY = "epoch"


def _validated_params(params):
    """Check the name -> array dict; return a new dict holding the same array objects."""
    if not isinstance(params, Mapping) or not params:
        raise ValueError(
            "params must be a non-empty dict of name -> parameter array, "
            f"e.g. {{'G.0.W': W, ...}}, got {params!r:.80}"
        )
    checked = {}
    for name, param in params.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"parameter names must be non-empty strings, got {name!r}")
        if not isinstance(param, np.ndarray):
            raise ValueError(
                f"parameter {name!r} must be a numpy array (updated in place), "
                f"got {type(param).__name__}"
            )
        if not np.issubdtype(param.dtype, np.floating):
            raise ValueError(f"parameter {name!r} must be floating point, got dtype {param.dtype}")
        if not param.flags.writeable:
            raise ValueError(f"parameter {name!r} is read-only; the optimizer updates it in place")
        for other_name, other in checked.items():
            if np.may_share_memory(param, other):
                raise ValueError(
                    f"parameters {other_name!r} and {name!r} share memory; each would be "
                    "updated twice. Pass every parameter array once"
                )
        checked[name] = param
    return checked


def _in_place_kernels(written, read=()):
    """The compiled kernels (npgan.kernels) for an update that writes the arrays ``written`` and
    reads ``read``, or None: run the NumPy statements. Every array must have one dtype the
    kernels take, and every written one be C-contiguous (a kernel writes through a flat view,
    which of any other array would be a copy)."""
    kernels = compiled_kernels(*written, *read)
    return kernels if kernels is not None and all(array.flags.c_contiguous for array in written) else None


def first_non_finite(arrays):
    """The name of the first array of ``arrays`` (name -> array) holding a NaN or an inf, or None.

    It catches exactly what testing every element would (np.isfinite), for one read of each
    array and no temporary: it takes the sum of the squares of each array's elements (a dot
    product of the array with itself, BLAS's fastest pass over it). A sum of squares is finite
    only if every term is (a NaN makes it NaN, an inf makes it inf, and no later term brings it
    back), so a finite total clears every element of every array. A total that is not finite
    means a NaN or an inf somewhere, or finite elements whose squares overflowed (above 1.8e19
    in float32, 1.3e154 in float64); the arrays are then tested element by element, to name the
    culprit or to clear them.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an inf or an overflow is what is sought
        total = sum(float(np.dot(flat, flat)) for flat in (array.reshape(-1) for array in arrays.values()))
    if math.isfinite(total):
        return None
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            return name
    return None


class NonFiniteGradient(ValueError):
    """A gradient given to ``step`` holds NaN or inf; ``name`` says which. No parameter was changed
    (every gradient is checked before any update)."""

    def __init__(self, name):
        super().__init__(f"gradient {name!r} contains NaN or inf; no parameter was changed")
        self.name = name


class Optimizer:
    """The shared machinery: named parameters, checked gradients, array-only state.

    Subclasses name their per-parameter state arrays in ``slot_names`` (each a
    zero array shaped like its parameter) and implement ``_update(name, param,
    grad)``, which changes ``param`` in place for update number ``self.iteration``.
    """

    slot_names = ()

    def __init__(self, params):
        self._params = _validated_params(params)
        self._slots = {
            slot: {name: np.zeros_like(param) for name, param in self._params.items()}
            for slot in self.slot_names
        }
        self._iteration = 0
        self._epoch = 1

    @property
    def parameter_names(self):
        """The dotted names, in the order the parameters were given."""
        return tuple(self._params)

    @property
    def iteration(self):
        """The number of steps taken so far."""
        return self._iteration

    @property
    def epoch(self):
        """The current epoch (from 1), as last given to set_epoch."""
        return self._epoch

    def set_epoch(self, epoch):
        """Tell the optimizer that epoch ``epoch`` (1, 2, ...) is starting."""
        self._epoch = require_integer(epoch, "epoch", minimum=1)

    def _checked_grads(self, grads):
        if not isinstance(grads, Mapping):
            raise ValueError(f"grads must be a dict of name -> array, got {type(grads).__name__}")
        missing = [name for name in self._params if name not in grads]
        if missing:
            raise ValueError(f"grads has no entry for parameter(s) {missing}")
        extra = [name for name in grads if name not in self._params]
        if extra:
            raise ValueError(
                f"grads has unknown name(s) {extra}; the parameters are {list(self._params)}"
            )
        checked = {}
        for name, param in self._params.items():
            grad = grads[name]
            if not isinstance(grad, np.ndarray):
                raise ValueError(
                    f"gradient {name!r} must be a numpy array, got {type(grad).__name__}"
                )
            if grad.shape != param.shape:
                raise ValueError(
                    f"gradient {name!r} has shape {grad.shape}, its parameter has {param.shape}"
                )
            if grad.dtype != param.dtype:
                raise ValueError(
                    f"gradient {name!r} has dtype {grad.dtype}, its parameter has {param.dtype}; "
                    "compute gradients in the parameters' dtype"
                )
            checked[name] = grad
        non_finite = first_non_finite(checked)
        if non_finite is not None:
            raise NonFiniteGradient(non_finite)
        return checked

    def step(self, grads):
        """Update every parameter in place from ``grads`` (name -> array, same shapes).

        Returns the name of the first parameter the step left holding a NaN or an inf, or None.
        With finite gradients (checked before anything changes) only an overflow in the update
        does that. A compiled update checks its parameter in the pass that writes it; the others
        are checked after the step (first_non_finite).
        """
        checked = self._checked_grads(grads)
        finite = {name: self._update(name, param, checked[name]) for name, param in self._params.items()}
        self._iteration += 1
        return first_non_finite({name: param for name, param in self._params.items() if finite[name] is not True})

    def _update(self, name, param, grad):
        """Update ``param`` in place; return True if this pass found it all finite, else None
        (not checked: step checks it after) or False."""
        raise NotImplementedError

    # -- state -----------------------------------------------------------------------
    def state_dict(self):
        """Flat name -> array copies: "<slot>.<param name>", "iteration", "epoch"."""
        state = {
            f"{slot}.{name}": array.copy()
            for slot, arrays in self._slots.items()
            for name, array in arrays.items()
        }
        state[ITERATION_KEY] = np.array(self._iteration, dtype=np.int64)
        state[EPOCH_KEY] = np.array(self._epoch, dtype=np.int64)
        return state

    def load_state_dict(self, state):
        """Restore a state_dict() (a dict or an opened .npz); hyperparameters stay as built.

        Every name, shape and dtype is checked before anything is copied, so a
        bad state leaves the optimizer as it was.
        """
        if not hasattr(state, "keys") or not hasattr(state, "__getitem__"):
            raise ValueError(
                f"state must be a mapping of name -> array, got {type(state).__name__}"
            )
        expected = {
            f"{slot}.{name}": array
            for slot, arrays in self._slots.items()
            for name, array in arrays.items()
        }
        given = set(state.keys())
        wanted = set(expected) | {ITERATION_KEY, EPOCH_KEY}
        if given != wanted:
            problems = []
            if wanted - given:
                problems.append(f"missing {sorted(wanted - given)}")
            if given - wanted:
                problems.append(f"unexpected {sorted(given - wanted)}")
            raise ValueError(
                f"{type(self).__name__} state does not match its parameters: "
                + "; ".join(problems)
            )
        loaded = {}
        for key, array in expected.items():
            value = np.asarray(state[key])
            if value.shape != array.shape or value.dtype != array.dtype:
                raise ValueError(
                    f"state {key!r} has shape {value.shape} and dtype {value.dtype}, "
                    f"expected {array.shape} and {array.dtype}"
                )
            if not np.all(np.isfinite(value)):
                raise ValueError(f"state {key!r} contains NaN or inf")
            loaded[key] = value
        iteration = self._state_integer(state, ITERATION_KEY, minimum=0)
        epoch = self._state_integer(state, EPOCH_KEY, minimum=1)
        for key, array in expected.items():
            np.copyto(array, loaded[key])
        self._iteration = iteration
        self._epoch = epoch

    @staticmethod
    def _state_integer(state, key, minimum):
        value = np.asarray(state[key])
        if value.shape != () or not np.issubdtype(value.dtype, np.integer) or value < minimum:
            raise ValueError(
                f"state {key!r} must be a scalar integer >= {minimum}, "
                f"got {value!r} (dtype {value.dtype})"
            )
        return int(value)


class MomentumSGD(Optimizer):
    """Classical momentum with the paper's schedules (see the module docstring).

    v <- mu_e * v - lr_t * grad;  p <- p + v;  lr_t = max(lr_0 / decay^t, lr_min).

    learning_rate:           lr_0 > 0 (paper: 0.1).
    momentum:                mu_0 in [0, 1) (paper: 0.5).
    learning_rate_decay:     >= 1; lr is divided by it after every step (paper: 1.000004).
    min_learning_rate:       floor lr_min, 0 <= lr_min <= lr_0 (paper: 1e-6).
    final_momentum:          mu_final in [0, 1) or None for a constant momentum (paper: 0.7).
    momentum_start_epoch:    e_start >= 1, the last epoch at mu_0 (paper: 1).
    momentum_saturate_epoch: e_saturate >= e_start, the first epoch at mu_final (paper: 250).

    The trainer calls ``set_epoch(e)`` at the start of epoch e (from 1); until
    then the epoch is 1. State: "velocity.<name>", "iteration", "epoch".
    """

    slot_names = ("velocity",)

    def __init__(
        self,
        params,
        *,
        learning_rate,
        momentum,
        learning_rate_decay=1.0,
        min_learning_rate=0.0,
        final_momentum=None,
        momentum_start_epoch=1,
        momentum_saturate_epoch=250,
    ):
        learning_rate = require_real(learning_rate, "learning_rate")
        if learning_rate <= 0.0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        learning_rate_decay = require_real(learning_rate_decay, "learning_rate_decay")
        if learning_rate_decay < 1.0:
            raise ValueError(
                f"learning_rate_decay must be >= 1 (lr is divided by it after every step; "
                f"1 means no decay), got {learning_rate_decay}"
            )
        min_learning_rate = require_real(min_learning_rate, "min_learning_rate")
        if not 0.0 <= min_learning_rate <= learning_rate:
            raise ValueError(
                f"min_learning_rate must be in [0, learning_rate = {learning_rate}], "
                f"got {min_learning_rate}"
            )
        momentum = require_real(momentum, "momentum")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if final_momentum is not None:
            final_momentum = require_real(final_momentum, "final_momentum")
            if not 0.0 <= final_momentum < 1.0:
                raise ValueError(
                    f"final_momentum must be in [0, 1) or None, got {final_momentum}"
                )
        momentum_start_epoch = require_integer(momentum_start_epoch, "momentum_start_epoch", minimum=1)
        momentum_saturate_epoch = require_integer(momentum_saturate_epoch, "momentum_saturate_epoch", minimum=1)
        if momentum_saturate_epoch < momentum_start_epoch:
            raise ValueError(
                f"momentum_saturate_epoch ({momentum_saturate_epoch}) must be >= "
                f"momentum_start_epoch ({momentum_start_epoch})"
            )
        super().__init__(params)
        self.initial_learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.min_learning_rate = min_learning_rate
        self.initial_momentum = momentum
        self.final_momentum = final_momentum
        self.momentum_start_epoch = momentum_start_epoch
        self.momentum_saturate_epoch = momentum_saturate_epoch

    def learning_rate_at_iteration(self, iteration):
        """lr_t = max(lr_0 / decay^t, lr_min): the rate of update number t (from 0)."""
        iteration = require_integer(iteration, "iteration", minimum=0)
        try:
            decayed = self.initial_learning_rate / self.learning_rate_decay ** int(iteration)
        except OverflowError:  # decay^t beyond the float range: lr_0 / decay^t is 0.
            decayed = 0.0
        return max(decayed, self.min_learning_rate)

    def momentum_at_epoch(self, epoch):
        """The momentum of epoch e (from 1): pylearn2's MomentumAdjustor linear ramp.

        mu_e = mu_0 (1 - alpha) + alpha mu_final,
        alpha = clip((e - e_start) / (e_saturate - e_start), 0, 1).

        When e_saturate == e_start the momentum jumps to mu_final at e_start; with
        final_momentum None it is mu_0 always. Paper values (0.5 -> 0.7 over epochs
        1..250): epoch 1: 0.5, 125: 0.5 + 0.2 * 124/249 = 0.5995984, 250: 0.7, 300: 0.7.
        """
        epoch = require_integer(epoch, "epoch", minimum=1)
        if self.final_momentum is None:
            return self.initial_momentum
        ramp_epochs = self.momentum_saturate_epoch - self.momentum_start_epoch
        if ramp_epochs == 0:
            reached = epoch >= self.momentum_start_epoch
            return self.final_momentum if reached else self.initial_momentum
        alpha = min(max((epoch - self.momentum_start_epoch) / ramp_epochs, 0.0), 1.0)
        return self.initial_momentum * (1.0 - alpha) + alpha * self.final_momentum

    @property
    def current_learning_rate(self):
        """The learning rate the next step will use."""
        return self.learning_rate_at_iteration(self.iteration)

    @property
    def current_momentum(self):
        """The momentum the next step will use (that of the current epoch)."""
        return self.momentum_at_epoch(self.epoch)

    def _update(self, name, param, grad):
        scalar = param.dtype.type
        learning_rate = scalar(self.current_learning_rate)
        momentum = scalar(self.current_momentum)
        velocity = self._slots["velocity"][name]
        kernels = _in_place_kernels((param, velocity), (grad,))
        if kernels is not None:
            # the same update in one compiled pass (the fast path), which also checks the new parameters
            return kernels.momentum_update(param, velocity, np.ascontiguousarray(grad), learning_rate, momentum)
        velocity *= momentum  # v <- mu v - lr g;  p <- p + v, in place
        velocity -= learning_rate * grad
        param += velocity


class Adam(Optimizer):
    """Adam (Kingma and Ba 2014) with bias correction. NOT part of the GAN paper.

    The defaults are the DCGAN settings (Radford et al. 2015): learning_rate 2e-4,
    beta1 0.5, beta2 0.999, epsilon 1e-8. Update t = 1, 2, ...:

    m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;
    p <- p - lr * (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + epsilon).

    The epoch (set_epoch) is recorded for a uniform trainer interface but does not
    change the update. State: "first_moment.<name>", "second_moment.<name>",
    "iteration", "epoch".
    """

    slot_names = ("first_moment", "second_moment")

    def __init__(self, params, *, learning_rate=2e-4, beta1=0.5, beta2=0.999, epsilon=1e-8):
        learning_rate = require_real(learning_rate, "learning_rate")
        if learning_rate <= 0.0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        beta1 = require_real(beta1, "beta1")
        beta2 = require_real(beta2, "beta2")
        for what, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{what} must be in [0, 1), got {beta}")
        epsilon = require_real(epsilon, "epsilon")
        if epsilon <= 0.0:
            raise ValueError(f"epsilon must be > 0 (it keeps the division finite), got {epsilon}")
        super().__init__(params)
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    @property
    def current_learning_rate(self):
        """The (constant) learning rate."""
        return self.learning_rate

    def _update(self, name, param, grad):
        scalar = param.dtype.type
        t = self.iteration + 1
        first_moment = self._slots["first_moment"][name]
        second_moment = self._slots["second_moment"][name]
        kernels = _in_place_kernels((param, first_moment, second_moment), (grad,))
        if kernels is not None:
            # the same update in one compiled pass (the fast path), which also checks the new parameters
            return kernels.adam_update(param, first_moment, second_moment, np.ascontiguousarray(grad),
                                       scalar(self.beta1), scalar(1.0 - self.beta1), scalar(self.beta2),
                                       scalar(1.0 - self.beta2), scalar(1.0 - self.beta1**t),
                                       scalar(1.0 - self.beta2**t), scalar(self.learning_rate), scalar(self.epsilon))
        first_moment *= scalar(self.beta1)
        first_moment += scalar(1.0 - self.beta1) * grad
        second_moment *= scalar(self.beta2)
        second_moment += scalar(1.0 - self.beta2) * (grad * grad)
        first_unbiased = first_moment / scalar(1.0 - self.beta1**t)
        second_unbiased = second_moment / scalar(1.0 - self.beta2**t)
        denominator = np.sqrt(second_unbiased) + scalar(self.epsilon)
        param -= scalar(self.learning_rate) * first_unbiased / denominator


class ParameterAverage:
    """An exponential moving average of parameters (Polyak averaging). NOT in the GAN paper.

    The trained generator's weights jitter around where SGD with a large learning rate
    keeps them; the samples show it as speckle. Their running average samples cleaner
    images: on paper-mnist, G averaged over its epoch 20-80 checkpoints scored 203.6 on
    the Parzen estimate against 158.0 for G at epoch 80 (benchmarks/RESULTS.md). Yazici
    et al., "The unusual effectiveness of averaging in GAN training" (ICLR 2019).

    ``averages`` are arrays shaped like ``params`` (under the same names), overwritten
    with the parameters at construction and updated in place by ``update()`` after
    each step of the parameters. They are typically the parameters of a second copy
    of the network, which then samples from the average. After N updates, with p_k
    the parameters after step k (k = 1..N), the average is the exponentially weighted
    mean of all of them, normalised:

        a_N = sum_k d^(N-k) p_k / sum_k d^(N-k)

    kept with one in-place step per update: a_{n+1} = w_n a_n + (1 - w_n) p_{n+1},

        w_n = d (1 - d^n) / (1 - d^(n+1))          (n = updates done so far)

    (the weights of a_n, scaled by d, against p_{n+1}'s weight 1). w_0 = 0: the initial
    parameters carry no weight. While n (1 - d) is small, w_n ~ n / (n + 1): the uniform
    mean of the iterates so far; later w_n -> d: the exponential moving average with a
    horizon of 1 / (1 - d) updates, which the normalisation never shortens. (This is
    the bias-corrected average of Adam's moments. An earlier version used TensorFlow's
    warm-up min(d, (1 + n)/(10 + n)), which weighs update k like k^8 until n reaches
    about 9 / (1 - d): for d = 0.99995 longer than a 250-epoch run, half the weight on
    its last 9,300 updates.) For decay 0.99998 (mnist-tuned) the horizon is 50,000
    updates, 100 epochs. State: "average.<name>" and "updates".
    """

    def __init__(self, params, averages, *, decay):
        decay = require_real(decay, "decay")
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self._params = _validated_params(params)
        if set(averages) != set(self._params):
            raise ValueError(f"averages must have the parameters' names {sorted(self._params)}, "
                             f"got {sorted(averages)}")
        for name, param in self._params.items():
            average = averages[name]
            if average.shape != param.shape or average.dtype != param.dtype or np.may_share_memory(average, param):
                raise ValueError(f"average {name!r} must be a separate array of the parameter's shape "
                                 f"{param.shape} and dtype {param.dtype}")
        self._averages = {name: averages[name] for name in self._params}
        self._scratch = {}  # the NumPy path's (p - a) per parameter, made when first needed
        self.decay = decay
        self.reset()

    @property
    def updates(self):
        """The number of update() calls since the average started (or was reset)."""
        return self._updates

    def reset(self):
        """Start the average afresh at the current parameters."""
        for name, param in self._params.items():
            np.copyto(self._averages[name], param)
        self._updates = 0

    def update(self):
        """Move the average towards the current parameters (call after each step)."""
        n, decay = self._updates, self.decay
        weight = decay * -math.expm1(n * math.log(decay)) / -math.expm1((n + 1) * math.log(decay))
        for name, param in self._params.items():
            average, share = self._averages[name], param.dtype.type(1.0 - weight)
            kernels = _in_place_kernels((average, param))
            if kernels is not None:
                kernels.average_update(average, param, share)  # the same arithmetic in one compiled pass
                continue
            scratch = self._scratch.get(name)
            if scratch is None:
                scratch = self._scratch[name] = np.empty_like(param)
            np.subtract(param, average, out=scratch)  # a <- a + (p - a) (1 - w_n), in place
            scratch *= share
            average += scratch
        self._updates += 1

    def state_dict(self):
        state = {f"average.{name}": average.copy() for name, average in self._averages.items()}
        state["updates"] = np.array(self._updates, dtype=np.int64)
        return state

    def load_state_dict(self, state):
        """Restore a state_dict(); names, shapes, dtypes and finiteness are checked first."""
        wanted = {f"average.{name}" for name in self._averages} | {"updates"}
        if set(state.keys()) != wanted:
            missing, extra = sorted(wanted - set(state.keys())), sorted(set(state.keys()) - wanted)
            raise ValueError(f"ParameterAverage state does not match its parameters: missing {missing}, "
                             f"unexpected {extra}")
        for name, average in self._averages.items():
            value = np.asarray(state[f"average.{name}"])
            if value.shape != average.shape or value.dtype != average.dtype:
                raise ValueError(f"state 'average.{name}' is {value.dtype}{value.shape}, expected "
                                 f"{average.dtype}{average.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"state 'average.{name}' contains NaN or inf")
        updates = Optimizer._state_integer(state, "updates", minimum=0)
        for name, average in self._averages.items():
            np.copyto(average, state[f"average.{name}"])
        self._updates = updates
