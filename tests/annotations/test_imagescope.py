"""Aperio ImageScope XML as TCGA-era files have it: layers, negative regions, shapes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import shapely

from slidepatch.annotations import read_imagescope_xml
from slidepatch.errors import AnnotationError, AnnotationWarning
from slidepatch.testing.annotation_files import assert_polygons_match as assert_matches
from slidepatch.testing.annotation_files import blob, write_layers_xml

OUTER = blob(3000, 3000, 1500, n=80, seed=1)
NEGATIVE = blob(3000, 3000, 400, n=30, seed=2)
NESTED = blob(3000, 3000, 200, n=20, seed=3)  # a positive region inside the negative one
OTHER = blob(8000, 3000, 500, seed=4)


def _file(tmp_path: Path) -> Path:
    layers = [
        (
            "Tumor",
            [("0", False, OUTER), ("0", True, NEGATIVE), ("0", False, OTHER)],
        ),
        (
            "Necrosis",
            [
                ("1", False, [(100.0, 100.0), (600.0, 100.0), (600.0, 400.0), (100.0, 400.0)]),
                ("2", False, [(1000.0, 100.0), (1400.0, 300.0)]),  # ellipse by its box corners
                ("4", False, [(0.0, 0.0), (50.0, 50.0)]),  # a ruler
            ],
        ),
    ]
    return Path(write_layers_xml(tmp_path / "TCGA-XX.xml", layers, flavour="imagescope"))


def test_negative_region_becomes_a_hole_of_the_region_containing_it(tmp_path: Path) -> None:
    with pytest.warns(AnnotationWarning, match=r"TCGA-XX\.xml.*1 Type=4 regions"):
        polygons = read_imagescope_xml(_file(tmp_path))
    ellipse = shapely.Polygon(polygons[3].points)
    assert_matches(
        polygons,
        [
            ("Tumor", shapely.Polygon(OUTER, [NEGATIVE])),
            ("Tumor", shapely.Polygon(OTHER)),
            ("Necrosis", shapely.box(100, 100, 600, 400)),
            ("Necrosis", ellipse),
        ],
    )
    assert ellipse.bounds == pytest.approx((1000, 100, 1400, 300), abs=1e-6)
    assert ellipse.area == pytest.approx(math.pi * 200 * 100, rel=0.01)


def test_labels_from_attribute_or_region_text(tmp_path: Path) -> None:
    path = _file(tmp_path)
    with pytest.warns(AnnotationWarning):
        by_attribute = read_imagescope_xml(path, label_from="attribute")
    with pytest.warns(AnnotationWarning):
        by_text = read_imagescope_xml(path, label_from="text")
    assert [p.label for p in by_attribute] == ["Tumor", "Tumor", "Necrosis", "Necrosis"]
    assert [p.label for p in by_text] == ["region 1", "region 3", "region 1", "region 2"]


def test_nested_negative_and_positive_regions(tmp_path: Path) -> None:
    layers = [("Tumor", [("0", False, OUTER), ("0", True, NEGATIVE), ("0", False, NESTED)])]
    path = write_layers_xml(tmp_path / "nested.xml", layers, flavour="imagescope")
    polygons = read_imagescope_xml(path)
    assert_matches(
        polygons,
        [("Tumor", shapely.Polygon(OUTER, [NEGATIVE])), ("Tumor", shapely.Polygon(NESTED))],
    )


def test_stray_negative_region_and_bad_vertex_are_reported(tmp_path: Path) -> None:
    layers = [
        (
            "Tumor",
            [
                ("0", False, OUTER),
                ("0", True, blob(9000, 9000, 100)),
                ("0", False, [(1.0, 1.0), (2.0, 2.0)]),
            ],
        )
    ]
    path = write_layers_xml(tmp_path / "stray.xml", layers, flavour="imagescope")
    with pytest.warns(AnnotationWarning) as caught:
        polygons = read_imagescope_xml(path)
    assert_matches(polygons, [("Tumor", shapely.Polygon(OUTER))])
    message = str(caught[0].message)
    assert "Region 1: negative region lies in no region of its layer" in message
    assert "Region 2: a polygon needs at least 3 vertices, got 2" in message
    with pytest.raises(AnnotationError, match=r"stray\.xml: Annotation 0 \('Tumor'\) Region 2"):
        read_imagescope_xml(path, strict=True)


def test_geoshape_of_qupath_tcga_style_exports_takes_precedence(tmp_path: Path) -> None:
    def region(kind: str, shape: str, points: list[tuple[float, float]]) -> str:
        vertices = "".join(f'<Vertex X="{x}" Y="{y}"/>' for x, y in points)
        return (
            f'<Region Id="1" Type="{kind}" Text="null" GeoShape="{shape}" NegativeROA="0">'
            f"<Attributes/><Vertices>{vertices}</Vertices></Region>"
        )

    area = blob(2000, 2000, 300, seed=5)
    regions = [
        region("0", "Points", [(1.0, 1.0), (5.0, 5.0), (9.0, 1.0)]),
        region("2", "Rectangle", [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)]),
        region("1", "Area", area),
        region("0", "Ellipse", [(500.0, 300.0), (600.0, 400.0), (500.0, 500.0), (400.0, 400.0)]),
    ]
    path = tmp_path / "qupath_tcga.xml"
    path.write_text(
        '<Annotations><Annotation Name="Necrosis"><Regions>'
        + "".join(regions)
        + "</Regions></Annotation></Annotations>"
    )
    with pytest.warns(AnnotationWarning, match="1 GeoShape=Points regions"):
        polygons = read_imagescope_xml(path)
    ellipse = shapely.Polygon(polygons[2].points)
    assert_matches(
        polygons,
        [
            ("Necrosis", shapely.box(0, 0, 100, 50)),
            ("Necrosis", shapely.Polygon(area)),
            ("Necrosis", ellipse),
        ],
    )
    assert ellipse.bounds == pytest.approx((400, 300, 600, 500), abs=1e-6)
    assert ellipse.area == pytest.approx(math.pi * 100 * 100, rel=0.01)
