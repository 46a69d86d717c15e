"""The reference's ``mocks_test.py``, rewritten for slidepatch with the imports changed.

Same inputs and expectations as the reference's module; its board TIFF (not shipped with
dplabtools) is replaced by a synthetic slide of at least its size (2560 x 2560 at level 0).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slidepatch import DiskPatchExtractor, MemPatchExtractor, PatchesMock
from slidepatch.testing import write_synthetic_slide

SIX = [
    ((2048, 1024), (256, 256), "area3"),
    ((256, 256), (256, 256), "area1"),
    ((256, 768), (256, 256), "area1"),
    ((256, 2304), (256, 256), "area2"),
    ((512, 512), (256, 256), "area1"),
    ((256, 1792), (256, 256), "area2"),
]
WSI = "/tmp/wsi1.svs"  # never opened: a mock reads no slide


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_slide(
        tmp_path_factory.mktemp("board") / "board.tif", width=2560, height=2560, layout="tiff"
    )


def test_default_properties() -> None:
    mock = PatchesMock(patch_data=SIX, wsi_file=WSI, level_or_mpp=1)
    assert mock.patch_count == 6
    assert mock.patch_data == SIX
    assert mock.patch_info == {"area1": 3, "area2": 2, "area3": 1}
    assert mock.patch_labels == ["area1", "area2", "area3"]
    assert mock.param_info == {
        "patch_data": SIX,
        "wsi_file": WSI,
        "level_or_mpp": 1,
        "check_location": True,
        "class_name": None,
        "class_params": {},
        "patch_labels": [],
    }
    assert (mock.level_or_mpp, mock.wsi_file, mock.class_name) == (1, WSI, "PatchesMock")


def test_custom_class_name_and_params() -> None:
    params = {"param1": 1, "param2": 2, "param3": 3}
    mock = PatchesMock(
        patch_data=SIX, wsi_file=WSI, level_or_mpp=1, class_name="SomeClass", class_params=params
    )
    assert mock.param_info == params
    assert mock.class_name == "SomeClass"
    assert mock.patch_info == {"area1": 3, "area2": 2, "area3": 1}


def test_duplicate_locations() -> None:
    twice = [((512, 512), (256, 256), "area3"), *SIX[1:]]
    assert PatchesMock(patch_data=twice, wsi_file=WSI, level_or_mpp=0, check_location=False)
    with pytest.raises(ValueError):
        PatchesMock(patch_data=twice, wsi_file=WSI, level_or_mpp=0)


@pytest.mark.parametrize(
    ("labels_in", "patch_labels", "info", "sorted_labels"),
    [
        (None, ["area1", "area2", "area3", "area4", "area5"],
         {"area1": 3, "area2": 2, "area3": 1, "area4": 0, "area5": 0},
         ["area1", "area2", "area3", "area4", "area5"]),
        (["", "", "", "area2", "area1", "area2"], ["area1", "area2", "", "area3"],
         {"": 3, "area1": 1, "area2": 2, "area3": 0}, ["", "area1", "area2", "area3"]),
        ([""] * 6, ["area1", ""], {"area1": 0, "": 6}, ["", "area1"]),
        ([""] * 6, [], {"": 6}, [""]),
    ],
)  # fmt: skip
def test_labels(
    labels_in: list[str] | None,
    patch_labels: list[str],
    info: dict[str, int],
    sorted_labels: list[str],
) -> None:
    data = (
        SIX
        if labels_in is None
        else [(d[0], d[1], lab) for d, lab in zip(SIX, labels_in, strict=True)]
    )
    mock = PatchesMock(patch_data=data, wsi_file=WSI, level_or_mpp=1, patch_labels=patch_labels)
    assert mock.patch_count == 6
    assert mock.patch_info == info
    assert mock.patch_labels == sorted_labels


def test_no_patches_and_invalid_labels() -> None:
    empty = PatchesMock(
        patch_data=[], wsi_file=WSI, level_or_mpp=1, patch_labels=["area1", "area2", "area3"]
    )
    assert empty.patch_count == 0
    assert empty.patch_info == {"area1": 0, "area2": 0, "area3": 0}
    with pytest.raises(ValueError):
        PatchesMock(
            patch_data=[*SIX[:2], ((256, 768), (256, 256), "area66")],
            wsi_file=WSI,
            level_or_mpp=1,
            patch_labels=["area1", "area2", "area3"],
        )


def test_disk_and_memory_extraction(board: Path, tmp_path: Path) -> None:
    mock = PatchesMock(patch_data=SIX, wsi_file=str(board), level_or_mpp=0)
    DiskPatchExtractor(
        patches=mock,
        output_dir=str(tmp_path),
        num_workers=4,
        image_type="tif",
        filename_comment="",
        filename_separator="_",
        create_subdirs=True,
    )
    assert len([p for p in tmp_path.rglob("*.tif")]) == 6
    extractor = MemPatchExtractor(patches=mock, num_workers=4)
    assert len(list(extractor.patch_stream)) == 6
