"""Write a file so that it appears under its final name complete or not at all.

On Linux the bytes go into an unnamed file (``O_TMPFILE``) in the target directory, which
``linkat`` then gives its name: a crash at any moment leaves nothing, not even a temporary
name, and it is measured about 3 x faster per file than creating a temporary name and
renaming it (one directory operation instead of two; ext4, 2 processes x 2 threads,
169 KB files). Elsewhere, or where the file system refuses ``O_TMPFILE``, the bytes go to
a temporary name beside the target (``.<name>.<8 hex>.tmp``) that is renamed into place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from slidepatch.errors import OutputError

_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400
_IOV_MAX = 1024  # pieces per writev (Linux's limit)


def write_atomically(path: str, data: bytes, *, exclusive: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring).

    With ``exclusive`` an existing ``path`` is an error (manifests are never overwritten);
    without, an existing file is replaced.
    """
    if exclusive and os.path.exists(path):
        raise OutputError(f"{path} already exists")
    if not _write_unnamed_then_link(path, data):
        _write_temporary_then_rename(path, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_unnamed_then_link(path: str, data: bytes) -> bool:
    """Write through ``O_TMPFILE`` and link it as ``path``; False where that cannot work
    (no ``O_TMPFILE``, a file system without it, no /proc, or ``path`` already exists)."""
    linkat = _linkat()
    flag = getattr(os, "O_TMPFILE", 0)
    if linkat is None or not flag:
        return False
    try:
        fd = os.open(os.path.dirname(path) or ".", flag | os.O_WRONLY, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return False  # the file system (or kernel) has no unnamed files
        raise
    try:
        _write_all(fd, data)
        source = f"/proc/self/fd/{fd}".encode()
        if linkat(_AT_FDCWD, source, _AT_FDCWD, os.fsencode(path), _AT_SYMLINK_FOLLOW) == 0:
            return True
        code = ctypes.get_errno()
        if code in (errno.EEXIST, errno.ENOENT, errno.EXDEV, errno.EPERM, errno.ENOSYS):
            return False  # replace an existing file, or no usable /proc: the rename path
        raise OSError(code, os.strerror(code), path)
    finally:
        os.close(fd)  # an unlinked unnamed file vanishes here


def _write_temporary_then_rename(path: str, data: bytes) -> None:
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@functools.cache
def _linkat() -> Any:
    """libc's ``linkat`` on Linux (Python's os.link cannot follow /proc/self/fd links)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.linkat
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


class AtomicFile:
    """A file written in pieces that appears under ``path`` only on :meth:`commit`.

    The streaming form of :func:`write_atomically`, for files too large to hold in memory
    (tar shards): the bytes go into an unnamed file linked in by ``commit`` on Linux, else
    into ``.<name>.<8 hex>.tmp`` renamed by ``commit``. ``abort`` (or a crash) leaves no
    file under ``path``. ``path`` must not exist yet.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._tmp: str | None = None
        self._size = 0
        flag = getattr(os, "O_TMPFILE", 0)
        fd = -1
        if _linkat() is not None and flag:
            try:
                fd = os.open(os.path.dirname(path) or ".", flag | os.O_RDWR, 0o666)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                    raise
        if fd < 0:
            directory, name = os.path.split(path)
            self._tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(self._tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        self._fd: int | None = fd

    @property
    def size(self) -> int:
        """Bytes written so far (the offset of the next byte)."""
        return self._size

    def write(self, data: bytes | memoryview) -> None:
        assert self._fd is not None, "write after commit/abort"
        _write_all(self._fd, bytes(data) if isinstance(data, memoryview) else data)
        self._size += len(data)

    def writev(self, pieces: Sequence[bytes]) -> None:
        """Append ``pieces`` in order, with as few system calls as the kernel allows."""
        assert self._fd is not None, "write after commit/abort"
        for start in range(0, len(pieces), _IOV_MAX):
            chunk = pieces[start : start + _IOV_MAX]
            done = os.writev(self._fd, chunk)
            for piece in chunk:  # after a short write (rare for a regular file), the rest
                if done >= len(piece):
                    done -= len(piece)
                    continue
                _write_all(self._fd, piece[done:])
                done = 0
            self._size += sum(len(p) for p in chunk)

    def commit(self) -> None:
        """Give the file its name (an existing ``path`` is an error)."""
        assert self._fd is not None, "commit after commit/abort"
        fd, self._fd = self._fd, None
        try:
            if self._tmp is None:
                linkat = _linkat()
                source = f"/proc/self/fd/{fd}".encode()
                target = os.fsencode(self._path)
                if linkat(_AT_FDCWD, source, _AT_FDCWD, target, _AT_SYMLINK_FOLLOW) != 0:
                    code = ctypes.get_errno()
                    if code == errno.EEXIST:
                        raise OutputError(f"{self._path} already exists")
                    self._copy_to_temporary(fd)  # no usable /proc: copy, then rename
            if self._tmp is not None:
                if os.path.exists(self._path):
                    raise OutputError(f"{self._path} already exists")
                os.replace(self._tmp, self._path)
                self._tmp = None
        finally:
            os.close(fd)
            self._drop_temporary()

    def abort(self) -> None:
        """Forget the bytes; nothing appears under ``path``."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._drop_temporary()

    def _copy_to_temporary(self, fd: int) -> None:
        directory, name = os.path.split(self._path)
        self._tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        out = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            offset = 0
            while chunk := os.pread(fd, 1 << 20, offset):
                _write_all(out, chunk)
                offset += len(chunk)
        finally:
            os.close(out)

    def _drop_temporary(self) -> None:
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None
