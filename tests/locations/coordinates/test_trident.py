"""TRIDENT patch files: slidepatch's are laid out as TRIDENT's and read back identically;
TRIDENT's own layout reads as the area TRIDENT reads; the level-0 patch size is exact."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from slidepatch import (
    CoordinateFileError,
    CustomPatches,
    MemPatchExtractorPool,
    MissingDependencyError,
    PatchSet,
    Slide,
    WholeImageGridPatches,
)
from slidepatch.locations.coordinates import bucket_magnification

h5py = pytest.importorskip("h5py")

TRIDENT_ATTRS = {
    "patch_size",
    "patch_size_level0",
    "level0_magnification",
    "target_magnification",
    "overlap",
    "name",
    "savetodir",
    "level0_width",
    "level0_height",
}


def _same(a: PatchSet, b: PatchSet) -> None:
    assert a.patch_data == b.patch_data
    assert a.level_or_mpp == b.level_or_mpp and type(a.level_or_mpp) is type(b.level_or_mpp)
    assert a.label_names == b.label_names
    assert a.slide_path == b.slide_path


def test_round_trip_at_an_mpp_is_identical(grid_mpp: WholeImageGridPatches, tmp_path: Path) -> None:
    path = grid_mpp.save_coordinates(tmp_path / "job", format="trident")
    assert Path(path) == tmp_path / "job/20x_256px_0px_overlap/patches/scan263_patches.h5"
    back = CustomPatches.from_coordinates(path, wsi_file=grid_mpp.wsi_file)
    assert back.patch_count == grid_mpp.patch_count > 10
    _same(back.patch_set, grid_mpp.patch_set)


def test_round_trip_at_a_level_with_overlap(
    grid_level1: WholeImageGridPatches, tmp_path: Path
) -> None:
    path = grid_level1.save_coordinates(tmp_path / "job", format="trident")
    # 0.263 µm/px is TRIDENT's 40x bucket; level 1 (downsample 2) is 20x; stride 0.5 = 64 px.
    assert Path(path).parent.parent.name == "20x_128px_64px_overlap"
    _same(CustomPatches.from_coordinates(path, wsi_file=grid_level1.wsi_file).patch_set,
          grid_level1.patch_set)  # fmt: skip


def test_attributes_hold_the_exact_level0_patch_size(
    grid_mpp: WholeImageGridPatches, tmp_path: Path
) -> None:
    path = grid_mpp.save_coordinates(tmp_path / "one.h5", format="trident")
    with h5py.File(path, "r") as f:
        coords = f["coords"]
        attrs = dict(coords.attrs)
        assert coords.dtype == np.int64 and coords.shape == (grid_mpp.patch_count, 2)
        assert coords.maxshape == (None, 2)  # TRIDENT appends along N
        assert coords[:].tolist() == [list(loc) for loc, _, _ in grid_mpp.patch_data]
    assert set(attrs) >= TRIDENT_ATTRS
    # TRIDENT's own file would say 256 * 40 // 20 = 512; the slide's real MPP says 487.
    assert attrs["patch_size_level0"] == round(256 * 0.5 / 0.263) == 487
    assert attrs["patch_size"] == 256
    assert attrs["level0_magnification"] == 40 and attrs["target_magnification"] == 20
    assert (attrs["level0_width"], attrs["level0_height"]) == (3000, 2000)
    assert attrs["name"] == "scan263" and attrs["overlap"] == 0
    assert attrs["savetodir"] == str(tmp_path)
    # The grid steps by the same exact footprint.
    xs = sorted({loc[0] for loc, _, _ in grid_mpp.patch_data})
    assert xs[1] - xs[0] in (486, 487)


def test_exact_magnifications_make_the_ratio_exact(
    grid_mpp: WholeImageGridPatches, tmp_path: Path
) -> None:
    path = grid_mpp.save_coordinates(tmp_path, format="trident", trident_magnification="exact")
    with h5py.File(path, "r") as f:
        attrs = dict(f["coords"].attrs)
    assert attrs["level0_magnification"] == pytest.approx(10 / 0.263, rel=1e-6)
    assert attrs["target_magnification"] == pytest.approx(20.0)
    # TRIDENT's patch reader takes round(patch_size * level0_mag / target_mag) level-0 px.
    ratio = attrs["level0_magnification"] / attrs["target_magnification"]
    assert round(256 * ratio) == attrs["patch_size_level0"] == 487


def test_bucket_magnifications() -> None:
    assert [bucket_magnification(m) for m in (0.12, 0.18, 0.25, 0.263, 0.5, 1.0, 2.0)] == [
        80, 60, 40, 40, 20, 10, 5,
    ]  # fmt: skip


def _trident_file(path: Path, coords: np.ndarray, **attrs: object) -> Path:
    """A patch file laid out as TRIDENT's writer lays it out (coords chunked by row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        dset = f.create_dataset(
            "coords", shape=coords.shape, maxshape=(None, 2), chunks=(1, 2), dtype=np.int64
        )
        dset[:] = coords
        for key, value in attrs.items():
            dset.attrs[key] = value
    return path


def test_tridents_own_file_reads_the_area_trident_reads(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    # synthetic_svs: 3000 x 2000 at 0.25 µm/px (40x), downsamples 1, 4, 16.
    coords = np.array([[0, 0], [512, 0], [1024, 512], [2048, 1024]], dtype=np.int64)
    path = _trident_file(
        tmp_path / "job/20x_256px_0px_overlap/patches/synthetic_patches.h5",
        coords,
        patch_size=256, patch_size_level0=256 * 40 // 20, level0_magnification=40,
        target_magnification=20, overlap=0, name="synthetic", savetodir=str(tmp_path / "job"),
        level0_width=3000, level0_height=2000,
    )  # fmt: skip
    patches = CustomPatches.from_coordinates(path, wsi_file=synthetic_svs)
    assert patches.level_or_mpp == pytest.approx(0.5)  # 512 level-0 px -> 256 px
    assert patches.patch_data == [((int(x), int(y)), (256, 256), "") for x, y in coords]
    with (
        MemPatchExtractorPool(
            patches_pool=[patches], proc_num_workers=1, thread_num_workers=2, resampling_mode="tile"
        ) as pool,
        Slide.open(synthetic_svs) as slide,
    ):
        for (image, _), (x, y) in zip(pool.patch_list, coords, strict=True):
            want = slide.read_region((int(x), int(y)), 0.5, (256, 256), resampling_mode="tile")
            np.testing.assert_array_equal(image, want)


def test_tridents_file_at_a_native_level_reads_that_level(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    path = _trident_file(
        tmp_path / "10x.h5", np.array([[256, 256]]), patch_size=64, patch_size_level0=256,
        level0_magnification=40, target_magnification=10, overlap=0, name="synthetic",
        savetodir=str(tmp_path), level0_width=3000, level0_height=2000,
    )  # fmt: skip
    patches = CustomPatches.from_coordinates(path, wsi_file=synthetic_svs, format="trident")
    assert patches.level_or_mpp == 1 and type(patches.level_or_mpp) is int
    assert patches.patch_data == [((256, 256), (64, 64), "")]


def test_empty_slide_round_trips_as_0_by_2(slide_263: Path, tmp_path: Path) -> None:
    empty = WholeImageGridPatches(
        wsi_file=slide_263, mask_data=np.zeros((20, 30), bool), patch_size=256, level_or_mpp=0
    )
    assert empty.patch_count == 0
    path = empty.save_coordinates(tmp_path, format="trident")
    with h5py.File(path, "r") as f:
        assert f["coords"].shape == (0, 2) and f["coords"].dtype == np.int64
        assert f["coords"].attrs["patch_size"] == 256
    back = CustomPatches.from_coordinates(path, wsi_file=slide_263)
    assert back.patch_count == 0 and back.level_or_mpp == 0
    # TRIDENT's own empty file (no slidepatch keys) reads too.
    own = _trident_file(
        tmp_path / "own.h5", np.zeros((0, 2), np.int64), patch_size=256, patch_size_level0=256,
        level0_magnification=40, target_magnification=40, overlap=0, name="scan263",
        savetodir=str(tmp_path), level0_width=3000, level0_height=2000,
    )  # fmt: skip
    assert CustomPatches.from_coordinates(own, wsi_file=slide_263).patch_count == 0


def test_a_file_made_for_another_slide_is_an_error(
    grid_mpp: WholeImageGridPatches, synthetic_tiff: Path, tmp_path: Path
) -> None:
    path = grid_mpp.save_coordinates(tmp_path, format="trident")
    with pytest.raises(CoordinateFileError, match=r"3000 x 2000.*2100 x 1500") as info:
        CustomPatches.from_coordinates(path, wsi_file=synthetic_tiff)
    assert "scan263_patches.h5" in str(info.value) and str(synthetic_tiff) in str(info.value)


def test_non_integer_coordinates_are_an_error(slide_263: Path, tmp_path: Path) -> None:
    path = _trident_file(tmp_path / "f.h5", np.zeros((1, 2), np.int64), patch_size=256)
    with h5py.File(path, "a") as f:
        del f["coords"]
        f.create_dataset("coords", data=np.array([[0.5, 1.0]])).attrs["patch_size"] = 256
        f["coords"].attrs["patch_size_level0"] = 256
    with pytest.raises(CoordinateFileError, match="whole level-0 pixels"):
        CustomPatches.from_coordinates(path, wsi_file=slide_263)


def test_without_h5py_the_error_names_the_extra(
    grid_mpp: WholeImageGridPatches, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingDependencyError, match=r"slidepatch\[h5\]"):
        grid_mpp.save_coordinates(tmp_path, format="trident")
    assert isinstance(MissingDependencyError("x"), ImportError)


def test_an_older_file_without_patch_size_level0_uses_the_magnifications(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    path = _trident_file(
        tmp_path / "old.h5", np.array([[100, 200]]), patch_size=224, level0_magnification=40,
        target_magnification=10, overlap=0, name="synthetic", savetodir=str(tmp_path),
    )  # fmt: skip
    patches = CustomPatches.from_coordinates(path, wsi_file=synthetic_svs)
    assert patches.level_or_mpp == 1  # 40x / 10x = downsample 4 = level 1
    assert patches.patch_data == [((100, 200), (224, 224), "")]
