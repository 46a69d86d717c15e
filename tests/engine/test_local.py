"""The engine's local runner: every start method, results and errors by task, workers that
ignore Ctrl-C and do not outlive their parent."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from worker_faults import descendants

from slidepatch.engine import ProcessRunner, RunPolicy, Task
from slidepatch.engine.failures import RemoteTraceback
from slidepatch.errors import ExtractionError


def _tasks(func: object, payloads: list[object]) -> list[Task]:
    return [
        Task(index=i, slide_paths=(f"/slides/s{i}.svs",), func=func, payload=p)  # type: ignore[arg-type]
        for i, p in enumerate(payloads)
    ]


@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
def test_every_task_runs_under_every_start_method(start_method: str) -> None:
    runner = ProcessRunner(num_processes=2, start_method=start_method)
    done: list[int] = []
    results, failures = runner.run(
        _tasks(abs, [-i for i in range(5)]),
        on_result=lambda task, result: result * 10,
        on_done=lambda task: done.append(task.index),
    )
    assert results == {i: i * 10 for i in range(5)} and failures == {}
    assert sorted(done) == list(range(5))


def test_an_error_names_its_slide_or_comes_back_as_raised() -> None:
    tasks = _tasks(math.sqrt, [4.0, -1.0, 9.0])
    runner = ProcessRunner(num_processes=2, start_method=None)
    with pytest.raises(ExtractionError, match="math domain error") as info:
        runner.run(tasks)
    assert info.value.path == "/slides/s1.svs"
    assert isinstance(info.value.__cause__, ValueError)
    plain = RunPolicy(on_error="skip", wrap_errors=False)
    results, failures = runner.run(tasks, policy=plain)
    assert results == {0: 2.0, 2: 3.0}
    assert isinstance(failures[1], ValueError)
    assert isinstance(failures[1].__cause__, RemoteTraceback)
    assert "Traceback" in str(failures[1].__cause__)


@pytest.mark.timeout(60)
def test_workers_ignore_sigint() -> None:
    runner = ProcessRunner(num_processes=2, start_method="fork")
    before = set(descendants())
    sent: list[int] = []

    def interrupt_workers() -> None:
        time.sleep(0.5)
        for pid in set(descendants()) - before:
            os.kill(pid, signal.SIGINT)
            sent.append(pid)

    thread = threading.Thread(target=interrupt_workers)
    thread.start()
    results, _ = runner.run(_tasks(time.sleep, [1.5, 1.5]))
    thread.join()
    assert len(sent) == 2 and results == {0: None, 1: None}


_ORPHANING_PARENT = textwrap.dedent(
    """
    import time
    from slidepatch.engine import ProcessRunner, Task
    tasks = [Task(index=i, slide_paths=("s",), func=time.sleep, payload=60) for i in range(2)]
    ProcessRunner(num_processes=2, start_method="fork").run(tasks)
    """
)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.split()[:2] == ["State:", "Z"] for line in f)
    except FileNotFoundError:
        return True


@pytest.mark.timeout(60)
def test_workers_exit_when_their_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _ORPHANING_PARENT])
    try:
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = descendants(parent.pid)
        assert len(workers) == 2
    finally:
        parent.kill()  # SIGKILL: the parent tidies nothing up
        parent.wait()
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in workers), "workers outlived their killed parent"
