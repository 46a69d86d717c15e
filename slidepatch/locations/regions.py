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
# Above this many parts + holes, overlap areas are summed piece by piece (see overlap_areas).
MANY_PIECES = 64
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
    if geom.is_valid and isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
        return geom  # already polygonal (a union would cost as much as the geometry's size)
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
    shells = np.array(geometries, dtype=object)
    simple = np.array([isinstance(g, shapely.Polygon) for g in geometries], dtype=bool)
    if simple.any():
        shells[simple] = shapely.polygons(shapely.get_exterior_ring(shells[simple]))
    for i in np.flatnonzero(~simple).tolist():
        shells[i] = _shell(geometries[i])
    live = ~shapely.is_empty(shells)
    tree = shapely.STRtree(shells)
    # Candidate pairs by bounding box only, then the exact predicates on the few left:
    # evaluating "contains" for every touching pair of 100,000 cells costs seconds.
    a, b = tree.query(shells)
    pair = (a != b) & live[a] & live[b]
    a, b = a[pair], b[pair]
    bounds = shapely.bounds(shells)
    areas = shapely.area(shells)
    may_contain = (
        (bounds[a, 0] <= bounds[b, 0])
        & (bounds[a, 1] <= bounds[b, 1])
        & (bounds[a, 2] >= bounds[b, 2])
        & (bounds[a, 3] >= bounds[b, 3])
        & (areas[a] >= areas[b])
    )
    ca, cb = a[may_contain], b[may_contain]
    hit = shapely.contains(shells[ca], shells[cb]) if ca.size else np.zeros(0, bool)
    contains = set(zip(ca[hit].tolist(), cb[hit].tolist(), strict=True))
    cuts: dict[int, list[int]] = {}
    for i, j in contains:
        if (j, i) in contains and i > j:
            continue  # identical shells: the later region keeps the area
        cuts.setdefault(i, []).append(j)
    for i in sorted(cuts):
        out[i] = cut_holes(out[i], list(shells[sorted(cuts[i])]))
    # Partial overlaps worth a warning: their bounding boxes must overlap by that much first
    # (touching cells of a detection export never do).
    ix = np.minimum(bounds[a, 2], bounds[b, 2]) - np.maximum(bounds[a, 0], bounds[b, 0])
    iy = np.minimum(bounds[a, 3], bounds[b, 3]) - np.maximum(bounds[a, 1], bounds[b, 1])
    forward = (a < b) & (np.clip(ix, 0, None) * np.clip(iy, 0, None) >= overlap_area)
    a, b = a[forward], b[forward]
    partial = np.array(
        [(i, j) not in contains and (j, i) not in contains for i, j in zip(a, b, strict=True)],
        dtype=bool,
    )
    a, b = a[partial], b[partial]
    if a.size:
        overlap = shapely.area(shapely.intersection(shells[a], shells[b]))
        for i, j, area in zip(a.tolist(), b.tolist(), overlap.tolist(), strict=True):
            if area >= overlap_area:
                warnings.warn(
                    f"{path}: regions {i} ({labels[i]!r}) and {j} ({labels[j]!r}) overlap "
                    f"by {area:.0f} level-0 px²; that area may be sampled under both labels",
                    stacklevel=3,
                )
    return out


def cut_holes(geom: Any, inner: list[Any]) -> Any:
    """``geom`` minus the ``inner`` polygons, which lie inside it.

    When they are disjoint from each other and from its holes (cells inside an annotation)
    they simply become holes, checked by one validity test; a union of 100,000 cells would
    take minutes. Otherwise (overlapping inner regions), the exact difference.
    """
    import shapely

    if isinstance(geom, shapely.Polygon) and all(isinstance(g, shapely.Polygon) for g in inner):
        own = shapely.get_interior_ring(geom, np.arange(shapely.get_num_interior_rings(geom)))
        rings = np.concatenate([own, shapely.get_exterior_ring(np.array(inner, dtype=object))])
        candidate = shapely.polygons(shapely.get_exterior_ring(geom), holes=rings)
        if candidate.is_valid:
            return candidate
    return _polygonal(geom.difference(shapely.unary_union(inner)))


def _shell(geom: Any) -> Any:
    """The geometry with its holes filled."""
    import shapely

    if isinstance(geom, shapely.Polygon):
        return shapely.Polygon(geom.exterior) if geom.interiors else geom
    return shapely.unary_union([shapely.Polygon(p.exterior) for p in getattr(geom, "geoms", [])])


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
            inter = overlap_areas(geom, boxes[rest])
            passed[rest] = inter >= overlap_ratio * area - eps * area
    else:
        rest = np.flatnonzero(~inside & shapely.intersects(geom, boxes))
        if rest.size:
            inter = overlap_areas(geom, boxes[rest])
            passed[rest] = inter >= area * (1 - eps)
    ok[idx] = passed
    return ok


def overlap_areas(geom: Any, boxes: npt.NDArray[np.object_]) -> Float:
    """Area of each box's intersection with a valid (multi)polygon.

    With many parts or holes (a QuPath annotation with thousands of cells cut out of it),
    intersecting every box with the whole geometry costs its full size per box; instead the
    areas are summed over the parts' shells minus their holes, each found through an
    STRtree, so each box only meets the pieces near it.
    """
    import shapely

    parts = list(getattr(geom, "geoms", [geom]))
    if len(parts) + sum(len(p.interiors) for p in parts) < MANY_PIECES:
        return np.asarray(shapely.area(shapely.intersection(boxes, geom)), dtype=np.float64)
    pieces = np.array(parts, dtype=object)
    shells = shapely.polygons(shapely.get_exterior_ring(pieces))
    counts = shapely.get_num_interior_rings(pieces)
    owner = np.repeat(np.arange(pieces.shape[0]), counts)
    index = np.arange(owner.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    holes = shapely.polygons(shapely.get_interior_ring(pieces[owner], index))
    total = np.zeros(boxes.shape[0], dtype=np.float64)
    box_bounds = shapely.bounds(boxes)
    for pieces, sign in ((shells, 1.0), (holes, -1.0)):
        if pieces.size == 0:
            continue
        b, k = shapely.STRtree(pieces).query(boxes)  # bounding boxes only
        if not b.size:
            continue
        pb = shapely.bounds(pieces)[k]
        bb = box_bounds[b]
        whole = (pb[:, 0] >= bb[:, 0]) & (pb[:, 1] >= bb[:, 1])
        whole &= (pb[:, 2] <= bb[:, 2]) & (pb[:, 3] <= bb[:, 3])
        areas = np.empty(b.shape[0], dtype=np.float64)
        areas[whole] = shapely.area(pieces[k[whole]])  # inside the (rectangular) box
        rest = ~whole
        areas[rest] = shapely.area(shapely.intersection(boxes[b[rest]], pieces[k[rest]]))
        total += sign * np.bincount(b, weights=areas, minlength=boxes.shape[0])
    return total


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
