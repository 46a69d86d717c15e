"""Disk extractors: names and directories of the reference scheme, pixels, manifests, safety."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch import ExtractionError, OutputError, PatchSet, ResamplingRequiredError, Slide
from slidepatch.errors import UnsafeOutputNameError
from slidepatch.extract import (
    MANIFEST_CSV_COLUMNS,
    DiskPatchExtractor,
    MultiResDiskPatchExtractor,
)

APPENDIX = [
    ((5888, 0), (256, 256), "tumor"),
    ((6144, 0), (256, 256), "stroma"),
    ((6400, 0), (256, 256), "tumor"),
]


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def appendix_set(h1: Path) -> PatchSet:
    return PatchSet.from_patch_data(
        slide_path=h1, level_or_mpp=0, patch_data=APPENDIX, class_name="X", param_info={"a": 1}
    )


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_appendix_single_resolution(h1_slide: Path, tmp_path: Path) -> None:
    ext = DiskPatchExtractor(
        patches=appendix_set(h1_slide),
        num_workers=2,
        output_dir=tmp_path,
        image_type="png",
        create_subdirs=True,
        filename_comment="cmt",
    )
    mid = ext.manifest_id
    assert re.fullmatch(r"[a-z0-9]{8}", mid)
    assert files_under(tmp_path) == [
        f"manifests/manifest__{mid}__h1.csv",
        f"manifests/manifest__{mid}__h1.json",
        f"manifests/manifest__{mid}__h1.txt",
        f"stroma/h1_{mid}_cmt_stroma_x6144_y0.png",
        f"tumor/h1_{mid}_cmt_tumor_x5888_y0.png",
        f"tumor/h1_{mid}_cmt_tumor_x6400_y0.png",
    ]
    assert ext.written_paths == [
        f"tumor/h1_{mid}_cmt_tumor_x5888_y0.png",
        f"stroma/h1_{mid}_cmt_stroma_x6144_y0.png",
        f"tumor/h1_{mid}_cmt_tumor_x6400_y0.png",
    ]
    with Slide.open(h1_slide) as slide:
        for rel, (xy, size, _) in zip(ext.written_paths, APPENDIX, strict=True):
            assert np.array_equal(pixels(tmp_path / rel), slide.read_region(xy, 0, size))

    text = (tmp_path / f"manifests/manifest__{mid}__h1.txt").read_text().splitlines()
    assert text[0] == f"Manifest ID:            {mid}"
    assert text[1] == "Manifest file path:     " + os.path.realpath(
        tmp_path / f"manifests/manifest__{mid}__h1.txt"
    )
    assert text[4] == "-" * 50
    assert text[5:10] == [
        "Patch class:            X",
        "Patch class params:",
        "                        a: 1",
        "Patch count:            3",
        "Patch labels:           {'stroma': 1, 'tumor': 2}",
    ]
    assert text[10] == "Extractor class:        DiskPatchExtractor"
    assert "                        filename_comment: cmt" in text
    assert "                        included_labels: []" in text
    saved = text[text.index("Saved patches:") + 1 : -1]
    assert saved == [" " * 24 + os.path.join(str(tmp_path), p) for p in ext.written_paths]
    assert text[-1] == "Disk file count:        3"

    rows = read_csv(tmp_path / f"manifests/manifest__{mid}__h1.csv")
    assert list(rows[0]) == list(MANIFEST_CSV_COLUMNS)
    assert [r["path"] for r in rows] == ext.written_paths
    assert rows[1] == {
        "path": f"stroma/h1_{mid}_cmt_stroma_x6144_y0.png",
        "slide_path": str(h1_slide),
        "wsi_id": "h1",
        "manifest_id": mid,
        "set_id": "",
        "patch_index": "1",
        "label": "stroma",
        "level_or_mpp": "0",
        "resolution_kind": "level",
        "mpp_read": "0.25",
        "x_level0": "6144",
        "y_level0": "0",
        "width_read_px": "256",
        "height_read_px": "256",
        "width_level0": "256",
        "height_level0": "256",
    }


def test_appendix_multi_resolution(h1_slide: Path, tmp_path: Path) -> None:
    ext = MultiResDiskPatchExtractor(
        patches=appendix_set(h1_slide),
        levels_or_mpps=[0, 1, 0.5],
        global_counter=1,
        num_workers=2,
        output_dir=tmp_path,
        image_type="jpg",
        resampling_mode="tile",
    )
    mid = ext.manifest_id
    expected = [
        f"set1/h1_{mid}_level0_tumor_x5888_y0.jpg",
        f"set1/h1_{mid}_level1_tumor_x5504_y-384.jpg",
        f"set1/h1_{mid}_mpp0.5_tumor_x5760_y-128.jpg",
        f"set2/h1_{mid}_level0_stroma_x6144_y0.jpg",
        f"set2/h1_{mid}_level1_stroma_x5760_y-384.jpg",
        f"set2/h1_{mid}_mpp0.5_stroma_x6016_y-128.jpg",
        f"set3/h1_{mid}_level0_tumor_x6400_y0.jpg",
        f"set3/h1_{mid}_level1_tumor_x6016_y-384.jpg",
        f"set3/h1_{mid}_mpp0.5_tumor_x6272_y-128.jpg",
    ]
    assert ext.written_paths == expected
    assert ext.patch_count == 9 and ext.patchset_counter == 3
    assert files_under(tmp_path) == sorted(
        [
            *expected,
            f"manifests/manifest__{mid}__h1.csv",
            f"manifests/manifest__{mid}__h1.json",
            f"manifests/manifest__{mid}__h1.txt",
        ]
    )
    rows = read_csv(tmp_path / f"manifests/manifest__{mid}__h1.csv")
    assert [r["path"] for r in rows] == expected
    assert [r["set_id"] for r in rows] == ["set1"] * 3 + ["set2"] * 3 + ["set3"] * 3
    assert rows[1]["width_level0"] == "1024" and rows[1]["mpp_read"] == "1"
    assert rows[2]["level_or_mpp"] == "0.5" and rows[2]["resolution_kind"] == "mpp"
    with Slide.open(h1_slide) as slide:
        for row in rows:
            res = int(row["level_or_mpp"]) if row["resolution_kind"] == "level" else 0.5
            direct = slide.read_region(
                (int(row["x_level0"]), int(row["y_level0"])),
                res,
                (256, 256),
                resampling_mode="tile",
            )
            diff = np.abs(pixels(tmp_path / row["path"]).astype(int) - direct.astype(int))
            assert diff.mean() < 4  # JPEG q75
    text = (tmp_path / f"manifests/manifest__{mid}__h1.txt").read_text()
    assert "                        levels_or_mpps: [0, 1, 0.5]\n" in text
    assert text.endswith("Disk file count:        9\n")


def test_separator_comment_and_tiff_pixels(cmu_small: Path, tmp_path: Path) -> None:
    ps = PatchSet.from_patch_data(
        slide_path=cmu_small,
        level_or_mpp=0,
        patch_data=[((256, 256), (100, 60), "XYZ"), ((2200, 2900), (64, 64), "")],
    )
    ext = DiskPatchExtractor(
        patches=ps,
        num_workers=1,
        output_dir=tmp_path,
        image_type="tif",
        filename_separator="__",
        filename_comment="testcomment",
    )
    mid = ext.manifest_id
    assert ext.written_paths == [
        f"CMU-1-Small-Region__{mid}__testcomment__XYZ__x256__y256.tif",
        f"CMU-1-Small-Region__{mid}__testcomment__x2200__y2900.tif",
    ]
    with Slide.open(cmu_small) as slide:
        assert np.array_equal(
            pixels(tmp_path / ext.written_paths[0]), slide.read_region((256, 256), 0, (100, 60))
        )
        corner = pixels(tmp_path / ext.written_paths[1])
        assert np.array_equal(corner, slide.read_region((2200, 2900), 0, (64, 64)))
        assert (corner[-1, -1] == 255).all()


def test_set_numbering(h1_slide: Path, tmp_path: Path) -> None:
    data = [
        ((0, 0), (64, 64), "area1"),
        ((64, 0), (64, 64), "area1"),
        ((128, 0), (64, 64), "area2"),
    ]
    ps = PatchSet.from_patch_data(slide_path=h1_slide, level_or_mpp=0, patch_data=data)
    common = {"patches": ps, "levels_or_mpps": [0, 1], "num_workers": 2, "image_type": "png"}
    none_dir, a_dir, b_dir = (tmp_path / n for n in ("none", "a", "b"))
    for d in (none_dir, a_dir, b_dir):
        d.mkdir()

    ext = MultiResDiskPatchExtractor(
        output_dir=none_dir, global_counter=None, create_subdirs=True, **common
    )
    assert ext.patchset_counter == 3
    sets = sorted({p.rsplit("/", 1)[0] for p in ext.written_paths})
    assert sets == ["area1/h1__set1", "area1/h1__set2", "area2/h1__set3"]
    # the same slide again without a counter collides: error before anything is written
    before = files_under(none_dir)
    with pytest.raises(OutputError, match="h1__set1"):
        MultiResDiskPatchExtractor(
            output_dir=none_dir, global_counter=None, create_subdirs=True, **common
        )
    assert files_under(none_dir) == before

    # numbering belongs to each extractor object: two in one process do not interfere
    first = MultiResDiskPatchExtractor(output_dir=a_dir, **common)
    second = MultiResDiskPatchExtractor(output_dir=b_dir, **common)
    third = MultiResDiskPatchExtractor(output_dir=a_dir, global_counter=50, **common)
    assert first.patchset_counter == second.patchset_counter == 3
    assert third.patchset_counter == 52
    dirs = sorted(p.name for p in a_dir.iterdir() if p.name != "manifests")
    assert dirs == ["set1", "set2", "set3", "set50", "set51", "set52"]
    assert sorted(p.name for p in b_dir.iterdir()) == ["manifests", "set1", "set2", "set3"]
    with pytest.raises(OutputError, match="set1"):
        MultiResDiskPatchExtractor(output_dir=b_dir, **common)


def test_label_filtering_on_disk(h1_slide: Path, tmp_path: Path) -> None:
    ps = appendix_set(h1_slide)
    inc = DiskPatchExtractor(
        patches=ps,
        num_workers=1,
        output_dir=tmp_path,
        image_type="png",
        create_subdirs=True,
        included_labels=["tumor"],
    )
    assert inc.patch_count == 2 and inc.patch_labels == ["tumor"]
    assert not (tmp_path / "stroma").exists()
    exc = MultiResDiskPatchExtractor(
        patches=ps,
        levels_or_mpps=[0, 1],
        num_workers=1,
        output_dir=tmp_path,
        image_type="png",
        excluded_labels=["tumor"],
        global_counter=7,
    )
    assert exc.patch_count == 2 and exc.patchset_counter == 7
    text = (tmp_path / "manifests" / f"manifest__{exc.manifest_id}__h1.txt").read_text()
    # the text manifest's count/labels describe the patches before filtering (reference)
    assert "Patch count:            3\n" in text
    assert text.endswith("Disk file count:        2\n")


def test_duplicate_outputs_fail_before_writing(h1_slide: Path, tmp_path: Path) -> None:
    ps = PatchSet.from_patch_data(
        slide_path=h1_slide,
        level_or_mpp=0,
        patch_data=[((0, 0), (32, 32), "a"), ((64, 0), (32, 32), "a"), ((0, 0), (32, 32), "a")],
    )
    with pytest.raises(OutputError, match="same file"):
        DiskPatchExtractor(patches=ps, num_workers=1, output_dir=tmp_path, image_type="png")
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"patch_label": "../evil"}, UnsafeOutputNameError),
        ({"patch_label": "a/b"}, UnsafeOutputNameError),
        ({"patch_label": "/abs"}, UnsafeOutputNameError),
        ({"patch_label": "a\\b"}, UnsafeOutputNameError),
        ({"patch_label": "nul\x00"}, UnsafeOutputNameError),
        ({"patch_label": "", "create_subdirs": True}, UnsafeOutputNameError),
        ({"patch_label": "..", "create_subdirs": True}, UnsafeOutputNameError),
        ({"patch_label": ".", "create_subdirs": True}, UnsafeOutputNameError),
        ({"filename_comment": "../x"}, UnsafeOutputNameError),
        ({"filename_separator": "/"}, UnsafeOutputNameError),
        ({"filename_separator": ""}, UnsafeOutputNameError),
        ({"image_type": "gif"}, ValueError),
        ({"image_type": "jpg", "jpeg_quality": 0}, ValueError),
        ({"png_compression": 12}, ValueError),
        ({"mp_chunksize": None}, TypeError),
        ({"included_labels": ["a"], "excluded_labels": ["b"]}, ValueError),
        ({"level_or_mpp": 0.3}, ResamplingRequiredError),
        ({"level_or_mpp": 9}, IndexError),
        ({"output_dir": "missing"}, OutputError),
        ({"output_dir": "file"}, OutputError),
        ({"global_counter": -1}, ValueError),
        ({"global_counter": "1"}, TypeError),
    ],
)
@pytest.mark.parametrize("multires", [False, True])
def test_bad_inputs_write_nothing(
    h1_slide: Path, tmp_path: Path, kwargs: dict, error: type, multires: bool
) -> None:
    kwargs = dict(kwargs)
    if "global_counter" in kwargs and not multires:
        return
    (tmp_path / "file").write_text("")
    label = kwargs.pop("patch_label", "a")
    resolution = kwargs.pop("level_or_mpp", 0)
    levels = [0, 1]
    if multires and isinstance(resolution, float):  # the base resolution is never read
        levels, resolution = [0, resolution], 0
    ps = PatchSet.from_patch_data(
        slide_path=h1_slide,
        level_or_mpp=resolution,
        patch_data=[((0, 0), (32, 32), "ok"), ((64, 0), (32, 32), label)],
    )
    out = tmp_path / kwargs.pop("output_dir", "out")
    if out.name == "out":
        out.mkdir()
    args = {"patches": ps, "num_workers": 2, "output_dir": out, "image_type": "png", **kwargs}
    with pytest.raises(error):
        if multires:
            MultiResDiskPatchExtractor(levels_or_mpps=levels, **args)
        else:
            DiskPatchExtractor(**args)
    assert files_under(tmp_path) == ["file"]
    assert sorted(p.name for p in tmp_path.iterdir()) in (["file"], ["file", "out"])


def test_read_failure_leaves_no_manifest_and_no_partial_files(
    cmu_small: Path, tmp_path: Path
) -> None:
    ps = PatchSet.from_patch_data(
        slide_path=cmu_small,
        level_or_mpp=0,
        patch_data=[((0, 0), (32, 32), "a"), ((99999, 0), (32, 32), "a")],
    )
    with pytest.raises(ExtractionError, match=r"patch 1 at level-0 \(99999, 0\)"):
        DiskPatchExtractor(patches=ps, num_workers=1, output_dir=tmp_path, image_type="png")
    names = files_under(tmp_path)
    assert not any(n.startswith("manifests/") for n in names)
    assert not any(n.endswith(".tmp") for n in names)
    for n in names:  # what was written is complete
        Image.open(io.BytesIO((tmp_path / n).read_bytes())).load()


def test_pool_mode_and_png_compression_are_recorded(h1_slide: Path, tmp_path: Path) -> None:
    ext = DiskPatchExtractor(
        patches=appendix_set(h1_slide),
        num_workers=1,
        output_dir=str(tmp_path),
        image_type="png",
        pool_mode=True,
        png_compression=9,
        mp_chunksize=2,
    )
    text = (tmp_path / "manifests" / f"manifest__{ext.manifest_id}__h1.txt").read_text()
    assert "                        pool_mode: True\n" in text
    assert "                        png_compression: 9\n" in text
    with Slide.open(h1_slide) as slide:
        for rel, (xy, size, _) in zip(ext.written_paths, APPENDIX, strict=True):
            assert np.array_equal(pixels(tmp_path / rel), slide.read_region(xy, 0, size))
