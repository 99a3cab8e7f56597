"""A run directory: a Trainer (npgan.train) run to its end, with everything written down.

    config.json        every resolved hyperparameter
    metrics.jsonl      one JSON object per log_every iterations (one per epoch for MNIST):
                       window means of the step metrics, the learning rate and momentum,
                       sample_diversity next to data_diversity, collapse_warning,
                       parzen_validation, elapsed_seconds, peak_rss_mb
    checkpoint.npz     the latest checkpoint: every checkpoint_every iterations and at the end
    checkpoints/epoch-NNNN.npz
                       datasets with epochs: the checkpoints of the last ``keep_checkpoints``
                       epochs, or of every epoch with keep_checkpoints=0 (hard links where the
                       file system allows: no extra space). Every checkpoint's run state holds
                       keep_checkpoints, so that a resume keeps as many (keep_checkpoints_of).

and, from the monitors handed in (npgan.monitors.standard_monitors gives `npgan train`'s):

    checkpoints/best.npz   the epoch checkpoint with the best validation score
    samples.png            G's samples at the latest checkpoint
    curves.png             the training curves of metrics.jsonl up to the latest checkpoint
    parzen.png             the validation score against the epoch

Monitoring is what the caller hands in, never imported here: this module knows nothing
of plotting or of the Parzen estimate.

A run resumes bit-identically from its checkpoint (Trainer.from_checkpoint, then train_run
into the same directory): metrics.jsonl loses the lines written after that checkpoint, and
the metric window under way continues from the sums the checkpoint kept.

Every file is written by npgan.fileio (a fresh temporary, then a rename: a symbolic link
planted under any of these names is replaced, never written through; an epoch checkpoint and
best.npz are hard links made the same way). metrics.jsonl, the one name opened as it is (read
on a resume, then appended to), must be a regular file: a symbolic link, a FIFO or a directory
there is refused (RunDirectoryError), as is a checkpoints/ that is not a directory of its own.
At its start a run removes the temporaries of these files that a process killed mid-write left
(npgan.fileio.remove_temporaries), and nothing else.
"""

import json
import os
import stat
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from npgan.checkpoint import CheckpointError
from npgan.fileio import (
    NotRegularFile,
    describe_mode,
    link_atomically,
    open_regular,
    remove_temporaries,
    write_atomically,
)
from npgan.models import KEEP_CHECKPOINTS  # epoch checkpoints kept in checkpoints/ (0: all)
from npgan.train import METRICS
from npgan.validate import is_integer

DIVERSITY_SAMPLES = 1000
COLLAPSE_RATIO = 0.5  # warn when G's sample diversity is below half the data's
DIVERSITY_SEED = 2**31 - 2  # fixed noise for monitoring: not drawn from the training streams
# the names npgan writes in a run directory (npgan.sweep adds result.json) and in its checkpoints/,
# as regular expressions: the targets whose leftover temporaries a run removes when it starts
RUN_FILES = r"config\.json|metrics\.jsonl|checkpoint\.npz|samples\.png|curves\.png|parzen\.png|result\.json"
CHECKPOINT_FILES = r"best\.npz|epoch-\d{4,}\.npz"


@dataclass(frozen=True)
class Monitors:
    """What a run measures and draws beside its metrics; each callable may be None (not done).

    validation_score(trainer) -> float
        called at every checkpoint that ends an epoch; higher is better. Its value goes
        into that checkpoint's state and, as parzen_validation, into the metrics record of
        the same iteration (None elsewhere); checkpoints/best.npz is the checkpoint of the
        best one so far (a resumed run's earlier scores included).
    draw_samples(trainer, path)
        called at every checkpoint (and at a stop) to write samples.png.
    draw_curves(trainer, records, path)
        called at every checkpoint (and at a stop), after draw_samples, to write curves.png;
        records is the run's metrics.jsonl records so far (a resumed run's earlier ones
        included), a tuple of dicts, possibly empty (a checkpoint before the first log line).
    draw_score_curve(trainer, curve, path)
        called after every validation score to write parzen.png; curve is the run's
        [(epoch, score), ...] so far.
    after_drawing()
        called once at every checkpoint (and at a stop), after the figures above: where the
        figures just drawn are freed.
    """

    validation_score: Optional[Callable] = None
    draw_samples: Optional[Callable] = None
    draw_score_curve: Optional[Callable] = None
    draw_curves: Optional[Callable] = None
    after_drawing: Optional[Callable] = None


class RunDirectoryError(ValueError):
    """A file of the run directory is damaged (a line of metrics.jsonl), or is not what npgan
    writes there (metrics.jsonl not a regular file, checkpoints/ not a directory)."""


class TrainingInterrupted(RuntimeError):
    """train_run stopped early on request (npgan train: SIGINT or SIGTERM), after writing a
    checkpoint at ``iteration`` to ``checkpoint_path``."""

    def __init__(self, iteration, checkpoint_path):
        super().__init__(f"stopped after iteration {iteration}; checkpoint {checkpoint_path}")
        self.iteration, self.checkpoint_path = iteration, checkpoint_path


def train_run(trainer, out_dir, *, monitors=None, progress=None, on_log=None, keep_checkpoints=KEEP_CHECKPOINTS,
              stop_requested=None):
    """Run the trainer to config["iterations"], writing ``out_dir`` (the module docstring's files).

    monitors: a Monitors, or None for none (no best.npz, samples.png, curves.png or parzen.png).
    keep_checkpoints: how many epoch checkpoints checkpoints/ keeps, the latest ones; 0 keeps
    every one. A whole number >= 0 (ValueError otherwise), written into every checkpoint's state.
    progress: an optional callable(iterations_done, metrics) for a progress bar.
    on_log: an optional callable(record) called with each metrics.jsonl record.
    stop_requested: an optional callable polled after every iteration (npgan train: "has
    a SIGINT or SIGTERM arrived?"); when it returns true, the run writes a checkpoint of
    that iteration (as at checkpoint_every: with samples.png and the metrics window, so a
    resumed run continues bit-identically) and raises TrainingInterrupted.
    A divergence raises TrainingDiverged after keeping the last good checkpoint.
    metrics.jsonl never holds a line past the latest checkpoint after a stop; after a
    crash it may, and a resumed run drops those lines (and a torn last line).
    The caller holds the run directory's lock (npgan.runlock): the temporaries of the run's
    files found at the start are a killed process's leftovers, and are removed.
    RunDirectoryError: metrics.jsonl damaged or not a regular file, checkpoints/ not a directory.
    Returns the path of checkpoint.npz.
    """
    monitors = monitors or Monitors()
    if not (is_integer(keep_checkpoints) and keep_checkpoints >= 0):
        raise ValueError(f"keep_checkpoints must be a whole number >= 0 (0 keeps every epoch checkpoint), got "
                         f"{keep_checkpoints!r}")
    keep_checkpoints = int(keep_checkpoints)  # a NumPy integer would not go into the JSON state
    config = trainer.config
    os.makedirs(out_dir, exist_ok=True)
    metrics_path = os.path.join(out_dir, "metrics.jsonl")
    checkpoint_path = os.path.join(out_dir, "checkpoint.npz")
    _check_checkpoints_directory(out_dir)  # first: a damaged directory changes nothing
    earlier = _truncate_metrics(metrics_path, trainer.iteration)
    records = list(earlier)  # metrics.jsonl's records, for monitors.draw_curves
    remove_temporaries(out_dir, RUN_FILES)  # left by a process killed mid-write (the caller holds the lock)
    remove_temporaries(os.path.join(out_dir, "checkpoints"), CHECKPOINT_FILES)
    write_atomically(os.path.join(out_dir, "config.json"), json.dumps(config, indent=1, sort_keys=True))
    best_ratio = max((record["sample_diversity"] / record["data_diversity"] for record in earlier
                      if record.get("sample_diversity") is not None), default=0.0)
    data_diversity = diversity(trainer.dataset.sample(DIVERSITY_SAMPLES, np.random.default_rng(DIVERSITY_SEED)))
    score_curve = [(record["epoch"], record["parzen_validation"]) for record in earlier
                   if record.get("parzen_validation") is not None]
    best_score = max((value for _, value in score_curve), default=-np.inf)
    started = time.perf_counter() - trainer.elapsed_seconds
    window = {name: 0.0 for name in METRICS}
    window_size = 0
    if trainer.metrics_window is not None:  # resumed between two log lines: the same means as unbroken
        window, window_size = dict(trainer.metrics_window["sums"]), trainer.metrics_window["size"]

    def checkpoint(score):
        """checkpoint.npz (and the epoch's, and best.npz if ``score``, a validation score, is the
        best so far), then the figures."""
        nonlocal best_score
        trainer.elapsed_seconds = time.perf_counter() - started  # training time so far, resumes included
        trainer.save(checkpoint_path, {"elapsed_seconds": trainer.elapsed_seconds,
                                       "parzen_validation": score,
                                       "metrics_window": {"sums": window, "size": window_size},
                                       "keep_checkpoints": keep_checkpoints})
        if _epoch_end(trainer):
            _keep_epoch_checkpoint(trainer, out_dir, checkpoint_path, keep_checkpoints)
        if score is not None and score > best_score:
            best_score = score
            link_atomically(checkpoint_path, os.path.join(_checkpoints_directory(out_dir), "best.npz"))
        if monitors.draw_samples is not None:
            monitors.draw_samples(trainer, os.path.join(out_dir, "samples.png"))
        if monitors.draw_curves is not None:
            monitors.draw_curves(trainer, tuple(records), os.path.join(out_dir, "curves.png"))
        if score is not None and monitors.draw_score_curve is not None:
            monitors.draw_score_curve(trainer, score_curve, os.path.join(out_dir, "parzen.png"))
        if monitors.after_drawing is not None:
            monitors.after_drawing()

    with _open_metrics(metrics_path, "a") as metrics_file:
        while trainer.iteration < config["iterations"]:
            values = trainer.train_iteration()
            for name in METRICS:
                window[name] += values[name]
            window_size += 1
            done = trainer.iteration
            last = done == config["iterations"]
            checkpoint_now = done % config["checkpoint_every"] == 0 or last
            score = None
            if checkpoint_now and _epoch_end(trainer) and monitors.validation_score is not None:
                score = monitors.validation_score(trainer)
                score_curve.append((trainer.epochs_done, score))
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
                          "parzen_validation": score,
                          "elapsed_seconds": round(time.perf_counter() - started, 3),
                          "peak_rss_mb": peak_rss_mb()}
                best_ratio = max(best_ratio, ratio)
                metrics_file.write(json.dumps(record) + "\n")
                metrics_file.flush()
                records.append(record)
                window = {name: 0.0 for name in METRICS}
                window_size = 0
                if on_log is not None:
                    on_log(record)
            if checkpoint_now:
                checkpoint(score)
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


def _epoch_end(trainer):
    per_epoch = trainer.config["iterations_per_epoch"]
    return per_epoch is not None and trainer.iteration % per_epoch == 0


def _keep_epoch_checkpoint(trainer, out_dir, checkpoint_path, keep):
    """At an epoch's end: checkpoints/epoch-NNNN.npz beside checkpoint.npz; only the last ``keep``
    (every one with keep = 0)."""
    directory = _checkpoints_directory(out_dir)
    epoch = trainer.iteration // trainer.config["iterations_per_epoch"]
    link_atomically(checkpoint_path, os.path.join(directory, f"epoch-{epoch:04d}.npz"))
    if keep == 0:
        return
    kept = sorted(name for name in os.listdir(directory) if name.startswith("epoch-") and name.endswith(".npz"))
    for name in kept[:-keep]:
        os.remove(os.path.join(directory, name))


def keep_checkpoints_of(checkpoint):
    """How many epoch checkpoints the run of ``checkpoint`` (a loaded npgan.checkpoint.Checkpoint)
    keeps: the keep_checkpoints train_run wrote into its state, KEEP_CHECKPOINTS for a checkpoint
    written before train_run did. CheckpointError when the state holds anything but a whole number >= 0."""
    keep = checkpoint.state.get("keep_checkpoints", KEEP_CHECKPOINTS)
    if not (is_integer(keep) and keep >= 0):
        raise CheckpointError(f"the checkpoint's run state is damaged: keep_checkpoints is {keep!r}, not a whole "
                              "number >= 0")
    return keep


def _checkpoints_directory(out_dir):
    """<out_dir>/checkpoints, created if missing; RunDirectoryError if it is not a directory
    of its own (a symbolic link would send the epoch checkpoints, and their removal, elsewhere)."""
    directory = os.path.join(out_dir, "checkpoints")
    os.makedirs(directory, exist_ok=True)
    _check_checkpoints_directory(out_dir)
    return directory


def _check_checkpoints_directory(out_dir):
    directory = os.path.join(out_dir, "checkpoints")
    try:
        mode = os.lstat(directory).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        raise RunDirectoryError(f"{directory} is {describe_mode(mode)}, not a directory; npgan keeps the epoch "
                                "checkpoints in a directory of the run's own: move it away")


def _open_metrics(path, mode):
    """metrics.jsonl opened by npgan.fileio.open_regular (never followed, never waited on)."""
    try:
        return open_regular(path, mode)
    except NotRegularFile as error:
        raise RunDirectoryError(f"{error}; a run directory's metrics.jsonl must be a regular file: move it "
                                "away (a resumed run then continues without the earlier metrics)") from None


def _momentum(optimizer):
    return float(optimizer.current_momentum) if hasattr(optimizer, "current_momentum") else None


def read_metrics(path):
    """The records of a run's metrics.jsonl, in order, and whether its last line was torn.

    A last line that is not a metrics record (a JSON object with an integer "iteration") is
    what a process killed mid-write leaves: it is left out, and the second value is True.
    Any other such line is damage, never skipped: RunDirectoryError naming the file and the
    line. FileNotFoundError when there is no metrics.jsonl; RunDirectoryError when it is not
    a regular file (a symbolic link, a FIFO, a directory). Used by a resume (npgan.run) and by
    `npgan figure curves`.
    """
    with _open_metrics(path, "rb") as handle:  # bytes: a line that is not UTF-8 is one damaged line
        lines = [line for line in handle.read().split(b"\n") if line.strip()]
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            record = None
        if not (isinstance(record, dict) and is_integer(record.get("iteration"))):
            if number == len(lines):
                return records, True
            raise RunDirectoryError(f"{path}: line {number} is not a metrics record; the file is damaged (move "
                                    "it away to resume without the earlier metrics)")
        records.append(record)
    return records, False


def _truncate_metrics(path, iteration):
    """Drop metric lines written after the checkpoint a run resumes from (and a last line
    torn by a crash mid-write); return the kept records. The file is replaced atomically."""
    try:
        records, _ = read_metrics(path)
    except FileNotFoundError:
        return []
    kept = [record for record in records if record["iteration"] <= iteration]
    write_atomically(path, "".join(json.dumps(record) + "\n" for record in kept))
    return kept
