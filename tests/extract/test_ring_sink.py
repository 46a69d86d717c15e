"""Ring sink: a batch's patches into its slot, by consecutive or scattered rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch import PatchSet, Slide
from slidepatch.extract.multires import multires_locations
from slidepatch.extract.ring_sink import RingSegment, slot_views
from slidepatch.extract.sink import read_to_sink

SPOTS = [((0, 0), (24, 16), "a"), ((256, 128), (24, 16), "b"), ((512, 64), (24, 16), "a")]


def _read(slide: Slide, ps: PatchSet, sink: RingSegment, levels: list[int] | None) -> None:
    read_to_sink(
        slide=slide,
        patch_set=ps,
        sink=sink,
        levels_or_mpps=levels,
        resampling_mode=None,
        num_workers=2,
        chunksize=1,
    )


@pytest.mark.parametrize("rows", [None, [4, 0, 2]])
@pytest.mark.parametrize("levels", [None, [0, 1]])
def test_segments_fill_their_rows(
    h1_slide: Path, rows: list[int] | None, levels: list[int] | None
) -> None:
    ps = PatchSet.from_patch_data(slide_path=h1_slide, level_or_mpp=0, patch_data=SPOTS)
    count, n_levels = 5, 1 if levels is None else len(levels)
    pixel_bytes = count * n_levels * 16 * 24 * 3
    flat = np.zeros(64 + pixel_bytes + 64 + count * n_levels * 16, np.uint8)
    images, locs = slot_views(
        flat,
        64,
        pixel_bytes,
        count=count,
        size=(24, 16),
        n_levels=n_levels,
        multires=levels is not None,
    )
    assert images.shape == ((count, 16, 24, 3) if levels is None else (count, n_levels, 16, 24, 3))
    assert (locs is None) == (levels is None)
    where = list(range(1, 4)) if rows is None else rows
    sink = RingSegment(
        images, locs, row=1, count=len(ps), rows=None if rows is None else np.asarray(rows)
    )
    with Slide.open(h1_slide) as slide:
        _read(slide, ps, sink, levels)
        empty = sorted(set(range(count)) - set(where))
        assert not images[empty].any()
        if levels is None:
            for k, r in enumerate(where):
                np.testing.assert_array_equal(
                    images[r], slide.read_region(SPOTS[k][0], 0, (24, 16))
                )
            return
        assert locs is not None
        want = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=levels)
        np.testing.assert_array_equal(locs[where], want)
        for k, r in enumerate(where):
            for j, level in enumerate(levels):
                x, y = (int(v) for v in want[k, j])
                np.testing.assert_array_equal(
                    images[r, j], slide.read_region((x, y), level, (24, 16))
                )
