"""What an engine runs (:class:`Task`) and the interface every engine offers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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


class Executor(Protocol):
    """Runs tasks somewhere (local processes, a Dask cluster).

    ``run`` returns (results by task index, errors by task index). With ``on_error="raise"``
    the first failure cancels the remaining tasks and is raised. ``on_result(task,
    result)``, called in this process as results arrive, may transform a result (its
    return value is kept instead); ``on_done(task)`` is called as each task ends.
    """

    def run(
        self,
        tasks: Sequence[Task],
        *,
        on_result: Callable[[Task, Any], Any] | None = None,
        on_done: Callable[[Task], None] | None = None,
    ) -> tuple[dict[int, Any], dict[int, BaseException]]: ...
