"""PatchSet: ``level_or_mpp`` parsed once into ``resolution``, kept through copies and pickles."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from slidepatch import Level, Mpp, PatchSet, WholeImageGridPatches


def _patch_set(level_or_mpp: object) -> PatchSet:
    return PatchSet.from_patch_data(
        slide_path="/slides/a.svs",
        level_or_mpp=level_or_mpp,  # type: ignore[arg-type]
        patch_data=[((0, 0), (32, 32), "t"), ((64, 0), (32, 32), "n")],
    )


def test_level_1_and_1_um_per_px_are_different_resolutions() -> None:
    level, mpp = _patch_set(1), _patch_set(1.0)
    assert level.resolution == Level(1) and mpp.resolution == Mpp(1.0)
    assert level.resolution != mpp.resolution
    # The reference's value and type are kept for users.
    assert type(level.level_or_mpp) is int and type(mpp.level_or_mpp) is float
    assert level.patch_data == mpp.patch_data


def test_a_numpy_level_is_parsed_into_a_plain_int_once() -> None:
    ps = _patch_set(np.int64(2))
    assert ps.resolution == Level(2)
    assert ps.level_or_mpp == 2 and type(ps.level_or_mpp) is int
    assert _patch_set(np.float32(0.25)).resolution == Mpp(0.25)


@pytest.mark.parametrize("bad", [True, -1, 0.0, "1"])
def test_a_bad_level_or_mpp_is_refused_when_the_set_is_built(bad: object) -> None:
    with pytest.raises(ValueError, match="level_or_mpp"):
        _patch_set(bad)


def test_pickles_copies_and_selections_keep_the_resolution() -> None:
    ps = _patch_set(1.0)
    back = pickle.loads(pickle.dumps(ps))
    assert back.resolution == Mpp(1.0) and type(back.level_or_mpp) is float
    assert ps.select([1]).resolution == Mpp(1.0)
    moved = replace(ps, level_or_mpp=2)
    assert moved.resolution == Level(2) and moved.level_or_mpp == 2


def test_a_set_pickled_before_it_carried_a_resolution_gets_one() -> None:
    ps = _patch_set(1)
    state = ps.__getstate__()
    del state["resolution"]
    old = PatchSet.__new__(PatchSet)
    old.__setstate__(state)
    assert old.resolution == Level(1) and old.patch_data == ps.patch_data


def test_location_classes_hand_on_the_parsed_value(synthetic_svs: Path) -> None:
    grid = WholeImageGridPatches(
        wsi_file=synthetic_svs,
        mask_data=np.ones((20, 30), bool),
        patch_size=64,
        level_or_mpp=np.int64(1),  # type: ignore[arg-type]
    )
    assert grid.level_or_mpp == 1 and type(grid.level_or_mpp) is int
    assert grid.patch_set.resolution == Level(1)
    mpp = WholeImageGridPatches(
        wsi_file=synthetic_svs, mask_data=np.ones((20, 30), bool), patch_size=64, level_or_mpp=1.0
    )
    assert mpp.patch_set.resolution == Mpp(1.0)
    assert mpp.patch_data == grid.patch_data  # level 1 is 1.0 µm/px on this slide
