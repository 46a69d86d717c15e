"""The memory pools' sink: one slide's patches at their offsets in a shared arena.

Patch ``i`` of the set occupies ``levels x h_i x w_i x 3`` bytes starting at
``pixel_offset + sum of the earlier patches' sizes`` (patch-major, then level); a
multi-resolution read also puts its ``(N, L, 2)`` int64 locations at ``locations_offset``.
Two ways in: :class:`MappedArena` decodes straight into a mapping of the arena;
:class:`PwriteArena` (Linux) writes each reading thread's warm buffer with ``pwrite``,
never mapping the arena (mapping fresh shared pages costs a fault per 4 KiB page).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from slidepatch.errors import ExtractionError
from slidepatch.extract.sink import Buffer, Destination
from slidepatch.locations.patchset import PatchSet


def patch_nbytes(patch_set: PatchSet, levels: int) -> npt.NDArray[np.int64]:
    """Bytes each patch takes in the arena (all its levels)."""
    return patch_set.width * patch_set.height * 3 * levels


def patch_starts(patch_set: PatchSet, *, levels: int, pixel_offset: int) -> npt.NDArray[np.int64]:
    """Where each patch's bytes start (its first level's)."""
    if not len(patch_set):
        return np.zeros(0, dtype=np.int64)
    sizes = np.cumsum(patch_nbytes(patch_set, levels))[:-1]
    return (pixel_offset + np.concatenate(([0], sizes))).astype(np.int64)


def pwrite_all(fd: int, data: npt.NDArray[np.uint8], offset: int) -> None:
    """Write all bytes of the C-contiguous ``data`` at ``offset`` (``pwrite`` may write
    less than asked)."""
    view = data.data.cast("B")
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(f"pwrite wrote {written} bytes")
        view = view[written:]
        offset += written


@dataclass(frozen=True)
class ArenaLayout:
    """Where each patch of each resolution of one PatchSet lies in the arena."""

    patch_set: PatchSet
    levels: int
    pixel_offset: int
    locations_offset: int

    def starts(self, level: int) -> npt.NDArray[np.int64]:
        """Where each patch's image of resolution number ``level`` starts."""
        ps = self.patch_set
        first = patch_starts(ps, levels=self.levels, pixel_offset=self.pixel_offset)
        return first + level * ps.height * ps.width * 3


class MappedArena:
    """Decodes straight into ``flat``, a mapping of the arena (or any flat uint8 array)."""

    def __init__(self, flat: npt.NDArray[np.uint8], *, layout: ArenaLayout) -> None:
        self.flat = flat
        self.layout = layout

    def destination(self, level: int) -> Destination:
        ps = self.layout.patch_set
        views = []
        for i, start in enumerate(self.layout.starts(level).tolist()):
            h, w = int(ps.height[i]), int(ps.width[i])
            views.append(self.flat[start : start + h * w * 3].reshape(h, w, 3))
        return views

    def put_locations(self, locations: npt.NDArray[np.int64]) -> None:
        data = locations.view(np.uint8).reshape(-1)
        start = self.layout.locations_offset
        self.flat[start : start + data.size] = data


class PwriteArena:
    """Writes each decoded patch with ``pwrite`` on ``fd``, a descriptor on the arena."""

    def __init__(self, *, fd: int, layout: ArenaLayout) -> None:
        self.fd = fd
        self.layout = layout

    def destination(self, level: int) -> Destination:
        starts = self.layout.starts(level)

        def put(k: int, pixels: Buffer) -> None:
            self._write(int(starts[k]), pixels)

        return put

    def put_locations(self, locations: npt.NDArray[np.int64]) -> None:
        self._write(self.layout.locations_offset, locations.view(np.uint8).reshape(-1))

    def _write(self, offset: int, data: Buffer) -> None:
        try:
            pwrite_all(self.fd, np.ascontiguousarray(data), offset)
        except OSError as exc:
            raise ExtractionError(
                self.layout.patch_set.slide_path,
                f"cannot write to shared memory at byte {offset}: {exc}",
            ) from exc
