"""The reference's documentation examples, run against either library.

Each case is the code of one example from dplabtools' documentation (``docs/source/slides``)
with the names it imports taken from ``ns`` instead: ``ns`` holds dplabtools' classes when
``record_reference.py`` records the expected values, slidepatch's when the tests compare
with them. That is the only change to the examples (and the slide paths, which point at
slides the tests write). Every case returns plain JSON values: counts, labels, locations,
file names with the random manifest id replaced by ``<id>``.

This module needs only numpy and Pillow, plus ``slidepatch/testing/synthetic.py`` loaded by
path, so that it runs in the reference's own virtual environment too.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

SYNTHETIC = Path(__file__).resolve().parents[2] / "slidepatch" / "testing" / "synthetic.py"

# wsi1: holds every coordinate of the documentation examples (up to 16,000 x 27,000);
# its level 2 (1132 x 1757) is 16.0 wide and 15.99 high, a non-integer mask scale as on
# Aperio slides. box: the 12k x 9k SVS of the overlap_ratio=1 precision case, with a box
# mask starting away from 0. wsi2, wsi3: small slides for the pool examples.
SLIDES: dict[str, dict[str, int]] = {
    "wsi1": {"width": 18100, "height": 28100, "seed": 5},
    "box": {"width": 12000, "height": 9000, "seed": 7},
    "wsi2": {"width": 4000, "height": 3000, "seed": 8},
    "wsi3": {"width": 3000, "height": 3500, "seed": 9},
}
MASK_DOWNSAMPLE = 16  # masks are the slides' level 2


def _synthetic() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_sp_synthetic", SYNTHETIC)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_inputs(root: Path) -> dict[str, str]:
    """Write the slides and their level-2 mask PNGs; return name -> path."""
    from PIL import Image

    synthetic = _synthetic()
    paths: dict[str, str] = {}
    for name, geometry in SLIDES.items():
        slide = root / f"{name}.svs"
        synthetic.write_synthetic_slide(slide, **geometry)
        paths[name] = str(slide)
        if name == "box":
            h = -(-geometry["height"] // MASK_DOWNSAMPLE)
            w = -(-geometry["width"] // MASK_DOWNSAMPLE)
            mask = np.zeros((h, w), dtype=bool)
            mask[37:411, 53:611] = True
        else:
            mask = synthetic.synthetic_tissue_mask(
                width=geometry["width"],
                height=geometry["height"],
                downsample=MASK_DOWNSAMPLE,
                seed=geometry["seed"],
            )
        mask_path = root / f"{name}_mask.png"
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
        paths[f"{name}_mask"] = str(mask_path)
    return paths


def _locations(patches: Any) -> dict[str, Any]:
    return {
        "count": patches.patch_count,
        "info": {k: int(v) for k, v in sorted(patches.patch_info.items())},
        "patches": [[int(x), int(y), str(label)] for (x, y), _, label in patches.patch_data],
        "sizes": sorted({(int(w), int(h)) for _, (w, h), _ in patches.patch_data}),
    }


def _counts(patches: Any) -> dict[str, Any]:
    return {
        "count": patches.patch_count,
        "info": {k: int(v) for k, v in sorted(patches.patch_info.items())},
    }


def _doc_polygons(ns: SimpleNamespace, label: str = "") -> list[Any]:
    poly1 = ns.AnnotationPolygon(
        points=[(10000, 22000), (10000, 25000), (13000, 25000), (13000, 22000)], label=label
    )
    poly2 = ns.AnnotationPolygon(
        points=[(6000, 20000), (6000, 23000), (9000, 23000), (9000, 20000)], label=label
    )
    return [poly1, poly2]


# ---------------------------------------------------------------------- masks.rst
def polygon_mask(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    wsi_file = p["wsi1"]
    poly1 = ns.AnnotationPolygon(
        points=[(2000, 2000), (2000, 3000), (3000, 3000), (3000, 2000)], label=""
    )
    poly2 = ns.AnnotationPolygon(
        points=[(2000, 4000), (2000, 5000), (3000, 5000), (3000, 4000)], label=""
    )
    poly3 = ns.AnnotationPolygon(points=[(4000, 2500), (5000, 3500), (4000, 4500)], label="")
    polygons = [poly1, poly2, poly3]
    # 0.0.5 renamed the documented ``polygons=`` to ``polygon_data=``
    mask = ns.WSIPolygonMask(wsi_file=wsi_file, level_or_minsize=2, polygon_data=polygons)
    mask.save_png(png_file=str(out / "mask_polygon.png"))
    mask.save_array(array_file=str(out / "mask_polygon.npz"))
    from PIL import Image

    image = np.asarray(Image.open(out / "mask_polygon.png")) != 0
    rows, cols = np.nonzero(image)
    return {
        "level": mask.level,
        "png_shape": list(image.shape),
        "area": int(image.sum()),
        "bbox": [int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())],
        "row_sums": [int(v) for v in image.sum(axis=1)[rows.min() : rows.max() + 1 : 97]],
    }


def polygon_mask_in_range(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    """The same example with the polygons (as a JSON string) inside the level-2 mask."""
    polygon_data = (
        '[{"points": [[400, 400], [400, 600], [600, 600], [600, 400]], "label": "", "holes": []},'
        ' {"points": [[800, 500], [1000, 700], [800, 900.7]], "label": "", "holes": []}]'
    )
    mask = ns.WSIPolygonMask(wsi_file=p["wsi1"], level_or_minsize=2, polygon_data=polygon_data)
    mask.save_png(png_file=str(out / "mask_polygon.png"))
    mask.save_array(array_file=str(out / "mask_polygon.npz"))
    from PIL import Image

    image = np.asarray(Image.open(out / "mask_polygon.png")) != 0
    rows, cols = np.nonzero(image)
    # the saved array, read back as the reference reads mask files
    saved = ns.MaskData(mask_data=str(out / "mask_polygon.npz")).mask_array
    return {
        "level": mask.level,
        "png_shape": list(image.shape),
        "area": int(image.sum()),
        "bbox": [int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())],
        "row_sums": [int(v) for v in image.sum(axis=1)[rows.min() : rows.max() + 1 : 7]],
        "array_shape": list(saved.shape),
        "array_area": int(saved.sum()),
    }


# ---------------------------------------------------------------------- locations.rst
def whole_random(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    random_patches = ns.WholeImageRandomPatches(
        wsi_file=p["wsi1"], mask_data=p["wsi1_mask"], patch_size=500, num_patches=20
    )
    return _counts(random_patches)


def whole_poisson(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    poisson_patches = ns.WholeImagePoissonDiskPatches(
        wsi_file=p["wsi1"], mask_data=p["wsi1_mask"], patch_size=500, poisson_spacing=60
    )
    return _counts(poisson_patches)


def whole_grid(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    grid_patches = ns.WholeImageGridPatches(
        wsi_file=p["wsi1"], mask_data=p["wsi1_mask"], patch_size=500, patch_stride=1
    )
    return _locations(grid_patches)


def inverted_random(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    random_patches = ns.WholeImageInvertedRandomPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        num_patches=50,
        polygon_data=_doc_polygons(ns),
    )
    return _counts(random_patches)


def inverted_poisson(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    poisson_patches = ns.WholeImageInvertedPoissonDiskPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        poisson_spacing=60,
        polygon_data=_doc_polygons(ns),
    )
    return _counts(poisson_patches)


def inverted_grid(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    grid_patches = ns.WholeImageInvertedGridPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        patch_stride=1,
        polygon_data=_doc_polygons(ns),
    )
    return _locations(grid_patches)


def polygon_random(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    random_patches = ns.PolygonRegionRandomPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        num_patches=10,
        polygon_data=_doc_polygons(ns),
        foreground_ratio=0.0,  # the synthetic tissue does not fill the doc's squares
    )
    return _counts(random_patches)


def polygon_poisson(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    poisson_patches = ns.PolygonRegionPoissonDiskPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        poisson_spacing=40,
        polygon_data=_doc_polygons(ns),
    )
    return _counts(poisson_patches)


def polygon_grid(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    grid_patches = ns.PolygonRegionGridPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        patch_stride=1,
        polygon_data=_doc_polygons(ns),
    )
    result = _locations(grid_patches)
    result["mask_level"] = [
        [round(x, 6), round(y, 6), round(w, 6), round(h, 6), label]
        for (x, y), (w, h), label in grid_patches.patch_data_mask_level[:5]
    ]
    result["overlap_threshold"] = grid_patches.polygons_overlap_threshold
    result["wsi_dimensions"] = list(grid_patches.wsi_slide.level_dimensions[0])
    return result


def custom_points(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    points = [(3000, 3000), (4000, 4000), (5000, 5000), (6000, 6000)]
    custom_patches = ns.WholeImageCustomPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        points=points,
        foreground_ratio=0.5,
    )
    return _locations(custom_patches)


def _three_polygons(ns: SimpleNamespace) -> list[Any]:
    return [
        *_doc_polygons(ns, "poly"),
        ns.AnnotationPolygon(
            points=[(13000, 18000), (13000, 21000), (16000, 21000), (16000, 18000)], label="poly"
        ),
    ]


def expandable_not_expanded(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    random_patches = ns.PolygonRegionRandomPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        num_patches=5,
        polygon_data=_three_polygons(ns),
        foreground_ratio=0.0,
    )
    return _counts(random_patches)


def expandable_expanded(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    random_patches = ns.PolygonRegionRandomPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        num_patches=[1, 2, 3],
        polygon_data=_three_polygons(ns),
        foreground_ratio=0.0,
    )
    return _counts(random_patches)


def expandable_stride(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    poly1, poly2 = _doc_polygons(ns, "rect")
    poly3 = ns.AnnotationPolygon(
        points=[(13000, 18000), (13000, 21000), (16000, 21000)], label="triangle"
    )
    poly4 = ns.AnnotationPolygon(
        points=[(6000, 24000), (6000, 27000), (9000, 27000)], label="triangle"
    )
    polygon_data = [poly1, poly2, poly3, poly4]

    def get_stride_list(
        polygons: list[Any], rect_stride: float = 0.5, triangle_stride: float = 1
    ) -> list[float]:
        return [rect_stride if poly.label == "rect" else triangle_stride for poly in polygons]

    grid_patches = ns.PolygonRegionGridPatches(
        wsi_file=p["wsi1"],
        mask_data=p["wsi1_mask"],
        patch_size=500,
        patch_stride=get_stride_list(polygon_data),
        polygon_data=polygon_data,
        foreground_ratio=0.5,
    )
    return _locations(grid_patches)


def box_full_overlap(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    """The reference's full-overlap precision case: a box mask, overlap_ratio=1."""
    grid_patches = ns.WholeImageGridPatches(
        wsi_file=p["box"], mask_data=p["box_mask"], patch_size=256, overlap_ratio=1
    )
    return _locations(grid_patches)


def box_mpp(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    grid_patches = ns.WholeImageGridPatches(
        wsi_file=p["box"],
        mask_data=p["box_mask"],
        patch_size=224,
        level_or_mpp=0.5,
        patch_stride=0.75,
        foreground_ratio=0.9,
        overlap_ratio=0.5,
    )
    return _locations(grid_patches)


# ---------------------------------------------------------------------- pools
def _pool_inputs(p: dict[str, str]) -> tuple[list[str], list[str]]:
    return [p["wsi2"], p["wsi3"]], [p["wsi2_mask"], p["wsi3_mask"]]


def grid_pool(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    wsi_file_list, mask_data_list = _pool_inputs(p)
    patches_args = {"patch_size": 256, "patch_stride": 1, "foreground_ratio": [0.5, 0.7]}
    pool = ns.WholeImageGridPatchesPool(
        wsi_file_list=wsi_file_list,
        mask_data_list=mask_data_list,
        patches_args=patches_args,
        proc_num_workers=2,
    )
    by_slide = {os.path.basename(ps.wsi_file): _locations(ps) for ps in pool}
    return {"slides": dict(sorted(by_slide.items()))}


def _files(root: Path, ids: list[str]) -> list[str]:
    names = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            rel = str(path.relative_to(root))
            for manifest_id in ids:
                rel = rel.replace(manifest_id, "<id>")
            names.append(rel)
    return sorted(names)


def disk_pool(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    wsi_file_list, mask_data_list = _pool_inputs(p)
    pool = ns.WholeImageGridPatchesPool(
        wsi_file_list=wsi_file_list,
        mask_data_list=mask_data_list,
        patches_args={"patch_size": 512, "patch_stride": 1, "weak_label": "tissue"},
        proc_num_workers=2,
    )
    output_dir = out / "disk"
    output_dir.mkdir()
    extractor_pool = ns.DiskPatchExtractorPool(
        patches_pool=pool,
        output_dir=str(output_dir),
        image_type="png",
        thread_num_workers=2,
        proc_num_workers=2,
        create_subdirs=True,
    )
    return {
        "count": extractor_pool.patch_count,
        "files": _files(output_dir, list(extractor_pool.manifest_ids)),
    }


def multires_disk_pool(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    wsi_file_list, mask_data_list = _pool_inputs(p)
    pool = ns.WholeImageGridPatchesPool(
        wsi_file_list=wsi_file_list[:1],
        mask_data_list=mask_data_list[:1],
        patches_args={"patch_size": 512, "patch_stride": 1, "foreground_ratio": 0.9},
        proc_num_workers=1,
    )
    output_dir = out / "multires"
    output_dir.mkdir()
    ns.MultiResDiskPatchExtractorPool.reset_global_counter()
    extractor_pool = ns.MultiResDiskPatchExtractorPool(
        patches_pool=pool,
        levels_or_mpps=[0, 1],
        global_counter=1,
        output_dir=str(output_dir),
        image_type="jpg",
        thread_num_workers=2,
        proc_num_workers=1,
    )
    ns.MultiResDiskPatchExtractorPool.remove_global_counter()
    return {
        "count": extractor_pool.patch_count,
        "files": _files(output_dir, list(extractor_pool.manifest_ids)),
    }


def mem_pool_last_empty(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    """The last slide has no patches left after the label filter."""
    first = ns.PatchesMock(
        wsi_file=p["wsi2"],
        level_or_mpp=0,
        patch_data=[((0, 0), (64, 64), "a"), ((64, 0), (64, 64), "b")],
    )
    last = ns.PatchesMock(wsi_file=p["wsi3"], level_or_mpp=0, patch_data=[((0, 0), (64, 64), "b")])
    extractor_pool = ns.MemPatchExtractorPool(
        patches_pool=[first, last],
        thread_num_workers=1,
        proc_num_workers=2,
        included_labels=["a"],
    )
    patch_list = extractor_pool.patch_list
    patch_list.append(patch_list[0])
    return {
        "labels": [label for _, label in extractor_pool.patch_list],
        "mock_params": sorted(first.param_info),
    }


Case = Callable[[SimpleNamespace, dict[str, str], Path], dict[str, Any]]
CASES: dict[str, Case] = {
    f.__name__: f
    for f in (
        polygon_mask,
        polygon_mask_in_range,
        whole_random,
        whole_poisson,
        whole_grid,
        inverted_random,
        inverted_poisson,
        inverted_grid,
        polygon_random,
        polygon_poisson,
        polygon_grid,
        custom_points,
        expandable_not_expanded,
        expandable_expanded,
        expandable_stride,
        box_full_overlap,
        box_mpp,
        grid_pool,
        disk_pool,
        multires_disk_pool,
        mem_pool_last_empty,
    )
}
#: Cases whose sampling is random: only their counts are compared (Poisson-disk counts
#: within a tolerance of the range recorded over several runs).
RANDOM_CASES = {"whole_poisson", "inverted_poisson", "polygon_poisson"}
