"""Worker side of the memory pools: read one slide's patches into shared memory.

On Linux each reading thread decodes into one warm buffer of its own and writes it to the
block with ``pwrite``, never mapping the block (mapping fresh shared pages costs a fault
per 4 KiB page); elsewhere the worker maps its slice and decodes straight into it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.errors import ExtractionError
from slidepatch.extract.multires import multires_locations
from slidepatch.extract.reader import read_patches_into, read_patches_to
from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.pools._shm import AttachedBlock, open_block_for_writing, pwrite_all
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
    fd = open_block_for_writing(job.block_name)
    if fd is not None:
        try:
            _fill(job, _DescriptorTarget(fd=fd, slide_path=job.patch_set.slide_path))
        finally:
            os.close(fd)
        return os.getpid()
    block = AttachedBlock(name=job.block_name, size=job.block_size)
    try:
        n_levels = 1 if job.levels_or_mpps is None else len(job.levels_or_mpps)
        block.prefault(
            start=job.pixel_offset, length=int(patch_nbytes(job.patch_set, n_levels).sum())
        )
        _fill(job, _MappedTarget(block.array()))
    finally:
        block.close()
    return os.getpid()


class _MappedTarget:
    """Writes through a mapping of the block: patches are decoded straight into it."""

    def __init__(self, flat: npt.NDArray[np.uint8]) -> None:
        self.flat = flat

    def read(
        self, *, slide: Slide, patch_set: PatchSet, starts: npt.NDArray[np.int64], **kw: Any
    ) -> None:
        views = []
        for i in range(len(patch_set)):
            h, w = int(patch_set.height[i]), int(patch_set.width[i])
            start = int(starts[i])
            views.append(self.flat[start : start + h * w * 3].reshape(h, w, 3))
        read_patches_into(slide=slide, patch_set=patch_set, out=views, **kw)

    def write(self, offset: int, data: npt.NDArray[np.uint8]) -> None:
        self.flat[offset : offset + data.size] = data.reshape(-1)


class _DescriptorTarget:
    """Writes with ``pwrite`` from each reading thread's warm buffer (Linux; see _shm)."""

    def __init__(self, *, fd: int, slide_path: str) -> None:
        self.fd = fd
        self.slide_path = slide_path

    def read(
        self, *, slide: Slide, patch_set: PatchSet, starts: npt.NDArray[np.int64], **kw: Any
    ) -> None:
        def sink(k: int, pixels: npt.NDArray[np.uint8]) -> None:
            self.write(int(starts[k]), pixels)

        read_patches_to(slide=slide, patch_set=patch_set, sink=sink, **kw)

    def write(self, offset: int, data: npt.NDArray[np.uint8]) -> None:
        try:
            pwrite_all(self.fd, np.ascontiguousarray(data), offset)
        except OSError as exc:
            raise ExtractionError(
                self.slide_path, f"cannot write to shared memory at byte {offset}: {exc}"
            ) from exc


_Target = _MappedTarget | _DescriptorTarget


def fill_array(job: MemJob, flat: npt.NDArray[np.uint8]) -> None:
    """Read ``job``'s slide into the flat array ``flat`` at the job's offsets (Dask path)."""
    _fill(job, _MappedTarget(flat))


def _fill(job: MemJob, target: _Target) -> None:
    ps = job.patch_set
    levels = job.levels_or_mpps
    n_levels = 1 if levels is None else len(levels)
    starts = (
        job.pixel_offset
        + np.concatenate(([0], np.cumsum(patch_nbytes(ps, n_levels))[:-1])).astype(np.int64)
        if len(ps)
        else np.zeros(0, dtype=np.int64)
    )
    common = {"num_workers": job.num_threads, "chunksize": job.chunksize}
    with Slide.open(ps.slide_path, read_options=ps.read_options) as slide:
        if levels is None:
            target.read(
                slide=slide,
                patch_set=ps,
                starts=starts,
                resampling_mode=job.resampling_mode,
                **common,
            )
            return
        locations = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=levels)
        target.write(job.locations_offset, locations.view(np.uint8).reshape(-1))
        for j, level_or_mpp in enumerate(levels):
            target.read(
                slide=slide,
                patch_set=ps,
                starts=starts + j * ps.height * ps.width * 3,
                locations=locations[:, j, :],
                level_or_mpp=level_or_mpp,
                resampling_mode=job.resampling_mode,
                **common,
            )
