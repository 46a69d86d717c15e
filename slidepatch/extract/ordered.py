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


def read_ahead(results: Iterator[T], count: int) -> Iterator[T]:
    """Yield ``results`` in order, each once ``count`` later ones have arrived (or the end).

    The shards writer reads a sample's quality scores as it writes the sample; reading
    ahead lets a whole batch of them be scored at once (see
    :class:`~slidepatch.extract.qc_batch.QcBatch`). Closing this closes ``results``.
    """
    held: deque[T] = deque()
    try:
        for item in results:
            held.append(item)
            if len(held) > count:
                yield held.popleft()
        while held:
            yield held.popleft()
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
