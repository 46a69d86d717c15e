"""Sedeen XML sessions: polygon, rectangle and ellipse graphics as labelled polygons.

Layout: ``session/image/overlays/graphic`` (``type``, ``name``, ``description``, ``pen@color``)
with ``point-list/point`` texts ``"x,y"``. Rectangles and ellipses carry the 4 corners of
their box; an ellipse becomes a 65-vertex polygon, as in the reference. Lines, rulers and
points are skipped and counted.
"""

from __future__ import annotations

import math
from os import PathLike, fspath
from typing import Literal

from slidepatch.annotations._report import FeatureReport
from slidepatch.annotations._shapes import area_polygons
from slidepatch.annotations._xml import number, parse_xml
from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.errors import AnnotationError

ELLIPSE_VERTICES = 65  # the reference's count (its 64-segment circle plus the closing vertex)
AREA_TYPES = ("polygon", "rectangle", "ellipse")

SedeenLabel = Literal["name", "description", "color"]


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


def _points(texts: list[str | None]) -> list[tuple[float, float]]:
    points = []
    for j, text in enumerate(texts):
        parts = (text or "").split(",")
        if len(parts) != 2:
            raise ValueError(f"point {j}: expected 'x,y', got {text!r}")
        try:
            points.append((number(parts[0]), number(parts[1])))
        except ValueError as exc:
            raise ValueError(f"point {j}: {exc}") from None
    return points


def read_sedeen_xml(
    path: str | PathLike[str], *, label_field: SedeenLabel = "name", strict: bool = False
) -> list[AnnotationPolygon]:
    """Read a Sedeen XML session: polygon, rectangle and ellipse graphics.

    The label is the graphic's ``name`` by default; ``label_field="description"`` uses its
    description and ``"color"`` its pen colour as ``#rrggbb`` (alpha dropped). A bad graphic
    is skipped with an :class:`~slidepatch.errors.AnnotationWarning` naming it;
    ``strict=True`` raises :class:`~slidepatch.errors.AnnotationError` instead.
    """
    spath = fspath(path)
    if label_field not in ("name", "description", "color"):
        raise ValueError(
            f"label_field must be 'name', 'description' or 'color', got {label_field!r}"
        )
    root = parse_xml(spath)
    if root.tag != "session" or root.find("image") is None:
        raise AnnotationError(spath, "not a Sedeen session: expected session/image")
    report = FeatureReport(spath, strict=strict)
    polygons: list[AnnotationPolygon] = []
    for i, element in enumerate(root.findall("image/overlays/graphic")):
        kind = (element.get("type") or "").strip().lower()
        where = f"graphic {i} ({element.get('name', '')!r}, type={element.get('type')!r})"
        if kind not in AREA_TYPES:
            report.skip_kind(f"{element.get('type') or 'untyped'} graphics")
            continue
        try:
            points = _points([p.text for p in element.findall("point-list/point")])
        except ValueError as exc:
            report.skip_bad(where, str(exc))
            continue
        if kind in ("rectangle", "ellipse") and len(points) != 4:
            report.skip_bad(where, f"a {kind} needs 4 points, got {len(points)}")
            continue
        if kind == "ellipse":
            points = _ellipse(points)
        if label_field == "color":
            pen = element.find("pen")
            color = (pen.get("color") if pen is not None else None) or ""
            label = color[:7].lower() if color.startswith("#") and len(color) in (7, 9) else color
        else:
            label = element.get(label_field) or ""
        polygons.extend(area_polygons(report, where, points, (), label))
    report.finish()
    return polygons
