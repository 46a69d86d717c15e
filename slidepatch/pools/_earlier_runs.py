"""What a disk pool does with the files earlier runs left in its output directory.

* ``resume=True``: a slide is skipped only when an earlier run finished it with the same
  fingerprint and all its files exist; a slide finished with other parameters is an error
  naming the differences; unfinished attempts are removed and redone.
* ``overwrite=True``: exactly the files that earlier manifests and journals of these
  slides list are removed first; nothing else in the folder is touched.
* neither (the reference's behaviour): a new manifest id beside the old files, with one
  :class:`~slidepatch.errors.EarlierRunWarning` naming the earlier runs found.

Slides are matched by real path (:mod:`slidepatch.slide.identity`), not by the path string.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slidepatch.errors import EarlierRunWarning, RunMismatchError, SlideNotFoundError
from slidepatch.extract.base import filter_patch_set
from slidepatch.extract.encoders import PatchEncoder
from slidepatch.extract.fingerprint import (
    Fingerprint,
    disk_fingerprint,
    fingerprint_differences,
    output_options,
)
from slidepatch.extract.naming import check_name_part, check_separator
from slidepatch.extract.qc import QcFilter
from slidepatch.extract.resume import (
    EarlierManifest,
    OutputDirIndex,
    discard_attempt,
    forget_journal,
    remove_manifest,
)
from slidepatch.slide.identity import slide_identity

if TYPE_CHECKING:
    from slidepatch.pools.disk import DiskJob

PYTHON_HINT = "use overwrite=True or another output_dir"
_SHOWN = 5  # manifest ids and slide names shown in a warning


def job_fingerprint(job: DiskJob) -> Fingerprint:
    """The fingerprint the worker will record for ``job`` (computed here, in the parent)."""
    o = job.options
    included, excluded = o["included_labels"], o["excluded_labels"]
    return disk_fingerprint(
        patch_set=filter_patch_set(job.patch_set, included=included, excluded=excluded),
        identity=slide_identity(job.patch_set.slide_path),
        encoder=PatchEncoder.create(
            image_type=o["image_type"],
            jpeg_quality=o["jpeg_quality"],
            png_compression=o["png_compression"],
        ),
        jpeg_passthrough=bool(o["jpeg_passthrough"]),
        filename_comment=check_name_part(o["filename_comment"], what="filename_comment"),
        filename_separator=check_separator(o["filename_separator"]),
        create_subdirs=bool(o["create_subdirs"]),
        included_labels=included,
        excluded_labels=excluded,
        resampling_mode=o["resampling_mode"],
        levels_or_mpps=o.get("levels_or_mpps"),
        global_counter=o.get("global_counter"),
        output=shard_options(o),
    )


def shard_options(options: Mapping[str, Any]) -> dict[str, object]:
    """The fingerprint's output keywords for a job's options (empty for default files)."""
    return output_options(
        output_format=options.get("output_format", "files"),
        shard_maxcount=options.get("shard_maxcount", 0),
        shard_maxsize=options.get("shard_maxsize", 0),
        qc_scores=bool(options.get("qc_scores", False)),
        qc=QcFilter.create(options.get("qc")),
        artifact_mask=options.get("artifact_mask"),
        tissue_mask=options.get("tissue_mask"),
    )


@dataclass
class ResumePlan:
    """Slides found complete (input index -> their manifest) and the slides to run."""

    complete: dict[int, EarlierManifest] = field(default_factory=dict)
    todo: list[int] = field(default_factory=list)


def plan_resume(
    *,
    jobs: Sequence[tuple[str, Callable[[], Fingerprint]]],
    earlier: OutputDirIndex,
    output_dir: str,
    hint: str = PYTHON_HINT,
) -> ResumePlan:
    """Match every input ``(slide_path, fingerprint)`` with what ``earlier`` finished.

    Nothing is removed until every slide has been checked, so a mismatch leaves the folder
    as it was. Then finished slides whose files are missing are removed (they are redone).
    """
    plan = ResumePlan()
    claimed: set[str] = set()
    stale: list[EarlierManifest] = []
    unmatched: list[tuple[str, Fingerprint]] = []
    for s, (path, make_fingerprint) in enumerate(jobs):
        found = [m for m in earlier.manifests_for(path) if m.manifest_id not in claimed]
        if not found:
            plan.todo.append(s)
            continue
        try:
            now = make_fingerprint()
        except SlideNotFoundError:
            plan.todo.append(s)  # fails with its own error when it runs
            continue
        same = [m for m in found if not fingerprint_differences(m.fingerprint, now)]
        if not same:
            unmatched.append((path, now))
            plan.todo.append(s)
            continue
        match = same[0]
        claimed.add(match.manifest_id)
        if match.files_exist(output_dir):
            plan.complete[s] = match
        else:
            stale.append(match)
            plan.todo.append(s)
    mismatches = []
    for path, now in unmatched:
        others = [m for m in earlier.manifests_for(path) if m.manifest_id not in claimed]
        if others:
            diffs = fingerprint_differences(others[0].fingerprint, now)
            mismatches.append((path, " and ".join(diffs)))
    if mismatches:
        raise RunMismatchError(mismatches, hint)
    for manifest in stale:
        remove_manifest(output_dir=output_dir, manifest=manifest)
    for manifest in plan.complete.values():
        forget_journal(output_dir=output_dir, manifest=manifest)
    return plan


def replace_earlier(*, output_dir: str, earlier: OutputDirIndex) -> list[str]:
    """``overwrite=True``: remove what earlier runs wrote for these slides; return their ids."""
    removed = []
    for manifest in earlier.manifests:
        remove_manifest(output_dir=output_dir, manifest=manifest)
        removed.append(manifest.manifest_id)
    for journal in earlier.journals:
        discard_attempt(output_dir=output_dir, journal=journal.path)
    return removed


def describe_earlier(earlier: OutputDirIndex) -> str:
    """``2 finished extractions of a.svs, b.svs (manifest ids x, y) and 1 unfinished ...``"""
    parts = []
    manifests = earlier.manifests
    if manifests:
        ids = sorted({m.manifest_id for m in manifests})
        shown = ", ".join(ids[:_SHOWN]) + (", ..." if len(ids) > _SHOWN else "")
        parts.append(
            f"{_count(len(manifests), 'finished extraction')} of "
            f"{_names(m.slide_real_path for m in manifests)} (manifest ids {shown})"
        )
    journals = earlier.journals
    if journals:
        parts.append(
            f"{_count(len(journals), 'unfinished attempt')} (killed runs) at "
            f"{_names(j.slide_real_path for j in journals)}"
        )
    return " and ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _names(paths: Iterable[str]) -> str:
    names = sorted({os.path.basename(p) for p in paths})
    return ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")


def warn_earlier_runs(*, output_dir: str, earlier: OutputDirIndex) -> None:
    """The reference's default (write beside the old files), said once."""
    warnings.warn(
        f"output_dir {output_dir} already holds {describe_earlier(earlier)} from earlier "
        "runs; this run writes a new set beside them (resume=True reuses finished slides "
        "and removes unfinished attempts, overwrite=True replaces them)",
        EarlierRunWarning,
        stacklevel=4,
    )
