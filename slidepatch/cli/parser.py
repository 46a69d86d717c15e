"""The argument parser of the ``slidepatch`` command: ``info``, ``extract``, ``locate``,
``demo``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from slidepatch.extract.shards import DEFAULT_SHARD_MAXCOUNT, DEFAULT_SHARD_MAXSIZE
from slidepatch.locations.patchset import LevelOrMpp
from slidepatch.options import DEFAULT_MPP_TOLERANCE
from slidepatch.slide.backends import BACKEND_NAMES

PROG = "slidepatch"
COORDINATE_FORMATS = ("trident", "clam", "hs2p", "csv", "parquet")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: ``slidepatch: error: ...``."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        sys.stderr.write(f"{PROG}: error: {message}{hint}\n")
        sys.exit(2)


def level_or_mpp(text: str) -> LevelOrMpp:
    """``"1"`` -> level 1 (int); ``"0.5"`` -> 0.5 µm/px (float); negatives are refused."""
    try:
        value: LevelOrMpp = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is neither a level (int) nor an MPP (float)"
            ) from None
    if value < 0 or (isinstance(value, float) and not value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a level >= 0 or an MPP > 0")
    return value


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer no smaller than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


def _tolerance(text: str) -> float:
    value = _ratio(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be below 1")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when something fails"
    )


def _add_info(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "info",
        help="describe slides: size, levels, MPP, vendor, backend",
        description="Print each slide's dimensions, pyramid levels (downsample, MPP, tile "
        "size), vendor, reading backend and where its MPP came from.",
    )
    p.add_argument("slides", nargs="+", metavar="SLIDE", help="slide files")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    _common(p)


def _add_location_args(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The sampling, mask and annotation options shared by ``extract`` and ``locate``;
    returns the sampling group."""
    p.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        default="auto",
        help="slide reader (default auto: the direct TIFF decoder, then OpenSlide, "
        "tiffslide, Pillow)",
    )
    p.add_argument(
        "--mpp-tolerance",
        type=_tolerance,
        default=DEFAULT_MPP_TOLERANCE,
        metavar="FRACTION",
        help="a native level within this relative distance of --mpp is read as it is, "
        f"without resampling (default {DEFAULT_MPP_TOLERANCE}: 2 %%; 0.06 reads a "
        "0.263 µm/px scan at --mpp 0.25)",
    )
    p.add_argument(
        "--tile-cache-mb",
        type=_non_negative_int,
        metavar="MB",
        help="decoded-tile cache per open slide and worker, in MiB (default: the decoder's)",
    )
    g = p.add_argument_group("sampling")
    g.add_argument(
        "--sampling",
        choices=("grid", "random", "poisson"),
        default="grid",
        help="grid (default), uniform random, or Poisson-disk (evenly spread random)",
    )
    g.add_argument(
        "--stride",
        type=_positive_float,
        default=1.0,
        help="grid step as a fraction of the patch size (1 = touching, 0.5 = half "
        "overlap; default 1)",
    )
    g.add_argument(
        "--num-patches", type=_positive_int, help="patches per region (required for random)"
    )
    g.add_argument(
        "--spacing",
        type=_positive_float,
        default=50.0,
        help="Poisson-disk minimum distance between patches, in pixels at the read level or "
        "MPP (default 50)",
    )
    g.add_argument(
        "--seed", type=int, default=None, help="random seed (random/poisson, --max-patches)"
    )
    g.add_argument(
        "--max-patches",
        type=_positive_int,
        metavar="N",
        help="at most N patches per slide, whatever the sampling (a seeded random subset, "
        "kept in their order)",
    )
    g.add_argument(
        "--patch-size", type=_positive_int, default=256, help="patch side in pixels (256)"
    )
    res = g.add_mutually_exclusive_group()
    res.add_argument(
        "--level", type=_non_negative_int, help="read patches at this pyramid level (default 0)"
    )
    res.add_argument(
        "--mpp", type=_positive_float, help="read patches at this resolution, in µm per pixel"
    )
    g.add_argument(
        "--slide-mpp",
        type=_positive_float,
        metavar="MPP",
        help="the slides' level-0 µm per pixel, for slides without MPP metadata (a table's "
        "mpp column wins for its slide)",
    )
    g.add_argument(
        "--foreground-ratio",
        type=_ratio,
        default=0.95,
        help="minimum tissue (mask) fraction of a patch (default 0.95)",
    )
    g.add_argument(
        "--overlap-ratio",
        type=_ratio,
        default=0.95,
        help="minimum fraction of a patch inside its polygon (annotations; default 0.95)",
    )

    m = p.add_argument_group("masks and annotations")
    masks = m.add_mutually_exclusive_group()
    masks.add_argument(
        "--mask",
        nargs="+",
        metavar="FILE",
        help="mask files (PNG/NPY/NPZ), paired with the slides by file name (h1.png or "
        "h1_mask.png for h1.svs); default: automatic tissue mask",
    )
    masks.add_argument(
        "--mask-dir", metavar="DIR", help="take each slide's mask from DIR/<slide name>.*"
    )
    m.add_argument(
        "--mask-min-size",
        type=_positive_int,
        default=1000,
        help="automatic tissue mask: use the smallest level whose sides are at least this "
        "many pixels (default 1000)",
    )
    notes = m.add_mutually_exclusive_group()
    notes.add_argument(
        "--annotations",
        nargs="+",
        metavar="FILE",
        help="annotation files, paired with the slides by file name (h1.geojson for h1.svs): "
        "QuPath GeoJSON, ASAP, Aperio ImageScope, HALO or Sedeen XML (told by content); "
        "patches are taken inside the polygons and labelled by them",
    )
    notes.add_argument(
        "--annotations-dir",
        metavar="DIR",
        help="take each slide's annotations from DIR/<slide name>.*",
    )
    labels = m.add_mutually_exclusive_group()
    labels.add_argument("--include", nargs="+", metavar="LABEL", help="only these labels")
    labels.add_argument("--exclude", nargs="+", metavar="LABEL", help="all labels but these")
    m.add_argument(
        "--cut-out",
        nargs="+",
        metavar="LABEL",
        help="regions with these labels are cut out of every other region before sampling "
        "(e.g. CAMELYON16's exclusion group _2)",
    )
    m.add_argument(
        "--object-types",
        nargs="+",
        metavar="TYPE",
        help="QuPath objects to read as regions (default: annotation; e.g. annotation cell "
        "detection tile, or all)",
    )
    m.add_argument(
        "--label-from",
        metavar="SOURCE",
        help="where labels come from: QuPath GeoJSON 'classification' (default), 'name' or a "
        "property key; ImageScope 'name' (default), 'attribute' or 'text'",
    )
    m.add_argument(
        "--outside",
        action="store_true",
        help="with --annotations: take patches in the tissue OUTSIDE the polygons",
    )
    m.add_argument(
        "--label", default="", help="label of patches not taken from polygons (default none)"
    )

    return g


def _add_extract(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "extract",
        help="extract patches from slides to image files with manifests",
        description="Find patch locations on each slide (inside the tissue, or inside/"
        "outside annotated polygons) and write them as image files plus per-slide "
        "manifests (text and CSV) under --out.",
        epilog="example: slidepatch extract a.svs b.svs --out patches --mpp 0.5 "
        "--patch-size 224 --stride 1 --preview --contact-sheet",
    )
    p.add_argument("slides", nargs="*", metavar="SLIDE", help="slide files")
    p.add_argument(
        "--slides",
        dest="slide_table",
        metavar="TABLE.csv",
        help="a CSV with a 'slide' column and optional 'mpp', 'annotations', 'mask' and "
        "'label' columns (paths relative to the CSV), instead of SLIDE arguments",
    )
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder")

    g = _add_location_args(p)
    g.add_argument(
        "--levels",
        nargs="+",
        type=level_or_mpp,
        metavar="LEVEL_OR_MPP",
        help="multi-resolution: one centred patch per entry; ints are levels, floats are "
        "MPPs (e.g. --levels 0 1 0.5)",
    )
    g.add_argument(
        "--resample",
        choices=("tile", "wsi"),
        help="allow an MPP that matches no pyramid level: read the next finer level and "
        "resize each patch (tile) or read from a resized copy of the slide (wsi)",
    )
    c = p.add_argument_group("coordinate files")
    c.add_argument(
        "--coords",
        metavar="DIR",
        help="take the patch locations from the TRIDENT, CLAM, hs2p or CSV coordinate files "
        "in DIR (paired with the slides by name) instead of sampling them",
    )
    c.add_argument(
        "--coords-format",
        choices=("auto", *COORDINATE_FORMATS),
        default="auto",
        help="format of the --coords files (default: told from each file)",
    )

    o = p.add_argument_group("output")
    o.add_argument(
        "--image-type", choices=("png", "jpg", "tif"), default="png", help="file type (png)"
    )
    o.add_argument("--jpeg-quality", type=_positive_int, help="JPEG quality 1-100")
    o.add_argument("--subdirs", action="store_true", help="one subfolder per label under --out")
    o.add_argument(
        "--output-format",
        choices=("files", "webdataset"),
        default="files",
        help="files: one image file per patch (default); webdataset: per slide, tar shards "
        "in DIR/shards/ and a Parquet index in DIR/index/ (needs pyarrow)",
    )
    o.add_argument(
        "--shard-maxcount",
        type=_positive_int,
        default=DEFAULT_SHARD_MAXCOUNT,
        help=f"webdataset: samples per shard at most ({DEFAULT_SHARD_MAXCOUNT})",
    )
    o.add_argument(
        "--shard-maxsize",
        type=_positive_int,
        default=DEFAULT_SHARD_MAXSIZE,
        help=f"webdataset: bytes per shard at most ({DEFAULT_SHARD_MAXSIZE}; a bigger "
        "single sample gets a shard of its own)",
    )
    o.add_argument(
        "--preview",
        action="store_true",
        help="write a preview of each slide with its patches to DIR/previews/",
    )
    o.add_argument(
        "--preview-size",
        type=_positive_int,
        default=2048,
        metavar="PX",
        help="long side of the previews in pixels (default 2048)",
    )
    o.add_argument(
        "--contact-sheet",
        action="store_true",
        help="write DIR/contact_sheet.png: sample patches, one row per label",
    )
    q = p.add_argument_group(
        "quality scores",
        "scores on every 4th pixel: white, black, grey (low-saturation) and tissue fractions, "
        "blur (Laplacian variance); a --drop/--min option drops patches before encoding",
    )
    q.add_argument(
        "--qc-scores",
        action="store_true",
        help="add the scores to the CSV manifest (and to the index and sample JSON)",
    )
    q.add_argument("--drop-white", type=_ratio, metavar="F", help="drop above this white fraction")
    q.add_argument("--drop-black", type=_ratio, metavar="F", help="drop above this black fraction")
    q.add_argument("--drop-gray", type=_ratio, metavar="F", help="drop above this grey fraction")
    q.add_argument("--min-tissue", type=_ratio, metavar="F", help="drop below this tissue fraction")
    q.add_argument(
        "--artifact-mask",
        nargs="+",
        metavar="FILE",
        help="artifact masks (PNG/NPY/NPZ, nonzero = artifact, or GeoJSON of level-0 "
        "polygons; e.g. GrandQC or HistoQC output), one per slide, paired by name "
        "(h1_artifacts.png for h1.svs): patches they cover are dropped",
    )
    q.add_argument(
        "--max-artifact",
        type=_ratio,
        metavar="F",
        help="with --artifact-mask: drop above this covered fraction (default 0: any overlap)",
    )
    q.add_argument(
        "--drop-blur",
        type=_positive_float,
        metavar="V",
        help="drop below this blur score (Laplacian variance; sharp tissue scores hundreds)",
    )
    again = o.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="DIR holds an earlier run of these slides: skip the slides it finished with the "
        "same parameters, redo the unfinished ones (other parameters are an error)",
    )
    again.add_argument(
        "--overwrite",
        action="store_true",
        help="DIR holds an earlier run of these slides: first remove exactly the files its "
        "manifests and journals list for them (nothing else)",
    )
    o.add_argument(
        "--dry-run",
        action="store_true",
        help="compute the locations and print the patch counts per slide and label; write nothing",
    )

    _add_performance(p, threads=True)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    _common(p)


def _add_performance(p: Parser, *, threads: bool) -> None:
    """The "performance" group: --procs, --threads (commands that read pixels), --skip-failed."""
    r = p.add_argument_group("performance")
    r.add_argument(
        "--procs",
        type=_positive_int,
        default=min(4, os.cpu_count() or 1),
        help="processes (slides in parallel; default min(4, CPUs))",
    )
    if threads:
        r.add_argument(
            "--threads", type=_positive_int, default=4, help="threads per process (default 4)"
        )
    r.add_argument(
        "--skip-failed",
        action="store_true",
        help="go on when a slide fails; list the failures and exit with status 1",
    )


def _add_locate(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "locate",
        help="find patch locations and save them as TRIDENT, CLAM, hs2p or CSV files",
        description="Find patch locations on each slide (as 'extract' does) and write them, "
        "without pixels, as coordinate files in the layout of the chosen tool under --out.",
        epilog="example: slidepatch locate *.svs --out coords --mpp 0.5 --patch-size 256 "
        "--coords-format trident",
    )
    p.add_argument("slides", nargs="+", metavar="SLIDE", help="slide files")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--coords-format",
        choices=COORDINATE_FORMATS,
        required=True,
        help="trident: <mag>x_<size>px_<overlap>px_overlap/patches/<slide>_patches.h5; clam: "
        "patches/<slide>.h5; hs2p: tiles/<slide>.coordinates.npz + .meta.json; csv: "
        "<slide>.csv; parquet: <slide>.parquet (needs pyarrow)",
    )
    p.add_argument(
        "--trident-magnification",
        choices=("bucket", "exact"),
        default="bucket",
        help="TRIDENT magnifications: TRIDENT's MPP buckets (default) or exact 10/MPP",
    )
    _add_location_args(p)
    _add_performance(p, threads=False)
    p.add_argument("--quiet", "-q", action="store_true", help="no summary")
    _common(p)


def _add_demo(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on the bundled real slide",
        description="Tissue mask, grid locations, PNG patches, manifests, preview and "
        "contact sheet for the bundled CMU-1-Small-Region.svs (a few seconds).",
    )
    p.add_argument(
        "--out",
        "-o",
        default="slidepatch-demo",
        metavar="DIR",
        help="output folder (default ./slidepatch-demo)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _common(p)


def build_parser() -> Parser:
    """The full ``slidepatch`` parser."""
    from slidepatch import __version__

    parser = Parser(
        prog=PROG,
        description="Turn whole-slide images into image patches for machine learning.",
        epilog="Start with 'slidepatch demo', then 'slidepatch COMMAND --help'.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_info(sub)
    _add_extract(sub)
    _add_locate(sub)
    _add_demo(sub)
    return parser
