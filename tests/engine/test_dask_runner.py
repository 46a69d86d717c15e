"""The Dask runner behind the executor interface: the first error under on_error="raise"
is raised at once and the run's other tasks are cancelled on the scheduler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from slidepatch.engine import RunPolicy, Task, make_executor
from slidepatch.errors import ExtractionError

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as c,
    ):
        yield c


def _sleep_or_fail(seconds: float) -> float:
    if seconds < 0:
        raise ValueError("this slide is broken")
    time.sleep(seconds)
    return seconds


def _scheduler_tasks(client: Any) -> int:
    return int(client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)))


@pytest.mark.timeout(60)
def test_first_error_is_raised_at_once_and_cancels_the_rest(client: Any) -> None:
    executor = make_executor(client=client, num_processes=1)
    tasks = [
        Task(index=i, slide_paths=(f"/slides/s{i}.svs",), func=_sleep_or_fail, payload=p)
        for i, p in enumerate([-1.0, 3.0, 3.0, 3.0, 3.0])
    ]
    start = time.monotonic()
    with pytest.raises(ExtractionError, match="this slide is broken") as info:
        executor.run(tasks)
    assert time.monotonic() - start < 2.5  # not after the sleeping tasks
    assert info.value.path == "/slides/s0.svs"
    deadline = time.monotonic() + 10
    while _scheduler_tasks(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _scheduler_tasks(client) == 0  # pending and running tasks were cancelled
    # with "skip" every task runs and the failure comes back by index
    quick = [
        Task(index=t.index, slide_paths=t.slide_paths, func=t.func, payload=p)
        for t, p in zip(tasks, [-1.0, 0.01, 0.01, 0.01, 0.01], strict=True)
    ]
    results, failures = executor.run(quick, policy=RunPolicy(on_error="skip"))
    assert sorted(results) == [1, 2, 3, 4] and list(failures) == [0]
