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


@pytest.mark.parametrize("size", [0, 2, 4, 7])
def test_truncation_inside_the_header(tmp_path, size):
    with pytest.raises(DataError, match=r"truncated"):
        read_idx(labels_file(tmp_path, raw("t10k-labels-idx1-ubyte.gz")[:size]), ndim=1)


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
