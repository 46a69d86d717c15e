"""A DICOM WSI series is one slide: its folder, whatever files of it are passed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch import Slide, UnsupportedSlideError
from slidepatch.slide.dicom_series import group_dicom_series

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture()
def series(tmp_path: Path) -> Path:
    """openslide-python's boxes series: boxes_0 is the VOLUME, boxes_1 the THUMBNAIL."""
    folder = tmp_path / "case-17"
    folder.mkdir()
    for name in ("boxes_0.dcm", "boxes_1.dcm"):
        shutil.copy(DATA / name, folder / name)
    return folder


def test_series_folder_opens_as_one_slide(series: Path) -> None:
    with Slide.open(series) as slide, Slide.open(series / "boxes_0.dcm") as volume:
        assert slide.slide_id == "case-17"
        assert slide.dimensions == (16, 16)
        assert slide.mpp == pytest.approx((0.499, 0.499))
        np.testing.assert_array_equal(slide.read_level(0), volume.read_level(0))


def test_thumbnail_instance_is_never_a_slide(series: Path) -> None:
    with pytest.raises(UnsupportedSlideError, match=r"boxes_1\.dcm: is the THUMBNAIL image"):
        Slide.open(series / "boxes_1.dcm")


def test_a_glob_of_the_series_files_is_one_slide(series: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.png"
    shutil.copy(DATA / "boxes.png", other)
    files = sorted(str(p) for p in series.glob("*.dcm"))
    assert group_dicom_series([*files, str(other)]) == [str(series), str(other)]


def test_concatenation_parts_are_one_slide(tmp_path: Path) -> None:
    """fastslide's fixture: one VOLUME split over two files of the same series."""
    folder = tmp_path / "concat"
    folder.mkdir()
    parts = [DATA / f"fastslide-concat-part_{i}.dcm" for i in (1, 2)]
    for part in parts:
        shutil.copy(part, folder / part.name)
    files = sorted(str(p) for p in folder.iterdir())
    assert group_dicom_series(files) == [str(folder)]
    with Slide.open(folder) as slide:
        assert slide.dimensions == (64, 32) and slide.slide_id == "concat"
        assert slide.read_level(0).shape == (32, 64, 3)


def test_folder_with_two_series_is_refused(series: Path) -> None:
    shutil.copy(DATA / "libdicom-sm_image.dcm", series / "sm.dcm")
    with pytest.raises(UnsupportedSlideError, match="2 DICOM series"):
        Slide.open(series)


def test_cli_extracts_a_series_glob_once(series: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    mask = tmp_path / "case-17.png"  # paired with the series by its name
    Image.fromarray(np.full((16, 16), 255, np.uint8)).save(mask)
    files = sorted(str(p) for p in series.glob("*.dcm"))
    result = subprocess.run(
        [
            *(sys.executable, "-m", "slidepatch", "extract", *files, "--out", str(out)),
            *("--patch-size", "8", "--foreground-ratio", "0", "--mask", str(mask)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "4 patches from 1 of 1 slides" in result.stdout, result.stdout
    assert sorted(p.name for p in out.glob("*.png"))[0].startswith("case-17")


def test_cli_info_describes_a_series_glob_once(series: Path) -> None:
    files = sorted(str(p) for p in series.glob("*.dcm"))
    result = subprocess.run(
        [sys.executable, "-m", "slidepatch", "info", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("vendor:") == 1 and "dicom" in result.stdout


def test_series_identity_follows_its_files(series: Path) -> None:
    from slidepatch import slide_identity

    before = slide_identity(series)
    assert before.size == sum(p.stat().st_size for p in series.iterdir())
    target = series / "boxes_0.dcm"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    assert slide_identity(series).mtime_ns > before.mtime_ns
