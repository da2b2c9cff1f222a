"""Atomic file output: readers never see a half-written file, a crash never costs the old one.

Every writer of bioimg (images, model files, the GUI's "Save model") goes
through here. The new content is written next to the target, flushed to disk
(``fsync``) and only then renamed over it with ``os.replace``, so at any
moment the target holds either its old bytes or the complete new ones.

Temporary names say who owns them: ``.<name>.<host>-<pid>-<random>.tmp<suffix>``.
A process killed with SIGKILL cannot clean up after itself, so each write
(and ``bioimg train`` at start) removes the temporary files of its target
whose process, on this host, no longer runs (:func:`remove_stale`).
:func:`atomic_file` narrows the window further on Linux: the data go to an
anonymous ``O_TMPFILE`` inode, which vanishes with the process, and get a
name only for the instant between ``link`` and ``rename``.

``BIOIMG_TEST_ATOMIC_PAUSE=[<stage>:]<seconds>`` (tests only) prints
``bioimg-test-atomic: <stage> <path>`` to stderr and sleeps at each stage
(``written``: data on disk, no name yet; ``renaming``: named, not renamed) or
only at ``<stage>``, so a test can kill the process in the middle of a write.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import BinaryIO, Iterator

from ._errors import ImageWriteError

_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_TMP_RE = re.compile(r"^\.(?P<base>.+)\.(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[0-9a-f]{8}\.tmp(?P<suffix>.*)$")


def full_suffix(path: Path, known: tuple[str, ...]) -> str:
    """The longest of ``known`` suffixes that ``path`` ends with ('' if none)."""
    name = path.name.lower()
    for suffix in sorted(known, key=len, reverse=True):
        if name.endswith(suffix):
            return path.name[len(path.name) - len(suffix):]
    return path.suffix


def _split(path: Path, suffix: str) -> str:
    return path.name[:-len(suffix)] if suffix and path.name.endswith(suffix) else path.name


def temporary_name(path: Path, suffix: str = "") -> Path:
    """A fresh temporary sibling of ``path`` that names this host and process."""
    base = _split(path, suffix)
    return path.parent / f".{base}.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}"


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate it on Windows: keep the file
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def remove_stale(path: str | os.PathLike) -> list[Path]:
    """Delete temporary files of ``path`` left by writers on this host that have died.

    Only names of the form ``temporary_name`` makes are touched, and only
    when their process is gone; a write in progress (this process or
    another) keeps its file. Returns the removed paths.
    """
    path = Path(path)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if not m or m["host"] != _HOST or f"{m['base']}{m['suffix']}" != path.name:
            continue
        pid = int(m["pid"])
        if pid == os.getpid() or _pid_alive(pid):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise ImageWriteError(path, "is a directory")
    if not path.parent.is_dir():
        raise ImageWriteError(path, f"directory '{path.parent}' does not exist")


def _pause(stage: str, path: Path) -> None:
    """Test hook: let a test kill the process at ``stage`` of a write (see module doc)."""
    spec = os.environ.get("BIOIMG_TEST_ATOMIC_PAUSE")
    if spec:
        only, _, delay = spec.rpartition(":")
        if only in ("", stage):
            print(f"bioimg-test-atomic: {stage} {path}", file=sys.stderr, flush=True)
            time.sleep(float(delay))


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a power cut after it must not undo it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _commit(tmp: Path, path: Path) -> None:
    _pause("renaming", path)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it over ``path`` on success.

    The temporary name ends with ``suffix`` because writers choose the format
    (gzip, OME) from the file name. It lives in the same directory so the
    final ``os.replace`` is an atomic rename on the same file system. On any
    error the temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_output(target, ".txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    _check_target(path)
    remove_stale(path)
    # Not mkstemp: it creates the file with mode 0600, and the output should
    # get the same permissions as any other file the user writes (umask).
    tmp = temporary_name(path, suffix)
    try:
        yield tmp
        # Flush to disk before the rename, so a crash cannot leave an empty
        # file under the final name.
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _pause("written", path)
        _commit(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _anonymous(folder: Path) -> int | None:
    """An unnamed file in ``folder`` (Linux ``O_TMPFILE``), or None where unsupported."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR, 0o666)
    except OSError as exc:  # file systems without O_TMPFILE: EOPNOTSUPP, EISDIR, EINVAL
        if exc.errno in (errno.EACCES, errno.EROFS, errno.ENOSPC):
            raise
        return None


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file object whose content replaces ``path`` atomically on success.

    On Linux the data go to an anonymous file (``O_TMPFILE``) that the kernel
    deletes if the process dies; it is linked under a temporary name only
    after ``fsync``, and renamed over ``path`` right away. Elsewhere a named
    temporary file (see :func:`atomic_output`) is used. On any error,
    ``path`` keeps its old content and no temporary file remains.
    """
    path = Path(path)
    _check_target(path)
    fd = _anonymous(path.parent)
    if fd is None:
        with atomic_output(path, "") as tmp, open(tmp, "wb") as fh:
            yield fh
        return
    remove_stale(path)
    with os.fdopen(fd, "w+b") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        _pause("written", path)
        tmp = temporary_name(path)
        try:
            try:
                os.link(f"/proc/self/fd/{fh.fileno()}", tmp)
            except OSError:  # /proc without link support: copy into a named file
                fh.seek(0)
                with open(tmp, "xb") as out:
                    shutil.copyfileobj(fh, out)
                    out.flush()
                    os.fsync(out.fileno())
            _commit(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
