"""The one place that decides where a run's tasks go: a Dask cluster, worker processes, or
this process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slidepatch.engine.executor import Executor, check_start_method

if TYPE_CHECKING:
    from distributed import Client


def make_executor(
    *,
    client: Client | None = None,
    scheduler_address: str | None = None,
    num_processes: int,
    start_method: str | None = None,
    inline: bool = False,
    executor: Executor | None = None,
) -> Executor:
    """The executor for a pool's (or command's) arguments.

    ``executor`` given: that one (with neither ``client`` nor ``scheduler_address``).
    Else ``client`` (a ``dask.distributed.Client``) or ``scheduler_address``: a Dask
    runner (needs ``slidepatch[dask]``; only one of the two). Else ``num_processes``
    worker processes of ``start_method``, or, with ``inline`` and at most one process
    wanted, this process (no worker to start).
    """
    method = check_start_method(start_method)
    if executor is not None:
        if client is not None or scheduler_address is not None:
            raise ValueError("give executor or client/scheduler_address, not both")
        if not isinstance(executor, Executor):
            raise TypeError(
                f"executor must be a slidepatch.Executor, got {type(executor).__name__}"
            )
        return executor
    if client is not None or scheduler_address is not None:
        from slidepatch.engine.dask import DaskRunner, wants_dask

        wants_dask(client, scheduler_address)  # checks the target, imports distributed
        return DaskRunner(client=client, scheduler_address=scheduler_address)
    if inline and num_processes <= 1:
        from slidepatch.engine.inline import InProcessRunner

        return InProcessRunner()
    from slidepatch.engine.local import ProcessRunner

    return ProcessRunner(num_processes=max(1, num_processes), start_method=method)
