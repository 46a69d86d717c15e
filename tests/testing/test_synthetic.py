"""Synthetic slides: readable by OpenSlide and tiffslide, consistent across levels and masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest
import tiffslide
from PIL import Image

from slidepatch.testing import (
    render_synthetic_region,
    synthetic_tissue_mask,
    write_synthetic_slide,
)

WIDTH, HEIGHT = 3000, 2000


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("synthetic")
    return {
        "svs": write_synthetic_slide(folder / "s.svs", width=WIDTH, height=HEIGHT, seed=3),
        "tiff": write_synthetic_slide(
            folder / "s.tiff", width=WIDTH, height=HEIGHT, layout="tiff", seed=3
        ),
    }


@pytest.mark.parametrize(("layout", "vendor"), [("svs", "aperio"), ("tiff", "generic-tiff")])
def test_openslide_reads_layout(slides: dict[str, Path], layout: str, vendor: str) -> None:
    with openslide.OpenSlide(slides[layout]) as slide:
        props = slide.properties
        assert props[openslide.PROPERTY_NAME_VENDOR] == vendor
        assert slide.level_dimensions == ((3000, 2000), (750, 500), (188, 125))
        assert slide.level_downsamples[:2] == (1.0, 4.0)
        assert float(props[openslide.PROPERTY_NAME_MPP_X]) == pytest.approx(0.25)
        assert float(props[openslide.PROPERTY_NAME_MPP_Y]) == pytest.approx(0.25)
        assert props["openslide.level[0].tile-width"] == "256"
        assert props["openslide.level[2].tile-height"] == "256"
        if layout == "svs":
            assert props[openslide.PROPERTY_NAME_OBJECTIVE_POWER] == "40"
            assert "thumbnail" in slide.associated_images


@pytest.mark.parametrize("layout", ["svs", "tiff"])
def test_tiffslide_sees_the_same_pyramid(slides: dict[str, Path], layout: str) -> None:
    with tiffslide.TiffSlide(slides[layout]) as slide:
        assert slide.level_dimensions == ((3000, 2000), (750, 500), (188, 125))
        assert float(slide.properties["tiffslide.mpp-x"]) == pytest.approx(0.25)


def test_lower_level_resembles_level0_downsampled(slides: dict[str, Path]) -> None:
    with openslide.OpenSlide(slides["svs"]) as slide:
        level0 = slide.read_region((0, 0), 0, (WIDTH, HEIGHT)).convert("RGB")
        level1 = np.asarray(slide.read_region((0, 0), 1, (750, 500)).convert("RGB"), np.float32)
    reduced = np.asarray(level0.reduce(4), np.float32)
    assert np.abs(reduced - level1).mean() < 6


def test_pixels_match_the_uncompressed_rendering(slides: dict[str, Path]) -> None:
    box = (400, 200, 300, 250)
    expected = render_synthetic_region(
        width=WIDTH, height=HEIGHT, downsample=4, box=box, seed=3
    ).astype(np.float32)
    with openslide.OpenSlide(slides["tiff"]) as slide:
        got = np.asarray(slide.read_region((1600, 800), 1, box[2:]).convert("RGB"), np.float32)
    assert np.abs(got - expected).mean() < 4


def test_tissue_mask_is_ground_truth(slides: dict[str, Path]) -> None:
    mask = synthetic_tissue_mask(width=WIDTH, height=HEIGHT, downsample=4, seed=3)
    assert mask.shape == (500, 750)
    assert mask.mean() == pytest.approx(0.5, abs=0.02)
    with openslide.OpenSlide(slides["svs"]) as slide:
        level1 = np.asarray(slide.read_region((0, 0), 1, (750, 500)).convert("RGB"), np.int16)
    glass_like = np.abs(level1 - np.array([242, 241, 244])).max(axis=2) <= 6
    agreement = (glass_like != mask).mean()
    assert agreement > 0.95


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.8, 1.0])
def test_tissue_fraction_is_respected(fraction: float) -> None:
    mask = synthetic_tissue_mask(width=4000, height=3000, tissue_fraction=fraction, seed=1)
    assert mask.shape == (188, 250)
    assert mask.mean() == pytest.approx(fraction, abs=0.02)


def test_same_seed_same_slide_other_seed_other_slide(tmp_path: Path) -> None:
    kwargs = {"width": 1000, "height": 800, "downsamples": (1, 2)}
    a = write_synthetic_slide(tmp_path / "a.svs", seed=5, **kwargs)  # type: ignore[arg-type]
    b = write_synthetic_slide(tmp_path / "b.svs", seed=5, **kwargs)  # type: ignore[arg-type]
    c = write_synthetic_slide(tmp_path / "c.svs", seed=6, **kwargs)  # type: ignore[arg-type]
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_tile_240_many_levels_and_no_mpp(tmp_path: Path) -> None:
    path = write_synthetic_slide(
        tmp_path / "x.tiff",
        width=2100,
        height=1700,
        tile_size=240,
        downsamples=(1, 2, 4, 8, 16, 32, 64),
        layout="tiff",
        mpp=None,
    )
    with openslide.OpenSlide(path) as slide:
        assert slide.level_count == 7
        assert slide.properties["openslide.level[0].tile-width"] == "240"
        assert openslide.PROPERTY_NAME_MPP_X not in slide.properties
        low = np.asarray(slide.read_region((0, 0), 6, slide.level_dimensions[6]).convert("RGB"))
    assert low.shape == (27, 33, 3)


def test_rejects_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="downsample"):
        write_synthetic_slide(tmp_path / "x.svs", width=100, height=100, downsamples=(1, 3))
    with pytest.raises(ValueError, match="tile_size"):
        write_synthetic_slide(tmp_path / "x.svs", width=100, height=100, tile_size=250)
    with pytest.raises(ValueError, match="layout"):
        write_synthetic_slide(tmp_path / "x.svs", width=100, height=100, layout="ndpi")  # type: ignore[arg-type]


def test_thumbnail_shows_the_slide(slides: dict[str, Path]) -> None:
    with openslide.OpenSlide(slides["svs"]) as slide:
        thumb = slide.associated_images["thumbnail"].convert("RGB")
        low = slide.read_region((0, 0), 2, (188, 125)).convert("RGB")
    resized = np.asarray(thumb.resize(low.size, Image.Resampling.BOX), np.float32)
    assert np.abs(resized - np.asarray(low, np.float32)).mean() < 12
