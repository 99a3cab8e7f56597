"""Algorithm 1 of Goodfellow et al. (2014), line by line.

    for number of training iterations do
        for k steps do                                              (k_discriminator_steps)
            sample a minibatch of m noise samples z from p_z         (noise prior)
            sample a minibatch of m examples x from p_data
            update D by ascending its stochastic gradient of
                (1/m) sum [log D(x) + log(1 - D(G(z)))]               (descend L_D)
        end for
        sample a minibatch of m noise samples z from p_z               (fresh noise)
        update G by descending its stochastic gradient of
            (1/m) sum log(1 - D(G(z)))                 ("minimax"; or "non-saturating":
                                                       -(1/m) sum log D(G(z)))
    end for

update_order "simultaneous" is the authors' released code instead: one minibatch
and one noise batch, both gradients from one D pass at the same parameters, then
both nets step. The gradients themselves are computed in npgan/gan.py (and
checked in npgan/gradcheck.py); this module draws the batches, steps the
optimizers, and records what happened.

A finite training set (MNIST) is visited in shuffled passes, as the authors'
pylearn2 "shuffled_sequential" iterator did: each pass a fresh permutation, then
consecutive minibatches of it (ShuffledBatches). A toy distribution is sampled
afresh for every minibatch.

All randomness comes from one integer seed, split by numpy.random.SeedSequence
into independent streams for initialisation, data, noise and dropout masks.

A loss, gradient or parameter that becomes NaN or inf stops training with TrainingDiverged,
naming it and the iteration, and so does a run away D whose logits grow without bound before
anything overflows (a mean |logit| over a minibatch above RUNAWAY_LOGIT, 1e5; why that bound:
its comment). Both checks are the optimizer's step's: the gradients before it changes any
parameter (npgan.optim.NonFiniteGradient), the parameters after it (the name it returns).
Each takes one sum of squares per array (npgan.optim.first_non_finite: finite only if every
element is) instead of testing every element: the same problems caught, for one read and no
temporary; the compiled momentum update checks each parameter in the pass that writes it, for
no extra read. Running a run directory (metrics.jsonl, checkpoints, resume, signals) is
npgan.run's; reading a checkpoint for sampling or export is npgan.restore's.
"""

import numpy as np

from npgan.checkpoint import CheckpointError, save_checkpoint
from npgan.data.mnist import ImageData
from npgan.gan import GAN
from npgan.init import output_bias_from_mean
from npgan.layers import sigmoid
from npgan.models import build_gan, build_generator, validate_config
from npgan.noise import sample_noise
from npgan.optim import Adam, MomentumSGD, NonFiniteGradient, ParameterAverage
from npgan.restore import (AVERAGE_PREFIX, GENERATOR_ONLY, check_parameter_shapes, checkpoint_config,
                           load_parameters, state_entry)
from npgan.validate import is_integer, is_real

RANDOM_STREAMS = ("init", "data", "noise", "dropout")
METRICS = ("objective_d", "objective_g", "mean_d_real", "mean_d_fake", "false_negatives",
           "false_positives")  # the keys of step_metrics


class TrainingDiverged(RuntimeError):
    """A loss, gradient or parameter became NaN or infinite.

    quantity: what did ("the D loss", "the gradient of D.0.W", "parameter G.2.b");
    iteration: the iteration (from 1) during which it happened; value: "nan", "inf", ...
    """

    def __init__(self, quantity, iteration, value, note=""):
        super().__init__(f"{quantity} became {value} at iteration {iteration}{note}")
        self.quantity, self.iteration = quantity, iteration


class ShuffledBatches:
    """Minibatches of a finite training set in shuffled passes (pylearn2's shuffled_sequential).

    Each pass draws a permutation of the rows from the data stream and hands out
    consecutive slices of it; rows left over when fewer than m remain start the next
    pass (none for MNIST: 50,000 / 100). The permutation and the position are the
    state a checkpoint keeps, so a resumed run sees the same minibatches.

    data: an npgan.data.mnist.Pixels (len() and rows(index)): each minibatch is converted
    from the stored pixels as it is drawn, 100 rows, never the whole split.
    """

    def __init__(self, data):
        self.data = data
        self.order = None
        self.position = 0

    def sample(self, m, rng):
        if m > len(self.data):
            raise ValueError(f"minibatch of {m} rows from a training set of {len(self.data)}")
        if self.order is None or self.position + m > len(self.order):
            self.order = rng.permutation(len(self.data))
            self.position = 0
        rows = self.order[self.position:self.position + m]
        self.position += m
        return self.data.rows(rows)

    def state_dict(self):
        if self.order is None:
            return {}
        return {"order": self.order.copy(), "position": np.array(self.position)}

    def load_state_dict(self, state):
        if not state:
            self.order, self.position = None, 0
            return
        order, position = np.asarray(state["order"]), int(state["position"])
        if order.shape != (len(self.data),) or not 0 <= position <= len(order):
            raise ValueError(f"the checkpoint's minibatch order is for {order.shape[0]} training rows at "
                             f"position {position}; this training set has {len(self.data)}")
        self.order, self.position = order.copy(), position


class Trainer:
    """G, D, their optimizers and random streams, and Algorithm 1 over them.

    dataset: an npgan.data.mnist.ImageData (minibatches in shuffled passes over its
    train split), or anything with ``dim`` (the data width) and ``sample(m, rng)``
    returning an (m, dim) float32 array, e.g. npgan.data.toy.RING8.

    ``gan`` is what Algorithm 1 trains; ``model`` is what samples and is evaluated: the
    same GAN, or with generator_average_decay > 0 one whose G holds the moving average
    of the trained G's parameters (``generator_average``, updated after every G step).
    """

    def __init__(self, config, dataset):
        self.config = validate_config(dict(config))
        self.dataset = dataset
        self.batches = ShuffledBatches(dataset.pixels["train"]) if isinstance(dataset, ImageData) else dataset
        streams = np.random.SeedSequence(self.config["seed"]).spawn(len(RANDOM_STREAMS))
        self.rngs = {name: np.random.default_rng(stream) for name, stream in zip(RANDOM_STREAMS, streams)}
        output_bias = None
        if self.config["generator_output_bias"] == "logit-mean":
            if not isinstance(dataset, ImageData):
                raise ValueError("generator_output_bias 'logit-mean' needs a training set of pixels in [0, 1]")
            output_bias = output_bias_from_mean(dataset.pixels["train"].column_mean())
        self.gan = build_gan(self.config, dataset.dim, rng=self.rngs["init"],
                             dropout_rng=self.rngs["dropout"], output_bias=output_bias)
        self.optimizer_d = make_optimizer(self.config, self.gan.params_of("D"))
        self.optimizer_g = make_optimizer(self.config, self.gan.params_of("G"))
        self.model, self.generator_average = self.gan, None
        if self.config["generator_average_decay"] > 0:
            averaged = build_generator(self.config, dataset.dim, rng=np.random.default_rng(0))  # overwritten
            self.model = GAN(averaged, self.gan.discriminator, divergence=self.config["divergence"],
                             noise=self.config["noise"], noise_dim=self.config["noise_dim"])
            self.generator_average = ParameterAverage(self.gan.params_of("G"), self.model.params_of("G"),
                                                      decay=self.config["generator_average_decay"])
        self.iteration = 0
        self.elapsed_seconds = 0.0  # of training, resumes included (train_run: to its last checkpoint)
        self.metrics_window = None  # of a resume: npgan.run.train_run's running sums since its last log line

    # -- Algorithm 1 ---------------------------------------------------------------------
    def train_iteration(self):
        """One iteration of Algorithm 1; returns the monitoring values of its last D and G steps."""
        config = self.config
        m = config["batch_size"]
        self._set_epoch()
        if config["update_order"] == "simultaneous":
            d_step, g_step = self.gan.simultaneous_gradients(
                self._data(m), self._noise(m), kind=config["generator_loss"],
                discriminator_loss_scale=config["discriminator_loss_scale"])
            self._step(self.optimizer_d, "D", d_step)
            self._step(self.optimizer_g, "G", g_step)
        else:
            d_step = self.discriminator_steps(config["k_discriminator_steps"])
            g_step = self.generator_steps(1)
        self.iteration += 1
        return step_metrics(d_step, g_step)

    def discriminator_steps(self, steps):
        """``steps`` D steps with G fixed, each on a fresh minibatch of m examples and m noise
        vectors (Algorithm 1's inner loop; alone, Proposition 1's D -> D*_G). Returns the last."""
        m = self.config["batch_size"]
        for _ in range(steps):
            d_step = self.gan.discriminator_gradients(
                self._data(m), self._noise(m), loss_scale=self.config["discriminator_loss_scale"])
            self._step(self.optimizer_d, "D", d_step)
        return d_step

    def generator_steps(self, steps):
        """``steps`` G steps through D with D fixed, each on fresh noise. Returns the last."""
        m = self.config["batch_size"]
        for _ in range(steps):
            g_step = self.gan.generator_gradients(self._noise(m), kind=self.config["generator_loss"])
            self._step(self.optimizer_g, "G", g_step)
        return g_step

    def _data(self, m):
        return self.batches.sample(m, self.rngs["data"])

    def _noise(self, m):
        return sample_noise(self.config["noise"], m, self.config["noise_dim"], self.rngs["noise"])

    def _step(self, optimizer, network, step):
        """One optimizer step of ``network`` ("D" or "G") from ``step`` (npgan.gan.StepResult: its
        loss and the logits it saw). A non-finite loss, gradient or (after the step) parameter,
        or a run away D (runaway_logits), raises TrainingDiverged naming it."""
        iteration = self.iteration + 1
        if not np.isfinite(step.loss):
            raise TrainingDiverged(f"the {network} loss", iteration, step.loss)
        runaway = runaway_logits(step)
        if runaway is not None:
            raise TrainingDiverged("the mean |logit| of D", iteration, f"{runaway:.3g}",
                                   f" (the {network} step's minibatch; a run that has not run away stays "
                                   f"below {RUNAWAY_LOGIT:g}; the step changed no parameter)")
        grads = self.gan.grads_of(network)
        try:
            # checks every gradient before it changes any parameter, and names a parameter the update
            # made NaN or inf (after finite gradients, only an overflow)
            name = optimizer.step(grads)
        except NonFiniteGradient as error:
            raise TrainingDiverged(f"the gradient of {error.name}", iteration, _non_finite(grads[error.name]),
                                   f" (the {network} step; it changed no parameter)") from None
        if name is not None:
            raise TrainingDiverged(f"parameter {name}", iteration, _non_finite(self.gan.params_of(network)[name]),
                                   f" (the {network} step)")
        if network == "G" and self.generator_average is not None:
            self.generator_average.update()

    def _set_epoch(self):
        epoch = self.epoch
        if epoch is not None:
            self.optimizer_d.set_epoch(epoch)
            self.optimizer_g.set_epoch(epoch)

    @property
    def epoch(self):
        """The epoch (from 1) the next iteration belongs to, or None for a stream of toy data."""
        per_epoch = self.config["iterations_per_epoch"]
        return None if per_epoch is None else self.iteration // per_epoch + 1

    @property
    def epochs_done(self):
        """Epochs completed (a float: 1.04 is 4% into the second), or None for toy data."""
        per_epoch = self.config["iterations_per_epoch"]
        return None if per_epoch is None else self.iteration / per_epoch

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n, rng):
        """n samples of the model's G (the average, if kept), in evaluation mode, noise from ``rng``."""
        return self.model.sample(n, rng)

    # -- checkpoints ------------------------------------------------------------------------
    def save(self, path, extra_state=None):
        """A checkpoint at ``path`` (npgan.checkpoint) from which from_checkpoint resumes bit-identically:
        parameters, optimizer and minibatch state, the average, the random streams, ``extra_state``."""
        arrays = dict(self.gan.params)  # written as they are: save_checkpoint only reads them
        for prefix, stateful in self._stateful_parts():
            arrays.update({f"{prefix}.{key}": value for key, value in stateful.state_dict().items()})
        state = {"iteration": self.iteration, "data_dim": self.dataset.dim,
                 "random_streams": {name: rng.bit_generator.state for name, rng in self.rngs.items()},
                 **(extra_state or {})}
        save_checkpoint(path, config=self.config, state=state, arrays=arrays)

    @classmethod
    def from_checkpoint(cls, checkpoint, dataset, **config_changes):
        """Rebuild a trainer exactly where ``checkpoint`` (a loaded Checkpoint) stopped.

        A checkpoint that does not fit (another architecture, data of another width, a
        missing array, a missing or damaged run state) raises CheckpointError saying what; its
        parameters' shapes are checked against its configuration before anything is built.
        """
        state = checkpoint.state
        iteration = state_entry(state, "iteration", lambda value: value >= 0)
        data_dim = state_entry(state, "data_dim", lambda value: value >= 1)
        if data_dim != dataset.dim:
            raise CheckpointError(f"the checkpoint was trained on data of dimension {data_dim}; this "
                                  f"dataset has dimension {dataset.dim}")
        if state.get("contents") == GENERATOR_ONLY:
            raise CheckpointError("the checkpoint holds a generator only (npgan export): it can be sampled and "
                                  "evaluated but not trained further")
        check_parameter_shapes(checkpoint)
        trainer = cls(checkpoint_config(checkpoint, config_changes), dataset)
        # an average switched on at this resume (the checkpoint's run kept none) starts from its G
        start_average = not checkpoint_config(checkpoint)["generator_average_decay"]
        try:
            trainer.load_arrays(checkpoint.arrays, start_average=start_average)
        except ValueError as error:
            raise CheckpointError(str(error)) from None
        trainer.iteration = iteration
        elapsed = state.get("elapsed_seconds", 0.0)
        if not (is_real(elapsed) and elapsed >= 0):
            raise CheckpointError(f"the checkpoint's run state is damaged: elapsed_seconds is {elapsed!r}, not a "
                                  "number of seconds")
        trainer.elapsed_seconds = float(elapsed)
        try:
            for name, rng in trainer.rngs.items():
                rng.bit_generator.state = state["random_streams"][name]
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"the checkpoint's run state is damaged: its random stream states are "
                                  f"missing or invalid ({type(error).__name__}: {error})") from None
        trainer.metrics_window = _metrics_window(state.get("metrics_window"))
        return trainer

    def _stateful_parts(self):
        """The optimizers (and the minibatch order of a finite training set), each with the
        prefix of its arrays in a checkpoint."""
        parts = [("optimizer_d", self.optimizer_d), ("optimizer_g", self.optimizer_g)]
        if isinstance(self.batches, ShuffledBatches):
            parts.append(("batches", self.batches))
        if self.generator_average is not None:
            parts.append((AVERAGE_PREFIX, self.generator_average))
        return parts

    def load_arrays(self, arrays, *, start_average=False):
        """Parameters and state from checkpoint arrays. start_average: the arrays hold no
        parameter average (averaging is switched on now); it starts from their G."""
        load_parameters(self.gan, arrays)
        for prefix, stateful in self._stateful_parts():
            state = {key[len(prefix) + 1:]: value for key, value in arrays.items() if key.startswith(prefix + ".")}
            if stateful is self.generator_average and start_average and not state:
                stateful.reset()
            else:
                stateful.load_state_dict(state)


def make_optimizer(config, params):
    """The optimizer of one network's ``params``: Adam, or momentum SGD with the paper's schedules."""
    if config["optimizer"] == "adam":
        return Adam(params, learning_rate=config["learning_rate"], beta1=config["adam_beta1"])
    return MomentumSGD(params, learning_rate=config["learning_rate"], momentum=config["momentum"],
                       learning_rate_decay=config["learning_rate_decay"],
                       min_learning_rate=config["min_learning_rate"],
                       final_momentum=config["final_momentum"],
                       momentum_saturate_epoch=config["momentum_saturate_epoch"])


def step_metrics(d_step, g_step):
    """The paper's monitoring channels for one iteration (D(x) = sigmoid(logit) > 1/2 iff logit > 0)."""
    real, fake = d_step.real_logits, d_step.fake_logits
    return {
        "objective_d": float(d_step.loss),
        "objective_g": float(g_step.loss),
        "mean_d_real": float(np.mean(sigmoid(real.astype(np.float64)))),
        "mean_d_fake": float(np.mean(sigmoid(fake.astype(np.float64)))),
        "false_negatives": float(np.mean(real < 0)),
        "false_positives": float(np.mean(fake > 0)),
    }


def _metrics_window(window):
    """A checkpoint's metrics window, checked: None, or {"sums": {metric: finite number for every
    one of METRICS}, "size": the iterations summed, an integer >= 0}."""
    if window is None:
        return None
    valid = (isinstance(window, dict) and set(window) == {"sums", "size"} and is_integer(window["size"])
             and window["size"] >= 0 and isinstance(window["sums"], dict) and set(window["sums"]) == set(METRICS)
             and all(is_real(value) for value in window["sums"].values()))
    if not valid:
        raise CheckpointError(f"the checkpoint's run state is damaged: its metrics_window is not "
                              f'{{"sums": {{one number for each of {", ".join(METRICS)}}}, "size": an integer >= 0}} '
                              f"(found {_abbreviated(window)})")
    return {"sums": dict(window["sums"]), "size": window["size"]}


def _abbreviated(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# Runaway: the mean |logit| (D's output; the critic's V under an f-divergence) over a step's
# minibatch above RUNAWAY_LOGIT. No run that trains comes within a factor of 90 of it. The largest
# mean over any step, measured (benchmarks/RESULTS.md): the GAN presets 21 (gauss1d), 13
# (paper-mnist, 1,500 iterations), 2.8 (grid25), 1.9 (ring8); the f-divergences on gauss1d and
# bimodal1d, seeds 0-5, 1,046 (reverse KL, whose critic tracks -q/p where G has mass and the data
# little), 355 (Pearson), 234 (KL), 21 or less (the others), and 5.6 or less on ring8. Ring8 at
# learning rate 0.1 peaks at 277 and runs on. At learning rate 1 (Adam) D's mean |logit| is 5e5 by
# iteration 3 and the losses 1e6: a run that has exploded without (yet) overflowing, D's outputs
# saturated past what a float can tell from certain (sigmoid(1e5) is 1 to every digit), its
# losses growing with them.
RUNAWAY_LOGIT = 1e5


def runaway_logits(step):
    """The mean |logit| over ``step``'s minibatch (real and generated for a D step, generated for a
    G step) if it is above RUNAWAY_LOGIT, else None."""
    logits = [array for array in (step.real_logits, step.fake_logits) if array is not None]
    count = sum(array.size for array in logits)
    if count == 0:
        return None
    mean = sum(float(np.sum(np.abs(array), dtype=np.float64)) for array in logits) / count
    return mean if mean > RUNAWAY_LOGIT else None


def _non_finite(array):
    """"NaN", "inf" or "NaN and inf": what a non-finite array holds."""
    kinds = [kind for kind, found in (("NaN", np.isnan(array).any()), ("inf", np.isinf(array).any())) if found]
    return " and ".join(kinds)
