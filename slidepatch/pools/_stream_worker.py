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

import numpy as np
import numpy.typing as npt

from slidepatch.extract.ring_sink import RingSegment
from slidepatch.extract.ring_sink import slot_views as slot_views  # re-exported
from slidepatch.extract.sink import read_to_sink
from slidepatch.locations.patchset import PatchSet
from slidepatch.options import ReadOptions
from slidepatch.pools._shm import AttachedBlock
from slidepatch.resolution import Resolution
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
    resolutions: tuple[Resolution, ...] | None  # multi-resolution entries, parsed once
    resampling_mode: ResamplingMode
    num_threads: int
    chunksize: int
    open_slides: int = OPEN_SLIDES  # slides the worker keeps open (more when mixing)

    @property
    def slide_paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.patch_set.slide_path for s in self.segments))


class OpenSlides:
    """The last :attr:`limit` slides this worker opened, by path and options.

    The open slides' tile caches share one default cache's memory
    (:data:`~slidepatch.slide.backends.tile_cache.DEFAULT_CACHE_BYTES` together, split
    evenly), so keeping slides open for mixing does not multiply a worker's memory.
    """

    def __init__(self) -> None:
        self._slides: OrderedDict[tuple[str, ReadOptions], Slide] = OrderedDict()
        self.limit = OPEN_SLIDES

    def get(self, ps: PatchSet) -> Slide:
        key = (ps.slide_path, ps.read_options)
        slide = self._slides.get(key)
        if slide is not None:
            self._slides.move_to_end(key)
            return slide
        slide = Slide.open(ps.slide_path, read_options=ps.read_options)
        self._slides[key] = slide
        while len(self._slides) > max(1, self.limit):
            _, old = self._slides.popitem(last=False)
            old.close()
        if len(self._slides) > 1:
            for each in self._slides.values():
                total = each.read_options.tile_cache_bytes
                each.limit_tile_cache(
                    (DEFAULT_CACHE_BYTES if total is None else total) // len(self._slides)
                )
        return slide

    def close(self) -> None:
        while self._slides:
            self._slides.popitem()[1].close()


def fill_slot(job: BatchJob, flat: npt.NDArray[np.uint8], slides: OpenSlides) -> None:
    """Read every patch of ``job`` into its slot."""
    levels = job.resolutions
    images, slot_locs = slot_views(
        flat,
        job.slot_offset,
        job.pixel_bytes,
        count=job.count,
        size=job.size,
        n_levels=1 if levels is None else len(levels),
        multires=levels is not None,
    )
    slides.limit = max(1, job.open_slides)
    for seg in job.segments:
        ps = seg.patch_set
        read_to_sink(
            slide=slides.get(ps),
            patch_set=ps,
            sink=RingSegment(images, slot_locs, row=seg.row, count=len(ps), rows=seg.rows),
            levels_or_mpps=levels,
            resampling_mode=job.resampling_mode,
            num_workers=job.num_threads,
            chunksize=job.chunksize,
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
