"""Which files go with which slide: pairing by file name, folders, and the slide table.

Annotation and mask files pair with slides by name, never by position, so two swapped
files are an error instead of every label coming from the other slide. A file pairs with
the slide whose file stem it equals or starts with, followed by ``_``, ``-`` or ``.``
(``h1.geojson``, ``h1_mask.png``, ``h1.svs.xml`` for ``h1.svs``); the longest matching
stem wins. A slide table (``--slides table.csv``) names everything explicitly.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from slidepatch.cli.errors import UsageError
from slidepatch.extract.naming import slide_id_problem, wsi_id_of
from slidepatch.slide.identity import real_slide_path

SEPARATORS = ("_", "-", ".")
ANNOTATION_SUFFIXES = (".geojson", ".json", ".xml")
MASK_SUFFIXES = (".png", ".npy", ".npz", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
TABLE_COLUMNS = ("slide", "mpp", "annotations", "mask", "label", "slide_id")
NAMING_HINT = (
    "name each file after its slide (h1.geojson or h1_mask.png for h1.svs) or list the "
    "pairs in --slides table.csv"
)


@dataclass(frozen=True)
class SlideRow:
    """One slide and what goes with it; None means "not given"."""

    slide: str
    annotations: str | None = None
    mask: str | None = None
    mpp: float | None = None
    label: str | None = None
    slide_id: str | None = None  # names the slide's outputs instead of its file stem


def _file_stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _matches(file_stem: str, slide_stem: str) -> bool:
    if file_stem == slide_stem:
        return True
    return any(file_stem.startswith(slide_stem + sep) for sep in SEPARATORS)


def _check_unique_stems(slides: Sequence[str], option: str) -> list[str]:
    stems = [wsi_id_of(s) for s in slides]
    seen: dict[str, str] = {}
    for slide, stem in zip(slides, stems, strict=True):
        if stem in seen and seen[stem] != slide:
            raise UsageError(
                f"{option}: two slides are named {stem!r} ({seen[stem]}, {slide}), so files "
                "cannot be paired with them by name; list the pairs in --slides table.csv"
            )
        seen[stem] = slide
    return stems


def _owner(file: str, stems: Sequence[str]) -> int | None:
    """Index of the slide this file belongs to (longest matching stem), or None."""
    stem = _file_stem(file)
    best: int | None = None
    for i, slide_stem in enumerate(stems):
        if _matches(stem, slide_stem) and (best is None or len(slide_stem) > len(stems[best])):
            best = i
    return best


def _names(paths: Sequence[str]) -> str:
    return ", ".join(os.path.basename(p) for p in paths)


def pair_by_name(slides: Sequence[str], files: Sequence[str], *, option: str) -> list[str]:
    """One file per slide, in slide order, matched by name; every file must be used.

    A slide listed twice (by any path) gets its file twice; dropping duplicates is the
    caller's call.
    """
    unique = _unique_slides(slides)
    paired = _pair_unique(list(unique.values()), files, option=option)
    found = dict(zip(unique, paired, strict=True))
    return [found[real_slide_path(s)] for s in slides]


def _unique_slides(slides: Sequence[str]) -> dict[str, str]:
    """Real path -> the first path a slide was listed under."""
    unique: dict[str, str] = {}
    for slide in slides:
        unique.setdefault(real_slide_path(slide), slide)
    return unique


def _pair_unique(slides: Sequence[str], files: Sequence[str], *, option: str) -> list[str]:
    stems = _check_unique_stems(slides, option)
    paired: list[list[str]] = [[] for _ in slides]
    unused: list[str] = []
    for file in files:
        owner = _owner(file, stems)
        if owner is None:
            unused.append(file)
        else:
            paired[owner].append(file)
    problems = []
    missing = [s for s, got in zip(slides, paired, strict=True) if not got]
    if missing:
        problems.append(f"slides without a file: {_names(missing)}")
    if unused:
        problems.append(f"files matching no slide: {_names(unused)}")
    doubled = [
        f"{os.path.basename(s)} ({_names(got)})"
        for s, got in zip(slides, paired, strict=True)
        if len(got) > 1
    ]
    if doubled:
        problems.append(f"slides with several files: {'; '.join(doubled)}")
    if problems:
        raise UsageError(
            f"{option} files do not pair with the slides by name: {'; '.join(problems)}; "
            f"{NAMING_HINT}"
        )
    return [got[0] for got in paired]


def pair_from_folder(
    slides: Sequence[str], folder: str, *, option: str, suffixes: Sequence[str]
) -> list[str]:
    """``folder/<stem>.*`` for every slide (other files in the folder are ignored)."""
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {folder}: not a folder")
    unique = _unique_slides(slides)
    paired = _pair_folder(list(unique.values()), folder, option=option, suffixes=suffixes)
    found = dict(zip(unique, paired, strict=True))
    return [found[real_slide_path(s)] for s in slides]


def _pair_folder(
    slides: Sequence[str], folder: str, *, option: str, suffixes: Sequence[str]
) -> list[str]:
    stems = _check_unique_stems(slides, option)
    candidates = sorted(
        str(p) for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in suffixes
    )
    paired: list[list[str]] = [[] for _ in slides]
    for file in candidates:
        owner = _owner(file, stems)
        if owner is not None:
            paired[owner].append(file)
    missing = [s for s, got in zip(slides, paired, strict=True) if not got]
    doubled = [
        f"{os.path.basename(s)} ({_names(got)})"
        for s, got in zip(slides, paired, strict=True)
        if len(got) > 1
    ]
    problems = []
    if missing:
        problems.append(f"no file for slides {_names(missing)}")
    if doubled:
        problems.append(f"several files for {'; '.join(doubled)}")
    if problems:
        kinds = "/".join(suffixes)
        raise UsageError(
            f"{option} {folder}: {'; '.join(problems)} (looked for <slide name>.* with {kinds})"
        )
    return [got[0] for got in paired]


def _cell(row: dict[str, str | None], name: str) -> str | None:
    value = (row.get(name) or "").strip()
    return value or None


def _resolve(base: Path, value: str | None) -> str | None:
    if value is None:
        return None
    return os.path.abspath(base / os.path.expanduser(value))


def _check_unique_ids(path: str, rows: Sequence[SlideRow]) -> None:
    """A chosen slide id names one slide: not twice, nor another slide's file stem (the
    same slide listed twice under one id is a duplicate, dropped later with a warning)."""
    if not any(r.slide_id is not None for r in rows):
        return
    first: dict[str, tuple[int, str, bool]] = {}  # id -> line, real path, chosen
    for line, row in enumerate(rows, start=2):
        sid = row.slide_id or wsi_id_of(row.slide)
        real = real_slide_path(row.slide)
        chosen = row.slide_id is not None
        if sid in first and first[sid][1] != real and (chosen or first[sid][2]):
            raise UsageError(
                f"--slides {path}, line {line}: slide id {sid!r} is also the id of line "
                f"{first[sid][0]}; every slide needs its own id (it names the slide's files)"
            )
        if sid not in first or chosen:
            first[sid] = (line, real, chosen)


def read_slide_table(path: str) -> list[SlideRow]:
    """The rows of a slide table: a ``slide`` column, optional ``mpp``, ``annotations``,
    ``mask``, ``label`` and ``slide_id``; relative paths are relative to the table's
    folder."""
    table = Path(path)
    try:
        with open(table, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            raw = [{(k or "").strip(): v for k, v in row.items()} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"--slides {path}: cannot read the table: {exc}") from exc
    if "slide" not in columns:
        raise UsageError(
            f"--slides {path}: no 'slide' column (columns: {', '.join(columns) or 'none'}); "
            f"the first line must name the columns, from {', '.join(TABLE_COLUMNS)}"
        )
    unknown = [c for c in columns if c not in TABLE_COLUMNS]
    if unknown:
        raise UsageError(
            f"--slides {path}: unknown columns {', '.join(unknown)} (known: "
            f"{', '.join(TABLE_COLUMNS)})"
        )
    base = table.parent
    rows: list[SlideRow] = []
    for line, row in enumerate(raw, start=2):
        slide = _cell(row, "slide")
        if slide is None:
            raise UsageError(f"--slides {path}, line {line}: the 'slide' cell is empty")
        slide_id = _cell(row, "slide_id")
        problem = None if slide_id is None else slide_id_problem(slide_id)
        if problem is not None:
            raise UsageError(f"--slides {path}, line {line}: {problem}")
        mpp_text = _cell(row, "mpp")
        mpp = None
        if mpp_text is not None:
            try:
                mpp = float(mpp_text)
            except ValueError:
                mpp = -1.0
            if not mpp > 0:
                raise UsageError(
                    f"--slides {path}, line {line}: mpp {mpp_text!r} must be a number > 0 "
                    "(µm per pixel)"
                )
        rows.append(
            SlideRow(
                slide=_resolve(base, slide) or slide,
                annotations=_resolve(base, _cell(row, "annotations")),
                mask=_resolve(base, _cell(row, "mask")),
                mpp=mpp,
                label=_cell(row, "label"),
                slide_id=slide_id,
            )
        )
    if not rows:
        raise UsageError(f"--slides {path}: the table lists no slide")
    _check_unique_ids(path, rows)
    with_annotations = [r for r in rows if r.annotations is not None]
    if with_annotations and len(with_annotations) != len(rows):
        bare = [r.slide for r in rows if r.annotations is None]
        raise UsageError(
            f"--slides {path}: the annotations column is empty for {_names(bare)} but filled "
            "for other slides; give every slide its annotations, or run them separately"
        )
    return rows
