"""hs2p's tiling artifacts: ``<dir>/tiles/<id>.coordinates.npz`` + ``<id>.coordinates.meta.json``.

The NPZ holds ``tile_index`` (0..N-1, int32), ``x`` and ``y`` (level-0 top-left, int64) and
``tissue_fractions`` (float32); hs2p writes no NPZ for a slide without tiles, only the JSON
(with ``n_tiles`` 0). The JSON has exactly the sections ``provenance``, ``slide``,
``tiling``, ``segmentation``, ``filtering`` and ``artifact`` (hs2p rejects unknown keys), so
slidepatch's own keys go into the NPZ. slidepatch computes no tissue fraction per patch:
``tissue_fractions`` is NaN, and the segmentation and filtering settings it did not use are
null. hs2p's optional tile tar and its manifest are not written.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.errors import CoordinateFileError
from slidepatch.locations.coordinates import record as rec
from slidepatch.locations.coordinates.geometry import PatchGeometry, SlideGeometry
from slidepatch.locations.patchset import PatchSet

NPZ_SUFFIX = ".coordinates.npz"
META_SUFFIX = ".coordinates.meta.json"
TILES_DIR = "tiles"
COORDINATE_SPACE = "level0_px"

_SEGMENTATION = (
    "tissue_method", "seg_downsample", "seg_level", "seg_spacing_um", "sthresh",
    "sthresh_up", "mthresh", "close", "mask_path", "ref_tile_size_px",
    "tissue_mask_tissue_value", "mask_level", "mask_spacing_um",
)  # fmt: skip
_FILTERING = (
    "a_t", "a_h", "filter_white", "filter_black", "white_threshold", "black_threshold",
    "fraction_threshold", "filter_grayspace", "grayspace_saturation_threshold",
    "grayspace_fraction_threshold", "filter_blur", "blur_threshold", "qc_spacing_um",
)  # fmt: skip


def default_path(output_dir: str, slide: SlideGeometry) -> str:
    return os.path.join(output_dir, TILES_DIR, f"{slide.slide_id}{NPZ_SUFFIX}")


def meta_path_for(npz_path: str) -> str:
    if not npz_path.endswith(NPZ_SUFFIX):
        raise CoordinateFileError(npz_path, f"hs2p coordinate files end with {NPZ_SUFFIX}")
    return npz_path[: -len(NPZ_SUFFIX)] + META_SUFFIX


def npz_path_for(meta_path: str) -> str:
    return meta_path[: -len(META_SUFFIX)] + NPZ_SUFFIX


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _tile_order(patch_set: PatchSet) -> str:
    keys = np.lexsort((patch_set.y, patch_set.x))
    return "x_then_y" if np.array_equal(keys, np.arange(len(patch_set))) else "as_listed"


def metadata(patch_set: PatchSet, slide: SlideGeometry, geo: PatchGeometry) -> dict[str, Any]:
    """The meta JSON, in hs2p's schema, from the slide's real geometry."""
    if slide.mpp is None:
        raise CoordinateFileError(
            patch_set.slide_path,
            "hs2p files record spacings in µm/px, but the slide has no MPP; pass slide_mpp= "
            "to the location class",
        )
    read_spacing = slide.mpp * slide.level_downsamples[geo.read_level]
    requested_spacing = geo.read_mpp if geo.read_mpp is not None else read_spacing
    read_size = (
        geo.patch_size
        if geo.is_native
        else round(geo.patch_size * geo.level0_per_pixel / slide.level_downsamples[geo.read_level])
    )
    stride = _number(patch_set.param_info.get("patch_stride"))
    params = patch_set.param_info
    mask = params.get("mask_data")
    mask_path = mask if isinstance(mask, str) and os.path.isfile(mask) else None
    segmentation: dict[str, Any] = dict.fromkeys(_SEGMENTATION)
    segmentation["mask_path"] = mask_path
    return {
        "provenance": {
            "sample_id": slide.slide_id,
            "image_path": os.path.abspath(patch_set.slide_path),
            "mask_path": mask_path,
            "backend": f"slidepatch-{slide.backend_name}",
            "requested_backend": patch_set.backend,
        },
        "slide": {
            "dimensions": list(slide.dimensions),
            "base_spacing_um": slide.mpp,
            "level_downsamples": list(slide.level_downsamples),
        },
        "tiling": {
            "requested_tile_size_px": geo.patch_size,
            "requested_spacing_um": requested_spacing,
            "read_level": geo.read_level,
            "read_tile_size_px": read_size,
            "read_spacing_um": read_spacing,
            "tile_size_lv0": geo.patch_size_level0,
            "tolerance": slide.mpp_tolerance,
            "step_px_lv0": None if stride is None else round(stride * geo.patch_size_level0),
            "overlap": None if stride is None else max(0.0, 1.0 - stride),
            "min_tissue_fraction": _number(params.get("foreground_ratio")),
            "is_within_tolerance": geo.is_native,
            "n_tiles": len(patch_set),
        },
        "segmentation": segmentation,
        "filtering": dict.fromkeys(_FILTERING),
        "artifact": {
            "coordinate_space": COORDINATE_SPACE,
            "tile_order": _tile_order(patch_set),
            "annotation": None,
            "selection_strategy": None,
            "output_mode": None,
        },
    }


def encode_npz(patch_set: PatchSet) -> bytes | None:
    """The NPZ's bytes (None for a slide without patches: hs2p writes only the JSON then)."""
    n = len(patch_set)
    if n == 0:
        return None
    extras = rec.extra_keys(patch_set)
    buffer = io.BytesIO()
    arrays: dict[str, npt.NDArray[Any]] = {
        "tile_index": np.arange(n, dtype=np.int32),
        "x": patch_set.x.astype(np.int64),
        "y": patch_set.y.astype(np.int64),
        "tissue_fractions": np.full(n, np.nan, dtype=np.float32),
        rec.LABELS: np.asarray(patch_set.labels, dtype=np.str_),
    }
    arrays.update({key: np.asarray(value) for key, value in extras.items()})
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def encode_meta(meta: dict[str, Any]) -> bytes:
    return (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _load_meta(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except FileNotFoundError as exc:
        raise CoordinateFileError(path, "hs2p metadata file not found") from exc
    except (OSError, ValueError) as exc:
        raise CoordinateFileError(path, f"cannot read hs2p metadata: {exc}") from exc
    for section in ("slide", "tiling"):
        if not isinstance(meta, dict) or not isinstance(meta.get(section), dict):
            raise CoordinateFileError(path, f"hs2p metadata has no {section!r} section")
    checked: dict[str, Any] = meta
    return checked


def read(path: str) -> rec.CoordinateRecord:
    """An hs2p artifact pair, named by its NPZ or its meta JSON."""
    if path.endswith(META_SUFFIX):
        meta_path, npz_path = path, npz_path_for(path)
    else:
        meta_path, npz_path = meta_path_for(path), path
    meta = _load_meta(meta_path)
    tiling = meta["tiling"]
    n_tiles = rec.as_int(tiling.get("n_tiles", -1), file=meta_path, what="tiling.n_tiles")
    level_or_mpp = None
    names: tuple[str, ...] = ()
    slide_mpp = None
    labels = None
    if n_tiles == 0 and not os.path.exists(npz_path):
        x = y = np.zeros(0, np.int64)
    else:
        try:
            data = np.load(npz_path, allow_pickle=False)
        except FileNotFoundError as exc:
            raise CoordinateFileError(
                npz_path, f"missing: {meta_path} says {n_tiles} tiles"
            ) from exc
        except (OSError, ValueError) as exc:
            raise CoordinateFileError(npz_path, f"cannot read the NPZ: {exc}") from exc
        with data:
            for key in ("x", "y"):
                if key not in data:
                    raise CoordinateFileError(npz_path, f"no {key!r} array")
            x = rec.integer_array(np.asarray(data["x"]).reshape(-1), file=npz_path, what="x")
            y = rec.integer_array(np.asarray(data["y"]).reshape(-1), file=npz_path, what="y")
            if x.shape != y.shape:
                raise CoordinateFileError(npz_path, f"x has {x.shape[0]} entries, y {y.shape[0]}")
            if n_tiles >= 0 and n_tiles != x.shape[0]:
                raise CoordinateFileError(
                    npz_path, f"holds {x.shape[0]} tiles but {meta_path} says {n_tiles}"
                )
            if rec.LABELS in data:
                labels = tuple(str(v) for v in data[rec.LABELS])
            files = set(data.files)
            level_or_mpp, names, slide_mpp = rec.read_extras(
                lambda key: data[key] if key in files else None, file=npz_path
            )
    if level_or_mpp is not None:
        size = rec.as_int(
            tiling["requested_tile_size_px"], file=meta_path, what="requested_tile_size_px"
        )
    elif tiling.get("is_within_tolerance"):
        level_or_mpp = rec.as_int(tiling["read_level"], file=meta_path, what="read_level")
        size = rec.as_int(tiling["read_tile_size_px"], file=meta_path, what="read_tile_size_px")
    else:
        level_or_mpp = rec.as_float(
            tiling["requested_spacing_um"], file=meta_path, what="requested_spacing_um"
        )
        size = rec.as_int(
            tiling["requested_tile_size_px"], file=meta_path, what="requested_tile_size_px"
        )
    dims: tuple[tuple[int, tuple[int, int]], ...] = ()
    if meta["slide"].get("dimensions") is not None:
        dims = ((0, rec.as_pair(meta["slide"]["dimensions"], file=meta_path, what="dimensions")),)
    return rec.CoordinateRecord(
        file=npz_path if os.path.exists(npz_path) else meta_path,
        x=x,
        y=y,
        size=size,
        level_or_mpp=level_or_mpp,
        labels=labels,
        label_names=names,
        slide_mpp=slide_mpp,
        dimensions=dims,
    )
