"""The stream's sink: the patches of one batch, decoded straight into its ring slot.

A slot holds ``count`` images ``([L,] h, w, 3)`` and, for multi-resolution streams, their
``(count, L, 2)`` int64 level-0 locations after the pixels (64-byte aligned). A batch is
filled by segments, each some patches of one slide, into consecutive rows or scattered to
given rows (mixed batches).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from slidepatch.extract.sink import Buffer, Destination


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


class RingSegment:
    """One segment's rows of a slot: ``row`` onwards, or ``rows`` (one per patch)."""

    def __init__(
        self,
        images: Buffer,
        locations: npt.NDArray[np.int64] | None,
        *,
        row: int,
        count: int,
        rows: npt.NDArray[np.int64] | None = None,
    ) -> None:
        self._images = images
        self._locations = locations
        self._rows = rows
        self._where: npt.NDArray[np.int64] | slice = (
            slice(row, row + count) if rows is None else rows
        )
        self._multires = locations is not None

    def destination(self, level: int) -> Destination:
        images, rows = self._images, self._rows
        if rows is None:
            block = images[self._where]
            return block[:, level] if self._multires else block
        if self._multires:
            return [images[r, level] for r in rows]
        return [images[r] for r in rows]

    def put_locations(self, locations: npt.NDArray[np.int64]) -> None:
        assert self._locations is not None, "a single-resolution slot holds no locations"
        self._locations[self._where] = locations
