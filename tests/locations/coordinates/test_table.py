"""Plain CSV coordinate tables: any patch sizes, both ways; a bare x, y table reads too."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from slidepatch import (
    CoordinateFileError,
    CustomPatches,
    MissingDependencyError,
    WholeImageGridPatches,
)


def test_round_trip_with_mixed_sizes_and_labels(slide_263: Path, tmp_path: Path) -> None:
    patches = CustomPatches(
        wsi_file=slide_263,
        patch_data=[((10, 20), (64, 32), "a,b"), ((500, 600), (128, 128), "tumor")],
        level_or_mpp=2,
        patch_labels=["a,b", "tumor", "unused"],
    )
    path = patches.save_coordinates(tmp_path, format="csv")
    assert Path(path) == tmp_path / "scan263.csv"
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["width_level0"] == "256" and rows[0]["height_level0"] == "128"  # ds 4
    assert rows[1]["level_or_mpp"] == "2"
    back = CustomPatches.from_coordinates(path, wsi_file=slide_263)
    assert back.patch_data == patches.patch_data and back.level_or_mpp == 2
    # TRIDENT, CLAM and hs2p hold one square size: a clear error, not a wrong file.
    with pytest.raises(CoordinateFileError, match="one square patch size"):
        patches.save_coordinates(tmp_path, format="trident")


def test_an_mpp_round_trips_as_a_float(grid_mpp: WholeImageGridPatches, tmp_path: Path) -> None:
    path = grid_mpp.save_coordinates(tmp_path / "a.csv", format="csv")
    back = CustomPatches.from_coordinates(path, wsi_file=grid_mpp.wsi_file)
    assert back.level_or_mpp == 0.5 and isinstance(back.level_or_mpp, float)
    assert back.patch_data == grid_mpp.patch_data


def test_a_bare_xy_table_takes_size_and_resolution_from_keywords(
    slide_263: Path, tmp_path: Path
) -> None:
    path = tmp_path / "points.csv"
    path.write_text("x,y\n0,0\n300,400\n")
    with pytest.raises(CoordinateFileError, match="patch_size="):
        CustomPatches.from_coordinates(path, wsi_file=slide_263)
    back = CustomPatches.from_coordinates(
        path, wsi_file=slide_263, patch_size=96, level_or_mpp=1, label="roi"
    )
    assert back.level_or_mpp == 1
    assert back.patch_data == [((0, 0), (96, 96), "roi"), ((300, 400), (96, 96), "roi")]


def test_empty_and_duplicate_tables(slide_263: Path, tmp_path: Path) -> None:
    empty = CustomPatches(wsi_file=slide_263, patch_data=[], level_or_mpp=0)
    path = empty.save_coordinates(tmp_path, format="csv")
    assert CustomPatches.from_coordinates(path, wsi_file=slide_263).patch_count == 0
    dup = tmp_path / "dup.csv"
    dup.write_text("x,y,width,height\n5,5,64,64\n5,5,64,64\n")
    with pytest.raises(ValueError, match=r"share the location \(5, 5\)"):
        CustomPatches.from_coordinates(dup, wsi_file=slide_263)
    assert (
        CustomPatches.from_coordinates(dup, wsi_file=slide_263, check_location=False).patch_count
        == 2
    )


def test_parquet_round_trip_keeps_the_resolution_even_when_empty(
    grid_mpp: WholeImageGridPatches, slide_263: Path, tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = grid_mpp.save_coordinates(tmp_path, format="parquet")
    assert Path(path) == tmp_path / "scan263.parquet"
    table = pq.read_table(path)
    assert table.column("x").type == "int64" and table.num_rows == grid_mpp.patch_count
    assert set(table.column("width_level0").to_pylist()) == {487}
    back = CustomPatches.from_coordinates(path, wsi_file=slide_263)
    assert back.patch_data == grid_mpp.patch_data and back.level_or_mpp == 0.5
    assert back.patch_labels == ["tissue"]
    empty = CustomPatches(wsi_file=slide_263, patch_data=[], level_or_mpp=0.5)
    path = empty.save_coordinates(tmp_path / "empty.parquet", format="parquet")
    again = CustomPatches.from_coordinates(path, wsi_file=slide_263)
    assert again.patch_count == 0 and again.level_or_mpp == 0.5


def test_without_pyarrow_the_error_names_the_extra(
    grid_mpp: WholeImageGridPatches, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingDependencyError, match=r"slidepatch\[parquet\]"):
        grid_mpp.save_coordinates(tmp_path, format="parquet")
    assert not list(tmp_path.iterdir())


def test_a_file_at_level_1_refuses_1_um_per_px(slide_263: Path, tmp_path: Path) -> None:
    """``1 == 1.0`` in Python, but level 1 and 1.0 µm/px are different reads: refused."""
    patches = CustomPatches(
        wsi_file=slide_263, patch_data=[((10, 20), (64, 64), "t")], level_or_mpp=1
    )
    path = patches.save_coordinates(tmp_path / "l1.csv", format="csv")
    same = CustomPatches.from_coordinates(path, wsi_file=slide_263, level_or_mpp=1)
    assert same.level_or_mpp == 1
    with pytest.raises(CoordinateFileError, match=r"says level_or_mpp 1 \(level 1\), but 1.0"):
        CustomPatches.from_coordinates(path, wsi_file=slide_263, level_or_mpp=1.0)
