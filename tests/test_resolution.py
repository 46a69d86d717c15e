"""Resolution values: ``level_or_mpp`` parsed once into Level / Mpp, written as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch import Level, Mpp, Slide
from slidepatch.extract.naming import level_comment
from slidepatch.resolution import resolution_of


@pytest.mark.parametrize(
    ("value", "parsed", "text", "comment"),
    [
        (1, Level(1), "1", "level1"),
        (np.int64(2), Level(2), "2", "level2"),
        (0.5, Mpp(0.5), "0.5", "mpp0.5"),
        (np.float32(0.25), Mpp(0.25), "0.25", "mpp0.25"),
        (1.0, Mpp(1.0), "1.0", "mpp1.0"),
    ],
)
def test_parsed_once_and_written_as_the_reference_value(
    value: object, parsed: object, text: str, comment: str
) -> None:
    res = resolution_of(value)
    assert res == parsed and resolution_of(res) is res
    assert res.text == repr(res.value) == text  # manifests and fingerprints as before
    assert level_comment(res.value) == comment  # multi-resolution file names as before


def test_a_level_and_the_same_number_as_mpp_are_different_keys() -> None:
    assert 1 == 1.0 and Level(1) != Mpp(1.0)
    assert len({Level(1): "a", Mpp(1.0): "b"}) == 2


@pytest.mark.parametrize("bad", [True, -1, 0.0, float("nan"), "1"])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="level_or_mpp"):
        resolution_of(bad)


def test_slide_plans_a_resolution_value(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        assert slide.plan(Level(1)) == slide.plan(1)
        assert slide.plan(Mpp(1.0)) == slide.plan(1.0)
        assert slide.plan(Mpp(1.0)).level == 1


def _csv_rows(folder: Path) -> list[dict[str, str]]:
    import csv

    (path,) = sorted(folder.rglob("manifest__*.csv"))
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_level_1_and_1_um_per_px_stay_apart_in_file_names_and_manifests(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    """On this slide level 1 *is* 1.0 µm/px: same pixels, yet two entries, named apart."""
    from PIL import Image

    from slidepatch import CustomPatches, MultiResDiskPatchExtractorPool

    patches = CustomPatches(
        wsi_file=synthetic_svs, patch_data=[((800, 400), (64, 64), "t")], level_or_mpp=1
    )
    MultiResDiskPatchExtractorPool.reset_global_counter()
    pool = MultiResDiskPatchExtractorPool(
        patches_pool=[patches],
        output_dir=str(tmp_path),
        levels_or_mpps=[1, 1.0],
        image_type="png",
        thread_num_workers=1,
        proc_num_workers=1,
    )
    MultiResDiskPatchExtractorPool.remove_global_counter()
    assert pool.patch_count == 2
    level_file, mpp_file = sorted(tmp_path.rglob("*.png"), key=lambda p: p.name)
    assert "_level1_" in level_file.name and "_mpp1.0_" in mpp_file.name
    assert np.array_equal(np.asarray(Image.open(level_file)), np.asarray(Image.open(mpp_file)))
    rows = sorted(_csv_rows(tmp_path), key=lambda r: r["path"])
    assert [(r["level_or_mpp"], r["resolution_kind"]) for r in rows] == [
        ("1", "level"),
        ("1.0", "mpp"),
    ]
