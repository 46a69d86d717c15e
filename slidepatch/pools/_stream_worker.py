"""Worker side of the patch stream: fill ring slots with the patches of one batch.

A worker process (the engine's loop, :func:`slidepatch.engine.worker.serve`, with
:class:`FillSlots`) attaches the ring once, then for each :class:`BatchJob` reads its
patches with a thread pool straight into the job's slot and answers with the batch number.
It keeps the last few slides open between jobs (consecutive batches usually come from
the same slide).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.extract.multires import multires_locations
from slidepatch.extract.reader import read_patches_into
from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.pools._shm import AttachedBlock
from slidepatch.slide.backends.tile_cache import DEFAULT_CACHE_BYTES
from slidepatch.slide.slide import ResamplingMode, Slide

#: Slides a worker keeps open between jobs.
OPEN_SLIDES = 1
#: Most slides a worker keeps open when batches mix slides.
MAX_OPEN_SLIDES = 64


@dataclass(frozen=True)
class SegmentJob:
    """``patch_set`` (some of one slide's patches) goes to rows ``row..`` of the slot, or
    to ``rows`` (one per patch) when a mixed batch scatters them."""

    patch_set: PatchSet
    row: int
    rows: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True)
class BatchJob:
    """One batch: where its slot is in the ring and the slide runs that fill it."""

    batch: int
    slot_offset: int
    pixel_bytes: int  # the pixel part of a slot; multi-res locations follow it, aligned
    size: tuple[int, int]  # (width, height) of every patch
    count: int
    segments: tuple[SegmentJob, ...]
    levels_or_mpps: tuple[LevelOrMpp, ...] | None
    resampling_mode: ResamplingMode
    num_threads: int
    chunksize: int
    open_slides: int = OPEN_SLIDES  # slides the worker keeps open (more when mixing)

    @property
    def slide_paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.patch_set.slide_path for s in self.segments))


def slot_views(
    flat: npt.NDArray[np.uint8],
    job_offset: int,
    pixel_bytes: int,
    *,
    count: int,
    size: tuple[int, int],
    n_levels: int,
    multires: bool,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64] | None]:
    """The slot's images ``(count, [L,] h, w, 3)`` and multi-res locations ``(count, L, 2)``."""
    w, h = size
    shape = (count, n_levels, h, w, 3) if multires else (count, h, w, 3)
    images = flat[job_offset : job_offset + count * n_levels * h * w * 3].reshape(shape)
    if not multires:
        return images, None
    loc_start = job_offset + -(-pixel_bytes // 64) * 64
    locs = flat[loc_start : loc_start + count * n_levels * 16].view(np.int64)
    return images, locs.reshape(count, n_levels, 2)


class OpenSlides:
    """The last :attr:`limit` slides this worker opened, by path and options.

    The open slides' tile caches share one default cache's memory
    (:data:`~slidepatch.slide.backends.tile_cache.DEFAULT_CACHE_BYTES` together, split
    evenly), so keeping slides open for mixing does not multiply a worker's memory.
    """

    def __init__(self) -> None:
        self._slides: OrderedDict[tuple[str, str, float | None], Slide] = OrderedDict()
        self.limit = OPEN_SLIDES

    def get(self, ps: PatchSet) -> Slide:
        key = (ps.slide_path, ps.backend, ps.slide_mpp)
        slide = self._slides.get(key)
        if slide is not None:
            self._slides.move_to_end(key)
            return slide
        slide = Slide.open(ps.slide_path, backend=ps.backend, mpp=ps.slide_mpp)  # type: ignore[arg-type]
        self._slides[key] = slide
        while len(self._slides) > max(1, self.limit):
            _, old = self._slides.popitem(last=False)
            old.close()
        if len(self._slides) > 1:
            share = DEFAULT_CACHE_BYTES // len(self._slides)
            for each in self._slides.values():
                each.limit_tile_cache(share)
        return slide

    def close(self) -> None:
        while self._slides:
            self._slides.popitem()[1].close()


def fill_slot(job: BatchJob, flat: npt.NDArray[np.uint8], slides: OpenSlides) -> None:
    """Read every patch of ``job`` into its slot."""
    levels = job.levels_or_mpps
    multires = levels is not None
    n_levels = 1 if levels is None else len(levels)
    images, slot_locs = slot_views(
        flat,
        job.slot_offset,
        job.pixel_bytes,
        count=job.count,
        size=job.size,
        n_levels=n_levels,
        multires=multires,
    )
    slides.limit = max(1, job.open_slides)
    for seg in job.segments:
        ps = seg.patch_set
        where: npt.NDArray[np.int64] | slice = (
            slice(seg.row, seg.row + len(ps)) if seg.rows is None else seg.rows
        )
        rows: Any = images[where] if seg.rows is None else [images[r] for r in seg.rows]
        slide = slides.get(ps)
        common: dict[str, Any] = {
            "slide": slide,
            "patch_set": ps,
            "resampling_mode": job.resampling_mode,
            "num_workers": job.num_threads,
            "chunksize": job.chunksize,
        }
        if levels is None:
            read_patches_into(out=rows, **common)
            continue
        assert slot_locs is not None
        locations = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=levels)
        slot_locs[where] = locations
        for j, level_or_mpp in enumerate(levels):
            out = rows[:, j] if seg.rows is None else [images[r, j] for r in seg.rows]
            read_patches_into(
                out=out, locations=locations[:, j, :], level_or_mpp=level_or_mpp, **common
            )


class FillSlots:
    """The stream worker's handler (see :func:`slidepatch.engine.worker.serve`): attaches
    the ring once, fills one batch's slot per job and answers with the batch number."""

    def __init__(self, block_name: str, block_size: int) -> None:
        self._block = AttachedBlock(name=block_name, size=block_size)
        self._slides = OpenSlides()
        self._flat: npt.NDArray[np.uint8] | None = self._block.array()

    def __call__(self, job: BatchJob) -> int:
        assert self._flat is not None
        fill_slot(job, self._flat, self._slides)
        return job.batch

    def close(self) -> None:
        self._slides.close()
        self._flat = None  # drop the view so that the mapping can be closed
        self._block.close()
