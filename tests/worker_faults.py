"""Fault injection from outside the production code: stall or kill worker processes.

A *stalled slide* is a named pipe (FIFO) at a slide path. A worker that opens it blocks
in ``open`` until someone opens the pipe for writing, and then in ``read`` until data
comes, so it holds that slide and makes no progress: a hung worker. To kill the worker
holding it, :class:`KillWorkerOn` opens the writing end, finds the descendant process of
this test whose file descriptors include the pipe (Linux ``/proc``) and SIGKILLs it by pid.
Nothing in ``slidepatch`` knows about any of this.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from types import TracebackType

from slidepatch import PatchSet

#: Output files that show a slide is being written: patch images and tar shards.
OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".tar")


def descendants(pid: int | None = None) -> list[int]:
    """Live descendant pids of ``pid`` (default: this process), via /proc children lists."""
    todo = [os.getpid() if pid is None else pid]
    found: list[int] = []
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    kids = [int(p) for p in f.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def workers_left() -> list[int]:
    """Descendant pids other than multiprocessing's long-lived helpers (the resource
    tracker, the forkserver), which stay for the whole test session by design."""
    left: list[int] = []
    for pid in descendants():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline and b"forkserver" not in cmdline:
            left.append(pid)
    return left


def holders(path: Path, *, among: list[int] | None = None) -> list[int]:
    """The pids (descendants of this process by default) with ``path``'s inode open."""
    st = os.stat(path)
    pids: list[int] = []
    for pid in descendants() if among is None else among:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                fst = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if (fst.st_dev, fst.st_ino) == (st.st_dev, st.st_ino):
                pids.append(pid)
                break
    return pids


def stalled_copy(ps: PatchSet, folder: Path) -> PatchSet:
    """``ps`` with its slide replaced by a FIFO of the same file name in ``folder``: a
    worker that opens it hangs."""
    folder.mkdir(parents=True, exist_ok=True)
    fifo = folder / Path(ps.slide_path).name
    os.mkfifo(fifo)
    return PatchSet.from_patch_data(
        slide_path=fifo, level_or_mpp=ps.level_or_mpp, patch_data=ps.patch_data
    )


class _BackgroundKill:
    """Runs :meth:`_kill` in a background thread while the ``with`` block runs the pool;
    on a clean exit it re-raises the thread's error and checks that a worker was killed
    (:attr:`killed` is its pid)."""

    def __init__(self, *, timeout: float, what: str) -> None:
        self._timeout = timeout
        self._what = what
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.killed: int | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> _BackgroundKill:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._timeout + 5)
        if exc_type is None:
            if self.error is not None:
                raise self.error
            assert self.killed is not None, self._what

    def _run(self) -> None:
        try:
            self._kill()
        except BaseException as exc:
            self.error = exc

    def _kill(self) -> None:
        raise NotImplementedError


class KillWorkerOn(_BackgroundKill):
    """Wait for a worker to open the FIFO ``stalled.slide_path``, SIGKILL it, and (with
    ``then_restore``) put that real slide file in the FIFO's place so that a rerun (Dask)
    reads it."""

    def __init__(
        self, stalled: PatchSet, *, then_restore: str | None = None, timeout: float = 30
    ) -> None:
        super().__init__(timeout=timeout, what=f"no worker opened {stalled.slide_path}")
        self._fifo = Path(stalled.slide_path)
        self._restore = then_restore

    def _kill(self) -> None:
        deadline = time.monotonic() + self._timeout
        fd = None
        while fd is None:  # opening the writing end succeeds once a reader has it open
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            try:
                fd = os.open(self._fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                time.sleep(0.005)
        try:
            pids: list[int] = []
            while not pids and time.monotonic() < deadline:
                pids = holders(self._fifo)
                if not pids:
                    time.sleep(0.005)
            if not pids:
                return
            if self._restore is not None:  # a rerun must find the real slide
                tmp = self._fifo.with_name(self._fifo.name + ".restoring")
                shutil.copyfile(self._restore, tmp)
                os.replace(tmp, self._fifo)
            os.kill(pids[0], signal.SIGKILL)
            self.killed = pids[0]
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)


class KillAfterFirstFile(_BackgroundKill):
    """Kill the worker holding ``slide_path`` once it has written an image or a shard under
    ``out`` whose name starts with the slide's stem, and before it finishes (the worker runs in
    short slices, SIGCONT, a moment, SIGSTOP, while ``out`` is checked)."""

    def __init__(self, slide_path: str, out: Path, *, timeout: float = 60) -> None:
        super().__init__(timeout=timeout, what=f"no worker was caught midway in {slide_path}")
        self._slide = Path(slide_path)
        self._out = out

    def _kill(self) -> None:
        deadline = time.monotonic() + self._timeout
        pids: list[int] = []
        while not pids:
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            pids = holders(self._slide)
            if not pids:
                time.sleep(0.001)
        pid = pids[0]
        os.kill(pid, signal.SIGSTOP)
        try:
            while time.monotonic() < deadline:
                if _wrote(self._out, self._slide.stem):
                    os.kill(pid, signal.SIGKILL)
                    self.killed = pid
                    return
                os.kill(pid, signal.SIGCONT)
                time.sleep(0.0005)
                os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return
        finally:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)


def _wrote(out: Path, stem: str) -> bool:
    for _folder, _dirs, names in os.walk(out):
        if any(n.startswith(stem) and n.endswith(OUTPUT_SUFFIXES) for n in names):
            return True
    return False
