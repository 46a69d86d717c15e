"""Single-core read speed: raw tile decoding, a plain OpenSlide loop, and our Slide reader.

    python benchmarks/bench_read.py [--patches N]

Builds a synthetic 12k x 9k JPEG SVS (256 px tiles, levels 1/4/16, 0.25 µm/px) in the
benchmark cache folder, then times one thread in one process for: tile-aligned grid
patches and unaligned random patches at level 0, random patches at level 1, and an MPP
(0.4 µm/px) that needs resampling. Prints patches/s, ratios and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _workload import (
    PATCH,
    Row,
    SlideSpec,
    build_slides,
    child_result,
    print_table,
    raw_decode,
    run_case,
    timer,
    tissue_grid,
    tissue_random,
)

SCRIPT = "bench_read.py"


# ---------------------------------------------------------------------- cases (in a child)
def case_raw_decode(slide: str, points: list[list[int]], aligned: bool = False) -> None:
    """pread + JPEG decode (into one reused buffer) of each tile of ``points``."""
    child_result(*raw_decode([[slide, points]], aligned=aligned))


def case_openslide(slide: str, points: list[list[int]], level: int, scale: float) -> None:
    """A plain loop: OpenSlide read_region to an RGB array (PIL resize when ``scale`` != 1)."""
    import openslide
    from PIL import Image

    s = openslide.OpenSlide(slide)
    size = round(PATCH * scale)
    start = timer()
    for x, y in points:
        region = s.read_region((x, y), level, (size, size))
        if scale != 1:
            region = region.resize((PATCH, PATCH), Image.Resampling.BILINEAR)
        np.asarray(region.convert("RGB"))
    child_result(len(points), timer() - start)


def case_slide(
    slide: str, points: list[list[int]], backend: str, level_or_mpp: Any, mode: str | None
) -> None:
    """Our Slide.read_region into a reused buffer (placed like the raw decode's)."""
    from slidepatch import Slide
    from slidepatch.slide.buffers import decode_buffer

    s = Slide.open(slide, backend=backend)  # type: ignore[arg-type]
    out = decode_buffer((PATCH, PATCH, 3))
    start = timer()
    for x, y in points:
        s.read_region((x, y), level_or_mpp, (PATCH, PATCH), resampling_mode=mode, out=out)  # type: ignore[arg-type]
    child_result(len(points), timer() - start, backend=s.backend_name)


CASES: dict[str, Callable[..., None]] = {
    "raw_decode": case_raw_decode,
    "openslide": case_openslide,
    "slide": case_slide,
}


# ---------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=800, help="patches per workload")
    opts = parser.parse_args(argv)
    spec = SlideSpec()
    (slide,) = build_slides(1, spec)
    n = opts.patches
    grid = tissue_grid(slide, spec, seed=0)[:n]
    rand = tissue_random(slide, n, spec, seed=0)
    rand_l1 = [
        (x, y) for x, y in tissue_random(slide, n // 2, spec, seed=0) if x < 12288 - 4 * PATCH
    ]
    rand_l1 = [(x, y) for x, y in rand_l1 if y < 9216 - 4 * PATCH]
    mpp_scale = 0.4 / spec.mpp
    rand_mpp = [(x, y) for x, y in rand[: n // 2] if x < 12288 - 410 and y < 9216 - 410]

    raw = run_case(SCRIPT, "raw_decode", {"slide": slide, "points": grid})
    raw_rate = raw["patches"] / raw["seconds"]
    aligned = run_case(SCRIPT, "raw_decode", {"slide": slide, "points": grid, "aligned": True})
    aligned_rate = aligned["patches"] / aligned["seconds"]
    workloads: list[tuple[str, list[tuple[int, int]], int, Any, float, str | None]] = [
        ("level 0, grid, tile-aligned", grid, 0, 0, 1.0, None),
        ("level 0, random, unaligned", rand, 0, 0, 1.0, None),
        ("level 1 (x4), random", rand_l1, 1, 1, 1.0, None),
        ("MPP 0.4 (resampled from 0.25)", rand_mpp, 0, 0.4, mpp_scale, "tile"),
    ]
    rows = [
        Row(
            f"raw tile decode (pread + imagecodecs), {len(grid)} tiles",
            raw_rate,
            raw["peak_rss_mib"],
            {"x raw decode": 1.0},
        ),
        Row(
            "raw tile decode into a 32-byte aligned buffer (libjpeg-turbo's slow path)",
            aligned_rate,
            aligned["peak_rss_mib"],
            {"x raw decode": aligned_rate / raw_rate},
        ),
    ]
    for title, points, level, level_or_mpp, scale, mode in workloads:
        os_res = run_case(
            SCRIPT,
            "openslide",
            {"slide": slide, "points": points, "level": level, "scale": scale},
        )
        os_rate = os_res["patches"] / os_res["seconds"]
        rows.append(
            Row(
                f"{title}: plain OpenSlide loop",
                os_rate,
                os_res["peak_rss_mib"],
                {"x raw decode": os_rate / raw_rate, "x OpenSlide": 1.0},
            )
        )
        for backend in ("tiled_tiff", "openslide"):
            try:
                res = run_case(
                    SCRIPT,
                    "slide",
                    {
                        "slide": slide,
                        "points": points,
                        "backend": backend,
                        "level_or_mpp": level_or_mpp,
                        "mode": mode,
                    },
                )
            except RuntimeError as exc:
                print(f"skipped {title} / {backend}: {str(exc).splitlines()[-1]}")
                continue
            rate = res["patches"] / res["seconds"]
            rows.append(
                Row(
                    f"{title}: Slide ({backend})",
                    rate,
                    res["peak_rss_mib"],
                    {"x raw decode": rate / raw_rate, "x OpenSlide": rate / os_rate},
                )
            )
    print_table(
        f"Single-core reads, one thread ({len(grid)} grid / {len(rand)} random patches of "
        f"{PATCH} px; ratios per patch against one raw tile decode)",
        rows,
        ["x raw decode", "x OpenSlide"],
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in CASES:
        case = CASES[sys.argv[1]]
        case(**json.loads(sys.argv[2]))
    else:
        main()
