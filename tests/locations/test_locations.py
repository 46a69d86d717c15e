"""Location classes on the real slide and a synthetic pyramidal slide."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import shapely

from slidepatch.annotations import AnnotationPolygon
from slidepatch.errors import LocationError, MaskError
from slidepatch.locations import (
    CustomPatches,
    PatchesMock,
    PolygonRegionGridPatches,
    PolygonRegionPoissonDiskPatches,
    PolygonRegionRandomPatches,
    WholeImageCustomPatches,
    WholeImageGridPatches,
    WholeImageInvertedGridPatches,
    WholeImageInvertedRandomPatches,
    WholeImagePoissonDiskPatches,
    WholeImageRandomPatches,
    as_patchset,
)
from slidepatch.masks import WSITissueMask

Mask = npt.NDArray[np.bool_]


def _fractions(mask: Mask, patch_data: list, size: int) -> np.ndarray:
    return np.array(
        [mask[y : y + size, x : x + size].sum() / size**2 for (x, y), _, _ in patch_data]
    )


@pytest.mark.parametrize("fg", [0.5, 0.95])
def test_grid_inside_tissue(cmu_small: Path, full_mask: Mask, fg: float) -> None:
    loc = WholeImageGridPatches(
        wsi_file=cmu_small, mask_data=full_mask, patch_size=128, foreground_ratio=fg, weak_label="t"
    )
    assert loc.patch_count > 50
    assert (_fractions(full_mask, loc.patch_data, 128) >= fg - 1e-9).all()
    assert loc.patch_info == {"t": loc.patch_count}
    assert loc.patch_set.patch_data == loc.patch_data
    assert as_patchset(loc) is loc.patch_set
    # Grid positions are multiples of the step from the tissue's bounding box origin.
    xs = np.array([p[0][0] for p in loc.patch_data])
    assert len(set((xs - xs.min()) % 128)) == 1


def test_downsampled_mask_gives_same_geometry(cmu_small: Path, full_mask: Mask) -> None:
    small = full_mask[::8, ::8]
    loc = WholeImageGridPatches(
        wsi_file=cmu_small, mask_data=small, patch_size=256, foreground_ratio=0.9
    )
    assert (_fractions(full_mask, loc.patch_data, 256) >= 0.85).all()


def test_random_seed_count_and_inside(cmu_small: Path, full_mask: Mask) -> None:
    args = dict(
        wsi_file=cmu_small,
        mask_data=full_mask,
        num_patches=40,
        patch_size=100,
        foreground_ratio=0.9,
    )
    a = WholeImageRandomPatches(seed=7, **args)
    b = WholeImageRandomPatches(seed=7, **args)
    c = WholeImageRandomPatches(seed=8, **args)
    assert a.patch_data == b.patch_data != c.patch_data
    assert a.patch_count == 40
    assert len({p[0] for p in a.patch_data}) == 40
    assert (_fractions(full_mask, a.patch_data, 100) >= 0.9 - 1e-9).all()


def test_random_impossible_raises(cmu_small: Path) -> None:
    mask = np.zeros((297, 222), dtype=bool)
    mask[10, 10] = True
    with pytest.raises(LocationError, match=r"CMU-1-Small-Region.svs.*found only"):
        WholeImageRandomPatches(wsi_file=cmu_small, mask_data=mask, num_patches=5, seed=0)


def test_poisson_spacing_and_seed(cmu_small: Path, full_mask: Mask) -> None:
    loc = WholeImagePoissonDiskPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        poisson_spacing=60,
        patch_size=64,
        seed=3,
        foreground_ratio=0.5,
    )
    pts = np.array([p[0] for p in loc.patch_data], dtype=float)
    assert len(pts) > 100
    d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1)) + np.eye(len(pts)) * 1e9
    assert d.min() >= 60
    again = WholeImagePoissonDiskPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        poisson_spacing=60,
        patch_size=64,
        seed=3,
        foreground_ratio=0.5,
    )
    assert again.patch_data == loc.patch_data


def test_polygon_region_holes_and_labels(
    cmu_small: Path, full_mask: Mask, polygons: list[AnnotationPolygon]
) -> None:
    loc = PolygonRegionGridPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        polygon_data=polygons,
        patch_size=100,
        foreground_ratio=0.0,
        overlap_ratio=1.0,
    )
    shapes = {p.label: p.to_shapely() for p in polygons}
    for (x, y), (w, h), label in loc.patch_data:
        box = shapely.box(x, y, x + w, y + h)
        assert shapes[label].covers(box)
        if label == "tumor":  # never inside the hole
            assert box.intersection(shapely.box(800, 1200, 1400, 1800)).area == 0
    assert loc.patch_labels == ["normal", "tumor"]
    assert loc.patch_info["normal"] == 16
    assert loc.polygon_labels == ["tumor", "normal"]


def test_polygon_region_per_polygon_lists(
    cmu_small: Path, full_mask: Mask, polygons: list[AnnotationPolygon]
) -> None:
    loc = PolygonRegionRandomPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        polygon_data=polygons,
        num_patches=[5, 3],
        seed=1,
        patch_size=64,
        foreground_ratio=0.0,
        overlap_ratio=1.0,
    )
    assert loc.patch_info == {"normal": 3, "tumor": 5}
    by_label = PolygonRegionRandomPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        polygon_data=polygons,
        seed=1,
        num_patches={"tumor": 5, "normal": 3},
        patch_size=64,
        foreground_ratio=0.0,
    )
    assert by_label.patch_info == {"normal": 3, "tumor": 5}
    with pytest.raises(LocationError, match="one value per region"):
        PolygonRegionRandomPatches(
            wsi_file=cmu_small, mask_data=full_mask, polygon_data=polygons, num_patches=[5]
        )
    only = PolygonRegionPoissonDiskPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        polygon_data=polygons,
        included_labels=["normal"],
        poisson_spacing=50,
        patch_size=50,
        seed=0,
        foreground_ratio=0.0,
    )
    assert only.patch_labels == ["normal"] and only.patch_count > 0
    with pytest.raises(LocationError, match="not both"):
        PolygonRegionGridPatches(
            wsi_file=cmu_small,
            mask_data=full_mask,
            polygon_data=polygons,
            included_labels=["a"],
            excluded_labels=["b"],
        )


def test_inverted_never_inside_polygons(
    cmu_small: Path, full_mask: Mask, polygons: list[AnnotationPolygon]
) -> None:
    outer = polygons[:1]
    loc = WholeImageInvertedGridPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        polygon_data=outer,
        patch_size=100,
        foreground_ratio=0.5,
        overlap_ratio=1.0,
    )
    exclusion = outer[0].to_shapely()
    assert loc.patch_count > 10
    inside_hole = 0
    for (x, y), (w, h), _ in loc.patch_data:
        box = shapely.box(x, y, x + w, y + h)
        assert box.intersection(exclusion).area == 0
        inside_hole += shapely.box(800, 1200, 1400, 1800).covers(box)
    assert inside_hole > 0  # the exclusion polygon's hole may be sampled
    rnd = WholeImageInvertedRandomPatches(
        wsi_file=cmu_small, mask_data=full_mask, polygon_data=[], num_patches=10, seed=0
    )
    assert rnd.patch_count == 10


def test_mpp_and_slide_mpp(cmu_small: Path, full_mask: Mask) -> None:
    native = WholeImageGridPatches(
        wsi_file=cmu_small, mask_data=full_mask, patch_size=128, foreground_ratio=0.9
    )
    doubled = WholeImageGridPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        patch_size=64,
        level_or_mpp=0.998,
        foreground_ratio=0.9,
    )
    assert doubled.level0_footprint == pytest.approx(128, rel=1e-3)
    assert doubled.patch_data[0][1] == (64, 64)
    assert abs(doubled.patch_count - native.patch_count) <= native.patch_count * 0.1
    override = WholeImageGridPatches(
        wsi_file=cmu_small, mask_data=full_mask, patch_size=64, level_or_mpp=2.0, slide_mpp=1.0
    )
    assert override.level0_footprint == 128 and override.patch_set.slide_mpp == 1.0


def test_custom_classes(cmu_small: Path, full_mask: Mask) -> None:
    pts = [(1000, 1400), (0, 2900), (1100, 1500)]
    loc = WholeImageCustomPatches(wsi_file=cmu_small, mask_data=full_mask, points=pts)
    assert [p[0] for p in loc.patch_data] == [(1000, 1400), (1100, 1500)]
    cp = CustomPatches(
        wsi_file=cmu_small,
        points=pts,
        labels=["a", "b", "a"],
        patch_size=32,
        patch_labels=["a", "b", "c"],
    )
    assert cp.patch_info == {"a": 2, "b": 1, "c": 0}
    mock = PatchesMock(patch_data=cp.patch_data, wsi_file=cmu_small, level_or_mpp=0)
    assert mock.class_name == "PatchesMock" and mock.patch_data == cp.patch_data
    with pytest.raises(LocationError, match="share the location"):
        PatchesMock(
            patch_data=[((0, 0), (8, 8), "a"), ((0, 0), (8, 8), "b")],
            wsi_file=cmu_small,
            level_or_mpp=0,
        )
    with pytest.raises(LocationError, match="not in patch_labels"):
        PatchesMock(
            patch_data=cp.patch_data, wsi_file=cmu_small, level_or_mpp=0, patch_labels=["a"]
        )


def test_bad_inputs(cmu_small: Path, full_mask: Mask) -> None:
    with pytest.raises(MaskError, match=r"mask\.T"):
        WholeImageGridPatches(wsi_file=cmu_small, mask_data=full_mask.T)
    with pytest.raises(LocationError, match="foreground_ratio"):
        WholeImageGridPatches(wsi_file=cmu_small, mask_data=full_mask, foreground_ratio=95)
    with pytest.raises(LocationError, match="patch_stride"):
        WholeImageGridPatches(wsi_file=cmu_small, mask_data=full_mask, patch_stride=6)
    with pytest.raises(LocationError, match="patch_size"):
        WholeImageGridPatches(wsi_file=cmu_small, mask_data=full_mask, patch_size=0)
    with pytest.raises(ValueError, match="level_or_mpp"):
        WholeImageGridPatches(wsi_file=cmu_small, mask_data=full_mask, level_or_mpp="0")
    with pytest.raises(LocationError, match="no area"):
        PolygonRegionGridPatches(
            wsi_file=cmu_small,
            mask_data=full_mask,
            polygon_buffer=-500,
            polygon_data=[AnnotationPolygon(points=[(0, 0), (100, 0), (100, 100)], label="x")],
        )
    with pytest.raises(TypeError):
        WholeImageGridPatches(wsi_file=cmu_small, mask_data=full_mask, bogus=1)


def test_synthetic_pyramid_tissue_mask_and_levels(synthetic_slide: Path, tmp_path: Path) -> None:
    mask = WSITissueMask(wsi_file=synthetic_slide, level_or_minsize=2)
    assert mask.level == 2 and 0.2 < mask.array.mean() < 0.8
    lvl0 = WholeImageGridPatches(
        wsi_file=synthetic_slide,
        mask_data=mask,
        patch_size=64,
        level_or_mpp=0,
        foreground_ratio=0.9,
    )
    lvl1 = WholeImageGridPatches(
        wsi_file=synthetic_slide,
        mask_data=mask,
        patch_size=64,
        level_or_mpp=1,
        foreground_ratio=0.9,
    )
    assert lvl1.level0_footprint == 256
    assert lvl0.patch_count > lvl1.patch_count > 0
    lvl1.save_preview_image(tmp_path / "p.png", patch_color="#00ff00", patch_markers=True)
    assert (tmp_path / "p.png").stat().st_size > 0


def test_preview_colors_and_errors(
    cmu_small: Path, full_mask: Mask, polygons: list[AnnotationPolygon], tmp_path: Path
) -> None:
    from PIL import Image

    loc = PolygonRegionGridPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        polygon_data=polygons,
        patch_size=200,
        foreground_ratio=0.0,
        polygon_buffer=10,
    )
    out = tmp_path / "prev.png"
    loc.save_preview_image(
        out,
        patch_color=None,
        bbox_color=None,
        buffer_color=None,
        polygon_color="#ff00ff",
        holes_color="yellow",
        thickness=3,
    )
    img = np.asarray(Image.open(out))
    assert (img[700, 1000] == [255, 0, 255]).all()  # top edge of the tumor polygon
    assert (img[1200, 1000] == [255, 255, 0]).all()  # top edge of its hole
    with pytest.raises(LocationError, match="unknown colour"):
        loc.save_preview_image(out, patch_color="notacolour")


def test_reference_geometry_never_places_patches_before_the_slide(
    synthetic_slide: Path,
) -> None:
    """A buffer that pushes the grid's box above and left of the slide: the reference (and
    slidepatch by default) never keeps a patch whose corner lies outside the slide."""
    square = AnnotationPolygon(
        points=[(200, 200), (1200, 200), (1200, 1200), (200, 1200)], label="a"
    )
    mask = np.ones((128, 192), dtype=bool)  # level 2 of 3072 x 2048, all tissue
    loc = PolygonRegionGridPatches(
        wsi_file=synthetic_slide,
        mask_data=mask,
        polygon_data=[square],
        patch_size=256,
        patch_stride=1.5,
        foreground_ratio=0.1,
        overlap_ratio=0.1,
        polygon_buffer=20,  # mask pixels: the box starts at 200 - 320 = -120
    )
    xs = [x for (x, _), _, _ in loc.patch_data]
    ys = [y for (_, y), _, _ in loc.patch_data]
    assert min(xs) == 264 and min(ys) == 264, sorted(zip(xs, ys, strict=True))[:3]
    assert loc.patch_count == 15
