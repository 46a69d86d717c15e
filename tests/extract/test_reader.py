"""read_patches_into: pixels equal direct reads, into arrays or per-patch buffers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch import ExtractionError, PatchSet, ResamplingRequiredError, Slide
from slidepatch.extract import read_patches_into

PATCHES = [
    ((0, 0), (128, 128), "a"),
    ((2100, 2900), (128, 128), "b"),
    ((700, 300), (128, 128), "a"),
]


@pytest.fixture(scope="module")
def cmu(cmu_small: Path) -> Slide:
    return Slide.open(cmu_small)


def make_set(path: Path, data: list, level_or_mpp: int | float = 0) -> PatchSet:
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=level_or_mpp, patch_data=data)


@pytest.mark.parametrize("num_workers", [1, 3])
def test_array_out_matches_direct_reads(cmu: Slide, cmu_small: Path, num_workers: int) -> None:
    ps = make_set(cmu_small, PATCHES)
    out = np.zeros((3, 128, 128, 3), np.uint8)
    read_patches_into(slide=cmu, patch_set=ps, out=out, num_workers=num_workers, chunksize=2)
    for k, ((x, y), size, _) in enumerate(PATCHES):
        assert np.array_equal(out[k], cmu.read_region((x, y), 0, size))
    # the patch hanging over the bottom-right corner is padded white
    assert (out[1][-1, -1] == 255).all()


def test_indices_and_ragged_buffers(cmu: Slide, cmu_small: Path) -> None:
    data = [((10, 20), (64, 32), "a"), ((300, 400), (50, 70), "b"), ((5, 5), (16, 16), "c")]
    ps = make_set(cmu_small, data)
    bufs = [np.zeros((16, 16, 3), np.uint8), np.zeros((32, 64, 3), np.uint8)]
    read_patches_into(slide=cmu, patch_set=ps, out=bufs, indices=[2, 0], num_workers=2)
    assert np.array_equal(bufs[0], cmu.read_region((5, 5), 0, (16, 16)))
    assert np.array_equal(bufs[1], cmu.read_region((10, 20), 0, (64, 32)))


def test_locations_override_is_indexed_by_patch(cmu: Slide, cmu_small: Path) -> None:
    ps = make_set(cmu_small, PATCHES)
    locs = np.array([[1, 2], [3, 4], [-50, 60]])
    out = np.zeros((1, 128, 128, 3), np.uint8)
    read_patches_into(slide=cmu, patch_set=ps, out=out, indices=[2], locations=locs)
    assert np.array_equal(out[0], cmu.read_region((-50, 60), 0, (128, 128)))


def test_level_or_mpp_override_and_resampling(cmu: Slide, cmu_small: Path) -> None:
    ps = make_set(cmu_small, PATCHES[:1])
    out = np.zeros((1, 128, 128, 3), np.uint8)
    with pytest.raises(ResamplingRequiredError):
        read_patches_into(slide=cmu, patch_set=ps, out=out, level_or_mpp=1.0)
    read_patches_into(slide=cmu, patch_set=ps, out=out, level_or_mpp=1.0, resampling_mode="tile")
    expected = cmu.read_region((0, 0), 1.0, (128, 128), resampling_mode="tile")
    assert np.array_equal(out[0], expected)


def test_failing_patch_names_slide_and_patch(cmu: Slide, cmu_small: Path) -> None:
    ps = make_set(cmu_small, [((0, 0), (8, 8), "a"), ((99999, 0), (8, 8), "b")])
    out = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ExtractionError, match=r"patch 1 at level-0 \(99999, 0\)") as info:
        read_patches_into(slide=cmu, patch_set=ps, out=out, num_workers=2)
    assert info.value.path == str(cmu_small)


def test_bad_arguments(cmu: Slide, cmu_small: Path) -> None:
    ps = make_set(cmu_small, PATCHES)
    out = np.zeros((3, 128, 128, 3), np.uint8)
    with pytest.raises(ValueError, match="out holds 3"):
        read_patches_into(slide=cmu, patch_set=ps, out=out, indices=[0])
    with pytest.raises(IndexError):
        read_patches_into(slide=cmu, patch_set=ps, out=out, indices=[0, 1, 3])
    with pytest.raises(ValueError, match="locations must have shape"):
        read_patches_into(slide=cmu, patch_set=ps, out=out, locations=np.zeros((2, 2)))
    with pytest.raises(TypeError):
        read_patches_into(slide=cmu, patch_set=ps, out=out, chunksize=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        read_patches_into(slide=cmu, patch_set=ps, out=np.zeros((3, 64, 64, 3), np.uint8))
