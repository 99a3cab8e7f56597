"""One `npgan train` per run directory: the lock file <out>/.lock.

The lock is a file created with O_CREAT | O_EXCL, so of two processes starting at
once exactly one creates it. It holds its owner as JSON: PID, host, the process's
start time (Linux: from /proc, to tell a reused PID from the owner) and the command.
Another `npgan train` into the same directory reads it and refuses, naming the
owner's PID and host.

The owner deletes the lock on every exit path it controls (success, bad input,
divergence, SIGINT, SIGTERM). A process killed outright (SIGKILL, a power cut)
leaves it behind; the next run on the same host sees that the PID is no longer
running (or now belongs to another process) and takes the lock over, with a note.
A lock written on another host is never taken over: npgan cannot see whether that
process still runs, so the message says to delete the file if it does not.
"""

import json
import os
import socket
import sys
import time
import uuid

LOCK_NAME = ".lock"
_UNREADABLE_RETRIES = 20  # the owner writes its identity right after creating the file


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
        cannot be created or written."""
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory)
            self._created_directory = True
        identity = {"pid": os.getpid(), "host": socket.gethostname(), "process_start": _process_start(os.getpid()),
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv),
                    "token": uuid.uuid4().hex}
        taken_over = None
        for _ in range(3):
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._read_owner()
                if owner is None:
                    continue  # removed meanwhile: try again
                if _is_running(owner):
                    raise RunLocked(_locked_message(self.directory, self.path, owner)) from None
                # Stale: its process is gone. (Two runs taking over the same stale lock in the
                # same microsecond could both succeed; npgan does not guard against that.)
                taken_over = owner
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(descriptor, "w") as handle:
                json.dump(identity, handle)
            self._identity = identity
            return taken_over
        raise RunLocked(f"{self.path} keeps reappearing: another npgan train is starting in {self.directory}")

    def release(self):
        """Delete the lock if this process still holds it; remove the directory if the lock
        created it and nothing else was written there."""
        if self._identity is None:
            return
        owner = read_json(self.path)
        if owner is not None and owner.get("token") == self._identity["token"]:
            os.remove(self.path)
        self._identity = None
        if self._created_directory:
            try:
                os.rmdir(self.directory)  # only if empty
            except OSError:
                pass

    def _read_owner(self):
        """The owner of an existing lock; None if the lock vanished. An unreadable lock (its
        owner between creating and writing it, or a damaged file) is retried, then refused."""
        for _ in range(_UNREADABLE_RETRIES):
            if not os.path.exists(self.path):
                return None
            owner = read_json(self.path)
            if isinstance(owner, dict) and isinstance(owner.get("pid"), int) and isinstance(owner.get("host"), str):
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
    except ProcessLookupError:
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


def read_json(path):
    """The JSON in ``path``, or None if it is missing or unreadable (also used by npgan.sweep)."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None
