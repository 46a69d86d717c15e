"""Layers of regions with negative regions (ImageScope and HALO ``NegativeROA``) to polygons.

A negative region is a hole of the region of its layer that contains it (the smallest one
when regions nest). One that only overlaps regions is cut out of them, with a warning; one
that touches no region is skipped with a warning. Linear in the number of regions: the
containing region is found through an STRtree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slidepatch.annotations._report import FeatureReport
from slidepatch.annotations._shapes import from_shapely, polygon_parts
from slidepatch.annotations.polygon import AnnotationPolygon


@dataclass
class LayerRegion:
    """One region as read: its outline (already checked) and whether it is negative."""

    where: str
    polygons: list[AnnotationPolygon]
    negative: bool


def layer_polygons(
    report: FeatureReport, regions: Sequence[LayerRegion]
) -> list[AnnotationPolygon]:
    """The positive regions of one layer, each with the negative regions inside it as holes."""
    import shapely

    positives = [(r, p) for r in regions if not r.negative for p in r.polygons]
    negatives = [(r, p) for r in regions if r.negative for p in r.polygons]
    if not negatives:
        return [p for _, p in positives]
    shapes = [p.to_shapely() for _, p in positives]
    tree = shapely.STRtree(shapes)
    cuts: dict[int, list[Any]] = {}
    for region, polygon in negatives:
        neg = polygon.to_shapely()
        inside = [int(i) for i in tree.query(neg, predicate="within")]
        if inside:
            smallest = min(inside, key=lambda i: shapes[i].area)
            cuts.setdefault(smallest, []).append(neg)
            continue
        touched = [int(i) for i in tree.query(neg, predicate="intersects")]
        if not touched:
            report.skip_bad(region.where, "negative region lies in no region of its layer")
            continue
        report.repair(region.where, f"negative region overlaps {len(touched)} regions: cut out")
        for i in touched:
            cuts.setdefault(i, []).append(neg)
    out: list[AnnotationPolygon] = []
    for i, (region, polygon) in enumerate(positives):
        if i not in cuts:
            out.append(polygon)
            continue
        remaining = shapes[i].difference(shapely.unary_union(cuts[i]))
        parts = polygon_parts(remaining)
        if not parts:
            report.skip_bad(region.where, "no area left after its negative regions")
        out.extend(from_shapely(part, polygon.label) for part in parts)
    return out
