"""Every slide error names the file; one Slide read from 8 threads gives the serial pixels."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from slidepatch.errors import (
    InvalidRegionError,
    LevelOutOfRangeError,
    MppUnavailableError,
    ResamplingRequiredError,
    SlideIsDirectoryError,
    SlideNotFoundError,
    SlideReadError,
    UnsupportedSlideError,
)
from slidepatch.slide import Slide


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.svs"
    with pytest.raises(SlideNotFoundError, match=r"nope\.svs") as info:
        Slide.open(path)
    assert isinstance(info.value, FileNotFoundError) and info.value.path == str(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(SlideIsDirectoryError, match=str(tmp_path)):
        Slide.open(tmp_path)


@pytest.mark.parametrize("backend", ["auto", "openslide", "tiffslide", "pillow"])
def test_text_file_is_not_a_slide(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "notes.svs"
    path.write_text("not a slide\n")
    with pytest.raises(UnsupportedSlideError, match=r"notes\.svs"):
        Slide.open(path, backend=backend)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["auto", "openslide", "tiffslide", "pillow"])
def test_unknown_compression_is_unsupported(data_dir: Path, backend: str) -> None:
    with pytest.raises(UnsupportedSlideError, match=r"unopenable\.tiff"):
        Slide.open(data_dir / "unopenable.tiff", backend=backend)  # type: ignore[arg-type]


def test_unknown_backend(cmu_small: Path) -> None:
    with pytest.raises(UnsupportedSlideError, match="unknown backend"):
        Slide.open(cmu_small, backend="bogus")  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["auto", "openslide", "tiffslide"])
def test_corrupt_tile_names_file_and_region(data_dir: Path, backend: str) -> None:
    slide = Slide.open(data_dir / "unreadable.svs", backend=backend)  # type: ignore[arg-type]
    with slide, pytest.raises(SlideReadError, match=r"unreadable\.svs.*level-0 \(2, 3\) size 8x8"):
        slide.read_region((2, 3), 0, (8, 8))


def test_mpp_on_a_slide_without_mpp_says_how_to_override(data_dir: Path) -> None:
    with Slide.open(data_dir / "boxes.png") as slide:
        with pytest.raises(MppUnavailableError, match=r"boxes\.png.*mpp=") as info:
            slide.read_region((0, 0), 0.5, (10, 10), resampling_mode="tile")
        assert isinstance(info.value, ValueError)
    with Slide.open(data_dir / "boxes.png", mpp=0.5) as slide:
        assert slide.read_region((0, 0), 0.5, (10, 10)).shape == (10, 10, 3)


def test_mpp_without_resampling_mode_names_native_mpps(cmu_small: Path) -> None:
    with Slide.open(cmu_small) as slide:
        with pytest.raises(ResamplingRequiredError, match=r"CMU-1.*MPP 1\.0.*0\.499"):
            slide.read_region((0, 0), 1.0, (10, 10))
        with pytest.raises(ValueError, match="resampling_mode"):
            slide.read_region((0, 0), 1.0, (10, 10), resampling_mode="best")  # type: ignore[arg-type]


def test_level_out_of_range(cmu_small: Path) -> None:
    with Slide.open(cmu_small) as slide:
        with pytest.raises(LevelOutOfRangeError, match=r"CMU-1.*level 1 out of range"):
            slide.read_region((0, 0), 1, (10, 10))
        with pytest.raises(LevelOutOfRangeError):
            slide.read_level(-1)


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-5, 5)])
def test_non_positive_size(cmu_small: Path, size: tuple[int, int]) -> None:
    with Slide.open(cmu_small) as slide, pytest.raises(InvalidRegionError, match="CMU-1"):
        slide.read_region((0, 0), 0, size)


@pytest.mark.parametrize("location", [(2220, 0), (0, 2967), (-10, 0), (5000, 5000)])
def test_region_wholly_outside(cmu_small: Path, location: tuple[int, int]) -> None:
    with Slide.open(cmu_small) as slide, pytest.raises(InvalidRegionError, match="outside"):
        slide.read_region(location, 0, (10, 10))


@pytest.mark.parametrize(
    ("backend", "level_or_mpp", "mode"),
    [
        ("openslide", 0, None),
        ("tiffslide", 1, None),
        ("auto", 2, None),
        ("auto", 0.5, "tile"),
        ("auto", 0.5, "wsi"),
    ],
)
def test_eight_threads_read_the_same_pixels_as_serial(
    synthetic_svs: Path, backend: str, level_or_mpp: int | float, mode: str | None
) -> None:
    rng = np.random.default_rng(3)
    xs, ys = rng.integers(-50, 2950, size=64), rng.integers(-50, 1950, size=64)
    locations = [(int(x), int(y)) for x, y in zip(xs, ys, strict=True)]
    with Slide.open(synthetic_svs, backend=backend) as slide:  # type: ignore[arg-type]

        def read(location: tuple[int, int]) -> np.ndarray:
            return slide.read_region(location, level_or_mpp, (64, 64), resampling_mode=mode)  # type: ignore[arg-type]

        with ThreadPoolExecutor(max_workers=8) as pool:
            parallel = list(pool.map(read, locations))
        serial = [read(location) for location in locations]
    for a, b in zip(parallel, serial, strict=True):
        assert np.array_equal(a, b)
