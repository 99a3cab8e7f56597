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
"""

import json
import os
import shutil
import sys
import time

import numpy as np

from npgan.checkpoint import CheckpointError, save_checkpoint
from npgan.data.mnist import ImageData
from npgan.evaluate.parzen import quick_parzen
from npgan.init import output_bias_from_mean
from npgan.layers import sigmoid
from npgan.gan import GAN
from npgan.models import build_gan, build_generator, validate_config
from npgan.noise import sample_noise
from npgan.optim import Adam, MomentumSGD, ParameterAverage

RANDOM_STREAMS = ("init", "data", "noise", "dropout")
METRICS = ("objective_d", "objective_g", "mean_d_real", "mean_d_fake", "false_negatives",
           "false_positives")


KEEP_CHECKPOINTS = 3  # epoch checkpoints kept in checkpoints/
DIVERSITY_SAMPLES = 1000
COLLAPSE_RATIO = 0.5  # warn when G's sample diversity is below half the data's
DIVERSITY_SEED = 2**31 - 2  # fixed noise for monitoring: not drawn from the training streams
SAMPLES_SEED = 2**31 - 1
GENERATOR_ONLY = "generator"  # state["contents"] of an exported generator
AVERAGE_PREFIX = "generator_average"  # checkpoint arrays "generator_average.average.G.0.W", ...
GENERATOR_CHOICES = ("average", "trained")


class TrainingDiverged(RuntimeError):
    """A loss, gradient or parameter became NaN or infinite.

    quantity: what did ("the D loss", "the gradient of D.0.W", "parameter G.2.b");
    iteration: the iteration (from 1) during which it happened; value: "nan", "inf", ...
    """

    def __init__(self, quantity, iteration, value, note=""):
        super().__init__(f"{quantity} became {value} at iteration {iteration}{note}")
        self.quantity, self.iteration = quantity, iteration


class RunDirectoryError(ValueError):
    """A file of the run directory that a resume needs is damaged (metrics.jsonl)."""


class TrainingInterrupted(RuntimeError):
    """train_run stopped early on request (npgan train: SIGINT or SIGTERM), after writing a
    checkpoint at ``iteration`` to ``checkpoint_path``."""

    def __init__(self, iteration, checkpoint_path):
        super().__init__(f"stopped after iteration {iteration}; checkpoint {checkpoint_path}")
        self.iteration, self.checkpoint_path = iteration, checkpoint_path


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
        self.elapsed_seconds = 0.0  # of training before a resume
        self.metrics_window = None  # of a resume: train_run's running sums since its last log line

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
            self._step(self.optimizer_d, "D", d_step.loss)
            self._step(self.optimizer_g, "G", g_step.loss)
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
            self._step(self.optimizer_d, "D", d_step.loss)
        return d_step

    def generator_steps(self, steps):
        """``steps`` G steps through D with D fixed, each on fresh noise. Returns the last."""
        m = self.config["batch_size"]
        for _ in range(steps):
            g_step = self.gan.generator_gradients(self._noise(m), kind=self.config["generator_loss"])
            self._step(self.optimizer_g, "G", g_step.loss)
        return g_step

    def _data(self, m):
        return self.batches.sample(m, self.rngs["data"])

    def _noise(self, m):
        return sample_noise(self.config["noise"], m, self.config["noise_dim"], self.rngs["noise"])

    def _step(self, optimizer, network, loss):
        """One optimizer step of ``network`` ("D" or "G"); a non-finite loss, gradient or
        (after the step) parameter raises TrainingDiverged naming it."""
        iteration = self.iteration + 1
        if not np.isfinite(loss):
            raise TrainingDiverged(f"the {network} loss", iteration, loss)
        grads = self.gan.grads_of(network)
        for name, grad in grads.items():
            if not np.isfinite(grad).all():
                raise TrainingDiverged(f"the gradient of {name}", iteration, _non_finite(grad),
                                       f" (the {network} step; it changed no parameter)")
        optimizer.step(grads)
        for name, value in self.gan.params_of(network).items():
            if not np.isfinite(value).all():
                raise TrainingDiverged(f"parameter {name}", iteration, _non_finite(value),
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
        return generate(self.model, self.config, n, rng)

    # -- checkpoints ------------------------------------------------------------------------
    def save(self, path, extra_state=None):
        arrays = {name: value.copy() for name, value in self.gan.params.items()}
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
        missing array, a missing or damaged run state) raises CheckpointError saying what.
        """
        state = checkpoint.state
        iteration = _state_entry(state, "iteration", lambda value: value >= 0)
        data_dim = _state_entry(state, "data_dim", lambda value: value >= 1)
        if data_dim != dataset.dim:
            raise CheckpointError(f"the checkpoint was trained on data of dimension {data_dim}; this "
                                  f"dataset has dimension {dataset.dim}")
        if state.get("contents") == GENERATOR_ONLY:
            raise CheckpointError("the checkpoint holds a generator only (npgan export): it can be sampled and "
                                  "evaluated but not trained further")
        trainer = cls(checkpoint_config(checkpoint, config_changes), dataset)
        # an average switched on at this resume (the checkpoint's run kept none) starts from its G
        start_average = not checkpoint_config(checkpoint)["generator_average_decay"]
        try:
            trainer.load_arrays(checkpoint.arrays, start_average=start_average)
        except ValueError as error:
            raise CheckpointError(str(error)) from None
        trainer.iteration = iteration
        try:
            trainer.elapsed_seconds = float(state.get("elapsed_seconds", 0.0))
            for name, rng in trainer.rngs.items():
                rng.bit_generator.state = state["random_streams"][name]
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"the checkpoint's run state is damaged: its random stream states are "
                                  f"missing or invalid ({type(error).__name__}: {error})") from None
        trainer.metrics_window = state.get("metrics_window")
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


def _non_finite(array):
    """"NaN", "inf" or "NaN and inf": what a non-finite array holds."""
    kinds = [kind for kind, found in (("NaN", np.isnan(array).any()), ("inf", np.isinf(array).any())) if found]
    return " and ".join(kinds)


def gan_from_checkpoint(checkpoint, generator="average"):
    """The GAN of a loaded Checkpoint, with its parameters, for sampling and evaluation.

    generator: "average" gives G the moving average of its parameters where the run kept
    one (generator_average_decay > 0; the model the run sampled and evaluated), else the
    trained parameters; "trained" always the trained parameters (what Algorithm 1 left).
    A generator-only checkpoint (npgan export) gives a GAN whose discriminator is None.
    A checkpoint whose arrays do not fit its configuration raises CheckpointError."""
    if generator not in GENERATOR_CHOICES:
        raise ValueError(f"generator must be one of {', '.join(GENERATOR_CHOICES)}; got {generator!r}")
    config = checkpoint_config(checkpoint)
    data_dim = _state_entry(checkpoint.state, "data_dim", lambda value: value >= 1)
    placeholder = np.random.default_rng(0)  # every parameter is overwritten by the checkpoint's
    gan = build_gan(config, data_dim, rng=placeholder, dropout_rng=placeholder)
    arrays = dict(checkpoint.arrays)
    exported = checkpoint.state.get("contents") == GENERATOR_ONLY
    if exported:
        kept = checkpoint.state.get("generator")
        if generator != kept and not (generator == "average" and kept == "trained"):
            raise CheckpointError(f"the checkpoint holds only the {kept} generator, not the {generator} one")
        gan.discriminator = None
    elif generator == "average" and config["generator_average_decay"] > 0:
        for name in gan.params_of("G"):
            key = f"{AVERAGE_PREFIX}.average.{name}"
            if key not in arrays:
                raise CheckpointError(f"the checkpoint has no {key}: its run kept no parameter average "
                                      "(damaged, or pass generator='trained')")
            arrays[name] = arrays[key]
    try:
        load_parameters(gan, arrays)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    return gan


def export_generator(checkpoint, path, generator="average"):
    """Write G alone (float32; the average or the trained parameters, as gan_from_checkpoint)
    to ``path``: a checkpoint that sampling, evaluation and figures 2 and 3 accept, about a
    third of a training checkpoint's size. Returns the GAN it holds (its discriminator None)."""
    gan = gan_from_checkpoint(checkpoint, generator)
    if gan.discriminator is not None:
        kept = generator if checkpoint_config(checkpoint)["generator_average_decay"] > 0 else "trained"
        state = {"contents": GENERATOR_ONLY, "generator": kept, "data_dim": checkpoint.state["data_dim"],
                 "iteration": checkpoint.state.get("iteration")}
    else:
        state = dict(checkpoint.state)
    save_checkpoint(path, config=checkpoint.config, state=state,
                    arrays={name: value.copy() for name, value in gan.params_of("G").items()})
    gan.discriminator = None
    return gan


def checkpoint_config(checkpoint, changes=None):
    """The checkpoint's configuration (with ``changes``), validated; CheckpointError if it is not one."""
    try:
        return validate_config({**checkpoint.config, **(changes or {})})
    except KeyError as error:
        raise CheckpointError(f"the checkpoint's configuration has no {error} entry: damaged, or written by "
                              "another version of npgan") from None
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"the checkpoint's configuration is invalid: {error}") from None


def _state_entry(state, key, valid):
    """state[key], an integer for which valid(value) holds; CheckpointError otherwise."""
    value = state.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not valid(value):
        raise CheckpointError(f"the checkpoint's run state has no valid {key!r} (found {value!r}): damaged")
    return value


def make_optimizer(config, params):
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


def generate(gan, config, n, rng):
    """n samples G(z), z from the configured prior and ``rng``; (n, data_dim) float32."""
    return generator_output(gan, sample_noise(config["noise"], n, config["noise_dim"], rng))


def generator_output(gan, z):
    """G(z) for given noise z (m, noise_dim): in evaluation mode, no cache kept, train mode after."""
    gan.generator.eval()
    try:
        return gan.generator.predict(z)
    finally:
        gan.generator.train()


def load_parameters(gan, arrays):
    """Copy G's and D's parameters from ``arrays`` into ``gan`` (names, shapes, dtypes and
    finiteness checked, and no parameter of G or D left over), each before anything is copied."""
    params = gan.params
    extra = sorted(name for name in arrays if name.startswith(("G.", "D.")) and name not in params)
    if extra:
        raise ValueError(f"the checkpoint has parameters the model lacks ({', '.join(extra)}): it was made "
                         "for another architecture")
    for name, value in params.items():
        if name not in arrays:
            raise ValueError(f"the checkpoint has no parameter {name}: it was made for another architecture")
        saved = arrays[name]
        if saved.shape != value.shape or saved.dtype != value.dtype:
            raise ValueError(f"parameter {name} is {saved.dtype}{saved.shape} in the checkpoint, the "
                             f"model expects {value.dtype}{value.shape}: another architecture")
        if not np.isfinite(saved).all():
            raise ValueError(f"parameter {name} in the checkpoint holds NaN or inf")
    for name, value in params.items():
        value[...] = arrays[name]


def train_run(trainer, out_dir, *, progress=None, on_log=None, keep_checkpoints=KEEP_CHECKPOINTS,
              stop_requested=None):
    """Run the trainer to config["iterations"], writing into ``out_dir``:

        config.json        every resolved hyperparameter
        metrics.jsonl      one JSON object per log_every iterations (one per epoch for MNIST):
                           window means of the step metrics, the learning rate and momentum,
                           sample_diversity next to data_diversity, collapse_warning,
                           elapsed_seconds, peak_rss_mb
        checkpoint.npz     the latest checkpoint: every checkpoint_every iterations and at the end
        checkpoints/epoch-NNNN.npz
                           datasets with epochs: the checkpoints of the last ``keep_checkpoints``
                           epochs (hard links where the file system allows: no extra space)
        checkpoints/best.npz
                           image data: the epoch checkpoint with the best quick Parzen estimate
                           on validation (npgan.evaluate.parzen.quick_parzen)
        parzen.png         image data: that estimate against the epoch
        samples.png        G's samples at the latest checkpoint (a 10 x 10 image grid, or a
                           scatter over the toy density)

    For image data, every checkpoint at an epoch's end first runs the quick Parzen
    estimate (about half a second); its value goes into the checkpoint's state and, as
    parzen_validation, into the metrics record of the same iteration (None elsewhere).

    progress: an optional callable(iterations_done, metrics) for a progress bar.
    on_log: an optional callable(record) called with each metrics.jsonl record.
    stop_requested: an optional callable polled after every iteration (npgan train: "has
    a SIGINT or SIGTERM arrived?"); when it returns true, the run writes a checkpoint of
    that iteration (as at checkpoint_every: with samples.png and the metrics window, so a
    resumed run continues bit-identically) and raises TrainingInterrupted.
    A divergence raises TrainingDiverged after keeping the last good checkpoint.
    metrics.jsonl never holds a line past the latest checkpoint after a stop; after a
    crash it may, and a resumed run drops those lines (and a torn last line).
    """
    config = trainer.config
    os.makedirs(out_dir, exist_ok=True)
    metrics_path = os.path.join(out_dir, "metrics.jsonl")
    checkpoint_path = os.path.join(out_dir, "checkpoint.npz")
    earlier = _truncate_metrics(metrics_path, trainer.iteration)  # first: a damaged file changes nothing
    _write_atomically(os.path.join(out_dir, "config.json"), json.dumps(config, indent=1, sort_keys=True))
    best_ratio = max((record["sample_diversity"] / record["data_diversity"] for record in earlier
                      if record.get("sample_diversity") is not None), default=0.0)
    data_diversity = diversity(trainer.dataset.sample(DIVERSITY_SAMPLES, np.random.default_rng(DIVERSITY_SEED)))
    parzen_curve = [(record["epoch"], record["parzen_validation"]) for record in earlier
                    if record.get("parzen_validation") is not None]
    best_parzen = max((value for _, value in parzen_curve), default=-np.inf)
    started = time.perf_counter() - trainer.elapsed_seconds
    window = {name: 0.0 for name in METRICS}
    window_size = 0
    if trainer.metrics_window is not None:  # resumed between two log lines: the same means as unbroken
        window, window_size = dict(trainer.metrics_window["sums"]), trainer.metrics_window["size"]

    def checkpoint(parzen):
        trainer.save(checkpoint_path, {"elapsed_seconds": time.perf_counter() - started,
                                       "parzen_validation": parzen,
                                       "metrics_window": {"sums": window, "size": window_size}})
        if _epoch_end(trainer):
            _keep_epoch_checkpoint(trainer, out_dir, checkpoint_path, keep_checkpoints)
        write_samples_figure(trainer, os.path.join(out_dir, "samples.png"))

    with open(metrics_path, "a") as metrics_file:
        while trainer.iteration < config["iterations"]:
            values = trainer.train_iteration()
            for name in METRICS:
                window[name] += values[name]
            window_size += 1
            done = trainer.iteration
            last = done == config["iterations"]
            checkpoint_now = done % config["checkpoint_every"] == 0 or last
            parzen = None
            if checkpoint_now and _epoch_end(trainer) and isinstance(trainer.dataset, ImageData):
                parzen = quick_parzen(trainer.model, config, trainer.dataset).test_log_likelihood
                parzen_curve.append((trainer.epochs_done, parzen))
            if done % config["log_every"] == 0 or last:
                sample_diversity = diversity(trainer.sample(DIVERSITY_SAMPLES, np.random.default_rng(DIVERSITY_SEED)))
                ratio = sample_diversity / data_diversity
                record = {"iteration": done, "epoch": trainer.epochs_done,
                          **{name: window[name] / window_size for name in METRICS},
                          "learning_rate": float(trainer.optimizer_d.current_learning_rate),
                          "momentum": _momentum(trainer.optimizer_d),
                          "sample_diversity": sample_diversity, "data_diversity": data_diversity,
                          # G's samples vary far less than the data, and it fell there (from above half
                          # the data's, or to under half its own best), or the run ends there
                          "collapse_warning": bool(ratio < COLLAPSE_RATIO and (
                              best_ratio >= COLLAPSE_RATIO or ratio < best_ratio / 2 or last)),
                          "parzen_validation": parzen,
                          "elapsed_seconds": round(time.perf_counter() - started, 3),
                          "peak_rss_mb": peak_rss_mb()}
                best_ratio = max(best_ratio, ratio)
                metrics_file.write(json.dumps(record) + "\n")
                metrics_file.flush()
                window = {name: 0.0 for name in METRICS}
                window_size = 0
                if on_log is not None:
                    on_log(record)
            if checkpoint_now:
                checkpoint(parzen)
                if parzen is not None:
                    if parzen > best_parzen:
                        best_parzen = parzen
                        _link_or_copy(checkpoint_path, os.path.join(out_dir, "checkpoints", "best.npz"))
                    _write_parzen_curve(trainer, parzen_curve, os.path.join(out_dir, "parzen.png"))
            if progress is not None:
                progress(done, values)
            if stop_requested is not None and not last and stop_requested():
                if not checkpoint_now:
                    checkpoint(None)
                raise TrainingInterrupted(done, checkpoint_path)
    return checkpoint_path


def peak_rss_mb():
    """The process's peak resident memory so far in MiB (resource.getrusage), None where unavailable."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)  # bytes on macOS, KiB on Linux


def diversity(samples):
    """A cheap mode-collapse figure: the per-dimension standard deviation across ``samples``
    (n, d), averaged over the d dimensions (per pixel for images). A collapsed G gives
    about 0; MNIST's training images give 0.19."""
    return float(np.mean(np.std(samples, axis=0, dtype=np.float64)))


def write_samples_figure(trainer, path):
    """samples.png: a 10 x 10 grid of G's samples (images) or 2,500 samples over the toy density,
    always from the same noise so that successive epochs compare."""
    from npgan import figures  # figures imports this module

    config = trainer.config
    title = f"{config['preset']}, seed {config['seed']}, iteration {trainer.iteration}"
    if trainer.epochs_done is not None:
        title += f" (epoch {trainer.epochs_done:g})"
    rng = np.random.default_rng(SAMPLES_SEED)
    if isinstance(trainer.dataset, ImageData):
        figures.samples_grid_figure(trainer.sample(100, rng), trainer.dataset.image_shape, path, title=title)
    else:
        figures.toy_samples_figure(trainer.sample(2500, rng), trainer.dataset, path, title=title)


def _epoch_end(trainer):
    per_epoch = trainer.config["iterations_per_epoch"]
    return per_epoch is not None and trainer.iteration % per_epoch == 0


def _keep_epoch_checkpoint(trainer, out_dir, checkpoint_path, keep):
    """At an epoch's end: checkpoints/epoch-NNNN.npz beside checkpoint.npz; only the last ``keep``."""
    if keep < 1:
        return
    directory = os.path.join(out_dir, "checkpoints")
    epoch = trainer.iteration // trainer.config["iterations_per_epoch"]
    _link_or_copy(checkpoint_path, os.path.join(directory, f"epoch-{epoch:04d}.npz"))
    kept = sorted(name for name in os.listdir(directory) if name.startswith("epoch-") and name.endswith(".npz"))
    for name in kept[:-keep]:
        os.remove(os.path.join(directory, name))


def _link_or_copy(source, target):
    """``target`` becomes the current ``source``: a hard link (checkpoint.npz is replaced by
    rename, so the link keeps this version), or a copy where links are not possible."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.exists(target):
        os.remove(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _write_parzen_curve(trainer, curve, path):
    from npgan import figures  # figures imports this module

    config = trainer.config
    figures.parzen_curve_figure([epoch for epoch, _ in curve], [value for _, value in curve], path,
                                title=f"{config['preset']}, seed {config['seed']}: quick Parzen estimate "
                                      "on validation")


def _momentum(optimizer):
    return float(optimizer.current_momentum) if hasattr(optimizer, "current_momentum") else None


def _truncate_metrics(path, iteration):
    """Drop metric lines written after the checkpoint a run resumes from (and a last line
    torn by a crash mid-write); return the kept records. The file is replaced atomically."""
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        lines = [line for line in handle.read().split("\n") if line.strip()]
    kept = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            done = record["iteration"]
        except (ValueError, KeyError, TypeError):
            if number == len(lines):
                break
            raise RunDirectoryError(f"{path}: line {number} is not a metrics record; the file is damaged (move "
                                    "it away to resume without the earlier metrics)") from None
        if done <= iteration:
            kept.append(record)
    _write_atomically(path, "".join(json.dumps(record) + "\n" for record in kept))
    return kept


def _write_atomically(path, text):
    """``path`` holds ``text`` or what it held before, never a part: a temporary file, then a rename."""
    temporary = f"{path}.{os.getpid()}.tmp"  # open(), not mkstemp: the usual permissions (umask)
    try:
        with open(temporary, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
