"""From parsed vertices to AnnotationPolygons: checked, repaired (``make_valid``) or skipped.

Shared by every reader so that each treats odd shapes alike: extra ordinates (z) are
dropped, a closing vertex is dropped, a hole with fewer than 3 vertices is dropped with a
warning, an invalid outline is repaired into its polygonal parts with a warning, and a
shape without area is skipped with a warning (all through a :class:`FeatureReport`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.annotations._report import FeatureReport
from slidepatch.annotations.polygon import AnnotationPolygon, Ring

ELLIPSE_VERTICES = 64

Coords = npt.NDArray[np.float64]


def ring_coords(coords: object) -> Coords | str:
    """A ring's vertices as an ``(n, 2)`` float array (z and beyond dropped), or why not."""
    try:
        arr = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError):
        try:  # positions of mixed dimension ([x, y] and [x, y, z] in one ring)
            arr = np.asarray([p[:2] for p in coords], dtype=np.float64)  # type: ignore[attr-defined, index]
        except (TypeError, ValueError, IndexError, KeyError):
            return "coordinates must be [x, y] number pairs"
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 2:
        return "coordinates must be a list of [x, y] positions"
    arr = arr[:, :2]
    if not np.isfinite(arr).all():
        return "a coordinate is not finite"
    return arr


def _open(arr: Coords) -> Coords:
    """The ring without its closing vertex."""
    if arr.shape[0] > 1 and arr[0, 0] == arr[-1, 0] and arr[0, 1] == arr[-1, 1]:
        return arr[:-1]
    return arr


def _ring_tuple(arr: Coords) -> Ring:
    return tuple(map(tuple, arr.tolist()))  # type: ignore[arg-type]


def _open_ring(arr: Coords) -> Ring:
    return _ring_tuple(_open(arr))


def area_polygons(
    report: FeatureReport,
    where: str,
    exterior: object,
    holes: Sequence[object],
    label: str,
) -> list[AnnotationPolygon]:
    """One area shape as polygons ([] when it is skipped, several when a repair splits it)."""
    import shapely

    ext = ring_coords(exterior)
    if isinstance(ext, str):
        report.skip_bad(where, ext)
        return []
    ext = _open(ext)
    if ext.shape[0] < 3:
        report.skip_bad(where, f"a polygon needs at least 3 vertices, got {ext.shape[0]}")
        return []
    hole_arrays: list[Coords] = []
    for k, hole in enumerate(holes):
        arr = ring_coords(hole)
        if not isinstance(arr, str):
            arr = _open(arr)
        if isinstance(arr, str) or arr.shape[0] < 3:
            why = arr if isinstance(arr, str) else "fewer than 3 vertices"
            report.repair(where, f"hole {k} dropped ({why})")
            continue
        hole_arrays.append(arr)
    geom = shapely.Polygon(ext, hole_arrays) if hole_arrays else shapely.polygons(ext)
    if shapely.is_valid(geom):
        if shapely.area(geom) <= 0:
            report.skip_bad(where, "zero area")
            return []
        rings = tuple(_ring_tuple(h) for h in hole_arrays)
        return [AnnotationPolygon._checked(_ring_tuple(ext), label, rings)]
    reason = shapely.is_valid_reason(geom)
    parts = polygon_parts(shapely.make_valid(geom))
    if not parts:
        report.skip_bad(where, f"no area (invalid outline: {reason})")
        return []
    report.repair(
        where, f"invalid outline ({reason}) repaired with make_valid into {len(parts)} polygon(s)"
    )
    return [from_shapely(part, label) for part in parts]


def polygon_parts(geom: Any) -> list[Any]:
    """The polygons with area inside any shapely geometry (collections flattened)."""
    import shapely

    if geom.is_empty:
        return []
    if isinstance(geom, shapely.Polygon):
        return [geom] if geom.area > 0 else []
    out: list[Any] = []
    for part in getattr(geom, "geoms", []):
        out.extend(polygon_parts(part))
    return out


def from_shapely(polygon: Any, label: str) -> AnnotationPolygon:
    """An AnnotationPolygon from a valid shapely Polygon (exterior and holes)."""
    exterior = _open_ring(np.asarray(polygon.exterior.coords)[:, :2])
    holes = tuple(_open_ring(np.asarray(r.coords)[:, :2]) for r in polygon.interiors)
    return AnnotationPolygon._checked(exterior, label, holes)


def ellipse_ring(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    """The ellipse inscribed in the box with corners (x0, y0), (x1, y1), as a polygon."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rx, ry = abs(x1 - x0) / 2, abs(y1 - y0) / 2
    step = 2 * math.pi / ELLIPSE_VERTICES
    return [
        (cx + rx * math.cos(k * step), cy + ry * math.sin(k * step))
        for k in range(ELLIPSE_VERTICES)
    ]


def box_ring(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    """The axis-aligned rectangle with corners (x0, y0), (x1, y1)."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
