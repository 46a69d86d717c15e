"""Multi-resolution centring: the reference's examples, exact level geometry, no-MPP slides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch import MppUnavailableError, PatchSet, Slide
from slidepatch.extract import multires_locations


def one_patch(path: Path, xy: tuple[int, int], level_or_mpp: int | float = 0) -> PatchSet:
    return PatchSet.from_patch_data(
        slide_path=path, level_or_mpp=level_or_mpp, patch_data=[(xy, (256, 256), "a")]
    )


def test_reference_example(cmu_small: Path) -> None:
    with Slide.open(cmu_small, mpp=0.25) as slide:
        locs = multires_locations(
            slide=slide, patch_set=one_patch(cmu_small, (512, 0)), levels_or_mpps=[0, 0.5, 0.75]
        )
    assert locs.tolist() == [[[512, 0], [384, -128], [256, -256]]]


def test_appendix_example(h1_slide: Path) -> None:
    with Slide.open(h1_slide) as slide:
        ps = PatchSet.from_patch_data(
            slide_path=h1_slide,
            level_or_mpp=0,
            patch_data=[((5888, 0), (256, 256), "tumor"), ((6144, 0), (256, 256), "stroma")],
        )
        locs = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=[0, 1, 0.5])
    assert locs.tolist() == [
        [[5888, 0], [5504, -384], [5760, -128]],
        [[6144, 0], [5760, -384], [6016, -128]],
    ]


def test_base_at_lower_level_and_non_square(h1_slide: Path) -> None:
    ps = PatchSet.from_patch_data(
        slide_path=h1_slide, level_or_mpp=1, patch_data=[((400, 100), (100, 50), "a")]
    )
    with Slide.open(h1_slide) as slide:
        locs = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=[1, 0, 2, 0.5])
    # centre = (400 + 200, 100 + 100) = (600, 200)
    assert locs.tolist() == [[[400, 100], [550, 175], [-200, -200], [500, 150]]]


def test_rounding_is_half_to_even(cmu_small: Path) -> None:
    # mpp0 0.25, size 5 at level 0: centre x = 2.5; at mpp 0.5 -> 2.5 - 5 = -2.5 -> -2
    ps = PatchSet.from_patch_data(
        slide_path=cmu_small, level_or_mpp=0, patch_data=[((0, 1), (5, 5), "a")]
    )
    with Slide.open(cmu_small, mpp=0.25) as slide:
        locs = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=[0.5])
    assert locs.tolist() == [[[-2, -2]]]  # y: 3.5 - 5 = -1.5 -> -2


def test_pure_levels_need_no_mpp(no_mpp_slide: Path) -> None:
    with Slide.open(no_mpp_slide) as slide:
        assert slide.mpp is None
        locs = multires_locations(
            slide=slide, patch_set=one_patch(no_mpp_slide, (1024, 512)), levels_or_mpps=[0, 1]
        )
        assert locs.tolist() == [[[1024, 512], [640, 128]]]
        with pytest.raises(MppUnavailableError, match=r"nompp\.tiff"):
            multires_locations(
                slide=slide, patch_set=one_patch(no_mpp_slide, (0, 0)), levels_or_mpps=[0, 0.5]
            )


def test_bad_entries(h1_slide: Path) -> None:
    with Slide.open(h1_slide) as slide:
        ps = one_patch(h1_slide, (0, 0))
        with pytest.raises(ValueError, match="empty"):
            multires_locations(slide=slide, patch_set=ps, levels_or_mpps=[])
        with pytest.raises(ValueError):
            multires_locations(slide=slide, patch_set=ps, levels_or_mpps=["1"])  # type: ignore[list-item]
        with pytest.raises(IndexError):
            multires_locations(slide=slide, patch_set=ps, levels_or_mpps=[0, 7])
        locs = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=[np.int64(1)])
        assert locs.shape == (1, 1, 2)


def test_entries_are_parsed_once_into_resolutions(h1_slide: Path) -> None:
    """``levels_or_mpps`` becomes Level / Mpp values; the same values may be passed parsed."""
    from slidepatch import Level, Mpp
    from slidepatch.extract.multires import check_resolutions

    assert check_resolutions([1, 1.0, np.int64(2)]) == [Level(1), Mpp(1.0), Level(2)]
    assert [r.value for r in check_resolutions([np.int64(2), 0.5])] == [2, 0.5]
    with pytest.raises(ValueError, match="levels_or_mpps must be a list"):
        check_resolutions("1")
    ps = one_patch(h1_slide, (6144, 0))
    with Slide.open(h1_slide) as slide:
        raw = multires_locations(slide=slide, patch_set=ps, levels_or_mpps=[0, 1, 0.5])
        parsed = multires_locations(
            slide=slide, patch_set=ps, levels_or_mpps=[Level(0), Level(1), Mpp(0.5)]
        )
    assert raw.tolist() == parsed.tolist() == [[[6144, 0], [5760, -384], [6016, -128]]]
