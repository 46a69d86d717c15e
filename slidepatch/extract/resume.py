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

:class:`OutputDirIndex` lists what earlier runs left for some slides (finished manifests
with their fingerprints, unfinished journals), matching slides by real path, for the
pools' ``resume`` / ``overwrite`` choices (see ``slidepatch.pools._earlier_runs``).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from slidepatch.extract.atomic_write import write_atomically
from slidepatch.extract.fingerprint import FINGERPRINT_SUFFIX, Fingerprint, read_fingerprint
from slidepatch.extract.manifest import manifest_base_name
from slidepatch.extract.naming import wsi_id_of
from slidepatch.slide.identity import real_slide_path

MANIFEST_DIR = "manifests"
INDEX_DIR = "index"  # output_format="webdataset": the per-slide Parquet index (shards.py)
JOURNAL_PREFIX = ".partial__"
JOURNAL_SUFFIX = ".json"


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
    replace: bool = False,
    wsi_id: str | None = None,
) -> str:
    """Record, before the first image is written, what this attempt will create
    (``replace``: a longer list for the same attempt, e.g. one more shard; ``wsi_id``: the
    id naming the slide's outputs, by default its file stem)."""
    wsi_id = wsi_id_of(slide_path) if wsi_id is None else wsi_id
    path = journal_path(output_dir=output_dir, manifest_id=manifest_id, wsi_id=wsi_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    record = {
        "slide_path": slide_path,
        "slide_real_path": real_slide_path(slide_path),
        "manifest_id": manifest_id,
        "wsi_id": wsi_id,
        "paths": list(rel_paths),
        "set_dirs": list(set_dirs),
    }
    write_atomically(path, json.dumps(record).encode("utf-8"), exclusive=not replace)
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
    return [base + FINGERPRINT_SUFFIX, base + ".csv", base + ".txt"]


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


def _journal_owner(journal: str) -> str | None:
    """The real path of the slide a journal belongs to (None: unreadable)."""
    try:
        with open(journal, encoding="utf-8") as f:
            record = json.load(f)
        real = record.get("slide_real_path")
        return str(real) if real else real_slide_path(str(record["slide_path"]))
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None


def discard_incomplete(
    *, output_dir: str, slide_paths: Collection[str], wsi_ids: Collection[str] = ()
) -> int:
    """Undo every unfinished attempt at any of ``slide_paths`` (matched by real path, so a
    symlinked or relative path finds the same slide's journals); return how many.
    ``wsi_ids``: chosen ids naming these slides' outputs besides their file stems."""
    wanted = {real_slide_path(p) for p in slide_paths}
    _remove_journal_temporaries(output_dir, {wsi_id_of(p) for p in slide_paths} | set(wsi_ids))
    count = 0
    for journal in _journals(output_dir):
        if _journal_owner(journal) not in wanted:
            continue
        if _finished(journal):  # killed after its text manifest: only the journal is stale
            with contextlib.suppress(FileNotFoundError):
                os.unlink(journal)
            continue
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


@dataclass(frozen=True)
class EarlierManifest:
    """A slide an earlier run finished in an output directory (its text manifest exists)."""

    manifest_id: str
    wsi_id: str
    slide_real_path: str
    fingerprint: Fingerprint | None
    paths: tuple[str, ...]  # image files (or shards and index) it wrote, relative to output_dir
    row_count: int = -1  # rows of its CSV manifest: the images written (-1: unknown)

    def files_exist(self, output_dir: str) -> bool:
        return all(os.path.isfile(os.path.join(output_dir, p)) for p in self.paths)


@dataclass(frozen=True)
class EarlierJournal:
    """An unfinished attempt (a killed worker or parent) at one slide."""

    path: str
    slide_real_path: str


class OutputDirIndex:
    """What earlier runs left in an output directory for some slides, matched by real path.

    Lists the finished slides (text manifest, CSV, fingerprint) and the journals of
    unfinished attempts, keeping those that belong to one of ``slide_paths``.
    """

    def __init__(
        self, *, output_dir: str, slide_paths: Collection[str], wsi_ids: Collection[str] = ()
    ) -> None:
        self._output_dir = output_dir
        wanted = {real_slide_path(p) for p in slide_paths}
        wanted_ids = {wsi_id_of(p) for p in slide_paths} | set(wsi_ids)
        folder = os.path.join(output_dir, MANIFEST_DIR)
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            names = []
        self._manifests: dict[str, list[EarlierManifest]] = {}
        for name in names:
            if not (name.startswith("manifest__") and name.endswith(".txt")):
                continue
            manifest_id, sep, wsi_id = name[len("manifest__") : -len(".txt")].partition("__")
            if not sep:
                continue
            base = os.path.join(folder, name[: -len(".txt")])
            fingerprint = read_fingerprint(base + FINGERPRINT_SUFFIX)
            real = _recorded_real_path(fingerprint)
            if real is None and wsi_id not in wanted_ids:
                continue  # no fingerprint (older slidepatch): only same-named slides
            if real is not None and real not in wanted:
                continue
            listed = _read_csv_paths(base + ".csv")
            if listed is None:
                continue
            paths, slides = listed
            if real is None:
                reals = {real_slide_path(p) for p in slides}
                if len(reals) != 1 or not reals <= wanted:
                    continue
                (real,) = reals
            files = tuple(paths)
            if fingerprint is not None and fingerprint.get("output_format") == "webdataset":
                # one row per image member, all naming their shard; and the index
                index = f"{INDEX_DIR}/{manifest_base_name(manifest_id, wsi_id)}.parquet"
                files = (*dict.fromkeys(paths), index)
            self._manifests.setdefault(real, []).append(
                EarlierManifest(
                    manifest_id=manifest_id,
                    wsi_id=wsi_id,
                    slide_real_path=real,
                    fingerprint=fingerprint,
                    paths=files,
                    row_count=len(paths),
                )
            )
        self._journals: dict[str, list[EarlierJournal]] = {}
        for journal in _journals(output_dir):
            owner = _journal_owner(journal)
            if owner in wanted and not _finished(journal):
                assert owner is not None
                self._journals.setdefault(owner, []).append(EarlierJournal(journal, owner))

    def manifests_for(self, slide_path: str) -> list[EarlierManifest]:
        """The finished earlier extractions of this slide, by manifest name order."""
        return list(self._manifests.get(real_slide_path(slide_path), []))

    def journals_for(self, slide_path: str) -> list[EarlierJournal]:
        return list(self._journals.get(real_slide_path(slide_path), []))

    @property
    def manifests(self) -> list[EarlierManifest]:
        return [m for found in self._manifests.values() for m in found]

    @property
    def journals(self) -> list[EarlierJournal]:
        return [j for found in self._journals.values() for j in found]

    def __bool__(self) -> bool:
        return bool(self._manifests or self._journals)


def _finished(journal: str) -> bool:
    """True when the journal's attempt wrote its text manifest (the journal is stale)."""
    name = os.path.basename(journal)[len(JOURNAL_PREFIX) : -len(JOURNAL_SUFFIX)]
    manifest_id, _, wsi_id = name.partition("__")
    txt = manifest_base_name(manifest_id, wsi_id) + ".txt"
    return os.path.exists(os.path.join(os.path.dirname(journal), txt))


def _recorded_real_path(fingerprint: Fingerprint | None) -> str | None:
    slide = None if fingerprint is None else fingerprint.get("slide")
    path = slide.get("path") if isinstance(slide, dict) else None
    return path if isinstance(path, str) else None


def remove_manifest(*, output_dir: str, manifest: EarlierManifest) -> None:
    """Delete a finished slide's files and manifests (and a stale journal of it)."""
    out = output_dir
    _remove_files(
        out, list(manifest.paths) + _manifest_rel_paths(manifest.manifest_id, manifest.wsi_id)
    )
    journal = journal_path(output_dir=out, manifest_id=manifest.manifest_id, wsi_id=manifest.wsi_id)
    _remove_files(out, [os.path.relpath(journal, out)])
    # multi-resolution set folders it made, once empty (other files keep them)
    folders = {os.path.dirname(p) for p in manifest.paths}
    _remove_empty_dirs(out, sorted((f for f in folders if _is_set_dir(f)), reverse=True))


def _is_set_dir(rel_dir: str) -> bool:
    name = os.path.basename(rel_dir)
    return name.startswith("set") or "__set" in name


def forget_journal(*, output_dir: str, manifest: EarlierManifest) -> None:
    """A slide killed between its text manifest and removing its journal: drop the journal."""
    journal = journal_path(
        output_dir=output_dir, manifest_id=manifest.manifest_id, wsi_id=manifest.wsi_id
    )
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal)  # no folder scan: this runs once per finished slide
