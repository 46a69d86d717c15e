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
    load_mask,
    remove_small_objects,
)

CMU = (2220, 2967)


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
