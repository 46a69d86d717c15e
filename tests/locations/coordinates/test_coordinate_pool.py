"""A folder of coordinate files as a locations pool: paired by name, extracted by the pools."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from slidepatch import (
    CoordinateFileError,
    CoordinateFilesPool,
    MemPatchExtractorPool,
    WholeImageGridPatches,
    WholeImageGridPatchesPool,
    save_coordinates,
)

pytest.importorskip("h5py")


@pytest.fixture(scope="module")
def two_slides(
    slide_263: Path, synthetic_svs: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    folder = tmp_path_factory.mktemp("two")
    second = folder / "second.svs"
    shutil.copy(synthetic_svs, second)
    return [slide_263, second]


@pytest.fixture(scope="module")
def locations(two_slides: list[Path]) -> WholeImageGridPatchesPool:
    return WholeImageGridPatchesPool(
        wsi_file_list=two_slides,
        mask_data_list=[np.ones((20, 30), bool)] * 2,
        patches_args={"patch_size": 128, "level_or_mpp": 1, "weak_label": ["a", "b"]},
    )


@pytest.mark.parametrize("fmt", ["trident", "clam", "hs2p", "csv"])
def test_pool_round_trip_and_memory_extraction(
    fmt: str, locations: WholeImageGridPatchesPool, two_slides: list[Path], tmp_path: Path
) -> None:
    written = locations.save_coordinates(tmp_path / "coords", format=fmt)  # type: ignore[arg-type]
    assert len(written) == 2 and all(Path(p).exists() for p in written)
    pool = CoordinateFilesPool(coords_dir=tmp_path / "coords", wsi_file_list=two_slides)
    assert pool.coordinate_files == written
    assert [m.patch_data for m in pool] == [m.patch_data for m in locations]
    assert pool.patch_count == locations.patch_count and pool.patch_info == locations.patch_info
    kwargs = {"proc_num_workers": 2, "thread_num_workers": 1}
    with (
        MemPatchExtractorPool(patches_pool=locations, **kwargs) as want,
        MemPatchExtractorPool(patches_pool=pool, **kwargs) as got,
    ):
        np.testing.assert_array_equal(got.images, want.images)
        assert got.labels.tolist() == want.labels.tolist()
        assert got.locations.tolist() == want.locations.tolist()


def test_missing_and_ambiguous_files_are_errors(
    locations: WholeImageGridPatchesPool, two_slides: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "coords"
    save_coordinates(locations[0], folder, format="csv")
    with pytest.raises(CoordinateFileError, match=r"second\.svs: no coordinate file under"):
        CoordinateFilesPool(coords_dir=folder, wsi_file_list=two_slides)
    with pytest.warns(UserWarning, match=r"skipped: .*second\.svs"):
        partial = CoordinateFilesPool(coords_dir=folder, wsi_file_list=two_slides, on_error="skip")
    assert [m.wsi_file for m in partial] == [str(two_slides[0])]
    assert list(partial.failed_slides) == [str(two_slides[1])]
    save_coordinates(locations, folder, format="trident")
    with pytest.raises(CoordinateFileError, match=r"2 coordinate files match slide 'scan263'"):
        CoordinateFilesPool(coords_dir=folder, wsi_file_list=two_slides)
    only = CoordinateFilesPool(coords_dir=folder, wsi_file_list=two_slides, format="trident")
    assert [m.patch_data for m in only] == [m.patch_data for m in locations]


def test_trident_feature_files_are_not_taken_for_coordinates(
    locations: WholeImageGridPatchesPool, two_slides: list[Path], tmp_path: Path
) -> None:
    written = locations.save_coordinates(tmp_path, format="trident")
    features = Path(written[0]).parent.parent / "features_uni_v1"
    features.mkdir()
    (features / "scan263.h5").write_bytes(b"not coordinates")
    pool = CoordinateFilesPool(coords_dir=tmp_path, wsi_file_list=two_slides)
    assert pool.coordinate_files == written


def test_slides_sharing_a_name_are_refused(slide_263: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin" / "scan263.svs"
    twin.parent.mkdir()
    shutil.copy(slide_263, twin)
    sets = [
        WholeImageGridPatches(wsi_file=p, mask_data=np.ones((20, 30), bool), patch_size=256)
        for p in (slide_263, twin)
    ]
    with pytest.raises(CoordinateFileError, match="share the name 'scan263'"):
        save_coordinates(sets, tmp_path / "out", format="trident")
    assert not (tmp_path / "out").exists()
    save_coordinates(sets[:1], tmp_path / "out", format="trident")
    with pytest.raises(CoordinateFileError, match="one coordinate file would serve both"):
        CoordinateFilesPool(coords_dir=tmp_path / "out", wsi_file_list=[slide_263, twin])


def test_an_empty_hs2p_slide_pairs_by_its_meta_json(
    locations: WholeImageGridPatchesPool, two_slides: list[Path], tmp_path: Path
) -> None:
    empty = WholeImageGridPatches(
        wsi_file=two_slides[0], mask_data=np.zeros((20, 30), bool), patch_size=128, level_or_mpp=1
    )
    written = save_coordinates([empty, locations[1]], tmp_path, format="hs2p")
    assert written[0].endswith("scan263.coordinates.meta.json")
    pool = CoordinateFilesPool(coords_dir=tmp_path, wsi_file_list=two_slides)
    assert pool.coordinate_files == written
    assert [len(ps) for ps in pool.patch_sets] == [0, locations[1].patch_count]
