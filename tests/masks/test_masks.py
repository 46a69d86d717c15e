"""Masks: tissue mask, polygon mask, mask_data inputs and scale checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from slidepatch.annotations import AnnotationPolygon
from slidepatch.errors import MaskError
from slidepatch.masks import (
    Mask,
    WSIPolygonMask,
    WSITissueMask,
    fill_holes,
    lab_a_star,
    load_mask,
    rasterize_polygons,
    remove_small_objects,
    srgb_to_lab,
)
from slidepatch.slide import Slide

CMU = (2220, 2967)
BLUE = (0, 0, 255)
GREEN = (0, 128, 0)  # Pillow's "green"


@pytest.fixture(scope="module")
def cmu_mask(cmu_small: Path) -> WSITissueMask:
    return WSITissueMask(wsi_file=cmu_small, level_or_minsize=0)


@pytest.fixture(scope="module")
def cmu_level(cmu_small: Path) -> np.ndarray:
    with Slide.open(cmu_small) as slide:
        return slide.read_level(0)


def _blend(pixel: np.ndarray, color: tuple[int, int, int], alpha: float) -> np.ndarray:
    exact = (1 - alpha) * pixel.astype(np.float64) + alpha * np.array(color, dtype=np.float64)
    return np.floor(exact + 0.5).astype(np.uint8)


def _box_sums(mask: Mask, radius: int) -> np.ndarray:
    """Mask pixels in the (2r+1)^2 box around each pixel at least r from the edge."""
    t = mask.integral()
    k = 2 * radius + 1
    return np.asarray(t[k:, k:] - t[:-k, k:] - t[k:, :-k] + t[:-k, :-k])


def _boundary(arr: np.ndarray) -> np.ndarray:
    p = np.pad(arr, 1)
    return arr & ~(p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:])


def _read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGB"
        return np.asarray(image)


def test_tissue_mask_on_real_slide(cmu_small: Path, tmp_path: Path) -> None:
    mask = WSITissueMask(wsi_file=cmu_small, level_or_minsize=0)
    assert mask.array.shape == (2967, 2220)
    assert 0.2 < mask.array.mean() < 0.6  # the section covers about a third of the field
    assert not mask.array[:20, :20].any()  # glass in the top-left corner
    mask.save_png(tmp_path / "m.png")
    mask.save_array(tmp_path / "m.npz")
    for source in (tmp_path / "m.png", tmp_path / "m.npz", str(tmp_path / "m.png")):
        loaded = load_mask(source, slide_dimensions=CMU)
        assert np.array_equal(loaded.array, mask.array)
    assert load_mask(mask, slide_dimensions=CMU) is mask


def test_save_methods_take_the_reference_names_and_path_alias(
    cmu_mask: WSITissueMask, tmp_path: Path
) -> None:
    """png_file=/array_file= are the reference's keywords; slidepatch's path= still works."""
    mask = cmu_mask
    mask.save_png(png_file=tmp_path / "a.png")
    mask.save_png(path=tmp_path / "b.png")
    mask.save_array(array_file=tmp_path / "a.npz")
    mask.save_array(path=tmp_path / "b.npz")
    mask.save_overlay_png(png_file=tmp_path / "oa.png")
    mask.save_overlay_png(path=tmp_path / "ob.png")
    for a, b in (("a.png", "b.png"), ("a.npz", "b.npz")):
        loaded_a = load_mask(tmp_path / a, slide_dimensions=CMU).array
        assert np.array_equal(loaded_a, load_mask(tmp_path / b, slide_dimensions=CMU).array)
        assert np.array_equal(loaded_a, mask.array)
    with Image.open(tmp_path / "oa.png") as oa, Image.open(tmp_path / "ob.png") as ob:
        assert np.array_equal(np.asarray(oa), np.asarray(ob))
    for method, name in (
        (mask.save_png, "png_file"),
        (mask.save_array, "array_file"),
        (mask.save_overlay_png, "png_file"),
    ):
        with pytest.raises(TypeError, match=f"both {name}= and its alias path="):
            method(**{name: tmp_path / "x", "path": tmp_path / "y"})
        with pytest.raises(TypeError, match=f"pass {name}="):
            method()
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


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


def test_any_scale_and_transpose_hint() -> None:
    thumb = np.ones((297, 222), dtype=np.uint8)
    mask = load_mask(thumb, slide_dimensions=CMU)
    assert mask.downsample == pytest.approx((10.0, 9.990), rel=1e-3)
    with pytest.raises(MaskError, match=r"mask\.T"):
        load_mask(thumb.T, slide_dimensions=CMU)
    with pytest.raises(MaskError, match=r"300x300.*2220x2967"):
        load_mask(np.ones((300, 300)), slide_dimensions=CMU)
    with pytest.raises(MaskError, match="2-D"):
        load_mask(np.ones((297, 222, 3)), slide_dimensions=CMU)
    with pytest.raises(TypeError):
        load_mask(3.5, slide_dimensions=CMU)
    with pytest.raises(MaskError, match="not found"):
        load_mask("/nonexistent/mask.png", slide_dimensions=CMU)


def test_rgb_png_rejected(tmp_path: Path) -> None:
    Image.new("RGB", (222, 297)).save(tmp_path / "rgb.png")
    with pytest.raises(MaskError, match="one channel"):
        load_mask(tmp_path / "rgb.png", slide_dimensions=CMU)


def test_foreground_fraction_is_area_exact() -> None:
    arr = np.zeros((10, 10), dtype=bool)
    arr[:, :5] = True
    mask = Mask(array=arr, slide_dimensions=(100, 100))
    frac = mask.foreground_fraction(
        x=np.array([0.0, 25.0, 45.0, -50.0]), y=np.zeros(4), width=50, height=50
    )
    assert frac == pytest.approx([1.0, 0.5, 0.1, 0.0])


def test_component_cleanup() -> None:
    arr = np.zeros((20, 20), dtype=bool)
    arr[2:12, 2:12] = True
    arr[5:7, 5:7] = False  # hole of 4 px
    arr[15, 15] = True  # speck
    assert not remove_small_objects(arr, min_size=2)[15, 15]
    assert remove_small_objects(arr, min_size=2)[2, 2]
    assert fill_holes(arr, max_size=4)[5:7, 5:7].all()
    assert not fill_holes(arr, max_size=3)[5:7, 5:7].any()


def test_srgb_to_lab_reference_values() -> None:
    rgb = np.array(
        [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [128, 128, 128], [0, 0, 0]]],
        dtype=np.uint8,
    )
    lab = srgb_to_lab(rgb)
    expected = [
        (53.24, 80.09, 67.20),  # red
        (87.73, -86.18, 83.18),  # green
        (32.30, 79.19, -107.86),  # blue
        (100.0, 0.0, 0.0),  # white
        (53.59, 0.0, 0.0),  # mid grey
        (0.0, 0.0, 0.0),  # black
    ]
    assert lab.dtype == np.float32
    assert lab[0] == pytest.approx(np.array(expected), abs=0.5)
    assert lab_a_star(rgb)[0] == pytest.approx(lab[0, :, 1], abs=1e-4)
    with pytest.raises(ValueError, match="uint8"):
        srgb_to_lab(rgb.astype(np.float32))


def test_lab_mode_on_real_slide(cmu_small: Path, cmu_mask: WSITissueMask) -> None:
    lab = WSITissueMask(wsi_file=cmu_small, level_or_minsize=0, mode="lab").array
    assert 0.25 < lab.mean() < 0.45  # measured 0.342; the default mode finds 0.354
    assert not lab[:20, :20].any()
    default = cmu_mask.array
    iou = (lab & default).sum() / (lab | default).sum()
    assert iou > 0.93  # measured 0.958
    with pytest.raises(MaskError, match=r"CMU-1-Small-Region.*'lab'"):
        WSITissueMask(wsi_file=cmu_small, level_or_minsize=0, mode="rgb")  # type: ignore[arg-type]


def test_overlay_png_pixels(cmu_mask: WSITissueMask, cmu_level: np.ndarray, tmp_path: Path) -> None:
    cmu_mask.save_overlay_png(tmp_path / "o.png", mask_color="#FF8000", mask_alpha=0.3)
    out = _read_png(tmp_path / "o.png")
    assert out.shape == cmu_level.shape and (out.shape[1], out.shape[0]) == CMU
    sums = _box_sums(cmu_mask, 10)
    inside = np.argwhere(sums == 21 * 21)
    r, c = inside[len(inside) // 2] + 10
    assert np.array_equal(out[r, c], _blend(cmu_level[r, c], (255, 128, 0), 0.3))
    r, c = np.argwhere(sums == 0)[0] + 10
    assert np.array_equal(out[r, c], cmu_level[r, c])
    edge = _boundary(cmu_mask.array)
    assert (out[edge] == BLUE).all()
    # Away from the fill and the outline (which reaches 1 px out), the image is untouched.
    near_edge = np.pad(
        _box_sums(Mask(array=edge, slide_dimensions=CMU), 2) > 0, 2, constant_values=True
    )
    untouched = ~cmu_mask.array & ~near_edge
    assert np.array_equal(out[untouched], cmu_level[untouched])


def test_overlay_layers_can_be_disabled(
    cmu_mask: WSITissueMask, cmu_level: np.ndarray, tmp_path: Path
) -> None:
    edge = _boundary(cmu_mask.array)
    fill_only = tmp_path / "fill.png"
    cmu_mask.save_overlay_png(fill_only, outline_color=None)
    out = _read_png(fill_only)
    arr = cmu_mask.array
    assert np.array_equal(out[arr], _blend(cmu_level[arr], GREEN, 0.5))
    assert np.array_equal(out[~arr], cmu_level[~arr])

    outline_only = tmp_path / "outline.png"
    cmu_mask.save_overlay_png(outline_only, mask_color=None, outline_thickness=1)
    out = _read_png(outline_only)
    assert (out[edge] == BLUE).all()
    assert np.array_equal(out[~edge], cmu_level[~edge])  # thickness 1: exactly the boundary


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
    out = _read_png(tmp_path / "p.png")
    with Slide.open(cmu_small) as slide:
        level = slide.read_level(0)
    for edge in (top, bottom):  # the 1-px boundary grown to 3 px, one each side
        for i in (edge - 1, edge, edge + 1):
            assert tuple(out[i, 500]) == BLUE and tuple(out[500, i]) == BLUE
    for i in (top - 2, bottom + 2, 1500):
        assert np.array_equal(out[i, 500], level[i, 500])
    for i in (top + 2, 500, bottom - 2):
        assert np.array_equal(out[i, 500], _blend(level[i, 500], (255, 0, 0), 0.5))


def test_overlay_bad_arguments(cmu_mask: WSITissueMask, tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    bad: list[dict[str, object]] = [
        {"mask_alpha": 1.5},
        {"mask_alpha": -0.1},
        {"mask_alpha": "half"},
        {"outline_thickness": 0},
        {"outline_thickness": 2.5},
        {"outline_thickness": True},
        {"mask_color": "not-a-colour"},
        {"outline_color": "#12345"},
        {"mask_color": (0, 255, 0)},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            cmu_mask.save_overlay_png(path, **kwargs)  # type: ignore[arg-type]
    assert not path.exists()
    with pytest.raises(MaskError, match="does not know its slide"):
        Mask(array=np.ones((297, 222)), slide_dimensions=CMU).save_overlay_png(path)
    with pytest.raises(MaskError, match=r"CMU-1-Small-Region.*size of its level"):
        thumb = Mask(
            array=np.ones((297, 222)), slide_dimensions=CMU, level=0, wsi_file=cmu_mask.wsi_file
        )
        thumb.save_overlay_png(path)


# --------------------------------------------------------------------------- rasterize_polygons
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


def test_geojson_mask_file(tmp_path: Path) -> None:
    import json

    from slidepatch.masks import load_mask

    ring = [[0, 0], [5000, 0], [5000, 2000], [0, 2000], [0, 0]]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
    path = tmp_path / "artifacts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    mask = load_mask(path, slide_dimensions=(10000, 8000), wsi_file="s.svs")
    assert mask.array.shape == (2667, 3334)  # at most 4096 a side: downsample 3
    fraction = mask.foreground_fraction(
        x=np.array([0.0, 4000.0, 6000.0]), y=np.zeros(3), width=2000.0, height=1000.0
    )
    assert fraction.round(2).tolist() == [1.0, 0.5, 0.0]
    empty = tmp_path / "none.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.warns(UserWarning, match=r"none\.geojson has no polygons"):
        assert not load_mask(empty, slide_dimensions=(100, 80), wsi_file="s.svs").array.any()
    bad = tmp_path / "bad.geojson"
    bad.write_text("{")
    with pytest.raises(MaskError, match=r"bad\.geojson"):
        load_mask(bad, slide_dimensions=(100, 80), wsi_file="s.svs")
