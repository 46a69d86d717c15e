"""The reference's pool, extractor, locations and mask test modules, run against either library.

dplabtools' own tests (``tests/slides/patches/{locations,locations_pool,extractors,
extractors_pool}_test.py`` and ``tests/slides/processing/mask_test.py`` in its repository)
rewritten as cases: each case is one reference test's scenario, with the classes taken from
``ns`` (dplabtools' when ``record_reference.py`` records, slidepatch's when the tests
compare) and its board slides (not shipped with dplabtools' package) replaced by synthetic
slides of the same geometry: 2560 x 3072 at level 0, levels 1, 4 and 16, MPP 0.25, tiled
TIFF; ``board`` masks are the reference's all-tissue level-2 mask, ``inner`` its mask with a
16 px (256 level-0 px) margin. The reference ran its pool tests on 8 boards; these run on
3, and lists of per-slide arguments keep the reference's first 3 entries.

Every case returns plain JSON: counts, labels, locations, file names with the random
manifest id replaced by ``<id>``, and patch pixels as MD5 digests of the decoded RGB
arrays (the reference compared file checksums against its stored patches; decoded
pixels compare the content without the encoders' metadata). A case whose reference test
expects an exception returns ``{"error": ...}`` from the recorder's ``try``.

Tests of the reference's private helpers (its ``_name`` static methods) have no
counterpart here; the README's migration table lists them with the reason.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

SYNTHETIC = Path(__file__).resolve().parents[2] / "slidepatch" / "testing" / "synthetic.py"
BOARD = {"width": 2560, "height": 3072}
BOARDS = 3  # the reference's pool tests used 8 boards
MASK_SHAPE = (192, 160)  # level 2, (height, width)

#: The reference's names the cases use, by dplabtools module (for the recorder).
NAMES: dict[str, list[str]] = {
    "dplabtools.slides.patches": [
        "PolygonRegionCustomPatches",
        "WholeImagePoissonDiskPatches",
        "WholeImageRandomPatches",
        "DiskPatchExtractor",
        "DiskPatchExtractorPool",
        "MemPatchExtractor",
        "MemPatchExtractorPool",
        "MultiResDiskPatchExtractor",
        "MultiResDiskPatchExtractorPool",
        "MultiResMemPatchExtractor",
        "MultiResMemPatchExtractorPool",
        "PatchesMock",
        "PolygonRegionCustomPatchesPool",
        "PolygonRegionGridPatches",
        "PolygonRegionGridPatchesPool",
        "PolygonRegionPoissonDiskPatchesPool",
        "PolygonRegionRandomPatchesPool",
        "WholeImageCustomPatchesPool",
        "WholeImageGridPatches",
        "WholeImageGridPatchesPool",
        "WholeImageInvertedCustomPatchesPool",
        "WholeImageInvertedGridPatchesPool",
        "WholeImageInvertedPoissonDiskPatchesPool",
        "WholeImageInvertedRandomPatchesPool",
        "WholeImagePoissonDiskPatchesPool",
        "WholeImageRandomPatchesPool",
    ],
    "dplabtools.slides.processing": ["WSIPolygonMask", "WSITissueMask"],
    "dplabtools.slides.utils": ["AnnotationPolygon"],
}


def _synthetic() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_sp_synthetic", SYNTHETIC)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_inputs(root: Path) -> dict[str, str]:
    """Write the boards and their masks; return name -> path."""
    from PIL import Image

    synthetic = _synthetic()
    paths: dict[str, str] = {}
    for index in range(1, BOARDS + 1):
        path = root / f"board{index}.tif"
        synthetic.write_synthetic_slide(
            path, **BOARD, layout="tiff", tissue_fraction=0.7, seed=20 + index
        )
        paths[f"board{index}"] = str(path)
    full = np.ones(MASK_SHAPE, dtype=bool)
    inner = np.zeros(MASK_SHAPE, dtype=bool)
    inner[16:176, 16:144] = True
    empty = np.zeros(MASK_SHAPE, dtype=bool)
    level1 = np.ones((768, 640), dtype=bool)  # the reference's ones((640, 768)) at level 1
    for name, mask in (
        ("board_mask", full),
        ("inner_mask", inner),
        ("empty_mask", empty),
        ("level1_mask", level1),
    ):
        mask_path = root / f"{name}.png"
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
        paths[name] = str(mask_path)
    return paths


# ---------------------------------------------------------------------- helpers
def _digest(image: Any) -> str:
    array = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
    return hashlib.md5(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def _size(image: Any) -> list[int]:
    """(width, height) of a PIL image or a numpy array (slidepatch's memory items)."""
    if hasattr(image, "convert"):
        return [int(image.size[0]), int(image.size[1])]
    return [int(image.shape[1]), int(image.shape[0])]


def _file_digest(path: Path) -> str:
    from PIL import Image

    with Image.open(path) as image:
        return _digest(image)


def _tree(root: Path, ids: list[str]) -> dict[str, Any]:
    """Relative file names (manifest ids replaced) and the pixels of every image file."""
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(root))
        for manifest_id in ids:
            if manifest_id:
                rel = rel.replace(manifest_id, "<id>")
        is_image = path.suffix.lower() in (".tif", ".png", ".jpg")
        files[rel] = _file_digest(path) if is_image else ""
    return {"files": files}


def _summary(patches: Any) -> dict[str, Any]:
    return {
        "count": int(patches.patch_count),
        "info": {str(k): int(v) for k, v in sorted(patches.patch_info.items())},
        "labels": [str(label) for label in patches.patch_labels],
    }


def _pool_summary(pool: Any) -> dict[str, Any]:
    result = _summary(pool)
    result["slides"] = sorted(
        [
            os.path.basename(ps.wsi_file),
            [[int(x), int(y), int(w), int(h), str(lab)] for (x, y), (w, h), lab in ps.patch_data],
        ]
        for ps in pool
    )
    return result


def _boards(p: dict[str, str]) -> list[str]:
    return [p[f"board{i}"] for i in range(1, BOARDS + 1)]


def _polygons(ns: SimpleNamespace) -> list[Any]:
    return [
        ns.AnnotationPolygon(
            points=[(200, 200), (200, 1200), (1200, 1200), (1200, 200)], label="area1"
        ),
        ns.AnnotationPolygon(points=[(1500, 1500), (1500, 2800), (2500, 2800)], label="area2"),
    ]


def _board_polygons(ns: SimpleNamespace) -> list[Any]:
    """The three regions of the reference's extractor tests."""
    return [
        ns.AnnotationPolygon(points=[(256, 0), (256, 768), (2304, 768), (2304, 0)], label="area1"),
        ns.AnnotationPolygon(points=[(128, 1280), (128, 2816), (1600, 2816)], label="area2"),
        ns.AnnotationPolygon(
            points=[(1920, 896), (1920, 2650), (2304, 2400), (2304, 900)], label="area3"
        ),
    ]


Case = Callable[[SimpleNamespace, dict[str, str], Path], dict[str, Any]]
CASES: dict[str, Case] = {}
#: Cases whose sampling is random: counts compared within a tolerance, labels exactly.
RANDOM_CASES: set[str] = set()


def _register(name: str, case: Case, *, random: bool = False) -> None:
    CASES[name] = case
    if random:
        RANDOM_CASES.add(name)


# ---------------------------------------------------------------------- locations_pool_test
def _pool_case(
    class_name: str, args: dict[str, Any], *, polygons: bool, summary: bool = True
) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if polygons:
            extra["polygon_data_list"] = [_polygons(ns)] * BOARDS
        pool = getattr(ns, class_name)(
            wsi_file_list=_boards(p),
            mask_data_list=[p["board_mask"]] * BOARDS,
            patches_args=dict(args),
            proc_num_workers=2,
            **extra,
        )
        return _pool_summary(pool) if summary else _summary(pool)

    return case


_BASE = {"patch_size": 256, "foreground_ratio": 0.1, "level_or_mpp": 0, "polygon_buffer": 0}
_POOL_CLASSES: dict[str, tuple[str, dict[str, Any], bool, bool]] = {
    "class1": (
        "WholeImageRandomPatchesPool",
        {**_BASE, "overlap_ratio": 0.9, "num_patches": 30, "weak_label": "label1"},
        False,
        True,
    ),
    "class2": (
        "WholeImagePoissonDiskPatchesPool",
        {**_BASE, "overlap_ratio": 0.9, "poisson_spacing": 30, "weak_label": "label1"},
        False,
        True,
    ),
    "class3": (
        "WholeImageGridPatchesPool",
        {**_BASE, "overlap_ratio": 0.9, "patch_stride": 1, "weak_label": "label1"},
        False,
        False,
    ),
    "class4": (
        "WholeImageInvertedRandomPatchesPool",
        {**_BASE, "overlap_ratio": 0.95, "num_patches": 7, "weak_label": "label1"},
        True,
        True,
    ),
    "class5": (
        "WholeImageInvertedPoissonDiskPatchesPool",
        {**_BASE, "overlap_ratio": 0.95, "poisson_spacing": 30, "weak_label": "label1"},
        True,
        True,
    ),
    "class6": (
        "WholeImageInvertedGridPatchesPool",
        {**_BASE, "overlap_ratio": 1, "patch_stride": 1, "weak_label": "label1"},
        True,
        False,
    ),
    "class7": (
        "PolygonRegionRandomPatchesPool",
        {**_BASE, "overlap_ratio": 0.8, "num_patches": 3},
        True,
        True,
    ),
    "class8": (
        "PolygonRegionPoissonDiskPatchesPool",
        {**_BASE, "overlap_ratio": 0.2, "poisson_spacing": 25},
        True,
        True,
    ),
    "class9": (
        "PolygonRegionGridPatchesPool",
        {**_BASE, "foreground_ratio": 0.5, "overlap_ratio": 0.9, "patch_stride": 1},
        True,
        False,
    ),
    "class10": (
        "PolygonRegionGridPatchesPool",
        {
            **_BASE,
            "patch_size": 1000,
            "foreground_ratio": 0.99,
            "overlap_ratio": 0.99,
            "patch_stride": 1,
        },
        True,
        False,
    ),
}
for _name, (_cls, _args, _poly, _random) in _POOL_CLASSES.items():
    _register(
        f"locations_pool.test_patches_pool_{_name}",
        _pool_case(_cls, _args, polygons=_poly, summary=not _random),
        random=_random,
    )
_register(
    "locations_pool.test_patches_pool_wrong_arg",
    _pool_case(
        "WholeImageRandomPatchesPool",
        {"patch_size_value": 256, "foreground_ratio": 0.1, "num_patches": 30},
        polygons=False,
    ),
)
_register(
    "locations_pool.test_list_count1",
    _pool_case(
        "PolygonRegionRandomPatchesPool",
        {**_BASE, "overlap_ratio": 0.8, "num_patches": [[3, 1]] * BOARDS},
        polygons=True,
        summary=False,
    ),
    random=True,
)
_register(
    "locations_pool.test_list_count2",
    _pool_case(
        "PolygonRegionGridPatchesPool",
        {
            **_BASE,
            "foreground_ratio": [[0.1, 0.4]] * BOARDS,
            "overlap_ratio": [[0.1, 0.9]] * BOARDS,
            "patch_stride": [[1.5, 1]] * BOARDS,
            "polygon_buffer": [[20, 0]] * BOARDS,
        },
        polygons=True,
    ),
)
_GRID = {**_BASE, "foreground_ratio": 0.5, "overlap_ratio": 0.9, "patch_stride": 1}
_LABEL_CASES: dict[str, dict[str, Any]] = {
    "included_labels1": {"included_labels": ["area1"]},
    "included_labels2": {"included_labels": ["area1", "area2"]},
    "included_labels3": {"included_labels": [["area1", "area2"], [], []]},
    "included_labels4": {"included_labels": [["area1", "area2"], [""], ["area1", "area2"]]},
    "included_labels5": {"included_labels": [["area1"], ["area2"], ["area1"]]},
    "included_labels6": {"included_labels": [["area1"]] * BOARDS},
    "excluded_labels1": {"excluded_labels": ["area1"]},
    "excluded_labels2": {"excluded_labels": ["area1", "area2"]},
    "excluded_labels3": {"excluded_labels": [""]},
    "excluded_labels4": {"excluded_labels": []},
    "excluded_labels5": {"excluded_labels": [["area1", "area2"], [], []]},
    "excluded_labels6": {"excluded_labels": [["area1", "area2"], [""], [""]]},
    "excluded_labels7": {"excluded_labels": [["area1", "area2"], [], ["area1", "area2"]]},
    "excluded_labels8": {"excluded_labels": [["area1"], ["area2"], ["area1"]]},
    "excluded_labels9": {"excluded_labels": [["area1"]] * BOARDS},
}
for _name, _extra in _LABEL_CASES.items():
    _register(
        f"locations_pool.test_list_{_name}",
        _pool_case("PolygonRegionGridPatchesPool", {**_GRID, **_extra}, polygons=True),
    )


def _iterator(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    pool = ns.WholeImageRandomPatchesPool(
        wsi_file_list=_boards(p),
        mask_data_list=[p["board_mask"]] * BOARDS,
        patches_args={
            **_BASE,
            "overlap_ratio": 0.9,
            "num_patches": [1, 2, 3][:BOARDS],
            "weak_label": "label1",
        },
        proc_num_workers=2,
    )
    slides = list(pool)
    return {
        "len": len(slides),
        "counts": sorted(int(ps.patch_count) for ps in slides),
        "pids": len(set(pool.pids)),
    }


_register("locations_pool.test_pool_iterator1.test_pool_iterator2", _iterator)


def _mockobject(polygons: bool) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        if polygons:
            pool = ns.PolygonRegionGridPatchesPool(
                wsi_file_list=_boards(p),
                mask_data_list=[p["board_mask"]] * BOARDS,
                polygon_data_list=[_polygons(ns)] * BOARDS,
                patches_args={
                    "patch_size": 50,
                    "foreground_ratio": 0.2,
                    "polygon_buffer": 0,
                    "level_or_mpp": 2,
                    "patch_stride": 1,
                },
                proc_num_workers=2,
            )
        else:
            pool = ns.WholeImageGridPatchesPool(
                wsi_file_list=_boards(p),
                mask_data_list=[p["board_mask"]] * BOARDS,
                patches_args={
                    "patch_size": 512,
                    "foreground_ratio": 0.1,
                    "overlap_ratio": 0.9,
                    "level_or_mpp": 1,
                    "patch_stride": 1,
                    "weak_label": "label5",
                },
                proc_num_workers=2,
            )
        mocks = []
        for ps in pool:
            params = dict(ps.param_info)
            wsi = params.pop("wsi_file")
            params.pop("polygon_data", None)
            params["mask_data"] = os.path.basename(str(params["mask_data"]))
            mocks.append(
                {
                    **_summary(ps),
                    "data": [[x, y, w, h, lab] for (x, y), (w, h), lab in ps.patch_data],
                    "params": params,
                    "level_or_mpp": ps.level_or_mpp,
                    "class_name": ps.class_name,
                    "wsi_matches": wsi == ps.wsi_file and wsi in _boards(p),
                }
            )
        return {"mocks": mocks}

    return case


_register("locations_pool.test_pool_mockobject1", _mockobject(False))
_register("locations_pool.test_pool_mockobject2", _mockobject(True))


def _preview(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    from PIL import Image

    folder = out / "pool_preview1"
    folder.mkdir()
    ns.WholeImageRandomPatchesPool(
        wsi_file_list=_boards(p),
        mask_data_list=[p["board_mask"]] * BOARDS,
        patches_args={**_BASE, "overlap_ratio": 0.9, "num_patches": 12, "weak_label": "label1"},
        proc_num_workers=2,
        mp_chunksize=1,
        save_preview_image_args={"image_file": str(folder / "_preview.tif")},
    )
    sizes = {}
    for path in sorted(folder.iterdir()):
        with Image.open(path) as image:
            sizes[path.name] = list(image.size)
    return {"previews": sizes}


_register("locations_pool.test_preview_present_default", _preview)

_CUSTOM = {"patch_size": 64, "foreground_ratio": 0.1, "overlap_ratio": 0.1, "level_or_mpp": 0}
_STAIRS = [[(10 * k, 10 * k) for k in range(1, n + 1)] for n in range(1, BOARDS + 1)]


def _custom_case(
    class_name: str,
    points_list: list[list[tuple[int, int]]],
    *,
    polygons: list[tuple[list[tuple[int, int]], str]] | None = None,
    empty_mask_at: int | None = None,
    empty_png_at: tuple[int, ...] = (),
    weak_label: str | None = None,
) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if polygons is not None:
            extra["polygon_data_list"] = [
                [ns.AnnotationPolygon(points=pts, label=lab) for pts, lab in polygons]
            ] * BOARDS
        masks: list[Any] = [p["board_mask"]] * BOARDS
        if empty_mask_at is not None:
            masks = list(masks)
            masks[empty_mask_at] = np.zeros((160, 192), dtype=bool)  # the reference's (w, h)
        masks = [p["empty_mask"] if i in empty_png_at else m for i, m in enumerate(masks)]
        args = dict(_CUSTOM) if weak_label is None else {**_CUSTOM, "weak_label": weak_label}
        pool = getattr(ns, class_name)(
            wsi_file_list=_boards(p),
            mask_data_list=masks,
            patches_args=args,
            proc_num_workers=2,
            points_list=points_list,
            **extra,
        )
        return _pool_summary(pool)

    return case


_SQUARE = ([(200, 200), (200, 1200), (1200, 1200), (1200, 200)], "area1")
_register(
    "locations_pool.test_pool_custom_whole_image1",
    _custom_case("WholeImageCustomPatchesPool", [[(10, 10), (20, 20)]] * BOARDS),
)
_register(
    "locations_pool.test_pool_custom_whole_image2",
    _custom_case(
        "WholeImageCustomPatchesPool", [[(10, 10), (20, 20), (30, 30), (5000, 5000)]] * BOARDS
    ),
)
_register(
    "locations_pool.test_pool_custom_whole_image3",
    _custom_case("WholeImageCustomPatchesPool", [[(10000, 10000), (20000, 20000)]] * BOARDS),
)
_register(
    "locations_pool.test_pool_custom_whole_image4",
    _custom_case("WholeImageCustomPatchesPool", _STAIRS),
)
_register(
    "locations_pool.test_pool_custom_whole_image5",
    _custom_case("WholeImageCustomPatchesPool", _STAIRS, empty_mask_at=1),
)
_register(
    "locations_pool.test_pool_custom_whole_image_inverted1",
    _custom_case(
        "WholeImageInvertedCustomPatchesPool", [[(10, 10), (20, 20)]] * BOARDS, polygons=[_SQUARE]
    ),
)
_register(
    "locations_pool.test_pool_custom_whole_image_inverted2",
    _custom_case(
        "WholeImageInvertedCustomPatchesPool",
        [[(300, 300), (500, 500)]] * BOARDS,
        polygons=[_SQUARE],
    ),
)
_P1 = [(10, 10), (260, 260), (1050, 1050), (600, 300), (900, 300), (5000, 5000)]
_P2 = [(40, 40), (300, 1300), (800, 800), (1300, 1300), (1400, 1400), (4000, 3000), (1300, 270)]
_register(
    "locations_pool.test_pool_custom_polygons1",
    _custom_case(
        "PolygonRegionCustomPatchesPool",
        [_P1, _P2, _P1],
        polygons=[
            ([(200, 200), (200, 1400), (1400, 1400), (1400, 200)], "area1"),
            ([(400, 400), (400, 1800), (1500, 1800), (1500, 400)], "area2"),
        ],
    ),
)
_register(
    "locations_pool.test_pool_custom_whole_image_inverted5",
    _custom_case(
        "WholeImageInvertedCustomPatchesPool",
        [
            [(10, 10), (400, 40), (20, 20), (50, 50), (100, 100), (500, 500), (1100, 1100)],
            [(300, 300), (5000, 5000), (1250, 1250), (1500, 1500)],
            [(10, 10), (400, 40), (20, 20), (50, 50), (100, 100), (500, 500), (1100, 1100)],
        ],
        polygons=[
            ([(200, 200), (200, 1400), (1400, 1400), (1400, 200)], "area1"),
            ([(20, 20), (20, 1200), (1200, 1200), (1200, 20)], "area2"),
        ],
    ),
)


# ---------------------------------------------------------------------- extractors_test
def _grid(ns: SimpleNamespace, p: dict[str, str], **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "wsi_file": p["board1"],
        "mask_data": p["board_mask"],
        "patch_size": 256,
        "level_or_mpp": 0,
        "patch_stride": 1,
    }
    args.update(kwargs)
    return ns.WholeImageGridPatches(**args)


def _region_grid(ns: SimpleNamespace, p: dict[str, str], **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "polygon_data": _board_polygons(ns),
        "wsi_file": p["board1"],
        "mask_data": p["board_mask"],
        "patch_size": 256,
        "level_or_mpp": 0,
    }
    args.update(kwargs)
    return ns.PolygonRegionGridPatches(**args)


def _manifest_lines(root: Path, manifest_id: str, inputs: str) -> list[str]:
    """The reference compares line 0 whole and the lines after the header sorted.

    The output folder, the input folder and the manifest id are replaced by placeholders.
    """
    folder = root / "manifests"
    (path,) = [f for f in folder.iterdir() if f.suffix == ".txt"]
    lines = [
        line.replace(manifest_id, "<id>").replace(str(root), "<out>").replace(inputs, "<in>")
        for line in path.read_text().splitlines()
    ]
    return [lines[0], *sorted(lines[5:])]


def _disk(ns: SimpleNamespace, patches: Any, out: Path, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "patches": patches,
        "output_dir": str(out),
        "num_workers": 2,
        "image_type": "tif",
        "filename_comment": "testcomment",
    }
    args.update(kwargs)
    extractor = ns.DiskPatchExtractor(**args)
    result = {"count": int(extractor.patch_count), **_tree(out, [extractor.manifest_id])}
    result["files"] = {k: v for k, v in result["files"].items() if not k.startswith("manifests")}
    return result


def _manifest1(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    patches = _grid(
        ns,
        p,
        mask_data=p["inner_mask"],
        foreground_ratio=0.88,
        overlap_ratio=0.77,
        weak_label="XYZ",
        polygon_buffer=0,
    )
    extractor = ns.DiskPatchExtractor(
        patches=patches,
        output_dir=str(out),
        num_workers=2,
        image_type="tif",
        filename_comment="testcomment",
        filename_separator="__",
        create_subdirs=True,
    )
    return {"manifest": _manifest_lines(out, extractor.manifest_id, os.path.dirname(p["board1"]))}


def _manifest2(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    patches = _region_grid(
        ns,
        p,
        mask_data=p["inner_mask"],
        patch_stride=[1, 0.5, 0.5],
        foreground_ratio=0.89,
        overlap_ratio=0.66,
        polygon_buffer=0,
    )
    extractor = ns.DiskPatchExtractor(
        patches=patches,
        output_dir=str(out),
        num_workers=2,
        image_type="tif",
        filename_comment="testcomment",
        filename_separator="__",
        create_subdirs=True,
    )
    return {"manifest": _manifest_lines(out, extractor.manifest_id, os.path.dirname(p["board1"]))}


_register("extractors.test_manifest_file1", _manifest1)
_register("extractors.test_manifest_file2", _manifest2)
_register(
    "extractors.test_save_whole_image_patches",
    lambda ns, p, out: _disk(
        ns,
        _grid(ns, p, foreground_ratio=1, overlap_ratio=1, weak_label="label1"),
        out,
        create_subdirs=True,
    ),
)
for _subdirs in (True, False):
    _register(
        f"extractors.test_save_polygon_patches_{'subdirs' if _subdirs else 'no_subdirs'}",
        lambda ns, p, out, _s=_subdirs: _disk(
            ns,
            _region_grid(ns, p, patch_stride=[1, 0.5, 0.5], foreground_ratio=1, overlap_ratio=1),
            out,
            create_subdirs=_s,
        ),
    )


def _duplicates(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    first, second, _ = _board_polygons(ns)
    third = ns.AnnotationPolygon(points=list(first.points), label="area1")
    patches = ns.PolygonRegionGridPatches(
        polygon_data=[first, second, third],
        wsi_file=p["board1"],
        mask_data=p["board_mask"],
        patch_size=256,
        level_or_mpp=0,
        patch_stride=[1, 0.5, 1],
        foreground_ratio=1,
        overlap_ratio=1,
        check_polygons=False,
    )
    return _disk(ns, patches, out, create_subdirs=True)


_register("extractors.test_exclude_duplicate_patches", _duplicates)


def _resampled(mode: str | None) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        poly = ns.AnnotationPolygon(points=[(128, 1280), (128, 2816), (1600, 2816)], label="area1")
        patches = ns.PolygonRegionGridPatches(
            polygon_data=[poly],
            wsi_file=p["board1"],
            mask_data=p["board_mask"],
            patch_size=512,
            level_or_mpp=0.5,
            patch_stride=0.5,
            foreground_ratio=0.5,
            overlap_ratio=0.5,
        )
        extra = {} if mode is None else {"resampling_mode": mode}
        result = _disk(ns, patches, out, create_subdirs=False, **extra)
        result["files"] = sorted(result["files"])  # resampled pixels differ between resamplers
        return result

    return case


_register("extractors.test_downsampling_wsi", _resampled("wsi"))
_register("extractors.test_downsampling_tile", _resampled("tile"))
_register("extractors.test_downsampling_default", _resampled(None))

_LABELS_DISK = {
    "included": {"included_labels": ["area1", "area3"]},
    "excluded": {"excluded_labels": ["area1", "area3"]},
}
for _kind, _kw in _LABELS_DISK.items():
    _register(
        f"extractors.test_{_kind}_labels",
        lambda ns, p, out, _k=_kw: _disk(
            ns,
            _region_grid(ns, p, patch_stride=1, foreground_ratio=0.5, overlap_ratio=0.5),
            out,
            create_subdirs=True,
            **_k,
        ),
    )


def _mem(extra: dict[str, Any], *, unlabelled: bool = False) -> Case:
    """``unlabelled``: the second region has the empty label (the reference's 7th/6th)."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        polygons = _board_polygons(ns)
        if unlabelled:
            polygons[1] = ns.AnnotationPolygon(points=list(polygons[1].points), label="")
        patches = _region_grid(
            ns, p, polygon_data=polygons, patch_stride=1, foreground_ratio=0.5, overlap_ratio=0.5
        )
        extractor = ns.MemPatchExtractor(patches=patches, num_workers=2, **extra)
        stream = [(_digest(image), str(label)) for image, label in extractor.patch_stream]
        return {"count": int(extractor.patch_count), "stream": sorted(stream)}

    return case


_MEM_LABELS: dict[str, dict[str, Any]] = {
    "patch_stream_no_inference": {},
    "included_labels1": {"included_labels": ["area1", "area3"]},
    "included_labels2": {"included_labels": ["area1"]},
    "included_labels3": {"included_labels": ["area1", "area2", "area3"]},
    "included_labels4": {"included_labels": ["area3"]},
    "included_labels5": {"included_labels": []},
    "included_labels6": {"included_labels": [""]},
    "excluded_labels1": {"excluded_labels": ["area1"]},
    "excluded_labels2": {"excluded_labels": ["area3"]},
    "excluded_labels3": {"excluded_labels": ["area1", "area3"]},
    "excluded_labels4": {"excluded_labels": ["area1", "area2", "area3"]},
    "excluded_labels5": {"excluded_labels": [""]},
    "included_excluded_labels1": {"included_labels": ["area1"], "excluded_labels": ["area2"]},
    "included_excluded_labels2": {"included_labels": [""], "excluded_labels": [""]},
    "included_excluded_labels3": {"included_labels": [], "excluded_labels": []},
}
for _name, _extra in _MEM_LABELS.items():
    _register(f"extractors.MemPatchExtractor.test_{_name}", _mem(_extra))
_register(
    "extractors.MemPatchExtractor.test_included_labels7",
    _mem({"included_labels": [""]}, unlabelled=True),
)
_register(
    "extractors.MemPatchExtractor.test_excluded_labels6",
    _mem({"excluded_labels": [""]}, unlabelled=True),
)


def _multires_disk(subdirs: bool, counter: int) -> Case:
    """The reference's tests patch its process-wide set counter to None first (so each
    extractor numbers from its own ``global_counter``); the recorder does the same through
    ``ns.fresh_multires_counter``. slidepatch's counter belongs to the object anyway."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        patches = _region_grid(
            ns, p, patch_stride=[1, 0.5, 0.5], foreground_ratio=1, overlap_ratio=1
        )
        fresh_counter = getattr(ns, "fresh_multires_counter", None)
        if fresh_counter is not None:
            fresh_counter()
        extractor = ns.MultiResDiskPatchExtractor(
            patches=patches,
            levels_or_mpps=[0, 0.5, 0.75],
            resampling_mode="wsi",
            output_dir=str(out),
            num_workers=1,
            image_type="tif",
            create_subdirs=subdirs,
            global_counter=counter,
        )
        tree = _tree(out, [extractor.manifest_id])
        # resampled levels' pixels differ between resamplers: names only
        files = sorted(k for k in tree["files"] if not k.startswith("manifests"))
        return {"count": int(extractor.patch_count), "files": files}

    return case


_register("extractors.test_save_patches_subdirs_and_others", _multires_disk(True, 1))
_register("extractors.test_save_patches_no_subdirs", _multires_disk(False, 1))
_register("extractors.test_multires_global_counter_custom", _multires_disk(True, 100))


def _multires_mem(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    patches = _region_grid(ns, p, patch_stride=[1, 0.5, 0.5], foreground_ratio=1, overlap_ratio=1)
    extractor = ns.MultiResMemPatchExtractor(patches=patches, levels_or_mpps=[0, 1], num_workers=2)
    stream = []
    for patch_tuple in extractor.patch_stream:
        stream.append([[_size(image), _digest(image), str(label)] for image, label in patch_tuple])
    return {"count": int(extractor.patch_count), "stream": sorted(stream)}


_register("extractors.test_patch_stream_saved_no_downsampling", _multires_mem)


# ---------------------------------------------------------------------- extractors_pool_test
_COLORS = ["color1", "color2", "color3"][:BOARDS]


def _color_grids(ns: SimpleNamespace, p: dict[str, str]) -> list[Any]:
    return [
        ns.WholeImageGridPatches(
            wsi_file=wsi,
            mask_data=p["inner_mask"],
            patch_size=256,
            level_or_mpp=0,
            patch_stride=1,
            foreground_ratio=0.5,
            overlap_ratio=1,
            weak_label=label,
        )
        for wsi, label in zip(_boards(p), _COLORS, strict=True)
    ]


def _mem_pool(
    ns: SimpleNamespace, p: dict[str, str], out: Path, threads: int = 2, procs: int = 2
) -> dict[str, Any]:
    pool = ns.MemPatchExtractorPool(
        patches_pool=_color_grids(ns, p),
        thread_num_workers=threads,
        proc_num_workers=procs,
        thread_mp_chunksize=1,
        proc_mp_chunksize=1,
    )
    stream = sorted((_digest(image), str(label)) for image, label in pool.patch_list)
    return {"count": int(pool.patch_count), "len": len(pool.patch_list), "stream": stream}


def _disk_pool(subdirs: bool, threads: int = 2, procs: int = 2) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        pool = ns.DiskPatchExtractorPool(
            patches_pool=_color_grids(ns, p),
            output_dir=str(out),
            image_type="tif",
            thread_num_workers=threads,
            proc_num_workers=procs,
            filename_comment="dext",
            filename_separator="___",
            create_subdirs=subdirs,
        )
        tree = _tree(out, [i for i in pool.manifest_ids if i])
        tree["files"] = {k: v for k, v in tree["files"].items() if not k.startswith("manifests")}
        return {"count": int(pool.patch_count), **tree}

    return case


def _level2_grids(ns: SimpleNamespace, p: dict[str, str]) -> list[Any]:
    return [
        ns.WholeImageGridPatches(
            wsi_file=wsi,
            mask_data=p["board_mask"],
            patch_size=128,
            level_or_mpp=2,
            patch_stride=1,
            foreground_ratio=0.5,
            overlap_ratio=1,
            weak_label=label,
        )
        for wsi, label in zip(_boards(p), _COLORS, strict=True)
    ]


def _multires_disk_pool(
    ns: SimpleNamespace, p: dict[str, str], out: Path, threads: int = 2, procs: int = 2
) -> dict[str, Any]:
    ns.MultiResDiskPatchExtractorPool.reset_global_counter()
    pool = ns.MultiResDiskPatchExtractorPool(
        patches_pool=_level2_grids(ns, p),
        output_dir=str(out),
        levels_or_mpps=[2, 1, 0],
        image_type="tif",
        thread_num_workers=threads,
        proc_num_workers=procs,
        filename_comment="dext",
        filename_separator="___",
        create_subdirs=True,
        global_counter=200002,
    )
    ns.MultiResDiskPatchExtractorPool.remove_global_counter()
    tree = _tree(out, [i for i in pool.manifest_ids if i])
    tree["files"] = {k: v for k, v in tree["files"].items() if not k.startswith("manifests")}
    return {"count": int(pool.patch_count), **tree}


def _multires_mem_pool(
    ns: SimpleNamespace, p: dict[str, str], out: Path, threads: int = 2, procs: int = 2
) -> dict[str, Any]:
    pool = ns.MultiResMemPatchExtractorPool(
        patches_pool=_level2_grids(ns, p),
        levels_or_mpps=[2, 1, 0],
        thread_num_workers=threads,
        proc_num_workers=procs,
    )
    stream = sorted(
        [[_size(image), _digest(image), str(label)] for image, label in patch_tuple]
        for patch_tuple in pool.patch_list
    )
    return {"count": int(pool.patch_count), "stream": stream}


_register("extractors_pool.MemPatchExtractorPool.test_pool_extractor_2proc_2thread", _mem_pool)
_register(
    "extractors_pool.DiskPatchExtractorPool.test_pool_extractor_2proc_2thread", _disk_pool(True)
)
_register(
    "extractors_pool.DiskPatchExtractorPool.test_pool_extractor_2proc_2thread_no_subdirs",
    _disk_pool(False),
)
_register(
    "extractors_pool.MultiResDiskPatchExtractorPool.test_pool_extractor_2proc_2thread",
    _multires_disk_pool,
)
_register(
    "extractors_pool.MultiResMemPatchExtractorPool.test_pool_extractor_2proc_2thread",
    _multires_mem_pool,
)


_POOL_LABELS = ["color1", "color1", "color2"][:BOARDS]


def _pool_labels(kind: str, labels: dict[str, Any]) -> Case:
    """The reference's label-filter pool tests: a grid location pool, one label per slide."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        locations = ns.WholeImageGridPatchesPool(
            wsi_file_list=_boards(p),
            mask_data_list=[p["inner_mask"]] * BOARDS,
            patches_args={
                **_BASE,
                "overlap_ratio": 0.9,
                "patch_stride": 1,
                "weak_label": _POOL_LABELS,
            },
            proc_num_workers=2,
        )
        multires = kind.startswith("multires")
        common: dict[str, Any] = {
            "patches_pool": locations,
            "thread_num_workers": 1,
            "proc_num_workers": 2,
            **labels,
        }
        if multires:
            common["levels_or_mpps"] = [1, 0]
        if kind.endswith("mem"):
            pool = getattr(
                ns, "MultiResMemPatchExtractorPool" if multires else "MemPatchExtractorPool"
            )(**common)
            if multires:
                found = sorted(
                    [str(item[1]) for item in patch_set] for patch_set in pool.patch_list
                )
            else:
                found = sorted(str(lab) for _, lab in pool.patch_list)
            result: dict[str, Any] = {"count": int(pool.patch_count), "labels": found}
        else:
            if multires:
                ns.MultiResDiskPatchExtractorPool.reset_global_counter()
                common["global_counter"] = 1
            pool = getattr(
                ns, "MultiResDiskPatchExtractorPool" if multires else "DiskPatchExtractorPool"
            )(output_dir=str(out), image_type="png", create_subdirs=True, **common)
            tree = _tree(out, [i for i in pool.manifest_ids if i])
            files = [k for k in tree["files"] if not k.startswith("manifests")]
            result = {"count": int(pool.patch_count), "files": sorted(files)}
        if multires:
            result["patchset_count"] = int(pool.patchset_count)
        return result

    return case


for _kind in ("mem", "disk", "multires_mem", "multires_disk"):
    for _name, _labels in {
        "default": {},
        "include": {"included_labels": ["color2"]},
        "exclude": {"excluded_labels": ["color1"]},
        "exclude_all": {"excluded_labels": ["color1", "color2"]},
    }.items():
        _register(
            f"extractors_pool.test_{_kind}_patch_extractor_pool_{_name}",
            _pool_labels(_kind, _labels),
        )


def _three_classes(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    """Grid, region grid and a mock in one disk pool."""
    mock = ns.PatchesMock(
        patch_data=[((256, 256), (256, 256), "m1"), ((512, 512), (256, 256), "m2")],
        wsi_file=p["board3"],
        level_or_mpp=0,
    )
    patches_pool = [
        _grid(ns, p, foreground_ratio=1, overlap_ratio=1, weak_label="grid"),
        _region_grid(
            ns, p, wsi_file=p["board2"], patch_stride=1, foreground_ratio=0.5, overlap_ratio=0.5
        ),
        mock,
    ]
    pool = ns.DiskPatchExtractorPool(
        patches_pool=patches_pool,
        output_dir=str(out),
        image_type="png",
        thread_num_workers=1,
        proc_num_workers=2,
        create_subdirs=True,
    )
    ids = [i for i in pool.manifest_ids if i]
    tree = _tree(out, ids)
    manifests = sorted(k for k in tree["files"] if k.startswith("manifests"))
    return {
        "count": int(pool.patch_count),
        "manifests": manifests,
        "files": sorted(k for k in tree["files"] if not k.startswith("manifests")),
    }


_register("extractors_pool.test_three_patches_classes_manifest_files_with_one_mock", _three_classes)


# ---------------------------------------------------------------------- processing/mask_test
def _polygon_mask_files(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    from PIL import Image

    poly = ns.AnnotationPolygon(points=[(100, 100), (100, 200), (500, 200), (500, 100)], label="")
    mask = ns.WSIPolygonMask(wsi_file=p["board1"], level_or_minsize=1, polygon_data=[poly])
    mask.save_array(str(out / "polygon_mask.npz"))
    mask.save_png(str(out / "polygon_mask.png"))
    with Image.open(out / "polygon_mask.png") as image:
        png = np.asarray(image) != 0
    return {
        "npz_shape": list(np.load(out / "polygon_mask.npz")["data"].shape),
        "png_size": [png.shape[1], png.shape[0]],
        "png_area": int(png.sum()),
    }


def _overlay(kind: str, kwargs: dict[str, Any]) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        from PIL import Image

        if kind == "polygon":
            poly = ns.AnnotationPolygon(
                points=[(128, 64), (128, 256), (512, 256), (512, 64)], label=""
            )
            mask = ns.WSIPolygonMask(wsi_file=p["board1"], level_or_minsize=1, polygon_data=[poly])
        else:
            mask = ns.WSITissueMask(wsi_file=p["board1"], level_or_minsize=2, **_tissue_rule(ns))
        mask.save_overlay_png(str(out / "overlay.png"), **kwargs)
        with Image.open(out / "overlay.png") as image:
            array = np.asarray(image.convert("RGB"))
        return {"size": [array.shape[1], array.shape[0]], "pixels": _digest(array)}

    return case


def _tissue_rule(ns: SimpleNamespace) -> dict[str, Any]:
    """Keywords that select the reference's tissue rule (``ns.tissue_mask_kwargs``): none
    for the reference itself; slidepatch's default rule differs (README)."""
    return dict(getattr(ns, "tissue_mask_kwargs", {}))


def _tissue_files(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    from PIL import Image

    mask = ns.WSITissueMask(wsi_file=p["board1"], level_or_minsize=2, **_tissue_rule(ns))
    mask.save_array(str(out / "tissue_mask.npz"))
    mask.save_png(str(out / "tissue_mask.png"))
    with Image.open(out / "tissue_mask.png") as image:
        png = np.asarray(image) != 0
    minsize = ns.WSITissueMask(wsi_file=p["board1"], level_or_minsize=100)
    return {
        "npz_shape": list(np.load(out / "tissue_mask.npz")["data"].shape),
        "png_size": [png.shape[1], png.shape[0]],
        "png_area": int(png.sum()),
        "minsize_level": int(minsize.level),
        "minsize_shape": list(minsize.array.shape),
    }


_register("mask.test_polygon_mask_saving_files", _polygon_mask_files)
_register("mask.test_polygon_mask_saving_overlay", _overlay("polygon", {}))
_register("mask.test_tissue_mask_saving_files.test_mask_properties", _tissue_files)
_OVERLAYS: dict[str, dict[str, Any]] = {
    "1": {},
    "2": {"mask_color": None},
    "3": {"mask_color": "black", "mask_alpha": 0.9},
    "4": {"mask_color": "black", "mask_alpha": 0.9, "outline_color": None},
    "5": {"outline_color": None},
    "6": {"mask_color": None, "outline_color": "pink"},
    "7": {"mask_color": None, "outline_thickness": 5},
    "8": {"mask_color": None, "outline_color": None},
}
for _name, _kw in _OVERLAYS.items():
    _register(f"mask.test_tissue_mask_saving_overlay{_name}", _overlay("tissue", _kw))


# ---------------------------------------------------------------------- more extractors_test
_DUPLICATED = [
    ((256, 256), (256, 256), "area1"),
    ((256, 256), (256, 256), "area1"),
    ((512, 512), (256, 256), "area1"),
    ((256, 1792), (256, 256), "area2"),
    ((256, 2304), (256, 256), "area2"),
    ((2048, 1024), (256, 256), "area3"),
]


def _count_fail(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    """Two identical locations: fewer files than patches (the reference raises OSError)."""
    mock = ns.PatchesMock(
        patch_data=_DUPLICATED, wsi_file=p["board1"], level_or_mpp=0, check_location=False
    )
    return _disk(ns, mock, out, create_subdirs=True)


_register("extractors.test_patch_file_count_fail", _count_fail)


def _patchsets(*, subdirs: bool, counter: int | str | None, same_slide: bool = False) -> Case:
    """The reference's patch-set tests on two slides (boards for its JP2K and TUPAC SVS)."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        fresh_counter = getattr(ns, "fresh_multires_counter", None)
        if fresh_counter is not None:
            fresh_counter()
        slides = [p["board1"], p["board1"]] if same_slide else [p["board1"], p["board2"]]
        extractor = None
        extra = {} if counter == "default" else {"global_counter": counter}
        for wsi in slides:
            mock = ns.PatchesMock(
                patch_data=_DUPLICATED, wsi_file=wsi, level_or_mpp=0, check_location=False
            )
            extractor = ns.MultiResDiskPatchExtractor(
                patches=mock,
                output_dir=str(out),
                num_workers=1,
                levels_or_mpps=[0, 1],
                image_type="png",
                filename_comment="",
                create_subdirs=subdirs,
                **extra,
            )
        assert extractor is not None
        folders = sorted(
            str(d.relative_to(out)) for d in out.rglob("*") if d.is_dir() and "set" in d.name
        )
        return {
            "folders": folders,
            "labels": [str(label) for label in extractor.patch_labels],
            "patchset_counter": int(extractor.patchset_counter),
        }

    return case


_register(
    "extractors.test_multires_global_counter_none_subdirs", _patchsets(subdirs=True, counter=None)
)
_register(
    "extractors.test_multires_global_counter_none_no_subdirs",
    _patchsets(subdirs=False, counter=None),
)
_register(
    "extractors.test_multires_global_counter_defaulf", _patchsets(subdirs=False, counter="default")
)
_register(
    "extractors.test_multires_global_counter_custom_50", _patchsets(subdirs=False, counter=50)
)
_register(
    "extractors.test_multires_two_identical_ids",
    _patchsets(subdirs=True, counter=None, same_slide=True),
)


def _empty_grid(ns: SimpleNamespace, p: dict[str, str], wsi: str | None = None) -> Any:
    """The reference's chunk-size tests: a grid on a mask without tissue."""
    return ns.WholeImageGridPatches(
        wsi_file=wsi or p["board1"],
        mask_data=p["empty_mask"],
        patch_size=256,
        level_or_mpp=0,
        patch_stride=1,
        foreground_ratio=0.5,
        overlap_ratio=1,
        weak_label="",
    )


_EXTRACTOR_NUMBERS = {
    "DiskPatchExtractor": 1,
    "MultiResDiskPatchExtractor": 2,
    "MemPatchExtractor": 3,
    "MultiResMemPatchExtractor": 4,
}
_POOL_NUMBERS = {
    "MemPatchExtractorPool": 1,
    "MultiResMemPatchExtractorPool": 2,
    "DiskPatchExtractorPool": 3,
    "MultiResDiskPatchExtractorPool": 4,
}


def _chunksize(class_name: str, value: int | None) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        args: dict[str, Any] = {
            "patches": _empty_grid(ns, p),
            "num_workers": 2,
            "mp_chunksize": value,
        }
        if "Disk" in class_name:
            args.update(
                output_dir=str(out),
                image_type="tif",
                filename_comment="testcomment",
                filename_separator="__",
            )
        if "MultiRes" in class_name:
            args["levels_or_mpps"] = [0, 1]
        extractor = getattr(ns, class_name)(**args)
        return {"count": int(extractor.patch_count)}

    return case


for _cls in (
    "DiskPatchExtractor",
    "MultiResDiskPatchExtractor",
    "MemPatchExtractor",
    "MultiResMemPatchExtractor",
):
    _number = _EXTRACTOR_NUMBERS[_cls]
    _register(
        f"extractors.TestDiskMemExtractorsChunksize.test_class{_number}a_chunksize_int",
        _chunksize(_cls, 2),
    )
    _register(
        f"extractors.TestDiskMemExtractorsChunksize.test_class{_number}b_chunksize_none",
        _chunksize(_cls, None),
    )


# ---------------------------------------------------------------------- more extractors_pool_test
def _pool_chunksize(class_name: str, thread: int | None, proc: int | None) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        args: dict[str, Any] = {
            "patches_pool": _level2_grids(ns, p),
            "thread_num_workers": 1,
            "proc_num_workers": 1,
            "thread_mp_chunksize": thread,
            "proc_mp_chunksize": proc,
        }
        if "Disk" in class_name:
            args.update(
                output_dir=str(out),
                image_type="tif",
                filename_comment="dext",
                filename_separator="___",
            )
        if "MultiRes" in class_name:
            args["levels_or_mpps"] = [2, 1]
        if class_name == "MultiResDiskPatchExtractorPool":
            args["global_counter"] = 1
            ns.MultiResDiskPatchExtractorPool.reset_global_counter()
        pool = getattr(ns, class_name)(**args)
        return {"count": int(pool.patch_count)}

    return case


for _cls in (
    "MemPatchExtractorPool",
    "MultiResMemPatchExtractorPool",
    "DiskPatchExtractorPool",
    "MultiResDiskPatchExtractorPool",
):
    for _tag, (_thread, _proc) in {
        "a": (1, 2),
        "b": (1, None),
        "c": (2, 1),
        "d": (None, 1),
    }.items():
        _kind = "none" if None in (_thread, _proc) else "int"
        _register(
            f"extractors_pool.TestDiskMemExtractorPoolsChunksize."
            f"test_class{_POOL_NUMBERS[_cls]}{_tag}_chunksize_{_kind}",
            _pool_chunksize(_cls, _thread, _proc),
        )


def _resampled_pool(class_name: str, mode: str | None) -> Case:
    """The reference's pool resampling tests: MPP reads on the 0.25 µm/px boards."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        multires = "MultiRes" in class_name
        grids = [
            ns.WholeImageGridPatches(
                wsi_file=wsi,
                mask_data=p["board_mask" if multires else "inner_mask"],
                patch_size=128 if multires else 256,
                level_or_mpp=2 if multires else 0.3,
                patch_stride=1,
                foreground_ratio=0.5,
                overlap_ratio=1,
                weak_label=label,
            )
            for wsi, label in zip(_boards(p)[:2], _COLORS, strict=False)
        ]
        args: dict[str, Any] = {
            "patches_pool": grids,
            "thread_num_workers": 2,
            "proc_num_workers": 2,
        }
        if mode is not None:
            args["resampling_mode"] = mode
        if "Disk" in class_name:
            args.update(output_dir=str(out), image_type="tif", create_subdirs=True)
        if multires:
            args["levels_or_mpps"] = [2, 0.6, 0.4]
        if class_name == "MultiResDiskPatchExtractorPool":
            args["global_counter"] = 1
            ns.MultiResDiskPatchExtractorPool.reset_global_counter()
        pool = getattr(ns, class_name)(**args)
        result: dict[str, Any] = {"count": int(pool.patch_count)}
        if "Disk" in class_name:
            tree = _tree(out, [i for i in pool.manifest_ids if i])
            result["files"] = sorted(k for k in tree["files"] if not k.startswith("manifests"))
        return result

    return case


for _cls in (
    "MemPatchExtractorPool",
    "MultiResMemPatchExtractorPool",
    "DiskPatchExtractorPool",
    "MultiResDiskPatchExtractorPool",
):
    for _mode in ("wsi", "tile", None):
        _register(
            f"extractors_pool.{_cls}.test_pool_extractor_{_mode or 'default'}_downsampling",
            _resampled_pool(_cls, _mode),
        )


# ---------------------------------------------------------------------- locations_test previews
# The reference drew these with a private mock that placed fixed patches; here the public
# PolygonRegionCustomPatches places level-0 points that lie inside the same polygons.
def _preview_polygons(ns: SimpleNamespace) -> list[Any]:
    return [
        ns.AnnotationPolygon(
            points=[(20, 20), (20, 250), (250, 250), (250, 20)],
            label="area1",
            holes=[
                [(150, 150), (150, 230), (230, 230), (230, 150)],
                [(40, 170), (40, 220), (80, 220), (80, 170)],
            ],
        ),
        ns.AnnotationPolygon(
            points=[(300, 350), (300, 700), (620, 700)],
            label="area2",
            holes=[[(330, 500), (330, 550), (390, 550), (390, 500)]],
        ),
        ns.AnnotationPolygon(
            points=[(300, 40), (320, 190), (450, 240), (540, 40)], label="area3", holes=[]
        ),
    ]


def _squares(ns: SimpleNamespace) -> list[Any]:
    labels = ["area1", "", "area2", "area3"]
    return [
        ns.AnnotationPolygon(
            points=[(x, y), (x, y + 80), (x + 80, y + 80), (x + 80, y)], label=labels[row]
        )
        for row, y in enumerate((20, 220, 420, 620))
        for x in (20, 220, 420)
    ]


def _preview_case(
    kwargs: dict[str, Any],
    *,
    squares: bool = False,
    shapes: list[tuple[list[tuple[int, int]], list[list[tuple[int, int]]]]] | None = None,
    points: list[tuple[int, int]] | None = None,
    location_args: dict[str, Any] | None = None,
) -> Case:
    """A preview of custom-point patches: the three-region layout (default), the reference's
    twelve labelled squares (``squares``) or ``shapes`` (points, holes) labelled "label1"."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        from PIL import Image

        if shapes is not None:
            polygons = [
                ns.AnnotationPolygon(points=pts, label="label1", holes=holes)
                for pts, holes in shapes
            ]
        else:
            polygons = _squares(ns) if squares else _preview_polygons(ns)
        default_points = [] if squares else [(30, 30), (100, 30), (310, 560), (330, 50)]
        args: dict[str, Any] = {
            "patch_size": 128,
            "level_or_mpp": 0,
            "foreground_ratio": 0.8,
            "overlap_ratio": 0.8,
            "polygon_buffer": 0 if squares else 8,
            "mask_data": p["level1_mask"],
        }
        args.update(location_args or {})
        if args["mask_data"] in p:
            args["mask_data"] = p[args["mask_data"]]
        patches = ns.PolygonRegionCustomPatches(
            polygon_data=polygons,
            points=default_points if points is None else points,
            wsi_file=p["board1"],
            **args,
        )
        patches.save_preview_image(str(out / "preview.tif"), **kwargs)
        with Image.open(out / "preview.tif") as image:
            array = np.asarray(image.convert("RGB"))
        return {
            **_summary(patches),
            "size": [array.shape[1], array.shape[0]],
            "pixels": _digest(array),
            "drawn": _drawn_blocks(array),
        }

    return case


#: The preview's default colours (Pillow / matplotlib names agree on these).
PREVIEW_COLOURS = {
    "red": (255, 0, 0),
    "lime": (0, 255, 0),
    "blue": (0, 0, 255),
    "teal": (0, 128, 128),
    "black": (0, 0, 0),
}
DRAWN_BLOCK = 16


def _drawn_blocks(array: Any) -> dict[str, str]:
    """Per colour, which 16 x 16 blocks of the preview hold a pixel of exactly that colour
    (row-major bits as hex): where each element is drawn, whatever the line rasteriser."""
    h, w = array.shape[:2]
    bh, bw = -(-h // DRAWN_BLOCK), -(-w // DRAWN_BLOCK)
    found: dict[str, str] = {}
    for name, rgb in PREVIEW_COLOURS.items():
        hit = np.all(array == np.asarray(rgb, dtype=array.dtype), axis=2)
        if not hit.any():
            continue
        padded = np.zeros((bh * DRAWN_BLOCK, bw * DRAWN_BLOCK), dtype=bool)
        padded[:h, :w] = hit
        blocks = padded.reshape(bh, DRAWN_BLOCK, bw, DRAWN_BLOCK).any(axis=(1, 3))
        found[name] = np.packbits(blocks.ravel()).tobytes().hex()
    return found


_PREVIEWS: dict[str, dict[str, Any]] = {
    "test_save_preview_image_without_level_defined": {"patch_markers": True},
    "test_save_preview_image_with_level_is_mask": {"patch_markers": True, "level_or_minsize": 1},
    "test_save_preview_image_with_level_zero": {"patch_markers": True, "level_or_minsize": 0},
    "test_save_preview_image_with_level_two": {
        "patch_markers": True,
        "thickness": 1,
        "level_or_minsize": 2,
    },
    "test_save_preview_image_with_level_from_size": {"level_or_minsize": 500},
    "test_preview_all_drawn_listed": {
        "patch_markers": True,
        "drawn_labels": ["area1", "area2", "area3"],
    },
    "test_preview_area1": {"patch_markers": True, "drawn_labels": ["area1"]},
    "test_preview_area1_and_area3": {"patch_markers": True, "drawn_labels": ["area1", "area3"]},
    "test_preview_area_not_found": {"patch_markers": True, "drawn_labels": ["area66"]},
    "test_preview_drawn_patches_area1": {"patch_markers": True, "drawn_patches_labels": ["area1"]},
    "test_preview_drawn_patches_override": {
        "patch_markers": True,
        "drawn_labels": ["area1"],
        "drawn_patches_labels": ["area2", "area3"],
    },
    "test_preview_drawn_patches_not_found": {
        "patch_markers": True,
        "drawn_patches_labels": ["area66"],
    },
    "test_save_images_without_all_colors.patches": {
        "bbox_color": None,
        "polygon_color": None,
        "buffer_color": None,
    },
    "test_save_images_without_all_colors.polygons": {
        "patch_color": None,
        "bbox_color": None,
        "buffer_color": None,
    },
}
for _name, _kw in _PREVIEWS.items():
    _register(f"locations.{_name}", _preview_case(_kw))
for _name, _kw in {
    "test_preview_multi_all": {},
    "test_preview_multi_area1": {"drawn_labels": ["area1"]},
    "test_preview_multi_area_empty": {"drawn_labels": [""]},
}.items():
    _register(f"locations.{_name}", _preview_case(_kw, squares=True))


# ---------------------------------------------------------------------- multi-resolution variants
def _multires_variant(
    kind: str,
    *,
    level_or_mpp: float,
    levels: list[float],
    mode: str | None,
    labels: dict[str, Any] | None = None,
) -> Case:
    """Resampled levels: sizes, labels and file names are compared, not pixels."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        patches = _region_grid(
            ns,
            p,
            level_or_mpp=level_or_mpp,
            patch_stride=1,  # the reference's [1, 0.5, 0.5], coarser to keep the test fast
            foreground_ratio=1,
            overlap_ratio=1,
        )
        extra: dict[str, Any] = dict(labels or {})
        if mode is not None:
            extra["resampling_mode"] = mode
        if kind == "mem":
            extractor = ns.MultiResMemPatchExtractor(
                patches=patches, levels_or_mpps=levels, num_workers=2, **extra
            )
            stream = sorted(
                [[_size(image), str(label)] for image, label in patch_tuple]
                for patch_tuple in extractor.patch_stream
            )
            return {"count": int(extractor.patch_count), "stream": stream}
        fresh_counter = getattr(ns, "fresh_multires_counter", None)
        if fresh_counter is not None:
            fresh_counter()
        extractor = ns.MultiResDiskPatchExtractor(
            patches=patches,
            levels_or_mpps=levels,
            output_dir=str(out),
            num_workers=2,
            image_type="tif",
            create_subdirs=True,
            global_counter=1,
            **extra,
        )
        tree = _tree(out, [extractor.manifest_id])
        files = sorted(k for k in tree["files"] if not k.startswith("manifests"))
        return {"count": int(extractor.patch_count), "files": files}

    return case


_MPPS = [0.3, 0.4, 0.6, 0.7, 0.8]
_MULTIRES_VARIANTS: dict[str, dict[str, Any]] = {
    "test_patch_stream_order_and_scaling": {
        "level_or_mpp": 0,
        "levels": [0, 0.5, 0.75, 1, 1.25],
        "mode": "wsi",
    },
    "test_patch_stream_saved_wsi_downsampling": {"level_or_mpp": 0, "levels": _MPPS, "mode": "wsi"},
    "test_patch_stream_tile_downsampling": {"level_or_mpp": 0, "levels": _MPPS, "mode": "tile"},
    "test_patch_stream_default_downsampling": {"level_or_mpp": 0, "levels": _MPPS, "mode": None},
    "test_patch_stream_order_and_scale_reversed": {
        "level_or_mpp": 1,
        "levels": [1.0, 0.8, 0.75, 0.6, 0.5, 0.4, 0.3, 0.25],
        "mode": "wsi",
    },
    "test_included_labels": {
        "level_or_mpp": 0,
        "levels": [0.28, 0.30, 0.32],
        "mode": "tile",
        "labels": {"included_labels": ["area2"]},
    },
    "test_excluded_labels": {
        "level_or_mpp": 0,
        "levels": [0.28, 0.30, 0.32],
        "mode": "tile",
        "labels": {"excluded_labels": ["area1", "area3"]},
    },
}
for _name, _kw in _MULTIRES_VARIANTS.items():
    _register(f"extractors.MultiResMemPatchExtractor.{_name}", _multires_variant("mem", **_kw))
for _name, _kw in {
    "test_wsi_downsampling": {"level_or_mpp": 0, "levels": _MPPS, "mode": "wsi"},
    "test_tile_downsampling": {"level_or_mpp": 0, "levels": _MPPS, "mode": "tile"},
    "test_default_downsampling": {"level_or_mpp": 0, "levels": _MPPS, "mode": None},
    "test_included_labels": _MULTIRES_VARIANTS["test_included_labels"],
    "test_excluded_labels": _MULTIRES_VARIANTS["test_excluded_labels"],
}.items():
    _register(f"extractors.MultiResDiskPatchExtractor.{_name}", _multires_variant("disk", **_kw))

# remaining preview variants of the reference's locations_test
for _name, _kw in {
    "test_preview_all_drawn_default": {"patch_markers": True},
    "test_preview_area2": {"patch_markers": True, "drawn_labels": ["area2"]},
    "test_preview_area3": {"patch_markers": True, "drawn_labels": ["area3"]},
    "test_preview_drawn_patches_nofilters": {
        "patch_markers": True,
        "drawn_labels": [],
        "drawn_patches_labels": [],
    },
    "test_preview_drawn_patches_area1_area3": {
        "patch_markers": True,
        "drawn_labels": [],
        "drawn_patches_labels": ["area1", "area3"],
    },
    "test_save_images_without_all_colors.bboxes": {
        "patch_color": None,
        "polygon_color": None,
        "buffer_color": None,
    },
    "test_save_images_without_all_colors.buffers": {
        "patch_color": None,
        "bbox_color": None,
        "polygon_color": None,
    },
}.items():
    _register(f"locations.{_name}", _preview_case(_kw))
for _name, _kw in {
    "test_preview_multi_area2": {"drawn_labels": ["area2"]},
    "test_preview_multi_area3": {"drawn_labels": ["area3"]},
}.items():
    _register(f"locations.{_name}", _preview_case(_kw, squares=True))


# remaining custom-point pools of the reference's locations_pool_test
_IN1, _IN2 = [(10, 10), (20, 20)], [(300, 300), (500, 500)]
_register(
    "locations_pool.test_pool_custom_whole_image_inverted3",
    _custom_case("WholeImageInvertedCustomPatchesPool", [_IN1, _IN2, _IN1], polygons=[_SQUARE]),
)
_register(
    "locations_pool.test_pool_custom_whole_image_inverted4",
    _custom_case(
        "WholeImageInvertedCustomPatchesPool",
        [_IN1, _IN2, _IN2],
        polygons=[_SQUARE],
        weak_label="abc",
    ),
)
_TWO_AREAS = [
    ([(200, 200), (200, 1400), (1400, 1400), (1400, 200)], "area1"),
    ([(400, 400), (400, 1800), (1500, 1800), (1500, 400)], "area2"),
]
_register(
    "locations_pool.test_pool_custom_polygons2",
    _custom_case(
        "PolygonRegionCustomPatchesPool", [_P1, _P2, _P1], polygons=_TWO_AREAS, empty_png_at=(0,)
    ),
)
_register(
    "locations_pool.test_pool_custom_polygons3",
    _custom_case(
        "PolygonRegionCustomPatchesPool",
        [[(200, 200)], [(1400, 1400)], [(200, 200)]],
        polygons=[(_TWO_AREAS[0][0], "area10"), (_TWO_AREAS[1][0], "area20")],
    ),
)
_SMALL_AREAS = [
    [(200, 200), (200, 500), (500, 500), (500, 200)],
    [(1000, 1000), (1000, 1500), (1500, 1500), (1500, 1000)],
]
_register(
    "locations_pool.test_pool_custom_polygons4",
    _custom_case(
        "PolygonRegionCustomPatchesPool",
        [[(200, 200)], [(1000, 1000)], [(200, 200)]],
        polygons=[(_SMALL_AREAS[0], "area100"), (_SMALL_AREAS[1], "area200")],
    ),
)
_register(
    "locations_pool.test_pool_custom_polygons5",
    _custom_case(
        "PolygonRegionCustomPatchesPool",
        [[(200, 200), (1000, 1000)], [(1000, 1000), (200, 200)], [(200, 200), (1000, 1000)]],
        polygons=[(_SMALL_AREAS[0], "area1000"), (_SMALL_AREAS[1], "area2000")],
    ),
)


def _pool_preview_custom(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    from PIL import Image

    ns.WholeImageRandomPatchesPool(
        wsi_file_list=_boards(p),
        mask_data_list=[p["board_mask"]] * BOARDS,
        patches_args={**_BASE, "overlap_ratio": 0.9, "num_patches": 12, "weak_label": "label1"},
        proc_num_workers=2,
        mp_chunksize=1,
        save_preview_image_args={
            "image_file": str(out / "_preview.tif"),
            "level_or_minsize": 1,
            "thickness": 1,
        },
    )
    sizes = {}
    for path in sorted(out.iterdir()):
        with Image.open(path) as image:
            sizes[path.name] = list(image.size)
    return {"previews": sizes}


def _pool_preview_wrong(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    pool = ns.WholeImageRandomPatchesPool(
        wsi_file_list=_boards(p),
        mask_data_list=[p["board_mask"]] * BOARDS,
        patches_args={**_BASE, "overlap_ratio": 0.9, "num_patches": 12, "weak_label": "label1"},
        proc_num_workers=2,
        mp_chunksize=1,
        save_preview_image_args={
            "image_file": str(out / "_preview.tif"),
            "level_or_PINK": 1,
            "thickness": 1,
        },
    )
    return {"count": int(pool.patch_count)}


_register("locations_pool.test_preview_present_custom", _pool_preview_custom)
_register("locations_pool.test_preview_wrong_arg", _pool_preview_wrong)


def _pool_chunks(chunksize: int) -> Case:
    """The reference counted distinct worker pids (4 workers, 8 slides); with 3 slides and
    2 workers the count is compared, and that every slide was computed."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        pool = ns.WholeImageRandomPatchesPool(
            wsi_file_list=_boards(p),
            mask_data_list=[p["board_mask"]] * BOARDS,
            patches_args={**_BASE, "overlap_ratio": 0.9, "num_patches": 30, "weak_label": "label1"},
            proc_num_workers=2,
            mp_chunksize=chunksize,
        )
        return {"count": int(pool.patch_count), "pids": len(pool.pids)}

    return case


for _index, _chunk in enumerate((1, 2, 4, 8, 3), start=1):
    _register(f"locations_pool.test_chunksize{_index}", _pool_chunks(_chunk))


def _three_kinds(ns: SimpleNamespace, p: dict[str, str]) -> list[Any]:
    common = {
        "wsi_file": p["board1"],
        "mask_data": p["inner_mask"],
        "level_or_mpp": 0,
        "patch_size": 256,
    }
    return [
        ns.WholeImageGridPatches(
            **common, patch_stride=2, foreground_ratio=0.88, overlap_ratio=0.77, weak_label="label1"
        ),
        ns.WholeImageRandomPatches(
            **common, num_patches=10, foreground_ratio=0.8, overlap_ratio=0.8, weak_label="label2"
        ),
        ns.WholeImagePoissonDiskPatches(
            **common,
            poisson_spacing=20,
            foreground_ratio=0.2,
            overlap_ratio=0.8,
            weak_label="label3",
        ),
    ]


def _three_kinds_case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    """Grid, random and Poisson-disk locations (and mocks of them) in disk and memory pools:
    one manifest per slide naming its class, and the same counts on disk and in memory."""
    kinds = _three_kinds(ns, p)
    mocks = [
        ns.PatchesMock(patch_data=k.patch_data, wsi_file=k.wsi_file, level_or_mpp=k.level_or_mpp)
        for k in kinds
    ]
    result: dict[str, Any] = {}
    for tag, patches_pool in (
        ("classes", kinds),
        ("mocks", mocks),
        ("one_mock", [mocks[0], *kinds[1:]]),
    ):
        folder = out / tag
        folder.mkdir()
        disk = ns.DiskPatchExtractorPool(
            patches_pool=patches_pool,
            output_dir=str(folder),
            image_type="png",
            thread_num_workers=2,
            proc_num_workers=1,
            create_subdirs=True,
        )
        mem = ns.MemPatchExtractorPool(
            patches_pool=patches_pool, thread_num_workers=2, proc_num_workers=1
        )
        names = []
        for manifest_id in disk.manifest_ids:
            (manifest,) = [f for f in folder.rglob(f"*{manifest_id}*.txt")]
            line = next(
                x for x in manifest.read_text().splitlines() if x.startswith("Patch class:")
            )
            names.append(line.split(":", 1)[1].strip())
        result[tag] = {
            "ids": len(set(disk.manifest_ids)),
            "id_lengths": [len(i) for i in disk.manifest_ids],
            "manifest_classes": names,
            "disk_equals_memory": disk.patch_count == mem.patch_count == len(mem.patch_list),
        }
    return result


_register(
    "extractors_pool.test_three_patches_classes_manifest_files.test_three_patches_classes_"
    "patch_count.test_three_patches_classes_patch_count_with_two_mocks.test_three_patches_"
    "classes_patch_count_with_one_mock",
    _three_kinds_case,
)


# the reference's buffer, hole and marker previews (its private mock's fixed patches are
# replaced by points inside larger squares where a patch must be drawn)
_SQ100 = [(100, 100), (100, 200), (200, 200), (200, 100)]
_MULTI = (
    [(260, 90), (140, 320), (370, 370), (60, 60), (80, 220)],
    [
        [(205, 275), (205, 320), (255, 320), (255, 275)],
        [(90, 140), (90, 170), (120, 170), (120, 140)],
    ],
)
_LEVEL1 = {"patch_size": 256, "level_or_mpp": 1}
_register(
    "locations.test_save_preview_image_with_polygon_buffer1",
    _preview_case(
        {}, shapes=[(_SQ100, [])], points=[], location_args={**_LEVEL1, "polygon_buffer": -20}
    ),
)
for _tag, _buffer in (("positive", 5), ("negative", -5)):
    _register(
        f"locations.test_save_preview_image_with_polygon_buffer2.{_tag}",
        _preview_case(
            {}, shapes=[_MULTI], points=[], location_args={**_LEVEL1, "polygon_buffer": _buffer}
        ),
    )
_register(
    "locations.test_save_preview_image_with_holes",
    _preview_case(
        {"patch_markers": True},
        shapes=[
            (
                _SQ100,
                [
                    [(120, 120), (120, 140), (140, 140), (140, 120)],
                    [(160, 160), (160, 180), (180, 180), (180, 160)],
                ],
            )
        ],
        points=[],
        location_args={**_LEVEL1, "polygon_buffer": 0, "check_polygons": False},
    ),
)
_register(
    "locations.test_save_preview_image_with_patch_markers1",
    _preview_case(
        {"patch_markers": True},
        shapes=[([(100, 100), (100, 1300), (1300, 1300), (1300, 100)], [])],
        points=[(150, 150)],
        location_args={**_LEVEL1, "polygon_buffer": 0},
    ),
)
_register(
    "locations.test_save_preview_image_with_patch_markers2",
    _preview_case(
        {"patch_markers": True},
        shapes=[([(25, 25), (25, 400), (400, 400), (400, 25)], [])],
        points=[(50, 50)],
        location_args={"patch_size": 256, "polygon_buffer": 0, "mask_data": "board_mask"},
    ),
)
_register("locations.test_preview_drawn_patches_default", _preview_case({"patch_markers": True}))


# ---------------------------------------------------------------------- remaining extractor cases
def _manifest_case(kind: str, **location: Any) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        make = _grid if kind == "grid" else _region_grid
        patches = make(ns, p, mask_data=p["inner_mask"], polygon_buffer=0, **location)
        extractor = ns.DiskPatchExtractor(
            patches=patches,
            output_dir=str(out),
            num_workers=2,
            image_type="tif",
            create_subdirs=True,
        )
        return {
            "manifest": _manifest_lines(out, extractor.manifest_id, os.path.dirname(p["board1"]))
        }

    return case


_register(
    "extractors.test_manifest_file3",
    _manifest_case("grid", foreground_ratio=0.84, overlap_ratio=0.74, weak_label="ABC"),
)


def _relabelled(ns: SimpleNamespace) -> list[Any]:
    return [
        ns.AnnotationPolygon(points=list(poly.points), label=label)
        for poly, label in zip(_board_polygons(ns), ["area4", "area5", "area6"], strict=True)
    ]


def _manifest4(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    return _manifest_case(
        "region",
        polygon_data=_relabelled(ns),
        patch_stride=[1, 0.5, 0.5],
        foreground_ratio=0.81,
        overlap_ratio=0.61,
    )(ns, p, out)


_register("extractors.test_manifest_file4", _manifest4)


def _inference(multires: bool) -> Case:
    """inference_mode adds the patch index to each item; images are PIL in the reference,
    numpy in slidepatch (README), so only lengths, labels and indices are compared."""

    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        poly = ns.AnnotationPolygon(
            points=[(128, 1280), (128, 2816), (1600, 2816)], label="area1" if multires else "area2"
        )
        patches = _region_grid(
            ns, p, polygon_data=[poly], patch_stride=[0.5], foreground_ratio=1, overlap_ratio=1
        )
        if multires:
            extractor = ns.MultiResMemPatchExtractor(
                patches=patches, num_workers=2, levels_or_mpps=[0], inference_mode=True
            )
            items = [
                [len(group), [[len(i), str(i[1]), int(i[2])] for i in group]]
                for group in extractor.patch_stream
            ]
        else:
            extractor = ns.MemPatchExtractor(patches=patches, num_workers=2, inference_mode=True)
            items = [[len(i), str(i[1]), int(i[2])] for i in extractor.patch_stream]
        return {"items": sorted(items)}

    return case


_register("extractors.MemPatchExtractor.test_patch_stream_inference", _inference(False))
_register(
    "extractors.MultiResMemPatchExtractor.test_patch_stream_no_downsampling_inference",
    _inference(True),
)


def _multires_pool_sets(*, counter: int | None, patch_size: int, levels: list[int]) -> Case:
    def case(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
        grids = [
            ns.WholeImageGridPatches(
                wsi_file=wsi,
                mask_data=p["board_mask"],
                patch_size=patch_size,
                level_or_mpp=2,
                patch_stride=1,
                foreground_ratio=0.5,
                overlap_ratio=1,
                weak_label=label,
            )
            for wsi, label in zip(_boards(p), _COLORS, strict=True)
        ]
        ns.MultiResDiskPatchExtractorPool.remove_global_counter()
        pool = ns.MultiResDiskPatchExtractorPool(
            patches_pool=grids,
            output_dir=str(out),
            levels_or_mpps=levels,
            image_type="tif",
            thread_num_workers=2,
            proc_num_workers=2,
            create_subdirs=False,
            global_counter=counter,
        )
        sets = sorted(
            str(d.relative_to(out)) for d in out.iterdir() if d.is_dir() and "set" in d.name
        )
        return {
            "count": int(pool.patch_count),
            "patchset_count": int(pool.patchset_count),
            "sets": sets,
        }

    return case


_register(
    "extractors_pool.MultiResDiskPatchExtractorPool."
    "test_pool_extractor_2proc_2thread_no_subdirs_no_counter",
    _multires_pool_sets(counter=None, patch_size=128, levels=[2, 1, 0]),
)
_register(
    "extractors_pool.MultiResDiskPatchExtractorPool.test_pool_extractor_8proc_1thread_no_subdirs_many_sets",
    _multires_pool_sets(counter=400004, patch_size=64, levels=[2, 1]),
)


# ---------------------------------------------------------------------- locations_test properties
def _properties(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    """The reference's properties test, with custom points in place of its private mock."""
    polygons = [
        ns.AnnotationPolygon(
            points=[(100, 100), (150, 900), (900, 800), (800, 100)], label="label1"
        ),
        ns.AnnotationPolygon(
            points=[(1400, 1400), (1450, 2600), (2400, 2600), (2400, 1500)], label="label2"
        ),
    ]
    patches = ns.PolygonRegionCustomPatches(
        polygon_data=polygons,
        points=[(200, 200), (400, 400), (1600, 1700), (1900, 2000)],
        wsi_file=p["board1"],
        mask_data=p["level1_mask"],
        patch_size=128,
        level_or_mpp=0,
        foreground_ratio=0.8,
        overlap_ratio=0.8,
    )
    params = dict(patches.param_info)
    params.pop("polygon_data")
    params["wsi_file"] = os.path.basename(str(params["wsi_file"]))
    params["mask_data"] = os.path.basename(str(params["mask_data"]))
    return {
        **_summary(patches),
        "data": [[x, y, w, h, lab] for (x, y), (w, h), lab in patches.patch_data],
        "mask_level": [
            [round(x, 6), round(y, 6), round(w, 6), round(h, 6), lab]
            for (x, y), (w, h), lab in patches.patch_data_mask_level
        ],
        "params": params,
        "level_or_mpp": patches.level_or_mpp,
        "polygons": [
            [list(map(float, c)) for c in poly.exterior.coords] for poly in patches.shapely_polygons
        ],
        "polygon_labels": list(patches.polygon_labels),
    }


def _three_labels(ns: SimpleNamespace, p: dict[str, str], out: Path) -> dict[str, Any]:
    """Seven overlapping regions with three labels: each point is kept once per label."""
    square = [(100, 100), (100, 1100), (1100, 1100), (1100, 100)]
    labels = ["label3", "label1", "label2", "label1", "label2", "label3", "label1"]
    patches = ns.PolygonRegionCustomPatches(
        polygon_data=[ns.AnnotationPolygon(points=square, label=lab) for lab in labels],
        points=[(200, 200), (400, 400), (600, 600), (800, 800)],
        wsi_file=p["board1"],
        mask_data=p["level1_mask"],
        patch_size=128,
        level_or_mpp=0,
        foreground_ratio=0.8,
        overlap_ratio=0.8,
        check_polygons=False,
    )
    return {**_summary(patches), "polygon_labels": list(patches.polygon_labels)}


_register("locations.test_properties_and_save_images", _properties)
_register("locations.test_three_labels", _three_labels)


# the reference's 4-process, 1-thread pool tests (its 4 boards on 4 processes)
for _pool_name, _pool_case_fn in (
    ("MemPatchExtractorPool", _mem_pool),
    ("MultiResMemPatchExtractorPool", _multires_mem_pool),
    ("MultiResDiskPatchExtractorPool", _multires_disk_pool),
):
    _register(
        f"extractors_pool.{_pool_name}.test_pool_extractor_4proc_1thread",
        lambda ns, p, out, _f=_pool_case_fn: _f(ns, p, out, threads=1, procs=4),
    )
_register(
    "extractors_pool.DiskPatchExtractorPool.test_pool_extractor_4proc_1thread",
    _disk_pool(True, threads=1, procs=4),
)
