"""Patch locations for the command line: one job per slide, run inline or in processes.

A job is a small picklable value (paths and numbers). The worker opens the slide, builds
the tissue mask (or loads the given mask file), reads the annotation file, runs the chosen
location class, caps the count if asked, writes the preview if asked, and returns a
:class:`Located`: the PatchSet, or a one-line error, plus why it is empty and the warnings
raised on the way, so the parent prints them (exceptions never have to be pickled).

Slides run on the engine's local processes (:mod:`slidepatch.engine`), whose workers
ignore SIGINT from birth: Ctrl-C reaches the parent only, which terminates them and exits
with one line, so no worker prints a traceback.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from slidepatch.cli.errors import cli_text
from slidepatch.errors import NoPatchesWarning, SlidepatchError
from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.locations.preview import DEFAULT_PREVIEW_SIZE
from slidepatch.options import DEFAULT_READ_OPTIONS, ReadOptions, read_options_of

if TYPE_CHECKING:
    from slidepatch.slide.slide import BackendName

Sampling = Literal["grid", "random", "poisson"]

_WHOLE = {
    "grid": "WholeImageGridPatches",
    "random": "WholeImageRandomPatches",
    "poisson": "WholeImagePoissonDiskPatches",
}
_INSIDE = {
    "grid": "PolygonRegionGridPatches",
    "random": "PolygonRegionRandomPatches",
    "poisson": "PolygonRegionPoissonDiskPatches",
}
_OUTSIDE = {
    "grid": "WholeImageInvertedGridPatches",
    "random": "WholeImageInvertedRandomPatches",
    "poisson": "WholeImageInvertedPoissonDiskPatches",
}


@dataclass(frozen=True)
class LocateJob:
    """Everything needed to compute one slide's patch locations."""

    slide_path: str
    sampling: Sampling
    patch_size: int
    level_or_mpp: LevelOrMpp
    foreground_ratio: float
    overlap_ratio: float
    mask_path: str | None = None
    mask_min_size: int = 1000
    annotation_path: str | None = None
    outside_annotations: bool = False
    included_labels: tuple[str, ...] = ()
    excluded_labels: tuple[str, ...] = ()
    exclusion_labels: tuple[str, ...] = ()
    object_types: tuple[str, ...] | None = ("annotation",)
    label_from: str | None = None
    label: str = ""
    stride: float = 1.0
    num_patches: int | None = None
    spacing: float = 50.0
    seed: int | None = None
    preview_path: str | None = None
    slide_mpp: float | None = None
    max_patches: int | None = None
    preview_size: int | None = DEFAULT_PREVIEW_SIZE  # long side; None: the mask's size
    backend: BackendName = "auto"
    read_options: ReadOptions = DEFAULT_READ_OPTIONS  # --mpp-tolerance, --tile-cache-mb

    @property
    def options(self) -> ReadOptions:
        """The read options with this slide's --backend and MPP override applied."""
        return read_options_of(
            self.read_options, backend=self.backend, mpp=self.slide_mpp, path=self.slide_path
        )


@dataclass(frozen=True)
class Located:
    """One slide's outcome: its PatchSet, or the error that stopped it."""

    slide_path: str
    patch_set: PatchSet | None
    error: str | None = None
    empty_reason: str | None = None
    warnings: tuple[str, ...] = ()
    capped_from: int | None = None


def read_annotation_file(
    path: str,
    *,
    object_types: tuple[str, ...] | None = ("annotation",),
    label_from: str | None = None,
) -> list[Any]:
    """Polygons from any annotation file :func:`~slidepatch.read_annotations` reads.

    What the reader skipped or repaired comes as an ``AnnotationWarning``, which
    :func:`locate_slide` hands to the parent like every other warning.
    """
    from slidepatch.annotations import read_annotations

    return list(read_annotations(path, object_types=object_types, label_from=label_from))


def _class_name(job: LocateJob) -> str:
    if job.annotation_path is None:
        return _WHOLE[job.sampling]
    return (_OUTSIDE if job.outside_annotations else _INSIDE)[job.sampling]


def _mask_for(job: LocateJob) -> Any:
    if job.mask_path is not None:
        return job.mask_path
    from slidepatch.masks import WSITissueMask

    return WSITissueMask(
        wsi_file=job.slide_path,
        level_or_minsize=job.mask_min_size,
        slide_mpp=job.slide_mpp,
        backend=job.backend,
        read_options=job.options,
    )


def locate(job: LocateJob, *, polygons: list[Any] | None = None) -> Any:
    """Run the location class for one slide and return the location object.

    ``polygons``: the job's annotations, when the caller has read them already.
    """
    from slidepatch import locations

    kwargs: dict[str, Any] = {
        "wsi_file": job.slide_path,
        "mask_data": _mask_for(job),
        "patch_size": job.patch_size,
        "level_or_mpp": job.level_or_mpp,
        "foreground_ratio": job.foreground_ratio,
        "overlap_ratio": job.overlap_ratio,
        "seed": job.seed,
        "backend": job.backend,
        "slide_mpp": job.slide_mpp,
        "read_options": job.options,
        "distance_units": "read",  # --spacing is in pixels at the read level
    }
    if job.sampling == "grid":
        kwargs["patch_stride"] = job.stride
    elif job.sampling == "random":
        kwargs["num_patches"] = job.num_patches
    else:
        kwargs["poisson_spacing"] = job.spacing
    if job.annotation_path is not None:
        if polygons is None:
            polygons = read_annotation_file(
                job.annotation_path, object_types=job.object_types, label_from=job.label_from
            )
        kwargs["polygon_data"] = polygons
        kwargs["included_labels"] = list(job.included_labels)
        kwargs["excluded_labels"] = list(job.excluded_labels)
        if job.exclusion_labels:
            kwargs["exclusion_labels"] = list(job.exclusion_labels)
    if job.annotation_path is None or job.outside_annotations:
        kwargs["weak_label"] = job.label
    return getattr(locations, _class_name(job))(**kwargs)


def cap_patches(patch_set: PatchSet, *, limit: int | None, seed: int | None) -> PatchSet:
    """At most ``limit`` patches: a random subset (seed ``seed``, else 0), in their order."""
    n = len(patch_set)
    if limit is None or n <= limit:
        return patch_set
    rng = np.random.default_rng(0 if seed is None else seed)
    kept = patch_set.select(np.sort(rng.choice(n, size=limit, replace=False)))
    # recorded with the parameters, so a run's fingerprint names the cap
    return replace(kept, param_info={**kept.param_info, "max_patches": limit})


def _unmatched_labels(job: LocateJob, polygons: list[Any]) -> str | None:
    """An --include/--exclude label no polygon has: a typo that silently changes patches."""
    from slidepatch.locations.empty import label_reason

    present = sorted({str(p.label) for p in polygons})
    wanted = job.included_labels or job.excluded_labels
    missing = [label for label in wanted if label not in present]
    if not missing or not present:
        return None
    flag = "--include" if job.included_labels else "--exclude"
    detail = label_reason(wanted=missing, present=present, excluded=False).message
    detail = detail.replace("no polygon has an included label", f"no polygon has the {flag} label")
    return f"{job.slide_path}: {detail}"


def _located(job: LocateJob) -> Located:
    polygons = (
        None
        if job.annotation_path is None
        else read_annotation_file(
            job.annotation_path, object_types=job.object_types, label_from=job.label_from
        )
    )
    location = locate(job, polygons=polygons)
    if polygons is not None and (
        location.empty_reason is None or location.empty_reason.kind != "labels"
    ):
        note = _unmatched_labels(job, polygons)
        if note is not None:
            warnings.warn(note, stacklevel=2)
    patch_set: PatchSet = cap_patches(location.patch_set, limit=job.max_patches, seed=job.seed)
    if job.preview_path is not None:
        from slidepatch.locations.preview import draw_preview

        Path(job.preview_path).parent.mkdir(parents=True, exist_ok=True)
        draw_preview(
            location,
            job.preview_path,
            patch_color="red",
            bbox_color="lime",
            polygon_color="blue",
            holes_color="teal",
            buffer_color="black",
            thickness=2,
            patch_markers=False,
            level_or_minsize=None,
            drawn_labels=(),
            drawn_patches_labels=(),
            max_size=job.preview_size,
            legend=True,
            patch_set=patch_set,
        )
    reason = location.empty_reason
    return Located(
        slide_path=job.slide_path,
        patch_set=patch_set,
        empty_reason=None if reason is None else reason.message,
        capped_from=len(location.patch_set) if len(patch_set) < len(location.patch_set) else None,
    )


def locate_slide(job: LocateJob) -> Located:
    """Worker entry point: the slide's outcome; warnings are returned, not printed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _located(job)
        except (SlidepatchError, OSError, ValueError, TypeError) as exc:
            result = Located(job.slide_path, None, error=_message(job.slide_path, exc))
    notes = tuple(
        cli_text(str(w.message)) for w in caught if not issubclass(w.category, NoPatchesWarning)
    )
    return Located(
        slide_path=result.slide_path,
        patch_set=result.patch_set,
        error=result.error,
        empty_reason=result.empty_reason,
        warnings=notes,
        capped_from=result.capped_from,
    )


def _message(slide_path: str, exc: BaseException) -> str:
    text = cli_text(str(exc) or type(exc).__name__)
    return text if slide_path in text else f"{slide_path}: {text}"


def locate_all(
    jobs: Sequence[LocateJob],
    *,
    processes: int,
    on_done: Callable[[int, Located], None] | None = None,
) -> list[Located]:
    """Locate every slide (results in input order); several processes when worthwhile.

    ``on_done`` is called as each slide finishes. Ctrl-C terminates the workers at once
    and raises KeyboardInterrupt here (the engine's policy: workers ignore SIGINT). A
    worker that dies fails its slide only, naming it.
    """
    from slidepatch.engine import RunPolicy, Task, make_executor

    def arrived(task: Task[LocateJob, Located], result: Located) -> Located:
        if on_done is not None:
            on_done(task.index, result)
        return result

    executor = make_executor(num_processes=min(processes, len(jobs)), inline=True)
    tasks = [
        Task(index=i, slide_paths=(job.slide_path,), func=locate_slide, payload=job)
        for i, job in enumerate(jobs)
    ]
    policy = RunPolicy(on_error="skip", doing="locating", wrap_errors=False)
    found, failures = executor.run(tasks, policy=policy, on_result=arrived)
    for i, exc in sorted(failures.items()):
        found[i] = Located(jobs[i].slide_path, None, error=_message(jobs[i].slide_path, exc))
        if on_done is not None:
            on_done(i, found[i])
    return [found[i] for i in range(len(jobs))]
