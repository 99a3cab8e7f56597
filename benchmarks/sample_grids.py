"""The two mnist-tuned sample grids of benchmarks/RESULTS.md, each titled with the G it shows.

    python benchmarks/sample_grids.py

- figures/mnist-tuned-epoch-250.png is drawn afresh from the committed generator
  (results/mnist-tuned-generator.npz: the averaged G, decay 0.99998, at epoch 250), 100
  samples from the noise the run's samples.png used (numpy.random.default_rng of
  npgan.monitors.SAMPLES_SEED), so it shows the same digits as the run's last samples.png.
- figures/mnist-tuned-tf-warmup-epoch-250.png is the earlier run's samples.png at epoch 250;
  that run's checkpoints are gone, so its picture is kept and only re-titled: the old title
  strip (above the grid's frame) is cut off and the new title drawn over the same pixels.
  Running the script again finds the frame again and re-titles it the same way.

Both titles give the Parzen estimate of that G at epoch 250 (full procedure, test), read
from results/mnist-tuned-parzen.json and results/mnist-tuned-tf-warmup-parzen.json.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from npgan.checkpoint import load_checkpoint  # noqa: E402
from npgan.monitors import SAMPLES_SEED  # noqa: E402
from npgan.plots import PNG_DPI, new_figure, samples_grid_figure, write_png  # noqa: E402
from npgan.restore import gan_from_checkpoint  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCH = 250
GENERATOR = os.path.join(HERE, "results", "mnist-tuned-generator.npz")
TUNED_PNG = os.path.join(HERE, "figures", "mnist-tuned-epoch-250.png")
TF_WARMUP_PNG = os.path.join(HERE, "figures", "mnist-tuned-tf-warmup-epoch-250.png")
#: The grid starts at the first row with at least this fraction of its pixels dark: the top of
#: the frame and the digits' black backgrounds; a row through a title's text has far fewer.
GRID_ROW_DARK_FRACTION = 0.9
#: Pixels kept above the first grid row: the frame drawn around the grid.
FRAME_MARGIN = 3


def parzen_at(results_name, epoch=EPOCH):
    with open(os.path.join(HERE, "results", results_name)) as handle:
        return json.load(handle)[str(epoch)]["test_log_likelihood"]


def draw_tuned():
    gan = gan_from_checkpoint(load_checkpoint(GENERATOR), generator="average")
    samples = gan.sample(100, np.random.default_rng(SAMPLES_SEED))
    title = (f"mnist-tuned, seed 0: averaged G (decay 0.99998) at epoch {EPOCH}, "
             f"Parzen {parzen_at('mnist-tuned-parzen.json'):.1f}\n"
             "(the committed generator, results/mnist-tuned-generator.npz)")
    samples_grid_figure(samples, (28, 28), TUNED_PNG, title=title)
    print(f"wrote {TUNED_PNG}")


def retitle_tf_warmup():
    import matplotlib.image

    image = matplotlib.image.imread(TF_WARMUP_PNG)
    gray = image[..., :3].mean(axis=2)
    grid_rows = np.flatnonzero((gray < 0.5).mean(axis=1) > GRID_ROW_DARK_FRACTION)
    if grid_rows.size == 0:
        sys.exit(f"{TF_WARMUP_PNG}: no image grid found")
    body = image[max(grid_rows[0] - FRAME_MARGIN, 0):]
    title = (f"earlier mnist-tuned run: average with TensorFlow's warm-up (decay 0.99995), epoch {EPOCH}, "
             f"Parzen {parzen_at('mnist-tuned-tf-warmup-parzen.json'):.1f}\n"
             "(its samples.png; the run's checkpoints are gone)")
    title_pixels = 52
    height, width = body.shape[:2]
    # Inches of PNG_DPI pixels, the resolution write_png renders at: the old pixels stay 1:1.
    figure, (ax,) = new_figure(figsize=(width / PNG_DPI, (height + title_pixels) / PNG_DPI), ncols=1)
    ax.set_position([0.0, 0.0, 1.0, height / (height + title_pixels)])
    ax.imshow(body, interpolation="nearest")
    ax.set_axis_off()
    figure.suptitle(title, fontsize=10, y=1.0 - 6 / (height + title_pixels), va="top")
    write_png(figure, TF_WARMUP_PNG)
    print(f"wrote {TF_WARMUP_PNG}")


def main():
    draw_tuned()
    retitle_tf_warmup()


if __name__ == "__main__":
    main()
