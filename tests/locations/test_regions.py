"""Sampling regions: exclusion regions cut out, containment resolved in linear time."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely

from slidepatch.annotations import AnnotationPolygon
from slidepatch.errors import LocationError
from slidepatch.locations import (
    PolygonRegionGridPatches,
    PolygonRegionRandomPatches,
    WholeImageInvertedGridPatches,
)
from slidepatch.masks import WSIPolygonMask
from slidepatch.testing.annotation_files import blob

ONES = np.ones((2967, 2220), dtype=bool)  # the real slide's level-0 size: every pixel tissue
SIZE = 64
TUMOR = blob(1100, 1500, 700, n=80, seed=1)
EXCLUSIONS = [blob(1100, 1500, 250, seed=2), blob(1750, 1500, 200, seed=3)]  # 2nd on the edge
OUTSIDE = blob(400, 400, 150, seed=4)
CAMELYON = [
    AnnotationPolygon(points=TUMOR, label="_1"),
    AnnotationPolygon(points=EXCLUSIONS[0], label="_2"),
    AnnotationPolygon(points=EXCLUSIONS[1], label="_2"),
]


def _boxes(patch_data: list) -> np.ndarray:
    return shapely.box(*np.array([(x, y, x + SIZE, y + SIZE) for (x, y), _, _ in patch_data]).T)


def _grid(slide: Path, **kwargs: object) -> PolygonRegionGridPatches:
    return PolygonRegionGridPatches(
        wsi_file=slide, mask_data=ONES, patch_size=SIZE, patch_stride=0.5, **kwargs
    )


def test_exclusion_regions_are_cut_out_of_every_region(cmu_small: Path) -> None:
    excluded = shapely.unary_union([shapely.Polygon(e) for e in EXCLUSIONS])
    allowed = shapely.Polygon(TUMOR).difference(excluded)
    cut = _grid(cmu_small, polygon_data=CAMELYON, exclusion_labels=["_2"])
    boxes = _boxes(cut.patch_data)
    assert cut.patch_count > 100
    assert {label for _, _, label in cut.patch_data} == {"_1"}
    inside = shapely.area(shapely.intersection(boxes, allowed)) / SIZE**2
    assert inside.min() >= 0.95 - 1e-9
    assert (shapely.area(shapely.intersection(boxes, excluded)) / SIZE**2).max() <= 0.05 + 1e-9
    assert cut.param_info["exclusion_labels"] == ["_2"]

    # Without it, patches cover the excluded tissue; excluded_labels keeps the reference's
    # meaning (those polygons are ignored, nothing is cut out).
    for plain in (
        _grid(cmu_small, polygon_data=CAMELYON, included_labels=["_1"]),
        _grid(cmu_small, polygon_data=CAMELYON, excluded_labels=["_2"]),
    ):
        over = shapely.area(shapely.intersection(_boxes(plain.patch_data), excluded)) / SIZE**2
        assert over.max() == pytest.approx(1.0)
        assert plain.patch_count > cut.patch_count
        assert "exclusion_labels" not in plain.param_info


def test_exclusion_with_random_and_inverted_sampling(cmu_small: Path) -> None:
    polygons = [*CAMELYON, AnnotationPolygon(points=OUTSIDE, label="_2")]
    excluded = shapely.unary_union([shapely.Polygon(e) for e in [*EXCLUSIONS, OUTSIDE]])
    random = PolygonRegionRandomPatches(
        wsi_file=cmu_small, mask_data=ONES, polygon_data=polygons, num_patches=300,
        patch_size=SIZE, exclusion_labels=["_2"], seed=1,
    )  # fmt: skip
    outside = WholeImageInvertedGridPatches(
        wsi_file=cmu_small, mask_data=ONES, polygon_data=polygons, included_labels=["_1"],
        patch_size=SIZE, exclusion_labels=["_2"], weak_label="normal",
    )  # fmt: skip
    assert random.patch_count == 300
    for loc in (random, outside):
        over = shapely.area(shapely.intersection(_boxes(loc.patch_data), excluded)) / SIZE**2
        assert over.max() <= 0.05 + 1e-9
    tumor = shapely.Polygon(TUMOR)
    out_boxes = _boxes(outside.patch_data)
    assert (shapely.area(shapely.intersection(out_boxes, tumor)) / SIZE**2).max() <= 0.05 + 1e-9


def test_exclusion_label_mistakes_are_reported(cmu_small: Path) -> None:
    with (
        pytest.warns(UserWarning, match="overlap by"),  # _2 is then an ordinary region
        pytest.warns(UserWarning, match=r"no polygon is labelled \['Exclusion'\].*'_1', '_2'"),
    ):
        _grid(cmu_small, polygon_data=CAMELYON, exclusion_labels=["Exclusion"])
    with pytest.raises(LocationError, match=r"labels \['_2'\] are both included and cut out"):
        _grid(cmu_small, polygon_data=CAMELYON, included_labels=["_2"], exclusion_labels=["_2"])


def test_polygon_mask_with_exclusion(cmu_small: Path) -> None:
    square = [(400.0, 400.0), (1600.0, 400.0), (1600.0, 1600.0), (400.0, 1600.0)]
    inner = [(800.0, 800.0), (1200.0, 800.0), (1200.0, 1200.0), (800.0, 1200.0)]
    polygons = [
        AnnotationPolygon(points=square, label="_1"),
        AnnotationPolygon(points=inner, label="_2"),
    ]
    mask = WSIPolygonMask(
        polygons_level0=polygons, wsi_file=cmu_small, level_or_minsize=0, exclusion_labels=["_2"]
    )
    plain = WSIPolygonMask(polygons_level0=polygons, wsi_file=cmu_small, level_or_minsize=0)
    assert mask.array.sum() == 1200 * 1200 - 400 * 400
    assert not mask.array[800:1200, 800:1200].any() and mask.array[400:800, 400:1600].all()
    assert plain.array.sum() == 1200 * 1200
    # The reference's form (mask-level pixels, outlines included) cuts out the same way.
    reference = WSIPolygonMask(
        polygon_data=polygons, wsi_file=cmu_small, level_or_minsize=0, exclusion_labels=["_2"]
    )
    assert reference.array.sum() == 1201 * 1201 - 401 * 401
    assert not reference.array[800:1201, 800:1201].any()


def _brute_force_areas(shapes: list[shapely.Polygon]) -> list[float]:
    """The reference's pairwise rule, written out: each shape loses the shapes it contains
    (of two identical shapes, the later keeps the area)."""
    out = []
    for i, a in enumerate(shapes):
        inner = [
            b
            for j, b in enumerate(shapes)
            if j != i and a.contains(b) and not (b.contains(a) and i > j)
        ]
        out.append(a.difference(shapely.unary_union(inner)).area if inner else a.area)
    return out


def test_containment_matches_the_pairwise_rule(cmu_small: Path) -> None:
    rings = [
        blob(1100, 1500, 800, n=60, seed=10),  # contains the next four
        blob(900, 1300, 200, seed=11),
        blob(1300, 1700, 250, seed=12),
        blob(1300, 1700, 100, seed=13),  # nested twice
        blob(900, 1300, 200, seed=11),  # identical to 1
        blob(1900, 1500, 300, seed=14),  # overlaps the first partly
        blob(400, 2600, 150, seed=15),  # alone
    ]
    polygons = [AnnotationPolygon(points=r, label=f"r{i}") for i, r in enumerate(rings)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the partial overlap is reported; not checked here
        loc = _grid(cmu_small, polygon_data=polygons)
    areas = [0.0 if r.geometry.is_empty else r.geometry.area for r in loc.regions]
    assert areas == pytest.approx(_brute_force_areas([shapely.Polygon(r) for r in rings]))


def test_annotation_with_thousands_of_cells_is_linear_and_keeps_its_patches(
    cmu_small: Path,
) -> None:
    """Cells cut out of their annotation become holes; the tiny cell regions give no patch."""
    rng = np.random.default_rng(0)
    centres = np.stack(np.meshgrid(np.arange(420, 1800, 30.0), np.arange(820, 2200, 30.0)), -1)
    centres = centres.reshape(-1, 2)[:2000] + rng.uniform(-3, 3, (2000, 2))
    cells = [blob(float(x), float(y), 6, n=16, seed=k) for k, (x, y) in enumerate(centres)]
    outer = [(400.0, 800.0), (1800.0, 800.0), (1800.0, 2200.0), (400.0, 2200.0)]
    polygons = [AnnotationPolygon(points=outer, label="Tumor")] + [
        AnnotationPolygon(points=c, label="Tumor") for c in cells
    ]
    start = time.perf_counter()
    loc = _grid(cmu_small, polygon_data=polygons, overlap_ratio=0.8)
    elapsed = time.perf_counter() - start
    assert len(loc.regions[0].geometry.interiors) == 2000
    cell_area = sum(shapely.Polygon(c).area for c in cells)
    assert loc.regions[0].geometry.area == pytest.approx(shapely.Polygon(outer).area - cell_area)
    # The cells cover ~13 % of the annotation: its patches keep >= 80 % of their area.
    holed = shapely.Polygon(outer, cells)
    kept = shapely.area(shapely.intersection(_boxes(loc.patch_data), holed)) / SIZE**2
    assert loc.patch_count > 1000 and kept.min() >= 0.8 - 1e-9
    assert {label for _, _, label in loc.patch_data} == {"Tumor"}
    assert elapsed < 60  # was minutes: quadratic pairs and a union per region


def test_random_sampling_skips_a_region_smaller_than_a_patch_and_says_so(
    cmu_small: Path,
) -> None:
    """A tiny fragment costs only itself: the other regions still get their patches."""
    polygons = [
        AnnotationPolygon(points=blob(300, 2700, 10, seed=5), label="Tumor"),  # first: no stop
        AnnotationPolygon(points=TUMOR, label="Tumor"),
    ]
    message = r"region 'Tumor' at \(\d+, \d+\) covers \d+ level-0 px².*skipped"
    with pytest.warns(UserWarning, match=message):
        loc = PolygonRegionRandomPatches(
            wsi_file=cmu_small, mask_data=ONES, polygon_data=polygons, num_patches=5,
            patch_size=SIZE, seed=0,
        )  # fmt: skip
    assert loc.patch_count == 5
    inside = shapely.intersects(_boxes(loc.patch_data), shapely.Polygon(TUMOR))
    assert inside.all()


def test_partial_overlaps_of_a_patch_area_or_more_are_reported(cmu_small: Path) -> None:
    def square(x: float, y: float, side: float, label: str) -> AnnotationPolygon:
        points = [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]
        return AnnotationPolygon(points=points, label=label)

    big = [square(100, 100, 500, "a"), square(500, 100, 500, "b")]  # 100 x 500 px overlap
    with pytest.warns(UserWarning, match=r"regions 0 \('a'\) and 1 \('b'\) overlap by 50000"):
        _grid(cmu_small, polygon_data=big)
    small = [square(100, 100, 500, "a"), square(595, 100, 500, "b")]  # 5 x 500 < 64 x 64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _grid(cmu_small, polygon_data=small)


def test_only_regions_smaller_than_a_patch_say_so(cmu_small: Path) -> None:
    cells = [
        AnnotationPolygon(points=blob(300 + 40 * k, 300, 8, seed=k), label="cell") for k in range(5)
    ]
    with pytest.warns(UserWarning, match="5 regions are smaller than overlap_ratio x the patch"):
        loc = _grid(cmu_small, polygon_data=cells)
    assert loc.patch_count == 0
    assert loc.empty_reason is not None and loc.empty_reason.kind == "overlap"
