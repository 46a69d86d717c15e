"""Run tasks on threads with their results taken in submission order, with bounded
read-ahead: at most ``window`` tasks are pending, so memory does not grow with the slide
and a slow consumer slows the readers down (back-pressure). :func:`run_ordered` yields
the results to the caller; :func:`run_in_order` has the workers commit them in turn.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

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


def run_in_order(
    work: Callable[[int], T],
    count: int,
    *,
    commit: Callable[[int, T], None],
    num_workers: int,
    window: int,
    hold: int = 0,
    ready: Callable[[T], bool] | None = None,
) -> None:
    """Run ``work(i)`` for ``i`` in ``range(count)`` on ``num_workers`` threads and
    ``commit(i, result)`` in order of ``i``, one commit at a time, each once the ``hold``
    results after it are in (or all are), or sooner once ``ready(result)``; raise the
    first error in order of ``i``.

    No consumer thread: whichever worker completes the next result to commit commits it
    (and any ready after it), so a result is written by the thread that made it, with no
    future, queue or wake-up per task. At most ``window`` results wait uncommitted
    (back-pressure; raised to ``hold + num_workers`` if smaller). With one worker the
    calling thread does everything. Every thread has stopped when this returns or raises.
    """
    if num_workers <= 1 or count <= 1:
        held: deque[tuple[int, T]] = deque()
        for i in range(count):
            held.append((i, work(i)))
            while held and (len(held) > hold or (ready is not None and ready(held[0][1]))):
                commit(*held.popleft())
        while held:
            commit(*held.popleft())
        return
    _InOrder(
        work, count, commit, window=max(window, hold + num_workers), hold=hold, ready=ready
    ).run(min(num_workers, count))


class _InOrder(Generic[T]):
    """The threads of :func:`run_in_order` and their shared state (under one condition)."""

    def __init__(
        self,
        work: Callable[[int], T],
        count: int,
        commit: Callable[[int, T], None],
        *,
        window: int,
        hold: int,
        ready: Callable[[T], bool] | None,
    ) -> None:
        self._work, self._count, self._commit = work, count, commit
        self._window, self._hold, self._ready = window, hold, ready
        self._cond = threading.Condition()
        self._next_take = 0  # the next index a worker takes
        self._next_commit = 0  # the next index to commit
        self._frontier = 0  # the first index without a result
        self._done: dict[int, T] = {}  # results not yet committed
        self._errors: dict[int, BaseException] = {}
        self._committing = False  # a thread is committing
        self._stop = False

    def run(self, threads: int) -> None:
        workers = [
            threading.Thread(target=self._loop, name=f"slidepatch-ordered-{k}", daemon=True)
            for k in range(threads)
        ]
        for thread in workers:
            thread.start()
        try:
            for thread in workers:
                thread.join()
        except BaseException:  # Ctrl-C: stop the workers, and wait, before the caller undoes
            with self._cond:
                self._stop = True
                self._cond.notify_all()
            for thread in workers:
                thread.join()
            raise
        if self._errors:
            raise self._errors[min(self._errors)]
        assert self._next_commit == self._count, "every result committed"

    def _loop(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._stop and self._next_take >= self._next_commit + self._window:
                    cond.wait()
                if self._stop or self._next_take >= self._count:
                    return
                i = self._next_take
                self._next_take += 1
            try:
                result = self._work(i)
            except BaseException as exc:
                self._fail(i, exc)
                return
            with cond:
                self._done[i] = result
                while self._frontier in self._done:
                    self._frontier += 1
                if self._committing:
                    continue  # the committing thread takes it from here
                self._committing = True
            if not self._commit_ready():
                return

    def _commit_ready(self) -> bool:
        """Commit what is ready, in order; False after an error."""
        cond = self._cond
        while True:
            with cond:
                j, frontier = self._next_commit, self._frontier
                ready = j < frontier and (
                    frontier > j + self._hold
                    or frontier == self._count
                    or (self._ready is not None and self._ready(self._done[j]))
                )
                if self._stop or not ready:
                    self._committing = False
                    return not self._stop
                result = self._done.pop(j)
            try:
                self._commit(j, result)
            except BaseException as exc:
                with cond:
                    self._committing = False
                self._fail(j, exc)
                return False
            with cond:
                self._next_commit += 1
                cond.notify_all()  # a worker may wait for the window to move

    def _fail(self, index: int, exc: BaseException) -> None:
        with self._cond:
            self._errors[index] = exc
            self._stop = True
            self._cond.notify_all()
