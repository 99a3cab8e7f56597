"""MNIST and Fashion-MNIST: a checked IDX reader, where the files come from, the splits; and
Stacked MNIST, built from MNIST's files (npgan.data.stacked).

Where the four IDX files are looked for, in this order (the first that applies wins):

1. the ``data_dir`` argument (``npgan ... --data-dir DIR``);
2. the environment variable of the dataset: ``NPGAN_DATA_DIR`` for MNIST,
   ``NPGAN_FASHION_MNIST_DIR`` for Fashion-MNIST;
3. Fashion-MNIST only: /usr/share/datasets/fashion-mnist, where Debian's package
   ``dataset-fashion-mnist`` installs it (``apt-get install dataset-fashion-mnist``);
4. the user cache, ``$XDG_CACHE_HOME/npgan/<dataset>`` (default ~/.cache/npgan/<dataset>).
   Files missing there are downloaded from the dataset's public mirrors (or the
   comma-separated URL prefixes in ``NPGAN_MIRRORS``), each into a temporary file in
   the cache, checked, then renamed into place, so a cut download leaves nothing
   half-written under the final name.

A directory named explicitly (1 or 2) must hold the files: npgan never downloads
into it and never falls back to another place, so a typo in a path is an error,
not a silent download.

Every file is checked before its contents are used: the magic number (unsigned
bytes, the expected number of dimensions), the dimensions, which must be the original
file's (60000 or 10000 images of 28 x 28, as many labels; IDX_DIMS), the exact byte
length the header implies (read in bounded chunks, never more than the original
file's length plus one byte, so a gzip bomb whose header claims billions of images
costs no more memory than the original file), and the SHA-256 of the decompressed
IDX bytes, hashed while they are read, against the sums of the original files. The sums are of the decompressed content, so a file gzipped again
(Debian's Fashion-MNIST package is) or stored uncompressed is still recognised. Any
failure raises DataError (a ValueError) naming the file and what to do.

Downloads are bounded too: each file from each mirror may take at most
_DOWNLOAD_DEADLINE seconds in all (10 minutes; a server trickling a byte at a time is
cut off then and the next mirror tried), and at most the original file's size plus
1 MiB of compressed bytes. Fashion-MNIST's mirror is plain http, which anyone on the
path can alter: what makes that safe is the SHA-256 check, against sums written in
this module, of every byte before the file is renamed into the cache and again
before it is used; an altered file is refused, never used.

Splits, as the authors used them: train = training images 0..49999, validation =
training images 50000..59999, test = the 10,000 test images; each image flattened
to 784 columns. The pixels stay uint8 as read (55 MB for MNIST); the models see
pixel / 255 as float32 in [0, 1], converted for the rows in use (ImageData.rows,
minibatches), or for a whole split when it is asked for (ImageData.train, ...).

Stacked MNIST ("stacked-mnist", one of IMAGE_DATASETS but not of DATASETS: it has no files of
its own) is MNIST found and checked as above, each split wrapped in StackedPixels: index
triples into the MNIST split, images of 28 x 28 x 3 = 2,352 values built for the rows in use.
"""

import contextlib
import gzip
import hashlib
import http.client
import math
import os
import re
import socket
import threading
import urllib.error
import urllib.request
import zlib

import numpy as np

from npgan.data import stacked
from npgan.fileio import atomic_write, remove_temporaries

IMAGE_SHAPE = (28, 28)
TRAIN_SIZE = 50000  # training images 0..49999; 50000..59999 are the validation split

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# The dimensions of the original files (MNIST and Fashion-MNIST alike): a header stating
# others is refused before the body is read, so no file makes npgan read more than these.
IDX_DIMS = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}

# SHA-256 of the decompressed IDX files. MNIST: the original files (also listed in
# ../shared/data/mnist/README.md). Fashion-MNIST: the contents of Zalando's release as
# shipped by Debian's dataset-fashion-mnist (0.0~git20200523).
DATASETS = {
    "mnist": {
        "title": "MNIST",
        "environment": "NPGAN_DATA_DIR",
        "system_dir": None,
        "mirrors": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        "sha256": {
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST",
        "environment": "NPGAN_FASHION_MNIST_DIR",
        "system_dir": "/usr/share/datasets/fashion-mnist",
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "sha256": {
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
    },
}
# Image datasets built from another's files: name -> the dataset whose files they read.
DERIVED_DATASETS = {"stacked-mnist": "mnist"}
IMAGE_DATASETS = (*DATASETS, *DERIVED_DATASETS)

_CHUNK = 1 << 20
_DOWNLOAD_TIMEOUT = 30  # seconds a connection attempt or a read may wait for the server
_DOWNLOAD_DEADLINE = 600  # seconds for one file from one mirror, all included (26 MB at 44 kB/s)
STALE_DOWNLOAD_SECONDS = 24 * 3600  # a download temporary this old has no live owner: removed
_DOWNLOAD_SLACK = 1 << 20  # compressed bytes allowed beyond the decompressed size (gzip's framing)
_MEAN_CHUNK_ROWS = 5000  # Pixels.column_mean: 15 MB of float32 at a time for MNIST


class DataError(ValueError):
    """A data file is missing, unreadable, corrupt, or not the expected one."""


# -- reading IDX files ------------------------------------------------------------------------

def read_idx(path, *, ndim, sha256=None, compressed=None, dims=None):
    """The array in IDX file ``path`` (gzip-compressed if the name ends in .gz).

    ndim: the number of dimensions the file must have (3 for images, 1 for labels).
    sha256: if given, the SHA-256 the decompressed bytes must have (hashed as they are read).
    compressed: whether the file is gzipped; None (the default): if its name ends in .gz.
    dims: if given, the dimensions the header must state (an original file's, IDX_DIMS).
    The body is read in bounded chunks into one buffer, never more than one byte past the
    length the header implies, nor (given dims) past the original file's length.
    Only unsigned-byte IDX files (type code 0x08) are accepted, as MNIST uses.
    """
    name = os.path.basename(path)
    try:
        if compressed is None:
            compressed = path.endswith(".gz")
        opener = gzip.open if compressed else open
        with opener(path, "rb") as handle:
            header = _read_exactly(handle, 4, name, "the magic number")
            if header[:3] != b"\x00\x00\x08" or header[3] != ndim:
                raise DataError(f"{name}: wrong magic number 0x{header.hex()} (expected 0x0000080{ndim}, "
                                f"unsigned bytes in {ndim} dimension{'s' if ndim > 1 else ''}): not an "
                                "MNIST IDX file of this kind")
            dims_bytes = _read_exactly(handle, 4 * ndim, name, "the dimensions")
            stated = tuple(int.from_bytes(dims_bytes[4 * i:4 * i + 4], "big") for i in range(ndim))
            digest = hashlib.sha256(header + dims_bytes)
            body = _read_body(handle, stated, name, digest, None if dims is None else tuple(dims))
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise DataError(f"{path} does not exist") from None
        raise DataError(f"{name}: cannot be read ({_describe(error)}); the file is damaged or truncated, "
                        "delete it and get it again") from None
    except (EOFError, zlib.error) as error:
        raise DataError(f"{name}: the gzip stream is truncated or corrupt ({error}); delete the file and "
                        "get it again") from None
    if sha256 is not None and digest.hexdigest() != sha256:
        raise DataError(f"{name}: SHA-256 of its contents is {digest.hexdigest()}, expected {sha256}: the file "
                        "is corrupt or not the original; delete it and get the original again")
    if dims is not None and stated != tuple(dims):
        raise DataError(f"{name}: the header claims {_shape_text(stated)} items, the original file has "
                        f"{_shape_text(dims)}: not an original file; delete it and get the original again")
    return np.frombuffer(body, dtype=np.uint8).reshape(stated)


def _read_exactly(handle, size, name, what):
    data = handle.read(size)
    if len(data) != size:
        raise DataError(f"{name}: the file ends inside {what} ({len(data)} of {size} bytes): truncated")
    return data


def _read_body(handle, stated, name, digest, original=None):
    """The body of the ``stated`` dimensions: exactly that many bytes and then the end of the
    file, read in bounded chunks into one buffer and hashed into ``digest`` as they come.

    At most one byte more than the body (or, given the ``original`` dimensions, than the
    original file's body, if that is smaller) is ever read: a header claiming billions of
    items over a gzip bomb costs no more memory than the original file."""
    expected = math.prod(stated)
    limit = expected if original is None else min(expected, math.prod(original))
    body = bytearray()
    while len(body) <= limit:
        chunk = handle.read(min(_CHUNK, limit + 1 - len(body)))
        if not chunk:
            break
        digest.update(chunk)
        body += chunk
    if len(body) > limit and limit < expected:
        raise DataError(f"{name}: the header claims {_shape_text(stated)} items, more than the original file's "
                        f"{_shape_text(original)}, and the file holds more than the original's {limit} bytes: "
                        "not an original file (read no further); delete it and get the original again")
    if len(body) != expected:
        state = "more data than" if len(body) > expected else f"only {len(body)} bytes of the {expected} bytes"
        raise DataError(f"{name}: the header claims {_shape_text(stated)} items but the file holds {state} that "
                        "implies: truncated or not an original file")
    return body


def _shape_text(dims):
    return " x ".join(str(d) for d in dims)


def _describe(error):
    return error.strerror or str(error)


# -- finding and downloading the files -----------------------------------------------------------

def find_data_dir(dataset="mnist", data_dir=None, *, cache_dir=None, mirrors=None, download=True):
    """The directory holding ``dataset``'s four files (see the module docstring for the order).

    Returns the directory; raises DataError with what to do when the files are not there
    and cannot be downloaded.
    """
    info = _dataset_info(dataset)
    explicit = data_dir if data_dir is not None else os.environ.get(info["environment"]) or None
    if explicit is not None:
        source = "--data-dir" if data_dir is not None else info["environment"]
        missing = _missing_files(explicit)
        if missing:
            raise DataError(f"{info['title']} files missing in {explicit} (from {source}): "
                            f"{', '.join(missing)}. {_where_help(dataset)}")
        return explicit
    system_dir = info["system_dir"]
    if system_dir is not None and not _missing_files(system_dir):
        return system_dir
    cache = cache_dir if cache_dir is not None else default_cache_dir(dataset)
    missing = _missing_files(cache)
    if missing:
        if not download:
            raise DataError(f"{info['title']} is not in {cache}. {_where_help(dataset)}")
        download_files(dataset, cache, missing, mirrors=mirrors)
    return cache


def default_cache_dir(dataset):
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "npgan", dataset)


def _dataset_info(dataset):
    if dataset not in DATASETS:
        raise ValueError(f"unknown image dataset {dataset!r}; valid: {', '.join(DATASETS)}")
    return DATASETS[dataset]


def _file_path(directory, stem):
    """The file of ``stem`` in ``directory``: stem.gz, or stem uncompressed; None if neither."""
    for candidate in (stem + ".gz", stem):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _missing_files(directory):
    return [stem + ".gz" for stem in FILES.values() if _file_path(directory, stem) is None]


def _where_help(dataset):
    info = _dataset_info(dataset)
    names = ", ".join(stem + ".gz" for stem in FILES.values())
    extra = " (or `apt-get install dataset-fashion-mnist`)" if info["system_dir"] else ""
    return (f"Put the four files {names} (gzipped or not) in a directory and pass --data-dir DIR or set "
            f"{info['environment']}=DIR{extra}.")


def _mirror_list(dataset, mirrors):
    if mirrors is not None:
        return list(mirrors)
    configured = os.environ.get("NPGAN_MIRRORS")
    if configured:
        return [url.strip() for url in configured.split(",") if url.strip()]
    return list(_dataset_info(dataset)["mirrors"])


def download_files(dataset, directory, names, *, mirrors=None):
    """Download ``names`` (e.g. "train-images-idx3-ubyte.gz") of ``dataset`` into ``directory``.

    Each file is written to a temporary file beside its final name, its decompressed
    SHA-256 checked, then renamed into place. A mirror that takes longer than
    _DOWNLOAD_DEADLINE seconds, sends more than the file can hold, or fails in any way is
    left for the next. Raises DataError naming what to do if no mirror delivers a correct file.
    """
    info = _dataset_info(dataset)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create the cache directory {directory}: {_describe(error)}. "
                        f"{_where_help(dataset)}") from None
    # temporaries of downloads killed outright (SIGKILL); a live download writes its own
    # at least every _DOWNLOAD_DEADLINE seconds, so a day-old one has no owner left
    remove_temporaries(directory, "|".join(re.escape(f"{stem}.gz") for stem in IDX_DIMS),
                       older_than=STALE_DOWNLOAD_SECONDS)
    for name in names:
        stem = name[:-3] if name.endswith(".gz") else name
        failures = []
        for base in _mirror_list(dataset, mirrors):
            url = base.rstrip("/") + "/" + stem + ".gz"
            try:
                _download_one(url, os.path.join(directory, stem + ".gz"), info["sha256"][stem], IDX_DIMS[stem])
                break
            except (OSError, http.client.HTTPException, ValueError) as error:  # DataError is a ValueError
                failures.append(f"{url}: {_download_reason(error)}")
        else:
            raise DataError(f"{info['title']} is not in {directory} and could not be downloaded "
                            f"({'; '.join(failures)}). {_where_help(dataset)}")


def _download_reason(error):
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, OSError):
        return _describe(error)
    return str(error) or type(error).__name__


def _download_one(url, path, sha256, dims):
    """``path`` becomes the file at ``url``, if it is the IDX file of ``dims`` whose decompressed
    SHA-256 is ``sha256``: the temporary file is checked (read_idx: no more than the original's
    bytes decompressed) before it is renamed into place (npgan.fileio.atomic_write). All of it
    within _DOWNLOAD_DEADLINE seconds, and at most the original's size plus _DOWNLOAD_SLACK bytes."""
    limit = math.prod(dims) + 4 * len(dims) + 4 + _DOWNLOAD_SLACK
    deadline = _Deadline(_DOWNLOAD_DEADLINE)
    opener = urllib.request.build_opener(_DeadlineHTTPHandler(deadline), _DeadlineHTTPSHandler(deadline))
    try:
        with atomic_write(path, "wb") as out, \
                opener.open(url, timeout=min(_DOWNLOAD_TIMEOUT, _DOWNLOAD_DEADLINE)) as response:
            total = 0
            while chunk := response.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise DataError(f"the server sent more than the {limit} bytes this file can take")
                out.write(chunk)
            deadline.check()  # the socket shut at the deadline ends the stream early: not a file
            out.flush()
            read_idx(out.name, ndim=len(dims), sha256=sha256, compressed=True, dims=dims)
    except (OSError, http.client.HTTPException):
        deadline.check()
        raise
    finally:
        deadline.cancel()


class _Deadline:
    """At most ``seconds`` for a download, however slowly the server sends (its headers too):
    when they have passed, every connection opened through connection_class is shut down, which
    ends any read waiting on it; check() then raises DataError."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.expired = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def connection_class(self, base):
        """A subclass of http.client.HTTPConnection ``base`` whose sockets this deadline shuts."""
        deadline = self

        class Connection(base):
            def connect(self):
                super().connect()
                deadline._watch(self.sock)

        return Connection

    def check(self):
        if self.expired:
            raise DataError(f"no complete file within {self.seconds:g} s (the download deadline)")

    def cancel(self):
        self._timer.cancel()

    def _watch(self, sock):
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self):
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, request):
        return self.do_open(self.deadline.connection_class(http.client.HTTPConnection), request)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline

    def https_open(self, request):
        return self.do_open(self.deadline.connection_class(http.client.HTTPSConnection), request,
                            context=self._context)


# -- the dataset ---------------------------------------------------------------------------------

def pixels_to_float(images):
    """uint8 pixel values -> float32 pixel / 255 in [0, 1], same shape (one allocation, no float64
    step): the one place npgan turns stored pixels into the values the models see."""
    return np.divide(images, np.float32(255), dtype=np.float32)


class Pixels:
    """The images of one split as stored, one row an image: (N, D) uint8 pixel values 0..255
    as read from the IDX files (a quarter of the memory of float32), or values in [0, 1]
    already (used as they are).

    len(pixels), pixels.shape: the rows and their width.
    pixels.rows(index):        those rows as values in [0, 1] (index: anything NumPy indexes
                               rows with); for uint8, float32 pixel / 255 (pixels_to_float),
                               computed for those rows only.
    pixels.column_mean():      the mean of each column of rows(...), in float64, in chunks.
    """

    def __init__(self, images):
        images = np.asarray(images)
        if images.ndim != 2:
            raise ValueError(f"Pixels expects (N, D) images, one row an image; got shape {images.shape}")
        self.images = images

    def __len__(self):
        return len(self.images)

    @property
    def shape(self):
        return self.images.shape

    def rows(self, index):
        selected = self.images[index]
        return pixels_to_float(selected) if selected.dtype == np.uint8 else selected

    def column_mean(self, chunk_rows=_MEAN_CHUNK_ROWS):
        """The mean of each column of the values rows() gives, (D,) float64, from chunk_rows
        rows at a time (never the whole split converted).

        For uint8 it equals numpy.mean(axis=0, dtype=numpy.float64) of the whole converted
        split to the last bit: every float32 k / 255 is 0 or a multiple of 2^-31 (the unit in
        the last place of float32 at 1/255 and above), so every partial sum of up to 2^21
        rows is exact in float64 whatever the order, and the only rounding is the division by N.
        """
        if len(self) == 0:
            raise ValueError("the mean of no rows: the split is empty")
        total = sum(np.sum(self.rows(slice(start, start + chunk_rows)), axis=0, dtype=np.float64)
                    for start in range(0, len(self), chunk_rows))
        return total / len(self)


class ImageData:
    """One image dataset in the authors' splits, pixels / 255 as float32 in [0, 1].

    pixels: {"train", "validation", "test"} -> Pixels, the images as stored (uint8 for MNIST
    and Fashion-MNIST: 55 MB, where float32 would take 220 MB). Training and evaluation take
    float32 rows from them as they need them: rows(split, index), sample(n, rng), and the
    trainer's minibatches (npgan.train.ShuffledBatches, 100 rows at a time).

    train, validation, test: the whole splits as (N, 784) float32 arrays (50,000, 10,000,
    10,000 for MNIST), converted on first use and kept (157 MB for MNIST's train split), for
    code that needs a whole split (Figure 2's nearest neighbours, notebooks).
    train_labels, validation_labels, test_labels: uint8 (Stacked MNIST: uint16, 0..999).

    The splits given to the constructor are (N, D) pixel arrays, or objects with the interface
    of Pixels already (Stacked MNIST's StackedPixels: rows of 2,352, image_shape (28, 28, 3)).
    """

    def __init__(self, name, train, train_labels, validation, validation_labels, test, test_labels,
                 image_shape=IMAGE_SHAPE):
        self.name = name
        self.pixels = {split: images if isinstance(images, (Pixels, stacked.StackedPixels)) else Pixels(images)
                       for split, images in (("train", train), ("validation", validation), ("test", test))}
        self.train_labels, self.validation_labels, self.test_labels = train_labels, validation_labels, test_labels
        self.image_shape = tuple(image_shape)
        self._whole = {}  # the splits converted whole, as asked for

    @property
    def train(self):
        return self.split("train")

    @property
    def validation(self):
        return self.split("validation")

    @property
    def test(self):
        return self.split("test")

    def split(self, name):
        """The whole split ``name`` as values in [0, 1] (float32 for uint8 pixels), converted on
        first use and kept."""
        if name not in self._whole:
            self._whole[name] = self.rows(name, slice(None))
        return self._whole[name]

    def rows(self, split, index):
        """Rows ``index`` of ``split`` ("train", "validation" or "test") as values in [0, 1]
        (float32 for uint8 pixels), converted for those rows only."""
        return self._pixels_of(split).rows(index)

    def size(self, split):
        """The number of images of ``split``."""
        return len(self._pixels_of(split))

    @property
    def dim(self):
        return self.pixels["train"].shape[1]

    def sample(self, n, rng):
        """n rows of the train split drawn uniformly with replacement (for monitoring; training
        visits the split in shuffled passes, see npgan.train.ShuffledBatches)."""
        return self.rows("train", rng.integers(self.size("train"), size=n))

    def _pixels_of(self, split):
        if split not in self.pixels:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(self.pixels)}")
        return self.pixels[split]


def load_image_dataset(dataset="mnist", data_dir=None, *, cache_dir=None, mirrors=None, download=True):
    """``dataset`` ("mnist", "fashion-mnist" or "stacked-mnist") as an ImageData, each file checked."""
    if dataset in DERIVED_DATASETS:  # Stacked MNIST: triples of MNIST's digits (npgan.data.stacked)
        digits = load_image_dataset(DERIVED_DATASETS[dataset], data_dir, cache_dir=cache_dir, mirrors=mirrors,
                                    download=download)
        splits = stacked.stacked_splits(digits.pixels, {"train": digits.train_labels, "test": digits.test_labels,
                                                        "validation": digits.validation_labels})
        return ImageData(dataset, *splits["train"], *splits["validation"], *splits["test"],
                         image_shape=stacked.IMAGE_SHAPE)
    info = _dataset_info(dataset)
    directory = find_data_dir(dataset, data_dir, cache_dir=cache_dir, mirrors=mirrors, download=download)

    def read(key, ndim):
        stem = FILES[key]
        return read_idx(_file_path(directory, stem), ndim=ndim, sha256=info["sha256"][stem], dims=IDX_DIMS[stem])

    train_images, train_labels = read("train_images", 3), read("train_labels", 1)
    test_images, test_labels = read("test_images", 3), read("test_labels", 1)
    for images, labels, split in ((train_images, train_labels, "train"), (test_images, test_labels, "t10k")):
        if images.shape[1:] != IMAGE_SHAPE or len(images) != len(labels):
            raise DataError(f"{split} files in {directory}: {images.shape} images with {len(labels)} labels, "
                            f"expected N x 28 x 28 images and N labels")
    if len(train_images) <= TRAIN_SIZE:
        raise DataError(f"{directory}: {len(train_images)} training images, need more than {TRAIN_SIZE} for the "
                        "train/validation split")
    # uint8 rows of 784 pixels: views of the bytes read, no copy
    train_images = train_images.reshape(len(train_images), -1)
    return ImageData(dataset, train_images[:TRAIN_SIZE], train_labels[:TRAIN_SIZE].copy(),
                     train_images[TRAIN_SIZE:], train_labels[TRAIN_SIZE:].copy(),
                     test_images.reshape(len(test_images), -1), test_labels.copy())
