"""The run loop every executor shares: the first error under on_error="raise" cancels the
rest (running tasks stopped, pending ones never started); make_executor picks the engine."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from worker_faults import workers_left

from slidepatch.engine import (
    InProcessRunner,
    ProcessRunner,
    RunPolicy,
    Task,
    make_executor,
)
from slidepatch.errors import ExtractionError


def _mark_after(payload: tuple[str, float]) -> str:
    """Sleep, then leave a file: proof that the task ran to its end."""
    path, seconds = payload
    time.sleep(seconds)
    Path(path).write_text("done")
    return path


def _fail(payload: tuple[str, float]) -> str:
    raise ValueError(f"task for {payload[0]} failed")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["processes", "inline"])
def test_first_error_cancels_running_and_pending_tasks(where: str, tmp_path: Path) -> None:
    runner: ProcessRunner | InProcessRunner = (
        ProcessRunner(num_processes=2, start_method="fork")
        if where == "processes"
        else InProcessRunner()
    )
    slow = 30.0 if where == "processes" else 0.0
    # in processes: task 0 runs for 30 s beside task 1, which fails at once
    funcs = [_mark_after, _fail, _mark_after, _mark_after]
    tasks = [
        Task(
            index=i,
            slide_paths=(f"/slides/s{i}.svs",),
            func=f,
            payload=(str(tmp_path / f"t{i}"), slow if i == 0 else 0.0),
        )
        for i, f in enumerate(funcs)
    ]
    if not slow:
        tasks = [tasks[1], tasks[0], *tasks[2:]]  # in order: the failing one first
    done: list[int] = []
    start = time.monotonic()
    with pytest.raises(ExtractionError, match=r"task for .* failed") as info:
        runner.run(tasks, on_done=lambda task: done.append(task.index))
    assert time.monotonic() - start < 20  # the running task was stopped, not awaited
    assert info.value.path == "/slides/s1.svs"
    assert done == []  # the failing task raised before it was counted done
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no other task finished
    assert workers_left() == []
    # with "skip" every task runs and the failure comes back by index
    quick = [
        Task(index=t.index, slide_paths=t.slide_paths, func=t.func, payload=(t.payload[0], 0.0))
        for t in tasks
    ]
    results, failures = runner.run(quick, policy=RunPolicy(on_error="skip"))
    assert sorted(results) == [0, 2, 3] and list(failures) == [1]


def test_make_executor_picks_the_engine() -> None:
    assert isinstance(make_executor(num_processes=1, inline=True), InProcessRunner)
    assert isinstance(make_executor(num_processes=1), ProcessRunner)
    assert isinstance(make_executor(num_processes=4, inline=True), ProcessRunner)
    given = InProcessRunner()
    assert make_executor(num_processes=4, executor=given) is given
    assert given.shares_memory and not given.reruns_tasks
    with pytest.raises(ValueError, match="start_method"):
        make_executor(num_processes=2, start_method="thread")
    with pytest.raises(ValueError, match="not both"):
        make_executor(num_processes=1, client=object(), scheduler_address="tcp://x:1")  # type: ignore[arg-type]


def test_make_executor_on_dask_says_workers_share_nothing() -> None:
    pytest.importorskip("distributed")
    on_dask = make_executor(num_processes=1, scheduler_address="tcp://127.0.0.1:1")
    assert not on_dask.shares_memory and on_dask.reruns_tasks


def test_in_process_runner_keeps_the_error_and_its_pid(tmp_path: Path) -> None:
    task = Task(index=0, slide_paths=("/s.svs",), func=_fail, payload=("x", 0.0))
    results, failures = InProcessRunner().run(
        [task], policy=RunPolicy(on_error="skip", wrap_errors=False)
    )
    assert results == {} and isinstance(failures[0], ValueError)
    ok = Task(index=0, slide_paths=("/s.svs",), func=os.path.basename, payload="/a/b.svs")
    assert InProcessRunner().run([ok], on_result=lambda t, r: r.upper()) == ({0: "B.SVS"}, {})
