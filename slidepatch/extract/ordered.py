"""Run tasks on a thread pool and yield their results in submission order, with bounded
read-ahead: at most ``window`` tasks are pending, so memory does not grow with the slide
and a slow consumer slows the readers down (back-pressure).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_ordered(tasks: Iterable[Callable[[], T]], *, num_workers: int, window: int) -> Iterator[T]:
    """Yield ``task()`` for each task, in order; errors surface at their position.

    Closing the iterator early cancels the tasks not yet started and waits for the rest.
    """
    window = max(1, window)
    it = iter(tasks)
    with ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="slidepatch") as ex:
        pending: deque[Future[T]] = deque()
        try:
            for task in it:
                pending.append(ex.submit(task))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()
