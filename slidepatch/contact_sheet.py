"""Contact sheets: a grid of sample patches, one row per label, to check a run at a glance.

A pathologist looking at thirty thumbnails per class sees in seconds whether the "tumor"
patches are tumour, whether the tissue mask let glass through, or whether a level was
wrong. :func:`make_contact_sheet` takes ``(image, label)`` pairs from anywhere (a memory
pool's ``patch_list``, a generator); :func:`contact_sheet_from_output` reads the CSV
manifests that disk extraction wrote and opens only the sampled files.

Sampling is seeded: the same inputs and ``seed`` give the same sheet.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TypeGuard, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from slidepatch.errors import OutputError

PatchImage = npt.NDArray[np.uint8] | Image.Image
"""A patch image: an ``(h, w, 3)`` (or ``(h, w, 4)``) uint8 array or a PIL image."""

LabelledPatch = tuple[PatchImage, str]
"""``(image, label)``; a multi-resolution item is a sequence of them."""

T = TypeVar("T")

UNLABELLED = "(no label)"
"""Row title for patches whose label is the empty string."""

_BACKGROUND = (255, 255, 255)
_TEXT = (0, 0, 0)
_MARGIN = 6
_MANIFEST_DIR = "manifests"


@dataclass(frozen=True)
class _Row:
    title: str
    total: int
    images: list[PatchImage]


def _check_sizes(*, per_label: int, thumb_size: int) -> None:
    if isinstance(per_label, bool) or not isinstance(per_label, int) or per_label < 1:
        raise ValueError(f"per_label must be an int >= 1, got {per_label!r}")
    if isinstance(thumb_size, bool) or not isinstance(thumb_size, int) or thumb_size < 8:
        raise ValueError(f"thumb_size must be an int >= 8, got {thumb_size!r}")


def _is_pair(item: object) -> TypeGuard[LabelledPatch]:
    return isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], str)


def _flatten(
    patches: Iterable[LabelledPatch | Sequence[LabelledPatch]],
) -> Iterable[tuple[PatchImage, str]]:
    """Yield ``(image, row key)``; a multi-resolution item (a list of pairs) gives one per
    resolution, keyed ``"<label> [i]"`` so each resolution gets its own row."""
    for item in patches:
        if _is_pair(item):
            yield item[0], item[1]
        elif isinstance(item, (tuple, list)) and item and all(_is_pair(p) for p in item):
            for i, (image, label) in enumerate(item):
                yield image, f"{label or UNLABELLED} [{i}]"
        else:
            raise ValueError(
                "patches must yield (image, label) pairs or lists of them (multi-resolution), "
                f"got {type(item).__name__}"
            )


def _as_rgb_image(image: PatchImage) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"a patch image must be (h, w, 3) or (h, w, 4), got {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"a patch image must be uint8, got {array.dtype}")
    return Image.fromarray(np.ascontiguousarray(array[:, :, :3]))


def _thumbnail(image: PatchImage, size: int) -> Image.Image:
    """The image scaled (up or down) to fit ``size`` x ``size``, aspect kept, on white."""
    picture = _as_rgb_image(image)
    scale = size / max(picture.width, picture.height)
    if scale != 1:
        fitted = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(fitted, Image.Resampling.BILINEAR)
    cell = Image.new("RGB", (size, size), _BACKGROUND)
    cell.paste(picture, ((size - picture.width) // 2, (size - picture.height) // 2))
    return cell


def _sample_rows(
    keyed: Iterable[tuple[T, str]], *, per_label: int, seed: int
) -> list[tuple[str, int, list[T]]]:
    """Reservoir-sample ``per_label`` items per key in one pass (bounded memory)."""
    rng = np.random.default_rng(seed)
    reservoirs: dict[str, list[T]] = {}
    counts: dict[str, int] = {}
    for item, key in keyed:
        seen = counts.get(key, 0)
        counts[key] = seen + 1
        kept = reservoirs.setdefault(key, [])
        if seen < per_label:
            kept.append(item)
        else:
            j = int(rng.integers(0, seen + 1))
            if j < per_label:
                kept[j] = item
    return [(key, counts[key], reservoirs[key]) for key in sorted(counts)]


def _render(rows: Sequence[_Row], *, per_label: int, thumb_size: int) -> Image.Image:
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    titles = [(row.title or UNLABELLED, f"{row.total} patches") for row in rows]
    text_width = max((probe.textlength(t, font=font) for pair in titles for t in pair), default=0.0)
    left = int(text_width) + 3 * _MARGIN
    columns = min(per_label, max((len(row.images) for row in rows), default=1)) or 1
    step = thumb_size + _MARGIN
    width = left + columns * step + _MARGIN
    height = max(len(rows), 1) * step + _MARGIN
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    if not rows:
        draw.text((_MARGIN, _MARGIN), "no patches", fill=_TEXT, font=font)
        return sheet
    for r, (row, (title, count)) in enumerate(zip(rows, titles, strict=True)):
        top = _MARGIN + r * step
        draw.text((_MARGIN, top + thumb_size // 2 - 12), title, fill=_TEXT, font=font)
        draw.text((_MARGIN, top + thumb_size // 2 + 2), count, fill=_TEXT, font=font)
        for c, image in enumerate(row.images):
            sheet.paste(_thumbnail(image, thumb_size), (left + c * step, top))
    return sheet


def _save(sheet: Image.Image, path: str | PathLike[str] | None) -> None:
    if path is None:
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(target)
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot write contact sheet {target}: {exc}") from exc


def make_contact_sheet(
    *,
    patches: Iterable[LabelledPatch | Sequence[LabelledPatch]],
    path: str | PathLike[str] | None = None,
    per_label: int = 8,
    thumb_size: int = 96,
    seed: int = 0,
) -> Image.Image:
    """Draw up to ``per_label`` random patches per label, one row per label, sorted by label.

    ``patches`` yields ``(image, label)`` pairs (numpy ``(h, w, 3)`` uint8 arrays or PIL
    images), e.g. a memory pool's ``patch_list``; multi-resolution items (lists of pairs)
    get one row per label and resolution. The sheet is returned, and saved to ``path``
    when one is given (the format follows its extension).
    """
    _check_sizes(per_label=per_label, thumb_size=thumb_size)
    sampled = _sample_rows(_flatten(patches), per_label=per_label, seed=seed)
    rows = [_Row(title=key, total=total, images=images) for key, total, images in sampled]
    sheet = _render(rows, per_label=per_label, thumb_size=thumb_size)
    _save(sheet, path)
    return sheet


def _manifest_rows(output_dir: Path, manifest_ids: Sequence[str] | None) -> list[dict[str, str]]:
    folder = output_dir / _MANIFEST_DIR
    if not folder.is_dir():
        raise OutputError(f"{output_dir}: no {_MANIFEST_DIR}/ folder (is it an output dir?)")
    wanted = None if manifest_ids is None else set(manifest_ids)
    rows: list[dict[str, str]] = []
    for manifest in sorted(folder.glob("manifest__*.csv")):
        parts = manifest.stem.split("__")
        if wanted is not None and (len(parts) < 3 or parts[1] not in wanted):
            continue
        with open(manifest, newline="", encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def _resolution_title(record: dict[str, str]) -> str:
    kind = "level" if record.get("resolution_kind") == "level" else "mpp"
    return f"{kind} {record.get('level_or_mpp', '')}"


def _multires_groups(
    records: Sequence[dict[str, str]], resolutions: Sequence[str], *, per_label: int, seed: int
) -> list[tuple[str, int, list[dict[str, str]]]]:
    """Rows per label and resolution showing the SAME sampled sets, column by column."""
    sets: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for record in records:
        key = (record.get("label", ""), record["set_id"])
        sets.setdefault(key, {})[record.get("level_or_mpp", "")] = record
    sampled = _sample_rows(((sid, label) for label, sid in sets), per_label=per_label, seed=seed)
    groups = []
    for label, total, chosen in sampled:
        for resolution in resolutions:
            picked = [
                sets[(label, sid)][resolution] for sid in chosen if resolution in sets[(label, sid)]
            ]
            if picked:
                title = f"{label or UNLABELLED} @ {_resolution_title(picked[0])}"
                groups.append((title, total, picked))
    return groups


def _open_patch(output_dir: Path, record: dict[str, str]) -> npt.NDArray[np.uint8]:
    file = output_dir / record["path"]
    try:
        with Image.open(file) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as exc:
        raise OutputError(f"cannot read patch {file} listed in a manifest: {exc}") from exc


def contact_sheet_from_output(
    *,
    output_dir: str | PathLike[str],
    path: str | PathLike[str] | None = None,
    manifest_ids: Sequence[str] | None = None,
    per_label: int = 8,
    thumb_size: int = 96,
    seed: int = 0,
) -> Image.Image:
    """Contact sheet of a disk extraction, from the CSV manifests in ``output_dir/manifests``.

    ``manifest_ids`` limits it to some runs (default: every manifest in the folder). Rows
    are labels; when several resolutions were written, one row per label and resolution.
    Only the sampled image files are opened.
    """
    _check_sizes(per_label=per_label, thumb_size=thumb_size)
    out = Path(os.fspath(output_dir))
    records = _manifest_rows(out, manifest_ids)
    resolutions = list(dict.fromkeys(r.get("level_or_mpp", "") for r in records))
    if len(resolutions) > 1 and all(r.get("set_id") for r in records):
        groups = _multires_groups(records, resolutions, per_label=per_label, seed=seed)
    else:
        groups = [
            (title, total, list(chosen))
            for title, total, chosen in _sample_rows(
                ((r, r.get("label", "")) for r in records), per_label=per_label, seed=seed
            )
        ]
    rows = []
    for title, total, chosen in groups:
        rows.append(_Row(title=title, total=total, images=[_open_patch(out, r) for r in chosen]))
    sheet = _render(rows, per_label=per_label, thumb_size=thumb_size)
    _save(sheet, path)
    return sheet
