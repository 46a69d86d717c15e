"""What an engine runs (:class:`Task`), how a run treats failures (:class:`RunPolicy`), and
the interface every engine offers, with the run loop they share (:class:`Executor`)."""

from __future__ import annotations

import abc
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, overload

from slidepatch.engine.messages import Done

OnError = Literal["raise", "skip"]
START_METHODS = ("fork", "forkserver", "spawn")

P = TypeVar("P")
R = TypeVar("R")
T = TypeVar("T")

#: What a run returns: results by task index, errors by task index.
Outcomes = tuple[dict[int, R], dict[int, BaseException]]


def check_start_method(value: object) -> str | None:
    """Validate a multiprocessing start method: one of START_METHODS, or None (default)."""
    if value is not None and value not in START_METHODS:
        raise ValueError(f"start_method must be one of {START_METHODS} or None, got {value!r}")
    return None if value is None else str(value)


@dataclass(frozen=True)
class Task(Generic[P, R]):
    """A unit of work: ``func(payload)`` in a worker; ``slide_paths`` name it in errors.

    ``func`` must be picklable (a module-level function or a ``functools.partial`` of one),
    and so must ``payload`` and the result.
    """

    index: int
    slide_paths: tuple[str, ...]
    func: Callable[[P], R]
    payload: P


@dataclass(frozen=True)
class RunPolicy:
    """How one run treats failures.

    ``on_error="raise"``: the first failure cancels the remaining tasks and is raised;
    ``"skip"``: failures are returned by task. ``doing`` names the work in a dead worker's
    error ("while locating this slide"). With ``wrap_errors`` a task's error that does not
    name its slide becomes an ExtractionError that does; otherwise it comes back as raised.
    """

    on_error: OnError = "raise"
    doing: str = "extracting"
    wrap_errors: bool = True


class Executor(abc.ABC):
    """Runs tasks somewhere: local processes, this process, a Dask cluster, or anything a
    subclass writes.

    ``run`` returns (results by task index, errors by task index), following ``policy``.
    ``on_result(task, result)``, called in this process as results arrive, may transform
    a result (its return value is kept instead); ``on_done(task)`` is called as each task
    ends, failed or not.

    Two attributes tell a caller how to shape its tasks: ``shares_memory`` (workers can
    attach this machine's shared memory by name; if not, results must carry the data) and
    ``reruns_tasks`` (a task may run again after its worker died, so a task that writes
    files must be safe to run twice).

    The run loop is shared; a subclass only says how tasks end, in :meth:`_outcomes`: a
    generator that yields each task with its :class:`~slidepatch.engine.messages.Done`
    message, or with the error the caller sees (already attributed to its slides), as tasks
    finish. When the run stops early (the first error under ``on_error="raise"``, Ctrl-C,
    an error in a callback) the generator is closed, and its ``finally`` stops whatever
    still runs.
    """

    shares_memory: bool = True  # as above; a subclass (or an instance) may say otherwise
    reruns_tasks: bool = False

    @overload
    def run(
        self,
        tasks: Sequence[Task[P, R]],
        *,
        policy: RunPolicy = ...,
        on_result: None = None,
        on_done: Callable[[Task[P, R]], None] | None = None,
    ) -> Outcomes[R]: ...

    @overload
    def run(
        self,
        tasks: Sequence[Task[P, R]],
        *,
        policy: RunPolicy = ...,
        on_result: Callable[[Task[P, R], R], T],
        on_done: Callable[[Task[P, R]], None] | None = None,
    ) -> Outcomes[T]: ...

    def run(  # type: ignore[misc]  # results are R or T, by on_result: overloads say which
        self,
        tasks: Sequence[Task[P, R]],
        *,
        policy: RunPolicy = RunPolicy(),
        on_result: Callable[[Task[P, R], R], object] | None = None,
        on_done: Callable[[Task[P, R]], None] | None = None,
    ) -> Outcomes[object]:
        """Run every task (see :class:`Executor`)."""
        results: dict[int, object] = {}
        failures: dict[int, BaseException] = {}
        if not tasks:
            return results, failures
        outcomes = self._outcomes(tasks, policy)
        try:
            for task, outcome in outcomes:
                if isinstance(outcome, BaseException):
                    if policy.on_error == "raise":
                        raise outcome
                    failures[task.index] = outcome
                else:
                    result = outcome.result
                    results[task.index] = result if on_result is None else on_result(task, result)
                if on_done is not None:
                    on_done(task)
        finally:
            outcomes.close()
        return results, failures

    @abc.abstractmethod
    def _outcomes(
        self, tasks: Sequence[Task[P, R]], policy: RunPolicy
    ) -> Generator[tuple[Task[P, R], Done[R] | BaseException], None, None]:
        """Each task with its result message or its error, as tasks finish (a generator)."""
