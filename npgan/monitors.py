"""The standard monitors of a run: what `npgan train` and `npgan sweep` hand to npgan.run.train_run.

    validation_score   image data: the quick Parzen estimate on validation
                       (npgan.evaluate.parzen.quick_parzen, about half a second), at each
                       epoch's end; it chooses checkpoints/best.npz
    draw_samples       samples.png: a 10 x 10 grid of G's samples (images) or 2,500 samples over
                       the toy density, always from the same noise so that successive
                       checkpoints compare
    draw_curves        curves.png: the training curves of metrics.jsonl (the losses, mean D(x)
                       and D(G(z)), the diversities, the quick Parzen estimate), at every
                       checkpoint; `npgan figure curves --run DIR` draws the same from the files
    draw_score_curve   parzen.png: the quick Parzen estimate against the epoch
    free_figures       after a checkpoint's figures: a garbage collection that frees them

A run of toy data gets samples.png and curves.png only: its distribution has no validation split.
"""

import gc

import numpy as np

from npgan.data.mnist import ImageData
from npgan.evaluate.parzen import quick_parzen
from npgan.plots import parzen_curve_figure, samples_grid_figure, toy_samples_figure, training_curves_figure
from npgan.run import Monitors

SAMPLES_SEED = 2**31 - 1  # fixed noise for samples.png: not drawn from the training streams


def standard_monitors(dataset):
    """The Monitors of a run on ``dataset``: the quick Parzen estimate and its curve for image
    data, samples.png and curves.png for every dataset."""
    if isinstance(dataset, ImageData):
        return Monitors(validation_score=quick_parzen_score, draw_samples=draw_samples,
                        draw_score_curve=draw_parzen_curve, draw_curves=draw_curves, after_drawing=free_figures)
    return Monitors(draw_samples=draw_samples, draw_curves=draw_curves, after_drawing=free_figures)


def quick_parzen_score(trainer):
    """The quick Parzen estimate (nats, higher is better) of the model the trainer samples."""
    return quick_parzen(trainer.model, trainer.config, trainer.dataset).test_log_likelihood


def draw_samples(trainer, path):
    """samples.png: a 10 x 10 grid of G's samples (images) or 2,500 samples over the toy density."""
    config = trainer.config
    title = f"{config['preset']}, seed {config['seed']}, iteration {trainer.iteration}"
    if trainer.epochs_done is not None:
        title += f" (epoch {trainer.epochs_done:g})"
    rng = np.random.default_rng(SAMPLES_SEED)
    if isinstance(trainer.dataset, ImageData):
        samples_grid_figure(trainer.sample(100, rng), trainer.dataset.image_shape, path, title=title)
    else:
        toy_samples_figure(trainer.sample(2500, rng), trainer.dataset, path, title=title)


def draw_parzen_curve(trainer, curve, path):
    """parzen.png: the quick Parzen estimate of each scored epoch, ``curve`` [(epoch, score), ...]."""
    config = trainer.config
    decay = config.get("generator_average_decay") or 0.0
    label = f"averaged G (decay {decay:g})" if decay > 0 else "G as trained"
    parzen_curve_figure([epoch for epoch, _ in curve], [value for _, value in curve], path, label=label,
                        title=f"{config['preset']}, seed {config['seed']}: quick Parzen estimate on validation")


def draw_curves(trainer, records, path):
    """curves.png: the training curves of the run's metrics records so far (none yet: not drawn)."""
    if records:
        curves_figure(trainer.config, records, path)


def free_figures():
    """Free the figures just drawn, now. A matplotlib Figure is a web of reference cycles (figure,
    canvas, axes, artists, the Agg renderer and its pixel buffer), which only the cyclic garbage
    collector frees, and in a process holding Numba's many objects Python runs a full collection
    rarely: in a paper-mnist run the figures of each epoch piled up, to 35 MB over two or three
    epochs, until one came. A full collection takes about 0.1 s there (0.2 s in the test suite's
    process): one a checkpoint, after its two or three figures, not one a figure."""
    gc.collect()


def curves_figure(config, records, path):
    """The training curves of a run of configuration ``config``: what every run writes as
    curves.png at its checkpoints and `npgan figure curves --run DIR` draws. Returns the Figure."""
    divergence = config.get("divergence", "gan")
    title = f"{config['preset']}, seed {config['seed']}" + ("" if divergence == "gan" else f", {divergence}")
    return training_curves_figure(list(records), path, title=f"{title}: training curves",
                                  divergence=divergence, generator_loss=config["generator_loss"])
