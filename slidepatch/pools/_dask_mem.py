"""Memory pools on executors whose workers do not share this machine's memory (Dask): each
task reads its slides into one local buffer per slide, the caller copies every buffer into
its shared block as the task finishes.

Workers on other machines cannot map the caller's shared memory, so a slide's patches
travel back as ONE contiguous uint8 array (patch-major, exactly the layout the block
uses) plus the multi-resolution locations, never as one object per patch. The block's
layout, and so every result property, is the same as with local processes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from slidepatch.engine import Executor, Outcomes, RunPolicy, Task
from slidepatch.pools._mem_worker import MemJob, fill_array, patch_nbytes
from slidepatch.slide.buffers import decode_buffer

SlideBuffer = tuple[int, npt.NDArray[np.uint8], "npt.NDArray[np.int64] | None"]
#: A task whose result carries its slides' pixels (and multi-resolution locations).
BufferTask = Task[Sequence[MemJob], list[SlideBuffer]]


def run_mem_jobs_to_buffers(jobs: Sequence[MemJob]) -> list[SlideBuffer]:
    """Worker side: per slide, ``(pid, pixels, locations or None)``."""
    return [_read_one(job) for job in jobs]


def _read_one(job: MemJob) -> SlideBuffer:
    ps = job.patch_set
    n_levels = 1 if job.resolutions is None else len(job.resolutions)
    pixel_bytes = int(patch_nbytes(ps, n_levels).sum())
    loc_start = (pixel_bytes + 7) // 8 * 8
    loc_bytes = 0 if job.resolutions is None else len(ps) * n_levels * 2 * 8
    buffer = decode_buffer((loc_start + loc_bytes,))
    fill_array(dataclasses.replace(job, pixel_offset=0, locations_offset=loc_start), buffer)
    locations = None
    if job.resolutions is not None:
        locations = buffer[loc_start:].view(np.int64).reshape(len(ps), n_levels, 2).copy()
    return (os.getpid(), buffer[:pixel_bytes], locations)


def _copy_into(
    flat: npt.NDArray[np.uint8], task: BufferTask, result: list[SlideBuffer]
) -> list[int]:
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


def run_mem_tasks_by_copy(
    executor: Executor,
    tasks: Sequence[Task[Sequence[MemJob], list[int]]],
    *,
    flat: npt.NDArray[np.uint8],
    policy: RunPolicy,
    on_done: Callable[[Task[Sequence[MemJob], list[int]]], None] | None = None,
) -> Outcomes[list[int]]:
    """Run the memory pool's tasks with their results carried back as buffers; results
    are per-task pid lists, as when workers write into the block themselves."""
    remote = [
        Task(
            index=t.index,
            slide_paths=t.slide_paths,
            func=run_mem_jobs_to_buffers,
            payload=t.payload,
        )
        for t in tasks
    ]
    by_index = {t.index: t for t in tasks}
    return executor.run(
        remote,
        policy=policy,
        on_result=lambda task, result: _copy_into(flat, task, result),
        on_done=None if on_done is None else lambda task: on_done(by_index[task.index]),
    )
