"""Attacks on what npgan reads (issue 17, items 3, 4, 5, 9 and 12): a gzip bomb as an IDX file
and as a download, zip bombs and lying sizes in a checkpoint, a configuration claiming larger
networks than its arrays hold, metadata edited under an intact array hash, metadata that breaks
the JSON parser or the run state's types, and download mirrors that never finish.

Memory is proved bounded by the peak RSS of a child process (its VmHWM) reading the bomb, never
by allocating it here: every bomb below would take 1-7 GB on the code before issue 17.
"""

import http.server
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib

import numpy as np
import pytest

import npgan.checkpoint
import npgan.data.mnist
from npgan.checkpoint import arrays_digest, load_checkpoint, save_checkpoint
from npgan.cli import main
from npgan.data.mnist import FILES, DataError, download_files
from npgan.data.toy import RING8
from npgan.models import build_gan, preset_config
from npgan.restore import gan_from_checkpoint, implied_parameter_shapes
from npgan.train import Trainer

from tests.conftest import mnist_dir

REPOSITORY = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PEAK_RSS_LIMIT = 400 << 20  # bytes: the bound for every bomb


# -- measuring a child ---------------------------------------------------------------------------

# Runs "-m module args..." or "-c code args..." and writes the process's peak resident set size
# (VmHWM: the high-water mark of its memory since exec) to the file named first, at exit.
# os.wait4's ru_maxrss would not do: it counts the pytest process's memory the child was forked from.
MEASURED = """
import atexit, runpy, sys
peak_file, kind, what = sys.argv[1:4]
def report():
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(report)
sys.argv = [what, *sys.argv[4:]]
if kind == "-m":
    runpy.run_module(what, run_name="__main__", alter_sys=True)
else:
    exec(compile(what, "<child>", "exec"), {"__name__": "__main__"})
"""


def run_child(args, timeout=120):
    """(exit code, stderr, peak RSS in bytes) of ``python args...`` ("-m module ..." or "-c code
    ...") run from the repository."""
    environment = {**os.environ, "PYTHONPATH": REPOSITORY}
    with tempfile.TemporaryDirectory() as directory:
        peak_file = os.path.join(directory, "peak")
        done = subprocess.run([sys.executable, "-c", MEASURED, peak_file, *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, cwd=REPOSITORY, env=environment, timeout=timeout)
        err = done.stderr.decode(errors="replace")
        assert os.path.exists(peak_file), f"the child reported no peak (killed?): {err}"
        with open(peak_file) as handle:
            return done.returncode, err, int(handle.read()) * 1024  # VmHWM is in kB


def assert_one_npgan_line(err, fragment):
    assert err.startswith("npgan: ") and len(err.strip().splitlines()) == 1, err
    assert fragment in err and "Traceback" not in err, err


# -- building bombs cheaply: deflate blocks that repeat ------------------------------------------

_ZEROS = bytes(1 << 20)


def deflated_zeros(prefix, zero_mib):
    """(raw deflate stream, CRC-32, length) of ``prefix`` followed by ``zero_mib`` MiB of zeros,
    built in milliseconds: after a full flush the compressor starts afresh, so every MiB of zeros
    compresses to the same bytes, which are repeated (about 1,000 to 1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH) == block
    stream = head + block * zero_mib + compressor.flush()
    crc = zlib.crc32(prefix)
    for _ in range(zero_mib):
        crc = zlib.crc32(_ZEROS, crc)
    return stream, crc, len(prefix) + (zero_mib << 20)


def gzip_bomb(prefix, zero_mib):
    """A valid gzip file (CRC and length right) of ``prefix`` and ``zero_mib`` MiB of zeros."""
    stream, crc, length = deflated_zeros(prefix, zero_mib)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + stream + struct.pack("<II", crc, length & 0xFFFFFFFF)


def idx_images_header(count):
    return (2051).to_bytes(4, "big") + count.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2


def write_zip(path, entries):
    """A zip file of ``entries``: (name, method, crc, declared size, payload), the declared size
    written as both sizes for a stored entry (method 0) and as the uncompressed one for a
    deflated entry (method 8) whose compressed size is the payload's. No zip64: sizes < 4 GiB."""
    with open(path, "wb") as handle:
        directory = b""
        for name, method, crc, size, payload in entries:
            compressed = size if method == 0 else len(payload)
            offset = handle.tell()
            fields = (20, 0, method, 0, 0x21, crc, compressed, size, len(name.encode()))
            handle.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name.encode() + payload)
            directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, 0, offset)
            directory += name.encode()
        start = handle.tell()
        handle.write(directory)
        handle.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory),
                                 start, 0))


def stored_entries(path):
    """The entries of an npgan checkpoint as write_zip takes them."""
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, 0, info.CRC, info.file_size, archive.read(info)) for info in archive.infolist()]


def npy_header(dtype, shape):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                  "shape": shape})
    return header.getvalue()


# -- checkpoints to attack -------------------------------------------------------------------------

def ring8_checkpoint(path, **overrides):
    """An untrained checkpoint of ring8 with its preset's networks (128 x 128 G and D)."""
    Trainer(preset_config("ring8", **overrides), RING8).save(path)
    return path


SMALL = dict(generator_hidden=[16], discriminator_hidden=[16], discriminator_keep_probs=[1.0, 0.5])


def raw_rewrite(path, change):
    """Rewrite the entries with np.savez: no digest recomputed (an edit "with the hash untouched")."""
    with np.load(path, allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    change(entries)
    np.savez(path, **entries)


def edit_meta(path, change):
    def apply(entries):
        meta = json.loads(str(entries["__meta__"]))
        change(meta)
        entries["__meta__"] = np.array(json.dumps(meta))
    raw_rewrite(path, apply)


def resave(path, change):
    """Rewrite with ``change``(config, state, arrays) and a valid SHA-256: as an attacker who
    recomputes the hash would, so that only the checks behind the digest can refuse it."""
    good = load_checkpoint(path)
    change(good.config, good.state, good.arrays)
    save_checkpoint(path, config=good.config, state=good.state, arrays=good.arrays)


def sample_in_a_child(checkpoint, tmp_path):
    return run_child(["-m", "npgan", "sample", "--checkpoint", str(checkpoint), "-n", "5",
                      "--out", str(tmp_path / "samples.npy")])


def resume_in_a_child(run):
    return run_child(["-m", "npgan", "train", "--resume", "--out", str(run), "--iterations", "3", "--no-progress"])


# == item 3: a gzip bomb as an IDX file, and as a download =========================================

def bomb_directory(tmp_path):
    """The four files of MNIST where train-images (read first) is a 1 MB gzip whose header claims
    4,294,967,295 images over 1 GiB of zeros; the others are never opened."""
    directory = tmp_path / "data"
    directory.mkdir()
    for stem in FILES.values():
        (directory / (stem + ".gz")).write_bytes(b"never read")
    bomb = gzip_bomb(idx_images_header(2**32 - 1), 1024)
    assert len(bomb) < 2 << 20
    (directory / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    return directory


def test_an_idx_gzip_bomb_is_refused_reading_no_more_than_the_original_file(tmp_path):
    directory = bomb_directory(tmp_path)
    code, err, peak = run_child(["-m", "npgan", "train", "--preset", "paper-mnist", "--data-dir", str(directory),
                                 "--out", str(tmp_path / "run"), "--no-progress"])
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak >> 20} MiB"
    assert code == 2
    assert_one_npgan_line(err, "the header claims 4294967295 x 28 x 28 items, more than the original file's "
                               "60000 x 28 x 28")
    assert not (tmp_path / "run").exists()


DOWNLOAD_A_BOMB = """
import functools, http.server, sys, threading
from npgan.data.mnist import DataError, download_files
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
handler.func.log_message = lambda *args: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
try:
    download_files("mnist", sys.argv[2], ["train-images-idx3-ubyte.gz"],
                   mirrors=[f"http://127.0.0.1:{server.server_address[1]}/"])
except DataError as error:
    sys.exit(f"npgan: {error}")
"""


def test_a_downloaded_gzip_bomb_is_refused_with_bounded_memory_and_nothing_kept(tmp_path):
    directory = bomb_directory(tmp_path)
    cache = tmp_path / "cache"
    code, err, peak = run_child(["-c", DOWNLOAD_A_BOMB, str(directory), str(cache)])
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak >> 20} MiB"
    assert code == 1
    assert_one_npgan_line(err, "more than the original file's 60000 x 28 x 28")
    assert os.listdir(cache) == []


class _Server:
    """An HTTP server on 127.0.0.1 whose requests ``handler_class`` answers."""

    def __init__(self, handler_class):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def serving(content):
    """A handler class answering every GET with ``content`` (bytes)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            try:
                self.wfile.write(content)
            except OSError:  # the client stopped reading: what is being tested
                pass

        def log_message(self, *args):
            pass

    return Handler


def test_a_download_larger_than_the_file_can_be_is_cut_off(tmp_path):
    """t10k-labels is 10,008 bytes: a mirror sending 3 MiB is stopped after 1 MiB more than that."""
    with _Server(serving(np.random.default_rng(0).bytes(3 << 20))) as mirror:
        with pytest.raises(DataError, match=r"sent more than the 1058584 bytes this file can take"):
            download_files("mnist", str(tmp_path / "cache"), ["t10k-labels-idx1-ubyte.gz"], mirrors=[mirror.url])
    assert os.listdir(tmp_path / "cache") == []


# == item 12: an overall deadline for every download ===============================================

TRICKLE_SECONDS = 6.0  # how long the slow mirror trickles before it gives up (the code before issue 17 waited)


def trickling(where):
    """A handler sending a byte every 0.2 s for TRICKLE_SECONDS, in its headers or in its body."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n" + b"X-Slow: " + b"a" * 1000 + b"\r\n\r\n"
            body = b"\x1f\x8b" + bytes(99998)
            if where == "body":
                self.wfile.write(head)
            data = (head if where == "headers" else b"") + body
            started = time.monotonic()
            try:
                for byte in data:
                    if time.monotonic() - started > TRICKLE_SECONDS:
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:  # the client hung up: what the deadline does
                pass

        def log_message(self, *args):
            pass

    return Handler


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_mirror_trickling_bytes_is_given_up_at_the_deadline_for_the_next(tmp_path, monkeypatch, where):
    monkeypatch.setattr(npgan.data.mnist, "_DOWNLOAD_DEADLINE", 1.0, raising=False)
    name = "t10k-labels-idx1-ubyte.gz"
    good_dir = tmp_path / "good"
    good_dir.mkdir()
    (good_dir / name).write_bytes(open(os.path.join(mnist_dir(), name), "rb").read())
    with _Server(trickling(where)) as slow, _Server(serving((good_dir / name).read_bytes())) as good:
        started = time.monotonic()
        download_files("mnist", str(tmp_path / "cache"), [name], mirrors=[slow.url, good.url])
        assert time.monotonic() - started < 4.0
        assert (tmp_path / "cache" / name).read_bytes() == (good_dir / name).read_bytes()
        started = time.monotonic()
        with pytest.raises(DataError, match=r"no complete file within 1 s \(the download deadline\)"):
            download_files("mnist", str(tmp_path / "cache2"), [name], mirrors=[slow.url])
        assert time.monotonic() - started < 4.0
    assert os.listdir(tmp_path / "cache2") == []


# == item 4: checkpoint memory amplification ======================================================

def test_a_deflated_entry_claiming_2_to_the_29_floats_is_refused_before_it_is_inflated(tmp_path):
    good = ring8_checkpoint(tmp_path / "good.npz")
    header = npy_header("<f4", (2**29,))
    stream, crc, size = deflated_zeros(header, 2048)  # 2 GiB of float32 zeros in 2 MB, declared honestly
    entries = [entry for entry in stored_entries(good) if entry[0] != "G.0.W.npy"]
    write_zip(tmp_path / "checkpoint.npz", entries + [("G.0.W.npy", 8, crc, size, stream)])
    assert os.path.getsize(tmp_path / "checkpoint.npz") < 3 << 20
    code, err, peak = sample_in_a_child(tmp_path / "checkpoint.npz", tmp_path)
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak >> 20} MiB"
    assert code == 2
    assert_one_npgan_line(err, "entry G.0.W.npy is compressed or encrypted")


def test_an_entry_whose_declared_size_lies_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """The zip directory says 2 GiB (and the .npy header agrees); the file holds 64 bytes of it."""
    good = ring8_checkpoint(tmp_path / "good.npz")
    header = npy_header("<f4", (2**29,))
    entries = [entry for entry in stored_entries(good) if entry[0] != "G.0.W.npy"]
    write_zip(tmp_path / "checkpoint.npz", entries + [("G.0.W.npy", 0, 0, len(header) + 2**31, header + bytes(64))])
    read = []
    monkeypatch.setattr(npgan.checkpoint, "_read_array", lambda archive, info: read.append(info.filename))
    with pytest.raises(npgan.checkpoint.CheckpointError, match="its entries claim more bytes than the file holds"):
        load_checkpoint(tmp_path / "checkpoint.npz")
    assert read == []


@pytest.mark.parametrize("command", ["sample", "resume"])
def test_a_configuration_claiming_12000_wide_layers_is_refused_before_building_them(tmp_path, command):
    run = tmp_path / "run"
    run.mkdir()
    path = ring8_checkpoint(run / "checkpoint.npz")
    resave(path, lambda config, state, arrays: config.update(generator_hidden=[12000, 12000]))
    code, err, peak = sample_in_a_child(path, tmp_path) if command == "sample" else resume_in_a_child(run)
    assert code == 2
    assert_one_npgan_line(err, "entry G.0.W is float32(2, 128), its configuration implies (2, 12000)")
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak >> 20} MiB"


def test_a_data_dimension_of_3_million_is_refused_before_building(tmp_path):
    path = ring8_checkpoint(tmp_path / "checkpoint.npz")
    resave(path, lambda config, state, arrays: state.update(data_dim=3_000_000))
    code, err, peak = sample_in_a_child(path, tmp_path)
    assert code == 2
    assert_one_npgan_line(err, "entry G.4.W is float32(128, 2), its configuration implies (128, 3000000)")
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak >> 20} MiB"


@pytest.mark.parametrize("variant", [
    dict(), dict(optimizer="momentum"), dict(generator_average_decay=0.9),
    dict(discriminator_kind="maxout", discriminator_pieces=3, discriminator_keep_probs=[0.8, 1.0, 0.5]),
    dict(generator_hidden=[], discriminator_hidden=[7]) | dict(discriminator_keep_probs=[0.5, 1.0]),
])
def test_the_implied_shapes_are_those_build_gan_makes(variant):
    config = preset_config("ring8", **variant)
    gan = build_gan(config, 5, rng=np.random.default_rng(0), dropout_rng=np.random.default_rng(1))
    assert implied_parameter_shapes(config, {"data_dim": 5}) == {name: value.shape for name, value in gan.params.items()}
    assert implied_parameter_shapes(config, {"data_dim": 5, "contents": "generator"}) == \
        {name: value.shape for name, value in gan.params_of("G").items()}


def test_with_implied_shapes_no_entry_is_read_before_each_is_bounded_by_the_configuration(tmp_path, monkeypatch):
    good = ring8_checkpoint(tmp_path / "good.npz", optimizer="momentum")
    assert load_checkpoint(good, implied_parameter_shapes).state["iteration"] == 0
    read = []
    real_read = npgan.checkpoint._read_array
    monkeypatch.setattr(npgan.checkpoint, "_read_array",
                        lambda archive, info: read.append(info.filename) or real_read(archive, info))
    for name, value in (("optimizer_d.velocity.D.0.W", np.zeros((2, 4096), np.float32)),  # another shape
                        ("junk", np.zeros(300_000, np.float64))):  # 2.4 MB: more than any entry ring8 has
        path = ring8_checkpoint(tmp_path / "checkpoint.npz", optimizer="momentum")
        resave(path, lambda config, state, arrays: arrays.__setitem__(name, value))  # a valid hash
        read.clear()
        with pytest.raises(npgan.checkpoint.CheckpointError, match=f"entry {name} is float"):
            load_checkpoint(path, implied_parameter_shapes)
        assert read == ["__meta__.npy"]


def test_implied_shapes_accept_an_image_checkpoint_with_its_minibatch_order_and_the_committed_generator():
    from npgan.data.mnist import ImageData

    rows = np.zeros((50000, 784), np.uint8)
    data = ImageData("mnist", rows, np.zeros(50000, np.uint8), rows[:10], np.zeros(10, np.uint8), rows[:10],
                     np.zeros(10, np.uint8))
    config = preset_config("paper-mnist", generator_hidden=[8], discriminator_hidden=[4, 4],
                           generator_output_bias="zeros", batch_size=10)
    trainer = Trainer(config, data)
    trainer.train_iteration()
    with tempfile.TemporaryDirectory() as directory:
        trainer.save(os.path.join(directory, "checkpoint.npz"))
        loaded = load_checkpoint(os.path.join(directory, "checkpoint.npz"), implied_parameter_shapes)
    assert loaded.arrays["batches.order"].shape == (50000,)
    committed = os.path.join(REPOSITORY, "benchmarks", "results", "mnist-tuned-generator.npz")
    assert set(load_checkpoint(committed, implied_parameter_shapes).arrays) == {
        "G.0.W", "G.0.b", "G.2.W", "G.2.b", "G.4.W", "G.4.b"}


# == item 5: the SHA-256 covers the configuration and the run state ================================

@pytest.mark.parametrize("edit", [
    lambda meta: meta["config"].update(seed=7, learning_rate=0.5),
    lambda meta: meta["state"].update(iteration=5),
], ids=["seed and learning rate", "iteration"])
def test_editing_the_metadata_under_an_intact_array_hash_is_refused_as_tampered(tmp_path, capsys, edit):
    run = tmp_path / "run"
    run.mkdir()
    path = ring8_checkpoint(run / "checkpoint.npz")
    edit_meta(path, edit)
    before = path.read_bytes()
    assert main(["train", "--resume", "--out", str(run), "--iterations", "3", "--no-progress"]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "failed its SHA-256 check: its configuration, run state or "
                                                    "arrays were changed")
    assert path.read_bytes() == before and sorted(p.name for p in run.iterdir()) == ["checkpoint.npz"]


def version_1(path):
    """Rewrite a checkpoint as npgan wrote it before issue 17: format version 1, arrays-only hash."""
    good = load_checkpoint(path)

    def apply(entries):
        meta = {"format_version": 1, "config": good.config, "state": good.state, "sha256": arrays_digest(good.arrays)}
        entries["__meta__"] = np.array(json.dumps(meta))
    raw_rewrite(path, apply)


def test_version_1_checkpoints_are_read_as_before_and_resaved_as_version_2(tmp_path):
    path = ring8_checkpoint(tmp_path / "checkpoint.npz", **SMALL)
    version_1(path)
    trainer = Trainer.from_checkpoint(load_checkpoint(path), RING8)
    trainer.save(tmp_path / "next.npz")
    with np.load(tmp_path / "next.npz") as npz:
        assert json.loads(str(npz["__meta__"]))["format_version"] == 2
    committed = os.path.join(REPOSITORY, "benchmarks", "results", "mnist-tuned-generator.npz")
    gan = gan_from_checkpoint(load_checkpoint(committed))  # a version-1 file in the repository
    assert gan.sample(3, np.random.default_rng(0)).shape == (3, 784)


def test_a_version_2_checkpoint_relabelled_version_1_with_its_seed_edited_is_refused(tmp_path):
    path = ring8_checkpoint(tmp_path / "checkpoint.npz", **SMALL)
    edit_meta(path, lambda meta: (meta.update(format_version=1), meta["config"].update(seed=7)))
    with pytest.raises(npgan.checkpoint.CheckpointError, match="failed its SHA-256 check: its arrays were"):
        load_checkpoint(path)


# == item 9 (checkpoints): metadata that breaks the parser or the run state's types ================

def test_deeply_nested_metadata_is_one_line_not_a_recursion_error(tmp_path, capsys):
    path = ring8_checkpoint(tmp_path / "checkpoint.npz", **SMALL)
    raw_rewrite(path, lambda entries: entries.__setitem__("__meta__", np.array("[" * 100_000 + "]" * 100_000)))
    assert main(["sample", "--checkpoint", str(path), "-n", "5", "--out", str(tmp_path / "s.npy")]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "corrupt __meta__ entry: JSON nested too deeply")


GOOD_SUMS = {name: 0.5 for name in npgan.train.METRICS}


@pytest.mark.parametrize("damage", [
    ("metrics_window", [1, 2]),
    ("metrics_window", {"sums": 5, "size": 1}),
    ("metrics_window", {"sums": {"objective_d": 1.0}, "size": 1}),
    ("metrics_window", {"sums": GOOD_SUMS, "size": -1}),
    ("metrics_window", {"sums": GOOD_SUMS, "size": "3"}),
    ("metrics_window", {"sums": {**GOOD_SUMS, "objective_g": "x"}, "size": 2}),
    ("elapsed_seconds", "soon"),
    ("elapsed_seconds", -5.0),
], ids=repr)
def test_a_run_state_of_the_wrong_type_is_one_line_and_exit_2_at_resume(tmp_path, capsys, damage):
    run = tmp_path / "run"
    run.mkdir()
    path = ring8_checkpoint(run / "checkpoint.npz", **SMALL)
    key, value = damage
    resave(path, lambda config, state, arrays: state.update({key: value}))
    assert main(["train", "--resume", "--out", str(run), "--iterations", "3", "--no-progress"]) == 2
    assert_one_npgan_line(capsys.readouterr().err, "the checkpoint's run state is damaged")
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz"]


def test_a_good_metrics_window_still_resumes(tmp_path):
    path = ring8_checkpoint(tmp_path / "checkpoint.npz", **SMALL)
    resave(path, lambda config, state, arrays: state.update(metrics_window={"sums": GOOD_SUMS, "size": 2}))
    assert Trainer.from_checkpoint(load_checkpoint(path), RING8).metrics_window == {"sums": GOOD_SUMS, "size": 2}


def test_a_download_killed_outright_leaves_no_temporary_past_a_day(tmp_path):
    """Issue 17 item 7 for the cache: temporaries of a download killed with SIGKILL are removed
    by the next download once they are a day old; a fresh one (a download under way in another
    process) and every other name stay."""
    from npgan.data.mnist import DataError, STALE_DOWNLOAD_SECONDS, download_files

    stale, fresh = tmp_path / ".t10k-labels-idx1-ubyte.gz.0123456789ab.tmp", tmp_path / ".t10k-labels-idx1-ubyte.gz.ba9876543210.tmp"
    other = tmp_path / ".notes.0123456789ab.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"partial")
    old = time.time() - STALE_DOWNLOAD_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    with pytest.raises(DataError):  # nothing listens on port 9 of 127.0.0.1: every mirror fails
        download_files("mnist", str(tmp_path), ["t10k-labels-idx1-ubyte.gz"], mirrors=["http://127.0.0.1:9/"])
    assert not stale.exists() and fresh.exists() and other.exists()
