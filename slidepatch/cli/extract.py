"""``slidepatch extract``: locations for every slide, then one disk extraction pool.

:class:`ExtractRun` holds the choices (from the command line or from ``slidepatch demo``);
:func:`extract` runs them and returns an :class:`ExtractSummary` saying what went where.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from slidepatch.cli.errors import NothingWrittenError, SlideFailedError, UsageError, cli_text
from slidepatch.cli.locate import Located, LocateJob, locate_all
from slidepatch.errors import (
    OutputExistsError,
    RunMismatchError,
    SlideIsDirectoryError,
    SlideNotFoundError,
)
from slidepatch.extract.shards import DEFAULT_SHARD_MAXCOUNT, DEFAULT_SHARD_MAXSIZE
from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.locations.preview import DEFAULT_PREVIEW_SIZE
from slidepatch.options import ReadOptions

PREVIEW_DIR = "previews"
MANIFEST_DIR = "manifests"
CONTACT_SHEET = "contact_sheet.png"
CLI_HINT = "use --overwrite or another --out"
_T = TypeVar("_T")


@dataclass(frozen=True)
class ExtractRun:
    """One ``extract`` invocation: slides, per-slide files, sampling and output choices."""

    slides: tuple[str, ...]
    output_dir: str
    job: LocateJob  # the template; slide, mask, annotation and preview paths are per slide
    masks: tuple[str | None, ...] | None = None  # per slide; None: automatic tissue mask
    annotations: tuple[str, ...] | None = None
    slide_mpps: tuple[float | None, ...] | None = None  # per slide MPP overrides
    labels: tuple[str | None, ...] | None = None  # per slide weak labels (None: job.label)
    slide_ids: tuple[str | None, ...] | None = None  # per slide output ids (None: file stem)
    dry_run: bool = False
    levels: tuple[LevelOrMpp, ...] | None = None
    resampling_mode: Literal["tile", "wsi"] | None = None
    image_type: str = "png"
    jpeg_quality: int | None = None
    processes: int = 1
    threads: int = 4
    resume: bool = False
    overwrite: bool = False
    preview: bool = False
    contact_sheet: bool = False
    create_subdirs: bool = False
    skip_failed: bool = False
    quiet: bool = False
    coords_dir: str | None = None  # read locations from coordinate files instead of sampling
    coords_format: str = "auto"
    output_format: str = "files"
    shard_maxcount: int = DEFAULT_SHARD_MAXCOUNT
    shard_maxsize: int = DEFAULT_SHARD_MAXSIZE
    qc_scores: bool = False
    qc: tuple[tuple[str, float], ...] = ()  # (QcFilter field, threshold) pairs
    artifact_masks: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ExtractSummary:
    """What a run wrote."""

    output_dir: str
    slide_count: int
    patch_count: int
    manifest_paths: tuple[str, ...]
    preview_paths: tuple[str, ...]
    contact_sheet_path: str | None
    failed: tuple[str, ...]
    resumed: tuple[str, ...] = ()
    empty: tuple[tuple[str, str], ...] = ()  # (slide, why it gave no patch)
    located: tuple[tuple[str, dict[str, int]], ...] = ()  # per slide: patches per label
    dry_run: bool = False
    replaced: tuple[str, ...] = ()  # manifest ids of earlier runs removed by --overwrite
    shards: bool = False  # --output-format webdataset


def _check_slides(slides: Sequence[str]) -> None:
    from slidepatch.slide.dicom_series import folder_instances

    for path in slides:
        if not os.path.exists(path):
            raise SlideNotFoundError(path, "no such file")
        if os.path.isdir(path) and not folder_instances(path):
            raise SlideIsDirectoryError(
                path, "is a directory, not a slide file (nor a DICOM series folder)"
            )


def _check_pairing(files: Sequence[str | None] | None, slides: Sequence[str], option: str) -> None:
    if files is not None and len(files) != len(slides):
        raise UsageError(
            f"{option} needs one file per slide: got {len(files)} for {len(slides)} slides"
        )


def _preview_paths(
    slides: Sequence[str], output_dir: str, slide_ids: Sequence[str | None] | None = None
) -> list[str]:
    """``previews/<slide id>.png``, numbered when two slides share a file name."""
    from slidepatch.extract.naming import wsi_id_for

    ids = slide_ids or (None,) * len(slides)
    seen: dict[str, int] = {}
    paths = []
    for slide, slide_id in zip(slides, ids, strict=True):
        stem = wsi_id_for(slide_path=slide, wsi_id=slide_id)
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        name = f"{stem}.png" if n == 0 else f"{stem}-{n + 1}.png"
        paths.append(os.path.join(output_dir, PREVIEW_DIR, name))
    return paths


def _jobs(run: ExtractRun) -> list[LocateJob]:
    previews = (
        _preview_paths(run.slides, run.output_dir, run.slide_ids)
        if run.preview and not run.dry_run
        else None
    )
    labels = run.labels or (None,) * len(run.slides)
    return [
        replace(
            run.job,
            slide_path=slide,
            mask_path=None if run.masks is None else run.masks[i],
            annotation_path=None if run.annotations is None else run.annotations[i],
            preview_path=None if previews is None else previews[i],
            slide_mpp=run.job.slide_mpp if run.slide_mpps is None else run.slide_mpps[i],
            label=run.job.label if labels[i] is None else str(labels[i]),
        )
        for i, slide in enumerate(run.slides)
    ]


def _pool_class(run: ExtractRun) -> Any:
    from slidepatch.pools import DiskPatchExtractorPool, MultiResDiskPatchExtractorPool

    return DiskPatchExtractorPool if run.levels is None else MultiResDiskPatchExtractorPool


def _run_pool(run: ExtractRun, patch_sets: list[PatchSet]) -> Any:
    """One disk pool over every slide, with a progress bar on a terminal."""
    kwargs: dict[str, Any] = {
        "patches_pool": patch_sets,
        "proc_num_workers": max(1, min(run.processes, len(patch_sets))),
        "thread_num_workers": run.threads,
        "output_dir": run.output_dir,
        "image_type": run.image_type,
        "create_subdirs": run.create_subdirs,
        "resampling_mode": run.resampling_mode,
        "on_error": "skip" if run.skip_failed else "raise",
        "resume": run.resume,
        "overwrite": run.overwrite,
        "progress": not run.quiet and sys.stderr.isatty(),
    }
    if run.levels is not None:
        kwargs["levels_or_mpps"] = list(run.levels)
    if run.jpeg_quality is not None:
        kwargs["jpeg_quality"] = run.jpeg_quality
    if run.qc_scores:
        kwargs["qc_scores"] = True
    if run.qc:
        kwargs["qc"] = dict(run.qc)
    if run.masks is not None and (run.qc_scores or run.qc or run.artifact_masks):
        # the tissue masks the locations came from also give qc_mask_tissue
        from slidepatch.slide.identity import real_slide_path

        tissue = {real_slide_path(s): m for s, m in zip(run.slides, run.masks, strict=True)}
        kwargs["tissue_masks"] = [tissue[real_slide_path(ps.slide_path)] for ps in patch_sets]
    if run.artifact_masks is not None:
        from slidepatch.slide.identity import real_slide_path

        by_slide = {
            real_slide_path(s): m for s, m in zip(run.slides, run.artifact_masks, strict=True)
        }
        kwargs["artifact_masks"] = [by_slide[real_slide_path(ps.slide_path)] for ps in patch_sets]
    if run.output_format != "files":
        kwargs["output_format"] = run.output_format
        kwargs["shard_maxcount"] = run.shard_maxcount
        kwargs["shard_maxsize"] = run.shard_maxsize
    return _pool_class(run)(**kwargs)


def _warn(message: str) -> None:
    print(f"slidepatch: warning: {cli_text(message)}", file=sys.stderr, flush=True)


def located_patch_set(result: Located, *, skip_failed: bool, failed: list[str]) -> PatchSet | None:
    """A located slide's PatchSet (maybe empty), after printing its warnings; None for a
    failed slide, which raises ``SlideFailedError`` unless ``skip_failed`` (then it is
    added to ``failed`` with a warning)."""
    for note in result.warnings:
        _warn(note)
    if result.error is None and result.patch_set is not None:
        return result.patch_set
    message = result.error or f"{result.slide_path}: failed"
    if not skip_failed:
        raise SlideFailedError(message)
    failed.append(message)
    _warn(f"skipped: {message}")
    return None


def _located_counts(located: Sequence[Located]) -> tuple[tuple[str, dict[str, int]], ...]:
    return tuple(
        (item.slide_path, item.patch_set.patch_info)
        for item in located
        if item.patch_set is not None
    )


def _drop_duplicate_slides(run: ExtractRun) -> ExtractRun:
    """A slide listed twice (the same file through any path) is extracted once, with a
    warning; twice with different masks or annotations is an error."""
    from slidepatch.slide.identity import real_slide_path

    first: dict[str, int] = {}
    keep: list[int] = []
    for i, slide in enumerate(run.slides):
        j = first.setdefault(real_slide_path(slide), i)
        if j == i:
            keep.append(i)
            continue
        for files, option in (
            (run.masks, "--mask"),
            (run.annotations, "--annotations"),
            (run.artifact_masks, "--artifact-mask"),
        ):
            if files is not None and _real_or_none(files[i]) != _real_or_none(files[j]):
                raise UsageError(
                    f"{slide} is listed twice (also as {run.slides[j]}) with different "
                    f"{option} files ({files[j]}, {files[i]}); list it once"
                )
        if run.slide_ids is not None and run.slide_ids[i] != run.slide_ids[j]:
            raise UsageError(
                f"{slide} is listed twice (also as {run.slides[j]}) with different slide ids "
                f"({run.slide_ids[j]}, {run.slide_ids[i]}); list it once"
            )
        same = "" if slide == run.slides[j] else f" (also as {run.slides[j]})"
        _warn(f"{slide} is listed twice{same}; extracting it once")
    if len(keep) == len(run.slides):
        return run

    def pick(values: tuple[_T, ...] | None) -> tuple[_T, ...] | None:
        return None if values is None else tuple(values[i] for i in keep)

    return replace(
        run,
        slides=tuple(run.slides[i] for i in keep),
        masks=pick(run.masks),
        annotations=pick(run.annotations),
        artifact_masks=pick(run.artifact_masks),
        slide_mpps=pick(run.slide_mpps),
        labels=pick(run.labels),
        slide_ids=pick(run.slide_ids),
    )


def _real_or_none(path: str | None) -> str | None:
    from slidepatch.slide.identity import real_slide_path

    return None if path is None else real_slide_path(path)


def _check_earlier_runs(run: ExtractRun) -> None:
    """Refuse an --out that holds manifests or journals of these slides, unless the user
    said what to do with them (--resume or --overwrite)."""
    if run.resume or run.overwrite:
        return
    from slidepatch.extract.resume import OutputDirIndex
    from slidepatch.pools._earlier_runs import describe_earlier

    earlier = OutputDirIndex(
        output_dir=run.output_dir,
        slide_paths=run.slides,
        wsi_ids=[i for i in run.slide_ids or () if i is not None],
    )
    if earlier:
        raise OutputExistsError(
            f"--out {run.output_dir} already holds {describe_earlier(earlier)}; use --resume "
            "to finish that run, --overwrite to replace those files, or another --out"
        )


def _read_coordinates(run: ExtractRun) -> list[Located]:
    """The slides' locations from the coordinate files in ``run.coords_dir``."""
    from slidepatch.locations.coordinates.pool import CoordinateFilesPool

    assert run.coords_dir is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the failures are reported below, one line each
        pool = CoordinateFilesPool(
            coords_dir=run.coords_dir,
            wsi_file_list=run.slides,
            format=run.coords_format,  # type: ignore[arg-type]
            on_error="skip" if run.skip_failed else "raise",
        )
    read = {ps.slide_path: ps for ps in pool.patch_sets}
    failed = {path: str(exc) for path, exc in pool.failed_slides.items()}
    return [
        Located(s, read[s], empty_reason="its coordinate file holds no coordinates")
        if s in read
        else Located(s, None, error=failed[s])
        for s in run.slides
    ]


def _ids_by_slide(run: ExtractRun) -> dict[str, str]:
    """Slide path -> the table's slide id, for slides that have one."""
    if run.slide_ids is None:
        return {}
    return {s: i for s, i in zip(run.slides, run.slide_ids, strict=True) if i is not None}


def extract(run: ExtractRun) -> ExtractSummary:
    """Locate patches on every slide, extract them to disk, write previews and contact sheet."""
    _check_pairing(run.masks, run.slides, "--mask")
    _check_pairing(run.artifact_masks, run.slides, "--artifact-mask")
    _check_pairing(run.annotations, run.slides, "--annotations")
    _check_slides(run.slides)
    run = _drop_duplicate_slides(run)
    if not run.dry_run:  # a dry run writes nothing, so an earlier run in --out is no matter
        _check_earlier_runs(run)
        Path(run.output_dir).mkdir(parents=True, exist_ok=True)

    from slidepatch.progress import SlideProgress

    jobs = _jobs(run)
    if run.coords_dir is not None:
        results = _read_coordinates(run)
    else:
        counter = SlideProgress(total=len(jobs), enabled=not run.quiet and sys.stderr.isatty())
        try:
            results = locate_all(
                jobs, processes=run.processes, on_done=lambda _i, _r: counter.update()
            )
        finally:
            counter.close()
    failed: list[str] = []
    empty: list[tuple[str, str]] = []
    patch_sets: list[PatchSet] = []
    ids = _ids_by_slide(run)
    for result in results:
        ps = located_patch_set(result, skip_failed=run.skip_failed, failed=failed)
        if ps is None:
            continue
        if len(ps) == 0:
            why = result.empty_reason or "no location passed the tests"
            empty.append((result.slide_path, why))
            _warn(f"{result.slide_path}: no patches: {why}")
            continue
        if result.capped_from is not None and not run.quiet:
            print(
                f"{os.path.basename(result.slide_path)}: --max-patches kept "
                f"{len(ps)} of {result.capped_from} patches",
                file=sys.stderr,
                flush=True,
            )
        slide_id = ids.get(result.slide_path)
        patch_sets.append(ps if slide_id is None else replace(ps, wsi_id=slide_id))
    if run.dry_run:
        return ExtractSummary(
            output_dir=run.output_dir,
            slide_count=len(run.slides),
            patch_count=sum(len(p) for p in patch_sets),
            manifest_paths=(),
            preview_paths=(),
            contact_sheet_path=None,
            failed=tuple(failed),
            empty=tuple(empty),
            located=_located_counts(results),
            dry_run=True,
        )

    manifest_paths: list[str] = []
    patch_count = 0
    manifest_ids: list[str] = []
    resumed: list[str] = []
    replaced: list[str] = []
    if patch_sets:
        try:
            pool = _run_pool(run, patch_sets)
        except RunMismatchError as exc:
            raise RunMismatchError(exc.mismatches, CLI_HINT) from None
        patch_count += pool.patch_count
        for slide, error in pool.failed_slides.items():
            failed.append(f"{slide}: {error}")
            _warn(f"skipped: {slide}: {error}")
        manifest_ids.extend(m for m in pool.manifest_ids if m is not None)
        resumed.extend(pool.resumed_slides)
        replaced.extend(pool.replaced_manifest_ids)
        folder = Path(run.output_dir) / MANIFEST_DIR
        for manifest_id in manifest_ids:
            manifest_paths.extend(
                str(p) for p in sorted(folder.glob(f"manifest__{manifest_id}__*"))
            )

    sheet_path = None
    if run.contact_sheet and manifest_ids:
        from slidepatch.contact_sheet import contact_sheet_from_output

        sheet_path = os.path.join(run.output_dir, CONTACT_SHEET)
        contact_sheet_from_output(
            output_dir=run.output_dir, manifest_ids=manifest_ids, path=sheet_path
        )
    previews = tuple(
        job.preview_path
        for job in jobs
        if job.preview_path is not None and os.path.exists(job.preview_path)
    )
    return ExtractSummary(
        output_dir=run.output_dir,
        slide_count=len(run.slides),
        patch_count=patch_count,
        manifest_paths=tuple(manifest_paths),
        preview_paths=previews,
        contact_sheet_path=sheet_path,
        failed=tuple(failed),
        resumed=tuple(resumed),
        empty=tuple(empty),
        located=_located_counts(results),
        replaced=tuple(replaced),
        shards=run.output_format == "webdataset",
    )


def format_dry_run(summary: ExtractSummary) -> str:
    """Per slide and label, the patches a run would write."""
    lines = [
        f"dry run: {summary.patch_count} patches from {len(summary.located)} of "
        f"{summary.slide_count} slides (nothing written)"
    ]
    reasons = dict(summary.empty)
    for slide, counts in summary.located:
        total = sum(counts.values())
        per_label = ", ".join(f"{label or '(no label)'} {n}" for label, n in counts.items())
        if total == 0:
            lines.append(f"  {slide}: 0 patches: {reasons.get(slide, 'none passed the tests')}")
        else:
            lines.append(f"  {slide}: {total} patches ({per_label})")
    return "\n".join(lines)


def check_something_written(summary: ExtractSummary) -> None:
    """A run that writes (or would write) no patch at all fails, saying why."""
    if summary.patch_count or summary.resumed:
        return
    if summary.empty:
        why = "; ".join(f"{slide}: {reason}" for slide, reason in summary.empty)
        raise NothingWrittenError(f"no patch to write: {why}")
    if not summary.failed:
        raise NothingWrittenError("no patch to write")


def format_summary(summary: ExtractSummary) -> str:
    """The lines printed after a run: counts and where each kind of output went."""
    out = summary.output_dir
    ok = summary.slide_count - len(summary.failed)
    lines = [
        f"{summary.patch_count} patches from {ok} of {summary.slide_count} slides written to {out}",
        f"  manifests:     {os.path.join(out, MANIFEST_DIR)} ({len(summary.manifest_paths)} files)",
    ]
    if summary.shards:
        lines.append(f"  shards:        {os.path.join(out, 'shards')} (index: {out}/index)")
    if summary.preview_paths:
        lines.append(f"  previews:      {os.path.join(out, PREVIEW_DIR)}")
    if summary.contact_sheet_path:
        lines.append(f"  contact sheet: {summary.contact_sheet_path}")
    if summary.resumed:
        lines.append(f"  resumed:       {len(summary.resumed)} slides were already complete")
    if summary.replaced:
        lines.append(
            f"  overwritten:   {len(summary.replaced)} earlier slide extractions were removed"
        )
    if summary.empty:
        lines.append(f"  no patches:    {len(summary.empty)} slides (see the warnings above)")
    if summary.failed:
        lines.append(f"  failed:        {len(summary.failed)} slides (see the warnings above)")
    return "\n".join(lines)


def _object_types(given: list[str] | None) -> tuple[str, ...] | None:
    """``--object-types``: None (every type) for "all", the default ("annotation",) if unset."""
    if not given:
        return ("annotation",)
    return None if [t.lower() for t in given] == ["all"] else tuple(given)


def job_from_args(args: argparse.Namespace) -> LocateJob:
    """The location template shared by ``extract`` and ``locate`` (usage checks here)."""
    if args.sampling == "random" and args.num_patches is None:
        raise UsageError("--sampling random needs --num-patches")
    level: LevelOrMpp = args.mpp if args.mpp is not None else (args.level or 0)
    return LocateJob(
        slide_path="",
        sampling=args.sampling,
        patch_size=args.patch_size,
        level_or_mpp=level,
        foreground_ratio=args.foreground_ratio,
        overlap_ratio=args.overlap_ratio,
        mask_min_size=args.mask_min_size,
        outside_annotations=args.outside,
        included_labels=tuple(args.include or ()),
        excluded_labels=tuple(args.exclude or ()),
        exclusion_labels=tuple(args.cut_out or ()),
        object_types=_object_types(args.object_types),
        label_from=args.label_from,
        label=args.label,
        stride=args.stride,
        num_patches=args.num_patches,
        spacing=args.spacing,
        seed=args.seed,
        backend=args.backend,
        slide_mpp=args.slide_mpp,
        max_patches=args.max_patches,
        preview_size=getattr(args, "preview_size", DEFAULT_PREVIEW_SIZE),
        read_options=ReadOptions(
            backend=args.backend,
            mpp_tolerance=args.mpp_tolerance,
            tile_cache_bytes=None if args.tile_cache_mb is None else args.tile_cache_mb * 2**20,
        ),
    )


def _slide_inputs(
    args: argparse.Namespace,
) -> tuple[
    tuple[str, ...],
    tuple[str | None, ...] | None,
    tuple[str, ...] | None,
    tuple[float | None, ...] | None,
    tuple[str | None, ...] | None,
    tuple[str | None, ...] | None,
]:
    """Slides, and per slide: mask, annotations, MPP override, label (paired by name),
    slide id (from the table)."""
    from slidepatch.cli import inputs

    table = getattr(args, "slide_table", None)  # only ``extract`` takes a slide table
    if table and args.slides:
        raise UsageError("give slide files or --slides TABLE.csv, not both")
    if not table and not args.slides:
        raise UsageError("no slides: give slide files or --slides TABLE.csv")
    masks: tuple[str | None, ...] | None = None
    notes: tuple[str, ...] | None = None
    mpps: tuple[float | None, ...] | None = None
    labels: tuple[str | None, ...] | None = None
    ids: tuple[str | None, ...] | None = None
    if table:
        rows = inputs.read_slide_table(table)
        slides = tuple(r.slide for r in rows)
        in_table = [
            flag
            for flag, column, given in (
                ("--mask/--mask-dir", "mask", args.mask or args.mask_dir),
                (
                    "--annotations/--annotations-dir",
                    "annotations",
                    args.annotations or args.annotations_dir,
                ),
            )
            if given and any(getattr(r, column) is not None for r in rows)
        ]
        if in_table:
            raise UsageError(f"{in_table[0]} and the table's column both name files; use one")
        if any(r.mask is not None for r in rows):
            masks = tuple(r.mask for r in rows)
        if rows[0].annotations is not None:
            notes = tuple(str(r.annotations) for r in rows)
        if any(r.mpp is not None for r in rows):
            mpps = tuple(args.slide_mpp if r.mpp is None else r.mpp for r in rows)
        if any(r.label is not None for r in rows):
            labels = tuple(r.label for r in rows)
        if any(r.slide_id is not None for r in rows):
            ids = tuple(r.slide_id for r in rows)
    else:
        from slidepatch.slide.dicom_series import group_dicom_series

        # a DICOM series' files (series/*.dcm) are one slide: its folder
        slides = tuple(group_dicom_series([os.path.abspath(s) for s in args.slides]))
    if args.mask:
        masks = tuple(
            inputs.pair_by_name(slides, [os.path.abspath(m) for m in args.mask], option="--mask")
        )
    elif args.mask_dir:
        masks = tuple(
            inputs.pair_from_folder(
                slides, args.mask_dir, option="--mask-dir", suffixes=inputs.MASK_SUFFIXES
            )
        )
    if args.annotations:
        files = [os.path.abspath(a) for a in args.annotations]
        notes = tuple(inputs.pair_by_name(slides, files, option="--annotations"))
    elif args.annotations_dir:
        notes = tuple(
            inputs.pair_from_folder(
                slides,
                args.annotations_dir,
                option="--annotations-dir",
                suffixes=inputs.ANNOTATION_SUFFIXES,
            )
        )
    return slides, masks, notes, mpps, labels, ids


def check_annotation_flags(args: argparse.Namespace, annotations: object) -> None:
    """--include/--exclude/--outside/--cut-out/--object-types need annotations (from files,
    a folder or a table)."""
    if (args.include or args.exclude) and not annotations:
        raise UsageError("--include/--exclude need --annotations")
    if args.outside and not annotations:
        raise UsageError("--outside needs --annotations")
    if args.cut_out and not annotations:
        raise UsageError("--cut-out needs --annotations")
    if args.object_types and not annotations:
        raise UsageError("--object-types needs --annotations")
    if args.label_from and not annotations:
        raise UsageError("--label-from needs --annotations")


def run_from_args(args: argparse.Namespace) -> ExtractRun:
    """Turn parsed ``extract`` arguments into an :class:`ExtractRun` (usage checks here)."""
    from slidepatch.cli.inputs import pair_by_name

    if args.coords is not None and (
        args.mask or args.annotations or args.mask_dir or args.annotations_dir
    ):
        raise UsageError("--coords takes the locations from files: drop --mask/--annotations")
    if args.coords is not None and args.preview:
        raise UsageError("--preview draws sampled locations: it cannot be used with --coords")
    if args.coords is None and args.coords_format != "auto":
        raise UsageError("--coords-format needs --coords")
    job = job_from_args(args)
    if args.jpeg_quality is not None and not 1 <= args.jpeg_quality <= 100:
        raise UsageError(f"--jpeg-quality must be between 1 and 100, got {args.jpeg_quality}")
    if args.jpeg_quality is not None and args.image_type != "jpg":
        raise UsageError("--jpeg-quality needs --image-type jpg")
    if args.max_artifact is not None and args.artifact_mask is None:
        raise UsageError("--max-artifact needs --artifact-mask")
    if args.output_format == "webdataset" and (args.subdirs or args.contact_sheet):
        raise UsageError("--subdirs and --contact-sheet need --output-format files")
    slides, masks, annotations, mpps, labels, slide_ids = _slide_inputs(args)
    check_annotation_flags(args, annotations)
    if args.coords is not None and (masks or annotations):
        raise UsageError(
            "--coords takes the locations from files: drop the table's mask and annotations columns"
        )
    return ExtractRun(
        slides=slides,
        output_dir=os.path.abspath(args.out),
        job=job,
        masks=masks,
        annotations=annotations,
        slide_mpps=mpps,
        labels=labels,
        slide_ids=slide_ids,
        levels=None if args.levels is None else tuple(args.levels),
        resampling_mode=args.resample,
        image_type=args.image_type,
        jpeg_quality=args.jpeg_quality,
        processes=args.procs,
        threads=args.threads,
        resume=args.resume,
        overwrite=args.overwrite,
        preview=args.preview,
        contact_sheet=args.contact_sheet,
        create_subdirs=args.subdirs,
        skip_failed=args.skip_failed,
        quiet=args.quiet,
        dry_run=args.dry_run,
        coords_dir=None if args.coords is None else os.path.abspath(args.coords),
        coords_format=args.coords_format,
        output_format=args.output_format,
        shard_maxcount=args.shard_maxcount,
        shard_maxsize=args.shard_maxsize,
        artifact_masks=None
        if args.artifact_mask is None
        else tuple(
            pair_by_name(
                slides, [os.path.abspath(m) for m in args.artifact_mask], option="--artifact-mask"
            )
        ),
        qc_scores=args.qc_scores,
        qc=tuple(
            (name, getattr(args, option))
            for option, name in _QC_OPTIONS
            if getattr(args, option) is not None
        ),
    )


_QC_OPTIONS = (
    ("drop_white", "max_white"),
    ("drop_black", "max_black"),
    ("drop_gray", "max_gray"),
    ("min_tissue", "min_tissue"),
    ("drop_blur", "min_blur"),
    ("max_artifact", "max_artifact"),
)
