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

    Partial overlaps of at least ``overlap_area`` are reported with a warning. The pairs
    come from an STRtree, so time grows with the number of regions and of touching pairs,
    not with its square (100,000 cells inside one annotation take seconds).
    """
    import shapely

    n = len(geometries)
    out = list(geometries)
    if n < 2:
        return out
    shells = np.array(
        [
            shapely.unary_union([shapely.Polygon(p.exterior) for p in getattr(g, "geoms", [g])])
            for g in geometries
        ],
        dtype=object,
    )
    live = ~shapely.is_empty(shells)
    tree = shapely.STRtree(shells)
    outer, inner = tree.query(shells, predicate="contains")
    keep = (outer != inner) & live[outer] & live[inner]
    outer, inner = outer[keep], inner[keep]
    contains = set(zip(outer.tolist(), inner.tolist(), strict=True))
    cuts: dict[int, list[int]] = {}
    for i, j in contains:
        if (j, i) in contains and i > j:
            continue  # identical shells: the later region keeps the area
        cuts.setdefault(i, []).append(j)
    for i in sorted(cuts):
        out[i] = _polygonal(out[i].difference(shapely.unary_union(shells[sorted(cuts[i])])))
    a, b = tree.query(shells, predicate="intersects")
    pair = (a < b) & live[a] & live[b]
    a, b = a[pair], b[pair]
    partial = np.array(
        [(i, j) not in contains and (j, i) not in contains for i, j in zip(a, b, strict=True)],
        dtype=bool,
    )
    if partial.any():
        a, b = a[partial], b[partial]
        areas = shapely.area(shapely.intersection(shells[a], shells[b]))
        for i, j, area in zip(a.tolist(), b.tolist(), areas.tolist(), strict=True):
            if area >= overlap_area:
                warnings.warn(
                    f"{path}: regions {i} ({labels[i]!r}) and {j} ({labels[j]!r}) overlap "
                    f"by {area:.0f} level-0 px²; that area may be sampled under both labels",
                    stacklevel=3,
                )
    return out


def split_exclusions(
    polygons: Sequence[AnnotationPolygon],
    exclusion_labels: Sequence[str],
    included_labels: Sequence[str],
    *,
    path: str,
) -> tuple[list[AnnotationPolygon], Any]:
    """The polygons to sample, and the union of those labelled for exclusion (or None).

    Exclusion regions (CAMELYON16's group ``_2``, QuPath's "Exclusion"...) are not sampled;
    they are cut out of every sampled region. Naming a label that no polygon has is warned
    about, since nothing would be cut out.
    """
    import shapely

    if not exclusion_labels:
        return list(polygons), None
    cut = {str(x) for x in exclusion_labels}
    both = cut & {str(x) for x in included_labels}
    if both:
        raise LocationError(path, f"labels {sorted(both)} are both included and cut out")
    excluded = [p for p in polygons if p.label in cut]
    if not excluded:
        have = sorted({p.label for p in polygons})
        warnings.warn(
            f"{path}: no polygon is labelled {sorted(cut)}, so nothing is cut out; "
            f"the polygons' labels are {have}",
            stacklevel=4,
        )
        return list(polygons), None
    union = _polygonal(shapely.unary_union([p.to_shapely() for p in excluded]))
    return [p for p in polygons if p.label not in cut], union


def cut_out(geometries: list[Any], exclusion: Any) -> list[Any]:
    """Each geometry minus the exclusion regions (those that do not touch them unchanged)."""
    import shapely

    if exclusion is None or exclusion.is_empty or not geometries:
        return geometries
    shapely.prepare(exclusion)
    hit = shapely.intersects(exclusion, np.array(geometries, dtype=object))
    out = list(geometries)
    for i in np.flatnonzero(hit).tolist():
        out[i] = _polygonal(out[i].difference(exclusion))
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
) -> Bool:
    """Which top-left corners pass the foreground and region-overlap tests."""
    eps = 1e-9
    ok = np.ones(x.shape[0], dtype=bool)
    if foreground_ratio > 0:
        ok = mask.foreground_fraction(x=x, y=y, width=footprint, height=footprint) >= (
            foreground_ratio - eps
        )
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
