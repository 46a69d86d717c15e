"""Plain tables: one CSV per slide, ``<dir>/<slide>.csv``, one row per patch.

Columns: ``x``, ``y`` (level-0 top-left), ``width``, ``height`` (pixels at the read
resolution), ``label``, ``level_or_mpp`` (an int is a level, a number with a point an MPP),
``width_level0``, ``height_level0`` (the patch in level-0 pixels, from the slide's real
downsample or MPP). Reading needs only ``x`` and ``y``; the rest may come from keywords.
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from slidepatch.errors import CoordinateFileError
from slidepatch.locations.coordinates import record as rec
from slidepatch.locations.coordinates.geometry import SlideGeometry
from slidepatch.locations.patchset import LevelOrMpp, PatchSet

SUFFIX = ".csv"
COLUMNS = (
    "x", "y", "width", "height", "label", "level_or_mpp", "width_level0", "height_level0",
)  # fmt: skip


def default_path(output_dir: str, slide: SlideGeometry) -> str:
    return os.path.join(output_dir, f"{slide.slide_id}{SUFFIX}")


def encode(patch_set: PatchSet, level0_per_pixel: float) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    value = patch_set.level_or_mpp
    text = str(value) if isinstance(value, int) else repr(float(value))
    for x, y, w, h, label in zip(
        patch_set.x, patch_set.y, patch_set.width, patch_set.height, patch_set.labels, strict=True
    ):
        writer.writerow(
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
        )
    return out.getvalue().encode("utf-8")


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
            reader = csv.DictReader(fh)
            rows = list(reader)
            fields = set(reader.fieldnames or ())
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CoordinateFileError(path, f"cannot read CSV: {exc}") from exc
    missing = {"x", "y"} - fields
    if missing:
        raise CoordinateFileError(path, f"CSV has no column {sorted(missing)} (needs x and y)")

    def column(name: str) -> np.ndarray:
        try:
            values = np.asarray([float(r[name]) for r in rows], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise CoordinateFileError(path, f"column {name!r} has a non-number: {exc}") from exc
        return rec.integer_array(values, file=path, what=f"column {name!r}")

    level_or_mpp = None
    if "level_or_mpp" in fields and rows:
        values = {r["level_or_mpp"] for r in rows}
        if len(values) != 1:
            raise CoordinateFileError(
                path, f"rows have different level_or_mpp {sorted(values)[:4]}: one per file"
            )
        level_or_mpp = parse_level_or_mpp(values.pop(), file=path)
    sized = {"width", "height"} <= fields
    return rec.CoordinateRecord(
        file=path,
        x=column("x"),
        y=column("y"),
        widths=column("width") if sized else None,
        heights=column("height") if sized else None,
        level_or_mpp=level_or_mpp,
        labels=tuple(r["label"] for r in rows) if "label" in fields else None,
    )
