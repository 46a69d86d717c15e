"""load_mask: arrays and files of any scale, transpose hints, bad inputs, GeoJSON mask files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mask_helpers import CMU
from PIL import Image

from slidepatch.errors import MaskError
from slidepatch.masks import (
    load_mask,
)


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


def test_geojson_mask_file(tmp_path: Path) -> None:

    from slidepatch.masks import load_mask

    ring = [[0, 0], [5000, 0], [5000, 2000], [0, 2000], [0, 0]]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    path = tmp_path / "artifacts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    mask = load_mask(path, slide_dimensions=(10000, 8000), wsi_file="s.svs")
    assert mask.array.shape == (2667, 3334)  # at most 4096 a side: downsample 3
    fraction = mask.foreground_fraction(
        x=np.array([0.0, 4000.0, 6000.0]), y=np.zeros(3), width=2000.0, height=1000.0
    )
    assert fraction.round(2).tolist() == [1.0, 0.5, 0.0]
    empty = tmp_path / "none.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.warns(UserWarning, match=r"none\.geojson has no polygons"):
        assert not load_mask(empty, slide_dimensions=(100, 80), wsi_file="s.svs").array.any()
    bad = tmp_path / "bad.geojson"
    bad.write_text("{")
    with pytest.raises(MaskError, match=r"bad\.geojson"):
        load_mask(bad, slide_dimensions=(100, 80), wsi_file="s.svs")
