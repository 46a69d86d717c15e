"""A locations pool over a folder of coordinate files, each paired with its slide by name."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from os import PathLike, fspath
from pathlib import Path
from typing import Literal

from slidepatch.errors import CoordinateFileError, SlidepatchError
from slidepatch.locations.coordinates import clam, files, hs2p, table, trident
from slidepatch.locations.custom import PatchesMock, check_patch_set
from slidepatch.locations.patchset import LevelOrMpp
from slidepatch.locations.pools import LocationsPool
from slidepatch.slide.slide import slide_id_from_path


def _candidates(path: Path, root: Path, fmt: str) -> list[tuple[str, str]]:
    """``(slide id, format)`` pairs that the file at ``path`` could be the coordinates of."""
    name = path.name
    lower = name.lower()
    if lower.endswith(hs2p.NPZ_SUFFIX) and fmt in ("auto", "hs2p"):
        return [(name[: -len(hs2p.NPZ_SUFFIX)], "hs2p")]
    if lower.endswith(hs2p.META_SUFFIX) and fmt in ("auto", "hs2p"):
        return [(name[: -len(hs2p.META_SUFFIX)], "hs2p")]
    if lower.endswith(table.SUFFIX) and fmt in ("auto", "csv"):
        return [(name[: -len(table.SUFFIX)], "csv")]
    if lower.endswith(table.PARQUET_SUFFIX) and fmt in ("auto", "parquet"):
        return [(name[: -len(table.PARQUET_SUFFIX)], "parquet")]
    if lower.endswith(files.H5_SUFFIXES) and fmt in ("auto", "trident", "clam"):
        # Only the tools' patch folders (and the folder given): TRIDENT's job folders also
        # hold feature files named <slide>.h5.
        if path.parent.name not in (trident.PATCHES_DIR, clam.PATCHES_DIR) and path.parent != root:
            return []
        stem = os.path.splitext(name)[0]
        out = [(stem, fmt)]
        if stem.endswith(trident.STEM_SUFFIX):
            out.append((stem[: -len(trident.STEM_SUFFIX)], fmt))
        return out
    return []


def pair_files(
    coords_dir: str, slide_ids: Sequence[str], *, fmt: str
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """``slide id -> (file, format)`` for the slide ids with exactly one coordinate file, and
    ``slide id -> why not`` for those with none or several."""
    root = Path(coords_dir)
    if not root.is_dir():
        raise CoordinateFileError(coords_dir, "coordinates folder not found")
    wanted = set(slide_ids)
    found: dict[str, dict[str, str]] = {}
    for entry in sorted(root.rglob("*")):
        if not entry.is_file():
            continue
        for slide_id, kind in _candidates(entry, root, fmt):
            if slide_id in wanted:
                key = str(entry)
                if kind == "hs2p" and key.endswith(hs2p.META_SUFFIX):  # one artifact
                    key = key[: -len(hs2p.META_SUFFIX)] + hs2p.NPZ_SUFFIX
                found.setdefault(slide_id, {})[key] = kind
                break
    pairs: dict[str, tuple[str, str]] = {}
    problems: dict[str, str] = {}
    for slide_id in wanted:
        matches = found.get(slide_id, {})
        if not matches:
            problems[slide_id] = f"no coordinate file under {coords_dir}"
        elif len(matches) > 1:
            problems[slide_id] = (
                f"{len(matches)} coordinate files match slide {slide_id!r} "
                f"({', '.join(sorted(matches))}): point to one folder, or pass format="
            )
        else:
            ((path, kind),) = matches.items()
            pairs[slide_id] = (path, kind)
    return pairs, problems


class CoordinateFilesPool(LocationsPool):
    """The coordinates of many slides, read from TRIDENT, CLAM, hs2p or CSV files in a folder.

    Each slide in ``wsi_file_list`` is paired with the file named after it (``<id>_patches.h5``,
    ``patches/<id>.h5``, ``<id>.coordinates.npz``, ``<id>.csv``) anywhere under
    ``coords_dir``; a slide without a file, with two, or whose file cannot be read is an error
    naming it (``on_error="skip"``: a warning, the slide is left out and listed in
    ``failed_slides``). Iterating yields ``PatchesMock`` objects, so every extractor pool takes
    this pool as it is.
    """

    def __init__(
        self,
        *,
        coords_dir: str | PathLike[str],
        wsi_file_list: Sequence[str | PathLike[str]],
        format: files.CoordinateFormat | Literal["auto"] = "auto",
        level_or_mpp: LevelOrMpp | None = None,
        patch_size: int | None = None,
        label: str = "",
        slide_mpp: float | None = None,
        check_location: bool = True,
        on_error: Literal["raise", "skip"] = "raise",
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        folder = fspath(coords_dir)
        slides = [fspath(p) for p in wsi_file_list]
        ids = [slide_id_from_path(s) for s in slides]
        seen: dict[str, str] = {}
        for slide, slide_id in zip(slides, ids, strict=True):
            if seen.setdefault(slide_id, slide) != slide:
                raise CoordinateFileError(
                    folder,
                    f"slides {seen[slide_id]} and {slide} share the name {slide_id!r}, so one "
                    "coordinate file would serve both",
                )
        pairs, problems = pair_files(folder, ids, fmt=format)
        patch_sets = []
        self._failed: dict[str, BaseException] = {}
        for slide, slide_id in zip(slides, ids, strict=True):
            try:
                if slide_id in problems:
                    raise CoordinateFileError(slide, problems[slide_id])
                path, kind = pairs[slide_id]
                patch_set = files.read(
                    path,
                    wsi_file=slide,
                    format=kind,  # type: ignore[arg-type]
                    level_or_mpp=level_or_mpp,
                    patch_size=patch_size,
                    label=label,
                    slide_mpp=slide_mpp,
                )
                check_patch_set(patch_set, (), check_location)
            except (SlidepatchError, OSError, ValueError) as exc:
                if on_error == "raise":
                    raise
                warnings.warn(f"skipped: {exc}", stacklevel=2)
                self._failed[slide] = exc
                continue
            patch_sets.append(patch_set)
        self._patch_sets = patch_sets
        self._pids = [os.getpid()] * len(patch_sets)
        self._items = [PatchesMock.from_patch_set(ps) for ps in patch_sets]
        self._coordinate_files = [str(ps.param_info["coordinates_file"]) for ps in patch_sets]

    @property
    def failed_slides(self) -> dict[str, BaseException]:
        """Slides left out with ``on_error="skip"``: path -> error."""
        return dict(self._failed)

    @property
    def coordinate_files(self) -> list[str]:
        """The file each slide's coordinates came from, in input order."""
        return list(self._coordinate_files)
