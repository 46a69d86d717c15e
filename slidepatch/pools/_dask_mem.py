"""Memory pools on Dask: each task reads its slides into one local buffer per slide, the
caller copies every buffer into its shared block as the task finishes.

Workers on other machines cannot map the caller's shared memory, so a slide's patches
travel back as ONE contiguous uint8 array (patch-major, exactly the layout the block
uses) plus the multi-resolution locations, never as one object per patch. The block's
layout, and so every result property, is the same as with local processes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from slidepatch.engine.dask import DaskRunner
from slidepatch.engine.executor import OnError, Task
from slidepatch.pools._mem_worker import MemJob, fill_array, patch_nbytes
from slidepatch.slide.buffers import decode_buffer

if TYPE_CHECKING:
    from distributed import Client

SlideBuffer = tuple[int, npt.NDArray[np.uint8], "npt.NDArray[np.int64] | None"]


def run_mem_jobs_to_buffers(jobs: Sequence[MemJob]) -> list[SlideBuffer]:
    """Worker side: per slide, ``(pid, pixels, locations or None)``."""
    return [_read_one(job) for job in jobs]


def _read_one(job: MemJob) -> SlideBuffer:
    ps = job.patch_set
    n_levels = 1 if job.levels_or_mpps is None else len(job.levels_or_mpps)
    pixel_bytes = int(patch_nbytes(ps, n_levels).sum())
    loc_start = (pixel_bytes + 7) // 8 * 8
    loc_bytes = 0 if job.levels_or_mpps is None else len(ps) * n_levels * 2 * 8
    buffer = decode_buffer((loc_start + loc_bytes,))
    fill_array(dataclasses.replace(job, pixel_offset=0, locations_offset=loc_start), buffer)
    locations = None
    if job.levels_or_mpps is not None:
        locations = buffer[loc_start:].view(np.int64).reshape(len(ps), n_levels, 2).copy()
    return (os.getpid(), buffer[:pixel_bytes], locations)


def _copy_into(flat: npt.NDArray[np.uint8], task: Task, result: list[SlideBuffer]) -> list[int]:
    """Caller side: put each slide's buffer at its offset in the block; keep only the pids."""
    pids = []
    for job, (pid, pixels, locations) in zip(task.payload, result, strict=True):
        flat[job.pixel_offset : job.pixel_offset + pixels.size] = pixels
        if locations is not None:
            end = job.locations_offset + locations.nbytes
            flat[job.locations_offset : end].view(np.int64).reshape(locations.shape)[...] = (
                locations
            )
        pids.append(pid)
    return pids


def run_mem_tasks_on_dask(
    tasks: Sequence[Task],
    *,
    flat: npt.NDArray[np.uint8],
    client: Client | None,
    scheduler_address: str | None,
    on_error: OnError,
    on_done: Callable[[Task], None] | None = None,
) -> tuple[dict[int, Any], dict[int, BaseException]]:
    """Run the memory pool's tasks on Dask; results are per-task pid lists, as locally."""
    remote = [dataclasses.replace(t, func=run_mem_jobs_to_buffers) for t in tasks]
    runner = DaskRunner(client=client, scheduler_address=scheduler_address, on_error=on_error)
    return runner.run(
        remote, on_result=lambda task, result: _copy_into(flat, task, result), on_done=on_done
    )
