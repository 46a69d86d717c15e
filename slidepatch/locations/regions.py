"""Sampling regions in level-0 coordinates and the validation of candidate patches."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.annotations import AnnotationPolygon
from slidepatch.errors import LocationError
from slidepatch.locations.empty import CandidateStats
from slidepatch.masks import Mask

Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]


@dataclass
class Region:
    """One sampling region: its label, geometry (None = the bounding box itself) and box."""

    label: str
    bbox: tuple[float, float, float, float]
    geometry: Any = None
    supplied: list[AnnotationPolygon] = field(default_factory=list)
    buffered: Any = None


def filter_polygons(
    polygons: Sequence[AnnotationPolygon],
    included_labels: Sequence[str],
    excluded_labels: Sequence[str],
    *,
    path: str,
) -> list[AnnotationPolygon]:
    if included_labels and excluded_labels:
        raise LocationError(path, "give included_labels or excluded_labels, not both")
    if included_labels:
        keep = {str(x) for x in included_labels}
        return [p for p in polygons if p.label in keep]
    if excluded_labels:
        drop = {str(x) for x in excluded_labels}
        return [p for p in polygons if p.label not in drop]
    return list(polygons)


def _polygonal(geom: Any) -> Any:
    import shapely

    if geom.is_empty:
        return geom
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [
        g
        for g in getattr(geom, "geoms", [geom])
        if isinstance(g, (shapely.Polygon, shapely.MultiPolygon))
    ]
    return shapely.unary_union(parts) if parts else shapely.Polygon()


def buffer_geometry(geom: Any, distance: float, *, label: str, path: str) -> Any:
    if distance:
        geom = _polygonal(geom.buffer(distance))
    if geom.is_empty or geom.area <= 0:
        raise LocationError(
            path, f"region {label!r} has no area (after a polygon_buffer of {distance} level-0 px)"
        )
    return geom


def resolve_containment(
    geometries: list[Any], labels: Sequence[str], *, path: str, overlap_area: float
) -> list[Any]:
    """A region containing another loses the inner one's area (sampled once, inner label).

    Partial overlaps of at least ``overlap_area`` are reported with a warning.
    """
    import shapely

    shells = [
        shapely.unary_union([shapely.Polygon(p.exterior) for p in getattr(g, "geoms", [g])])
        for g in geometries
    ]
    out = list(geometries)
    n = len(geometries)
    for i in range(n):
        for j in range(n):
            if i == j or shells[i].is_empty or shells[j].is_empty:
                continue
            if shells[i].contains(shells[j]) and not (shells[j].contains(shells[i]) and i > j):
                out[i] = _polygonal(out[i].difference(shells[j]))
            elif i < j and shells[i].intersects(shells[j]) and not shells[j].contains(shells[i]):
                area = shells[i].intersection(shells[j]).area
                if area >= overlap_area:
                    warnings.warn(
                        f"{path}: regions {i} ({labels[i]!r}) and {j} ({labels[j]!r}) overlap "
                        f"by {area:.0f} level-0 px²; that area may be sampled under both labels",
                        stacklevel=3,
                    )
    return out


def bbox_of(geom: Any) -> tuple[float, float, float, float]:
    xmin, ymin, xmax, ymax = geom.bounds
    return (float(xmin), float(ymin), float(xmax), float(ymax))


def valid_candidates(
    region: Region,
    x: Float,
    y: Float,
    *,
    footprint: float,
    mask: Mask,
    foreground_ratio: float,
    overlap_ratio: float,
    mask_scale: tuple[float, float] | None = None,
    stats: CandidateStats | None = None,
) -> Bool:
    """Which top-left corners pass the foreground and region-overlap tests.

    With ``mask_scale`` (level-0 pixels per mask pixel), the foreground test counts whole
    mask pixels as the reference does; without it, partial pixels are weighted by area.
    ``stats`` (optional) counts candidates and foreground passes, to explain an empty result.
    """
    eps = 1e-9
    ok = np.ones(x.shape[0], dtype=bool)
    if foreground_ratio > 0:
        if mask_scale is None:
            fraction = mask.foreground_fraction(x=x, y=y, width=footprint, height=footprint)
        else:
            fraction = whole_pixel_fraction(mask, x=x, y=y, footprint=footprint, scale=mask_scale)
        ok = fraction >= foreground_ratio - eps
        if stats is not None and fraction.shape[0]:
            stats.best_foreground = max(stats.best_foreground, float(fraction.max()))
    if stats is not None:
        stats.candidates += int(x.shape[0])
        stats.foreground_passed += int(ok.sum())
    if overlap_ratio <= 0 or not ok.any():
        return ok
    area = footprint * footprint
    idx = np.flatnonzero(ok)
    xs, ys = x[idx], y[idx]
    if region.geometry is None:
        xmin, ymin, xmax, ymax = region.bbox
        iw = np.clip(np.minimum(xs + footprint, xmax) - np.maximum(xs, xmin), 0, None)
        ih = np.clip(np.minimum(ys + footprint, ymax) - np.maximum(ys, ymin), 0, None)
        ok[idx] = iw * ih >= overlap_ratio * area - eps * area
        return ok
    import shapely

    geom = region.geometry
    shapely.prepare(geom)
    boxes = shapely.box(xs, ys, xs + footprint, ys + footprint)
    inside = shapely.contains(geom, boxes)
    passed = inside.copy()
    if overlap_ratio < 1:
        rest = np.flatnonzero(~inside & shapely.intersects(geom, boxes))
        if rest.size:
            inter = shapely.area(shapely.intersection(boxes[rest], geom))
            passed[rest] = inter >= overlap_ratio * area - eps * area
    else:
        rest = np.flatnonzero(~inside & shapely.intersects(geom, boxes))
        if rest.size:
            inter = shapely.area(shapely.intersection(boxes[rest], geom))
            passed[rest] = inter >= area * (1 - eps)
    ok[idx] = passed
    return ok


def whole_pixel_fraction(
    mask: Mask, *, x: Float, y: Float, footprint: float, scale: tuple[float, float]
) -> Float:
    """Foreground fraction of each patch's window rounded to whole mask pixels.

    The window runs from the rounded mask coordinate of the corner to the rounded mask
    coordinate of the far corner; pixels outside the mask count as background (the
    reference's rule). A window that starts before the mask's first row or column has no
    foreground: the reference slices the mask from its negative start, which is empty, so
    it never places a patch whose corner lies above or left of the slide.
    """
    sx, sy = scale
    u0 = np.rint(x / sx).astype(np.int64)
    v0 = np.rint(y / sy).astype(np.int64)
    u1 = np.rint(x / sx + footprint / sx).astype(np.int64)
    v1 = np.rint(y / sy + footprint / sy).astype(np.int64)
    table = mask.integral()
    h, w = mask.array.shape
    cu0, cu1 = np.clip(u0, 0, w), np.clip(u1, 0, w)
    cv0, cv1 = np.clip(v0, 0, h), np.clip(v1, 0, h)
    count = table[cv1, cu1] - table[cv0, cu1] - table[cv1, cu0] + table[cv0, cu0]
    size = (u1 - u0) * (v1 - v0)
    counted = (size > 0) & (u0 >= 0) & (v0 >= 0)
    return np.asarray(np.divide(count, size, out=np.zeros(x.shape[0], np.float64), where=counted))
