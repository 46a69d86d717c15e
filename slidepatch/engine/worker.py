"""The worker side, shared by every engine user: receive a job, handle it, answer.

A worker is given a :class:`Handler` factory (picklable: a class or a module-level
function) so that it can set up once (attach shared memory, keep slides open) and then
handle many jobs. It ignores SIGINT (see :mod:`~slidepatch.engine.signals`) and exits as
soon as its parent dies, even in the middle of a job (a watcher thread on the parent's
sentinel): an unfinished slide leaves a journal that a resumed run cleans up.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Protocol, TypeVar

from slidepatch.engine.messages import Done, Failed

J = TypeVar("J")
J_contra = TypeVar("J_contra", contravariant=True)
R = TypeVar("R")


class Handler(Protocol[J_contra]):
    """Handles one job after another in a worker; ``close`` when the worker stops."""

    def __call__(self, job: J_contra, /) -> object: ...

    def close(self) -> None: ...


def _exit_when_parent_dies(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def answer(handler: Callable[[J], R], job: J) -> Done[R] | Failed:
    """Run one job: :class:`Done` with its result, or :class:`Failed` with its error."""
    try:
        return Done(result=handler(job), pid=os.getpid())
    except BaseException as exc:
        return Failed.of(exc, traceback.format_exc())


def serve(conn: Connection, make_handler: Callable[[], Handler[J]]) -> None:
    """Worker loop: each job received is answered with :class:`Done` or :class:`Failed`;
    ``None`` (or a closed pipe, or a dead parent) ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    waitables: list[Connection | int] = [conn]
    if parent is not None and parent.sentinel is not None:
        waitables.append(parent.sentinel)
        threading.Thread(
            target=_exit_when_parent_dies, args=(parent.sentinel,), daemon=True
        ).start()
    handler = make_handler()
    try:
        while True:
            if conn not in multiprocessing.connection.wait(waitables):
                return  # parent died
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            message = answer(handler, job)
            try:
                conn.send(message)
            except (OSError, EOFError):
                return
    finally:
        handler.close()
