"""``slidepatch locate``: patch locations for every slide, written as coordinate files.

The locations are computed exactly as ``extract`` computes them (same options, same
processes); instead of pixels, each slide's coordinates go to ``--out`` in the layout of
the chosen tool (TRIDENT, CLAM, hs2p) or as a CSV.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from slidepatch.cli.errors import NothingWrittenError
from slidepatch.cli.extract import (
    _check_slides,
    _slide_inputs,
    _warn,
    check_annotation_flags,
    job_from_args,
    located_patch_set,
)
from slidepatch.cli.locate import locate_all
from slidepatch.locations.patchset import PatchSet


def run_locate(args: argparse.Namespace) -> int:
    """Locate, save, print a summary; the exit status (1 when a slide failed)."""
    from slidepatch.locations.coordinates import files

    template = job_from_args(args)
    slides, masks, annotations, _, _, _ = _slide_inputs(args)  # paired by name
    check_annotation_flags(args, annotations)
    _check_slides(slides)
    out = os.path.abspath(args.out)
    jobs = [
        replace(
            template,
            slide_path=slide,
            mask_path=None if masks is None else masks[i],
            annotation_path=None if annotations is None else annotations[i],
        )
        for i, slide in enumerate(slides)
    ]
    results = locate_all(jobs, processes=args.procs)
    failed: list[str] = []
    patch_sets: list[PatchSet] = []
    for result in results:
        ps = located_patch_set(result, skip_failed=args.skip_failed, failed=failed)
        if ps is None:
            continue
        if len(ps) == 0:
            why = result.empty_reason or "no location passed the tests"
            _warn(f"{result.slide_path}: no patch locations: {why}; its file holds none")
        patch_sets.append(ps)
    if not failed and not any(len(ps) for ps in patch_sets):
        # as extract: a run that finds no location at all fails; no empty files left behind
        raise NothingWrittenError("no patch location in any slide (see the warnings above)")
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
