"""Run one task per slide (or chunk of slides) over worker processes, knowing who runs what.

A small hand-rolled pool instead of ``concurrent.futures``: each worker has its own pipe,
and the parent hands a task only to an idle worker, so when a worker process dies
(segfault, SIGKILL, OOM kill) the parent knows exactly which slides it held and says so
within moments, instead of a ``BrokenProcessPool`` that names nothing. Workers ignore
SIGINT (the parent owns Ctrl-C and terminates them) and exit when the parent dies.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

from slidepatch.errors import ExtractionError, SlideError, WorkerDiedError

OnError = Literal["raise", "skip"]
START_METHODS = ("fork", "forkserver", "spawn")


def check_start_method(value: object) -> str | None:
    """Validate a multiprocessing start method: one of START_METHODS, or None (default)."""
    if value is not None and value not in START_METHODS:
        raise ValueError(f"start_method must be one of {START_METHODS} or None, got {value!r}")
    return None if value is None else str(value)


@dataclass(frozen=True)
class Task:
    """A unit of work: ``func(payload)`` in a worker; ``slide_paths`` name it in errors."""

    index: int
    slide_paths: tuple[str, ...]
    func: Callable[[Any], Any]
    payload: Any


class _RemoteTraceback(Exception):
    """Carries a worker's formatted traceback as the ``__cause__`` of the re-raised error."""

    def __str__(self) -> str:
        return str(self.args[0])


def _portable_error(exc: BaseException) -> tuple[str, Any]:
    """An exception in a form that survives pickling (slidepatch errors pickle themselves)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ("text", f"{type(exc).__name__}: {exc}")
    return ("exc", exc)


def _rebuild_error(kind: str, data: Any) -> BaseException:
    if kind == "text":
        return RuntimeError(data)
    return data  # type: ignore[no-any-return]


def _exit_when_parent_dies(sentinel: int) -> None:
    """Watcher thread: a worker must not outlive its parent, even mid-task (SIGKILLed parent).

    Its unfinished slide leaves a journal that a resumed run cleans up.
    """
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _worker_main(conn: multiprocessing.connection.Connection) -> None:
    """Worker loop: receive a task, run it, send back ('ok', result) or ('error', ...)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    waitables: list[Any] = [conn]
    if parent is not None and parent.sentinel is not None:
        waitables.append(parent.sentinel)
        threading.Thread(
            target=_exit_when_parent_dies, args=(parent.sentinel,), daemon=True
        ).start()
    while True:
        ready = multiprocessing.connection.wait(waitables)
        if conn not in ready:
            return  # parent died
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            result = task.func(task.payload)
            message: tuple[Any, ...] = ("ok", result)
        except BaseException as exc:
            kind, data = _portable_error(exc)
            message = ("error", kind, data, traceback.format_exc())
        try:
            conn.send(message)
        except (OSError, EOFError):
            return


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    task: Task | None = None


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "died"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class ProcessRunner:
    """Run tasks over ``num_processes`` worker processes of the given start method."""

    def __init__(self, *, num_processes: int, start_method: str | None, on_error: OnError) -> None:
        self._ctx = multiprocessing.get_context(start_method)
        self._num_processes = num_processes
        self._on_error = on_error
        self._workers: list[_Worker] = []
        self._on_done: Callable[[Task], None] | None = None

    def _start_worker(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child_conn,), daemon=True, name="slidepatch-worker"
        )
        process.start()
        child_conn.close()
        worker = _Worker(process=process, conn=parent_conn)
        self._workers.append(worker)
        return worker

    def run(
        self, tasks: Sequence[Task], *, on_done: Callable[[Task], None] | None = None
    ) -> tuple[dict[int, Any], dict[int, BaseException]]:
        """Run every task; return (results by task index, errors by task index).

        With ``on_error="raise"`` the first failure terminates the workers and is raised.
        ``on_done(task)`` is called in this process as each task ends (progress bars).
        """
        self._on_done = on_done
        results: dict[int, Any] = {}
        failures: dict[int, BaseException] = {}
        if not tasks:
            return results, failures
        pending = deque(tasks)
        try:
            for _ in range(min(self._num_processes, len(tasks))):
                self._start_worker()
            for worker in self._workers:
                self._assign(worker, pending)
            while any(w.task is not None for w in self._workers):
                self._step(pending, results, failures)
        finally:
            self._shutdown()
        return results, failures

    def _assign(self, worker: _Worker, pending: deque[Task]) -> None:
        if pending:
            worker.task = pending.popleft()
            # If the worker died, its sentinel fires next and _worker_died names the task.
            with contextlib.suppress(OSError):
                worker.conn.send(worker.task)

    def _step(
        self,
        pending: deque[Task],
        results: dict[int, Any],
        failures: dict[int, BaseException],
    ) -> None:
        busy = [w for w in self._workers if w.task is not None]
        by_handle: dict[Any, _Worker] = {}
        for w in busy:
            by_handle[w.conn] = w
            by_handle[w.process.sentinel] = w
        ready = multiprocessing.connection.wait(list(by_handle))
        handled: set[int] = set()
        for handle in ready:
            worker = by_handle[handle]
            if id(worker) in handled or worker.task is None:
                continue
            handled.add(id(worker))
            task = worker.task
            message = receive(worker.conn)
            if message is None:
                self._worker_died(worker, task, pending, failures)
                continue
            worker.task = None
            if message[0] == "ok":
                results[task.index] = message[1]
            else:
                _, kind, data, tb = message
                error = _wrap_error(task, _rebuild_error(kind, data), tb)
                if self._on_error == "raise":
                    raise error
                failures[task.index] = error
            if self._on_done is not None:
                self._on_done(task)
            self._assign(worker, pending)

    def _worker_died(
        self,
        worker: _Worker,
        task: Task,
        pending: deque[Task],
        failures: dict[int, BaseException],
    ) -> None:
        worker.process.join(timeout=5)
        how = _describe_exit(worker.process.exitcode)
        names = ", ".join(task.slide_paths)
        error = WorkerDiedError(
            task.slide_paths[0] if len(task.slide_paths) == 1 else names,
            f"the worker process (pid {worker.process.pid}) {how} while extracting "
            + ("this slide" if len(task.slide_paths) == 1 else "these slides")
            + " (a crashing decoder, the OOM killer, or a full /dev/shm can cause this)",
        )
        worker.task = None
        worker.conn.close()
        self._workers.remove(worker)
        if self._on_error == "raise":
            raise error
        failures[task.index] = error
        if self._on_done is not None:
            self._on_done(task)
        if pending:
            self._assign(self._start_worker(), pending)

    def _shutdown(self) -> None:
        stop_workers([(w.process, w.conn, w.task is not None) for w in self._workers])
        self._workers = []


def receive(conn: Connection) -> Any:
    """The worker's next message if one is complete, else None (also for a dead pipe)."""
    if not conn.poll():
        return None
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def stop_workers(workers: Sequence[tuple[Any, Connection, bool]]) -> None:
    """Stop worker processes given as (process, pipe, busy): an idle one is asked to exit
    (``None`` down its pipe), a busy one is terminated, and any still alive after 5 s is
    killed; their pipes are closed."""
    for process, conn, busy in workers:
        try:
            if busy:
                process.terminate()
            else:
                conn.send(None)
        except (OSError, ValueError):
            pass
    for process, conn, _busy in workers:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
        conn.close()


def _wrap_error(task: Task, error: BaseException, tb: str) -> BaseException:
    """Errors that name their slide pass unchanged; others are wrapped in ExtractionError."""
    error.__cause__ = _RemoteTraceback(tb)
    if isinstance(error, SlideError):
        return error
    wrapped = ExtractionError(
        ", ".join(task.slide_paths), f"extraction failed: {type(error).__name__}: {error}"
    )
    wrapped.__cause__ = error
    return wrapped
