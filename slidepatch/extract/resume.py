"""Knowing which slides of an output directory are complete, and undoing the others.

The **text manifest is the completion marker**: a disk extractor writes every image
(each appearing under its name only when complete, see ``atomic_write``), then the CSV
manifest, then the text manifest. A slide without its text manifest is not done, whatever
files it has.

To undo an unfinished slide without guessing, the extractor first writes a *journal*,
``manifests/.partial__<manifest_id>__<wsi_id>.json``, listing the slide and every path it
is about to create; it removes the journal once the text manifest is in place. A journal
left behind (a killed worker or parent) names exactly the files of an attempt that did not
finish, so a resumed run deletes them (and their temporary files) before redoing the slide.
File names carry a random manifest id; deleting the earlier attempt first is what keeps a
redo from leaving two copies of a patch under different ids.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from slidepatch.extract.atomic_write import write_atomically
from slidepatch.extract.manifest import manifest_base_name
from slidepatch.extract.naming import wsi_id_of

MANIFEST_DIR = "manifests"
JOURNAL_PREFIX = ".partial__"
JOURNAL_SUFFIX = ".json"


@dataclass(frozen=True)
class CompleteSlide:
    """A slide already done in an output directory: its manifest id and file count."""

    manifest_id: str
    file_count: int


def journal_path(*, output_dir: str, manifest_id: str, wsi_id: str) -> str:
    """Where the journal of one extraction attempt lives."""
    name = f"{JOURNAL_PREFIX}{manifest_id}__{wsi_id}{JOURNAL_SUFFIX}"
    return os.path.join(output_dir, MANIFEST_DIR, name)


def write_journal(
    *,
    output_dir: str,
    manifest_id: str,
    slide_path: str,
    rel_paths: Sequence[str],
    set_dirs: Sequence[str],
) -> str:
    """Record, before the first image is written, what this attempt will create."""
    wsi_id = wsi_id_of(slide_path)
    path = journal_path(output_dir=output_dir, manifest_id=manifest_id, wsi_id=wsi_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    record = {
        "slide_path": slide_path,
        "manifest_id": manifest_id,
        "wsi_id": wsi_id,
        "paths": list(rel_paths),
        "set_dirs": list(set_dirs),
    }
    write_atomically(path, json.dumps(record).encode("utf-8"))
    return path


def _remove_files(output_dir: str, rel_paths: Sequence[str]) -> None:
    """Remove the listed files and any temporary file written for one of them."""
    by_dir: dict[str, set[str]] = {}
    for rel in rel_paths:
        full = os.path.join(output_dir, rel)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(full)
        directory, name = os.path.split(full)
        by_dir.setdefault(directory, set()).add(name)
    for directory, names in by_dir.items():
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            # write_atomically's temporaries: ".<name>.<8 hex>.tmp"
            if entry.startswith(".") and entry.endswith(".tmp"):
                stem = entry[1:-4].rsplit(".", 1)[0]
                if stem in names:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(directory, entry))


def _remove_empty_dirs(output_dir: str, rel_dirs: Sequence[str]) -> None:
    for rel in rel_dirs:
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(output_dir, rel))


def _manifest_rel_paths(manifest_id: str, wsi_id: str) -> list[str]:
    base = f"{MANIFEST_DIR}/{manifest_base_name(manifest_id, wsi_id)}"
    return [base + ".csv", base + ".txt"]


def discard_attempt(*, output_dir: str, journal: str) -> None:
    """Delete everything one unfinished attempt created (listed in its journal), then it."""
    try:
        with open(journal, encoding="utf-8") as f:
            record = json.load(f)
        manifest_id, wsi_id = str(record["manifest_id"]), str(record["wsi_id"])
        rel_paths = [str(p) for p in record["paths"]]
        set_dirs = [str(d) for d in record["set_dirs"]]
    except (OSError, ValueError, KeyError, TypeError):
        manifest_id = wsi_id = ""
        rel_paths, set_dirs = [], []
    if manifest_id:
        _remove_files(output_dir, rel_paths + _manifest_rel_paths(manifest_id, wsi_id))
        _remove_empty_dirs(output_dir, set_dirs)
    _remove_files(output_dir, [os.path.relpath(journal, output_dir)])


def _journals(output_dir: str) -> list[str]:
    folder = os.path.join(output_dir, MANIFEST_DIR)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [
        os.path.join(folder, n)
        for n in names
        if n.startswith(JOURNAL_PREFIX) and n.endswith(JOURNAL_SUFFIX)
    ]


def _remove_journal_temporaries(output_dir: str, wsi_ids: set[str]) -> None:
    """A worker killed while writing its journal leaves only the journal's temporary file
    (``..partial__<id>__<wsi_id>.json.<hex>.tmp``; no image is written before the journal)."""
    folder = os.path.join(output_dir, MANIFEST_DIR)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    start = "." + JOURNAL_PREFIX
    for name in names:
        if name.startswith(start) and name.endswith(".tmp"):
            wsi_id = name[len(start) :].partition("__")[2].rpartition(JOURNAL_SUFFIX + ".")[0]
            if wsi_id in wsi_ids:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))


def discard_incomplete(*, output_dir: str, slide_paths: Collection[str]) -> int:
    """Undo every unfinished attempt at any of ``slide_paths``; return how many there were."""
    wanted = set(slide_paths)
    _remove_journal_temporaries(output_dir, {wsi_id_of(p) for p in wanted})
    count = 0
    for journal in _journals(output_dir):
        try:
            with open(journal, encoding="utf-8") as f:
                owner = json.load(f).get("slide_path")
        except (OSError, ValueError, AttributeError):
            owner = None
        if owner in wanted:
            discard_attempt(output_dir=output_dir, journal=journal)
            count += 1
    return count


def _read_csv_paths(csv_path: str) -> tuple[list[str], set[str]] | None:
    """The file paths a CSV manifest lists and the slide paths it names (None: unreadable)."""
    try:
        with open(csv_path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, ValueError, csv.Error):
        return None
    try:
        return [r["path"] for r in rows], {r["slide_path"] for r in rows}
    except KeyError:
        return None


class OutputDirIndex:
    """The text manifests of an output directory, listed once, by ``wsi_id``."""

    def __init__(self, *, output_dir: str) -> None:
        self._output_dir = output_dir
        self._ids: dict[str, list[str]] = {}
        try:
            names = sorted(os.listdir(os.path.join(output_dir, MANIFEST_DIR)))
        except OSError:
            names = []
        for name in names:
            if name.startswith("manifest__") and name.endswith(".txt"):
                manifest_id, sep, wsi_id = name[len("manifest__") : -len(".txt")].partition("__")
                if sep:
                    self._ids.setdefault(wsi_id, []).append(manifest_id)

    def find_complete(self, *, slide_path: str, expected_files: int) -> CompleteSlide | None:
        """A complete earlier extraction of ``slide_path``, or None.

        Complete means: the text manifest exists, its CSV lists ``expected_files`` files
        made from this slide, and every one of them exists. Manifests of this slide that
        fail the test (files deleted since, another patch count) are removed with their
        remaining files, so the redo leaves nothing stale behind.
        """
        out = self._output_dir
        wsi_id = wsi_id_of(slide_path)
        found: CompleteSlide | None = None
        for manifest_id in self._ids.get(wsi_id, []):
            base = os.path.join(out, MANIFEST_DIR, manifest_base_name(manifest_id, wsi_id))
            listed = _read_csv_paths(base + ".csv")
            if listed is None:
                continue
            paths, slides = listed
            if slides and slides != {slide_path}:
                continue  # another slide with the same file name
            complete = len(paths) == expected_files and all(
                os.path.isfile(os.path.join(out, p)) for p in paths
            )
            if complete:  # an earlier complete duplicate (run without resume) is left alone
                if found is None:
                    found = CompleteSlide(manifest_id=manifest_id, file_count=len(paths))
                # killed between the text manifest and removing the journal: it is stale
                journal = journal_path(output_dir=out, manifest_id=manifest_id, wsi_id=wsi_id)
                _remove_files(out, [os.path.relpath(journal, out)])
            else:  # its journal, if any, goes with discard_incomplete
                _remove_files(out, paths + _manifest_rel_paths(manifest_id, wsi_id))
        return found
