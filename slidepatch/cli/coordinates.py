"""``slidepatch locate``: patch locations for every slide, written as coordinate files.

The locations are computed exactly as ``extract`` computes them (same options, same
processes); instead of pixels, each slide's coordinates go to ``--out`` in the layout of
the chosen tool (TRIDENT, CLAM, hs2p) or as a CSV.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from slidepatch.cli.errors import SlideFailedError, UsageError
from slidepatch.cli.extract import _check_slides, job_from_args
from slidepatch.cli.locate import locate_all
from slidepatch.locations.patchset import PatchSet


def _warn(message: str) -> None:
    print(f"slidepatch: warning: {message}", file=sys.stderr, flush=True)


def run_locate(args: argparse.Namespace) -> int:
    """Locate, save, print a summary; the exit status (1 when a slide failed)."""
    from slidepatch.locations.coordinates import files

    template = job_from_args(args)
    slides = [os.path.abspath(s) for s in args.slides]
    for option, given in (("--mask", args.mask), ("--annotations", args.annotations)):
        if given is not None and len(given) != len(slides):
            raise UsageError(
                f"{option} needs one file per slide: got {len(given)} for {len(slides)} slides"
            )
    _check_slides(slides)
    out = os.path.abspath(args.out)
    jobs = [
        replace(
            template,
            slide_path=slide,
            mask_path=None if args.mask is None else os.path.abspath(args.mask[i]),
            annotation_path=None
            if args.annotations is None
            else os.path.abspath(args.annotations[i]),
        )
        for i, slide in enumerate(slides)
    ]
    results = locate_all(jobs, processes=args.procs)
    failed: list[str] = []
    patch_sets: list[PatchSet] = []
    for job, result in zip(jobs, results, strict=True):
        if isinstance(result, str):
            if not args.skip_failed:
                raise SlideFailedError(result)
            failed.append(result)
            _warn(f"skipped: {result}")
            continue
        if len(result) == 0:
            _warn(f"{job.slide_path}: no patch locations; its file holds no coordinates")
        patch_sets.append(result)
    Path(out).mkdir(parents=True, exist_ok=True)
    written = files.save_many(
        patch_sets,
        out,
        format=args.coords_format,
        trident_magnification=args.trident_magnification,
    )
    if not args.quiet:
        count = sum(len(ps) for ps in patch_sets)
        print(
            f"{count} patch locations from {len(patch_sets)} of {len(slides)} slides written "
            f"to {out} as {args.coords_format} ({len(written)} files)",
            flush=True,
        )
        if failed:
            print(f"  failed: {len(failed)} slides (see the warnings above)", flush=True)
    return 1 if failed else 0
