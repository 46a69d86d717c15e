"""Patch locations for the command line: one job per slide, run inline or in processes.

A job is a small picklable value (paths and numbers). The worker opens the slide, builds
the tissue mask (or loads the given mask file), reads the annotation file, runs the chosen
location class, writes the preview if asked, and returns the PatchSet. Failures come back
as a message string, so exceptions never have to be pickled.
"""

from __future__ import annotations

import multiprocessing
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from slidepatch.errors import SlidepatchError
from slidepatch.locations.patchset import LevelOrMpp, PatchSet

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
    label: str = ""
    stride: float = 1.0
    num_patches: int | None = None
    spacing: float = 50.0
    seed: int | None = None
    preview_path: str | None = None


def read_annotation_file(
    path: str, *, object_types: tuple[str, ...] | None = ("annotation",)
) -> list[Any]:
    """Polygons from any annotation file :func:`~slidepatch.read_annotations` reads.

    What the reader skipped or repaired is printed as one ``slidepatch: warning:`` line.
    """
    from slidepatch.annotations import read_annotations
    from slidepatch.errors import AnnotationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnnotationWarning)
        polygons = list(read_annotations(path, object_types=object_types))
    for warning in caught:
        if issubclass(warning.category, AnnotationWarning):
            print(f"slidepatch: warning: {warning.message}", file=sys.stderr, flush=True)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return polygons


def _class_name(job: LocateJob) -> str:
    if job.annotation_path is None:
        return _WHOLE[job.sampling]
    return (_OUTSIDE if job.outside_annotations else _INSIDE)[job.sampling]


def _mask_for(job: LocateJob) -> Any:
    if job.mask_path is not None:
        return job.mask_path
    from slidepatch.masks import WSITissueMask

    return WSITissueMask(wsi_file=job.slide_path, level_or_minsize=job.mask_min_size)


def locate(job: LocateJob) -> Any:
    """Run the location class for one slide; write its preview; return the location object."""
    from slidepatch import locations

    kwargs: dict[str, Any] = {
        "wsi_file": job.slide_path,
        "mask_data": _mask_for(job),
        "patch_size": job.patch_size,
        "level_or_mpp": job.level_or_mpp,
        "foreground_ratio": job.foreground_ratio,
        "overlap_ratio": job.overlap_ratio,
        "seed": job.seed,
        "distance_units": "read",  # --spacing is in pixels at the read level
    }
    if job.sampling == "grid":
        kwargs["patch_stride"] = job.stride
    elif job.sampling == "random":
        kwargs["num_patches"] = job.num_patches
    else:
        kwargs["poisson_spacing"] = job.spacing
    if job.annotation_path is not None:
        kwargs["polygon_data"] = read_annotation_file(
            job.annotation_path, object_types=job.object_types
        )
        kwargs["included_labels"] = list(job.included_labels)
        kwargs["excluded_labels"] = list(job.excluded_labels)
        if job.exclusion_labels:
            kwargs["exclusion_labels"] = list(job.exclusion_labels)
    if job.annotation_path is None or job.outside_annotations:
        kwargs["weak_label"] = job.label
    location = getattr(locations, _class_name(job))(**kwargs)
    if job.preview_path is not None:
        Path(job.preview_path).parent.mkdir(parents=True, exist_ok=True)
        location.save_preview_image(job.preview_path)
    return location


def locate_patch_set(job: LocateJob) -> PatchSet | str:
    """Worker entry point: the slide's PatchSet, or a one-line error message."""
    try:
        patch_set: PatchSet = locate(job).patch_set
        return patch_set
    except (SlidepatchError, OSError, ValueError, TypeError) as exc:
        return _message(job.slide_path, exc)


def _message(slide_path: str, exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if slide_path in text else f"{slide_path}: {text}"


def locate_all(
    jobs: Sequence[LocateJob],
    *,
    processes: int,
    on_done: Callable[[int, PatchSet | str], None] | None = None,
) -> list[PatchSet | str]:
    """Locate every slide (in input order); several processes when asked and worthwhile."""
    results: list[PatchSet | str] = []
    if processes <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            results.append(locate_patch_set(job))
            if on_done is not None:
                on_done(i, results[-1])
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(processes, len(jobs)), mp_context=context) as ex:
        for i, result in enumerate(ex.map(locate_patch_set, jobs)):
            results.append(result)
            if on_done is not None:
                on_done(i, result)
    return results
