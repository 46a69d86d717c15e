"""Polygon masks: WSIPolygonMask on real slides, and rasterize_polygons against a
shapely centre oracle (ties, scanlines, odd grids, random shapes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from mask_helpers import BLUE, blend, read_png

from slidepatch.annotations import AnnotationPolygon
from slidepatch.masks import (
    WSIPolygonMask,
    rasterize_polygons,
)
from slidepatch.slide import Slide


def test_polygon_mask_honours_holes(cmu_small: Path) -> None:
    poly = AnnotationPolygon(
        points=[(0, 0), (1000, 0), (1000, 1000), (0, 1000)],
        label="a",
        holes=[[(400, 400), (600, 400), (600, 600), (400, 600)]],
    )
    mask = WSIPolygonMask(polygons_level0=[poly], wsi_file=cmu_small, level_or_minsize=0)
    assert mask.array[100, 100] and not mask.array[500, 500] and not mask.array[1500, 1500]
    expected = np.zeros_like(mask.array)  # 1:1, centres i + 0.5: pixels 0..999 minus 400..599
    expected[:1000, :1000] = True
    expected[400:600, 400:600] = False
    assert np.array_equal(mask.array, expected)


def test_polygon_mask_overlay_thickness(cmu_small: Path, tmp_path: Path) -> None:
    square = AnnotationPolygon(points=[(200, 200), (800, 200), (800, 800), (200, 800)], label="a")
    mask = WSIPolygonMask(polygons_level0=[square], wsi_file=cmu_small, level_or_minsize=0)
    rows = np.flatnonzero(mask.array.any(axis=1))
    cols = np.flatnonzero(mask.array.any(axis=0))
    top, bottom = int(rows[0]), int(rows[-1])
    # Centre rule at 1:1: pixel i (centre i + 0.5) is in [200, 800) for i = 200..799.
    assert (top, bottom) == (200, 799) and (int(cols[0]), int(cols[-1])) == (200, 799)
    assert mask.array[top : bottom + 1, top : bottom + 1].all()
    assert mask.array.sum() == 600 * 600
    mask.save_overlay_png(tmp_path / "p.png", mask_color="red", outline_thickness=3)
    out = read_png(tmp_path / "p.png")
    with Slide.open(cmu_small) as slide:
        level = slide.read_level(0)
    for edge in (top, bottom):  # the 1-px boundary grown to 3 px, one each side
        for i in (edge - 1, edge, edge + 1):
            assert tuple(out[i, 500]) == BLUE and tuple(out[500, i]) == BLUE
    for i in (top - 2, bottom + 2, 1500):
        assert np.array_equal(out[i, 500], level[i, 500])
    for i in (top + 2, 500, bottom - 2):
        assert np.array_equal(out[i, 500], blend(level[i, 500], (255, 0, 0), 0.5))


def _polygon(
    points: list[tuple[float, float]], *holes: list[tuple[float, float]]
) -> AnnotationPolygon:
    return AnnotationPolygon(points=points, label="a", holes=list(holes))


def _centres(
    mask_size: tuple[int, int], slide_dimensions: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    w, h = mask_size
    sx, sy = slide_dimensions[0] / w, slide_dimensions[1] / h
    cols, rows = np.meshgrid(np.arange(w), np.arange(h))
    return (cols + 0.5) * sx, (rows + 0.5) * sy


def _check_centre_rule(
    polygons: list[AnnotationPolygon],
    *,
    mask_size: tuple[int, int],
    slide_dimensions: tuple[int, int],
    ties: int = 0,
) -> np.ndarray:
    """The mask, checked against shapely at every pixel centre.

    ``ties`` is the number of centres exactly on the boundary (shapely calls them outside,
    the rasteriser decides by edge side); every other pixel must agree with the oracle.
    """
    got = rasterize_polygons(polygons, mask_size=mask_size, slide_dimensions=slide_dimensions)
    assert got.dtype == np.bool_ and got.shape == (mask_size[1], mask_size[0])
    union = shapely.unary_union([p.to_shapely() for p in polygons])
    x, y = _centres(mask_size, slide_dimensions)
    oracle = shapely.contains_xy(union, x, y)
    on_edge = shapely.distance(union.boundary, shapely.points(x, y)) < 1e-9
    assert int(on_edge.sum()) == ties
    assert np.array_equal(got[~on_edge], oracle[~on_edge])
    return got


def test_rasterize_square_one_to_one() -> None:
    square = _polygon([(200, 200), (800, 200), (800, 800), (200, 800)])
    mask = _check_centre_rule([square], mask_size=(1000, 1000), slide_dimensions=(1000, 1000))
    expected = np.zeros((1000, 1000), dtype=bool)
    expected[200:800, 200:800] = True  # 600 x 600, not Pillow's 199..799
    assert np.array_equal(mask, expected)


def test_rasterize_square_downsample_16_edge_ties() -> None:
    # Centres are 16 * i + 8: column/row 12 sits exactly on the left/top edge at 200 and is
    # inside; 808 is column 50's centre and the right/bottom edge, so column 50 is outside.
    square = _polygon([(200, 200), (808, 200), (808, 808), (200, 808)])
    mask = _check_centre_rule(
        [square], mask_size=(100, 100), slide_dimensions=(1600, 1600), ties=4 * 39 - 4
    )
    expected = np.zeros((100, 100), dtype=bool)
    expected[12:50, 12:50] = True
    assert np.array_equal(mask, expected) and mask.sum() == 38 * 38
    # The 200..800 square of the issue: no centre on its right/bottom edges.
    square = _polygon([(200, 200), (800, 200), (800, 800), (200, 800)])
    mask = rasterize_polygons([square], mask_size=(100, 100), slide_dimensions=(1600, 1600))
    assert np.array_equal(mask, expected)


def test_rasterize_horizontal_edges_on_scanlines() -> None:
    # 3000 x 2000 onto 188 x 125: sy = 16, row centres 16 * r + 8. Top edge on row 3's
    # centres (inside), bottom edge on row 10's (outside); the x edges fall between centres.
    rect = _polygon([(100.3, 56), (500.7, 56), (500.7, 168), (100.3, 168)])
    sx = 3000 / 188
    n_cols = int(
        np.sum(((np.arange(188) + 0.5) * sx >= 100.3) & ((np.arange(188) + 0.5) * sx < 500.7))
    )
    mask = _check_centre_rule(
        [rect], mask_size=(188, 125), slide_dimensions=(3000, 2000), ties=2 * n_cols
    )
    rows = np.flatnonzero(mask.any(axis=1))
    assert rows.tolist() == list(range(3, 10))
    assert mask.sum() == 7 * n_cols


ODD_GRIDS = [((188, 125), (3000, 2000)), ((100, 80), (1000, 800)), ((137, 91), (2220, 1475))]
SHAPES: dict[str, list[AnnotationPolygon]] = {
    "rotated": [
        _polygon(
            [
                (1500.0 + 700 * np.cos(a), 1000.0 + 500 * np.sin(a))
                for a in np.arange(4) * np.pi / 2 + 0.4
            ]
        )
    ],
    "irregular": [
        _polygon(
            [(310.2, 220.7), (2710.9, 433.1), (2233.3, 1811.4), (1200.6, 1403.3), (402.5, 1702.2)]
        )
    ],
    "hole": [
        _polygon(
            [(120.4, 130.1), (2820.3, 150.9), (2700.2, 1850.6), (140.7, 1790.3)],
            [(900.1, 600.3), (1300.9, 1400.2), (2100.4, 700.8)],
        )
    ],
    "two_parts": [
        _polygon([(100.1, 100.2), (900.3, 130.4), (700.5, 900.6)]),
        _polygon([(1500.7, 1200.8), (2900.9, 1100.1), (2500.2, 1900.3), (1600.4, 1800.5)]),
    ],
    "overlapping": [
        _polygon([(300.1, 300.2), (1700.3, 300.4), (1700.5, 1500.6), (300.7, 1500.8)]),
        _polygon([(1200.9, 900.1), (2600.2, 700.3), (2400.4, 1900.5)]),
    ],
    "bowtie": [_polygon([(200.3, 200.6), (2700.2, 1800.1), (2700.7, 200.4), (200.9, 1800.8)])],
    "concave_comb": [
        _polygon(
            [
                (150.3, 1900.7),
                (150.3, 120.1),
                (700.6, 1500.2),
                (1250.9, 120.4),
                (1800.2, 1500.6),
                (2350.5, 120.8),
                (2900.8, 1900.9),
            ]
        )
    ],
    "beyond_mask": [
        _polygon(
            [
                (-500.3, -300.7),
                (3600.1, -200.2),
                (3400.6, 2500.4),
                (1000.2, 1000.9),
                (-200.8, 2600.1),
            ]
        )
    ],
    "touching_mask_edges": [
        _polygon([(0, 0), (3000, 0), (1800.4, 1000.3), (3000, 2000), (0, 2000)])
    ],
}


@pytest.mark.parametrize("grid", ODD_GRIDS, ids=lambda g: f"{g[0][0]}x{g[0][1]}")
@pytest.mark.parametrize("name", list(SHAPES))
def test_rasterize_matches_centre_oracle(
    name: str, grid: tuple[tuple[int, int], tuple[int, int]]
) -> None:
    mask_size, slide = grid
    scale = slide[0] / 3000, slide[1] / 2000  # the shapes are drawn on a 3000 x 2000 slide
    polygons = [
        AnnotationPolygon(
            points=[(x * scale[0], y * scale[1]) for x, y in p.points],
            holes=[[(x * scale[0], y * scale[1]) for x, y in hole] for hole in p.holes],
        )
        for p in SHAPES[name]
    ]
    mask = _check_centre_rule(polygons, mask_size=mask_size, slide_dimensions=slide)
    assert 0 < mask.sum() < mask.size


def test_rasterize_vertices_on_scanlines() -> None:
    # sy = 16: every vertex lies on a row of centres (16 * r + 8), none on a centre, so
    # each vertex kind is hit: peaks (two crossings), valleys (none) and pass-throughs (one).
    zigzag = _polygon(
        [
            (100.3, 1800.0 + 8),
            (400.6, 200.0 + 8),
            (700.9, 1000.0 + 8),
            (1000.2, 200.0 + 8),
            (1300.5, 1400.0 + 8),
            (1600.8, 600.0 + 8),
            (1900.1, 1800.0 + 8),
        ]
    )
    diamond = _polygon([(2500.3, 408.0), (2900.6, 808.0), (2500.3, 1208.0), (2100.9, 808.0)])
    _check_centre_rule([zigzag, diamond], mask_size=(188, 125), slide_dimensions=(3000, 2000))


def test_rasterize_random_polygons() -> None:
    rng = np.random.default_rng(7)
    for _ in range(25):
        n = int(rng.integers(3, 60))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(50, 1100, n)
        cx, cy = rng.uniform(500, 2500), rng.uniform(400, 1600)
        ring = [
            (cx + r * np.cos(a), cy + r * np.sin(a)) for r, a in zip(radii, angles, strict=True)
        ]
        hole = [(cx + 40 * np.cos(a), cy + 40 * np.sin(a)) for a in angles[::-1]]
        _check_centre_rule(
            [_polygon(ring, hole) if n % 2 else _polygon(ring)],
            mask_size=(188, 125),
            slide_dimensions=(3000, 2000),
        )


def test_rasterize_empty_and_degenerate() -> None:
    empty = rasterize_polygons([], mask_size=(40, 30), slide_dimensions=(400, 300))
    assert empty.shape == (30, 40) and not empty.any()
    flat = _polygon([(0, 0), (200, 150), (400, 300)])  # collinear: no area
    assert not rasterize_polygons([flat], mask_size=(40, 30), slide_dimensions=(400, 300)).any()


def test_polygon_mask_on_non_integer_level(synthetic_svs: Path) -> None:
    polygons = SHAPES["hole"] + SHAPES["two_parts"]
    mask = WSIPolygonMask(polygons_level0=polygons, wsi_file=synthetic_svs, level_or_minsize=2)
    assert mask.dimensions == (188, 125)
    expected = _check_centre_rule(polygons, mask_size=(188, 125), slide_dimensions=(3000, 2000))
    assert np.array_equal(mask.array, expected)
