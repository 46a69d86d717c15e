"""The reference's names and behaviours that its code relies on, one by one, on real slides."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
import pytest

import slidepatch as sp


def test_polygon_data_is_in_mask_pixels_with_the_outline(synthetic_svs: Path) -> None:
    square = sp.AnnotationPolygon(points=[(10, 20), (50, 20), (50, 60), (10, 60)])
    mask = sp.WSIPolygonMask(wsi_file=synthetic_svs, level_or_minsize=1, polygon_data=[square])
    rows, cols = np.nonzero(mask.array)
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (10, 50, 20, 60)
    assert mask.array.sum() == 41 * 41
    old_name = sp.WSIPolygonMask(wsi_file=synthetic_svs, level_or_minsize=1, polygons=[square])
    np.testing.assert_array_equal(old_name.array, mask.array)
    level0 = sp.WSIPolygonMask(wsi_file=synthetic_svs, level_or_minsize=1, polygons_level0=[square])
    assert level0.array.sum() == 10 * 10  # 40 level-0 px = 10 pixels at downsample 4


def test_polygon_data_json_and_errors(synthetic_svs: Path, tmp_path: Path) -> None:
    text = '[{"points": [[1, 1], [5, 1], [5, 5]], "label": "a", "holes": []}]'
    mask = sp.WSIPolygonMask(wsi_file=synthetic_svs, level_or_minsize=2, polygon_data=text)
    assert mask.array.sum() == 15  # the triangle's 5+4+3+2+1 lattice points
    file = tmp_path / "polys.json"
    file.write_text(text)
    from_file = sp.WSIPolygonMask(wsi_file=synthetic_svs, level_or_minsize=2, polygon_data=file)
    np.testing.assert_array_equal(from_file.array, mask.array)
    big = sp.AnnotationPolygon(points=[(0, 0), (500, 0), (500, 500)])
    with pytest.raises(ValueError, match="exceed the mask size"):
        sp.WSIPolygonMask(wsi_file=synthetic_svs, level_or_minsize=2, polygon_data=[big])
    with pytest.raises(FileNotFoundError):
        sp.WSIPolygonMask(
            wsi_file=synthetic_svs, level_or_minsize=2, polygon_data=str(tmp_path / "no.json")
        )
    holed = sp.AnnotationPolygon(
        points=[(0, 0), (40, 0), (40, 40), (0, 40)], holes=[[(10, 10), (20, 10), (20, 20)]]
    )
    with pytest.warns(UserWarning, match="holes"):
        sp.WSIPolygonMask(wsi_file=synthetic_svs, level_or_minsize=2, polygon_data=[holed])


def test_reference_npz_masks_are_transposed(synthetic_svs: Path, tmp_path: Path) -> None:
    """The reference's save_array writes (width, height) under "data"."""
    mask = sp.WSITissueMask(wsi_file=synthetic_svs, level_or_minsize=2)
    reference_file = tmp_path / "reference.npz"
    np.savez_compressed(reference_file, data=mask.array.T)
    with pytest.warns(UserWarning, match="reference's"):
        loaded = sp.load_mask(str(reference_file), slide_dimensions=(3000, 2000))
    np.testing.assert_array_equal(loaded.array, mask.array)
    ours = tmp_path / "ours.npz"
    mask.save_array(array_file=ours)
    mask.save_png(png_file=tmp_path / "ours.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(
            sp.load_mask(str(ours), slide_dimensions=(3000, 2000)).array, mask.array
        )
    assert sp.MaskData(mask_data=str(ours)).mask_array.shape == (188, 125)
    assert sp.MaskData(mask_data=str(reference_file)).mask_array.shape == (188, 125)
    assert sp.MaskData(mask_data=str(tmp_path / "ours.png")).mask_array.shape == (188, 125)
    assert sp.PolygonData(polygon_data="[]").polygons == []


def test_missing_inputs_raise_what_the_reference_raised(
    synthetic_svs: Path, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        sp.WholeImageGridPatches(wsi_file=synthetic_svs, mask_data=str(tmp_path / "no.png"))
    openslide = pytest.importorskip("openslide")
    with pytest.raises(openslide.OpenSlideUnsupportedFormatError):
        sp.Slide.open(tmp_path / "missing.svs")
    not_a_slide = tmp_path / "text.svs"
    not_a_slide.write_text("hello")
    with pytest.raises(openslide.OpenSlideUnsupportedFormatError):
        sp.Slide.open(not_a_slide)
    outside = sp.PatchesMock(
        wsi_file=synthetic_svs, level_or_mpp=0, patch_data=[((5000, 100), (10, 10), "a")]
    )
    with pytest.raises(ValueError, match="outside the slide"):
        sp.MemPatchExtractorPool(patches_pool=[outside], proc_num_workers=1, thread_num_workers=1)


def test_location_api_of_the_reference(synthetic_svs: Path) -> None:
    mask = sp.WSITissueMask(wsi_file=synthetic_svs, level_or_minsize=2)
    polygon = sp.AnnotationPolygon(points=[(0, 0), (2000, 0), (2000, 1500), (0, 1500)], label="t")
    grid = sp.PolygonRegionGridPatches(
        wsi_file=synthetic_svs, mask_data=mask, polygon_data=[polygon], foreground_ratio=0.5
    )
    assert grid.polygons_overlap_threshold == 1
    assert grid.wsi_slide.dimensions == (3000, 2000)
    ds = 15.97872340425532  # level 2's downsample, as OpenSlide reports it
    (x, y), _, label = grid.patch_data[0]
    (mx, my), msize, _ = grid.patch_data_mask_level[0]
    assert (round(mx * ds), round(my * ds)) == (x, y) and label == "t"
    assert msize == pytest.approx((256 / ds, 256 / ds))
    assert grid.param_info["polygon_data"] == [
        [[(0, 0), (2000, 0), (2000, 1500), (0, 1500)], "t", []]
    ]
    quiet = sp.PolygonRegionGridPatches(
        wsi_file=synthetic_svs, mask_data=mask, polygon_data=[polygon], polygons_overlap_threshold=5
    )
    assert quiet.polygons_overlap_threshold == 5


def test_full_overlap_keeps_the_first_row_at_a_fractional_scale(synthetic_svs: Path) -> None:
    """A box mask from mask pixel 10: its level-0 edge 159.79 is not a whole pixel."""
    box = np.zeros((125, 188), dtype=bool)
    box[10:110, 10:170] = True
    for geometry in ("reference", "exact"):
        grid = sp.WholeImageGridPatches(
            wsi_file=synthetic_svs, mask_data=box, overlap_ratio=1, geometry=geometry
        )
        xs = sorted({x for (x, _), _, _ in grid.patch_data})
        ys = sorted({y for (_, y), _, _ in grid.patch_data})
        assert xs[0] in (159, 160) and ys[0] in (159, 160), geometry
        assert (len(xs), len(ys), grid.patch_count) == (9, 6, 54), geometry


def test_distance_units(synthetic_svs: Path) -> None:
    mask = sp.WSITissueMask(wsi_file=synthetic_svs, level_or_minsize=2)
    counts = {
        units: sp.WholeImagePoissonDiskPatches(
            wsi_file=synthetic_svs,
            mask_data=mask,
            patch_size=64,
            poisson_spacing=8,
            foreground_ratio=0.5,
            distance_units=units,
            seed=3,
        ).patch_count
        for units in ("mask", "read")
    }
    assert counts["read"] > 3 * counts["mask"] > 0  # 8 px apart against 8 x 16 px apart


def test_memory_patch_list_is_a_list(synthetic_svs: Path) -> None:
    mock = sp.PatchesMock(
        wsi_file=synthetic_svs,
        level_or_mpp=0,
        patch_data=[((i * 100, 0), (32, 32), f"p{i}") for i in range(6)],
    )
    assert {"patch_data", "class_name", "class_params"} <= set(mock.param_info)
    with sp.MemPatchExtractorPool(
        patches_pool=[mock], proc_num_workers=1, thread_num_workers=1
    ) as pool:
        patches = pool.patch_list
        random.Random(2).shuffle(patches)
        shuffled = [label for _, label in pool.patch_list]
        assert sorted(shuffled) == [f"p{i}" for i in range(6)] and shuffled != sorted(shuffled)
        patches.append(patches[0])
        assert len(pool.patch_list) == 7
        patches.sort(key=lambda item: item[1])
        assert pool.patch_list[0][1] == "p0"
    sp.MultiResDiskPatchExtractorPool.reset_global_counter()
    sp.MultiResDiskPatchExtractorPool.remove_global_counter()
