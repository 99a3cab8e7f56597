"""Writing a file so that a reader sees the old content or the new, never a part of it.

Every file npgan writes (checkpoints, config.json, metrics.jsonl when it is cut back, sweep
results, downloads, figures) goes through ``atomic_write``:

1. a new temporary file is created next to the target (``tempfile``: O_CREAT | O_EXCL, a
   name nobody can have prepared, so a symlink planted in the directory is never followed);
2. the content is written, flushed and fsynced;
3. its permissions become those of a newly created file (0666 masked by the umask);
4. it is renamed over the target (``os.replace``: atomic on POSIX; a symlink at the target is
   replaced, not written through) and the directory is fsynced, so the rename survives a crash.

If anything fails (an exception, a full disk, KeyboardInterrupt) the temporary file is removed
and the target is left as it was.
"""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_options):
    """``with atomic_write(path, "wb") as handle: ...`` writes ``path`` atomically.

    mode: "w" (text; open_options such as newline="" pass to open) or "wb". ``handle.name``
    is the temporary file's path, for a check that reads it back before the rename.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle = tempfile.NamedTemporaryFile(mode, dir=directory, prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp", delete=False, **open_options)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise
    fsync_directory(directory)


def write_atomically(path, content):
    """``path`` holds ``content`` (str or bytes), written by atomic_write."""
    with atomic_write(path, "wb" if isinstance(content, bytes) else "w") as handle:
        handle.write(content)


def fsync_directory(directory):
    """Make a rename in ``directory`` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
