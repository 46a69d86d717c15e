"""Saving and reading coordinate files: format dispatch, the tools' folder layouts, pairing.

``save`` writes one PatchSet to a file path or, given a folder, to the place the tool's own
writer would put it; ``read`` turns one file into a PatchSet for a given slide, after
checking that the file was made for a slide of that size.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from os import PathLike, fspath
from pathlib import Path
from typing import Literal

import numpy as np

from slidepatch.errors import CoordinateFileError
from slidepatch.locations.coordinates import clam, hs2p, table, trident
from slidepatch.locations.coordinates import record as rec
from slidepatch.locations.coordinates.geometry import SlideGeometry, describe, uniform_patch_size
from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.options import ReadOptions, read_options_of
from slidepatch.resolution import Level, resolution_of

CoordinateFormat = Literal["trident", "clam", "hs2p", "csv", "parquet"]
FORMATS: tuple[CoordinateFormat, ...] = ("trident", "clam", "hs2p", "csv", "parquet")
H5_SUFFIXES = (".h5", ".hdf5")


def _check_format(fmt: str) -> CoordinateFormat:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    return fmt  # type: ignore[return-value]


def is_file_target(path: str, fmt: CoordinateFormat) -> bool:
    """True when ``path`` names a file of format ``fmt`` (not a folder to lay files out in)."""
    lower = path.lower()
    if fmt in ("trident", "clam"):
        return lower.endswith(H5_SUFFIXES)
    if fmt == "hs2p":
        if lower.endswith(".npz") and not lower.endswith(hs2p.NPZ_SUFFIX):
            raise CoordinateFileError(
                path, f"hs2p coordinate files are named <id>{hs2p.NPZ_SUFFIX}"
            )
        return lower.endswith(hs2p.NPZ_SUFFIX)
    if fmt == "parquet":
        return lower.endswith(table.PARQUET_SUFFIX)
    return lower.endswith(table.SUFFIX)


def _write(path: str, data: bytes) -> None:
    from slidepatch.extract.atomic_write import write_atomically

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data, exclusive=False)


def save(
    patch_set: PatchSet,
    path_or_dir: str | PathLike[str],
    *,
    format: CoordinateFormat,
    trident_magnification: trident.Magnification = "bucket",
) -> str:
    """Write one slide's coordinates; return the path of the (main) file written (hs2p: the
    NPZ, or the meta JSON alone for a slide without patches)."""
    fmt = _check_format(format)
    target = fspath(path_or_dir)
    as_file = is_file_target(target, fmt)
    if fmt in ("csv", "parquet"):
        slide, geo = describe(patch_set, patch_size=0)
        if fmt == "csv":
            path = target if as_file else table.default_path(target, slide)
            _write(path, table.encode(patch_set, geo.level0_per_pixel))
        else:
            suffix = table.PARQUET_SUFFIX
            path = target if as_file else table.default_path(target, slide, suffix=suffix)
            _write(path, table.encode_parquet(patch_set, geo.level0_per_pixel))
        return path
    size = uniform_patch_size(patch_set, fmt=fmt)
    slide, geo = describe(patch_set, patch_size=size)
    if fmt == "trident":
        if as_file:
            path = target
        else:
            _, target_mag = trident.magnifications(slide, geo, mode=trident_magnification)
            path = trident.default_path(
                target, slide, target_mag, size, trident.overlap_px(patch_set, size)
            )
        attrs = trident.attributes(patch_set, slide, geo, path=path, mode=trident_magnification)
        _write(path, trident.encode(patch_set, attrs))
        return path
    if fmt == "clam":
        path = target if as_file else clam.default_path(target, slide)
        attrs = clam.attributes(patch_set, slide, geo, path=path)
        _write(path, clam.encode(patch_set, attrs))
        return path
    path = target if as_file else hs2p.default_path(target, slide)
    meta = hs2p.metadata(patch_set, slide, geo)
    npz = hs2p.encode_npz(patch_set)
    if npz is None:
        Path(path).unlink(missing_ok=True)  # a stale NPZ would contradict n_tiles 0
    else:
        _write(path, npz)
    meta_path = hs2p.meta_path_for(path)
    _write(meta_path, hs2p.encode_meta(meta))  # last: it marks the pair complete
    return path if npz is not None else meta_path


def save_many(
    patch_sets: Sequence[PatchSet],
    output_dir: str | PathLike[str],
    *,
    format: CoordinateFormat,
    trident_magnification: trident.Magnification = "bucket",
) -> list[str]:
    """Write every slide's file into ``output_dir`` in the tool's layout, in input order."""
    fmt = _check_format(format)
    folder = fspath(output_dir)
    if is_file_target(folder, fmt):
        raise CoordinateFileError(folder, "a pool writes one file per slide: give a folder")
    ids: dict[str, str] = {}
    from slidepatch.slide.slide import slide_id_from_path

    for ps in patch_sets:
        slide_id = slide_id_from_path(ps.slide_path)
        if slide_id in ids and ids[slide_id] != ps.slide_path:
            raise CoordinateFileError(
                folder,
                f"slides {ids[slide_id]} and {ps.slide_path} share the name {slide_id!r}, so "
                "their coordinate files would overwrite each other",
            )
        ids[slide_id] = ps.slide_path
    return [
        save(ps, folder, format=fmt, trident_magnification=trident_magnification)
        for ps in patch_sets
    ]


# ---------------------------------------------------------------------------- reading
def detect_format(path: str) -> CoordinateFormat:
    """The format of a coordinate file, from its name and (for HDF5) its attributes."""
    lower = path.lower()
    if lower.endswith((hs2p.NPZ_SUFFIX, hs2p.META_SUFFIX)):
        return "hs2p"
    if lower.endswith(table.SUFFIX):
        return "csv"
    if lower.endswith(table.PARQUET_SUFFIX):
        return "parquet"
    if lower.endswith(H5_SUFFIXES):
        from slidepatch.locations.coordinates.h5 import require_h5py

        h5py = require_h5py("reading .h5 coordinate files")
        try:
            with h5py.File(path, "r") as f:
                attrs = dict(f["coords"].attrs) if "coords" in f else {}
        except OSError as exc:
            raise CoordinateFileError(path, f"cannot open as HDF5: {exc}") from exc
        if trident.is_trident(attrs):
            return "trident"
        if clam.is_clam(attrs):
            return "clam"
        raise CoordinateFileError(
            path,
            "is neither a TRIDENT patch file (no patch_size_level0/level0_magnification) nor a "
            f"CLAM one (no patch_level); attributes found: {sorted(attrs)}",
        )
    raise CoordinateFileError(
        path,
        f"unknown coordinate file type: expected .h5 (TRIDENT, CLAM), {hs2p.NPZ_SUFFIX} (hs2p), "
        ".csv or .parquet",
    )


def _read_record(path: str, fmt: CoordinateFormat) -> rec.CoordinateRecord:
    if not os.path.exists(path) and not (fmt == "hs2p" and path.endswith(hs2p.NPZ_SUFFIX)):
        raise CoordinateFileError(path, "coordinate file not found")
    if fmt == "trident":
        return trident.read(path)
    if fmt == "clam":
        return clam.read(path)
    if fmt == "hs2p":
        return hs2p.read(path)
    if fmt == "parquet":
        return table.read_parquet(path)
    return table.read(path)


def read(
    path: str | PathLike[str],
    *,
    wsi_file: str | PathLike[str],
    format: CoordinateFormat | Literal["auto"] = "auto",
    level_or_mpp: LevelOrMpp | None = None,
    patch_size: int | None = None,
    label: str = "",
    slide_mpp: float | None = None,
    read_options: ReadOptions | None = None,
) -> PatchSet:
    """One coordinate file as the PatchSet of ``wsi_file`` (checked against the slide)."""
    file = fspath(path)
    slide_path = fspath(wsi_file)
    fmt = detect_format(file) if format == "auto" else _check_format(format)
    record = _read_record(file, fmt)
    mpp = slide_mpp if slide_mpp is not None else record.slide_mpp
    opts = read_options_of(read_options, mpp=mpp)
    slide = SlideGeometry.of(slide_path, read_options=opts)
    for level, dims in record.dimensions:
        slide.check_dimensions(level, dims, file=record.file)
    passed = None if level_or_mpp is None else resolution_of(level_or_mpp)
    stored = None if record.level_or_mpp is None else resolution_of(record.level_or_mpp)
    if stored is None and record.level0_ratio is not None:
        stored = slide.resolution_for_ratio(record.level0_ratio, file=record.file)
    if stored is None:
        resolution = Level(0) if passed is None else passed
    else:
        resolution = stored
        if passed is not None and passed != resolution:  # Level(1) != Mpp(1.0)
            raise CoordinateFileError(
                record.file,
                f"says level_or_mpp {resolution.text} ({resolution.describe()}), but "
                f"{passed.text} ({passed.describe()}) was passed",
            )
    n = record.x.shape[0]
    if record.widths is not None and record.heights is not None:
        widths, heights = record.widths, record.heights
    else:
        size = record.size if record.size is not None else patch_size
        if size is None:
            raise CoordinateFileError(record.file, "holds no patch size: pass patch_size=")
        if patch_size is not None and record.size is not None and patch_size != record.size:
            raise CoordinateFileError(
                record.file, f"says patch_size {record.size}, but {patch_size} was passed"
            )
        widths = heights = np.full(n, int(size), np.int64)
    labels = record.labels if record.labels is not None else (label,) * n
    if len(labels) != n:
        raise CoordinateFileError(record.file, f"has {len(labels)} labels for {n} patches")
    return PatchSet(
        slide_path=slide_path,
        level_or_mpp=resolution.value,
        x=record.x,
        y=record.y,
        width=widths,
        height=heights,
        labels=tuple(labels),
        class_name="CustomPatches",
        param_info={"wsi_file": slide_path, "coordinates_file": record.file, "format": fmt},
        label_names=record.label_names,
        read_options=opts,
    )
