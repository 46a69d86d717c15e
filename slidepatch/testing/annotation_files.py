"""Annotation files laid out as ASAP, QuPath, Aperio ImageScope and HALO write them.

For tests and examples: irregular hand-drawn-like outlines (:func:`blob`) written in each
tool's own structure, so that readers can be checked against the vertices that went in.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from os import PathLike, fspath
from typing import Any

import numpy as np

Ring = list[tuple[float, float]]


def blob(cx: float, cy: float, r: float, *, n: int = 40, seed: int = 0) -> Ring:
    """An irregular outline around (cx, cy), about ``r`` in radius; star-shaped, so simple."""
    rng = np.random.default_rng(seed)
    wobble = 0.25 * np.sin(np.linspace(0, 6 * math.pi, n)) + rng.uniform(-0.1, 0.1, n)
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return [
        (round(cx + r * (1 + w) * math.cos(a), 3), round(cy + r * (1 + w) * math.sin(a), 3))
        for w, a in zip(wobble.tolist(), angles.tolist(), strict=True)
    ]


def write_asap_xml(
    path: str | PathLike[str], annotations: Sequence[tuple[str, str, Sequence[Sequence[Any]]]]
) -> str:
    """``annotations``: (Type, PartOfGroup, [(X, Y)...]); coordinates written as given."""
    root = ET.Element("ASAP_Annotations")
    parent = ET.SubElement(root, "Annotations")
    for i, (kind, group, points) in enumerate(annotations):
        element = ET.SubElement(
            parent, "Annotation", Name=f"Annotation {i}", Type=kind, PartOfGroup=group
        )
        element.set("Color", "#F4FA58")
        coords = ET.SubElement(element, "Coordinates")
        for j, (x, y) in enumerate(points):
            ET.SubElement(coords, "Coordinate", Order=str(j), X=str(x), Y=str(y))
    groups = ET.SubElement(root, "AnnotationGroups")
    for name in sorted({g for _, g, _ in annotations} - {"None"}):
        ET.SubElement(groups, "Group", Name=name, PartOfGroup="None", Color="#ff0000")
    ET.ElementTree(root).write(fspath(path), encoding="utf-8", xml_declaration=True)
    return fspath(path)


def qupath_feature(
    rings: Sequence[Ring],
    *,
    classification: object = None,
    object_type: str = "annotation",
    name: str | None = None,
) -> dict[str, Any]:
    """A QuPath >= 0.4 Feature: a Polygon (exterior then holes, closed rings)."""
    properties: dict[str, Any] = {"objectType": object_type}
    if classification is not None:
        properties["classification"] = classification
    if name is not None:
        properties["name"] = name
    coordinates = [[list(p) for p in [*ring, ring[0]]] for ring in rings]
    return {
        "type": "Feature",
        "id": f"{object_type}-{id(rings)}",
        "geometry": {"type": "Polygon", "coordinates": coordinates},
        "properties": properties,
    }


def write_qupath_geojson(
    path: str | PathLike[str], features: Sequence[dict[str, Any]], *, bom: bool = False
) -> str:
    """A FeatureCollection, as QuPath's "Export objects as GeoJSON" writes it."""
    text = json.dumps({"type": "FeatureCollection", "features": list(features)})
    with open(fspath(path), "w", encoding="utf-8-sig" if bom else "utf-8") as fh:
        fh.write(text)
    return fspath(path)


def write_layers_xml(
    path: str | PathLike[str],
    layers: Sequence[tuple[str, Sequence[tuple[str, bool, Ring]]]],
    *,
    flavour: str,
) -> str:
    """ImageScope (``flavour="imagescope"``) or HALO (``"halo"``) XML.

    ``layers``: (layer name, [(region type, negative, vertices)...]). Region types are
    written as given (ImageScope: "0" polygon, "1" rectangle, "2" ellipse, "4" ruler...;
    HALO: "Polygon", "Rectangle", "Ellipse", "Ruler"...).
    """
    root = ET.Element("Annotations")
    if flavour == "imagescope":
        root.set("MicronsPerPixel", "0.252000")
    vertex = "Vertex" if flavour == "imagescope" else "V"
    for i, (name, regions) in enumerate(layers):
        layer = ET.SubElement(root, "Annotation", Id=str(i + 1), Name=name, LineColor="65280")
        if flavour == "imagescope":
            layer.set("Type", "4")
            attributes = ET.SubElement(layer, "Attributes")
            ET.SubElement(attributes, "Attribute", Name="Description", Id="0", Value=name)
        parent = ET.SubElement(layer, "Regions")
        for j, (kind, negative, points) in enumerate(regions):
            region = ET.SubElement(parent, "Region", Type=kind, NegativeROA=str(int(negative)))
            if flavour == "imagescope":
                region.set("Id", str(j + 1))
                region.set("Text", f"region {j + 1}")
            vertices = ET.SubElement(region, "Vertices")
            for x, y in points:
                element = ET.SubElement(vertices, vertex, X=str(x), Y=str(y))
                if flavour == "imagescope":
                    element.set("Z", "0")
            if flavour == "halo":
                ET.SubElement(region, "Comments")
    ET.ElementTree(root).write(fspath(path), encoding="utf-8", xml_declaration=True)
    return fspath(path)


def assert_polygons_match(
    polygons: Sequence[Any], expected: Sequence[tuple[str, Any]], *, rel: float = 1e-9
) -> None:
    """Read polygons against an independent shapely parse of what was written.

    ``expected``: (label, shapely Polygon) in order. Checks count, labels, holes, area and
    that the shapes coincide (symmetric difference within ``rel`` of the area).
    """
    assert [p.label for p in polygons] == [label for label, _ in expected], (
        [p.label for p in polygons],
        [label for label, _ in expected],
    )
    for i, (polygon, (_, shape)) in enumerate(zip(polygons, expected, strict=True)):
        read = polygon.to_shapely()
        assert len(polygon.holes) == len(shape.interiors), (i, polygon, len(shape.interiors))
        assert math.isclose(read.area, shape.area, rel_tol=rel), (i, read.area, shape.area)
        assert read.symmetric_difference(shape).area <= rel * shape.area + 1e-6, i
