"""Per-slide manifests: the reference's text layout plus a self-describing CSV.

``manifests/manifest__<id>__<wsi_id>.txt`` keeps the reference layout line for line, so
scripts that read it keep working. Its "Patch count" and "Patch labels" describe the
patches object *before* label filtering (as the reference wrote them); the files really
written are listed under "Saved patches" and counted in "Disk file count".

``manifests/manifest__<id>__<wsi_id>.csv`` has one row per written file. Column names say
their coordinate space: ``x_level0``/``y_level0`` are the level-0 top-left,
``width_read_px``/``height_read_px`` the size in pixels at the resolution read
(``level_or_mpp``), ``width_level0``/``height_level0`` the footprint in level-0 pixels.

Both files are written under a temporary name and renamed, after every image is on disk.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slidepatch.extract.qc_batch import Scores
from slidepatch.locations.patchset import LevelOrMpp
from slidepatch.resolution import Resolution, resolution_of

LABEL_WIDTH = 24
SEPARATOR_LINE = "-" * 50

CSV_COLUMNS = (
    "path",
    "slide_path",
    "wsi_id",
    "manifest_id",
    "set_id",
    "patch_index",
    "label",
    "level_or_mpp",
    "resolution_kind",
    "mpp_read",
    "x_level0",
    "y_level0",
    "width_read_px",
    "height_read_px",
    "width_level0",
    "height_level0",
)


@dataclass(frozen=True)
class WrittenPatch:
    """One image file that was written; ``path`` is relative to ``output_dir`` ('/'-joined)."""

    path: str
    patch_index: int
    label: str
    level_or_mpp: LevelOrMpp | Resolution  # stored as the reference's value (int / float)
    x_level0: int
    y_level0: int
    width_read_px: int
    height_read_px: int
    level0_per_pixel: float
    mpp_read: float | None
    set_id: str = ""
    qc: Scores | None = None  # quality scores, with qc_scores=True or qc= filters
    resolution: Resolution = field(init=False)

    def __post_init__(self) -> None:
        resolution = resolution_of(self.level_or_mpp)  # a Resolution passes through
        object.__setattr__(self, "resolution", resolution)
        object.__setattr__(self, "level_or_mpp", resolution.value)


def manifest_base_name(manifest_id: str, wsi_id: str) -> str:
    return f"manifest__{manifest_id}__{wsi_id}"


def _line(label: str, value: object = "") -> str:
    return f"{label:<{LABEL_WIDTH}}{value}".rstrip()


def _params(params: Mapping[str, Any]) -> list[str]:
    return [" " * LABEL_WIDTH + f"{key}: {params[key]}" for key in sorted(params)]


def format_text_manifest(
    *,
    manifest_id: str,
    manifest_path: str,
    patch_class: str,
    patch_params: Mapping[str, Any],
    patch_count: int,
    patch_info: Mapping[str, int],
    extractor_class: str,
    extractor_params: Mapping[str, Any],
    saved_paths: Sequence[str],
    created: float | None = None,
) -> str:
    """The reference text layout (labels padded to 24 columns)."""
    stamp = time.strftime("%Y-%b-%d %H:%M:%S", time.localtime(created))
    lines = [
        _line("Manifest ID:", manifest_id),
        _line("Manifest file path:", os.path.realpath(manifest_path)),
        _line("Date created:", stamp),
        _line("Hostname:", platform.node()),
        SEPARATOR_LINE,
        _line("Patch class:", patch_class),
        _line("Patch class params:"),
        *_params(patch_params),
        _line("Patch count:", patch_count),
        _line("Patch labels:", dict(patch_info)),
        _line("Extractor class:", extractor_class),
        _line("Extractor class params:"),
        *_params(extractor_params),
        _line("Saved patches:"),
        *(" " * LABEL_WIDTH + p for p in saved_paths),
        _line("Disk file count:", len(saved_paths)),
    ]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    rounded = round(value)
    return str(int(rounded)) if abs(value - rounded) < 1e-6 else f"{value:.4f}".rstrip("0")


def csv_values(
    r: WrittenPatch, *, slide_path: str, wsi_id: str, manifest_id: str
) -> list[str | int]:
    """One CSV manifest row, in ``CSV_COLUMNS`` order."""
    return [
        r.path,
        slide_path,
        wsi_id,
        manifest_id,
        r.set_id,
        r.patch_index,
        r.label,
        r.resolution.text,
        r.resolution.kind,
        "" if r.mpp_read is None else f"{r.mpp_read:.6g}",
        r.x_level0,
        r.y_level0,
        r.width_read_px,
        r.height_read_px,
        _number(r.width_read_px * r.level0_per_pixel),
        _number(r.height_read_px * r.level0_per_pixel),
    ]


def format_csv_manifest(
    *,
    rows: Sequence[WrittenPatch],
    slide_path: str,
    wsi_id: str,
    manifest_id: str,
    extra_columns: Sequence[str] = (),
    extra_values: Sequence[Sequence[str | int | float | None]] = (),
) -> str:
    """The CSV manifest; ``extra_columns`` (one ``extra_values`` row per row) go last."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *extra_columns])
    extras = extra_values if extra_columns else [()] * len(rows)
    for r, extra in zip(rows, extras, strict=True):
        values = csv_values(r, slide_path=slide_path, wsi_id=wsi_id, manifest_id=manifest_id)
        writer.writerow([*values, *extra])
    return buf.getvalue()
