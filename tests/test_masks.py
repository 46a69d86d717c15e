"""Masks: tissue mask, polygon mask, mask_data inputs and scale checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch.annotations import AnnotationPolygon
from slidepatch.errors import MaskError
from slidepatch.masks import (
    Mask,
    WSIPolygonMask,
    WSITissueMask,
    fill_holes,
    lab_a_star,
    load_mask,
    remove_small_objects,
    srgb_to_lab,
)
from slidepatch.slide import Slide

CMU = (2220, 2967)
BLUE = (0, 0, 255)
GREEN = (0, 128, 0)  # Pillow's "green"


@pytest.fixture(scope="module")
def cmu_mask(cmu_small: Path) -> WSITissueMask:
    return WSITissueMask(wsi_file=cmu_small, level_or_minsize=0)


@pytest.fixture(scope="module")
def cmu_level(cmu_small: Path) -> np.ndarray:
    with Slide.open(cmu_small) as slide:
        return slide.read_level(0)


def _blend(pixel: np.ndarray, color: tuple[int, int, int], alpha: float) -> np.ndarray:
    exact = (1 - alpha) * pixel.astype(np.float64) + alpha * np.array(color, dtype=np.float64)
    return np.floor(exact + 0.5).astype(np.uint8)


def _box_sums(mask: Mask, radius: int) -> np.ndarray:
    """Mask pixels in the (2r+1)^2 box around each pixel at least r from the edge."""
    t = mask.integral()
    k = 2 * radius + 1
    return np.asarray(t[k:, k:] - t[:-k, k:] - t[k:, :-k] + t[:-k, :-k])


def _boundary(arr: np.ndarray) -> np.ndarray:
    p = np.pad(arr, 1)
    return arr & ~(p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:])


def _read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGB"
        return np.asarray(image)


def test_tissue_mask_on_real_slide(cmu_small: Path, tmp_path: Path) -> None:
    mask = WSITissueMask(wsi_file=cmu_small, level_or_minsize=0)
    assert mask.array.shape == (2967, 2220)
    assert 0.2 < mask.array.mean() < 0.6  # the section covers about a third of the field
    assert not mask.array[:20, :20].any()  # glass in the top-left corner
    mask.save_png(tmp_path / "m.png")
    mask.save_array(tmp_path / "m.npz")
    for source in (tmp_path / "m.png", tmp_path / "m.npz", str(tmp_path / "m.png")):
        loaded = load_mask(source, slide_dimensions=CMU)
        assert np.array_equal(loaded.array, mask.array)
    assert load_mask(mask, slide_dimensions=CMU) is mask


def test_polygon_mask_honours_holes(cmu_small: Path) -> None:
    poly = AnnotationPolygon(
        points=[(0, 0), (1000, 0), (1000, 1000), (0, 1000)],
        label="a",
        holes=[[(400, 400), (600, 400), (600, 600), (400, 600)]],
    )
    mask = WSIPolygonMask(polygons=[poly], wsi_file=cmu_small, level_or_minsize=0)
    assert mask.array[100, 100] and not mask.array[500, 500] and not mask.array[1500, 1500]
    assert mask.array.sum() == pytest.approx(1000 * 1000 - 200 * 200, rel=0.01)


def test_any_scale_and_transpose_hint() -> None:
    thumb = np.ones((297, 222), dtype=np.uint8)
    mask = load_mask(thumb, slide_dimensions=CMU)
    assert mask.downsample == pytest.approx((10.0, 9.990), rel=1e-3)
    with pytest.raises(MaskError, match=r"mask\.T"):
        load_mask(thumb.T, slide_dimensions=CMU)
    with pytest.raises(MaskError, match=r"300x300.*2220x2967"):
        load_mask(np.ones((300, 300)), slide_dimensions=CMU)
    with pytest.raises(MaskError, match="2-D"):
        load_mask(np.ones((297, 222, 3)), slide_dimensions=CMU)
    with pytest.raises(TypeError):
        load_mask(3.5, slide_dimensions=CMU)
    with pytest.raises(MaskError, match="not found"):
        load_mask("/nonexistent/mask.png", slide_dimensions=CMU)


def test_rgb_png_rejected(tmp_path: Path) -> None:
    Image.new("RGB", (222, 297)).save(tmp_path / "rgb.png")
    with pytest.raises(MaskError, match="one channel"):
        load_mask(tmp_path / "rgb.png", slide_dimensions=CMU)


def test_foreground_fraction_is_area_exact() -> None:
    arr = np.zeros((10, 10), dtype=bool)
    arr[:, :5] = True
    mask = Mask(array=arr, slide_dimensions=(100, 100))
    frac = mask.foreground_fraction(
        x=np.array([0.0, 25.0, 45.0, -50.0]), y=np.zeros(4), width=50, height=50
    )
    assert frac == pytest.approx([1.0, 0.5, 0.1, 0.0])


def test_component_cleanup() -> None:
    arr = np.zeros((20, 20), dtype=bool)
    arr[2:12, 2:12] = True
    arr[5:7, 5:7] = False  # hole of 4 px
    arr[15, 15] = True  # speck
    assert not remove_small_objects(arr, min_size=2)[15, 15]
    assert remove_small_objects(arr, min_size=2)[2, 2]
    assert fill_holes(arr, max_size=4)[5:7, 5:7].all()
    assert not fill_holes(arr, max_size=3)[5:7, 5:7].any()


def test_srgb_to_lab_reference_values() -> None:
    rgb = np.array(
        [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [128, 128, 128], [0, 0, 0]]],
        dtype=np.uint8,
    )
    lab = srgb_to_lab(rgb)
    expected = [
        (53.24, 80.09, 67.20),  # red
        (87.73, -86.18, 83.18),  # green
        (32.30, 79.19, -107.86),  # blue
        (100.0, 0.0, 0.0),  # white
        (53.59, 0.0, 0.0),  # mid grey
        (0.0, 0.0, 0.0),  # black
    ]
    assert lab.dtype == np.float32
    assert lab[0] == pytest.approx(np.array(expected), abs=0.5)
    assert lab_a_star(rgb)[0] == pytest.approx(lab[0, :, 1], abs=1e-4)
    with pytest.raises(ValueError, match="uint8"):
        srgb_to_lab(rgb.astype(np.float32))


def test_lab_mode_on_real_slide(cmu_small: Path, cmu_mask: WSITissueMask) -> None:
    lab = WSITissueMask(wsi_file=cmu_small, level_or_minsize=0, mode="lab").array
    assert 0.25 < lab.mean() < 0.45  # measured 0.342; the default mode finds 0.354
    assert not lab[:20, :20].any()
    default = cmu_mask.array
    iou = (lab & default).sum() / (lab | default).sum()
    assert iou > 0.93  # measured 0.958
    with pytest.raises(MaskError, match=r"CMU-1-Small-Region.*'lab'"):
        WSITissueMask(wsi_file=cmu_small, level_or_minsize=0, mode="rgb")  # type: ignore[arg-type]


def test_overlay_png_pixels(cmu_mask: WSITissueMask, cmu_level: np.ndarray, tmp_path: Path) -> None:
    cmu_mask.save_overlay_png(tmp_path / "o.png", mask_color="#FF8000", mask_alpha=0.3)
    out = _read_png(tmp_path / "o.png")
    assert out.shape == cmu_level.shape and (out.shape[1], out.shape[0]) == CMU
    sums = _box_sums(cmu_mask, 10)
    inside = np.argwhere(sums == 21 * 21)
    r, c = inside[len(inside) // 2] + 10
    assert np.array_equal(out[r, c], _blend(cmu_level[r, c], (255, 128, 0), 0.3))
    r, c = np.argwhere(sums == 0)[0] + 10
    assert np.array_equal(out[r, c], cmu_level[r, c])
    edge = _boundary(cmu_mask.array)
    assert (out[edge] == BLUE).all()
    # Away from the fill and the outline (which reaches 1 px out), the image is untouched.
    near_edge = np.pad(
        _box_sums(Mask(array=edge, slide_dimensions=CMU), 2) > 0, 2, constant_values=True
    )
    untouched = ~cmu_mask.array & ~near_edge
    assert np.array_equal(out[untouched], cmu_level[untouched])


def test_overlay_layers_can_be_disabled(
    cmu_mask: WSITissueMask, cmu_level: np.ndarray, tmp_path: Path
) -> None:
    edge = _boundary(cmu_mask.array)
    fill_only = tmp_path / "fill.png"
    cmu_mask.save_overlay_png(fill_only, outline_color=None)
    out = _read_png(fill_only)
    arr = cmu_mask.array
    assert np.array_equal(out[arr], _blend(cmu_level[arr], GREEN, 0.5))
    assert np.array_equal(out[~arr], cmu_level[~arr])

    outline_only = tmp_path / "outline.png"
    cmu_mask.save_overlay_png(outline_only, mask_color=None, outline_thickness=1)
    out = _read_png(outline_only)
    assert (out[edge] == BLUE).all()
    assert np.array_equal(out[~edge], cmu_level[~edge])  # thickness 1: exactly the boundary


def test_polygon_mask_overlay_thickness(cmu_small: Path, tmp_path: Path) -> None:
    square = AnnotationPolygon(points=[(200, 200), (800, 200), (800, 800), (200, 800)], label="a")
    mask = WSIPolygonMask(polygons=[square], wsi_file=cmu_small, level_or_minsize=0)
    rows = np.flatnonzero(mask.array.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1])  # a solid square: same extent on both axes
    assert mask.array[top : bottom + 1, top : bottom + 1].all()
    mask.save_overlay_png(tmp_path / "p.png", mask_color="red", outline_thickness=3)
    out = _read_png(tmp_path / "p.png")
    with Slide.open(cmu_small) as slide:
        level = slide.read_level(0)
    for edge in (top, bottom):  # the 1-px boundary grown to 3 px, one each side
        for i in (edge - 1, edge, edge + 1):
            assert tuple(out[i, 500]) == BLUE and tuple(out[500, i]) == BLUE
    for i in (top - 2, bottom + 2, 1500):
        assert np.array_equal(out[i, 500], level[i, 500])
    for i in (top + 2, 500, bottom - 2):
        assert np.array_equal(out[i, 500], _blend(level[i, 500], (255, 0, 0), 0.5))


def test_overlay_bad_arguments(cmu_mask: WSITissueMask, tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    bad: list[dict[str, object]] = [
        {"mask_alpha": 1.5},
        {"mask_alpha": -0.1},
        {"mask_alpha": "half"},
        {"outline_thickness": 0},
        {"outline_thickness": 2.5},
        {"outline_thickness": True},
        {"mask_color": "not-a-colour"},
        {"outline_color": "#12345"},
        {"mask_color": (0, 255, 0)},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            cmu_mask.save_overlay_png(path, **kwargs)  # type: ignore[arg-type]
    assert not path.exists()
    with pytest.raises(MaskError, match="does not know its slide"):
        Mask(array=np.ones((297, 222)), slide_dimensions=CMU).save_overlay_png(path)
    with pytest.raises(MaskError, match=r"CMU-1-Small-Region.*size of its level"):
        thumb = Mask(
            array=np.ones((297, 222)), slide_dimensions=CMU, level=0, wsi_file=cmu_mask.wsi_file
        )
        thumb.save_overlay_png(path)
