"""Run one task per slide (or chunk of slides) over local worker processes.

A small pool instead of ``concurrent.futures``: each worker has its own pipe and the
parent hands a task only to an idle worker, so when a worker process dies (segfault,
SIGKILL, OOM kill) the parent knows exactly which slides it held and says so within
moments, instead of a ``BrokenProcessPool`` that names nothing. Every start method works;
Ctrl-C follows :mod:`~slidepatch.engine.signals`.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from slidepatch.engine.executor import OnError, Task
from slidepatch.engine.failures import task_error, worker_died
from slidepatch.engine.messages import Done, Failed, Message
from slidepatch.engine.process import WorkerProcess, stop_workers, wait_any


class RunTasks:
    """The worker-side handler: ``task.func(task.payload)``."""

    def __call__(self, task: Task) -> Any:
        return task.func(task.payload)

    def close(self) -> None:
        pass


class ProcessRunner:
    """Run tasks over ``num_processes`` worker processes of the given start method.

    ``doing`` names the work in a dead worker's error ("while extracting this slide");
    with ``wrap_errors`` a task's error that does not name its slide becomes an
    ExtractionError that does, otherwise it is raised as the worker raised it.
    """

    def __init__(
        self,
        *,
        num_processes: int,
        start_method: str | None,
        on_error: OnError,
        doing: str = "extracting",
        wrap_errors: bool = True,
    ) -> None:
        self._ctx = multiprocessing.get_context(start_method)
        self._num_processes = num_processes
        self._on_error = on_error
        self._doing = doing
        self._wrap_errors = wrap_errors
        self._workers: list[WorkerProcess[Task]] = []

    def run(
        self,
        tasks: Sequence[Task],
        *,
        on_result: Callable[[Task, Any], Any] | None = None,
        on_done: Callable[[Task], None] | None = None,
    ) -> tuple[dict[int, Any], dict[int, BaseException]]:
        """Run every task (see :class:`~slidepatch.engine.executor.Executor`)."""
        results: dict[int, Any] = {}
        failures: dict[int, BaseException] = {}
        if not tasks:
            return results, failures
        pending = deque(tasks)
        try:
            for _ in range(min(self._num_processes, len(tasks))):
                self._start_worker()
            for worker in list(self._workers):
                self._assign(worker, pending)
            while any(w.job is not None for w in self._workers):
                for worker in wait_any(self._workers):
                    task = worker.job
                    if task is None:
                        continue
                    message = worker.receive()
                    if message is None and not worker.has_died():
                        continue  # woken by a message not yet complete
                    worker.job = None
                    failure = self._outcome(worker, task, message, results, on_result)
                    if failure is not None:
                        if self._on_error == "raise":
                            raise failure
                        failures[task.index] = failure
                    if on_done is not None:
                        on_done(task)
                    if message is not None:
                        self._assign(worker, pending)
                    elif pending:
                        self._assign(self._start_worker(), pending)
        finally:
            stop_workers(self._workers)
            self._workers = []
        return results, failures

    def _outcome(
        self,
        worker: WorkerProcess[Task],
        task: Task,
        message: Message | None,
        results: dict[int, Any],
        on_result: Callable[[Task, Any], Any] | None,
    ) -> BaseException | None:
        """Store a finished task's result; return its error instead (None: no message, the
        worker died holding it)."""
        if isinstance(message, Done):
            result = message.result
            results[task.index] = result if on_result is None else on_result(task, result)
            return None
        if isinstance(message, Failed):
            error = message.rebuild()
            return task_error(task.slide_paths, error, message.traceback, wrap=self._wrap_errors)
        worker.conn.close()
        self._workers.remove(worker)
        return worker_died(
            task.slide_paths,
            pid=worker.process.pid,
            exitcode=worker.process.exitcode,
            doing=self._doing,
        )

    def _start_worker(self) -> WorkerProcess[Task]:
        process, conn = WorkerProcess.spawn_pair(self._ctx, RunTasks, name="slidepatch-worker")
        worker: WorkerProcess[Task] = WorkerProcess(process=process, conn=conn)
        self._workers.append(worker)
        return worker

    @staticmethod
    def _assign(worker: WorkerProcess[Task], pending: deque[Task]) -> None:
        if pending:
            worker.give(pending.popleft())
