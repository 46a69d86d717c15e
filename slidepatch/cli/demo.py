"""``slidepatch demo``: the whole pipeline on the bundled real slide, in a few seconds.

Tissue mask -> grid locations (128 px at level 0, about 130 patches) -> PNG files and
manifests -> preview and contact sheet; then it says where each of them went.
"""

from __future__ import annotations

import argparse
import os
from importlib import resources

from slidepatch.cli.extract import ExtractRun, ExtractSummary, extract
from slidepatch.cli.locate import LocateJob
from slidepatch.errors import SlidepatchError

DEMO_SLIDE = "CMU-1-Small-Region.svs"
DEFAULT_OUT = "slidepatch-demo"


def demo_slide_path() -> str:
    """Path of the real Aperio slide shipped with the package."""
    path = resources.files("slidepatch").joinpath("data").joinpath(DEMO_SLIDE)
    if not isinstance(path, os.PathLike):
        raise SlidepatchError(f"the bundled {DEMO_SLIDE} is not a file (zipped install?)")
    return str(os.fspath(path))


def demo_run(*, output_dir: str, quiet: bool = False) -> ExtractRun:
    """The demo's choices, as an ``extract`` run."""
    slide = demo_slide_path()
    return ExtractRun(
        slides=(slide,),
        output_dir=output_dir,
        job=LocateJob(
            slide_path=slide,
            sampling="grid",
            patch_size=128,
            level_or_mpp=0,
            foreground_ratio=0.5,
            overlap_ratio=0.95,
        ),
        image_type="png",
        processes=1,
        threads=2,
        preview=True,
        contact_sheet=True,
        overwrite=True,  # a demo replaces its own earlier output, never adds a second set
        quiet=quiet,
    )


def format_demo_summary(summary: ExtractSummary) -> str:
    lines = [
        f"slidepatch demo: {summary.patch_count} patches of 128x128 px (level 0) from {DEMO_SLIDE}",
        f"  patches:       {summary.output_dir}/*.png",
    ]
    lines += [f"  manifest:      {p}" for p in summary.manifest_paths]
    lines += [f"  preview:       {p}" for p in summary.preview_paths]
    if summary.contact_sheet_path:
        lines.append(f"  contact sheet: {summary.contact_sheet_path}")
    lines.append("Next: slidepatch extract YOUR_SLIDES... --out DIR --preview --contact-sheet")
    return "\n".join(lines)


def run_demo(args: argparse.Namespace) -> int:
    summary = extract(demo_run(output_dir=os.path.abspath(args.out), quiet=args.quiet))
    print(format_demo_summary(summary), flush=True)
    return 0
