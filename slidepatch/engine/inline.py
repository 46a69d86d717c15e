"""Run tasks one after another in this process: no worker to start when one would do."""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from typing import TypeVar

from slidepatch.engine.executor import Executor, RunPolicy, Task
from slidepatch.engine.failures import named_error
from slidepatch.engine.messages import Done

P = TypeVar("P")
R = TypeVar("R")


class InProcessRunner(Executor):
    """An :class:`~slidepatch.engine.executor.Executor` that runs each task here, in order.

    Errors keep their own traceback (nothing crossed a process); Ctrl-C and other
    ``BaseException`` s that are not ``Exception`` s stop the run as they would any code.
    """

    def _outcomes(
        self, tasks: Sequence[Task[P, R]], policy: RunPolicy
    ) -> Generator[tuple[Task[P, R], Done[R] | BaseException], None, None]:
        for task in tasks:
            try:
                result = task.func(task.payload)
            except Exception as exc:
                yield task, named_error(task.slide_paths, exc) if policy.wrap_errors else exc
                continue
            yield task, Done(result=result, pid=os.getpid())
