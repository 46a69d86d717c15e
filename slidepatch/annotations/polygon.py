"""AnnotationPolygon: one annotated region (exterior, holes, label) in level-0 coordinates."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, TypedDict

import numpy as np

from slidepatch.errors import AnnotationError

Point = tuple[float, float]
Ring = tuple[Point, ...]


class PolygonDict(TypedDict):
    """An AnnotationPolygon as JSON: what ``polygon_data`` JSON holds."""

    points: list[list[float]]
    label: str
    holes: list[list[list[float]]]


def _ring(points: Iterable[Sequence[float]], what: str) -> Ring:
    """Validate and freeze a ring of (x, y) vertices (floats kept, closing vertex dropped)."""
    ring: list[Point] = []
    for i, point in enumerate(points):
        try:
            x, y = point
            fx, fy = float(x), float(y)
        except (TypeError, ValueError) as exc:
            raise AnnotationError(
                None, f"{what}: vertex {i} must be (x, y), got {point!r}"
            ) from exc
        if not (math.isfinite(fx) and math.isfinite(fy)):
            raise AnnotationError(None, f"{what}: vertex {i} is not finite: {point!r}")
        ring.append((fx, fy))
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        raise AnnotationError(None, f"{what}: a polygon needs at least 3 vertices, got {len(ring)}")
    return tuple(ring)


class AnnotationPolygon:
    """A labelled polygon with optional holes; vertices are level-0 ``(x, y)`` floats.

    Equality compares label, vertices and holes (tuples and lists alike), like the reference.
    """

    __slots__ = ("_holes", "_label", "_points")

    def __init__(
        self,
        *,
        points: Iterable[Sequence[float]],
        label: str | None = "",
        holes: Iterable[Iterable[Sequence[float]]] = (),
    ) -> None:
        self._label = "" if label is None else str(label)
        self._points = _ring(points, f"polygon {self._label!r}")
        self._holes = tuple(
            _ring(hole, f"polygon {self._label!r} hole {i}") for i, hole in enumerate(holes)
        )

    @property
    def points(self) -> list[Point]:
        return list(self._points)

    @property
    def label(self) -> str:
        return self._label

    @property
    def holes(self) -> list[list[Point]]:
        return [list(hole) for hole in self._holes]

    @property
    def data_dict(self) -> PolygonDict:
        """JSON form: ``{"points": [[x, y]...], "label": str, "holes": [[[x, y]...]...]}``."""
        return {
            "points": [list(p) for p in self._points],
            "label": self._label,
            "holes": [[list(p) for p in hole] for hole in self._holes],
        }

    def to_shapely(self) -> Any:
        """The polygon as a shapely geometry (repaired with ``make_valid`` if needed)."""
        import shapely

        shell = np.asarray(self._points, dtype=np.float64)
        if self._holes:  # rings of different lengths: only the Polygon constructor takes them
            geom = shapely.Polygon(shell, [np.asarray(h, dtype=np.float64) for h in self._holes])
        else:
            geom = shapely.polygons(shell)
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
            polys = [
                g
                for g in getattr(geom, "geoms", [geom])
                if isinstance(g, (shapely.Polygon, shapely.MultiPolygon))
            ]
            geom = shapely.unary_union(polys) if polys else shapely.Polygon()
        return geom

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnnotationPolygon):
            return NotImplemented
        return (self._label, self._points, self._holes) == (
            other._label,
            other._points,
            other._holes,
        )

    def __hash__(self) -> int:
        return hash((self._label, self._points, self._holes))

    def __repr__(self) -> str:
        return (
            f"AnnotationPolygon(label={self._label!r}, points={len(self._points)} vertices, "
            f"holes={len(self._holes)})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._points, self._label, self._holes))

    @classmethod
    def _checked(cls, points: Ring, label: str, holes: tuple[Ring, ...]) -> AnnotationPolygon:
        """Build from rings a reader has already validated (finite floats, open, >= 3 vertices).

        Skips the per-vertex Python checks, which dominate reading 100,000-feature files.
        """
        polygon = cls.__new__(cls)
        polygon._label = label
        polygon._points = points
        polygon._holes = holes
        return polygon


def _rebuild(points: Ring, label: str, holes: tuple[Ring, ...]) -> AnnotationPolygon:
    # The rings come from a polygon that was checked when it was made.
    return AnnotationPolygon._checked(points, label, holes)


def shapes_of(polygons: Sequence[AnnotationPolygon]) -> list[Any]:
    """``[p.to_shapely() for p in polygons]``, built in bulk for the polygons without holes.

    One vectorised call makes the rings of every hole-free polygon (a cell export has
    100,000), then validity is checked in bulk; invalid ones and those with holes go
    through :meth:`AnnotationPolygon.to_shapely` one by one.
    """
    import shapely

    out: list[Any] = [None] * len(polygons)
    simple = [i for i, p in enumerate(polygons) if not p._holes]
    if simple:
        sizes = np.array([len(polygons[i]._points) for i in simple], dtype=np.int64)
        coords = np.array(
            [xy for i in simple for xy in polygons[i]._points], dtype=np.float64
        ).reshape(-1, 2)
        index = np.repeat(np.arange(len(simple)), sizes)
        # linearrings closes each ring; a ring of n vertices becomes n + 1 coordinates
        shapes = shapely.polygons(shapely.linearrings(coords, indices=index))
        valid = shapely.is_valid(shapes)
        for k, i in enumerate(simple):
            out[i] = shapes[k] if valid[k] else polygons[i].to_shapely()
    for i, p in enumerate(polygons):
        if out[i] is None:
            out[i] = p.to_shapely()
    return out
