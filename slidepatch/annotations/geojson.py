"""QuPath GeoJSON: annotations (by default) as labelled polygons with holes.

QuPath exports a FeatureCollection, a bare list of Features or a single Feature; "export all
objects" also writes detections, cells and tiles, which are not annotated regions and are
skipped (and counted) unless ``object_types`` asks for them. The object type is
``properties.objectType`` (QuPath >= 0.3) or the feature ``id`` of older exports
(``PathAnnotationObject``...); a feature with neither is an annotation.

The label is QuPath's display name of the classification: ``"Tumor"``, or for a derived
class ``"Tumor: Positive"``, whether stored as a string, ``{"name": ...}``,
``{"names": [...]}`` (QuPath >= 0.4) or ``{"name", "parentClass"}`` (QuPath <= 0.3).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from os import PathLike, fspath
from typing import Any

from slidepatch.annotations._report import FeatureReport, gc_paused
from slidepatch.annotations._shapes import area_polygons
from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.errors import AnnotationError

DEFAULT_OBJECT_TYPES = ("annotation",)

_LEGACY_IDS = {
    "PathAnnotationObject": "annotation",
    "PathDetectionObject": "detection",
    "PathCellObject": "cell",
    "PathTileObject": "tile",
    "TMACoreObject": "tma_core",
    "PathRootObject": "root",
}
_POINTS = ("Point", "MultiPoint")
_LINES = ("LineString", "MultiLineString")


def classification_label(classification: Any) -> str:
    """QuPath's display name of a classification ("" when unclassified)."""
    if isinstance(classification, str):
        return classification
    if not isinstance(classification, dict):
        return ""
    names = classification.get("names")
    if isinstance(names, list) and names:
        return ": ".join(str(n) for n in names)
    name = classification.get("name")
    if not name:
        return ""
    parent = classification.get("parentClass")
    prefix = classification_label(parent) if isinstance(parent, dict) else ""
    return f"{prefix}: {name}" if prefix else str(name)


def object_type(feature: dict[str, Any], properties: dict[str, Any]) -> str:
    """``annotation``, ``detection``, ``cell``, ``tile``... (lower case)."""
    kind = properties.get("objectType")
    if isinstance(kind, str) and kind:
        return kind.lower()
    legacy = _LEGACY_IDS.get(str(feature.get("id")))
    return legacy or "annotation"


def _label(properties: dict[str, Any], label_from: str) -> str:
    if label_from == "classification":
        return classification_label(properties.get("classification"))
    value = properties.get(label_from)
    return "" if value is None else str(value)


def _geometry(
    report: FeatureReport, where: str, geometry: Any, label: str
) -> list[AnnotationPolygon]:
    if not isinstance(geometry, dict) or not isinstance(geometry.get("type"), str):
        report.skip_bad(where, "geometry must be an object with a 'type'")
        return []
    kind = geometry["type"]
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list) or not parts:
            report.skip_bad(where, "empty GeometryCollection")
            return []
        out: list[AnnotationPolygon] = []
        for i, part in enumerate(parts):
            out.extend(_geometry(report, f"{where} geometries[{i}]", part, label))
        return out
    if kind in _POINTS:
        report.skip_kind("points")
        return []
    if kind in _LINES:
        report.skip_kind("lines")
        return []
    if kind not in ("Polygon", "MultiPolygon"):
        report.skip_bad(where, f"unknown geometry type {kind!r}")
        return []
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or not coords:
        report.skip_bad(where, f"empty {kind}")
        return []
    polygons = [coords] if kind == "Polygon" else coords
    out = []
    for i, rings in enumerate(polygons):
        part = where if kind == "Polygon" else f"{where} part {i}"
        if not isinstance(rings, list) or not rings:
            report.skip_bad(part, "polygon has no rings")
            continue
        out.extend(area_polygons(report, part, rings[0], rings[1:], label))
    return out


def _features(doc: Any, path: str) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise AnnotationError(path, "FeatureCollection: 'features' must be a list")
        return features
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return [doc]
    if isinstance(doc, dict) and isinstance(doc.get("type"), str):
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    raise AnnotationError(path, "not a GeoJSON Feature, FeatureCollection or geometry")


def read_geojson(
    path: str | PathLike[str],
    *,
    object_types: Sequence[str] | None = DEFAULT_OBJECT_TYPES,
    label_from: str = "classification",
    strict: bool = False,
) -> list[AnnotationPolygon]:
    """Read a QuPath GeoJSON export; polygons in level-0 pixels, holes kept.

    ``object_types``: which QuPath objects to read (default annotations only; e.g.
    ``("annotation", "detection", "cell")``, or None for all). ``label_from``:
    ``"classification"`` (default), or a property such as ``"name"``. A bad feature is
    skipped with an :class:`~slidepatch.errors.AnnotationWarning` naming its index and the
    reason; ``strict=True`` raises :class:`~slidepatch.errors.AnnotationError` instead.
    """
    spath = fspath(path)
    with gc_paused():
        polygons, report = _read(spath, object_types, label_from, strict)
    report.finish()
    return polygons


def _read(
    spath: str, object_types: Sequence[str] | None, label_from: str, strict: bool
) -> tuple[list[AnnotationPolygon], FeatureReport]:
    try:
        with open(spath, encoding="utf-8-sig") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(spath, f"cannot read GeoJSON: {exc}") from exc
    wanted = None if object_types is None else {str(t).lower() for t in object_types}
    report = FeatureReport(spath, strict=strict)
    polygons: list[AnnotationPolygon] = []
    for i, feature in enumerate(_features(doc, spath)):
        where = f"feature {i}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            report.skip_bad(where, "not a GeoJSON Feature")
            continue
        props = feature.get("properties")
        props = props if isinstance(props, dict) else {}
        kind = object_type(feature, props)
        if wanted is not None and kind not in wanted:
            report.skip_kind(f"{kind} objects (object_types={sorted(wanted)})")
            continue
        if props.get("name"):
            where = f"feature {i} ({props['name']!r})"
        geometry = feature.get("geometry")
        if geometry is None:
            report.skip_bad(where, "no geometry")
            continue
        polygons.extend(_geometry(report, where, geometry, _label(props, label_from)))
    return polygons, report
