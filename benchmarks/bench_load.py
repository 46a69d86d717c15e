"""Load check: 200 small slides x 200 patches over 2 processes, exact counts, flat memory.

One 1024x1024 synthetic slide is written once and hard-linked under 200 distinct paths
(each a separate slide to the pool; symlinks would resolve to one slide, and the pools
refuse the same PatchSet of one slide twice). The disk pool runs 10 slides (warm-up),
then 50, then 200, in this one process; the parent's resident memory after the 50-slide
and the 200-slide runs must be within 10 %. Prints the measurements and PASS/FAIL
(exit status 1 on FAIL).

    python benchmarks/bench_load.py [--slides 200] [--patches 200] [--processes 2]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from slidepatch import DiskPatchExtractorPool, PatchSet
from slidepatch.testing import write_synthetic_slide


def rss_mib() -> float:
    """The resident set size of this process, in MiB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def patch_sets(paths: list[Path], patches: int) -> list[PatchSet]:
    side = 64
    grid = [
        ((x, y), (side, side), "ab"[(x + y) // side % 2])
        for y in range(0, 1024, side)
        for x in range(0, 1024, side)
    ]
    data = (grid * (patches // len(grid) + 1))[:patches]
    # repeated locations get distinct labels so that no two files share a name
    data = [((x, y), wh, f"{lab}{k // len(grid)}") for k, ((x, y), wh, lab) in enumerate(data)]
    return [PatchSet.from_patch_data(slide_path=p, level_or_mpp=0, patch_data=data) for p in paths]


def run(paths: list[Path], patches: int, processes: int, out: Path) -> tuple[int, int, float]:
    out.mkdir()
    pool = DiskPatchExtractorPool(
        patches_pool=patch_sets(paths, patches),
        proc_num_workers=processes,
        thread_num_workers=2,
        output_dir=out,
        image_type="jpg",
    )
    on_disk = sum(1 for n in os.listdir(out) if n.endswith(".jpg"))
    del pool
    gc.collect()
    return on_disk, len(paths) * patches, rss_mib()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=200)
    parser.add_argument("--patches", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="slidepatch-load-") as tmp:
        root = Path(tmp)
        source = write_synthetic_slide(
            root / "source.svs", width=1024, height=1024, downsamples=(1, 4)
        )
        paths = []
        for i in range(args.slides):
            link = root / f"slide{i:04d}.svs"
            os.link(source, link)
            paths.append(link)
        run(paths[:10], args.patches, args.processes, root / "warmup")
        results = {}
        for n in (min(50, args.slides), args.slides):
            started = time.perf_counter()
            files, expected, rss = run(paths[:n], args.patches, args.processes, root / f"out{n}")
            seconds = time.perf_counter() - started
            results[n] = rss
            counted = files == expected
            ok &= counted
            print(
                f"{n:4d} slides: {files} files (expected {expected}) "
                f"{'ok' if counted else 'WRONG'}; {seconds:.1f} s; parent RSS {rss:.1f} MiB"
            )
        small, large = results[min(50, args.slides)], results[args.slides]
        growth = (large - small) / small
        flat = abs(growth) <= 0.10
        ok &= flat
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"RSS growth 50 -> {args.slides} slides: {growth:+.1%} ({'flat' if flat else 'GROWS'})"
        )
        print(f"largest worker RSS: {children:.1f} MiB")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
