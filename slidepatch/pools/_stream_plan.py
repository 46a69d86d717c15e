"""Planning a patch stream: the memory budget, the batches, and the shared-memory ring.

The parent concatenates every slide's (label-filtered) patches in input order and cuts
that sequence into batches of ``batch_size`` consecutive patches; a batch may span the
end of one slide and the start of the next, so every batch but the last is full. A batch
is one unit of work for one worker and fills one slot of the ring. The ring holds as many
slots as the budget allows (capped where more would not help), so memory is bounded by
the budget, not by the number of slides.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from slidepatch.errors import SlidepatchError
from slidepatch.locations.patchset import PatchSet
from slidepatch.pools._stream_order import ShardOrder
from slidepatch.slide.buffers import DECODE_OFFSET

_UNITS = {
    "": 1,
    "b": 1,
    "k": 2**10,
    "kb": 10**3,
    "kib": 2**10,
    "m": 2**20,
    "mb": 10**6,
    "mib": 2**20,
    "g": 2**30,
    "gb": 10**9,
    "gib": 2**30,
    "t": 2**40,
    "tb": 10**12,
    "tib": 2**40,
}
_BUDGET = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]*)\s*$")

#: Slots per worker process beyond which a larger ring brings no speed, only memory.
SLOTS_PER_WORKER = 2


def parse_memory_budget(value: object) -> int:
    """Bytes from an int or a string like ``"512MiB"``, ``"2GB"``, ``"1.5 GiB"``, ``"64M"``.

    Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB, and
    the bare K, M, G, T) powers of 1024.
    """
    if isinstance(value, bool):
        raise TypeError(
            f"memory_budget must be bytes (int) or a string like '512MiB', got {value!r}"
        )
    if isinstance(value, (int, np.integer)):
        size = int(value)
    elif isinstance(value, str):
        match = _BUDGET.match(value)
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in _UNITS:
            raise ValueError(
                f"memory_budget {value!r} is not a size; write e.g. 536870912, '512MiB' or '2GB'"
            )
        size = int(float(match.group(1)) * _UNITS[unit])
    else:
        raise TypeError(
            f"memory_budget must be bytes (int) or a string like '512MiB', got {value!r}"
        )
    if size <= 0:
        raise ValueError(f"memory_budget must be positive, got {value!r}")
    return size


def kept_indices(
    patch_set: PatchSet, *, included: Sequence[str], excluded: Sequence[str]
) -> npt.NDArray[np.int64]:
    """Indices of the patches a label filter keeps (the same rule as ``filter_patch_set``)."""
    if included:
        keep_set = set(included)
        keep = [i for i, lab in enumerate(patch_set.labels) if lab in keep_set]
    elif excluded:
        drop_set = set(excluded)
        keep = [i for i, lab in enumerate(patch_set.labels) if lab not in drop_set]
    else:
        return np.arange(len(patch_set), dtype=np.int64)
    return np.asarray(keep, dtype=np.int64)


@dataclass(frozen=True)
class Segment:
    """The patches of one slide inside a batch.

    ``indices`` index the slide's filtered PatchSet; ``rows`` say where each goes in the
    batch. In an unmixed stream a segment is a run: consecutive indices to consecutive
    rows (``row`` is the first).
    """

    slide: int
    indices: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int64]

    @property
    def first(self) -> int:
        return int(self.indices[0])

    @property
    def count(self) -> int:
        return int(self.indices.shape[0])

    @property
    def row(self) -> int:
        return int(self.rows[0])


@dataclass(frozen=True)
class StreamPlan:
    """Every patch of the stream in order, the batches, and the ring's geometry."""

    sets: tuple[PatchSet, ...]  # label-filtered, in input order
    slide_index: npt.NDArray[np.int64]  # per stream patch
    patch_index: npt.NDArray[np.int64]  # per stream patch: index in the slide's input set
    local_index: npt.NDArray[np.int64]  # per stream patch: index in the filtered set
    locations: npt.NDArray[np.int64]  # (N, 2) level-0 top-lefts
    widths: npt.NDArray[np.int64]
    heights: npt.NDArray[np.int64]
    labels: npt.NDArray[np.str_]
    batch_size: int
    n_levels: int
    multires: bool
    slot_bytes: int  # pixels then, for multi-resolution, (B, L, 2) int64 locations
    pixel_bytes: int  # the pixel part of a slot
    slot_count: int

    @property
    def patch_count(self) -> int:
        return int(self.slide_index.shape[0])

    @property
    def batch_count(self) -> int:
        return -(-self.patch_count // self.batch_size)

    @property
    def ring_bytes(self) -> int:
        return DECODE_OFFSET + self.slot_bytes * self.slot_count if self.slot_bytes else 0

    def slot_offset(self, slot: int) -> int:
        """Where slot ``slot`` starts in the ring: DECODE_OFFSET past a 64-byte boundary
        (the ring is page-aligned and slots are a multiple of 64 bytes), so workers decode
        on libjpeg-turbo's fast path (see :mod:`slidepatch.slide.buffers`)."""
        return DECODE_OFFSET + slot * self.slot_bytes

    def rows(self, batch: int) -> tuple[int, int]:
        """The stream positions ``[start, stop)`` of a batch."""
        start = batch * self.batch_size
        return start, min(start + self.batch_size, self.patch_count)

    def batch_size_of(self, batch: int) -> tuple[int, int]:
        """The (width, height) shared by the patches of a batch."""
        start, _ = self.rows(batch)
        return int(self.widths[start]), int(self.heights[start])

    def segments(self, batch: int) -> list[Segment]:
        """The batch's patches grouped by slide, in order of first appearance.

        Consecutive runs of one slide stay separate segments when the stream is unmixed
        (so a worker reads them as slices); in a mixed batch each slide is one segment.
        """
        start, stop = self.rows(batch)
        slides = self.slide_index[start:stop]
        local = self.local_index[start:stop]
        cuts = np.flatnonzero(np.diff(slides)) + 1
        bounds = [0, *cuts.tolist(), stop - start]
        if len(bounds) - 1 == len(set(slides.tolist())):
            return [
                Segment(
                    slide=int(slides[a]),
                    indices=local[a:b],
                    rows=np.arange(a, b, dtype=np.int64),
                )
                for a, b in itertools.pairwise(bounds)
            ]
        order = np.argsort(slides, kind="stable")
        firsts: dict[int, int] = {}
        for r in range(stop - start):
            firsts.setdefault(int(slides[r]), r)
        groups = np.split(order, np.flatnonzero(np.diff(slides[order])) + 1)
        segs = [Segment(slide=int(slides[g[0]]), indices=local[g], rows=g) for g in groups]
        return sorted(segs, key=lambda seg: firsts[seg.slide])


def plan_stream(
    *,
    sets: Sequence[PatchSet],
    kept: Sequence[npt.NDArray[np.int64]],
    batch_size: int,
    memory_budget: int,
    n_levels: int,
    multires: bool,
    num_processes: int,
    order: ShardOrder | None = None,
) -> StreamPlan:
    """Lay out the stream; raise if a batch mixes patch sizes or one slot exceeds the budget.

    Without ``order`` the stream is every patch in input order; with it, the patches of
    ``order`` (slide, index in the filtered set) in that order.
    """
    counts = np.asarray([len(ps) for ps in sets], dtype=np.int64)
    if order is None:
        slide_index = np.repeat(np.arange(len(sets), dtype=np.int64), counts)
        local_index = np.concatenate(
            [np.arange(c, dtype=np.int64) for c in counts] or [np.zeros(0, np.int64)]
        )
    else:
        slide_index = np.asarray(order.slide, dtype=np.int64).copy()
        local_index = np.asarray(order.index, dtype=np.int64).copy()
    n = int(slide_index.shape[0])
    flat = np.cumsum(counts) - counts  # where each slide starts in the concatenation
    pick: npt.NDArray[np.int64] = flat[slide_index] + local_index if n else np.zeros(0, np.int64)

    def cat(name: str) -> npt.NDArray[np.int64]:
        parts: list[npt.NDArray[np.int64]] = [getattr(ps, name) for ps in sets]
        joined: npt.NDArray[np.int64] = np.concatenate([*parts, np.zeros(0, np.int64)])
        return joined[pick]

    patch_index = np.concatenate([*kept, np.zeros(0, np.int64)]).astype(np.int64)[pick]
    widths, heights = cat("width"), cat("height")
    locations = np.stack([cat("x"), cat("y")], axis=1)
    all_labels = [lab for ps in sets for lab in ps.labels]
    labels = np.asarray([all_labels[i] for i in pick.tolist()] or [""], dtype=np.str_)[:n]
    _check_uniform_batches(sets, slide_index, widths, heights, batch_size)
    patch_bytes = int((widths * heights).max()) * 3 * n_levels if n else 0
    pixel_bytes = batch_size * patch_bytes
    loc_bytes = batch_size * n_levels * 2 * 8 if multires else 0
    slot_bytes = _round_up(_round_up(pixel_bytes, 64) + loc_bytes, 64)
    batches = -(-n // batch_size)
    fits = memory_budget // slot_bytes if slot_bytes else 0  # (the 16-byte lead is free)
    if n and fits < 1:
        raise ValueError(
            f"memory_budget of {memory_budget:,} bytes is smaller than one batch "
            f"({slot_bytes:,} bytes = batch_size {batch_size} x {patch_bytes:,} bytes per "
            "patch); lower batch_size or raise memory_budget"
        )
    slot_count = min(fits, batches, SLOTS_PER_WORKER * num_processes + 1)
    for arr in (slide_index, patch_index, local_index, locations, widths, heights, labels):
        arr.setflags(write=False)
    return StreamPlan(
        sets=tuple(sets),
        slide_index=slide_index,
        patch_index=patch_index,
        local_index=local_index,
        locations=locations,
        widths=widths,
        heights=heights,
        labels=labels,
        batch_size=batch_size,
        n_levels=n_levels,
        multires=multires,
        slot_bytes=slot_bytes,
        pixel_bytes=pixel_bytes,
        slot_count=int(slot_count),
    )


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def _check_uniform_batches(
    sets: Sequence[PatchSet],
    slide_index: npt.NDArray[np.int64],
    widths: npt.NDArray[np.int64],
    heights: npt.NDArray[np.int64],
    batch_size: int,
) -> None:
    """Every patch of a batch must have the batch's first patch's size (one array per batch)."""
    n = widths.shape[0]
    if n == 0:
        return
    first = (np.arange(n) // batch_size) * batch_size
    bad = np.flatnonzero((widths != widths[first]) | (heights != heights[first]))
    if bad.size:
        i = int(bad[0])
        j = int(first[i])
        raise SlidepatchError(
            f"batch {i // batch_size} mixes patch sizes: {int(widths[j])}x{int(heights[j])} "
            f"from {sets[int(slide_index[j])].slide_path} and {int(widths[i])}x"
            f"{int(heights[i])} from {sets[int(slide_index[i])].slide_path}; a batch is one "
            "array, so stream patches of one size (or one size per slide with a batch_size "
            "that divides every slide's patch count)"
        )
