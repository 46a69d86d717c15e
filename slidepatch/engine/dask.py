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
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from slidepatch.engine.executor import OnError, Task
from slidepatch.engine.failures import task_error
from slidepatch.engine.local import RunTasks
from slidepatch.engine.messages import Done, Failed, Message
from slidepatch.engine.worker import answer
from slidepatch.errors import WorkerDiedError

if TYPE_CHECKING:
    from distributed import Client

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


def _run_on_worker(task: Task) -> Message:
    """Worker side: run one task; errors come back as data, as from local workers."""
    return answer(RunTasks(), task)


class DaskRunner:
    """Run tasks on a Dask cluster; ``run`` returns (results by task index, errors by index).

    With ``on_error="raise"`` the first failure cancels the remaining tasks and is raised.
    ``wrap_errors`` as for :class:`~slidepatch.engine.local.ProcessRunner`.
    """

    def __init__(
        self,
        *,
        client: Client | None,
        scheduler_address: str | None,
        on_error: OnError,
        wrap_errors: bool = True,
    ) -> None:
        self._client = client
        self._address = scheduler_address
        self._on_error = on_error
        self._wrap_errors = wrap_errors

    def run(
        self,
        tasks: Sequence[Task],
        *,
        on_result: Callable[[Task, Any], Any] | None = None,
        on_done: Callable[[Task], None] | None = None,
    ) -> tuple[dict[int, Any], dict[int, BaseException]]:
        """Run every task (see :class:`~slidepatch.engine.executor.Executor`)."""
        results: dict[int, Any] = {}
        failures: dict[int, BaseException] = {}
        if not tasks:
            return results, failures
        token = secrets.token_hex(6)
        with dask_client(self._client, self._address) as client:
            from distributed import as_completed

            by_key: dict[Any, Task] = {}
            futures = []
            for task in tasks:
                key = f"slidepatch-{_short_name(task)}-{token}-{task.index}"
                future = client.submit(
                    _run_on_worker,
                    task,
                    key=key,
                    pure=False,
                    retries=0,
                )
                by_key[future.key] = task
                futures.append(future)
            try:
                completed = as_completed(futures, loop=client.loop)  # type: ignore[no-untyped-call]
                for future in completed:
                    task = by_key[future.key]
                    error = self._collect(future, task, results, on_result)
                    future.release()
                    if error is not None:
                        if self._on_error == "raise":
                            raise error
                        failures[task.index] = error
                    if on_done is not None:
                        on_done(task)
            finally:
                client.cancel([f for f in futures if not f.done()])  # type: ignore[no-untyped-call]
                futures.clear()
        return results, failures

    def _collect(
        self,
        future: Any,
        task: Task,
        results: dict[int, Any],
        on_result: Callable[[Task, Any], Any] | None,
    ) -> BaseException | None:
        """Store one finished task's result; return its error instead when it failed."""
        from distributed import KilledWorker

        try:
            message = future.result()
        except KilledWorker as exc:
            return _died(task, exc)
        except Exception as exc:
            return self._error(task, exc, traceback.format_exc())
        if isinstance(message, Done):
            result = message.result
            results[task.index] = result if on_result is None else on_result(task, result)
            return None
        assert isinstance(message, Failed)
        return self._error(task, message.rebuild(), message.traceback)

    def _error(self, task: Task, error: BaseException, tb: str) -> BaseException:
        return task_error(task.slide_paths, error, tb, wrap=self._wrap_errors)


def _short_name(task: Task) -> str:
    """The first slide's file name, for readable Dask task keys (dashboard)."""
    name = os.path.splitext(os.path.basename(task.slide_paths[0]))[0] if task.slide_paths else ""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40] or "task"


def _died(task: Task, exc: BaseException) -> WorkerDiedError:
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
