"""Reads at an MPP (native and resampled) and padding beyond the slide's edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch.errors import ResamplingRequiredError
from slidepatch.slide import Slide

FILL = (0, 128, 255)


def reference_resize(slide: Slide, x: int, y: int, size: tuple[int, int], z: float) -> np.ndarray:
    """Level-0 pixels around the footprint, resized with Pillow Lanczos (the textbook way)."""
    margin = 16
    w0, h0 = round(size[0] * z), round(size[1] * z)
    src = slide.read_region((x - margin, y - margin), 0, (w0 + 2 * margin, h0 + 2 * margin))
    box = (margin, margin, margin + size[0] * z, margin + size[1] * z)
    return np.asarray(Image.fromarray(src).resize(size, Image.Resampling.LANCZOS, box=box))


def test_native_mpp_reads_the_level(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        assert np.array_equal(
            slide.read_region((400, 300), 1.0, (80, 60)), slide.read_region((400, 300), 1, (80, 60))
        )
        # within the 2 % tolerance: 0.2545 µm/px reads level 0 without resampling
        assert np.array_equal(
            slide.read_region((400, 300), 0.2545, (80, 60)),
            slide.read_region((400, 300), 0, (80, 60)),
        )
        assert slide.plan(0.2545).is_native


@pytest.mark.parametrize("mode", ["tile", "wsi"])
@pytest.mark.parametrize(("mpp", "location"), [(0.5, (800, 600)), (0.75, (1500, 900))])
def test_resampled_mpp_matches_reference_resize(
    synthetic_svs: Path, mode: str, mpp: float, location: tuple[int, int]
) -> None:
    with Slide.open(synthetic_svs) as slide:
        z = mpp / 0.25
        got = slide.read_region(location, mpp, (120, 90), resampling_mode=mode)  # type: ignore[arg-type]
        expected = reference_resize(slide, *location, (120, 90), z)
    assert np.abs(got.astype(np.int16) - expected).max() <= 1


def test_mpp_between_coarse_levels_reads_the_finer_level(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        plan = slide.plan(2.0, resampling_mode="tile")
        assert (plan.level, plan.scale) == (1, 2.0)
        got = slide.read_region((1200, 800), 2.0, (60, 50), resampling_mode="tile")
        from_level0 = reference_resize(slide, 1200, 800, (60, 50), 8.0)
    # level 1 is a separately JPEG-compressed rendering: close, not equal
    assert np.abs(got.astype(np.float32) - from_level0).mean() < 6


def test_tile_and_wsi_agree(synthetic_svs: Path) -> None:
    """Equal on locations that are multiples of the scale; else "wsi" snaps to the nearest."""
    with Slide.open(synthetic_svs) as slide:
        for location in [(0, 0), (1000, 600), (2800, 1800)]:
            tile = slide.read_region(location, 0.5, (100, 100), resampling_mode="tile")
            wsi = slide.read_region(location, 0.5, (100, 100), resampling_mode="wsi")
            assert np.abs(tile.astype(np.int16) - wsi).max() <= 1
        # 1001 / 2 = 500.5 -> copy pixel 501, i.e. level-0 1002
        tile = slide.read_region((1002, 602), 0.5, (100, 100), resampling_mode="tile")
        wsi = slide.read_region((1001, 601), 0.5, (100, 100), resampling_mode="wsi")
        assert np.abs(tile.astype(np.int16) - wsi).max() <= 1


def test_wsi_copy_is_built_once_and_refuses_finer_mpps(synthetic_svs: Path) -> None:
    with Slide.open(synthetic_svs) as slide:
        plan = slide.plan(0.5, resampling_mode="wsi")
        first = slide.resampled_copy(plan)
        assert first.shape == (1000, 1500, 3)
        assert slide.resampled_copy(plan) is first
        with pytest.raises(ResamplingRequiredError, match="finer than the slide's level 0"):
            slide.read_region((0, 0), 0.125, (10, 10), resampling_mode="wsi")
        upsampled = slide.read_region((100, 100), 0.125, (40, 40), resampling_mode="tile")
        level0 = slide.read_region((100, 100), 0, (20, 20))
        assert np.abs(upsampled[::2, ::2].astype(np.float32) - level0).mean() < 12


# ---------------------------------------------------------------------------- padding
@pytest.mark.parametrize("horizontal", ["left", "middle", "right"])
@pytest.mark.parametrize("vertical", ["top", "middle", "bottom"])
@pytest.mark.parametrize("level", [0, 1])
def test_padding_at_every_edge_and_corner(
    synthetic_svs: Path, horizontal: str, vertical: str, level: int
) -> None:
    with Slide.open(synthetic_svs, backend="openslide", fill=FILL) as slide:
        ds = int(slide.level_downsamples[level])
        lw, lh = slide.level_dimensions[level]
        full = slide.read_level(level)
        size = 50
        xl = {"left": -20, "middle": lw // 2, "right": lw - 30}[horizontal]
        yl = {"top": -20, "middle": lh // 2, "bottom": lh - 30}[vertical]
        region = slide.read_region((xl * ds, yl * ds), level, (size, size))
    expected = np.empty((size, size, 3), dtype=np.uint8)
    expected[...] = FILL
    x1, y1 = max(xl, 0), max(yl, 0)
    x2, y2 = min(xl + size, lw), min(yl + size, lh)
    expected[y1 - yl : y2 - yl, x1 - xl : x2 - xl] = full[y1:y2, x1:x2]
    assert np.array_equal(region, expected)


@pytest.mark.parametrize("mode", ["tile", "wsi"])
def test_resampled_padding_is_geometric(synthetic_svs: Path, mode: str) -> None:
    with Slide.open(synthetic_svs, fill=FILL) as slide:
        # 0.5 µm/px: 2 level-0 px per output px; slide is 3000x2000 -> 1500x1000 output px
        region = slide.read_region((2900, 1950), 0.5, (100, 60), resampling_mode=mode)  # type: ignore[arg-type]
        assert (region[:, 50:] == FILL).all()
        assert (region[25:, :] == FILL).all()
        corner = slide.read_region((-100, -60), 0.5, (100, 60), resampling_mode=mode)  # type: ignore[arg-type]
        assert (corner[:, :50] == FILL).all() and (corner[:30] == FILL).all()
        inside = slide.read_region((0, 0), 0.5, (50, 30), resampling_mode=mode)  # type: ignore[arg-type]
        assert np.abs(corner[30:, 50:].astype(np.int16) - inside).max() <= 1


def test_wsi_copy_over_the_limit_is_an_error(
    cmu_small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "wsi" copy is checked before it is allocated (limit lowered for the test)."""
    import slidepatch.slide.slide as slide_module

    monkeypatch.setattr(slide_module, "MAX_RESAMPLED_COPY_BYTES", 1_000_000)
    with Slide.open(cmu_small) as slide:
        with pytest.raises(ResamplingRequiredError, match=r"copy of the slide .* GiB"):
            slide.read_region((0, 0), 0.6, (64, 64), resampling_mode="wsi")
        slide.read_region((0, 0), 0.6, (64, 64), resampling_mode="tile")  # still fine
