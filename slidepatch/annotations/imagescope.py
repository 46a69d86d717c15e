"""Aperio ImageScope XML (TCGA-era annotations): regions of each layer as labelled polygons.

Layout: ``Annotations/Annotation`` (a layer: ``Name``, ``Attributes/Attribute@Value``) holding
``Regions/Region`` (``Type``, ``NegativeROA``, ``Text``) with ``Vertices/Vertex@X,Y``. Region
types 0 (freehand or polygon), 1 (rectangle) and 2 (ellipse, given by two corners of its box)
are areas; arrows, rulers and other types are skipped and counted. A ``GeoShape`` attribute
(QuPath's TCGA-style export: Area, Rectangle, Ellipse, Points...) takes precedence over the
type. A ``NegativeROA="1"`` region is a hole of the region of its layer that contains it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from os import PathLike, fspath
from typing import Literal

from slidepatch.annotations._layers import LayerRegion, layer_polygons
from slidepatch.annotations._report import FeatureReport
from slidepatch.annotations._shapes import area_polygons, box_ring, ellipse_ring
from slidepatch.annotations._xml import number, parse_xml
from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.errors import AnnotationError

ImageScopeLabel = Literal["name", "attribute", "text"]
_KINDS = {"0": "polygon", "1": "rectangle", "2": "ellipse"}
_GEO_SHAPES = {
    "area": "polygon",
    "polygon": "polygon",
    "rectangle": "rectangle",
    "ellipse": "ellipse",
}


def vertices(region: ET.Element, tag: str) -> list[tuple[float, float]]:
    """The ``Vertices/<tag>`` points of a region; ValueError names the bad vertex."""
    points = []
    for k, vertex in enumerate(region.findall(f"Vertices/{tag}")):
        try:
            points.append((number(vertex.get("X")), number(vertex.get("Y"))))
        except ValueError as exc:
            raise ValueError(f"{tag} {k}: {exc}") from None
    return points


def outline(kind: str, points: list[tuple[float, float]]) -> list[tuple[float, float]] | str:
    """The polygon of a polygon/rectangle/ellipse region, or why it has none."""
    if kind == "polygon":
        return points
    if len(points) < 2:
        return f"a {kind} needs at least 2 vertices, got {len(points)}"
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if kind == "rectangle":
        return points if len(points) == 4 else box_ring(min(xs), min(ys), max(xs), max(ys))
    return ellipse_ring(min(xs), min(ys), max(xs), max(ys))


def layer_region(
    report: FeatureReport,
    where: str,
    region: ET.Element,
    *,
    kind: str,
    vertex_tag: str,
    label: str,
) -> LayerRegion | None:
    """One ImageScope/HALO region as a :class:`LayerRegion` (``NegativeROA`` marks a hole),
    or None when its outline is unusable (reported as a skipped feature)."""
    try:
        ring = outline(kind, vertices(region, vertex_tag))
    except ValueError as exc:
        report.skip_bad(where, str(exc))
        return None
    if isinstance(ring, str):
        report.skip_bad(where, ring)
        return None
    negative = (region.get("NegativeROA") or "0").strip() == "1"
    return LayerRegion(where, area_polygons(report, where, ring, (), label), negative)


def _layer_label(layer: ET.Element, label_from: ImageScopeLabel) -> str:
    attribute = layer.find("Attributes/Attribute")
    value = "" if attribute is None else attribute.get("Value") or ""
    if label_from == "attribute":
        return value
    return layer.get("Name") or value


def read_imagescope_xml(
    path: str | PathLike[str],
    *,
    label_from: ImageScopeLabel = "name",
    strict: bool = False,
) -> list[AnnotationPolygon]:
    """Read an Aperio ImageScope XML file; holes from negative regions.

    The label is the layer's ``Name`` (its first attribute's value when the name is empty);
    ``label_from="attribute"`` takes that attribute value, ``"text"`` each region's ``Text``.
    A bad region is skipped with an :class:`~slidepatch.errors.AnnotationWarning` naming it;
    ``strict=True`` raises :class:`~slidepatch.errors.AnnotationError` instead.
    """
    spath = fspath(path)
    if label_from not in ("name", "attribute", "text"):
        raise ValueError(f"label_from must be 'name', 'attribute' or 'text', got {label_from!r}")
    root = parse_xml(spath)
    if root.tag != "Annotations":
        raise AnnotationError(spath, "not an ImageScope file: expected Annotations/Annotation")
    report = FeatureReport(spath, strict=strict)
    polygons: list[AnnotationPolygon] = []
    for i, layer in enumerate(root.findall("Annotation")):
        label = _layer_label(layer, label_from)
        regions = []
        for j, region in enumerate(layer.findall("Regions/Region")):
            where = f"Annotation {i} ({layer.get('Name', '')!r}) Region {j}"
            shape = (region.get("GeoShape") or "").strip().lower()
            if shape:  # written by QuPath's TCGA-style exporter; its Type codes differ
                kind = _GEO_SHAPES.get(shape)
                if kind is None:
                    report.skip_kind(f"GeoShape={region.get('GeoShape')} regions")
                    continue
            else:
                kind = _KINDS.get((region.get("Type") or "0").strip())
                if kind is None:
                    report.skip_kind(f"Type={region.get('Type')} regions")
                    continue
            text = (region.get("Text") or "") if label_from == "text" else label
            found = layer_region(report, where, region, kind=kind, vertex_tag="Vertex", label=text)
            if found is not None:
                regions.append(found)
        polygons.extend(layer_polygons(report, regions))
    report.finish()
    return polygons
