"""HALO XML (Indica Labs): regions of each layer as labelled polygons.

Layout: ``Annotations/Annotation`` (a layer, label = its ``Name``) holding
``Regions/Region`` (``Type`` = Polygon, Rectangle, Ellipse, Ruler, Pin...; ``NegativeROA``)
with ``Vertices/V@X,Y``. Rectangles and ellipses are given by two corners of their box.
Polygon, Rectangle and Ellipse are areas; the other types are skipped and counted. A
``NegativeROA="1"`` region is a hole of the region of its layer that contains it.
"""

from __future__ import annotations

from os import PathLike, fspath

from slidepatch.annotations._layers import layer_polygons
from slidepatch.annotations._report import FeatureReport
from slidepatch.annotations._xml import parse_xml
from slidepatch.annotations.imagescope import layer_region
from slidepatch.annotations.polygon import AnnotationPolygon
from slidepatch.errors import AnnotationError

AREA_TYPES = ("polygon", "rectangle", "ellipse")


def read_halo_xml(path: str | PathLike[str], *, strict: bool = False) -> list[AnnotationPolygon]:
    """Read a HALO annotation XML file; label = layer name, holes from negative regions.

    A bad region is skipped with an :class:`~slidepatch.errors.AnnotationWarning` naming it;
    ``strict=True`` raises :class:`~slidepatch.errors.AnnotationError` instead.
    """
    spath = fspath(path)
    root = parse_xml(spath)
    if root.tag != "Annotations":
        raise AnnotationError(spath, "not a HALO file: expected Annotations/Annotation")
    report = FeatureReport(spath, strict=strict)
    polygons: list[AnnotationPolygon] = []
    for i, layer in enumerate(root.findall("Annotation")):
        label = layer.get("Name") or ""
        regions = []
        for j, region in enumerate(layer.findall("Regions/Region")):
            where = f"Annotation {i} ({label!r}) Region {j} (Type={region.get('Type')!r})"
            kind = (region.get("Type") or "Polygon").strip().lower()
            if kind not in AREA_TYPES:
                report.skip_kind(f"{region.get('Type')} regions")
                continue
            found = layer_region(report, where, region, kind=kind, vertex_tag="V", label=label)
            if found is not None:
                regions.append(found)
        polygons.extend(layer_polygons(report, regions))
    report.finish()
    return polygons
