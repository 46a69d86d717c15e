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
from typing import Any, Literal

from slidepatch.cli.errors import SlideFailedError, UsageError
from slidepatch.cli.locate import LocateJob, locate_all
from slidepatch.errors import (
    OutputExistsError,
    RunMismatchError,
    SlideIsDirectoryError,
    SlideNotFoundError,
)
from slidepatch.locations.patchset import LevelOrMpp, PatchSet

PREVIEW_DIR = "previews"
MANIFEST_DIR = "manifests"
CONTACT_SHEET = "contact_sheet.png"
CLI_HINT = "use --overwrite or another --out"


@dataclass(frozen=True)
class ExtractRun:
    """One ``extract`` invocation: slides, per-slide files, sampling and output choices."""

    slides: tuple[str, ...]
    output_dir: str
    job: LocateJob  # the template; slide, mask, annotation and preview paths are per slide
    masks: tuple[str, ...] | None = None
    annotations: tuple[str, ...] | None = None
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
    replaced: tuple[str, ...] = ()  # manifest ids of earlier runs removed by --overwrite


def _check_slides(slides: Sequence[str]) -> None:
    for path in slides:
        if not os.path.exists(path):
            raise SlideNotFoundError(path, "no such file")
        if os.path.isdir(path):
            raise SlideIsDirectoryError(path, "is a directory, not a slide file")


def _check_pairing(files: Sequence[str] | None, slides: Sequence[str], option: str) -> None:
    if files is not None and len(files) != len(slides):
        raise UsageError(
            f"{option} needs one file per slide: got {len(files)} for {len(slides)} slides"
        )


def _preview_paths(slides: Sequence[str], output_dir: str) -> list[str]:
    """``previews/<slide id>.png``, numbered when two slides share a file name."""
    from slidepatch.extract.naming import wsi_id_of

    seen: dict[str, int] = {}
    paths = []
    for slide in slides:
        stem = wsi_id_of(slide)
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        name = f"{stem}.png" if n == 0 else f"{stem}-{n + 1}.png"
        paths.append(os.path.join(output_dir, PREVIEW_DIR, name))
    return paths


def _jobs(run: ExtractRun) -> list[LocateJob]:
    previews = _preview_paths(run.slides, run.output_dir) if run.preview else None
    return [
        replace(
            run.job,
            slide_path=slide,
            mask_path=None if run.masks is None else run.masks[i],
            annotation_path=None if run.annotations is None else run.annotations[i],
            preview_path=None if previews is None else previews[i],
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
    return _pool_class(run)(**kwargs)


class _SlideCounter:
    """``locating patches: i/n slides`` on a terminal while locations are computed."""

    def __init__(self, *, total: int, enabled: bool) -> None:
        self._total = total
        self._done = 0
        self._enabled = enabled

    def done(self, _index: int, _result: PatchSet | str) -> None:
        self._done += 1
        if self._enabled:
            sys.stderr.write(f"\rlocating patches: {self._done}/{self._total} slides")
            sys.stderr.flush()

    def close(self) -> None:
        if self._enabled and self._done:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _warn(message: str) -> None:
    print(f"slidepatch: warning: {message}", file=sys.stderr, flush=True)


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
        for files, option in ((run.masks, "--mask"), (run.annotations, "--annotations")):
            if files is not None and real_slide_path(files[i]) != real_slide_path(files[j]):
                raise UsageError(
                    f"{slide} is listed twice (also as {run.slides[j]}) with different "
                    f"{option} files ({files[j]}, {files[i]}); list it once"
                )
        same = "" if slide == run.slides[j] else f" (also as {run.slides[j]})"
        _warn(f"{slide} is listed twice{same}; extracting it once")
    if len(keep) == len(run.slides):
        return run

    def pick(files: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if files is None else tuple(files[i] for i in keep)

    return replace(
        run,
        slides=tuple(run.slides[i] for i in keep),
        masks=pick(run.masks),
        annotations=pick(run.annotations),
    )


def _check_earlier_runs(run: ExtractRun) -> None:
    """Refuse an --out that holds manifests or journals of these slides, unless the user
    said what to do with them (--resume or --overwrite)."""
    if run.resume or run.overwrite:
        return
    from slidepatch.extract.resume import OutputDirIndex
    from slidepatch.pools._earlier_runs import describe_earlier

    earlier = OutputDirIndex(output_dir=run.output_dir, slide_paths=run.slides)
    if earlier:
        raise OutputExistsError(
            f"--out {run.output_dir} already holds {describe_earlier(earlier)}; use --resume "
            "to finish that run, --overwrite to replace those files, or another --out"
        )


def _read_coordinates(run: ExtractRun) -> list[PatchSet | str]:
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
    return [read[s] if s in read else failed[s] for s in run.slides]


def extract(run: ExtractRun) -> ExtractSummary:
    """Locate patches on every slide, extract them to disk, write previews and contact sheet."""
    _check_pairing(run.masks, run.slides, "--mask")
    _check_pairing(run.annotations, run.slides, "--annotations")
    _check_slides(run.slides)
    run = _drop_duplicate_slides(run)
    _check_earlier_runs(run)
    Path(run.output_dir).mkdir(parents=True, exist_ok=True)

    jobs = _jobs(run)
    if run.coords_dir is not None:
        results = _read_coordinates(run)
    else:
        counter = _SlideCounter(total=len(jobs), enabled=not run.quiet and sys.stderr.isatty())
        try:
            results = locate_all(jobs, processes=run.processes, on_done=counter.done)
        finally:
            counter.close()
    failed: list[str] = []
    patch_sets: list[PatchSet] = []
    for job, result in zip(jobs, results, strict=True):
        if isinstance(result, str):
            if not run.skip_failed:
                raise SlideFailedError(result)
            failed.append(result)
            _warn(f"skipped: {result}")
        elif len(result) == 0:
            _warn(f"{job.slide_path}: no patch locations (check the mask and parameters)")
        else:
            patch_sets.append(result)

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
        replaced=tuple(replaced),
    )


def format_summary(summary: ExtractSummary) -> str:
    """The lines printed after a run: counts and where each kind of output went."""
    out = summary.output_dir
    ok = summary.slide_count - len(summary.failed)
    lines = [
        f"{summary.patch_count} patches from {ok} of {summary.slide_count} slides written to {out}",
        f"  manifests:     {os.path.join(out, MANIFEST_DIR)} ({len(summary.manifest_paths)} files)",
    ]
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
    if (args.include or args.exclude) and not args.annotations:
        raise UsageError("--include/--exclude need --annotations")
    if args.outside and not args.annotations:
        raise UsageError("--outside needs --annotations")
    if args.cut_out and not args.annotations:
        raise UsageError("--cut-out needs --annotations")
    if args.object_types and not args.annotations:
        raise UsageError("--object-types needs --annotations")
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
        label=args.label,
        stride=args.stride,
        num_patches=args.num_patches,
        spacing=args.spacing,
        seed=args.seed,
    )


def run_from_args(args: argparse.Namespace) -> ExtractRun:
    """Turn parsed ``extract`` arguments into an :class:`ExtractRun` (usage checks here)."""
    if args.coords is not None and (args.mask or args.annotations):
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
    slides = tuple(os.path.abspath(s) for s in args.slides)
    return ExtractRun(
        slides=slides,
        output_dir=os.path.abspath(args.out),
        job=job,
        masks=None if args.mask is None else tuple(os.path.abspath(m) for m in args.mask),
        annotations=None
        if args.annotations is None
        else tuple(os.path.abspath(a) for a in args.annotations),
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
        coords_dir=None if args.coords is None else os.path.abspath(args.coords),
        coords_format=args.coords_format,
    )
