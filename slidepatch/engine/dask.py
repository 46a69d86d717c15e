"""Run pool tasks as Dask tasks on a cluster, with the same contract as :class:`ProcessRunner`.

Each :class:`~slidepatch.engine.Task` becomes one Dask task; the cluster decides
where it runs, and when a worker dies Dask reruns its tasks on another worker (up to the
scheduler's ``distributed.scheduler.allowed-failures``, default 3; beyond that the slides
fail with :class:`WorkerDiedError`). Results are handed to an optional ``on_result``
callback as they arrive and each future is released right after, so the caller never
holds more than one task's result at a time. Dask is imported only here, and only when a
pool is given ``client=`` or ``scheduler_address=``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import traceback
from collections.abc import Generator, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from slidepatch.engine.executor import Executor, RunPolicy, Task
from slidepatch.engine.failures import task_error
from slidepatch.engine.local import RunTasks
from slidepatch.engine.messages import Done, Failed
from slidepatch.engine.worker import answer
from slidepatch.errors import WorkerDiedError

if TYPE_CHECKING:
    from dask.typing import Key
    from distributed import Client, Future

P = TypeVar("P")
R = TypeVar("R")

DASK_INSTALL_HINT = "Dask is not installed: pip install 'slidepatch[dask]'"


def wants_dask(client: object, scheduler_address: object) -> bool:
    """True when a pool should run on Dask; checks that at most one target was given."""
    if client is not None and scheduler_address is not None:
        raise ValueError("give client or scheduler_address, not both")
    if scheduler_address is not None and not isinstance(scheduler_address, str):
        raise TypeError(f"scheduler_address must be a str, got {scheduler_address!r}")
    if client is None and scheduler_address is None:
        return False
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(DASK_INSTALL_HINT) from exc
    if client is not None and not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    return True


@contextlib.contextmanager
def dask_client(client: Client | None, scheduler_address: str | None) -> Iterator[Client]:
    """The caller's client as is, or a client connected to ``scheduler_address`` for one run."""
    if client is not None:
        yield client
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(DASK_INSTALL_HINT) from exc
    with Client(scheduler_address, set_as_default=False) as own:  # type: ignore[no-untyped-call]
        yield own


def _run_on_worker(task: Task[P, R]) -> Done[R] | Failed:
    """Worker side: run one task; errors come back as data, as from local workers."""
    return answer(RunTasks(), task)


class DaskRunner(Executor):
    """Run tasks on a Dask cluster (an :class:`~slidepatch.engine.executor.Executor`).

    Workers may be on other machines, so they do not share this machine's memory, and a
    task may run again after its worker died.
    """

    shares_memory = False
    reruns_tasks = True

    def __init__(self, *, client: Client | None, scheduler_address: str | None) -> None:
        self._client = client
        self._address = scheduler_address

    def _outcomes(
        self, tasks: Sequence[Task[P, R]], policy: RunPolicy
    ) -> Generator[tuple[Task[P, R], Done[R] | BaseException], None, None]:
        token = secrets.token_hex(6)
        with dask_client(self._client, self._address) as client:
            from distributed import as_completed

            by_key: dict[Key, Task[P, R]] = {}
            futures = []
            for task in tasks:
                key = f"slidepatch-{_short_name(task)}-{token}-{task.index}"
                future = client.submit(_run_on_worker, task, key=key, pure=False, retries=0)
                by_key[future.key] = task
                futures.append(future)
            try:
                completed = as_completed(futures, loop=client.loop)  # type: ignore[no-untyped-call]
                for future in completed:
                    task = by_key[future.key]
                    outcome = _outcome(future, task, policy)
                    future.release()
                    yield task, outcome
            finally:
                client.cancel([f for f in futures if not f.done()])  # type: ignore[no-untyped-call]
                futures.clear()


def _outcome(
    future: Future[Done[R] | Failed], task: Task[P, R], policy: RunPolicy
) -> Done[R] | BaseException:
    """A finished task's message, or its error."""
    from distributed import KilledWorker

    try:
        message = future.result()
    except KilledWorker as exc:
        return _died(task, exc)
    except Exception as exc:
        return task_error(task.slide_paths, exc, traceback.format_exc(), wrap=policy.wrap_errors)
    if isinstance(message, Done):
        return message
    return task_error(
        task.slide_paths, message.rebuild(), message.traceback, wrap=policy.wrap_errors
    )


def _short_name(task: Task[P, R]) -> str:
    """The first slide's file name, for readable Dask task keys (dashboard)."""
    name = os.path.splitext(os.path.basename(task.slide_paths[0]))[0] if task.slide_paths else ""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40] or "task"


def _died(task: Task[P, R], exc: BaseException) -> WorkerDiedError:
    single = len(task.slide_paths) == 1
    error = WorkerDiedError(
        task.slide_paths[0] if single else ", ".join(task.slide_paths),
        "Dask workers died every time they ran "
        + ("this slide" if single else "these slides")
        + " (distributed.scheduler.allowed-failures reached; a crashing decoder or the "
        + "OOM killer can cause this)",
    )
    error.__cause__ = exc
    return error
