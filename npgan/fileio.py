"""Writing a file so that a reader sees the old content or the new, never a part of it; and
opening a name that is already there without being sent elsewhere.

Every file npgan writes (checkpoints, config.json, metrics.jsonl when it is cut back, sweep
results, downloads, figures, samples) goes through ``atomic_write``:

1. a new temporary file ``.<name>.<12 random hex digits>.tmp`` is created next to the target
   with O_CREAT | O_EXCL (a name nobody can have prepared: a symlink or file already there
   under that name is never opened, another name is drawn);
2. the content is written, flushed and fsynced;
3. its permissions become those of a newly created file (0666 masked by the umask);
4. it is renamed over the target (``os.replace``: atomic on POSIX; a symlink at the target is
   replaced, never written through) and the directory is fsynced, so the rename survives a crash.

If anything fails (an exception, a full disk, KeyboardInterrupt) the temporary file is removed
and the target is left as it was. Only a process killed outright (SIGKILL, power loss) leaves
its temporary behind: ``remove_temporaries`` removes exactly those (regular files whose names
have the form above), which npgan train does in a run directory when it starts.

``open_regular`` opens a name that may already exist (metrics.jsonl, read on a resume and
appended to) with O_NOFOLLOW and O_NONBLOCK: a symbolic link, a FIFO, a device or a directory
there raises NotRegularFile at once instead of being followed or blocking forever.

``check_output_path`` is the one check of an output path a user names (npgan sample, export
and figure): its directory exists, and it is new or a regular file (never a symlink, a
directory, a FIFO or a device node such as /dev/null, which root could otherwise replace).
"""

import contextlib
import errno
import os
import re
import secrets
import stat
import time

_TEMPORARY_SUFFIX = re.compile(r"\.[0-9a-f]{12}\.tmp")  # what follows ".<name>" in a temporary's name


class NotRegularFile(OSError):
    """An existing name npgan would open is not a regular file (a symbolic link, a FIFO, a
    directory, a device, a socket); the message (str(error)) says which."""


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
    handle = _create_temporary(directory, os.path.basename(path), mode, **open_options)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o666 & ~current_umask())
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


def link_atomically(source, target):
    """``target`` becomes the file ``source`` is now: a hard link made under a temporary name
    (os.link never follows or replaces what is there) renamed over ``target``; a copy by
    atomic_write where the file system has no hard links. A symlink at ``target`` is replaced."""
    target = os.fspath(target)
    directory = os.path.dirname(os.path.abspath(target))
    if not stat.S_ISREG(os.lstat(source).st_mode):
        raise NotRegularFile(f"{source} is {describe_file(source)}, not a regular file")
    for _ in range(100):
        temporary = os.path.join(directory, f".{os.path.basename(target)}.{_random_suffix()}.tmp")
        try:
            os.link(source, temporary, follow_symlinks=False)
            break
        except FileExistsError:
            continue
        except OSError:  # no hard links here (EPERM, EXDEV, ...): copy
            with open_regular(source, "rb") as reader, atomic_write(target, "wb") as writer:
                while chunk := reader.read(1 << 20):
                    writer.write(chunk)
            return
    else:
        raise FileExistsError(f"cannot create a temporary file in {directory}: every name drawn was taken")
    try:
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(directory)


def open_regular(path, mode="r", **open_options):
    """open(path, mode) for a name that may already exist, refusing anything but a regular file.

    mode "r"/"rb" (the file must exist) or "a"/"ab" (created 0666 & ~umask if missing). The name
    is opened with O_NOFOLLOW | O_NONBLOCK, so a symbolic link (even one pointing nowhere) is
    refused rather than followed, and a FIFO is refused rather than waited on: NotRegularFile.
    """
    flags = {"r": os.O_RDONLY, "a": os.O_WRONLY | os.O_APPEND | os.O_CREAT}[mode.replace("b", "")]
    flags |= os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    path = os.fspath(path)
    try:
        descriptor = os.open(path, flags, 0o666)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            raise NotRegularFile(f"{path} is {describe_file(path)}, not a regular file") from None
        raise
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{path} is {describe_mode(info.st_mode)}, not a regular file")
        os.set_blocking(descriptor, True)
        return open(descriptor, mode, **open_options)
    except BaseException:
        os.close(descriptor)
        raise


def check_output_path(path, option="--out"):
    """Before any work: ``path``, an output the user named with ``option``, can be written by
    atomic_write without harm. Raises ValueError saying what to do when it is empty, its
    directory does not exist, or it exists and is not a regular file (a symbolic link, even
    to a regular file; a directory; a FIFO; a device node such as /dev/null or /dev/full; a
    socket): npgan replaces only regular files, and never writes through a link."""
    path = os.fspath(path)
    if not path:
        raise ValueError(f"{option} is empty: give the output file's path")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"cannot write {path}: the directory {os.path.dirname(path) or directory} does not exist")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise ValueError(f"cannot write {path}: it is a symbolic link, not a regular file; npgan never writes "
                         f"through or replaces a link: give {option} the path of the file itself, or another path")
    if not stat.S_ISREG(mode):
        raise ValueError(f"cannot write {path}: it is {describe_mode(mode)}, not a regular file; npgan replaces "
                         f"only regular files: choose another {option}")


def remove_temporaries(directory, target_pattern, *, older_than=None):
    """Remove the temporaries atomic_write (or link_atomically) left in ``directory`` for
    targets whose names match the regular expression ``target_pattern`` (e.g.
    ``r"checkpoint\\.npz|config\\.json"``, ``r"epoch-\\d{4,}\\.npz"``): the regular files named
    ``.<target>.<12 hex digits>.tmp``, left by a process killed mid-write. Nothing else is
    touched: another name, a symlink or a directory of that name stays. Returns the names removed.
    Only for a directory no other process writes to at the same time (a locked run directory),
    or with ``older_than`` (seconds since the temporary was last written): then only temporaries
    no live writer can still own (a shared download cache)."""
    name_pattern = re.compile(rf"\.(?:{target_pattern}){_TEMPORARY_SUFFIX.pattern}")
    removed = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return removed
    for name in sorted(names):
        if not name_pattern.fullmatch(name):
            continue
        path = os.path.join(directory, name)
        with contextlib.suppress(FileNotFoundError):
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and (older_than is None or time.time() - info.st_mtime > older_than):
                os.unlink(path)
                removed.append(name)
    return removed


def describe_file(path):
    """"a symbolic link", "a FIFO", "a directory", ... : what is at ``path`` (not followed)."""
    try:
        return describe_mode(os.lstat(path).st_mode)
    except OSError:
        return "not readable"


def describe_mode(mode):
    for test, kind in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return kind
    return "of an unknown kind"


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


def current_umask():
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _create_temporary(directory, name, mode, **open_options):
    """A new file ``.<name>.<random>.tmp`` in ``directory``, opened with O_CREAT | O_EXCL |
    O_NOFOLLOW (mode 0600 until atomic_write gives it its final permissions)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = os.path.join(directory, f".{name}.{_random_suffix()}.tmp")
        try:
            return _open_temporary(path, mode, opener=lambda file, _: os.open(file, flags, 0o600), **open_options)
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file in {directory}: every name drawn was taken")


def _open_temporary(path, mode, **options):
    return open(path, mode, **options)


def _random_suffix():
    return secrets.token_hex(6)
