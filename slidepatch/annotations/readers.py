"""The Sedeen XML reader; the other formats' readers live in one module each.

``read_geojson`` (QuPath, :mod:`.geojson`) and ``read_asap_xml`` (:mod:`.asap`) are
re-exported here for code that imports them from this module. Sedeen rules:
``polygon``, ``rectangle`` and ``ellipse`` (converted to a 65-vertex polygon, as the
reference) are read, label = the graphic's ``name`` (or ``description``/``color`` with
``label_field``); lines, rulers and points are skipped.

A file that cannot be parsed, or an area shape with bad coordinates, raises
:class:`~slidepatch.errors.AnnotationError` naming the file and the element.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from os import PathLike, fspath
from typing import Any, Literal

from slidepatch.annotations.asap import read_asap_xml
from slidepatch.annotations.geojson import read_geojson
from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.errors import AnnotationError

ELLIPSE_VERTICES = 65  # the reference's count (its 64-segment circle plus the closing vertex)

__all__ = ["read_asap_xml", "read_geojson", "read_sedeen_xml"]


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


# --------------------------------------------------------------------------- XML
def _parse_xml(path: str) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise AnnotationError(path, f"cannot parse XML: {exc}") from exc


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
