"""Checking and normalising what every extractor pool receives."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from slidepatch.engine.executor import OnError, check_start_method
from slidepatch.errors import DuplicatePatchSetError
from slidepatch.extract.base import check_labels, check_resampling_mode
from slidepatch.extract.reader import check_chunksize, check_num_workers
from slidepatch.locations.patchset import PatchSet, PatchSource, as_patchset
from slidepatch.options import ReadOptions
from slidepatch.slide.identity import real_slide_path


def collect_patch_sets(
    patches_pool: Iterable[PatchSource], *, read_options: ReadOptions | None = None
) -> list[PatchSet]:
    """Turn a locations pool or any iterable of location objects / PatchSets into a list,
    read with ``read_options`` when given (see :meth:`PatchSet.with_read_options`)."""
    if isinstance(patches_pool, (str, bytes, PatchSet)) or not isinstance(patches_pool, Iterable):
        raise TypeError(
            "patches_pool must be a locations pool or an iterable of location objects / "
            f"PatchSets, got {type(patches_pool).__name__}"
        )
    sets = []
    for i, item in enumerate(patches_pool):
        try:
            sets.append(as_patchset(item).with_read_options(read_options))
        except TypeError as exc:
            raise TypeError(f"patches_pool item {i}: {exc}") from exc
    if not sets:
        raise ValueError("patches_pool is empty: there is no slide to extract")
    check_no_duplicate_sets(sets)
    return sets


def _placement_digest(ps: PatchSet) -> str:
    """Resolution, locations and sizes (not labels): what decides the pixels read."""
    h = hashlib.sha256(ps.resolution.text.encode())
    for arr in (ps.x, ps.y, ps.width, ps.height):
        h.update(arr.astype("<i8").tobytes())
    return h.hexdigest()


def check_no_duplicate_sets(sets: Sequence[PatchSet]) -> None:
    """Refuse the same PatchSet of the same slide twice (every patch would come out twice).

    Slides are matched by real path, so a symlinked or relative path is the same slide;
    different location sets of one slide (tumour and normal patches) are fine.
    """
    seen: dict[tuple[str, str], int] = {}
    for i, ps in enumerate(sets):
        if len(ps) == 0:
            continue
        key = (real_slide_path(ps.slide_path), _placement_digest(ps))
        first = seen.setdefault(key, i)
        if first != i:
            other = sets[first].slide_path
            given = "" if other == ps.slide_path else f" (item {first} names it {other})"
            raise DuplicatePatchSetError(
                ps.slide_path,
                f"patches_pool items {first} and {i} are the same {len(ps)} patches at "
                f"level_or_mpp {ps.level_or_mpp!r} of this slide{given}: every patch would be "
                "extracted twice; pass each patch set once",
            )


def label_filters(
    included_labels: Sequence[str] | None, excluded_labels: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """Validate the label filters (both non-empty -> ValueError, like the reference)."""
    included = check_labels(included_labels, name="included_labels")
    excluded = check_labels(excluded_labels, name="excluded_labels")
    if included and excluded:
        raise ValueError("give included_labels or excluded_labels, not both")
    return included, excluded


def check_pool_args(
    *,
    proc_num_workers: object,
    thread_num_workers: object,
    proc_mp_chunksize: object,
    thread_mp_chunksize: object,
    start_method: object,
    on_error: object,
    resampling_mode: object,
) -> tuple[int, int, int, int, str | None, OnError]:
    """Validate the worker counts, chunk sizes, start method, error policy and mode."""
    check_resampling_mode(resampling_mode)
    procs = check_num_workers(proc_num_workers, name="proc_num_workers")
    threads = check_num_workers(thread_num_workers, name="thread_num_workers")
    proc_chunk = check_chunksize(proc_mp_chunksize, name="proc_mp_chunksize")
    thread_chunk = check_chunksize(thread_mp_chunksize, name="thread_mp_chunksize")
    start_method = check_start_method(start_method)
    if on_error != "raise" and on_error != "skip":
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    return procs, threads, proc_chunk, thread_chunk, start_method, on_error
