"""Location computation timings on a large synthetic slide geometry (one core).

Targets: a 100k x 80k px slide with a 256 px grid (~120k candidates) under 2 s, and
Poisson-disk sampling with ~10k points under 5 s. Location computation uses only the
slide's geometry and the mask, so this times the sampling and validation steps of the
location classes on a Mask built for a 100k x 80k slide (no slide file is needed).

Run: python benchmarks/bench_locations.py
"""

from __future__ import annotations

import time

import numpy as np

from slidepatch.locations import regions as rg
from slidepatch.locations import sampling
from slidepatch.masks import Mask

WIDTH, HEIGHT = 100_000, 80_000
PATCH = 256


def main() -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:1250, 0:1563]
    tissue = ((xx - 780) ** 2 / 700**2 + (yy - 625) ** 2 / 560**2) < 1
    tissue &= rng.random(tissue.shape) > 0.02
    mask = Mask(array=tissue, slide_dimensions=(WIDTH, HEIGHT))

    start = time.perf_counter()
    bbox = mask.foreground_bbox() or (0.0, 0.0, float(WIDTH), float(HEIGHT))
    region = rg.Region("", bbox)
    x, y = sampling.grid_candidates(bbox, PATCH)
    x, y = np.rint(x), np.rint(y)
    ok = rg.valid_candidates(
        region, x, y, footprint=PATCH, mask=mask, foreground_ratio=0.95, overlap_ratio=0.95
    )
    grid_s = time.perf_counter() - start
    print(f"grid: {x.shape[0]} candidates, {int(ok.sum())} patches in {grid_s:.3f} s")

    start = time.perf_counter()
    px, py = sampling.poisson_disk(bbox, 640.0, np.random.default_rng(1))
    ok = rg.valid_candidates(
        region,
        np.rint(px),
        np.rint(py),
        footprint=PATCH,
        mask=mask,
        foreground_ratio=0.95,
        overlap_ratio=0.95,
    )
    poisson_s = time.perf_counter() - start
    print(f"poisson: {px.shape[0]} points, {int(ok.sum())} patches in {poisson_s:.3f} s")

    import shapely

    poly = shapely.Point(50_000, 40_000).buffer(30_000)
    region = rg.Region("p", rg.bbox_of(poly), poly)
    x, y = sampling.grid_candidates(region.bbox, PATCH)
    start = time.perf_counter()
    ok = rg.valid_candidates(
        region,
        np.rint(x),
        np.rint(y),
        footprint=PATCH,
        mask=mask,
        foreground_ratio=0.0,
        overlap_ratio=0.95,
    )
    print(
        f"polygon grid: {x.shape[0]} candidates, {int(ok.sum())} patches in "
        f"{time.perf_counter() - start:.3f} s"
    )


if __name__ == "__main__":
    main()
