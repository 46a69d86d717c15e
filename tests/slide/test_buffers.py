"""Decode buffers sit off libjpeg-turbo's 32-byte boundary, and alignment never changes pixels."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from slidepatch.slide.backends.tiled_tiff import TiledTiffBackend
from slidepatch.slide.buffers import (
    ALIGNMENT,
    DECODE_OFFSET,
    ScratchBuffers,
    decode_buffer,
    decodes_fast_into,
)
from slidepatch.slide.slide import Slide

WHITE = (255, 255, 255)


def buffer_at(offset: int, shape: tuple[int, int, int]) -> npt.NDArray[np.uint8]:
    """An array of ``shape`` starting exactly ``offset`` bytes past a 32-byte boundary."""
    count = int(np.prod(shape))
    raw = np.zeros(count + 2 * ALIGNMENT, dtype=np.uint8)
    start = (offset - raw.ctypes.data) % ALIGNMENT
    return raw[start : start + count].reshape(shape)


@pytest.mark.parametrize("shape", [(256, 256, 3), (7,), (1, 1, 3), (240, 240, 3)])
def test_decode_buffer_starts_off_the_boundary(shape: tuple[int, ...]) -> None:
    buf = decode_buffer(shape)
    assert buf.shape == shape and buf.dtype == np.uint8 and buf.flags.c_contiguous
    assert buf.ctypes.data % ALIGNMENT == DECODE_OFFSET
    assert decodes_fast_into(buf)
    assert not decodes_fast_into(buffer_at(0, (2, 2, 3)))


def test_scratch_buffers_are_per_thread_and_reused() -> None:
    scratch = ScratchBuffers()
    mine = scratch.get((4, 4, 3))
    assert scratch.get((4, 4, 3)) is mine
    assert scratch.get((8, 4, 3)) is not mine
    theirs: list[npt.NDArray[np.uint8]] = []
    thread = threading.Thread(target=lambda: theirs.append(scratch.get((4, 4, 3))))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and decodes_fast_into(theirs[0])


@pytest.mark.parametrize("offset", [0, 16, 1])
def test_tile_aligned_reads_give_the_same_pixels_wherever_out_starts(
    synthetic_svs: Path, offset: int
) -> None:
    """A 32-byte aligned ``out`` goes through the scratch buffer; the pixels are the same."""
    backend = TiledTiffBackend(str(synthetic_svs))
    try:
        tw, th = backend.tile_size(0)
        reference = np.empty((th, tw, 3), dtype=np.uint8)
        backend.read_window(level=0, x=tw, y=th, out=reference, fill=WHITE)
        backend.tile_cache.clear()
        out = buffer_at(offset, (th, tw, 3))
        backend.read_window(level=0, x=tw, y=th, out=out, fill=WHITE)
        assert np.array_equal(out, reference)
        assert backend.tile_cache.stats == (0, 0)  # both went straight to out, not the cache
    finally:
        backend.close()


def test_read_region_returns_decode_buffers(cmu_small: Path) -> None:
    with Slide.open(cmu_small) as slide:
        patch = slide.read_region((0, 0), 0, (240, 240))
        assert decodes_fast_into(patch)
