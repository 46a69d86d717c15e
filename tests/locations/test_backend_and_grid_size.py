"""``backend=`` reaches the location classes, their PatchSet and the masks; absurd grids are
refused before anything is allocated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch.errors import LocationError, UnsupportedSlideError
from slidepatch.locations import WholeImageGridPatches
from slidepatch.masks import WSITissueMask
from slidepatch.pools import MemPatchExtractorPool


def test_backend_reaches_patch_set_and_extraction(cmu_small: Path) -> None:
    mask = WSITissueMask(wsi_file=cmu_small, level_or_minsize=1000, backend="tiffslide")
    kwargs = dict(wsi_file=cmu_small, mask_data=mask, patch_size=128, level_or_mpp=0)
    fast = WholeImageGridPatches(**kwargs)  # type: ignore[arg-type]
    other = WholeImageGridPatches(**kwargs, backend="tiffslide")  # type: ignore[arg-type]
    assert fast.patch_set.backend == "auto" and other.patch_set.backend == "tiffslide"
    assert len(other.patch_set) == len(fast.patch_set) > 0
    with MemPatchExtractorPool(
        patches_pool=[other.patch_set], proc_num_workers=1, thread_num_workers=2
    ) as pool:
        assert pool.patch_count == len(other.patch_set)
        assert pool.images.shape[1:] == (128, 128, 3)


def test_backend_reaches_location_pools_through_patches_args(cmu_small: Path) -> None:
    from slidepatch.locations import WholeImageGridPatchesPool

    pool = WholeImageGridPatchesPool(
        wsi_file_list=[cmu_small],
        mask_data_list=[np.ones((30, 22), bool)],
        patches_args={"patch_size": 512, "level_or_mpp": 0, "backend": "tiffslide"},
        proc_num_workers=1,
    )
    sets = [p.patch_set for p in pool]
    assert [s.backend for s in sets] == ["tiffslide"] and len(sets[0]) > 0


def test_unknown_backend_is_an_error(cmu_small: Path) -> None:
    with pytest.raises(UnsupportedSlideError, match="unknown backend 'nope'"):
        WholeImageGridPatches(
            wsi_file=cmu_small,
            mask_data=np.ones((30, 22), bool),
            patch_size=64,
            level_or_mpp=0,
            backend="nope",  # type: ignore[arg-type]
        )


def test_absurd_grid_is_a_one_line_error(cmu_small: Path) -> None:
    """A wrong MPP (here 0.001 µm/px patches of 1 px) would mean billions of candidates."""
    with pytest.raises(LocationError) as caught:
        WholeImageGridPatches(
            wsi_file=cmu_small,
            mask_data=np.ones((30, 22), bool),
            patch_size=1,
            level_or_mpp=0.001,
        )
    message = str(caught.value)
    assert "\n" not in message
    assert str(cmu_small) in message and "0.499 µm/px" in message
    assert "candidate patches" in message and "x" in message
