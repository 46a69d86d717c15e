"""read_region at native levels: pixels equal to OpenSlide's, the same for every backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import openslide
import pytest

from slidepatch.slide import Slide

JPEG_DECODER_TOLERANCE = 2
"""Largest channel difference allowed between backends' JPEG decoders (measured: 0)."""


def openslide_level(path: Path, level: int) -> npt.NDArray[np.uint8]:
    """A whole level read directly with OpenSlide from (0, 0), where it does not blend."""
    with openslide.OpenSlide(path) as slide:
        image = slide.read_region((0, 0), level, slide.level_dimensions[level])
    return np.asarray(image.convert("RGB"))


def sample_locations(dimensions: tuple[int, int], count: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(7)
    xs = rng.integers(0, dimensions[0] - 1, count)
    ys = rng.integers(0, dimensions[1] - 1, count)
    return [(int(x), int(y)) for x, y in zip(xs, ys, strict=True)]


def slide_paths(
    cmu_small: Path, data_dir: Path, synthetic_svs: Path, synthetic_tiff: Path
) -> list[Path]:
    return [cmu_small, data_dir / "boxes.tiff", synthetic_svs, synthetic_tiff]


@pytest.mark.parametrize("backend", ["openslide", "tiffslide", "auto"])
def test_every_level_matches_openslide(
    backend: str, cmu_small: Path, data_dir: Path, synthetic_svs: Path, synthetic_tiff: Path
) -> None:
    for path in slide_paths(cmu_small, data_dir, synthetic_svs, synthetic_tiff):
        with Slide.open(path, backend=backend) as slide:  # type: ignore[arg-type]
            for level in range(slide.level_count):
                reference = openslide_level(path, level)
                ds = slide.level_downsamples[level]
                lw, lh = slide.level_dimensions[level]
                tolerance = 0 if backend == "openslide" else JPEG_DECODER_TOLERANCE
                for x, y in sample_locations(slide.dimensions, 6):
                    xl, yl = int(x / ds), int(y / ds)  # tiffslide's convention: floor
                    w, h = min(64, lw - xl), min(48, lh - yl)
                    region = slide.read_region((x, y), level, (w, h))
                    expected = reference[yl : yl + h, xl : xl + w]
                    diff = np.abs(region.astype(np.int16) - expected).max()
                    assert diff <= tolerance, (path.name, level, (x, y))


def test_aligned_locations_equal_direct_openslide_reads(synthetic_svs: Path) -> None:
    """Where OpenSlide lands on whole level pixels (x a multiple of an integer downsample)."""
    with (
        Slide.open(synthetic_svs, backend="openslide") as slide,
        openslide.OpenSlide(synthetic_svs) as direct,
    ):
        for level in (0, 1):
            ds = int(slide.level_downsamples[level])
            for x, y in [(0, 0), (1000, 800), (2400, 1600), (4 * 123, 4 * 77)]:
                x, y = x // ds * ds, y // ds * ds
                expected = np.asarray(direct.read_region((x, y), level, (100, 60)).convert("RGB"))
                assert np.array_equal(slide.read_region((x, y), level, (100, 60)), expected)


def test_tiffslide_convention_on_non_integer_downsamples(data_dir: Path) -> None:
    """Every backend returns the level pixels starting at floor(x / downsample)."""
    import tiffslide

    path = data_dir / "boxes.tiff"
    with tiffslide.TiffSlide(path) as direct:
        for backend in ("openslide", "tiffslide", "auto"):
            with Slide.open(path, backend=backend) as slide:  # type: ignore[arg-type]
                for level in (2, 3):
                    for x, y in [(0, 0), (5, 9), (37, 101), (123, 44), (250, 200)]:
                        expected = direct.read_region((x, y), level, (6, 5), as_array=True)
                        got = slide.read_region((x, y), level, (6, 5))
                        assert np.array_equal(got, expected[..., :3]), (backend, level, x, y)


def test_pillow_backend_reads_plain_images(data_dir: Path) -> None:
    with (
        Slide.open(data_dir / "boxes.png") as png,
        Slide.open(data_dir / "boxes.tiff", backend="tiffslide") as tiff,
    ):
        assert png.backend_name == "pillow"
        assert png.level_count == 1
        assert png.mpp is None and png.mpp_source == "missing"
        assert png.dimensions == tiff.dimensions
        region = png.read_region((10, 20), 0, (200, 150))
        assert np.array_equal(region, tiff.read_region((10, 20), 0, (200, 150)))


def test_transparent_pixels_become_the_fill(tmp_path: Path) -> None:
    from PIL import Image

    rgba = np.zeros((20, 30, 4), dtype=np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[:, :15, 3] = 255  # left half opaque, right half transparent
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(path)
    with Slide.open(path, fill=(1, 2, 3)) as slide:
        region = slide.read_region((0, 0), 0, (30, 20))
    assert (region[:, :15] == (10, 20, 30)).all()
    assert (region[:, 15:] == (1, 2, 3)).all()


def test_out_buffer_is_filled_in_place(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs, backend="openslide") as slide:
        arena = np.zeros((2, 40, 50, 3), dtype=np.uint8)
        result = slide.read_region((300, 200), 1, (50, 40), out=arena[1])
        assert np.shares_memory(result, arena)
        assert np.array_equal(arena[1], slide.read_region((300, 200), 1, (50, 40)))
        assert not arena[0].any()
        with pytest.raises(ValueError, match="C-contiguous"):
            slide.read_region((0, 0), 0, (50, 40), out=np.zeros((40, 100, 3), np.uint8)[:, ::2])
        with pytest.raises(ValueError, match="shape"):
            slide.read_region((0, 0), 0, (50, 40), out=np.zeros((50, 40, 3), np.uint8))


def test_geometry_and_metadata(cmu_small: Path, synthetic_svs: Path) -> None:
    with Slide.open(cmu_small) as slide:
        assert slide.dimensions == (2220, 2967)
        assert slide.level_count == 1
        assert slide.vendor == "aperio"
        assert slide.mpp == pytest.approx((0.499, 0.499))
        assert slide.mpp_source == "metadata"
        assert slide.slide_id == "CMU-1-Small-Region"
        assert slide.slide_name == "CMU-1-Small-Region.svs"
    with Slide.open(synthetic_svs, mpp=0.5) as slide:
        assert slide.mpp == (0.5, 0.5) and slide.mpp_source == "override"
        assert slide.level_dimensions == ((3000, 2000), (750, 500), (188, 125))
        assert slide.level_mpps == pytest.approx((0.5, 2.0, 0.5 * slide.level_downsamples[2]))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/a/b/slide.svs", "slide"),
        ("x/case.ome.tiff", "case"),
        ("CASE.OME.TIF", "CASE"),
        ("a.b.c.ndpi", "a.b.c"),
        ("noext", "noext"),
    ],
)
def test_slide_id(name: str, expected: str) -> None:
    from slidepatch.slide.slide import slide_id_from_path

    assert slide_id_from_path(name) == expected


def test_thumbnail_keeps_aspect_and_content(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        thumb = slide.get_thumbnail(max_size=(300, 300))
        assert thumb.shape == (200, 300, 3)
        level2 = slide.read_level(2).astype(np.float32)
        small = slide.get_thumbnail(max_size=(188, 188)).astype(np.float32)
        assert small.shape == (125, 188, 3)
        assert np.abs(small - level2).mean() < 8
        big = slide.get_thumbnail(max_size=(10_000, 10_000))
        assert big.shape == (2000, 3000, 3)  # never upscaled
