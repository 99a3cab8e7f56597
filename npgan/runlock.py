"""One `npgan train` per run directory: the lock file <out>/.lock.

The lock holds its owner as JSON: PID, host, the process's start time (Linux: from
/proc, to tell a reused PID from the owner), the command and a random token. It is
written whole into a temporary file of the directory, then hard-linked to .lock:
link() fails if .lock exists (O_EXCL semantics), so of two processes starting at once
exactly one creates it, and .lock is never seen empty or half-written, not even after a
full disk (the temporary file is removed, nothing is left). Another `npgan train` into
the same directory reads it and refuses, naming the owner's PID and host.

The owner deletes the lock on every exit path it controls (success, bad input,
divergence, SIGINT, SIGTERM). A process killed outright (SIGKILL, a power cut)
leaves it behind; the next run on the same host sees that the PID is no longer
running (or now belongs to another process, or cannot be a PID at all) and takes the
lock over, with a note. Taking over is atomic: under an exclusive flock() on the run
directory, the lock is read again, removed only if it is still the stale one, and
replaced by the new owner's before the flock is released; of several processes taking
over the same stale lock, exactly one gets it, the others see the new owner.
A lock written on another host is never taken over: npgan cannot see whether that
process still runs, so the message says to delete the file if it does not.
"""

import contextlib
import errno
import json
import os
import socket
import stat
import sys
import tempfile
import time
import uuid

from npgan.fileio import open_regular

try:
    import fcntl
except ImportError:  # not POSIX: no takeover of a stale lock (the message says to delete it)
    fcntl = None

LOCK_NAME = ".lock"
MAX_LOCK_BYTES = 1 << 16          # a lock is a few hundred bytes; anything longer is not one
_UNREADABLE_RETRIES = 20          # a lock written by an older npgan (create, then write) may be empty a moment
_TAKEOVER_WAIT_SECONDS = 10.0     # the directory's flock is held for a few system calls only
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}


class RunLocked(Exception):
    """The run directory is locked by another live process (or by an unreadable lock)."""


class RunLock:
    """The lock of run directory ``directory`` (created if missing, and removed again on
    release if this lock created it and it is still empty)."""

    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, LOCK_NAME)
        self._identity = None
        self._created_directory = False

    def acquire(self):
        """Take the lock. Returns the previous owner (a dict) when a stale lock was taken
        over, else None; raises RunLocked naming the live owner, OSError if the directory
        cannot be created or the lock cannot be written (nothing is left behind then)."""
        if not os.path.isdir(self.directory):
            try:
                os.makedirs(self.directory)
                self._created_directory = True
            except FileExistsError:
                pass  # made meanwhile by another process; a file there fails below
        # Recorded before the lock exists, so that release() also cleans up after an exception
        # (a signal) anywhere in here: it removes .lock only if it carries this token.
        self._identity = {"pid": os.getpid(), "host": socket.gethostname(),
                          "process_start": _process_start(os.getpid()), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                          "command": " ".join(sys.argv), "token": uuid.uuid4().hex}
        try:
            return self._acquire(json.dumps(self._identity).encode())
        except BaseException:
            self.release()
            raise

    def _acquire(self, content):
        for _ in range(3):
            if self._create(content):
                return None
            owner = self._read_owner()
            if owner is None:
                continue  # removed meanwhile: try again
            if _is_running(owner):
                raise RunLocked(_locked_message(self.directory, self.path, owner))
            if self._take_over(owner, content):
                return owner
            # another process took it over first, or its owner released it: look again
        raise RunLocked(f"{self.path} keeps reappearing: another npgan train is starting in {self.directory}")

    def _create(self, content):
        """Create .lock holding ``content`` unless it exists: True if created, False if it
        existed. The content goes to a temporary file first, linked to .lock when whole."""
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=LOCK_NAME + ".", suffix=".tmp")
        try:
            try:
                os.fchmod(descriptor, 0o644)
                _write_all(descriptor, content)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            try:
                os.link(temporary, self.path)
            except FileExistsError:
                return False
            except OSError as error:
                if error.errno not in _NO_HARD_LINKS:
                    raise
                return self._create_in_place(content)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def _create_in_place(self, content):
        """On a file system without hard links: O_CREAT | O_EXCL and write, the lock removed
        again if the write fails (a reader may see it empty for a moment: it retries)."""
        try:
            descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            _write_all(descriptor, content)
        except BaseException:
            os.close(descriptor)
            os.unlink(self.path)
            raise
        os.close(descriptor)
        return True

    def _take_over(self, stale, content):
        """Replace the stale lock whose owner was ``stale`` by ours, atomically with respect to
        every other npgan taking it over: True if done, False if the lock changed meanwhile."""
        with self._directory_flock(stale):
            try:
                current = self._read_owner()
            except RunLocked:
                return False  # replaced by something unreadable: the next look refuses it
            if current != stale:
                return False
            # Under the flock nobody else removes .lock, and its owner is gone: it is still `stale`.
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            return self._create(content)

    @contextlib.contextmanager
    def _directory_flock(self, stale):
        cannot = (f"{self.path} belongs to {describe_owner(stale)}, which is no longer running, but npgan cannot "
                  f"take it over safely here")
        if fcntl is None:
            raise RunLocked(f"{cannot} (no flock on this system); delete it, then run again")
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            deadline = time.monotonic() + _TAKEOVER_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RunLocked(f"another process has been taking over {self.path} for "
                                        f"{_TAKEOVER_WAIT_SECONDS:g} s; try again") from None
                    time.sleep(0.002)
                except OSError as error:  # a file system without flock (some network file systems)
                    raise RunLocked(f"{cannot} (flock: {error.strerror}); delete it, then run again") from None
            yield
        finally:
            os.close(descriptor)  # releases the flock

    def release(self):
        """Delete the lock if this process still holds it; remove the directory if the lock
        created it and nothing else was written there."""
        if self._identity is None:
            return
        owner = _read_lock(self.path)
        if isinstance(owner, dict) and owner.get("token") == self._identity["token"]:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
        self._identity = None
        if self._created_directory:
            self._created_directory = False
            try:
                os.rmdir(self.directory)  # only if empty
            except OSError:
                pass

    def _read_owner(self):
        """The owner of an existing lock; None if the lock vanished. An unreadable lock (a
        damaged file, or one an older npgan is writing) is retried, then refused."""
        for _ in range(_UNREADABLE_RETRIES):
            if not os.path.lexists(self.path):
                return None
            owner = _read_lock(self.path)
            if (isinstance(owner, dict) and type(owner.get("pid")) is int
                    and isinstance(owner.get("host"), str)):
                return owner
            time.sleep(0.05)
        raise RunLocked(f"{self.path} exists but is not a readable npgan lock; if no npgan train is running in "
                        f"{self.directory}, delete it")

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc_info):
        self.release()
        return False


def describe_owner(owner):
    return f"process {owner['pid']} on {owner['host']}"


def _locked_message(directory, path, owner):
    started = f", started {owner['started']}" if owner.get("started") else ""
    same_host = owner["host"] == socket.gethostname()
    what_to_do = (f"wait for it to finish or stop it (kill {owner['pid']}: it checkpoints and exits)" if same_host else
                  f"it runs on another host; if it is no longer running, delete {path}")
    return (f"{directory} is in use by another npgan train ({describe_owner(owner)}{started}); {what_to_do}, "
            "or train into another --out")


def _is_running(owner):
    if owner["host"] != socket.gethostname():
        return True  # cannot tell: assume it runs
    pid = owner["pid"]
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or a number no PID can be
        return False
    except PermissionError:
        pass  # exists, owned by another user
    recorded, current = owner.get("process_start"), _process_start(pid)
    if recorded is not None and current is not None and recorded != current:
        return False  # the PID now belongs to another process
    return True


def _process_start(pid):
    """The start time of process ``pid`` in clock ticks since boot (Linux /proc), else None."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of stat(5); fields[0] is field 3
    except (OSError, IndexError, ValueError):
        return None


def _write_all(descriptor, content):
    view = memoryview(content)
    while view:
        view = view[os.write(descriptor, view):]


def _read_lock(path):
    """The JSON of the lock at ``path``; None if it is missing, not a regular file (a FIFO is
    not waited on, a symlink not followed), longer than a lock can be, or not JSON."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        data = os.read(descriptor, MAX_LOCK_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    if len(data) > MAX_LOCK_BYTES:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def read_json(path):
    """The JSON in ``path``, or None if it is missing or unreadable (also used by npgan.sweep)."""
    try:
        with open_regular(path) as handle:  # a FIFO or a symlink planted there: unreadable, not a hang
            return json.load(handle)
    except (OSError, ValueError, RecursionError):
        return None
