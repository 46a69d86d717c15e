"""ASAP XML as CAMELYON16/17 write it: splines, groups _0/_1/_2, dots, one bad annotation."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import shapely

from slidepatch.annotations import read_asap_xml
from slidepatch.errors import AnnotationError, AnnotationWarning
from slidepatch.testing.annotation_files import Ring, blob, write_asap_xml
from slidepatch.testing.annotation_files import assert_polygons_match as assert_matches


def expected_shape(exterior: Ring) -> shapely.Polygon:
    return shapely.Polygon(exterior)


def _strings(ring: Ring) -> list[tuple[str, str]]:
    # CAMELYON16 files carry coordinates like "59213.5" and, from some locales, "59213,5".
    return [(f"{x:.3f}", f"{y:.3f}".replace(".", ",")) for x, y in ring]


def test_spline_only_file_reads_every_spline_as_its_polygon(tmp_path: Path) -> None:
    rings = [blob(1000 + 900 * k, 1000 + 300 * k, 300, seed=k) for k in range(6)]
    groups = ["_0", "_0", "_1", "_1", "_1", "_2"]
    path = write_asap_xml(
        tmp_path / "tumor_009.xml",
        [("Spline", g, _strings(r)) for g, r in zip(groups, rings, strict=True)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        polygons = read_asap_xml(path)
    assert_matches(polygons, [(g, expected_shape(r)) for g, r in zip(groups, rings, strict=True)])


def test_polygon_rectangle_read_dot_and_pointset_counted(tmp_path: Path) -> None:
    ring = blob(500, 500, 200)
    box = [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)]
    path = write_asap_xml(
        tmp_path / "mixed.xml",
        [
            ("Dot", "None", [("10", "10")]),
            ("Polygon", "metastases", _strings(ring)),
            ("PointSet", "cells", [("1", "1"), ("2", "2"), ("3", "3")]),
            ("Rectangle", "None", _strings(box)),
        ],
    )
    with pytest.warns(AnnotationWarning, match=r"mixed\.xml.*1 Dot annotations, 1 PointSet"):
        polygons = read_asap_xml(path)
    assert_matches(polygons, [("metastases", expected_shape(ring)), ("", expected_shape(box))])


def test_one_bad_annotation_is_skipped_with_its_index_and_reason(tmp_path: Path) -> None:
    good = [blob(400, 400, 150, seed=1), blob(1400, 400, 150, seed=2)]
    path = write_asap_xml(
        tmp_path / "bad.xml",
        [
            ("Spline", "_0", _strings(good[0])),
            ("Spline", "_0", [("1", "1"), ("abc", "2"), ("3", "1")]),
            ("Polygon", "_0", [("1", "1"), ("5", "5"), ("9", "9")]),  # collinear: no area
            ("Spline", "_1", _strings(good[1])),
        ],
    )
    with pytest.warns(AnnotationWarning) as caught:
        polygons = read_asap_xml(path)
    message = str(caught[0].message)
    assert "bad.xml" in message and "skipped 2 bad features" in message
    assert "Annotation 1" in message and "Coordinate 1: bad coordinate 'abc'" in message
    assert "Annotation 2" in message and "no area" in message
    assert_matches(polygons, [("_0", expected_shape(good[0])), ("_1", expected_shape(good[1]))])
    with pytest.raises(AnnotationError, match=r"bad\.xml: Annotation 1 .*bad coordinate"):
        read_asap_xml(path, strict=True)


def test_self_crossing_outline_is_repaired_with_make_valid(tmp_path: Path) -> None:
    bowtie = [(0.0, 0.0), (200.0, 200.0), (200.0, 0.0), (0.0, 200.0)]
    path = write_asap_xml(tmp_path / "bowtie.xml", [("Polygon", "_1", _strings(bowtie))])
    with pytest.warns(AnnotationWarning, match=r"repaired 1 features.*Self-intersection"):
        polygons = read_asap_xml(path)
    fixed = shapely.make_valid(shapely.Polygon(bowtie))
    assert len(polygons) == len(fixed.geoms) == 2
    assert sum(p.to_shapely().area for p in polygons) == pytest.approx(fixed.area)
    assert {p.label for p in polygons} == {"_1"}
