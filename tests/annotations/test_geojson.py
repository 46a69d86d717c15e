"""QuPath GeoJSON exports as QuPath writes them: annotations mixed with 10,000 cells,
derived classes of every QuPath version, and files with odd features."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from slidepatch.annotations import read_geojson
from slidepatch.errors import AnnotationError, AnnotationWarning
from slidepatch.testing.annotation_files import assert_polygons_match as assert_matches
from slidepatch.testing.annotation_files import (
    blob,
    qupath_feature,
    write_qupath_geojson,
)

TUMOR = blob(2000, 2000, 1200, n=120, seed=3)
HOLE = blob(2000, 2000, 300, n=30, seed=4)
STROMA = [blob(5000, 1000, 400, seed=5), blob(5000, 3000, 400, seed=6)]


def _export(tmp_path: Path, cells: int) -> Path:
    """One tumour annotation with a hole, a two-part stroma annotation, an unclassified
    one, then ``cells`` tumour cells and 5 tiles, as "export all objects" writes them."""
    stroma = {
        "type": "Feature",
        "id": "c5b7",
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [[[list(p) for p in [*r, r[0]]]] for r in STROMA],
        },
        "properties": {"objectType": "annotation", "classification": {"name": "Stroma"}},
    }
    features: list[dict[str, Any]] = [
        qupath_feature([TUMOR, HOLE], classification={"name": "Tumor", "color": [200, 0, 0]}),
        stroma,
        qupath_feature([blob(7000, 2000, 300, seed=7)], name="region"),
    ]
    rng = np.random.default_rng(0)
    centres = rng.uniform(1300, 2700, size=(cells * 3, 2))
    far = np.hypot(centres[:, 0] - 2000, centres[:, 1] - 2000) > 400
    for k, (x, y) in enumerate(centres[far][:cells]):
        features.append(
            qupath_feature(
                [blob(float(x), float(y), 6, n=16, seed=k)],
                classification={"name": "Tumor"},
                object_type="cell",
            )
        )
    for k in range(5):
        square = [
            (k * 512.0, 0.0),
            (k * 512.0 + 512, 0.0),
            (k * 512.0 + 512, 512.0),
            (k * 512.0, 512.0),
        ]
        features.append(qupath_feature([square], object_type="tile"))
    return Path(write_qupath_geojson(tmp_path / "export.geojson", features))


def test_export_with_10000_cells_reads_the_annotations_only(tmp_path: Path) -> None:
    path = _export(tmp_path, cells=10_000)
    with pytest.warns(AnnotationWarning, match=r"10000 cell objects.*5 tile objects"):
        polygons = read_geojson(path)
    assert_matches(
        polygons,
        [
            ("Tumor", shapely.Polygon(TUMOR, [HOLE])),
            ("Stroma", shapely.Polygon(STROMA[0])),
            ("Stroma", shapely.Polygon(STROMA[1])),
            ("", shapely.Polygon(blob(7000, 2000, 300, seed=7))),
        ],
    )
    with pytest.warns(
        AnnotationWarning, match=r"5 tile objects \(object_types=\['annotation', 'cell'\]\)"
    ):
        with_cells = read_geojson(path, object_types=("annotation", "cell"))
    assert len(with_cells) == 4 + 10_000
    assert {p.label for p in with_cells[4:]} == {"Tumor"}
    everything = read_geojson(path, object_types=None)
    assert len(everything) == 4 + 10_000 + 5


def test_derived_classes_of_every_qupath_version_give_the_display_name(tmp_path: Path) -> None:
    ring = blob(100, 100, 50)
    forms = [
        {"names": ["Tumor", "Positive"], "color": [200, 50, 50]},  # QuPath >= 0.4
        {"name": "Positive", "parentClass": {"name": "Tumor"}, "colorRGB": -3657166},  # <= 0.3
        {"name": "Tumor: Positive", "color": [200, 50, 50]},
        "Tumor: Positive",
        {"names": ["Tumor"]},
        {"name": "Tumor"},
    ]
    path = tmp_path / "classes.geojson"
    write_qupath_geojson(path, [qupath_feature([ring], classification=c) for c in forms])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = [p.label for p in read_geojson(path)]
    assert labels == ["Tumor: Positive"] * 4 + ["Tumor"] * 2


def test_label_from_name_or_property(tmp_path: Path) -> None:
    feature = qupath_feature([blob(100, 100, 50)], classification="Tumor", name="lesion 1")
    feature["properties"]["grade"] = 3
    path = Path(write_qupath_geojson(tmp_path / "named.geojson", [feature]))
    assert [p.label for p in read_geojson(path, label_from="name")] == ["lesion 1"]
    assert [p.label for p in read_geojson(path, label_from="grade")] == ["3"]


def test_legacy_ids_tell_detections_from_annotations(tmp_path: Path) -> None:
    ring = blob(100, 100, 50)
    features = [qupath_feature([ring], classification="Tumor") for _ in range(2)]
    for feature, legacy in zip(
        features, ("PathAnnotationObject", "PathDetectionObject"), strict=True
    ):
        del feature["properties"]["objectType"]
        feature["id"] = legacy
    path = Path(write_qupath_geojson(tmp_path / "v02.geojson", features))
    with pytest.warns(AnnotationWarning, match="1 detection objects"):
        assert len(read_geojson(path)) == 1


def test_odd_features_cost_only_themselves(tmp_path: Path) -> None:
    good = blob(500, 500, 200, seed=1)
    three_d = [[x, y, 0.0] for x, y in [*good, good[0]]]
    collection = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Polygon", "coordinates": [[list(p) for p in [*good, good[0]]]]},
            {"type": "Point", "coordinates": [3, 4]},
            {"type": "LineString", "coordinates": [[0, 0], [5, 5]]},
        ],
    }
    features = [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [three_d]},
         "properties": {"classification": {"name": "A"}}},
        {"type": "Feature", "geometry": None, "properties": {}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {}},
        {"type": "Feature", "geometry": {"type": "Polygon",
         "coordinates": [[[0, 0], [10, 10], [20, 20], [0, 0]]]}, "properties": {}},
        {"type": "Feature", "geometry": collection, "properties": {"classification": "B"}},
        {"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": [[1, 1]]},
         "properties": {}},
    ]  # fmt: skip
    path = tmp_path / "odd.geojson"
    path.write_text(json.dumps(features), encoding="utf-8-sig")  # a BOM, as Windows tools write
    with pytest.warns(AnnotationWarning) as caught:
        polygons = read_geojson(path)
    assert_matches(polygons, [("A", shapely.Polygon(good)), ("B", shapely.Polygon(good))])
    message = str(caught[0].message)
    assert "odd.geojson" in message and "skipped 3 bad features" in message
    assert "feature 1: no geometry" in message
    assert "feature 2: empty Polygon" in message
    assert "feature 3: no area" in message
    assert "2 points" in message and "1 lines" in message
    with pytest.raises(AnnotationError, match=r"odd\.geojson: feature 1: no geometry"):
        read_geojson(path, strict=True)


def test_single_feature_and_bare_geometry(tmp_path: Path) -> None:
    ring = blob(300, 300, 100)
    feature = qupath_feature([ring], classification="Tumor")
    one = tmp_path / "one.geojson"
    one.write_text(json.dumps(feature))
    assert_matches(read_geojson(one), [("Tumor", shapely.Polygon(ring))])
    bare = tmp_path / "bare.geojson"
    bare.write_text(json.dumps(feature["geometry"]))
    assert_matches(read_geojson(bare), [("", shapely.Polygon(ring))])
