"""Run chunks of work on a few threads that pull from one shared iterator.

Used where results need no ordering on the way (they land in caller-owned slots): unlike
one future per chunk and a caller waiting on each in turn, it costs nothing per chunk
beyond taking the next start from the iterator, and the calling thread sleeps once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_on_threads(work: Callable[[int], None], starts: range, *, num_workers: int) -> None:
    """Run ``work(start)`` for every start on ``num_workers`` threads; raise the first error.

    Each thread takes the next start from the shared iterator; after an error the
    threads stop taking new ones. With one worker (or one start) the calling thread
    does the work itself.
    """
    num_workers = min(num_workers, len(starts))
    if num_workers <= 1:
        for start in starts:
            work(start)
        return
    pending = iter(starts)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def loop() -> None:
        while not errors:
            with lock:
                start = next(pending, None)
            if start is None:
                return
            try:
                work(start)
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [
        threading.Thread(target=loop, name=f"slidepatch-worker-{i}", daemon=True)
        for i in range(num_workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
