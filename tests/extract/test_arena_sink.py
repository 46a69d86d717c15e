"""Arena sinks: a slide's patches at their offsets, mapped or written with pwrite."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from slidepatch import ExtractionError, PatchSet, Slide
from slidepatch.extract.arena_sink import (
    ArenaLayout,
    MappedArena,
    PwriteArena,
    patch_nbytes,
    patch_starts,
)
from slidepatch.extract.multires import multires_locations
from slidepatch.extract.sink import read_to_sink

SPOTS = [((0, 0), (32, 32), "a"), ((256, 128), (48, 16), "b"), ((512, 64), (16, 40), "a")]


def _set(path: Path) -> PatchSet:
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=0, patch_data=SPOTS)


def _expect_block(
    slide: Slide, ps: PatchSet, *, levels: list[int], offset: int, size: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The arena as the layout says it should be, from direct reads (and the locations)."""
    flat = np.zeros(size, np.uint8)
    starts = patch_starts(ps, levels=len(levels), pixel_offset=offset)
    locations = None
    if len(levels) > 1:
        locations = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=levels)
    for i, (_, (w, h), _) in enumerate(SPOTS):
        for j, level in enumerate(levels):
            x, y = SPOTS[i][0] if locations is None else (int(v) for v in locations[i, j])
            image = slide.read_region((x, y), level, (w, h))
            start = int(starts[i]) + j * w * h * 3
            flat[start : start + image.size] = image.reshape(-1)
    return flat, locations


@pytest.mark.parametrize("levels", [[0], [0, 1]])
@pytest.mark.parametrize("how", ["mapped", "pwrite"])
def test_patches_land_at_their_offsets(
    h1_slide: Path, tmp_path: Path, levels: list[int], how: str
) -> None:
    ps = _set(h1_slide)
    offset = 128
    pixels = int(patch_nbytes(ps, len(levels)).sum())
    loc_offset = offset + pixels
    size = loc_offset + len(ps) * len(levels) * 16
    multires = len(levels) > 1
    layout = ArenaLayout(
        patch_set=ps, levels=len(levels), pixel_offset=offset, locations_offset=loc_offset
    )
    with Slide.open(h1_slide) as slide:
        want, locations = _expect_block(slide, ps, levels=levels, offset=offset, size=size)
        if how == "mapped":
            flat = np.zeros(size, np.uint8)
            sink: MappedArena | PwriteArena = MappedArena(flat, layout=layout)
        else:
            path = tmp_path / "arena"
            path.write_bytes(bytes(size))
            fd = os.open(path, os.O_RDWR)
            sink = PwriteArena(fd=fd, layout=layout)
        read_to_sink(
            slide=slide,
            patch_set=ps,
            sink=sink,
            levels_or_mpps=levels if multires else None,
            resampling_mode=None,
            num_workers=2,
            chunksize=1,
        )
    if how == "pwrite":
        os.close(fd)
        flat = np.frombuffer(path.read_bytes(), np.uint8)
    np.testing.assert_array_equal(flat[:loc_offset], want[:loc_offset])
    if multires:
        assert locations is not None
        got = flat[loc_offset:].view(np.int64).reshape(len(ps), len(levels), 2)
        np.testing.assert_array_equal(got, locations)
    else:
        assert not flat[loc_offset:].any()


def test_a_failed_pwrite_names_the_slide_and_the_byte(h1_slide: Path, tmp_path: Path) -> None:
    ps = _set(h1_slide)
    path = tmp_path / "arena"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)
    try:
        layout = ArenaLayout(patch_set=ps, levels=1, pixel_offset=64, locations_offset=0)
        sink = PwriteArena(fd=fd, layout=layout)
        with (
            Slide.open(h1_slide) as slide,
            pytest.raises(
                ExtractionError, match=r"h1.svs.*cannot write to shared memory at byte 64"
            ),
        ):
            read_to_sink(
                slide=slide,
                patch_set=ps,
                sink=sink,
                levels_or_mpps=None,
                resampling_mode=None,
                num_workers=1,
                chunksize=1,
            )
    finally:
        os.close(fd)
