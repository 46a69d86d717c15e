"""One worker process seen from its parent: its pipe, its job, its death."""

from __future__ import annotations

import contextlib
import multiprocessing.connection
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Generic, Protocol, TypeVar

from slidepatch.engine.failures import task_error, worker_died
from slidepatch.engine.messages import Done, Failed, Message
from slidepatch.engine.signals import sigint_ignored
from slidepatch.engine.worker import Handler, serve


class _Named(Protocol):
    """A job that names its slides (for the errors of the worker holding it)."""

    @property
    def slide_paths(self) -> tuple[str, ...]: ...


J = TypeVar("J", bound=_Named)


@dataclass
class WorkerProcess(Generic[J]):
    """A started worker (see :func:`~slidepatch.engine.worker.serve`) and the job it holds."""

    process: BaseProcess
    conn: Connection
    job: J | None = None

    @staticmethod
    def spawn_pair(
        ctx: BaseContext, make_handler: Callable[[], Handler[J]], *, name: str
    ) -> tuple[BaseProcess, Connection]:
        """Start a worker process under SIGINT-ignored; return it and the parent's pipe."""
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(  # type: ignore[attr-defined]
            target=serve, args=(child_conn, make_handler), daemon=True, name=name
        )
        with sigint_ignored():
            process.start()
        child_conn.close()
        return process, parent_conn

    def give(self, job: J) -> None:
        """Hand ``job`` to this idle worker. If the worker died, its sentinel fires next
        and the caller attributes the death to this job."""
        self.job = job
        with contextlib.suppress(OSError):
            self.conn.send(job)

    def receive(self) -> Message | None:
        """The worker's answer if one is complete, else None (also for a dead pipe)."""
        try:
            if not self.conn.poll():
                return None
            message: Message = self.conn.recv()
        except (EOFError, OSError):
            return None
        return message

    def has_died(self) -> bool:
        """True once the process is gone (joined, so that its exit code is known)."""
        if self.process.is_alive():
            return False
        self.process.join(timeout=5)
        return True

    def ending(
        self, *, doing: str, wrap: bool, name: str = "worker"
    ) -> Done[object] | BaseException | None:
        """How the job held ended, once known (the job is then released): its
        :class:`Done` message, its error naming its slides (see
        :func:`~slidepatch.engine.failures.task_error`), or, when the process died holding
        it, a WorkerDiedError naming them (the pipe is then closed; see :attr:`dead`).
        None while the job runs."""
        job = self.job
        if job is None:
            return None
        message = self.receive()
        if message is None and not self.has_died():
            return None  # woken by a message not yet complete
        self.job = None
        if isinstance(message, Done):
            return message
        if isinstance(message, Failed):
            return task_error(job.slide_paths, message.rebuild(), message.traceback, wrap=wrap)
        self.conn.close()
        return worker_died(
            job.slide_paths,
            pid=self.process.pid,
            exitcode=self.process.exitcode,
            doing=doing,
            worker=name,
        )

    @property
    def dead(self) -> bool:
        """True once :meth:`ending` found the process dead."""
        return self.conn.closed


class _Held(Protocol):
    """What waiting on and stopping a worker needs: its process, its pipe, its job."""

    @property
    def process(self) -> BaseProcess: ...

    @property
    def conn(self) -> Connection: ...

    @property
    def job(self) -> object: ...


W = TypeVar("W", bound=_Held)


def wait_any(workers: Sequence[W]) -> list[W]:
    """Block until one of the busy ``workers`` answers or dies; return those that did."""
    by_handle: dict[Connection | int, W] = {}
    for w in workers:
        if w.job is not None:
            by_handle[w.conn] = w
            by_handle[w.process.sentinel] = w
    ready = multiprocessing.connection.wait(list(by_handle))
    woken = [by_handle[h] for h in ready if isinstance(h, (Connection, int))]
    return list({id(w): w for w in woken}.values())


def stop_workers(workers: Sequence[_Held]) -> None:
    """Stop workers: an idle one is asked to exit (``None`` down its pipe), a busy one is
    terminated, and any still alive after 5 s is killed; their pipes are closed."""
    for w in workers:
        try:
            if w.job is not None:
                w.process.terminate()
            else:
                w.conn.send(None)
        except (OSError, ValueError):
            pass
    for w in workers:
        w.process.join(timeout=5)
        if w.process.is_alive():
            w.process.kill()
            w.process.join(timeout=5)
        w.conn.close()
