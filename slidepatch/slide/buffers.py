"""Pixel buffers placed where libjpeg-turbo decodes into them fastest.

libjpeg-turbo's x86 SIMD colour converters (YCbCr to RGB, plain and merged-upsampling)
write an output row with non-temporal stores, and end each call with a store fence, when
the row starts on a 32-byte boundary; otherwise they use ordinary cached stores. Measured
on the benchmark slides (one core, 256 px tiles), decoding into a 32-byte aligned buffer
runs at about 2,450 tiles/s and into one that starts 16 bytes past a boundary at about
3,560/s, 30 % less time per tile; the non-temporal path also pushes the pixels out of
the cache right before they are copied or encoded. ``python benchmarks/bench_read.py``
prints both rates.

So every buffer slidepatch decodes into starts :data:`DECODE_OFFSET` bytes past a
32-byte boundary: :func:`decode_buffer` makes one, and the memory pools lay out their
shared blocks the same way. A caller's buffer that is aligned is decoded through a
per-thread scratch buffer and copied (a copy costs far less than the slow path).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import numpy.typing as npt

#: The boundary libjpeg-turbo's AVX2 code tests for its non-temporal path.
ALIGNMENT = 32
#: Where, past such a boundary, decode destinations start.
DECODE_OFFSET = 16


def decode_buffer(shape: tuple[int, ...]) -> npt.NDArray[np.uint8]:
    """An uninitialised uint8 array of ``shape`` starting DECODE_OFFSET past a boundary."""
    count = math.prod(shape)
    raw = np.empty(count + ALIGNMENT, dtype=np.uint8)
    start = (DECODE_OFFSET - raw.ctypes.data) % ALIGNMENT
    return raw[start : start + count].reshape(shape)


def decodes_fast_into(buffer: npt.NDArray[np.uint8]) -> bool:
    """Whether decoding straight into ``buffer`` takes libjpeg-turbo's cached-store path.

    Only the first row is checked. Rows of a patch whose width x 3 is a multiple of 32
    bytes (256 px, 224 px...) all share its placement; for other widths the rows fall on
    and off the boundary whatever the start, so part of them take the slow path anyway.
    """
    return bool(buffer.ctypes.data % ALIGNMENT)


class ScratchBuffers:
    """One reusable decode buffer per thread and shape (for destinations that are aligned)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, shape: tuple[int, ...]) -> npt.NDArray[np.uint8]:
        buffers: dict[tuple[int, ...], npt.NDArray[np.uint8]] | None = getattr(
            self._local, "buffers", None
        )
        if buffers is None:
            buffers = self._local.buffers = {}
        buffer = buffers.get(shape)
        if buffer is None:
            buffer = buffers[shape] = decode_buffer(shape)
        return buffer
