"""WSIPolygonMask and the polygon rasterisers (level-0 and mask-level coordinates)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from os import PathLike, fspath
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from slidepatch.errors import MaskError
from slidepatch.masks.mask import Mask
from slidepatch.masks.morphology import BoolArray
from slidepatch.masks.tissue import resolve_level_or_minsize

if TYPE_CHECKING:
    from slidepatch.annotations import AnnotationPolygon, PolygonSource
    from slidepatch.options import ReadOptions


def rasterize_polygons(
    polygons: Sequence[AnnotationPolygon],
    *,
    mask_size: tuple[int, int],
    slide_dimensions: tuple[int, int],
) -> BoolArray:
    """Rasterise level-0 AnnotationPolygons (holes honoured) onto a ``mask_size`` grid.

    Pixel ``(row, col)`` is set when its centre, level-0 ``((col + 0.5) * sx,
    (row + 0.5) * sy)``, lies inside the union of the polygons. A numpy scanline fill
    (even-odd over every ring of the union) applies this rule exactly; Pillow's polygon
    fill also sets the pixels its edges touch, which biased left and top edges by a pixel.

    A centre exactly on the boundary follows the half-open rule of the pixel boxes: it is
    inside on a left or top edge, outside on a right or bottom edge (at a downsample of 16,
    a square from 200 to 800 gets columns 12..49, column 12 centred on 200).
    """
    import shapely

    w, h = int(mask_size[0]), int(mask_size[1])
    sx, sy = slide_dimensions[0] / w, slide_dimensions[1] / h
    union = shapely.unary_union([p.to_shapely() for p in polygons])
    mask = np.zeros((h, w), dtype=bool)
    rows, cols = _scanline_crossings(_ring_edges(union), sx, sy, w, h)
    inside = cols < w  # crossings right of the last centre toggle no pixel
    rows, cols = rows[inside], cols[inside]
    if rows.size == 0:
        return mask
    # A crossing toggles the pixels from the first centre at or right of it to the row's
    # end, so a pixel is inside when an odd number of crossings lie at or left of its
    # centre: mark the odd-count starts, then a running XOR along each row (in place, in
    # the mask's own bytes: 0 and 1 are valid booleans).
    starts, counts = np.unique(rows * w + cols, return_counts=True)
    flat = mask.reshape(-1).view(np.uint8)
    flat[starts[counts % 2 == 1]] = 1
    box = mask.view(np.uint8)[int(rows.min()) : int(rows.max()) + 1, int(cols.min()) :]
    np.bitwise_xor.accumulate(box, axis=1, out=box)
    return mask


def _ring_edges(geometry: Any) -> npt.NDArray[np.float64]:
    """Edges ``(x0, y0, x1, y1)``, shape (n, 4), of every ring of every polygon in ``geometry``."""
    import shapely

    parts = shapely.get_parts(geometry)
    while True:
        nested = shapely.get_type_id(parts) >= 4  # multi-geometries and collections
        if not nested.any():
            break
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    rings = shapely.get_rings(parts[shapely.get_type_id(parts) == 3])
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]  # consecutive vertices of one (closed) ring
    return np.concatenate([coords[:-1][same], coords[1:][same]], axis=1).astype(np.float64)


def _scanline_crossings(
    edges: npt.NDArray[np.float64], sx: float, sy: float, w: int, h: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row and column (first centre at or right of it, 0..w) of each edge-scanline crossing.

    An edge, ordered so ``y0 <= y1``, crosses the rows whose centre ``yc`` has
    ``y0 <= yc < y1``: horizontal edges cross none and a vertex counts once (or twice,
    or not at all, at a local extremum), so the crossings of every row pair up.
    """
    down = edges[:, 1] <= edges[:, 3]
    xa = np.where(down, edges[:, 0], edges[:, 2])
    ya = np.where(down, edges[:, 1], edges[:, 3])
    xb = np.where(down, edges[:, 2], edges[:, 0])
    yb = np.where(down, edges[:, 3], edges[:, 1])
    first = _first_centre(ya, sy, h)
    n = _first_centre(yb, sy, h) - first
    spans = n > 0
    xa, ya, xb, yb, first, n = xa[spans], ya[spans], xb[spans], yb[spans], first[spans], n[spans]
    edge = np.repeat(np.arange(n.shape[0]), n)
    rows = first[edge] + np.arange(edge.shape[0]) - np.repeat(np.cumsum(n) - n, n)
    slope = (xb - xa) / (yb - ya)
    x = xa[edge] + ((rows + 0.5) * sy - ya[edge]) * slope[edge]
    return rows.astype(np.int64), _first_centre(x, sx, w)


def _first_centre(t: npt.NDArray[np.float64], scale: float, n: int) -> npt.NDArray[np.int64]:
    """Smallest ``k`` in ``0..n`` whose centre ``(k + 0.5) * scale`` is ``>= t`` (else ``n``).

    The estimate from ``t / scale`` is corrected against the centres as computed elsewhere,
    so the comparison with ``t`` is exact in floating point.
    """
    k = np.clip(np.ceil(t / scale - 0.5), -1, n + 1).astype(np.int64)
    k -= ((k - 0.5) * scale >= t).astype(np.int64)
    k += ((k + 0.5) * scale < t).astype(np.int64)
    return np.clip(k, 0, n)


class WSIPolygonMask(Mask):
    """Mask of annotation polygons at one level.

    ``polygon_data`` (the reference's keyword; ``polygons`` is its 0.0.4 name): a list of
    AnnotationPolygon, a JSON string or a JSON file, in pixels *of the mask level*, drawn as
    the reference draws them: vertices truncated to integers, every pixel inside or on the
    outline set, holes filled (a warning says so). ``polygons_level0``: polygons in level-0
    pixels (from the annotation readers), holes honoured, a pixel set when its centre is
    inside. ``exclusion_labels``: polygons with these labels are not drawn but erased from
    the others (CAMELYON16's exclusion group ``_2`` inside tumour regions).
    """

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        level_or_minsize: int,
        polygon_data: PolygonSource | None = None,
        polygons: PolygonSource | None = None,
        polygons_level0: PolygonSource | None = None,
        slide_mpp: float | None = None,
        exclusion_labels: Sequence[str] = (),
        read_options: ReadOptions | None = None,
    ) -> None:
        from slidepatch.annotations import load_polygon_data
        from slidepatch.options import read_options_of
        from slidepatch.slide import Slide

        path = fspath(wsi_file)
        given = [v is not None for v in (polygon_data, polygons, polygons_level0)]
        if sum(given) != 1:
            raise TypeError(
                f"{path}: WSIPolygonMask needs exactly one of polygon_data (mask-level "
                "pixels), polygons (its old name) or polygons_level0 (level-0 pixels)"
            )
        opts = read_options_of(read_options, mpp=slide_mpp, path=path)
        with Slide.open(path, read_options=opts) as slide:
            level = resolve_level_or_minsize(level_or_minsize, slide.level_dimensions, path=path)
            size = slide.level_dimensions[level]
            dims = slide.dimensions
        level0 = polygons_level0 is not None
        data = polygons_level0 if level0 else polygon_data if polygon_data is not None else polygons
        loaded = load_polygon_data(data)

        def draw(chosen: list[AnnotationPolygon]) -> BoolArray:
            if level0:
                return rasterize_polygons(chosen, mask_size=size, slide_dimensions=dims)
            return rasterize_mask_level_polygons(chosen, mask_size=size, path=path)

        cut = {str(x) for x in exclusion_labels}
        array = draw([p for p in loaded if p.label not in cut])
        if cut:
            erased = [p for p in loaded if p.label in cut]
            if not erased:
                warnings.warn(
                    f"{path}: no polygon is labelled {sorted(cut)}, so nothing is cut out of "
                    f"the mask; the polygons' labels are {sorted({p.label for p in loaded})}",
                    stacklevel=2,
                )
            else:
                array &= ~draw(erased)
        super().__init__(
            array=array,
            slide_dimensions=dims,
            level=level,
            wsi_file=path,
            source=f"polygon mask level {level}",
        )
        self._read_options = opts


def rasterize_mask_level_polygons(
    polygons: Sequence[AnnotationPolygon], *, mask_size: tuple[int, int], path: str | None = None
) -> BoolArray:
    """Draw polygons given in mask pixels as the reference does, shape (height, width).

    Vertices are truncated to integers; pixel ``(row, col)`` is set when the point
    ``(col, row)`` lies inside a polygon's outline or on it. Holes are filled (the
    reference ignored them). A vertex beyond the mask size is an error.
    """
    import shapely

    w, h = int(mask_size[0]), int(mask_size[1])
    mask = np.zeros((h, w), dtype=bool)
    with_holes = 0
    for i, polygon in enumerate(polygons):
        points = np.asarray(polygon.points, dtype=np.float64).astype(np.int64)
        if points.shape[0] == 0:
            continue
        if int(points[:, 0].max()) > w or int(points[:, 1].max()) > h:
            raise MaskError(
                path,
                f"polygon {i}: coordinates up to ({int(points[:, 0].max())}, "
                f"{int(points[:, 1].max())}) exceed the mask size {w}x{h}; polygon_data is in "
                "mask-level pixels (use polygons_level0= for level-0 coordinates)",
            )
        with_holes += bool(polygon.holes)
        c0, r0 = max(int(points[:, 0].min()), 0), max(int(points[:, 1].min()), 0)
        c1, r1 = min(int(points[:, 0].max()), w - 1), min(int(points[:, 1].max()), h - 1)
        if c1 < c0 or r1 < r0:
            continue
        outline = shapely.Polygon(points) if points.shape[0] >= 3 else shapely.LineString(points)
        if not outline.is_valid:
            outline = shapely.make_valid(outline)
        shapely.prepare(outline)
        rows, cols = np.mgrid[r0 : r1 + 1, c0 : c1 + 1]
        inside = shapely.intersects_xy(outline, cols.ravel(), rows.ravel())
        mask[r0 : r1 + 1, c0 : c1 + 1] |= inside.reshape(rows.shape)
    if with_holes:
        warnings.warn(
            f"{path}: {with_holes} polygon(s) with holes: polygon_data masks fill holes as "
            "the reference does (use polygons_level0= to keep them)",
            stacklevel=3,
        )
    return mask


# --------------------------------------------------------------------------- mask_data
