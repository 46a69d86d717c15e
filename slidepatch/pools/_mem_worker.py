"""Worker side of the memory pools: read one slide's patches straight into shared memory."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from slidepatch.extract.multires import multires_locations
from slidepatch.extract.reader import read_patches_into
from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.pools._shm import AttachedBlock
from slidepatch.slide.slide import ResamplingMode, Slide


@dataclass(frozen=True)
class MemJob:
    """What a worker needs for one slide: its PatchSet and where its bytes go.

    Patch ``i`` of the set occupies ``levels x h_i x w_i x 3`` bytes starting at
    ``pixel_offset + sum of the earlier patches' sizes`` (patch-major, then level).
    Multi-resolution jobs also write their ``(N, L, 2)`` int64 locations at
    ``locations_offset``.
    """

    patch_set: PatchSet
    block_name: str
    block_size: int
    pixel_offset: int
    levels_or_mpps: tuple[LevelOrMpp, ...] | None
    locations_offset: int
    resampling_mode: ResamplingMode
    num_threads: int
    chunksize: int


def patch_nbytes(patch_set: PatchSet, levels: int) -> npt.NDArray[np.int64]:
    """Bytes each patch takes in the block (all its levels)."""
    return patch_set.width * patch_set.height * 3 * levels


def run_mem_jobs(jobs: Sequence[MemJob]) -> list[int]:
    """Run a chunk of slides; return the worker's pid once per slide."""
    return [_run_one(job) for job in jobs]


def _run_one(job: MemJob) -> int:
    block = AttachedBlock(name=job.block_name, size=job.block_size)
    try:
        n_levels = 1 if job.levels_or_mpps is None else len(job.levels_or_mpps)
        block.prefault(
            start=job.pixel_offset, length=int(patch_nbytes(job.patch_set, n_levels).sum())
        )
        _fill(job, block.array())
    finally:
        block.close()
    return os.getpid()


def _fill(job: MemJob, flat: npt.NDArray[np.uint8]) -> None:
    ps = job.patch_set
    levels = job.levels_or_mpps
    n_levels = 1 if levels is None else len(levels)
    starts = (
        job.pixel_offset
        + np.concatenate(([0], np.cumsum(patch_nbytes(ps, n_levels))[:-1])).astype(np.int64)
        if len(ps)
        else np.zeros(0, dtype=np.int64)
    )
    with Slide.open(ps.slide_path, backend=ps.backend, mpp=ps.slide_mpp) as slide:  # type: ignore[arg-type]
        if levels is None:
            read_patches_into(
                slide=slide,
                patch_set=ps,
                out=_views(flat, ps, starts, 0),
                resampling_mode=job.resampling_mode,
                num_workers=job.num_threads,
                chunksize=job.chunksize,
            )
            return
        locations = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=levels)
        end = job.locations_offset + locations.nbytes
        flat[job.locations_offset : end].view(np.int64).reshape(locations.shape)[...] = locations
        for j, level_or_mpp in enumerate(levels):
            read_patches_into(
                slide=slide,
                patch_set=ps,
                out=_views(flat, ps, starts, j),
                locations=locations[:, j, :],
                level_or_mpp=level_or_mpp,
                resampling_mode=job.resampling_mode,
                num_workers=job.num_threads,
                chunksize=job.chunksize,
            )


def _views(
    flat: npt.NDArray[np.uint8], ps: PatchSet, starts: npt.NDArray[np.int64], level: int
) -> list[npt.NDArray[np.uint8]]:
    """One (h, w, 3) view per patch, for the given level slot."""
    views = []
    for i in range(len(ps)):
        h, w = int(ps.height[i]), int(ps.width[i])
        start = int(starts[i]) + level * h * w * 3
        views.append(flat[start : start + h * w * 3].reshape(h, w, 3))
    return views
