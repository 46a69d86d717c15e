"""HALO annotation XML: layers of polygons, rectangles and ellipses, negative regions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import shapely

from slidepatch.annotations import read_halo_xml
from slidepatch.errors import AnnotationWarning
from slidepatch.testing.annotation_files import assert_polygons_match as assert_matches
from slidepatch.testing.annotation_files import blob, write_layers_xml


def test_layers_shapes_and_negative_regions(tmp_path: Path) -> None:
    outer = blob(4000, 4000, 2000, n=90, seed=1)
    holes = [blob(3500, 4000, 300, seed=2), blob(4600, 4200, 250, seed=3)]
    layers = [
        (
            "Tumor",
            [
                ("Polygon", False, outer),
                ("Polygon", True, holes[0]),
                ("Ellipse", True, [(4350.0, 3950.0), (4850.0, 4450.0)]),  # overlaps holes[1]
                ("Polygon", True, holes[1]),
            ],
        ),
        (
            "Stroma",
            [
                ("Rectangle", False, [(100.0, 200.0), (900.0, 700.0)]),
                ("Ruler", False, [(0.0, 0.0), (10.0, 10.0)]),
                ("Pin", False, [(5.0, 5.0)]),
            ],
        ),
    ]
    path = write_layers_xml(tmp_path / "halo.annotations", layers, flavour="halo")
    with pytest.warns(AnnotationWarning, match=r"halo\.annotations.*1 Pin regions, 1 Ruler"):
        polygons = read_halo_xml(path)
    ellipse = shapely.Point(4600, 4200).buffer(250, quad_segs=64)
    cut = shapely.unary_union([shapely.Polygon(h) for h in holes] + [ellipse])
    expected = shapely.Polygon(outer).difference(cut)
    assert isinstance(expected, shapely.Polygon) and len(expected.interiors) == 2
    assert_matches(
        polygons,
        [("Tumor", expected), ("Stroma", shapely.box(100, 200, 900, 700))],
        rel=2e-3,  # our 64-vertex ellipse against shapely's 256-vertex circle
    )
    assert polygons[0].to_shapely().area == pytest.approx(
        shapely.Polygon(outer).area
        - shapely.Polygon(holes[0]).area
        - shapely.unary_union([shapely.Polygon(holes[1]), ellipse]).area,
        rel=1e-3,
    )
    assert math.isclose(polygons[1].to_shapely().area, 800 * 500)
