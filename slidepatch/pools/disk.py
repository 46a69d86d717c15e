"""Disk extractor pools: many slides over processes, each written by the single-slide extractor.

Each worker opens its slide and runs :class:`DiskPatchExtractor` (or the multi-resolution
one) with ``pool_mode=True``; only the PatchSet goes in and ``(pid, manifest_id,
patch_count)`` comes back. Results are reported in input order, one entry per slide.
For the multi-resolution pool the parent numbers the ``set<N>`` directories before any
work starts: slide ``i`` gets the contiguous range starting at ``global_counter`` plus the
(label-filtered) set counts of slides ``0..i-1``. The numbering belongs to the pool object,
so it is deterministic, does not depend on scheduling, and two pools never interfere.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any

from slidepatch.engine import Executor, OnError, RunPolicy, Task, make_executor
from slidepatch.errors import QcDroppedAllWarning
from slidepatch.extract.base import filter_patch_set
from slidepatch.extract.disk import (
    DiskPatchExtractor,
    MultiResDiskPatchExtractor,
    check_global_counter,
    check_output_dir,
    check_output_labels,
)
from slidepatch.extract.encoders import DEFAULT_JPEG_QUALITY, PatchEncoder
from slidepatch.extract.multires import check_resolutions
from slidepatch.extract.naming import wsi_id_for
from slidepatch.extract.passthrough import check_jpeg_passthrough
from slidepatch.extract.qc import QcFilter, with_artifact_default
from slidepatch.extract.resume import OutputDirIndex, discard_incomplete
from slidepatch.extract.shards import (
    DEFAULT_SHARD_MAXCOUNT,
    DEFAULT_SHARD_MAXSIZE,
    check_output_format,
    check_shard_limits,
    require_pyarrow,
)
from slidepatch.locations.patchset import LevelOrMpp, PatchSet, PatchSource
from slidepatch.options import ReadOptions
from slidepatch.pools._earlier_runs import (
    job_fingerprint,
    plan_resume,
    replace_earlier,
    warn_earlier_runs,
)
from slidepatch.pools._inputs import check_pool_args, collect_patch_sets, label_filters
from slidepatch.pools._progress import task_progress
from slidepatch.slide.slide import ResamplingMode

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class DiskJob:
    """One slide for a worker: its (unfiltered) PatchSet and the extractor's keywords."""

    patch_set: PatchSet
    options: dict[str, Any]
    multires: bool


#: What a disk pool's task returns for each slide: ``(pid, manifest_id, patch_count)``.
DiskResult = tuple[int, str, int]
#: A disk pool's task: a chunk of slides in, one :data:`DiskResult` per slide out.
DiskTask = Task[Sequence[DiskJob], list[DiskResult]]


def run_disk_jobs(jobs: Sequence[DiskJob]) -> list[DiskResult]:
    """Run a chunk of slides; return ``(pid, manifest_id, patch_count)`` per slide."""
    done = []
    for job in jobs:
        cls = MultiResDiskPatchExtractor if job.multires else DiskPatchExtractor
        extractor = cls(patches=job.patch_set, pool_mode=True, **job.options)
        done.append((os.getpid(), extractor.manifest_id, extractor.written_count))
    return done


class _DiskPool:
    """Shared machinery of the two disk pools."""

    _multires = False

    def __init__(
        self,
        *,
        patches_pool: Iterable[PatchSource],
        proc_num_workers: int,
        thread_num_workers: int,
        output_dir: str | PathLike[str],
        image_type: str,
        proc_mp_chunksize: int = 1,
        thread_mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        filename_comment: str = "",
        filename_separator: str = "_",
        create_subdirs: bool = False,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        png_compression: int | None = None,
        jpeg_passthrough: bool = False,
        output_format: str = "files",
        shard_maxcount: int = DEFAULT_SHARD_MAXCOUNT,
        shard_maxsize: int = DEFAULT_SHARD_MAXSIZE,
        qc_scores: bool = False,
        qc: Mapping[str, float] | QcFilter | None = None,
        artifact_masks: Sequence[object] | None = None,
        tissue_masks: Sequence[object] | None = None,
        levels_or_mpps: Sequence[LevelOrMpp] | None = None,
        global_counter: int | None = 1,
        start_method: str | None = None,
        on_error: OnError = "raise",
        resume: bool = False,
        overwrite: bool = False,
        client: Client | None = None,
        scheduler_address: str | None = None,
        progress: bool | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        procs, threads, proc_chunk, thread_chunk, method, on_error = check_pool_args(
            proc_num_workers=proc_num_workers,
            thread_num_workers=thread_num_workers,
            proc_mp_chunksize=proc_mp_chunksize,
            thread_mp_chunksize=thread_mp_chunksize,
            start_method=start_method,
            on_error=on_error,
            resampling_mode=resampling_mode,
        )
        included, excluded = label_filters(included_labels, excluded_labels)
        out_dir = check_output_dir(output_dir)
        engine = make_executor(
            client=client,
            scheduler_address=scheduler_address,
            num_processes=procs,
            start_method=method,
            executor=executor,
        )
        # Fail in the parent, before any process starts, on a bad type or option.
        PatchEncoder.create(
            image_type=image_type, jpeg_quality=jpeg_quality, png_compression=png_compression
        )
        check_jpeg_passthrough(jpeg_passthrough, image_type=str(image_type))
        output_format = check_output_format(output_format)
        check_shard_limits(maxcount=shard_maxcount, maxsize=shard_maxsize)
        if output_format == "webdataset":
            require_pyarrow()
            if create_subdirs:
                raise ValueError('create_subdirs applies to output_format="files" only')
        levels = check_resolutions(levels_or_mpps) if self._multires else None
        counter = check_global_counter(global_counter)
        if resume and overwrite:
            raise ValueError("give resume=True or overwrite=True, not both")
        # the same PatchSet twice is an error
        sets = collect_patch_sets(patches_pool, read_options=read_options)
        for name, given in (("artifact_masks", artifact_masks), ("tissue_masks", tissue_masks)):
            if given is not None and len(given) != len(sets):
                raise ValueError(
                    f"{name} has {len(given)} entries for {len(sets)} slides "
                    "(one per slide, in input order; None for a slide without one)"
                )
        self._slide_paths = [ps.slide_path for ps in sets]
        self._chosen_ids = chosen_ids = [  # checked here, before any process starts
            wsi_id_for(slide_path=ps.slide_path, wsi_id=ps.wsi_id)
            for ps in sets
            if ps.wsi_id is not None
        ]
        options: dict[str, Any] = {
            "num_workers": threads,
            "mp_chunksize": thread_chunk,
            "output_dir": out_dir,
            "image_type": image_type,
            "resampling_mode": resampling_mode,
            "included_labels": included,
            "excluded_labels": excluded,
            "filename_comment": filename_comment,
            "filename_separator": filename_separator,
            "create_subdirs": create_subdirs,
            "jpeg_quality": jpeg_quality,
            "png_compression": png_compression,
            "jpeg_passthrough": jpeg_passthrough,
            "output_format": output_format,
            "shard_maxcount": shard_maxcount,
            "shard_maxsize": shard_maxsize,
            "qc_scores": bool(qc_scores),
            "qc": QcFilter.create(qc),  # checked here, before any process starts
        }
        jobs: list[DiskJob] = []
        planned: list[int] = []  # sets per slide after label filtering (multi-res)
        next_set = counter
        for ps in sets:
            check_output_labels(
                patch_set=filter_patch_set(ps, included=included, excluded=excluded),
                create_subdirs=create_subdirs,
            )
            slide_options = dict(options)
            mask = None if artifact_masks is None else artifact_masks[len(jobs)]
            if mask is not None:
                slide_options["artifact_mask"] = mask
                slide_options["qc"] = with_artifact_default(options["qc"])
            tissue = None if tissue_masks is None else tissue_masks[len(jobs)]
            if tissue is not None:
                slide_options["tissue_mask"] = tissue
            if levels is not None:
                planned.append(len(filter_patch_set(ps, included=included, excluded=excluded)))
                slide_options["levels_or_mpps"] = levels
                slide_options["global_counter"] = next_set
                if next_set is not None:
                    next_set += planned[-1]
            jobs.append(DiskJob(patch_set=ps, options=slide_options, multires=levels is not None))
        self._first_set = counter
        self._planned_sets = planned
        self._levels = levels

        self._pids: list[int | None] = [None] * len(sets)
        self._manifest_ids: list[str | None] = [None] * len(sets)
        self._counts = [0] * len(sets)
        self._failed: dict[str, BaseException] = {}
        self._resumed: list[str] = []
        self._replaced: list[str] = []
        todo = list(range(len(jobs)))
        earlier = OutputDirIndex(
            output_dir=out_dir, slide_paths=self._slide_paths, wsi_ids=chosen_ids
        )
        if resume:
            todo = self._skip_complete(jobs, out_dir, earlier)
        elif overwrite:
            self._replaced = replace_earlier(output_dir=out_dir, earlier=earlier)
        elif earlier:
            warn_earlier_runs(output_dir=out_dir, earlier=earlier)

        tasks: list[DiskTask] = []
        task_slides: list[list[int]] = []
        for t, first in enumerate(range(0, len(todo), proc_chunk)):
            chunk = todo[first : first + proc_chunk]
            paths = tuple(self._slide_paths[s] for s in chunk)
            payload = [jobs[s] for s in chunk]
            tasks.append(Task(index=t, slide_paths=paths, func=run_disk_jobs, payload=payload))
            task_slides.append(chunk)
        per_set = 1 if levels is None else len(levels)
        bar, on_done = task_progress(
            enabled=progress,
            description="writing",
            tasks=tasks,
            task_slides=task_slides,
            slide_patches=[
                len(filter_patch_set(ps, included=included, excluded=excluded)) * per_set
                for ps in sets
            ],
        )
        try:
            policy = RunPolicy(on_error=on_error)
            if engine.reruns_tasks:
                from slidepatch.pools._dask_disk import run_disk_tasks_recorded

                results, failures = run_disk_tasks_recorded(
                    engine, tasks, output_dir=out_dir, policy=policy, on_done=on_done
                )
            else:
                results, failures = engine.run(tasks, policy=policy, on_done=on_done)
            bar.close()
        except BaseException:
            # Workers are stopped by now: undo what unfinished slides left (killed workers
            # leave their journal), so no partial output outlives a failed run.
            discard_incomplete(
                output_dir=out_dir,
                slide_paths={self._slide_paths[s] for s in todo},
                wsi_ids=chosen_ids,
            )
            raise

        for task, slides in zip(tasks, task_slides, strict=True):
            if task.index in failures:
                for s in slides:
                    self._failed[self._slide_paths[s]] = failures[task.index]
                continue
            for s, (pid, manifest_id, count) in zip(slides, results[task.index], strict=True):
                self._pids[s] = pid
                self._manifest_ids[s] = manifest_id
                self._counts[s] = count
        if self._failed:
            discard_incomplete(
                output_dir=out_dir, slide_paths=set(self._failed), wsi_ids=chosen_ids
            )
        self._warn_all_dropped(jobs, included, excluded)

    def _warn_all_dropped(
        self, jobs: Sequence[DiskJob], included: Sequence[str], excluded: Sequence[str]
    ) -> None:
        """Zero patches from a slide that had some is said, never silent."""
        for s, job in enumerate(jobs):
            if job.options.get("qc") is None or self._manifest_ids[s] is None:
                continue
            n = len(filter_patch_set(job.patch_set, included=included, excluded=excluded))
            if n and self._counts[s] == 0:
                warnings.warn(
                    f"{job.patch_set.slide_path}: the quality filters dropped all {n} of its "
                    "patches (counts per filter in its text manifest); nothing written for it",
                    QcDroppedAllWarning,
                    stacklevel=4,
                )

    def _skip_complete(
        self, jobs: Sequence[DiskJob], out_dir: str, earlier: OutputDirIndex
    ) -> list[int]:
        """Resume: record slides finished earlier with this run's fingerprint; undo
        unfinished attempts at the others (see :mod:`slidepatch.extract.resume`); return the
        slides to run. A slide finished with other parameters raises ``RunMismatchError``."""
        plan = plan_resume(
            jobs=[(job.patch_set.slide_path, partial(job_fingerprint, job)) for job in jobs],
            earlier=earlier,
            output_dir=out_dir,
        )
        for s, found in plan.complete.items():
            self._manifest_ids[s] = found.manifest_id
            self._counts[s] = found.row_count
            self._resumed.append(self._slide_paths[s])
        discard_incomplete(
            output_dir=out_dir,
            slide_paths={self._slide_paths[s] for s in plan.todo},
            wsi_ids=self._chosen_ids,
        )
        return plan.todo

    def close(self) -> None:
        """Nothing to release (files are on disk); present for symmetry with memory pools."""

    def __enter__(self) -> _DiskPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def patch_count(self) -> int:
        """Files written (for multi-resolution: sets x levels, like the reference)."""
        return sum(self._counts)

    @property
    def pids(self) -> list[int | None]:
        """The worker pid that wrote each slide, in input order (None if it failed)."""
        return list(self._pids)

    @property
    def manifest_ids(self) -> list[str | None]:
        """Each slide's manifest id, in input order (None if it failed)."""
        return list(self._manifest_ids)

    @property
    def slide_paths(self) -> list[str]:
        """The slides, in input order."""
        return list(self._slide_paths)

    @property
    def failed_slides(self) -> dict[str, BaseException]:
        """Slide path -> error for every slide that failed (``on_error="skip"``)."""
        return dict(self._failed)

    @property
    def replaced_manifest_ids(self) -> list[str]:
        """Manifest ids of the earlier runs' slides that ``overwrite=True`` removed."""
        return list(self._replaced)

    @property
    def resumed_slides(self) -> list[str]:
        """Slides skipped because ``resume=True`` found them complete (their pid is None)."""
        return list(self._resumed)


class DiskPatchExtractorPool(_DiskPool):
    """Write the patches of many slides as image files: processes across slides, threads within.

    Work happens in the constructor. ``pids`` and ``manifest_ids`` are in input order.

    With ``client=`` (a ``dask.distributed.Client``) or ``scheduler_address=``, slides run
    as Dask tasks on the cluster's workers instead of local processes (``output_dir`` must
    be the same shared path on the workers); a worker that dies has its slides rerun
    elsewhere by Dask, and the rerun first removes what the dead attempt wrote. Needs
    ``slidepatch[dask]``. ``executor`` (a :class:`~slidepatch.Executor`) runs the tasks
    instead of ``proc_num_workers`` processes.

    A slide is complete when its text manifest exists (written last). A failed slide leaves
    no files (``on_error="skip"`` lists it in ``failed_slides``). Each slide's fingerprint
    (what decides its files) is recorded beside its manifests. ``resume=True`` skips slides
    finished in ``output_dir`` with the same fingerprint and redoes the others after
    deleting whatever an interrupted earlier run left of them, so no patch is ever written
    twice; a slide finished with other parameters raises ``RunMismatchError``.
    ``overwrite=True`` first removes exactly the files earlier runs wrote for these slides.
    With neither, earlier runs of these slides stay and an ``EarlierRunWarning`` says so.
    The same PatchSet of one slide twice raises ``DuplicatePatchSetError``.
    ``read_options`` (a :class:`~slidepatch.ReadOptions`) replaces the read options the
    location objects carry (their MPP override is kept unless it sets one).
    """

    def __init__(
        self,
        *,
        patches_pool: Iterable[PatchSource],
        proc_num_workers: int,
        thread_num_workers: int,
        output_dir: str | PathLike[str],
        image_type: str,
        proc_mp_chunksize: int = 1,
        thread_mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        filename_comment: str = "",
        filename_separator: str = "_",
        create_subdirs: bool = False,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        png_compression: int | None = None,
        jpeg_passthrough: bool = False,
        output_format: str = "files",
        shard_maxcount: int = DEFAULT_SHARD_MAXCOUNT,
        shard_maxsize: int = DEFAULT_SHARD_MAXSIZE,
        qc_scores: bool = False,
        qc: Mapping[str, float] | QcFilter | None = None,
        artifact_masks: Sequence[object] | None = None,
        tissue_masks: Sequence[object] | None = None,
        start_method: str | None = None,
        on_error: OnError = "raise",
        resume: bool = False,
        overwrite: bool = False,
        client: Client | None = None,
        scheduler_address: str | None = None,
        progress: bool | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(
            patches_pool=patches_pool,
            proc_num_workers=proc_num_workers,
            thread_num_workers=thread_num_workers,
            output_dir=output_dir,
            image_type=image_type,
            proc_mp_chunksize=proc_mp_chunksize,
            thread_mp_chunksize=thread_mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
            filename_comment=filename_comment,
            filename_separator=filename_separator,
            create_subdirs=create_subdirs,
            jpeg_quality=jpeg_quality,
            png_compression=png_compression,
            jpeg_passthrough=jpeg_passthrough,
            output_format=output_format,
            shard_maxcount=shard_maxcount,
            shard_maxsize=shard_maxsize,
            qc_scores=qc_scores,
            qc=qc,
            artifact_masks=artifact_masks,
            tissue_masks=tissue_masks,
            start_method=start_method,
            on_error=on_error,
            resume=resume,
            overwrite=overwrite,
            client=client,
            scheduler_address=scheduler_address,
            progress=progress,
            read_options=read_options,
            executor=executor,
        )

    def __enter__(self) -> DiskPatchExtractorPool:
        return self


class MultiResDiskPatchExtractorPool(_DiskPool):
    """Like :class:`DiskPatchExtractorPool`, one centred patch per ``levels_or_mpps`` entry.

    ``global_counter`` (default 1) starts the ``set<N>`` numbering; slides get contiguous
    ranges in input order. ``None`` numbers sets per slide (``<wsi_id>__set<N>``).
    """

    _multires = True

    def __init__(
        self,
        *,
        patches_pool: Iterable[PatchSource],
        levels_or_mpps: Sequence[LevelOrMpp],
        proc_num_workers: int,
        thread_num_workers: int,
        output_dir: str | PathLike[str],
        image_type: str,
        global_counter: int | None = 1,
        proc_mp_chunksize: int = 1,
        thread_mp_chunksize: int = 1,
        resampling_mode: ResamplingMode = None,
        included_labels: Sequence[str] | None = None,
        excluded_labels: Sequence[str] | None = None,
        filename_comment: str = "",
        filename_separator: str = "_",
        create_subdirs: bool = False,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        png_compression: int | None = None,
        jpeg_passthrough: bool = False,
        output_format: str = "files",
        shard_maxcount: int = DEFAULT_SHARD_MAXCOUNT,
        shard_maxsize: int = DEFAULT_SHARD_MAXSIZE,
        qc_scores: bool = False,
        qc: Mapping[str, float] | QcFilter | None = None,
        artifact_masks: Sequence[object] | None = None,
        tissue_masks: Sequence[object] | None = None,
        start_method: str | None = None,
        on_error: OnError = "raise",
        resume: bool = False,
        overwrite: bool = False,
        client: Client | None = None,
        scheduler_address: str | None = None,
        progress: bool | None = None,
        read_options: ReadOptions | None = None,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(
            patches_pool=patches_pool,
            levels_or_mpps=levels_or_mpps,
            global_counter=global_counter,
            proc_num_workers=proc_num_workers,
            thread_num_workers=thread_num_workers,
            output_dir=output_dir,
            image_type=image_type,
            proc_mp_chunksize=proc_mp_chunksize,
            thread_mp_chunksize=thread_mp_chunksize,
            resampling_mode=resampling_mode,
            included_labels=included_labels,
            excluded_labels=excluded_labels,
            filename_comment=filename_comment,
            filename_separator=filename_separator,
            create_subdirs=create_subdirs,
            jpeg_quality=jpeg_quality,
            png_compression=png_compression,
            jpeg_passthrough=jpeg_passthrough,
            output_format=output_format,
            shard_maxcount=shard_maxcount,
            shard_maxsize=shard_maxsize,
            qc_scores=qc_scores,
            qc=qc,
            artifact_masks=artifact_masks,
            tissue_masks=tissue_masks,
            start_method=start_method,
            on_error=on_error,
            resume=resume,
            overwrite=overwrite,
            client=client,
            scheduler_address=scheduler_address,
            progress=progress,
            read_options=read_options,
            executor=executor,
        )

    def __enter__(self) -> MultiResDiskPatchExtractorPool:
        return self

    @classmethod
    def reset_global_counter(cls) -> None:
        """The reference's class-wide counter reset; a no-op here.

        Each pool numbers its sets from its own ``global_counter``, so there is no shared
        counter to reset: two pools given the same ``global_counter`` write the same
        ``set<N>`` numbers, as reference code calling this between pools expects.
        """

    @classmethod
    def remove_global_counter(cls) -> None:
        """The reference's switch back to per-slide numbering; a no-op here.

        Pass ``global_counter=None`` to a pool for per-slide numbering.
        """

    @property
    def patchset_count(self) -> int:
        """Number of multi-resolution sets written."""
        assert self._levels is not None
        return self.patch_count // len(self._levels)

    @property
    def set_ranges(self) -> list[tuple[int, int] | None]:
        """Per slide, in input order: the first and last ``set<N>`` number it received.

        ``None`` for every slide when ``global_counter`` is None (per-slide numbering) and
        for slides without sets.
        """
        ranges: list[tuple[int, int] | None] = []
        if self._first_set is None:
            return [None] * len(self._slide_paths)
        start = self._first_set
        for count in self._planned_sets:
            ranges.append((start, start + count - 1) if count else None)
            start += count
        return ranges
