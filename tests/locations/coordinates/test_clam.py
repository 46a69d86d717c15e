"""CLAM patch files: written as CLAM lays them out, read back identically; CLAM's own read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slidepatch import CoordinateFileError, CustomPatches, WholeImageGridPatches

h5py = pytest.importorskip("h5py")


def test_round_trip_and_attributes(grid_level1: WholeImageGridPatches, tmp_path: Path) -> None:
    path = grid_level1.save_coordinates(tmp_path / "clam", format="clam")
    assert Path(path) == tmp_path / "clam/patches/scan263.h5"
    with h5py.File(path, "r") as f:
        coords = f["coords"]
        attrs = dict(coords.attrs)
        assert coords[:].tolist() == [list(loc) for loc, _, _ in grid_level1.patch_data]
    assert attrs["patch_size"] == 128 and attrs["patch_level"] == 1
    assert attrs["downsample"].tolist() == [2.0, 2.0]
    assert attrs["level_dim"].tolist() == attrs["downsampled_level_dim"].tolist() == [1500, 1000]
    assert attrs["name"] == "scan263" and attrs["save_path"] == str(tmp_path / "clam")
    back = CustomPatches.from_coordinates(path, wsi_file=grid_level1.wsi_file)
    assert back.patch_data == grid_level1.patch_data
    assert back.level_or_mpp == 1 and back.patch_labels == ["stroma"]


def test_an_mpp_that_matches_no_level_cannot_be_clam(
    grid_mpp: WholeImageGridPatches, tmp_path: Path
) -> None:
    with pytest.raises(CoordinateFileError, match="matches no level") as info:
        grid_mpp.save_coordinates(tmp_path, format="clam")
    assert "scan263.svs" in str(info.value)
    assert not (tmp_path / "patches").exists()


def test_an_mpp_that_matches_a_level_is_written_at_that_level(
    slide_263: Path, tmp_path: Path
) -> None:
    at_mpp = WholeImageGridPatches(
        wsi_file=slide_263, mask_data=np.ones((20, 30), bool), patch_size=200,
        level_or_mpp=0.526,
    )  # fmt: skip
    path = at_mpp.save_coordinates(tmp_path / "c.h5", format="clam")
    with h5py.File(path, "r") as f:
        assert f["coords"].attrs["patch_level"] == 1 and f["coords"].attrs["patch_size"] == 200
    back = CustomPatches.from_coordinates(path, wsi_file=slide_263)
    assert back.level_or_mpp == 0.526 and back.patch_data == at_mpp.patch_data


def _clam_file(path: Path, coords: np.ndarray, level_dim: tuple[int, int]) -> Path:
    """A patch file as CLAM's writer lays it out: int64 coords, the level's downsample/size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("coords", data=coords, maxshape=(None, 2), chunks=(1, 2))
        attrs = {
            "patch_size": 256, "patch_level": 1, "downsample": np.array([4.0, 4.0]),
            "downsampled_level_dim": np.array(level_dim), "level_dim": np.array(level_dim),
            "name": path.stem, "save_path": str(path.parent.parent),
        }  # fmt: skip
        for key, value in attrs.items():
            dset.attrs[key] = value
    return path


def test_clams_own_file_reads_at_its_level(synthetic_svs: Path, tmp_path: Path) -> None:
    coords = np.array([[0, 0], [1024, 1024]], dtype=np.int64)
    path = _clam_file(tmp_path / "patches" / "synthetic.h5", coords, (750, 500))
    back = CustomPatches.from_coordinates(path, wsi_file=synthetic_svs)
    assert back.level_or_mpp == 1
    assert back.patch_data == [((0, 0), (256, 256), ""), ((1024, 1024), (256, 256), "")]


def test_a_clam_file_of_another_slide_is_an_error(synthetic_svs: Path, tmp_path: Path) -> None:
    path = _clam_file(tmp_path / "patches" / "synthetic.h5", np.zeros((1, 2), np.int64), (751, 500))
    with pytest.raises(CoordinateFileError, match=r"751 x 500 px at level 1.*750 x 500"):
        CustomPatches.from_coordinates(path, wsi_file=synthetic_svs)


def test_an_h5_of_neither_tool_is_an_error(slide_263: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("coords", data=np.zeros((1, 2), np.int64)).attrs["foo"] = 1
    with pytest.raises(CoordinateFileError, match=r"neither a TRIDENT.*nor a CLAM"):
        CustomPatches.from_coordinates(path, wsi_file=slide_263)
