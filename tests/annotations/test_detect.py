"""``read_annotations``: the format is told by the content, whatever the file is called."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from slidepatch.annotations import (
    AnnotationPolygon,
    annotation_format,
    read_annotations,
    save_polygons_json,
)
from slidepatch.errors import AnnotationError, AnnotationWarning
from slidepatch.testing.annotation_files import assert_polygons_match as assert_matches
from slidepatch.testing.annotation_files import (
    blob,
    qupath_feature,
    write_asap_xml,
    write_layers_xml,
    write_qupath_geojson,
)

RING = blob(500, 500, 200, seed=9)


def test_every_format_under_a_misleading_name(tmp_path: Path, data_dir: Path) -> None:
    files = {
        "asap": write_asap_xml(tmp_path / "a.txt", [("Spline", "_0", RING)]),
        "geojson": write_qupath_geojson(
            tmp_path / "b.xml", [qupath_feature([RING], classification="_0")], bom=True
        ),
        "imagescope": write_layers_xml(
            tmp_path / "c.json", [("_0", [("0", False, RING)])], flavour="imagescope"
        ),
        "halo": write_layers_xml(
            tmp_path / "d.annotations", [("_0", [("Polygon", False, RING)])], flavour="halo"
        ),
    }
    save_polygons_json([AnnotationPolygon(points=RING, label="_0")], tmp_path / "e.geojson")
    files["polygon_json"] = str(tmp_path / "e.geojson")
    for kind, path in files.items():
        assert annotation_format(path) == kind
        assert_matches(read_annotations(path), [("_0", shapely.Polygon(RING))])
    assert annotation_format(data_dir / "annotations" / "sedeen.xml") == "sedeen"
    with pytest.warns(AnnotationWarning, match="1 line graphics"):
        assert len(read_annotations(data_dir / "annotations" / "sedeen.xml")) == 3


def test_bare_feature_list_and_object_types(tmp_path: Path) -> None:
    cell = qupath_feature([blob(500, 500, 5)], classification="Tumor", object_type="cell")
    path = tmp_path / "list.json"
    path.write_text(json.dumps([qupath_feature([RING], classification="Tumor"), cell]))
    with pytest.warns(UserWarning, match="1 cell objects"):
        assert len(read_annotations(path)) == 1
    assert len(read_annotations(path, object_types=("annotation", "cell"))) == 2


def test_unknown_and_missing_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"missing\.xml: annotation file not found"):
        read_annotations(tmp_path / "missing.xml")
    other = tmp_path / "other.xml"
    other.write_text("<svg><rect/></svg>")
    with pytest.raises(AnnotationError, match=r"other\.xml: unknown XML annotation format"):
        read_annotations(other)
    text = tmp_path / "notes.txt"
    text.write_text("tumour at the top left")
    with pytest.raises(AnnotationError, match=r"notes\.txt: not an annotation file"):
        read_annotations(text)
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(AnnotationError, match=r"broken\.geojson: cannot read GeoJSON"):
        read_annotations(broken)


def test_lists_whose_first_item_is_longer_than_the_peek(tmp_path: Path) -> None:
    big = blob(5000, 5000, 3000, n=6000, seed=3)  # ~150 KB of JSON for the first item
    polygon_list = tmp_path / "big.json"
    save_polygons_json([AnnotationPolygon(points=big, label="a")], polygon_list)
    feature_list = tmp_path / "big_features.json"
    feature_list.write_text(json.dumps([qupath_feature([big], classification="a")]))
    assert polygon_list.stat().st_size > 65536 and feature_list.stat().st_size > 65536
    assert annotation_format(polygon_list) == "polygon_json"
    assert annotation_format(feature_list) == "geojson"
    for path in (polygon_list, feature_list):
        assert_matches(read_annotations(path), [("a", shapely.Polygon(big))])
