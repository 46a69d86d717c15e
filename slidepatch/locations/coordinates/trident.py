"""TRIDENT's patch files: ``<job>/<mag>x_<size>px_<overlap>px_overlap/patches/<slide>_patches.h5``.

One dataset ``coords`` (N, 2) int64 of level-0 top-left corners ((0, 2) for a slide without
patches), resizable along N as TRIDENT writes it, with attributes ``patch_size`` (pixels at the
target magnification), ``patch_size_level0``, ``level0_magnification``,
``target_magnification``, ``overlap``, ``name``, ``savetodir``, ``level0_width`` and
``level0_height``.

TRIDENT names a slide's magnification by bucketing its MPP (anything from 0.2 to 0.3 µm/px
is 40x), so its own files say a 20x patch of 256 px covers 512 level-0 px even on a
0.263 µm/px slide. slidepatch writes the same buckets but the *exact* ``patch_size_level0``
(487 there), which is what its extractors read and what TRIDENT's slide encoders use;
``trident_magnification="exact"`` also writes magnifications as ``10 / MPP`` so that
TRIDENT's own patch reader, which uses the ratio of the two magnifications, reads the exact
area too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from slidepatch.errors import CoordinateFileError
from slidepatch.locations.coordinates import record as rec
from slidepatch.locations.coordinates.geometry import PatchGeometry, SlideGeometry
from slidepatch.locations.coordinates.h5 import coords_h5_bytes, read_coords_h5
from slidepatch.locations.patchset import PatchSet

Magnification = Literal["bucket", "exact"]
STEM_SUFFIX = "_patches"
SUFFIX = f"{STEM_SUFFIX}.h5"
PATCHES_DIR = "patches"
SNAP = 1e-3
"""Magnifications within this relative distance of a whole number are written as one."""

# TRIDENT's MPP -> magnification buckets: (upper MPP bound, magnification).
_BUCKETS = ((0.16, 80), (0.2, 60), (0.3, 40), (0.6, 20), (1.2, 10), (2.4, 5))


def bucket_magnification(mpp: float) -> int:
    """The magnification TRIDENT assigns to a level-0 MPP (0.263 µm/px -> 40)."""
    for bound, magnification in _BUCKETS:
        if mpp < bound:
            return magnification
    raise ValueError(f"MPP {mpp} is coarser than TRIDENT's 5x bucket (2.4 µm/px)")


def _snap(value: float) -> int | float:
    nearest = round(value)
    if nearest > 0 and abs(value - nearest) <= SNAP * value:
        return int(nearest)
    return round(value, 4)


def magnifications(
    slide: SlideGeometry, geo: PatchGeometry, *, mode: Magnification
) -> tuple[int | float, int | float]:
    """``(level0_magnification, target_magnification)`` in TRIDENT's convention."""
    if slide.mpp is None:
        if slide.objective_power is None:
            raise CoordinateFileError(
                slide.path,
                "TRIDENT files need the slide's magnification, but it has neither MPP nor an "
                "objective power; pass slide_mpp= to the location class",
            )
        level0: int | float = _snap(slide.objective_power)
        return level0, _snap(float(level0) / geo.level0_per_pixel)
    if mode == "exact":
        return round(10.0 / slide.mpp, 6), round(10.0 / (slide.mpp * geo.level0_per_pixel), 6)
    try:
        level0 = bucket_magnification(slide.mpp)
    except ValueError as exc:
        raise CoordinateFileError(slide.path, str(exc)) from exc
    if geo.is_native or geo.read_mpp is None:
        return level0, _snap(level0 / geo.level0_per_pixel)
    return level0, _snap(10.0 / geo.read_mpp)


def overlap_px(patch_set: PatchSet, patch_size: int) -> int:
    """Pixels shared by grid neighbours at the target resolution (0 unless a grid overlaps)."""
    stride = patch_set.param_info.get("patch_stride")
    if isinstance(stride, (int, float)) and not isinstance(stride, bool) and 0 < stride < 1:
        return round(patch_size * (1 - float(stride)))
    return 0


def _mag_text(value: int | float) -> str:
    return f"{value:g}"


def default_path(
    job_dir: str, slide: SlideGeometry, target: int | float, patch_size: int, overlap: int
) -> str:
    folder = f"{_mag_text(target)}x_{patch_size}px_{overlap}px_overlap"
    return os.path.join(job_dir, folder, PATCHES_DIR, f"{slide.slide_id}{SUFFIX}")


def attributes(
    patch_set: PatchSet,
    slide: SlideGeometry,
    geo: PatchGeometry,
    *,
    path: str,
    mode: Magnification,
) -> dict[str, Any]:
    level0, target = magnifications(slide, geo, mode=mode)
    parent = Path(path).parent
    savetodir = parent.parent if parent.name == PATCHES_DIR else parent
    attrs: dict[str, Any] = {
        "patch_size": geo.patch_size,
        "patch_size_level0": geo.patch_size_level0,
        "level0_magnification": level0,
        "target_magnification": target,
        "overlap": overlap_px(patch_set, geo.patch_size),
        "name": slide.slide_id,
        "savetodir": str(savetodir),
        "level0_width": slide.dimensions[0],
        "level0_height": slide.dimensions[1],
    }
    attrs.update(rec.extra_keys(patch_set))
    return attrs


def encode(patch_set: PatchSet, attrs: dict[str, Any]) -> bytes:
    """The file's bytes: ``coords`` with its attributes, and slidepatch's ``labels``."""
    return coords_h5_bytes(patch_set, attrs, what="writing TRIDENT coordinates")


def is_trident(attrs: Any) -> bool:
    return "patch_size_level0" in attrs or "level0_magnification" in attrs


def read(path: str) -> rec.CoordinateRecord:
    """A TRIDENT file (or slidepatch's) as a record; its level-0 footprint decides the reading."""
    attrs, coords, labels = read_coords_h5(path, tool="TRIDENT")
    if "patch_size" not in attrs:
        raise CoordinateFileError(path, "the 'coords' dataset has no 'patch_size' attribute")
    size = rec.as_int(attrs["patch_size"], file=path, what="patch_size")
    level_or_mpp, names, slide_mpp = rec.read_extras(attrs.get, file=path)
    ratio: float | None = None
    if level_or_mpp is None:
        if "patch_size_level0" in attrs and size > 0:
            ratio = (
                rec.as_int(attrs["patch_size_level0"], file=path, what="patch_size_level0") / size
            )
        elif "level0_magnification" in attrs and "target_magnification" in attrs:
            src = rec.as_float(
                attrs["level0_magnification"], file=path, what="level0_magnification"
            )
            dst = rec.as_float(
                attrs["target_magnification"], file=path, what="target_magnification"
            )
            if not dst > 0:
                raise CoordinateFileError(path, f"target_magnification must be > 0, got {dst}")
            ratio = src / dst
        else:
            ratio = 1.0
    dims: tuple[tuple[int, tuple[int, int]], ...] = ()
    if "level0_width" in attrs and "level0_height" in attrs:
        dims = (
            (
                0,
                (
                    rec.as_int(attrs["level0_width"], file=path, what="level0_width"),
                    rec.as_int(attrs["level0_height"], file=path, what="level0_height"),
                ),
            ),
        )
    return rec.CoordinateRecord(
        file=path,
        x=coords[:, 0].copy(),
        y=coords[:, 1].copy(),
        size=size,
        level_or_mpp=level_or_mpp,
        level0_ratio=ratio,
        labels=labels,
        label_names=names,
        slide_mpp=slide_mpp,
        dimensions=dims,
    )
