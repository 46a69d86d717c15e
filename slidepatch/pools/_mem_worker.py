"""Worker side of the memory pools: read one slide's patches into shared memory.

On Linux each reading thread decodes into one warm buffer of its own and writes it to the
block with ``pwrite``, never mapping the block (mapping fresh shared pages costs a fault
per 4 KiB page); elsewhere the worker maps its slice and decodes straight into it. Both
are sinks of :mod:`slidepatch.extract.arena_sink`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from slidepatch.extract.arena_sink import ArenaLayout, MappedArena, PwriteArena
from slidepatch.extract.arena_sink import patch_nbytes as patch_nbytes  # re-exported
from slidepatch.extract.sink import PixelSink, read_to_sink
from slidepatch.locations.patchset import PatchSet
from slidepatch.pools._shm import AttachedBlock, open_block_for_writing
from slidepatch.resolution import Resolution
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
    resolutions: tuple[Resolution, ...] | None  # multi-resolution entries, parsed once
    locations_offset: int
    resampling_mode: ResamplingMode
    num_threads: int
    chunksize: int


def run_mem_jobs(jobs: Sequence[MemJob]) -> list[int]:
    """Run a chunk of slides; return the worker's pid once per slide."""
    return [_run_one(job) for job in jobs]


def _run_one(job: MemJob) -> int:
    fd = open_block_for_writing(job.block_name)
    if fd is not None:
        try:
            _fill(job, PwriteArena(fd=fd, layout=_layout(job)))
        finally:
            os.close(fd)
        return os.getpid()
    block = AttachedBlock(name=job.block_name, size=job.block_size)
    try:
        layout = _layout(job)
        block.prefault(
            start=job.pixel_offset,
            length=int(patch_nbytes(job.patch_set, layout.levels).sum()),
        )
        _fill(job, MappedArena(block.array(), layout=layout))
    finally:
        block.close()
    return os.getpid()


def _layout(job: MemJob) -> ArenaLayout:
    return ArenaLayout(
        patch_set=job.patch_set,
        levels=1 if job.resolutions is None else len(job.resolutions),
        pixel_offset=job.pixel_offset,
        locations_offset=job.locations_offset,
    )


def fill_array(job: MemJob, flat: npt.NDArray[np.uint8]) -> None:
    """Read ``job``'s slide into the flat array ``flat`` at the job's offsets (Dask path)."""
    _fill(job, MappedArena(flat, layout=_layout(job)))


def _fill(job: MemJob, sink: PixelSink) -> None:
    ps = job.patch_set
    with Slide.open(ps.slide_path, read_options=ps.read_options) as slide:
        read_to_sink(
            slide=slide,
            patch_set=ps,
            sink=sink,
            levels_or_mpps=job.resolutions,
            resampling_mode=job.resampling_mode,
            num_workers=job.num_threads,
            chunksize=job.chunksize,
        )
