"""CLAM's patch files: ``<dir>/patches/<slide>.h5``.

One dataset ``coords`` (N, 2) of level-0 top-left corners with attributes ``patch_size``
(pixels at ``patch_level``), ``patch_level``, ``downsample`` (the level's (x, y)
downsample), ``downsampled_level_dim`` and ``level_dim`` (the level's (width, height)),
``name`` and ``save_path``. CLAM reads pixels at a pyramid level only, so an MPP that
matches no level of the slide cannot be written as a CLAM file (use TRIDENT, hs2p or CSV).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from slidepatch.errors import CoordinateFileError
from slidepatch.locations.coordinates import record as rec
from slidepatch.locations.coordinates.geometry import PatchGeometry, SlideGeometry
from slidepatch.locations.coordinates.h5 import coords_h5_bytes, read_coords_h5
from slidepatch.locations.patchset import PatchSet

SUFFIX = ".h5"
PATCHES_DIR = "patches"


def default_path(save_dir: str, slide: SlideGeometry) -> str:
    return os.path.join(save_dir, PATCHES_DIR, f"{slide.slide_id}{SUFFIX}")


def attributes(
    patch_set: PatchSet, slide: SlideGeometry, geo: PatchGeometry, *, path: str
) -> dict[str, Any]:
    level = geo.native_level
    if level is None:
        raise CoordinateFileError(
            patch_set.slide_path,
            f"CLAM files read pixels at a pyramid level, and MPP {geo.resolution.value} matches no "
            "level of this slide: save as format='trident', 'hs2p' or 'csv'",
        )
    w0, h0 = slide.dimensions
    wl, hl = slide.level_dimensions[level]
    dims = np.asarray([wl, hl], dtype=np.int64)
    parent = Path(path).parent
    save_path = parent.parent if parent.name == PATCHES_DIR else parent
    attrs: dict[str, Any] = {
        "patch_size": geo.patch_size,
        "patch_level": level,
        "downsample": np.asarray([w0 / wl, h0 / hl], dtype=np.float64),
        "downsampled_level_dim": dims,
        "level_dim": dims,
        "name": slide.slide_id,
        "save_path": str(save_path),
    }
    attrs.update(rec.extra_keys(patch_set))
    return attrs


def encode(patch_set: PatchSet, attrs: dict[str, Any]) -> bytes:
    return coords_h5_bytes(patch_set, attrs, what="writing CLAM coordinates")


def is_clam(attrs: Any) -> bool:
    return "patch_level" in attrs


def read(path: str) -> rec.CoordinateRecord:
    attrs, coords, labels = read_coords_h5(path, tool="CLAM")
    for key in ("patch_size", "patch_level"):
        if key not in attrs:
            raise CoordinateFileError(path, f"the 'coords' dataset has no {key!r} attribute")
    size = rec.as_int(attrs["patch_size"], file=path, what="patch_size")
    level = rec.as_int(attrs["patch_level"], file=path, what="patch_level")
    custom = attrs.get("custom_downsample", 1)
    if rec.as_float(custom, file=path, what="custom_downsample") != 1:
        raise CoordinateFileError(
            path, f"custom_downsample {custom} is not supported: patches must be read 1:1"
        )
    level_or_mpp, names, slide_mpp = rec.read_extras(attrs.get, file=path)
    dims: tuple[tuple[int, tuple[int, int]], ...] = ()
    if "level_dim" in attrs:
        dims = ((level, rec.as_pair(attrs["level_dim"], file=path, what="level_dim")),)
    return rec.CoordinateRecord(
        file=path,
        x=coords[:, 0].copy(),
        y=coords[:, 1].copy(),
        size=size,
        level_or_mpp=level if level_or_mpp is None else level_or_mpp,
        labels=labels,
        label_names=names,
        slide_mpp=slide_mpp,
        dimensions=dims,
    )
