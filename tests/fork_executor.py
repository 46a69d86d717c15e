"""A test-only :class:`~slidepatch.engine.Executor`: each task in its own forked process,
one task after another.

It is written against the executor interface only (the shared run loop of
:class:`~slidepatch.engine.Executor` and the :class:`~slidepatch.engine.messages.Done`
message), not the engine's worker processes, so that a pool running on it shows the pool
depends on the interface alone. It can kill the process of a chosen slide's task by pid
before the task starts, keep its workers off this machine's shared memory
(``shares_memory=False``: results must carry the data, as on Dask), and run a task again
after its process died (``attempts``, as Dask's allowed failures).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections.abc import Collection, Generator, Sequence
from multiprocessing.connection import Connection
from typing import Any

from slidepatch.engine import Executor, RunPolicy, Task
from slidepatch.engine.messages import Done
from slidepatch.errors import ExtractionError, WorkerDiedError


def _child(conn: Connection, task: Task[Any, Any]) -> None:
    """Wait for the go, run the task, send ``("done", result)`` or ``("error", exc, tb)``."""
    if conn.recv() != "go":
        return
    try:
        result = task.func(task.payload)
    except Exception as exc:
        conn.send(("error", exc, traceback.format_exc()))
        return
    conn.send(("done", result))


class ForkPerTask(Executor):
    """Tasks one by one, each in a fresh forked process.

    ``kill``: slide paths whose task's process is SIGKILLed (by pid, before it runs) on its
    first attempt. ``killed`` lists the pids killed so far, ``ran`` the task indices
    started (reruns included), ``funcs`` the name of each task's function.
    """

    def __init__(
        self, *, kill: Collection[str] = (), shares_memory: bool = True, attempts: int = 1
    ) -> None:
        self._kill = set(kill)
        self._attempts = attempts
        self.shares_memory = shares_memory
        self.reruns_tasks = attempts > 1
        self.killed: list[int] = []
        self.ran: list[int] = []
        self.funcs: list[str] = []

    def _outcomes(
        self, tasks: Sequence[Task[Any, Any]], policy: RunPolicy
    ) -> Generator[tuple[Task[Any, Any], Done[Any] | BaseException], None, None]:
        for task in tasks:
            yield task, self._run_one(task, policy)

    def _run_one(self, task: Task[Any, Any], policy: RunPolicy) -> Done[Any] | BaseException:
        ctx = multiprocessing.get_context("fork")
        for attempt in range(self._attempts):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_child, args=(child, task), daemon=True)
            process.start()
            child.close()
            self.ran.append(task.index)
            self.funcs.append(getattr(task.func, "__name__", type(task.func).__name__))
            try:
                if attempt == 0 and self._kill.intersection(task.slide_paths):
                    assert process.pid is not None
                    os.kill(process.pid, signal.SIGKILL)
                    self.killed.append(process.pid)
                else:
                    parent.send("go")
                try:
                    answer = parent.recv()
                except EOFError:
                    continue  # the process died: run the task again, if attempts are left
                if answer[0] == "done":
                    return Done(result=answer[1], pid=process.pid or 0)
                error: BaseException = answer[1]
                if policy.wrap_errors and not hasattr(error, "path"):
                    wrapped = ExtractionError(", ".join(task.slide_paths), str(error))
                    wrapped.__cause__ = error
                    return wrapped
                return error
            finally:
                process.join(timeout=10)
                parent.close()
        return WorkerDiedError(
            ", ".join(task.slide_paths),
            f"the test executor's process died {self._attempts} time(s) running this task",
        )
