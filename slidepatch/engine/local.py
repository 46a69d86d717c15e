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
from collections.abc import Generator, Sequence
from typing import TypeVar, cast

from slidepatch.engine.executor import Executor, RunPolicy, Task
from slidepatch.engine.messages import Done
from slidepatch.engine.process import WorkerProcess, stop_workers, wait_any

P = TypeVar("P")
R = TypeVar("R")


class RunTasks:
    """The worker-side handler: ``task.func(task.payload)``."""

    def __call__(self, task: Task[P, R]) -> R:
        return task.func(task.payload)

    def close(self) -> None:
        pass


class ProcessRunner(Executor):
    """Run tasks over ``num_processes`` worker processes of the given start method (an
    :class:`~slidepatch.engine.executor.Executor`); a dead worker is replaced."""

    def __init__(self, *, num_processes: int, start_method: str | None = None) -> None:
        self._ctx = multiprocessing.get_context(start_method)
        self._num_processes = num_processes

    def _outcomes(
        self, tasks: Sequence[Task[P, R]], policy: RunPolicy
    ) -> Generator[tuple[Task[P, R], Done[R] | BaseException], None, None]:
        pending = deque(tasks)
        workers: list[WorkerProcess[Task[P, R]]] = []
        try:
            for _ in range(min(self._num_processes, len(tasks))):
                workers.append(self._start_worker())
            for worker in workers:
                _assign(worker, pending)
            while any(w.job is not None for w in workers):
                for worker in wait_any(workers):
                    task = worker.job
                    outcome = worker.ending(doing=policy.doing, wrap=policy.wrap_errors)
                    if task is None or outcome is None:
                        continue
                    if worker.dead:
                        workers.remove(worker)
                    yield task, cast("Done[R] | BaseException", outcome)  # ran task.func
                    if not worker.dead:
                        _assign(worker, pending)
                    elif pending:
                        workers.append(self._start_worker())
                        _assign(workers[-1], pending)
        finally:
            stop_workers(workers)

    def _start_worker(self) -> WorkerProcess[Task[P, R]]:
        process, conn = WorkerProcess.spawn_pair(self._ctx, RunTasks, name="slidepatch-worker")
        return WorkerProcess(process=process, conn=conn)


def _assign(worker: WorkerProcess[Task[P, R]], pending: deque[Task[P, R]]) -> None:
    if pending:
        worker.give(pending.popleft())
