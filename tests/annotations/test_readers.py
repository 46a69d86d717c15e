"""Annotation readers on files written in each tool's own format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slidepatch.annotations import (
    AnnotationPolygon,
    load_polygon_data,
    read_asap_xml,
    read_geojson,
    read_sedeen_xml,
    save_polygons_json,
)
from slidepatch.errors import AnnotationError, AnnotationWarning


@pytest.fixture(scope="module")
def ann_dir(data_dir: Path) -> Path:
    return data_dir / "annotations"


def test_geojson_polygon_with_hole_multipolygon_and_unclassified(ann_dir: Path) -> None:
    with pytest.warns(AnnotationWarning, match="1 lines"):
        polygons = read_geojson(ann_dir / "qupath_hole.geojson")
    assert [p.label for p in polygons] == ["Tumor", "Stroma", "Stroma", ""]
    tumor = polygons[0]
    assert tumor.points[0] == (200.5, 200.0)
    assert len(tumor.points) == 4
    assert tumor.holes == [[(600.0, 600.0), (1400.0, 600.0), (1400.0, 1400.0), (600.0, 1400.0)]]
    assert tumor.to_shapely().area == pytest.approx(1599.5 * 2300 - 800 * 800)


def test_asap_two_groups_reads_spline_skips_dot(ann_dir: Path) -> None:
    with pytest.warns(AnnotationWarning, match="1 Dot annotations"):
        polygons = read_asap_xml(ann_dir / "asap_two_groups.xml")
    assert [p.label for p in polygons] == ["tumor", "normal", "tumor"]
    # Coordinates sorted by Order, floats kept.
    assert polygons[0].points == [
        (300.25, 400.5),
        (900.0, 400.5),
        (900.0, 1000.0),
        (300.25, 1000.0),
    ]


def test_sedeen_polygon_rectangle_ellipse(ann_dir: Path) -> None:
    with pytest.warns(AnnotationWarning, match="1 line graphics"):
        polygons = read_sedeen_xml(ann_dir / "sedeen.xml")
    assert [p.label for p in polygons] == ["tumor", "normal", "ell"]
    assert polygons[0].points[0] == (300.5, 400.0)
    assert len(polygons[2].points) == 65
    with pytest.warns(AnnotationWarning):
        colors = read_sedeen_xml(ann_dir / "sedeen.xml", label_field="color")
    assert [p.label for p in colors] == ["#ff0000", "#00ff00", "#0000ff"]


def test_bad_coordinate_names_file_and_element(ann_dir: Path) -> None:
    with pytest.raises(AnnotationError, match=r"asap_bad_coordinate.xml.*Broken.*Coordinate 1"):
        read_asap_xml(ann_dir / "asap_bad_coordinate.xml", strict=True)
    with pytest.warns(AnnotationWarning, match=r"asap_bad_coordinate.xml.*Broken.*Coordinate 1"):
        read_asap_xml(ann_dir / "asap_bad_coordinate.xml")


def test_malformed_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<ASAP_Annotations><Annotations>")
    with pytest.raises(AnnotationError, match=r"bad\.xml"):
        read_asap_xml(bad)
    with pytest.raises(AnnotationError, match="not a Sedeen"):
        read_sedeen_xml(_write(tmp_path))
    js = tmp_path / "bad.geojson"
    js.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}}]}'
    )
    with pytest.raises(AnnotationError, match=r"bad.geojson.*feature 0.*3 vertices"):
        read_geojson(js, strict=True)
    with pytest.warns(AnnotationWarning, match=r"bad.geojson.*feature 0.*3 vertices"):
        assert read_geojson(js) == []
    js.write_text("{not json")
    with pytest.raises(AnnotationError, match=r"bad\.geojson"):
        read_geojson(js)


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "other.xml"
    path.write_text("<root/>")
    return path


def test_polygon_data_forms_roundtrip(tmp_path: Path) -> None:
    polygons = [
        AnnotationPolygon(points=[(0, 0), (10, 0), (10, 10)], label="a"),
        AnnotationPolygon(
            points=[(0, 0), (20, 0), (20, 20), (0, 20)], label="b", holes=[[(5, 5), (6, 5), (6, 6)]]
        ),
    ]
    path = tmp_path / "polys.json"
    save_polygons_json(polygons, path)
    assert load_polygon_data(path) == polygons
    assert load_polygon_data(str(path)) == polygons
    assert load_polygon_data(json.dumps([p.data_dict for p in polygons])) == polygons
    assert load_polygon_data([]) == []
    assert load_polygon_data("[]") == []
    with pytest.raises(TypeError):
        load_polygon_data(42)
    with pytest.raises(TypeError):
        load_polygon_data([{"points": []}])
    with pytest.raises(AnnotationError):
        load_polygon_data('[{"label": "x"}]')
    with pytest.raises(AnnotationError):
        load_polygon_data(tmp_path / "missing.json")


def test_annotation_polygon_validation() -> None:
    with pytest.raises(AnnotationError, match="at least 3"):
        AnnotationPolygon(points=[(0, 0), (1, 1)], label="x")
    with pytest.raises(AnnotationError, match="vertex 1"):
        AnnotationPolygon(points=[(0, 0), (1, "a"), (2, 2)], label="x")
    a = AnnotationPolygon(points=[[0, 0], [1, 0], [1, 1]], label="x")
    assert a == AnnotationPolygon(points=[(0, 0), (1, 0), (1, 1), (0, 0)], label="x")
