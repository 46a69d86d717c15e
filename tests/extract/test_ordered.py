"""run_in_order: results committed in order, one at a time, with hold-back and a bound."""

from __future__ import annotations

import threading
import time

import pytest

from slidepatch.extract.ordered import run_in_order


@pytest.mark.parametrize("workers", [1, 2, 4])
@pytest.mark.parametrize("hold", [0, 3])
def test_commits_every_result_in_order_one_at_a_time(workers: int, hold: int) -> None:
    done: set[int] = set()
    committed: list[int] = []
    busy = threading.Lock()
    lock = threading.Lock()
    uncommitted_max = 0

    def work(i: int) -> int:
        time.sleep(0.0005 * ((i * 7) % 5))  # results finish out of order
        with lock:
            done.add(i)
        return i * i

    def commit(i: int, result: int) -> None:
        nonlocal uncommitted_max
        assert busy.acquire(blocking=False), "two commits at once"
        try:
            assert result == i * i
            with lock:
                # held back until the `hold` results after it are in (or all are)
                assert all(k in done for k in range(i + 1, min(i + 1 + hold, 60)))
                uncommitted_max = max(uncommitted_max, len(done) - len(committed))
            committed.append(i)
        finally:
            busy.release()

    run_in_order(work, 60, commit=commit, num_workers=workers, window=8, hold=hold)
    assert committed == list(range(60))
    assert uncommitted_max <= max(8, hold + workers) + 1  # the window bounds what waits


def test_workers_commit_and_one_worker_runs_inline() -> None:
    names: set[str] = set()

    def commit(i: int, result: None) -> None:
        names.add(threading.current_thread().name)

    run_in_order(lambda i: None, 20, commit=commit, num_workers=1, window=4)
    assert names == {threading.current_thread().name}
    names.clear()
    run_in_order(lambda i: None, 20, commit=commit, num_workers=3, window=4)
    assert names and threading.current_thread().name not in names


@pytest.mark.parametrize("workers", [1, 3])
def test_the_first_error_in_order_is_raised_after_every_thread_stopped(workers: int) -> None:
    committed: list[int] = []
    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        if i in (7, 9):
            time.sleep(0.01 if i == 7 else 0)  # 9 fails first in time, 7 first in order
            raise ValueError(f"patch {i}")
        return i

    with pytest.raises(ValueError, match="patch 7"):
        run_in_order(
            work, 100, commit=lambda i, r: committed.append(i), num_workers=workers, window=4
        )
    assert committed == list(range(len(committed))) and len(committed) <= 7
    assert max(started) < 7 + 4 + workers  # no work taken far past the error
    assert [t for t in threading.enumerate() if t.name.startswith("slidepatch-ordered")] == []


def test_a_commit_error_stops_the_run() -> None:
    def commit(i: int, result: int) -> None:
        if i == 5:
            raise OSError("disk full")

    taken: list[int] = []

    def work(i: int) -> int:
        taken.append(i)
        return i

    with pytest.raises(OSError, match="disk full"):
        run_in_order(work, 1000, commit=commit, num_workers=2, window=4)
    assert max(taken) < 5 + 4 + 2


@pytest.mark.parametrize("workers", [1, 2])
def test_a_ready_result_is_committed_without_waiting_for_the_hold(workers: int) -> None:
    finished: list[int] = []
    lag: list[int] = []  # at each commit, how many results after it were already in
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            finished.append(i)
        return i

    def commit(i: int, result: int) -> None:
        with lock:
            lag.append(len([k for k in finished if k > i]))

    # the first 20 results are ready at once; the others wait for the 10 after them
    run_in_order(
        work, 40, commit=commit, num_workers=workers, window=40, hold=10, ready=lambda r: r < 20
    )
    assert len(lag) == 40
    assert max(lag[:20]) < 10  # committed before the hold of 10 was met
    assert min(lag[20:30]) >= 10  # held
