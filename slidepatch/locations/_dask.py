"""Location pools on Dask: one task per slide on the cluster's workers, results in input order."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")


def map_on_dask(
    func: Callable[[Any], T],
    tasks: Sequence[Any],
    *,
    client: Client | None,
    scheduler_address: str | None,
) -> list[T]:
    """``[func(t) for t in tasks]`` computed on the cluster; a task's error is raised here."""
    from slidepatch.pools._dask_runner import dask_client

    with dask_client(client, scheduler_address) as active:
        run = secrets.token_hex(6)
        futures = [
            active.submit(func, task, key=f"slidepatch-locations-{run}-{i}", pure=False)
            for i, task in enumerate(tasks)
        ]
        try:
            results: list[T] = active.gather(futures)  # type: ignore[no-untyped-call]
        finally:
            active.cancel([f for f in futures if not f.done()])  # type: ignore[no-untyped-call]
        return results
