"""Stacked MNIST: three MNIST digits drawn independently, stacked as the three colour channels
of one 28 x 28 image, so 10 x 10 x 10 = 1,000 modes (Metz et al. 2017; the mode-collapse
benchmark of VEEGAN and PacGAN, docs/stacked-mnist.md).

One image of a split is a triple (a, b, c) of indices into the matching MNIST split (train
into MNIST's train split, validation into validation, test into test), each index drawn
uniformly, with replacement, independently of the others:

    image[h, w, channel] = digit_channel[h, w] / 255,   digit_0 = MNIST[a], digit_1 = MNIST[b],
                                                        digit_2 = MNIST[c]
    label = 100 * label(a) + 10 * label(b) + label(c)   (0..999; uint16)

Layout: channel-last, 28 x 28 x 3 flattened row-major as an RGB image is, so
row[(28 * h + w) * 3 + channel] = image[h, w, channel], and rows.reshape(-1, 28, 28, 3) is a
batch of RGB images (channel 0 red, 1 green, 2 blue). unstack_channels gives the three
784-pixel digits back.

Sizes: 50,000 train, 10,000 validation, 10,000 test images, as the MNIST splits they index
(the 50,000 training images of an epoch and every preset's epoch length carry over unchanged).
The papers built their training sets the same way, of other sizes; what the benchmark compares
is the 1,000 modes and the metric (npgan.evaluate.modes.stacked_mode_coverage), not the set.

Deterministic: the triples of each split come from its own fixed seed (SPLIT_SEEDS) through
numpy.random.default_rng(seed).integers, whose stream NumPy has kept since 1.17
(tests/test_stacked_mnist.py pins the first triples and a hash of all of them). Nothing is
written to disk: only the triples are kept (int32, 840 KB for the three splits), and the
images are built from MNIST's uint8 pixels for the rows in use (StackedPixels.rows), never a
whole split unless one is asked for (ImageData.split: 470 MB of float32 for train).

npgan.data.mnist.load_image_dataset("stacked-mnist") loads MNIST's files as MNIST does
(--data-dir, $NPGAN_DATA_DIR, the cache) and wraps its splits in StackedPixels.
"""

import numpy as np

DIGIT_SHAPE = (28, 28)
DIGIT_PIXELS = 784
CHANNELS = 3
IMAGE_SHAPE = (28, 28, CHANNELS)          # height, width, channel: the layout of a row
IMAGE_PIXELS = DIGIT_PIXELS * CHANNELS    # 2,352 values a row
NUM_MODES = 10 ** CHANNELS                # 1,000 digit triples
SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}
_MEAN_CHUNK_ROWS = 2000  # StackedPixels.column_mean: 19 MB of float32 rows at a time


def draw_triples(split_size, count, seed):
    """(count, 3) int32 indices into a split of ``split_size`` images, each uniform on
    0..split_size-1 and independent: default_rng(seed).integers(split_size, size=(count, 3))."""
    return np.random.default_rng(seed).integers(split_size, size=(count, CHANNELS)).astype(np.int32)


def stacked_labels(digit_labels, triples):
    """The 1,000-class label of each triple: 100 * label(a) + 10 * label(b) + label(c), uint16."""
    digits = np.asarray(digit_labels).astype(np.uint16)[triples]
    return (100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]).astype(np.uint16)


def stack_channels(digits):
    """(..., 3, 784) digits (channel 0, 1, 2) -> (..., 2352) rows in the channel-last layout."""
    digits = np.asarray(digits)
    return np.swapaxes(digits, -1, -2).reshape(*digits.shape[:-2], IMAGE_PIXELS)


def unstack_channels(rows):
    """(..., 2352) rows in the channel-last layout -> (..., 3, 784): the digit of each channel,
    stack_channels undone (a copy)."""
    rows = np.asarray(rows)
    if rows.shape[-1:] != (IMAGE_PIXELS,):
        raise ValueError(f"Stacked MNIST rows have {IMAGE_PIXELS} values (28 x 28 x 3, channel last); "
                         f"got shape {rows.shape}")
    return np.ascontiguousarray(np.swapaxes(rows.reshape(*rows.shape[:-1], DIGIT_PIXELS, CHANNELS), -1, -2))


class StackedPixels:
    """The images of one Stacked MNIST split, built on demand: the interface of
    npgan.data.mnist.Pixels (len, shape, rows, column_mean) over triples of MNIST digits.

    digits:  the MNIST split the triples index, a Pixels ((M, 784) uint8, rows() as float32).
    triples: (N, 3) indices into it; row i stacks digits a, b, c = triples[i] (module docstring).

    len(pixels), pixels.shape: N and (N, 2352).
    pixels.rows(index):        those rows as float32 in [0, 1] (index: anything NumPy indexes
                               rows with): their 3 x len digits converted by digits.rows, stacked.
    pixels.column_mean():      the mean of each of the 2,352 columns, float64, in chunks (exact
                               as Pixels.column_mean is: every partial sum is exact in float64).
    """

    def __init__(self, digits, triples):
        triples = np.asarray(triples)
        if triples.ndim != 2 or triples.shape[1] != CHANNELS or not np.issubdtype(triples.dtype, np.integer):
            raise ValueError(f"triples must be an (N, 3) integer array, got {triples.dtype}{triples.shape}")
        if triples.size and not (0 <= triples.min() and triples.max() < len(digits)):
            raise ValueError(f"triples index 0..{len(digits) - 1}, the digits given; they hold "
                             f"{triples.min()}..{triples.max()}")
        self.digits, self.triples = digits, triples

    def __len__(self):
        return len(self.triples)

    @property
    def shape(self):
        return (len(self.triples), IMAGE_PIXELS)

    def rows(self, index):
        selected = self.triples[index]  # (k, 3), or (3,) for one integer index
        digits = self.digits.rows(selected.reshape(-1))
        return stack_channels(digits.reshape(*selected.shape, DIGIT_PIXELS))

    def column_mean(self, chunk_rows=_MEAN_CHUNK_ROWS):
        if len(self) == 0:
            raise ValueError("the mean of no rows: the split is empty")
        total = sum(np.sum(self.rows(slice(start, start + chunk_rows)), axis=0, dtype=np.float64)
                    for start in range(0, len(self), chunk_rows))
        return total / len(self)


def stacked_splits(digit_pixels, digit_labels):
    """{split: (StackedPixels, labels)} for "train", "validation", "test": SPLIT_SEEDS[split]'s
    triples into digit_pixels[split] (Pixels), as many as that split has images, and their
    1,000-class labels from digit_labels[split]."""
    splits = {}
    for split, seed in SPLIT_SEEDS.items():
        triples = draw_triples(len(digit_pixels[split]), len(digit_pixels[split]), seed)
        splits[split] = (StackedPixels(digit_pixels[split], triples), stacked_labels(digit_labels[split], triples))
    return splits
