"""Sample quality and diversity beyond Parzen: the metrics of `npgan evaluate quality`.

They read images (samples of G, real images) and a trained classifier
(npgan.evaluate.classifier), never a trainer. Features f(x) are the classifier's penultimate
layer (240 maxout units); p(y | x) its softmax.

Classes (what a mode count sees). With c(x) = argmax_y p(y | x) and h_y the share of samples
with c(x) = y:
    classes_covered = #{y : h_y >= 1%}       kl_to_uniform = sum_y h_y log(K h_y)   (0 .. log K)
    mean_top_probability = mean_x max_y p(y | x)   (how sure the classifier is of the samples)

Fréchet distance (Heusel et al. 2017; FID with npgan's classifier in place of Inception):
Gaussians N(m1, C1), N(m2, C2) fitted to two sets of features,
    FD = ||m1 - m2||^2 + tr C1 + tr C2 - 2 tr (C1^1/2 C2 C1^1/2)^1/2
C1^1/2 C2 C1^1/2 is symmetric positive semi-definite and has the eigenvalues of C1 C2, so both
square roots come from eigh of symmetric matrices, tiny negative eigenvalues (rounding)
clipped to 0: stable when a covariance is singular (fewer samples than features, or a
generator that outputs one image).

Improved precision and recall (Kynkäänniemi et al. 2019). r_k(f) is the distance from f to
its k-th nearest neighbour within its own set (k = 3); the manifold of a set is the union of
the balls B(f, r_k(f)):
    precision = the share of G's features inside the manifold of the real features (quality)
    recall    = the share of the real features inside the manifold of G's (diversity)

Copies. Every sample's Euclidean distance in pixel space to its nearest training image,
against the same for held-out test images: the share of samples nearer a training image
than the test set's 1st percentile. A generator that does not copy gives about 1%; one
that memorises gives far more. Figure 2 shows this one row at a time.

How it is computed. Every distance comes from npgan.evaluate.neighbours.distance_blocks:
||q - r||^2 = ||q||^2 + ||r||^2 - 2 q . r by matrix products in float32, block by block
(32 MB of float64 distances at a time), features measured from the real features' mean. A
set's own k-nearest-neighbour radii use only the blocks on and below the diagonal (the
distances are symmetric); one matrix of G-to-real distances gives both precision and
recall. The copy check runs on ``copy_samples`` samples and as many test images (1,000;
every 10th test image) against all 50,000 training images: the costliest part.
"""

import time

import numpy as np

from npgan.evaluate.neighbours import distance_blocks, nearest_neighbours, squared_norms

NEIGHBOURS = 3            # k of precision and recall
MIN_CLASS_SHARE = 0.01    # a class is covered when at least this share of the samples fall in it
COPY_PERCENTILE = 1.0     # the test set's percentile a copy is nearer than
COPY_SAMPLES = 1000
CHUNK = 2048


# -- classes ----------------------------------------------------------------------------------

def class_statistics(probabilities, min_share=MIN_CLASS_SHARE):
    """The class histogram of (N, K) probabilities p(y | x) and what it says: {"class_histogram"
    (K shares), "classes_covered", "kl_to_uniform", "mean_top_probability"}."""
    count, classes = probabilities.shape
    histogram = np.bincount(np.argmax(probabilities, axis=1), minlength=classes) / count
    present = histogram > 0  # 0 log 0 = 0
    return {"class_histogram": histogram.tolist(),
            "classes_covered": int(np.count_nonzero(histogram >= min_share)),
            "kl_to_uniform": float(np.sum(histogram[present] * np.log(histogram[present] * classes))),
            "mean_top_probability": float(np.mean(np.max(probabilities, axis=1)))}


# -- Fréchet distance -------------------------------------------------------------------------

def gaussian_statistics(features):
    """(mean (d,), covariance (d, d)) of (N, d) features in float64; the covariance with 1/(N - 1)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"the statistics of features need (N, d) with N >= 2 rows, got shape {features.shape}")
    mean = features.mean(axis=0)
    centred = features - mean
    return mean, centred.T @ centred / (len(features) - 1)


def symmetric_square_root(matrix):
    """S with S S = ``matrix`` for a symmetric positive semi-definite matrix, by eigh: V sqrt(w) V^T,
    eigenvalues below 0 (rounding) taken as 0."""
    eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T


def frechet_distance(mean1, covariance1, mean2, covariance2):
    """||m1 - m2||^2 + tr C1 + tr C2 - 2 tr (C1^1/2 C2 C1^1/2)^1/2 (see the module docstring); >= 0."""
    root1 = symmetric_square_root(covariance1)
    middle = root1 @ covariance2 @ root1
    trace_of_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)))
    difference = mean1 - mean2
    value = difference @ difference + np.trace(covariance1) + np.trace(covariance2) - 2 * trace_of_root
    return max(float(value), 0.0)


# -- precision and recall -----------------------------------------------------------------------

def _shifted(centre):
    """distance_blocks' ``convert``: rows measured from ``centre``, as float32 (see the module docstring)."""
    return lambda block: (np.asarray(block, dtype=np.float64) - centre).astype(np.float32)


def neighbour_radii(features, k=NEIGHBOURS, *, centre=None, chunk=CHUNK):
    """(N,) squared distances from each row of ``features`` to its k-th nearest other row (a row
    equal to this one counts as a neighbour at distance 0). Only the blocks on and below the
    diagonal are computed; each gives the neighbours of its rows and, transposed, of its columns."""
    n = len(features)
    if n <= k:
        raise ValueError(f"the {k}-th nearest neighbour within a set needs more than {k} rows, got {n}")
    convert = _shifted(np.mean(features, axis=0, dtype=np.float64) if centre is None else centre)
    norms = squared_norms(convert(features))
    nearest = np.full((n, k + 1), np.inf)  # the k + 1 smallest: the row itself (about 0) and k others
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        for rows, _, partial in distance_blocks(features[:stop], features[start:stop], query_chunk=chunk,
                                                reference_chunk=chunk, convert=convert):
            _merge_smallest(nearest, rows, partial, norms[rows])
            if rows.start != start:  # below the diagonal: the same distances seen from the columns
                partial += norms[rows, None]
                _merge_smallest(nearest, slice(start, stop), partial, np.zeros(stop - start), transposed=True)
    return np.maximum(nearest.max(axis=1), 0.0)


def _merge_smallest(nearest, points, partial, offsets, transposed=False):
    """Merge the squared distances block[i, j] + offsets[i] of the points ``points`` (a slice) into
    nearest[points], the smallest so far of each (its width); block is ``partial``, or its transpose.
    Only the entries below a point's current largest are looked at: after its first block, a few."""
    width = nearest.shape[1]
    kept = nearest[points]
    bounds = kept.max(axis=1) - offsets
    if np.isinf(bounds).any():  # a point's first block: all of it counts
        block = np.ascontiguousarray(partial.T) if transposed else partial
        nearest[points] = _smallest(np.concatenate([kept, _smallest(block, width) + offsets[:, None]], axis=1),
                                    width)
        return
    if transposed:  # the mask in the layout of partial (fast), then grouped by point
        column_of, point_of = np.nonzero(partial < bounds[None, :])
        order = np.argsort(point_of, kind="stable")
        point_of, values = point_of[order], partial[column_of[order], point_of[order]]
    else:
        point_of, column_of = np.nonzero(partial < bounds[:, None])
        values = partial[point_of, column_of]
    if len(point_of) == 0:
        return
    touched, group = np.unique(point_of, return_inverse=True)
    counts = np.bincount(group)
    padded = np.full((len(touched), counts.max()), np.inf)
    padded[group, np.arange(len(point_of)) - np.repeat(np.cumsum(counts) - counts, counts)] = values + offsets[point_of]
    kept[touched] = _smallest(np.concatenate([kept[touched], padded], axis=1), width)
    nearest[points] = kept


def _smallest(values, count):
    """The ``count`` smallest of each row (in no order)."""
    if values.shape[1] <= count:
        return values
    return np.partition(values, count - 1, axis=1)[:, :count]


def precision_recall(fake, real, fake_radii, real_radii, *, centre=None, chunk=CHUNK):
    """(precision, recall) of ``fake`` features against ``real`` ones, given each set's squared
    k-NN radii (neighbour_radii): one pass over the fake-to-real distances serves both.
    f is inside a set's manifold when ||f - g||^2 <= r_k(g)^2 for some g of the set."""
    convert = _shifted(np.mean(real, axis=0, dtype=np.float64) if centre is None else centre)
    fake_norms = squared_norms(convert(fake))
    # min over the other set of ||f - g||^2 - r(g)^2: <= 0 inside the other set's manifold
    fake_slack, real_slack = np.full(len(fake), np.inf), np.full(len(real), np.inf)
    for rows, start, partial in distance_blocks(fake, real, query_chunk=chunk, reference_chunk=chunk,
                                                convert=convert):
        columns = slice(start, start + partial.shape[1])
        np.minimum(fake_slack[rows], np.min(partial - real_radii[None, columns], axis=1) + fake_norms[rows],
                   out=fake_slack[rows])
        partial += (fake_norms[rows] - fake_radii[rows])[:, None]
        np.minimum(real_slack[columns], np.min(partial, axis=0), out=real_slack[columns])
    return float(np.mean(fake_slack <= 0)), float(np.mean(real_slack <= 0))


# -- copies -------------------------------------------------------------------------------------

def nearest_training_distances(images, training_images, *, chunk=CHUNK):
    """(N,) Euclidean distance from each image to its nearest training image, in pixel space
    (values in [0, 1]; uint8 training pixels are divided by 255 block by block), by
    npgan.evaluate.neighbours.nearest_neighbours with its products in float32."""
    def pixels(block):
        return (block / np.float32(255) if block.dtype == np.uint8 else block).astype(np.float32, copy=False)

    _, squared = nearest_neighbours(images, training_images, chunk_size=chunk, convert=pixels)
    return np.sqrt(squared)


def copy_check(samples, test_images, training_images, percentile=COPY_PERCENTILE):
    """The share of samples nearer their nearest training image than the ``percentile`` of the
    test images' own nearest distances (about percentile / 100 for a generator that does not copy).
    Samples and test images go through the training images together, in one pass."""
    distances = nearest_training_distances(np.concatenate([samples, test_images.astype(samples.dtype)]),
                                           training_images)
    sample_distances, test_distances = distances[:len(samples)], distances[len(samples):]
    threshold = float(np.percentile(test_distances, percentile))
    return {"samples": len(samples), "test_images": len(test_images), "percentile": percentile,
            "threshold": threshold, "share_closer": float(np.mean(sample_distances < threshold)),
            "median_distance": float(np.median(sample_distances)),
            "test_median_distance": float(np.median(test_distances))}


# -- all of it ----------------------------------------------------------------------------------

class RealFeatures:
    """What every comparison with one set of real images (the test set) shares: their features,
    Gaussian statistics and k-NN radii, computed once."""

    def __init__(self, classifier, images, k=NEIGHBOURS):
        self.features = classifier.features(_checked_images(images, classifier, "the real images", k))
        self.centre = self.features.mean(axis=0, dtype=np.float64)
        self.statistics = gaussian_statistics(self.features)
        self.radii = neighbour_radii(self.features, k, centre=self.centre)
        self.k = k

    def compare(self, images, classifier, what="samples"):
        """The metrics of ``images`` against these real images: frechet_distance, precision, recall,
        the class statistics, and the number of images."""
        features, probabilities = classifier.classify(_checked_images(images, classifier, what, self.k))
        radii = neighbour_radii(features, self.k, centre=self.centre)
        precision, recall = precision_recall(features, self.features, radii, self.radii, centre=self.centre)
        return {"images": len(images),
                "frechet_distance": frechet_distance(*gaussian_statistics(features), *self.statistics),
                "precision": precision, "recall": recall, **class_statistics(probabilities)}


def evaluate_quality(samples, classifier, *, test_images, reference_images=None, training_images=None,
                     k=NEIGHBOURS, copy_samples=COPY_SAMPLES):
    """Every metric of the module docstring for ``samples`` (N, D) against ``test_images``, in the
    features of ``classifier``: a dict with frechet_distance, precision, recall, classes_covered,
    kl_to_uniform, mean_top_probability, class_histogram, images, k, seconds; with
    ``training_images`` (all of them, uint8 or in [0, 1]) also copy_check (on the first
    ``copy_samples`` samples and as many test images, evenly spaced); with ``reference_images``
    (real images that are not the test set) also reference: the same metrics for them, the floor
    a generator can hope for. ValueError for samples that are not finite (N, D) images, N > k."""
    started = time.perf_counter()
    real = RealFeatures(classifier, test_images, k)
    result = {**real.compare(samples, classifier), "k": k}
    if training_images is not None:
        stride = max(len(test_images) // copy_samples, 1)
        result["copy_check"] = copy_check(samples[:copy_samples], test_images[::stride][:copy_samples],
                                          training_images)
    result["seconds"] = time.perf_counter() - started
    if reference_images is not None:
        started = time.perf_counter()
        result["reference"] = {**real.compare(reference_images, classifier, "the reference images"), "k": k,
                               "seconds": time.perf_counter() - started}
    return result


def _checked_images(images, classifier, what, k):
    images = np.asarray(images)
    width = classifier.config["input_dim"]
    if images.ndim != 2 or images.shape[1] != width or len(images) <= k:
        raise ValueError(f"{what} must be (N, {width}) images with N > {k}, got shape {images.shape}")
    if not np.issubdtype(images.dtype, np.floating) or not np.isfinite(images).all():
        raise ValueError(f"{what} must be finite floating-point images")
    return images


def format_quality(result):
    """The text `npgan evaluate quality` prints for a result of evaluate_quality (with the
    command's entries: dataset, seed, sampling_seconds, total_seconds)."""
    rows = [(f"G: {result['images']} samples (seed {result['seed']})", result)]
    if "reference" in result:
        rows.append((f"real: {result['reference']['images']} training images", result["reference"]))
    width = max(len(label) for label, _ in rows)
    lines = [f"Sample quality on {result['dataset']} against its test images, "
             f"in the features of the {result['classifier']} classifier (k = {result['k']})",
             f"{''.ljust(width)}  {'FD':>8}  {'precision':>9}  {'recall':>6}  {'classes':>7}  {'KL':>6}  "
             f"{'top p':>5}"]
    for label, metrics in rows:
        lines.append(f"{label.ljust(width)}  {metrics['frechet_distance']:8.2f}  {metrics['precision']:9.3f}  "
                     f"{metrics['recall']:6.3f}  {metrics['classes_covered']:7d}  {metrics['kl_to_uniform']:6.3f}  "
                     f"{metrics['mean_top_probability']:5.3f}")
    lines.append("class histogram of G (%): " + " ".join(f"{100 * share:.1f}" for share in result["class_histogram"]))
    if "copy_check" in result:
        copies = result["copy_check"]
        lines.append(f"copies: {100 * copies['share_closer']:.1f}% of {copies['samples']} samples are nearer a "
                     f"training image than the test images' {copies['percentile']:g}st percentile "
                     f"({copies['threshold']:.2f}; about {copies['percentile']:g}% means no copying); median "
                     f"distance {copies['median_distance']:.2f} (test images: {copies['test_median_distance']:.2f})")
    lines.append(f"time: {result['total_seconds']:.1f} s (sampling G {result['sampling_seconds']:.1f} s, metrics "
                 f"{result['seconds']:.1f} s, reference {result.get('reference', {}).get('seconds', 0):.1f} s)")
    return "\n".join(lines)
