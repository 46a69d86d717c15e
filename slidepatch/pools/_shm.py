"""One shared-memory block per pool run: created and unlinked by the parent, attached by workers.

Lifecycle (why it is built this way):

* The parent creates a POSIX shared-memory segment, maps it with its own ``mmap`` and
  closes the ``SharedMemory`` handle at once. Result arrays are numpy views whose base is
  that ``mmap`` object, so the mapping lives exactly as long as any view does: views never
  dangle, and the memory is returned to the system when the last view is dropped.
* The segment's *name* is unlinked as soon as the workers are done (or on any error,
  Ctrl-C, or garbage collection), so nothing is left in ``/dev/shm`` even while views live.
* Workers attach by name without registering the segment with the resource tracker
  (registration in a child would unregister the parent's entry, or unlink the segment
  when the child exits).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import secrets
import sys
import weakref
from multiprocessing import shared_memory
from types import TracebackType

import numpy as np
import numpy.typing as npt

from slidepatch.errors import SlidepatchError
from slidepatch.extract.arena_sink import pwrite_all as pwrite_all  # re-exported


def _unlink_name(shm: shared_memory.SharedMemory) -> None:
    with contextlib.suppress(FileNotFoundError):
        shm.unlink()


class SharedBlock:
    """A shared byte block of ``size`` bytes, owned by the creating (parent) process."""

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self._buffer: mmap.mmap | bytearray
        self._finalizer: weakref.finalize[..., SharedBlock] | None = None
        if self.size == 0:
            self.name = ""
            self._buffer = bytearray(0)
            return
        _check_space(self.size)
        shm = _create_named(self.size)
        self.name = shm.name
        # From here on the name must be unlinked whatever happens to this object.
        self._finalizer = weakref.finalize(self, _unlink_name, shm)
        try:
            self._buffer = _own_mapping(shm, self.size)
        except BaseException:
            self.unlink()
            raise

    def array(self) -> npt.NDArray[np.uint8]:
        """The whole block as a flat uint8 array (a view; keeps the mapping alive)."""
        return np.frombuffer(self._buffer, dtype=np.uint8, count=self.size)

    @property
    def linked(self) -> bool:
        return self._finalizer is not None and self._finalizer.alive

    def unlink(self) -> None:
        """Remove the segment's name (idempotent); existing views stay valid."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> SharedBlock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlink()


NAME_PREFIX = "slidepatch_"

#: ``MADV_POPULATE_WRITE`` from <linux/mman.h> (Python exposes it only from 3.13 on).
MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)


def block_name_prefix(pid: int | None = None) -> str:
    """Names of blocks made by process ``pid`` start with this (so leaks are attributable)."""
    return f"{NAME_PREFIX}{os.getpid() if pid is None else pid}_"


def _create_named(size: int) -> shared_memory.SharedMemory:
    """A new segment named ``slidepatch_<pid>_<random>`` (31 characters at most, for macOS)."""
    for _ in range(100):
        name = block_name_prefix() + secrets.token_hex(4)
        try:
            return shared_memory.SharedMemory(name=name, create=True, size=size)
        except FileExistsError:
            continue
    raise FileExistsError("could not find a free shared-memory name")


def _own_mapping(shm: shared_memory.SharedMemory, size: int) -> mmap.mmap | bytearray:
    """Map the segment independently of ``shm`` so that ``shm`` can be closed right away."""
    fd = getattr(shm, "_fd", -1)
    if fd is None or fd < 0:  # Windows: no fd; keep the SharedMemory's own mapping alive
        return shm._mmap  # type: ignore[attr-defined,no-any-return]
    mapping = mmap.mmap(fd, size)
    shm.close()
    return mapping


def _check_space(size: int) -> None:
    """Fail early, with a clear message, when /dev/shm cannot hold the result.

    Writing past a full tmpfs kills the writer with SIGBUS, far from the cause.
    """
    if not os.path.isdir("/dev/shm"):
        return
    st = os.statvfs("/dev/shm")
    free = st.f_bavail * st.f_frsize
    if size > free:
        raise SlidepatchError(
            f"the result needs {size / 2**20:.1f} MiB of shared memory but /dev/shm has only "
            f"{free / 2**20:.1f} MiB free; enlarge /dev/shm (docker: --shm-size), extract "
            "fewer slides per pool, or use a disk pool"
        )


def open_block_for_writing(name: str) -> int | None:
    """A descriptor on block ``name`` where ``os.pwrite`` can fill it, else None.

    On Linux a POSIX shared-memory block is a tmpfs file, and a worker that writes its
    patches with ``pwrite`` from one warm buffer never maps the block: measured on the
    benchmark slides that is ~13 % faster than decoding into mapped, prefaulted pages
    (each newly mapped 4 KiB page costs a fault; see benchmarks/README.md). macOS shared
    memory cannot be written with ``write`` and Windows has no descriptor: they map.
    """
    if not sys.platform.startswith("linux") or not name:
        return None
    try:
        return _open_by_name(name)
    except OSError:
        return None


def _open_by_name(name: str) -> int:
    """A read-write descriptor on POSIX shared-memory block ``name`` (no resource tracking)."""
    import _posixshmem  # type: ignore[import-not-found]

    fd: int = _posixshmem.shm_open("/" + name.lstrip("/"), os.O_RDWR, mode=0o600)
    return fd


class AttachedBlock:
    """A worker's mapping of a parent's block, attached by name without resource tracking."""

    def __init__(self, *, name: str, size: int) -> None:
        self.size = int(size)
        self._mapping: mmap.mmap | None = None
        self._shm: shared_memory.SharedMemory | None = None
        if self.size == 0:
            return
        if sys.version_info >= (3, 13):
            self._shm = shared_memory.SharedMemory(name=name, track=False)
            self._mapping = self._shm._mmap  # type: ignore[attr-defined]
        elif os.name == "posix":
            fd = _open_by_name(name)
            try:
                self._mapping = mmap.mmap(fd, self.size)
            finally:
                os.close(fd)
        else:  # Windows: no resource tracker involved
            self._shm = shared_memory.SharedMemory(name=name)
            self._mapping = self._shm._mmap  # type: ignore[attr-defined]

    def array(self) -> npt.NDArray[np.uint8]:
        if self._mapping is None:
            return np.zeros(0, dtype=np.uint8)
        return np.frombuffer(self._mapping, dtype=np.uint8, count=self.size)

    def prefault(self, *, start: int, length: int) -> None:
        """Map the pages of ``[start, start + length)`` for writing in one system call.

        A worker writes every byte of its slice anyway; faulting its pages in bulk
        (``MADV_POPULATE_WRITE``, Linux 5.14+) costs about half of taking one page fault
        per 4 KiB while decoding. Elsewhere, or on older kernels, this does nothing.
        """
        if self._mapping is None or length <= 0:
            return
        first = start - start % mmap.PAGESIZE
        end = min(start + length, self.size)
        with contextlib.suppress(OSError, ValueError, OverflowError):
            self._mapping.madvise(MADV_POPULATE_WRITE, first, end - first)

    def close(self) -> None:
        """Detach (views still alive delay the unmapping until they are dropped)."""
        try:
            if self._shm is not None:
                self._shm.close()
            elif self._mapping is not None:
                self._mapping.close()
        except BufferError:
            # A view is still referenced (e.g. by an exception's traceback); the mapping
            # is unmapped when that last view is garbage-collected.
            pass
        self._shm = None
        self._mapping = None

    def __enter__(self) -> AttachedBlock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
