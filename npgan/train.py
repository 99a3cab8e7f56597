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

All randomness comes from one integer seed, split by numpy.random.SeedSequence
into independent streams for initialisation, data, noise and dropout masks.
"""

import json
import os
import time

import numpy as np

from npgan.checkpoint import save_checkpoint
from npgan.layers import sigmoid
from npgan.models import build_gan, validate_config
from npgan.noise import sample_noise
from npgan.optim import Adam, MomentumSGD

RANDOM_STREAMS = ("init", "data", "noise", "dropout")
METRICS = ("objective_d", "objective_g", "mean_d_real", "mean_d_fake", "false_negatives",
           "false_positives")


class TrainingDiverged(RuntimeError):
    """A loss, gradient or parameter became NaN or infinite."""


class Trainer:
    """G, D, their optimizers and random streams, and Algorithm 1 over them.

    dataset: anything with ``dim`` (the data width) and ``sample(m, rng)`` returning
    an (m, dim) float32 array, e.g. npgan.data.toy.RING8.
    """

    def __init__(self, config, dataset, *, output_bias=None):
        self.config = validate_config(dict(config))
        self.dataset = dataset
        streams = np.random.SeedSequence(self.config["seed"]).spawn(len(RANDOM_STREAMS))
        self.rngs = {name: np.random.default_rng(stream) for name, stream in zip(RANDOM_STREAMS, streams)}
        self.gan = build_gan(self.config, dataset.dim, rng=self.rngs["init"],
                             dropout_rng=self.rngs["dropout"], output_bias=output_bias)
        self.optimizer_d = make_optimizer(self.config, self.gan.params_of("D"))
        self.optimizer_g = make_optimizer(self.config, self.gan.params_of("G"))
        self.iteration = 0
        self.elapsed_seconds = 0.0  # of training before a resume

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
        return self.dataset.sample(m, self.rngs["data"])

    def _noise(self, m):
        return sample_noise(self.config["noise"], m, self.config["noise_dim"], self.rngs["noise"])

    def _step(self, optimizer, network, loss):
        if not np.isfinite(loss):
            raise TrainingDiverged(f"the {network} loss became {loss} at iteration {self.iteration + 1}")
        try:
            optimizer.step(self.gan.grads_of(network))
        except ValueError as error:
            raise TrainingDiverged(f"{error} (iteration {self.iteration + 1})") from None

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

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n, rng):
        """n samples of G, in evaluation mode, drawn with noise from ``rng``."""
        return generate(self.gan, self.config, n, rng)

    # -- checkpoints ------------------------------------------------------------------------
    def save(self, path, extra_state=None):
        arrays = {name: value.copy() for name, value in self.gan.params.items()}
        for prefix, optimizer in self._named_optimizers():
            arrays.update({f"{prefix}.{key}": value for key, value in optimizer.state_dict().items()})
        state = {"iteration": self.iteration, "data_dim": self.dataset.dim,
                 "random_streams": {name: rng.bit_generator.state for name, rng in self.rngs.items()},
                 **(extra_state or {})}
        save_checkpoint(path, config=self.config, state=state, arrays=arrays)

    @classmethod
    def from_checkpoint(cls, checkpoint, dataset, **config_changes):
        """Rebuild a trainer exactly where ``checkpoint`` (a loaded Checkpoint) stopped."""
        trainer = cls({**checkpoint.config, **config_changes}, dataset)
        trainer.load_arrays(checkpoint.arrays)
        trainer.iteration = int(checkpoint.state["iteration"])
        trainer.elapsed_seconds = float(checkpoint.state.get("elapsed_seconds", 0.0))
        for name, rng in trainer.rngs.items():
            rng.bit_generator.state = checkpoint.state["random_streams"][name]
        return trainer

    def _named_optimizers(self):
        """Each optimizer with the prefix of its state in a checkpoint."""
        return (("optimizer_d", self.optimizer_d), ("optimizer_g", self.optimizer_g))

    def load_arrays(self, arrays):
        load_parameters(self.gan, arrays)
        for prefix, optimizer in self._named_optimizers():
            optimizer.load_state_dict({key[len(prefix) + 1:]: value for key, value in arrays.items()
                                       if key.startswith(prefix + ".")})


def gan_from_checkpoint(checkpoint):
    """G and D of a loaded Checkpoint, with its parameters (for sampling and evaluation)."""
    config = validate_config(dict(checkpoint.config))
    placeholder = np.random.default_rng(0)  # every parameter is overwritten by the checkpoint's
    gan = build_gan(config, int(checkpoint.state["data_dim"]), rng=placeholder, dropout_rng=placeholder)
    load_parameters(gan, checkpoint.arrays)
    return gan


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
    z = sample_noise(config["noise"], n, config["noise_dim"], rng)
    gan.generator.eval()
    try:
        return gan.generator.predict(z)
    finally:
        gan.generator.train()


def load_parameters(gan, arrays):
    """Copy G's and D's parameters from ``arrays`` into ``gan`` (names, shapes and dtypes checked)."""
    for name, value in gan.params.items():
        if name not in arrays:
            raise ValueError(f"the checkpoint has no parameter {name}: it was made for another architecture")
        saved = arrays[name]
        if saved.shape != value.shape or saved.dtype != value.dtype:
            raise ValueError(f"parameter {name} is {saved.dtype}{saved.shape} in the checkpoint, the "
                             f"model expects {value.dtype}{value.shape}: another architecture")
        value[...] = saved


def train_run(trainer, out_dir, *, progress=None, on_log=None):
    """Run the trainer to config["iterations"], writing into ``out_dir``:

        config.json      every resolved hyperparameter
        metrics.jsonl    one JSON object per log_every iterations (window means)
        checkpoint.npz   every checkpoint_every iterations and at the end

    progress: an optional callable(iterations_done, metrics) for a progress bar.
    A divergence raises TrainingDiverged after keeping the last good checkpoint.
    """
    config = trainer.config
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as handle:
        json.dump(config, handle, indent=1, sort_keys=True)
    metrics_path = os.path.join(out_dir, "metrics.jsonl")
    checkpoint_path = os.path.join(out_dir, "checkpoint.npz")
    _truncate_metrics(metrics_path, trainer.iteration)
    started = time.perf_counter() - trainer.elapsed_seconds
    window = {name: 0.0 for name in METRICS}
    window_size = 0
    with open(metrics_path, "a") as metrics_file:
        while trainer.iteration < config["iterations"]:
            values = trainer.train_iteration()
            for name in METRICS:
                window[name] += values[name]
            window_size += 1
            done = trainer.iteration
            if done % config["log_every"] == 0 or done == config["iterations"]:
                record = {"iteration": done, "epoch": trainer.epoch,
                          **{name: window[name] / window_size for name in METRICS},
                          "learning_rate": float(trainer.optimizer_d.current_learning_rate),
                          "momentum": _momentum(trainer.optimizer_d),
                          "elapsed_seconds": round(time.perf_counter() - started, 3)}
                metrics_file.write(json.dumps(record) + "\n")
                metrics_file.flush()
                window = {name: 0.0 for name in METRICS}
                window_size = 0
                if on_log is not None:
                    on_log(record)
            if done % config["checkpoint_every"] == 0 or done == config["iterations"]:
                trainer.save(checkpoint_path, {"elapsed_seconds": time.perf_counter() - started})
            if progress is not None:
                progress(done, values)
    return checkpoint_path


def _momentum(optimizer):
    return float(optimizer.current_momentum) if hasattr(optimizer, "current_momentum") else None


def _truncate_metrics(path, iteration):
    """Drop metric lines written after the checkpoint a run resumes from."""
    if not os.path.exists(path):
        return
    with open(path) as handle:
        kept = [line for line in handle if line.strip() and json.loads(line)["iteration"] <= iteration]
    with open(path, "w") as handle:
        handle.writelines(kept)
