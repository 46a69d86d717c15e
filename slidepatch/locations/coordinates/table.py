"""Plain tables: one CSV (or Parquet) per slide, ``<dir>/<slide>.csv``, one row per patch.

Columns: ``x``, ``y`` (level-0 top-left), ``width``, ``height`` (pixels at the read
resolution), ``label``, ``level_or_mpp`` (an int is a level, a number with a point an MPP),
``width_level0``, ``height_level0`` (the patch in level-0 pixels, from the slide's real
downsample or MPP). Reading needs only ``x`` and ``y``; the rest may come from keywords.
Parquet files (``<slide>.parquet``, written with pyarrow, extra ``slidepatch[parquet]``) have
the same columns and keep ``level_or_mpp`` and the declared labels in their schema metadata,
so an empty table keeps them too.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import replace
from types import ModuleType

import numpy as np
import numpy.typing as npt

from slidepatch.errors import CoordinateFileError, MissingDependencyError
from slidepatch.locations.coordinates import record as rec
from slidepatch.locations.coordinates.geometry import SlideGeometry
from slidepatch.locations.patchset import LevelOrMpp, PatchSet

SUFFIX = ".csv"
PARQUET_SUFFIX = ".parquet"
COLUMNS = (
    "x", "y", "width", "height", "label", "level_or_mpp", "width_level0", "height_level0",
)  # fmt: skip


def default_path(output_dir: str, slide: SlideGeometry, *, suffix: str = SUFFIX) -> str:
    return os.path.join(output_dir, f"{slide.slide_id}{suffix}")


def _rows(patch_set: PatchSet, level0_per_pixel: float) -> list[tuple[int | str, ...]]:
    text = patch_set.resolution.text
    return [
        (
            int(x),
            int(y),
            int(w),
            int(h),
            label,
            text,
            round(int(w) * level0_per_pixel),
            round(int(h) * level0_per_pixel),
        )
        for x, y, w, h, label in zip(
            patch_set.x,
            patch_set.y,
            patch_set.width,
            patch_set.height,
            patch_set.labels,
            strict=True,
        )
    ]


def encode(patch_set: PatchSet, level0_per_pixel: float) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_rows(patch_set, level0_per_pixel))
    return out.getvalue().encode("utf-8")


def _pyarrow(what: str) -> tuple[ModuleType, ModuleType]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(
            f"{what} needs pyarrow, which is not installed: pip install 'slidepatch[parquet]'"
        ) from exc
    return pa, pq


def encode_parquet(patch_set: PatchSet, level0_per_pixel: float) -> bytes:
    pa, pq = _pyarrow("writing Parquet coordinates")
    rows = _rows(patch_set, level0_per_pixel)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    types = {"label": pa.string(), "level_or_mpp": pa.string()}
    arrays = [
        pa.array(list(values), type=types.get(name, pa.int64()))
        for name, values in zip(COLUMNS, columns, strict=True)
    ]
    metadata = {
        rec.LEVEL_OR_MPP: patch_set.resolution.text,
        rec.LABEL_NAMES: json.dumps(list(patch_set.label_names)),
    }
    if patch_set.slide_mpp is not None:
        metadata[rec.SLIDE_MPP] = repr(float(patch_set.slide_mpp))
    table = pa.Table.from_arrays(arrays, names=list(COLUMNS)).replace_schema_metadata(metadata)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def parse_level_or_mpp(text: str, *, file: str) -> LevelOrMpp:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise CoordinateFileError(
                file, f"level_or_mpp {text!r} is neither a level nor an MPP"
            ) from None


def read(path: str) -> rec.CoordinateRecord:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CoordinateFileError(path, f"cannot read CSV: {exc}") from exc
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise CoordinateFileError(
                path, f"row {i + 2} has {len(row)} fields, the header {len(header)}"
            )
    columns: dict[str, Sequence[object]] = {
        name: [row[j] for row in rows] for j, name in enumerate(header)
    }
    return _record(path, columns, len(rows))


def read_parquet(path: str) -> rec.CoordinateRecord:
    _, pq = _pyarrow("reading Parquet coordinates")
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise CoordinateFileError(path, f"cannot read Parquet: {exc}") from exc
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    record = _record(path, columns, table.num_rows)
    level_or_mpp = record.level_or_mpp
    if level_or_mpp is None and rec.LEVEL_OR_MPP in meta:
        level_or_mpp = parse_level_or_mpp(meta[rec.LEVEL_OR_MPP], file=path)
    try:
        names = tuple(str(n) for n in json.loads(meta.get(rec.LABEL_NAMES, "[]")))
        slide_mpp = float(meta[rec.SLIDE_MPP]) if rec.SLIDE_MPP in meta else None
    except (TypeError, ValueError) as exc:
        raise CoordinateFileError(path, f"bad slidepatch schema metadata: {exc}") from exc
    return replace(record, level_or_mpp=level_or_mpp, label_names=names, slide_mpp=slide_mpp)


def _record(path: str, columns: dict[str, Sequence[object]], n: int) -> rec.CoordinateRecord:
    """A record from a table's columns (CSV text or Parquet values)."""
    missing = {"x", "y"} - set(columns)
    if missing:
        raise CoordinateFileError(path, f"the table has no column {sorted(missing)} (needs x, y)")

    def column(name: str) -> npt.NDArray[np.int64]:
        try:
            values = np.asarray(columns[name], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise CoordinateFileError(path, f"column {name!r} has a non-number: {exc}") from exc
        return rec.integer_array(values, file=path, what=f"column {name!r}")

    level_or_mpp = None
    if "level_or_mpp" in columns and n:
        values = {str(v) for v in columns["level_or_mpp"]}
        if len(values) != 1:
            raise CoordinateFileError(
                path, f"rows have different level_or_mpp {sorted(values)[:4]}: one per file"
            )
        level_or_mpp = parse_level_or_mpp(values.pop(), file=path)
    sized = "width" in columns and "height" in columns
    return rec.CoordinateRecord(
        file=path,
        x=column("x"),
        y=column("y"),
        widths=column("width") if sized else None,
        heights=column("height") if sized else None,
        level_or_mpp=level_or_mpp,
        labels=tuple(str(v) for v in columns["label"]) if "label" in columns else None,
    )
