"""Readers for QuPath GeoJSON, ASAP XML and Sedeen XML annotation files.

Each returns a list of :class:`AnnotationPolygon` in level-0 pixel coordinates, floats kept.
Rules for shapes that are not areas:

* GeoJSON: ``Polygon`` and ``MultiPolygon`` (one polygon per part, same label) are read,
  holes included; ``GeometryCollection`` contributes its polygons; points and lines are
  skipped. The label is ``properties.classification.name`` ("" when unclassified).
* ASAP: ``Polygon`` and ``Rectangle`` are read, label = ``PartOfGroup`` ("" for "None").
  ``Spline`` (its control points are not its outline), ``Dot``, ``PointSet`` and
  ``Measurement`` are skipped.
* Sedeen: ``polygon``, ``rectangle`` and ``ellipse`` (converted to a 65-vertex polygon,
  as the reference) are read, label = the graphic's ``name`` (or ``description``/``color`` with
  ``label_field``); lines, rulers and points are skipped.

A file that cannot be parsed, or an area shape with bad coordinates, raises
:class:`~slidepatch.errors.AnnotationError` naming the file and the element.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from os import PathLike, fspath
from typing import Any, Literal

from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.errors import AnnotationError

ELLIPSE_VERTICES = 65  # the reference's count (its 64-segment circle plus the closing vertex)


def _number(text: str | None, path: str, where: str) -> float:
    if text is None:
        raise AnnotationError(path, f"{where}: missing coordinate")
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError as exc:
        raise AnnotationError(path, f"{where}: bad coordinate {text!r}") from exc
    if not math.isfinite(value):
        raise AnnotationError(path, f"{where}: coordinate {text!r} is not finite")
    return value


def _polygon(path: str, where: str, points: Any, label: str, holes: Any = ()) -> AnnotationPolygon:
    try:
        return AnnotationPolygon(points=points, label=label, holes=holes)
    except AnnotationError as exc:
        raise AnnotationError(path, f"{where}: {exc}") from exc


# --------------------------------------------------------------------------- GeoJSON
def _geojson_label(properties: Any) -> str:
    if not isinstance(properties, dict):
        return ""
    classification = properties.get("classification")
    if isinstance(classification, dict):
        return str(classification.get("name") or "")
    if isinstance(classification, str):
        return classification
    return ""


def _geojson_geometry(path: str, where: str, geometry: Any, label: str) -> list[AnnotationPolygon]:
    if not isinstance(geometry, dict) or "type" not in geometry:
        raise AnnotationError(path, f"{where}: geometry must be an object with a 'type'")
    kind = geometry["type"]
    if kind == "GeometryCollection":
        out: list[AnnotationPolygon] = []
        for i, part in enumerate(geometry.get("geometries") or []):
            out.extend(_geojson_geometry(path, f"{where} geometries[{i}]", part, label))
        return out
    if kind not in ("Polygon", "MultiPolygon"):
        return []
    coords = geometry.get("coordinates")
    parts = [coords] if kind == "Polygon" else coords
    if not isinstance(parts, list) or not parts:
        raise AnnotationError(path, f"{where}: {kind} has no coordinates")
    out = []
    for i, rings in enumerate(parts):
        part_where = where if kind == "Polygon" else f"{where} part {i}"
        if not isinstance(rings, list) or not rings:
            raise AnnotationError(path, f"{part_where}: polygon has no rings")
        out.append(_polygon(path, part_where, rings[0], label, rings[1:]))
    return out


def read_geojson(path: str | PathLike[str]) -> list[AnnotationPolygon]:
    """Read a QuPath GeoJSON export (FeatureCollection, Feature, feature list or geometry)."""
    spath = fspath(path)
    try:
        with open(spath, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(spath, f"cannot read GeoJSON: {exc}") from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise AnnotationError(spath, "FeatureCollection: 'features' must be a list")
    elif isinstance(doc, list):
        features = doc
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and "type" in doc:
        return _geojson_geometry(spath, "geometry", doc, "")
    else:
        raise AnnotationError(spath, "not a GeoJSON Feature, FeatureCollection or geometry")
    polygons: list[AnnotationPolygon] = []
    for i, feature in enumerate(features):
        where = f"feature {i}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise AnnotationError(spath, f"{where}: not a GeoJSON Feature")
        props = feature.get("properties")
        if isinstance(props, dict) and props.get("name"):
            where = f"feature {i} ({props['name']!r})"
        geometry = feature.get("geometry")
        if geometry is None:
            continue
        polygons.extend(_geojson_geometry(spath, where, geometry, _geojson_label(props)))
    return polygons


# --------------------------------------------------------------------------- XML
def _parse_xml(path: str) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise AnnotationError(path, f"cannot parse XML: {exc}") from exc


def read_asap_xml(path: str | PathLike[str]) -> list[AnnotationPolygon]:
    """Read an ASAP XML file: Polygon and Rectangle annotations, label = ``PartOfGroup``."""
    spath = fspath(path)
    root = _parse_xml(spath)
    annotations = root.find("Annotations")
    if root.tag != "ASAP_Annotations" or annotations is None:
        raise AnnotationError(spath, "not an ASAP file: expected ASAP_Annotations/Annotations")
    polygons = []
    for i, element in enumerate(annotations.findall("Annotation")):
        kind = (element.get("Type") or "").strip().lower()
        where = f"Annotation {i} ({element.get('Name', '')!r}, Type={element.get('Type')!r})"
        if kind not in ("polygon", "rectangle"):
            continue
        coords = element.findall("Coordinates/Coordinate")
        keyed = []
        for j, coord in enumerate(coords):
            cwhere = f"{where} Coordinate {j}"
            order = coord.get("Order")
            key = _number(order, spath, cwhere) if order is not None else float(j)
            keyed.append(
                (
                    key,
                    j,
                    _number(coord.get("X"), spath, cwhere),
                    _number(coord.get("Y"), spath, cwhere),
                )
            )
        keyed.sort()
        points = [(x, y) for _, _, x, y in keyed]
        if kind == "rectangle" and len(points) != 4:
            raise AnnotationError(
                spath, f"{where}: a rectangle needs 4 coordinates, got {len(points)}"
            )
        group = element.get("PartOfGroup") or ""
        label = "" if group == "None" else group
        polygons.append(_polygon(spath, where, points, label))
    return polygons


def _ellipse(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    rx, ry = (max(xs) - min(xs)) / 2, (max(ys) - min(ys)) / 2
    step = 2 * math.pi / ELLIPSE_VERTICES
    return [
        (cx + rx * math.cos(k * step), cy + ry * math.sin(k * step))
        for k in range(ELLIPSE_VERTICES)
    ]


def read_sedeen_xml(
    path: str | PathLike[str], *, label_field: Literal["name", "description", "color"] = "name"
) -> list[AnnotationPolygon]:
    """Read a Sedeen XML session: polygon, rectangle and ellipse graphics.

    The label is the graphic's ``name`` by default; ``label_field="description"`` uses its
    description and ``"color"`` its pen colour as ``#rrggbb`` (alpha dropped).
    """
    spath = fspath(path)
    if label_field not in ("name", "description", "color"):
        raise ValueError(
            f"label_field must be 'name', 'description' or 'color', got {label_field!r}"
        )
    root = _parse_xml(spath)
    if root.tag != "session" or root.find("image") is None:
        raise AnnotationError(spath, "not a Sedeen session: expected session/image")
    polygons = []
    graphics = root.findall("image/overlays/graphic")
    for i, element in enumerate(graphics):
        kind = (element.get("type") or "").strip().lower()
        where = f"graphic {i} ({element.get('name', '')!r}, type={element.get('type')!r})"
        if kind not in ("polygon", "rectangle", "ellipse"):
            continue
        points = []
        for j, point in enumerate(element.findall("point-list/point")):
            text = (point.text or "").split(",")
            if len(text) != 2:
                raise AnnotationError(
                    spath, f"{where} point {j}: expected 'x,y', got {point.text!r}"
                )
            points.append(
                (
                    _number(text[0], spath, f"{where} point {j}"),
                    _number(text[1], spath, f"{where} point {j}"),
                )
            )
        if kind in ("rectangle", "ellipse") and len(points) != 4:
            raise AnnotationError(spath, f"{where}: a {kind} needs 4 points, got {len(points)}")
        if kind == "ellipse":
            points = _ellipse(points)
        if label_field == "color":
            pen = element.find("pen")
            color = (pen.get("color") if pen is not None else None) or ""
            label = color[:7].lower() if color.startswith("#") and len(color) in (7, 9) else color
        else:
            label = element.get(label_field) or ""
        polygons.append(_polygon(spath, where, points, label))
    return polygons
