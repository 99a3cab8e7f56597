"""MNIST: the IDX reader on good and bad files, where the data comes from, the download
(from a local HTTP server on 127.0.0.1), the splits, and the command line's messages."""

import functools
import gzip
import hashlib
import http.server
import os
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npgan.cli import main
from npgan.data.mnist import (
    DATASETS,
    FILES,
    DataError,
    find_data_dir,
    load_image_dataset,
    read_idx,
)

from tests.conftest import mnist_dir

SUMS = DATASETS["mnist"]["sha256"]
NAMES = [stem + ".gz" for stem in FILES.values()]


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    """No data directory from the environment, and a private cache."""
    for variable in ("NPGAN_DATA_DIR", "NPGAN_FASHION_MNIST_DIR", "NPGAN_MIRRORS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def raw(name):
    with gzip.open(os.path.join(mnist_dir(), name), "rb") as handle:
        return handle.read()


def copy_with(tmp_path, replacements):
    """A directory with the four files: links to the originals, except ``replacements``
    (name -> bytes written as that file)."""
    directory = tmp_path / "data"
    directory.mkdir(exist_ok=True)
    for name in NAMES:
        if name in replacements:
            (directory / name).write_bytes(replacements[name])
        else:
            os.symlink(os.path.abspath(os.path.join(mnist_dir(), name)), directory / name)
    return str(directory)


# -- the data itself --------------------------------------------------------------------------

def test_the_splits_are_the_authors_and_pixels_are_float32_over_255(mnist):
    images = np.frombuffer(raw("train-images-idx3-ubyte.gz")[16:], dtype=np.uint8).reshape(60000, 784)
    labels = np.frombuffer(raw("train-labels-idx1-ubyte.gz")[8:], dtype=np.uint8)
    assert mnist.train.shape == (50000, 784) and mnist.train.dtype == np.float32
    assert mnist.validation.shape == (10000, 784) and mnist.test.shape == (10000, 784)
    np.testing.assert_array_equal(mnist.train[[0, 49999]], images[[0, 49999]] / np.float32(255))
    np.testing.assert_array_equal(mnist.validation[0], images[50000] / np.float32(255))
    np.testing.assert_array_equal(mnist.train_labels[:5], labels[:5])
    np.testing.assert_array_equal(mnist.validation_labels[-3:], labels[-3:])
    assert mnist.train_labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]  # the well-known first digits
    assert mnist.test.min() == 0.0 and mnist.test.max() == 1.0
    assert mnist.image_shape == (28, 28) and mnist.dim == 784


def test_pixels_stay_uint8_and_rows_convert_to_the_former_float32_splits_bit_for_bit():
    data = load_image_dataset("mnist", mnist_dir())  # a fresh one: no split converted yet
    train_images = np.frombuffer(raw("train-images-idx3-ubyte.gz")[16:], dtype=np.uint8).reshape(60000, 784)
    test_images = np.frombuffer(raw("t10k-images-idx3-ubyte.gz")[16:], dtype=np.uint8).reshape(10000, 784)
    former = {split: np.divide(images, np.float32(255), dtype=np.float32)  # what ImageData held before
              for split, images in (("train", train_images[:50000]), ("validation", train_images[50000:]),
                                    ("test", test_images))}
    rng = np.random.default_rng(0)
    for split, whole in former.items():
        assert data.pixels[split].images.dtype == np.uint8 and data.pixels[split].shape == whole.shape
        assert data.size(split) == len(whole)
        index = rng.integers(len(whole), size=100)  # a minibatch
        rows = data.rows(split, index)
        assert rows.dtype == np.float32
        np.testing.assert_array_equal(rows.view(np.uint32), whole[index].view(np.uint32))  # the bits
        np.testing.assert_array_equal(data.rows(split, slice(0, 1000)), whole[:1000])
    np.testing.assert_array_equal(data.sample(1000, np.random.default_rng(1)),
                                  former["train"][np.random.default_rng(1).integers(50000, size=1000)])
    np.testing.assert_array_equal(data.pixels["train"].column_mean(),
                                  former["train"].mean(axis=0, dtype=np.float64))
    assert data.train is data.train  # converted on first use, then kept
    np.testing.assert_array_equal(data.train, former["train"])
    with pytest.raises(ValueError, match="unknown split 'training'; valid: train, validation, test"):
        data.rows("training", [0])


def test_uncompressed_files_are_read_and_checked_too(tmp_path):
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(raw("t10k-labels-idx1-ubyte.gz"))
    labels = read_idx(str(tmp_path / "t10k-labels-idx1-ubyte"), ndim=1, sha256=SUMS["t10k-labels-idx1-ubyte"])
    assert labels.shape == (10000,) and labels.max() == 9


# -- bad files: a clear DataError naming the file ------------------------------------------------

def labels_file(tmp_path, content, name="t10k-labels-idx1-ubyte"):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_a_wrong_magic_number_is_named(tmp_path):
    content = bytearray(raw("t10k-labels-idx1-ubyte.gz"))
    content[3] = 3
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: wrong magic number 0x00000803"):
        read_idx(labels_file(tmp_path, bytes(content)), ndim=1)


def test_a_header_claiming_more_items_than_the_file_holds(tmp_path):
    content = bytearray(raw("t10k-labels-idx1-ubyte.gz"))
    content[4:8] = (10001).to_bytes(4, "big")
    with pytest.raises(DataError, match=r"header claims 10001 items but the file holds only 10000 bytes"):
        read_idx(labels_file(tmp_path, bytes(content)), ndim=1)


def test_trailing_data_is_refused(tmp_path):
    with pytest.raises(DataError, match="more data than"):
        read_idx(labels_file(tmp_path, raw("t10k-labels-idx1-ubyte.gz") + b"\0"), ndim=1)


def test_a_header_claiming_billions_of_images_allocates_nothing_large(tmp_path):
    header = (2051).to_bytes(4, "big") + (2**31 - 1).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header + bytes(5000)))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="header claims 2147483647 x 28 x 28 items"):
            read_idx(str(path), ndim=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_a_wrong_checksum_names_the_file_and_what_to_do(tmp_path):
    content = bytearray(raw("t10k-labels-idx1-ubyte.gz"))
    content[100] = (content[100] + 1) % 10
    path = labels_file(tmp_path, gzip.compress(bytes(content)), "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 .* expected ff7bcfd4.*delete it"):
        read_idx(path, ndim=1, sha256=SUMS["t10k-labels-idx1-ubyte"])


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_a_truncated_gz_is_reported(tmp_path, keep):
    content = gzip.compress(raw("t10k-labels-idx1-ubyte.gz"))
    path = labels_file(tmp_path, content[:int(len(content) * keep)], "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: .*(truncated|corrupt)"):
        read_idx(path, ndim=1)


def idx_bytes(ndim, dims, magic_type=0x08, body=None):
    """An IDX file: magic 0x0000 <type> <ndim>, the big-endian dimensions, the bytes."""
    size = int(np.prod(dims))
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256)) if body is None else body
    return bytes([0, 0, magic_type, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims) + body


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("ndim, dims", [(1, (3,)), (3, (2, 28, 28))], ids=["labels", "images"])
def test_truncation_at_every_header_boundary_and_in_the_body(tmp_path, ndim, dims, compressed):
    """Every length from 0 (an empty file) to the whole header, and into the body: a DataError
    saying where the file ends (the magic number, the dimensions, or how much of the body)."""
    content = idx_bytes(ndim, dims)
    header = 4 + 4 * ndim
    path = tmp_path / ("file.gz" if compressed else "file")
    path.write_bytes(gzip.compress(content) if compressed else content)
    assert read_idx(str(path), ndim=ndim).shape == dims
    for length in [*range(header + 1), header + 1, len(content) // 2, len(content) - 1]:
        path.write_bytes(gzip.compress(content[:length]) if compressed else content[:length])
        if length < 4:
            expected = f"the file ends inside the magic number ({length} of 4 bytes): truncated"
        elif length < header:
            expected = f"the file ends inside the dimensions ({length - 4} of {4 * ndim} bytes): truncated"
        else:
            expected = (f"the header claims {' x '.join(map(str, dims))} items but the file holds only "
                        f"{length - header} bytes of the {int(np.prod(dims))} bytes that implies: truncated or "
                        "not an original file")
        with pytest.raises(DataError) as caught:
            read_idx(str(path), ndim=ndim)
        assert str(caught.value) == f"{path.name}: {expected}", length


@settings(max_examples=150)
@given(ndim=st.sampled_from([1, 3]), data=st.data())
def test_any_header_over_any_body_gives_exactly_that_array_or_a_data_error(tmp_path_factory, ndim, data):
    """Dimensions up to 2^32 - 1 over up to 100 bytes, cut anywhere: the array the header
    describes when the bytes match it exactly, a DataError saying what is wrong otherwise."""
    dims = tuple(data.draw(st.lists(st.integers(0, 3) | st.integers(0, 2**32 - 1), min_size=ndim, max_size=ndim)))
    body = data.draw(st.binary(max_size=100))
    content = idx_bytes(ndim, dims, body=body)
    content = content[:data.draw(st.integers(0, len(content)))]
    path = tmp_path_factory.mktemp("idx") / "file"
    path.write_bytes(content)
    try:
        array = read_idx(str(path), ndim=ndim)
    except DataError as error:
        assert str(error).startswith("file: ") and ("truncated" in str(error) or "more data than" in str(error))
    else:
        assert array.shape == dims and array.tobytes() == content[4 + 4 * ndim:]


# -- bad data files through the command line: one line, exit 2, before any training -----------------

def gzip_with_a_bad_crc():
    data = bytearray(gzip.compress(idx_bytes(3, (2, 28, 28))))
    data[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    return bytes(data)


BAD_IMAGE_FILES = {
    # name: (file name in the data directory, its bytes, message fragment)
    "an empty file": ("train-images-idx3-ubyte", b"", "the file ends inside the magic number (0 of 4 bytes)"),
    "an empty .gz": ("train-images-idx3-ubyte.gz", b"", "the file ends inside the magic number (0 of 4 bytes)"),
    "a gzip of nothing": ("train-images-idx3-ubyte.gz", gzip.compress(b""), "ends inside the magic number (0 of 4"),
    "the end inside the magic number": ("train-images-idx3-ubyte", b"\0\0", "inside the magic number (2 of 4 bytes)"),
    "the end after the magic number": ("train-images-idx3-ubyte", idx_bytes(3, (2, 28, 28))[:4],
                                       "the file ends inside the dimensions (0 of 12 bytes)"),
    "the end inside the dimensions": ("train-images-idx3-ubyte", idx_bytes(3, (2, 28, 28))[:10],
                                      "the file ends inside the dimensions (6 of 12 bytes)"),
    "a header and no pixels": ("train-images-idx3-ubyte", idx_bytes(3, (2, 28, 28))[:16],
                               "claims 2 x 28 x 28 items but the file holds only 0 bytes of the 1568"),
    "one pixel short": ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(3, (2, 28, 28))[:-1]),
                        "holds only 1567 bytes of the 1568 bytes"),
    "one byte too many": ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(3, (2, 28, 28)) + b"\0"),
                          "the file holds more data than that implies"),
    "labels where the images belong": ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(1, (5,))),
                                       "wrong magic number 0x00000801 (expected 0x00000803"),
    "float pixels (type 0x0d)": ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(3, (1, 28, 28), 0x0D)),
                                 "wrong magic number 0x00000d03"),
    "not gzip but named .gz": ("train-images-idx3-ubyte.gz", np.random.default_rng(0).bytes(3000),
                               "cannot be read (Not a gzipped file"),
    "a gzip stream cut short": ("train-images-idx3-ubyte.gz",
                                gzip.compress(idx_bytes(3, (20, 28, 28), body=np.random.default_rng(1).bytes(15680)))[:900],
                                "the gzip stream is truncated or corrupt"),
    "a gzip with a bad CRC": ("train-images-idx3-ubyte.gz", gzip_with_a_bad_crc(), "cannot be read (CRC check failed"),
    "a header claiming 2^31 - 1 images": ("train-images-idx3-ubyte.gz",
                                          gzip.compress(idx_bytes(3, (2**31 - 1, 28, 28), body=bytes(5000))),
                                          "claims 2147483647 x 28 x 28 items but the file holds only 5000 bytes"),
    "a valid IDX file of other images": ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(3, (2, 28, 28))),
                                         "SHA-256 of its contents is"),
    "a directory in the file's place": ("train-images-idx3-ubyte.gz", None,
                                        "files missing in {directory} (from --data-dir): train-images-idx3-ubyte.gz"),
}


@pytest.mark.parametrize("case", list(BAD_IMAGE_FILES))
def test_a_bad_image_file_is_one_line_and_exit_2_through_the_command_line(tmp_path, capsys, clean_environment, case):
    """No MNIST needed: the images are read first, so the other three files are never opened."""
    name, content, message = BAD_IMAGE_FILES[case]
    directory = tmp_path / "data"
    directory.mkdir()
    for stem in FILES.values():
        (directory / (stem + ".gz")).write_bytes(b"never read")
    (directory / "train-images-idx3-ubyte.gz").unlink()
    if content is None:
        (directory / name).mkdir()
    else:
        (directory / name).write_bytes(content)
    out = tmp_path / "run"
    code = main(["train", "--preset", "paper-mnist", "--data-dir", str(directory), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("npgan: error: ") and len(err.strip().splitlines()) == 1, err
    assert message.format(directory=directory) in err, err
    assert "Traceback" not in err
    assert not out.exists()  # refused before anything was written (the lock's directory removed again)


@settings(max_examples=200)
@given(content=st.binary(max_size=64), compressed=st.booleans(), ndim=st.sampled_from([1, 3]))
def test_random_bytes_give_only_data_errors(tmp_path_factory, content, compressed, ndim):
    directory = tmp_path_factory.mktemp("random")
    name = "file.gz" if compressed else "file"
    path = directory / name
    path.write_bytes(gzip.compress(content) if compressed and len(content) % 2 else content)
    try:
        array = read_idx(str(path), ndim=ndim)
    except DataError as error:
        assert str(error)
    else:  # a valid IDX file by chance: then its size matches its header exactly
        assert array.ndim == ndim


def test_a_missing_file_in_a_named_directory_lists_what_is_missing_and_never_downloads(tmp_path, clean_environment):
    directory = copy_with(tmp_path, {})
    os.remove(os.path.join(directory, "t10k-labels-idx1-ubyte.gz"))
    with pytest.raises(DataError, match=r"files missing in .*: t10k-labels-idx1-ubyte.gz\. .*--data-dir DIR "
                                        r"or set NPGAN_DATA_DIR=DIR"):
        find_data_dir("mnist", directory, mirrors=["http://127.0.0.1:9/"])
    assert not os.path.exists(tmp_path / "cache")


# -- where the data comes from -------------------------------------------------------------------

def test_the_option_wins_over_the_environment_which_wins_over_the_cache(tmp_path, clean_environment, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        for name in NAMES:
            (directory / name).write_bytes(b"")
    monkeypatch.setenv("NPGAN_DATA_DIR", str(second))
    assert find_data_dir("mnist", str(first)) == str(first)
    assert find_data_dir("mnist") == str(second)
    monkeypatch.delenv("NPGAN_DATA_DIR")
    with pytest.raises(DataError, match=r"could not be downloaded"):
        find_data_dir("mnist", mirrors=["http://127.0.0.1:9/"])
    assert find_data_dir("fashion-mnist", str(first)) == str(first)


class _Server:
    """An HTTP server on 127.0.0.1 serving a directory, counting requests."""

    def __init__(self, directory):
        handler = functools.partial(_QuietHandler, directory=directory)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    running = _Server(mnist_dir())
    yield running
    running.close()


def test_download_into_the_cache_from_a_local_mirror_with_checksums(server, clean_environment):
    directory = find_data_dir("mnist", mirrors=[server.url])
    assert directory == str(clean_environment / "cache" / "npgan" / "mnist")
    assert sorted(os.listdir(directory)) == sorted(NAMES)  # no temporary files left
    for name in NAMES:
        with open(os.path.join(directory, name), "rb") as handle:
            expected = open(os.path.join(mnist_dir(), name), "rb").read()
            assert hashlib.sha256(handle.read()).digest() == hashlib.sha256(expected).digest()
    data = load_image_dataset("mnist", mirrors=["http://127.0.0.1:9/"])  # cached: no second download
    assert data.train.shape == (50000, 784)


def test_a_mirror_serving_a_corrupt_file_is_skipped_for_the_next(tmp_path, server, clean_environment):
    bad = tmp_path / "bad"
    bad.mkdir()
    content = bytearray(raw("t10k-labels-idx1-ubyte.gz"))
    content[200] = (content[200] + 1) % 10
    (bad / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(content)))
    corrupt = _Server(str(bad))
    try:
        directory = find_data_dir("mnist", mirrors=[corrupt.url, server.url])
    finally:
        corrupt.close()
    assert sorted(os.listdir(directory)) == sorted(NAMES)


def test_offline_the_message_names_the_four_files_and_both_ways(clean_environment, monkeypatch, capsys):
    monkeypatch.setenv("NPGAN_MIRRORS", "http://127.0.0.1:9/")  # port 9 (discard): refused at once
    with pytest.raises(DataError) as caught:
        find_data_dir("mnist")
    message = str(caught.value)
    for text in NAMES + ["--data-dir DIR", "NPGAN_DATA_DIR=DIR", "could not be downloaded"]:
        assert text in message
    cache = clean_environment / "cache" / "npgan" / "mnist"
    assert os.listdir(cache) == []  # nothing half-written
    assert main(["train", "--preset", "paper-mnist", "--out", str(clean_environment / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("npgan: error: MNIST is not in") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("damage", ["missing", "truncated", "checksum", "magic", "claims-more"])
def test_the_command_line_reports_bad_data_in_one_line_with_exit_2(tmp_path, clean_environment, capsys, damage):
    labels = raw("t10k-labels-idx1-ubyte.gz")
    bad = {
        "truncated": gzip.compress(labels)[:2000],
        "checksum": gzip.compress(labels[:-1] + bytes([(labels[-1] + 1) % 10])),
        "magic": gzip.compress(b"\0\0\x08\x02" + labels[4:]),
        "claims-more": gzip.compress(labels[:4] + (10001).to_bytes(4, "big") + labels[8:]),
    }
    directory = copy_with(tmp_path, {} if damage == "missing" else {"t10k-labels-idx1-ubyte.gz": bad[damage]})
    if damage == "missing":
        os.remove(os.path.join(directory, "t10k-labels-idx1-ubyte.gz"))
    code = main(["train", "--preset", "paper-mnist", "--data-dir", directory, "--out", str(tmp_path / "run"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("npgan: error: ") and len(err.strip().splitlines()) == 1
    assert "t10k-labels-idx1-ubyte" in err
    assert not os.path.exists(tmp_path / "run" / "checkpoint.npz")
