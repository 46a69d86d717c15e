"""Extractor pools on 4 slides with 2 processes x 2 threads, against the codec and dplabtools.

    python benchmarks/bench_pools.py [--slides 4] [--max-patches N] [--rounds 3]
                                     [--skip-dplabtools]

Workload: 4 synthetic 12k x 9k JPEG SVS slides (256 px tiles, 0.25 µm/px), each with its
tissue grid of tile-aligned 256 px patches (~1,200 per slide) and as many unaligned random
tissue patches. Baselines measured in the same run: the single-core raw tile-decode rate
(x 2 for two cores), two plain single-threaded OpenSlide loops running concurrently, and
dplabtools 0.0.5's pools when its interpreter is found ($DPLABTOOLS_PYTHON, else
/work/dpl-venv/bin/python). Every case runs ``--rounds`` times, round-robin, and reports
its median; every case starts after a sync and with the slides in the page cache, disk
cases in a new, empty output folder. The raw decode writes into a buffer placed off
libjpeg-turbo's 32-byte boundary, its fastest placement (see ``slidepatch.slide.buffers``).
Prints patches/s, ratios, peak memory and the issue targets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _workload import (
    PATCH,
    Row,
    SlideSpec,
    build_slides,
    cache_dir,
    child_result,
    print_table,
    raw_decode,
    run_case,
    timer,
    tissue_grid,
    tissue_random,
    verdict,
    warm_page_cache,
)

SCRIPT = "bench_pools.py"
PROCS, THREADS = 2, 2
Sets = list[list[Any]]  # [[slide path, [[x, y], ...]], ...]


# ---------------------------------------------------------------------- cases (in a child)
def case_raw_decode(sets: Sets) -> None:
    """Single core: pread + JPEG decode of every level-0 tile of ``sets`` (see raw_decode)."""
    child_result(*raw_decode(sets))


def _openslide_loop(sets: Sets) -> tuple[int, float]:
    import openslide

    slides = [(openslide.OpenSlide(path), points) for path, points in sets]
    count = 0
    start = timer()
    for slide, points in slides:
        for x, y in points:
            np.asarray(slide.read_region((x, y), 0, (PATCH, PATCH)).convert("RGB"))
            count += 1
    return count, timer() - start


def case_openslide_pair(sets: Sets) -> None:
    """Two plain single-threaded OpenSlide loops in two processes, half the slides each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    halves = [sets[0::2], sets[1::2]]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        results = list(pool.map(_openslide_loop, halves))
    child_result(sum(r[0] for r in results), max(r[1] for r in results))


def _patch_sets(sets: Sets) -> list[Any]:
    from slidepatch import PatchSet

    return [
        PatchSet.from_patch_data(
            slide_path=path,
            level_or_mpp=0,
            patch_data=[((x, y), (PATCH, PATCH), "tissue") for x, y in points],
        )
        for path, points in sets
    ]


def _import_pool(name: str) -> Any:
    import slidepatch

    pool = getattr(slidepatch, name, None)
    if pool is None:
        import slidepatch.pools

        pool = getattr(slidepatch.pools, name)
    return pool


def case_mem_pool(sets: Sets, levels: list[int] | None) -> None:
    """Our memory pool (multi-resolution when ``levels``), iterating every result."""
    patch_sets = _patch_sets(sets)
    start = timer()
    if levels is None:
        pool = _import_pool("MemPatchExtractorPool")(
            patches_pool=patch_sets, proc_num_workers=PROCS, thread_num_workers=THREADS
        )
        count = sum(1 for image, _label in pool.patch_list if np.asarray(image).size)
    else:
        pool = _import_pool("MultiResMemPatchExtractorPool")(
            patches_pool=patch_sets,
            levels_or_mpps=levels,
            proc_num_workers=PROCS,
            thread_num_workers=THREADS,
        )
        count = 0
        for item in pool.patch_list:
            for image, _label in item:
                np.asarray(image)
                count += 1
    child_result(count, timer() - start)


def case_disk_pool(sets: Sets, image_type: str, output_dir: str) -> None:
    """Our disk pool writing ``image_type`` files."""
    patch_sets = _patch_sets(sets)
    start = timer()
    pool = _import_pool("DiskPatchExtractorPool")(
        patches_pool=patch_sets,
        proc_num_workers=PROCS,
        thread_num_workers=THREADS,
        output_dir=output_dir,
        image_type=image_type,
    )
    child_result(int(pool.patch_count), timer() - start)


CASES: dict[str, Callable[..., None]] = {
    "raw_decode": case_raw_decode,
    "openslide_pair": case_openslide_pair,
    "mem_pool": case_mem_pool,
    "disk_pool": case_disk_pool,
}


# ---------------------------------------------------------------------- driver
def dplabtools_python() -> str | None:
    found = os.environ.get("DPLABTOOLS_PYTHON") or "/work/dpl-venv/bin/python"
    return found if os.path.exists(found) else None


def fresh_dir(name: str) -> str:
    path = cache_dir() / "out" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


@dataclass(frozen=True)
class Case:
    """One measured case: how to run it, and how it is labelled in the table."""

    key: str
    label: str
    case: str
    args: dict[str, Any]
    script: str = SCRIPT
    python: str | None = None
    output: str | None = None  # a folder emptied (and synced) before every run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=4)
    parser.add_argument("--max-patches", type=int, default=0, help="cap patches per slide")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every case (median)")
    parser.add_argument("--skip-dplabtools", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print every run as it ends")
    opts = parser.parse_args(argv)
    spec = SlideSpec()
    t0 = time.perf_counter()
    slides = build_slides(opts.slides, spec)
    grid: Sets = []
    rand: Sets = []
    for seed, path in enumerate(slides):
        points = tissue_grid(path, spec, seed=seed)
        if opts.max_patches:
            points = points[: opts.max_patches]
        grid.append([path, points])
        rand.append([path, tissue_random(path, len(points), spec, seed=seed)])
    total = sum(len(p) for _, p in grid)
    print(
        f"workload: {len(slides)} slides {spec.width}x{spec.height}, {total} grid + {total} "
        f"random {PATCH} px patches, {PROCS} processes x {THREADS} threads, "
        f"{opts.rounds} rounds (built in {time.perf_counter() - t0:.1f} s, cache {cache_dir()})"
    )
    cases = [
        Case("raw", "raw tile decode, 1 core (x2 = reference)", "raw_decode", {"sets": grid}),
        Case("pair", "2 plain OpenSlide loops, 2 processes", "openslide_pair", {"sets": grid}),
        Case(
            "mem",
            "MemPatchExtractorPool, grid (aligned)",
            "mem_pool",
            {"sets": grid, "levels": None},
        ),
        Case(
            "mem_random",
            "MemPatchExtractorPool, random (unaligned)",
            "mem_pool",
            {"sets": rand, "levels": None},
        ),
        Case(
            "disk_png",
            "DiskPatchExtractorPool, PNG, grid",
            "disk_pool",
            {"sets": grid, "image_type": "png"},
            output="png",
        ),
        Case(
            "disk_jpg",
            "DiskPatchExtractorPool, JPEG, grid",
            "disk_pool",
            {"sets": grid, "image_type": "jpg"},
            output="jpg",
        ),
        Case(
            "multires",
            "MultiResMemPatchExtractorPool, levels 0+1, grid (patches of all levels)",
            "mem_pool",
            {"sets": grid, "levels": [0, 1]},
        ),
    ]
    dpl = None if opts.skip_dplabtools else dplabtools_python()
    if dpl is None:
        print(
            "dplabtools: skipped (set DPLABTOOLS_PYTHON to an interpreter with dplabtools 0.0.5)"
            if not opts.skip_dplabtools
            else "dplabtools: skipped (--skip-dplabtools)"
        )
    else:
        dpl_args = {"sets": grid, "procs": PROCS, "threads": THREADS}
        cases += [
            Case(
                "dpl_mem",
                "dplabtools MemPatchExtractorPool, grid",
                "mem",
                dpl_args,
                script="_dplabtools_case.py",
                python=dpl,
            ),
            Case(
                "dpl_disk",
                "dplabtools DiskPatchExtractorPool, PNG, grid",
                "disk",
                {**dpl_args, "image_type": "png"},
                script="_dplabtools_case.py",
                python=dpl,
                output="dpl-png",
            ),
        ]

    # Rounds run every case once, in the same order, so that slow and fast spells of a
    # shared machine fall on all cases alike; each case reports its median round.
    # Disk cases write to a new folder each round; all are deleted at the end, because
    # deleting a previous round's files (ext4 frees and discards their blocks) would
    # otherwise land on the next case.
    runs: dict[str, list[dict[str, Any]]] = {c.key: [] for c in cases}
    skipped: set[str] = set()
    shutil.rmtree(cache_dir() / "out", ignore_errors=True)
    for round_number in range(opts.rounds):
        for c in cases:
            if c.key in skipped:
                continue
            args = dict(c.args)
            if c.output is not None:
                args["output_dir"] = fresh_dir(f"{c.output}-{round_number}")
            os.sync()  # the writeback of earlier disk cases must not land on this one
            warm_page_cache(slides)
            try:
                runs[c.key].append(run_case(c.script, c.case, args, python=c.python))
                if opts.verbose:
                    last = runs[c.key][-1]
                    print(
                        f"round {round_number + 1}: {c.label}: "
                        f"{last['patches'] / last['seconds']:,.0f} patches/s",
                        flush=True,
                    )
            except (RuntimeError, ImportError) as exc:
                print(f"skipped {c.label}: {str(exc).strip().splitlines()[-1]}")
                skipped.add(c.key)
    shutil.rmtree(cache_dir() / "out", ignore_errors=True)

    rates = {
        k: statistics.median(r["patches"] / r["seconds"] for r in v) for k, v in runs.items() if v
    }
    peaks = {k: max(r["peak_rss_mib"] for r in v) for k, v in runs.items() if v}
    raw2 = 2 * rates["raw"]
    rows = []
    for c in cases:
        if c.key not in rates:
            continue
        r = rates[c.key]
        ratios = (
            {}
            if c.key == "raw"
            else {
                "x 2 raw decode": r / raw2,
                "x 2 OpenSlide": r / rates["pair"],
            }
        )
        spread = [v["patches"] / v["seconds"] for v in runs[c.key]]
        rows.append(
            Row(f"{c.label} [{min(spread):,.0f}-{max(spread):,.0f}]", r, peaks[c.key], ratios)
        )
    print_table(
        f"Pools, {PROCS} processes x {THREADS} threads, {total} patches per case "
        f"(median of {opts.rounds} rounds; [slowest-fastest round])",
        rows,
        ["x 2 raw decode", "x 2 OpenSlide"],
    )
    nan = float("nan")
    print("\n## Targets (issue 5 §5, issue 6 §4)\n")
    checks = [
        ("MemPool aligned / 2 OpenSlide loops", rates.get("mem", nan) / rates["pair"], 0.85),
        ("MemPool aligned / 2 x raw decode", rates.get("mem", nan) / raw2, 0.6),
        ("MemPool random unaligned / 2 x raw decode", rates.get("mem_random", nan) / raw2, 0.4),
        ("DiskPool PNG / 2 x raw decode", rates.get("disk_png", nan) / raw2, 0.35),
    ]
    if "dpl_mem" in rates:
        checks.append(
            ("MemPool / dplabtools MemPool", rates.get("mem", nan) / rates["dpl_mem"], 10)
        )
    if "dpl_disk" in rates:
        checks.append(
            (
                "DiskPool PNG / dplabtools DiskPool PNG",
                rates.get("disk_png", nan) / rates["dpl_disk"],
                10,
            )
        )
    for name, value, target in checks:
        print("- " + verdict(name, value, target))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in CASES:
        case = CASES[sys.argv[1]]
        case(**json.loads(sys.argv[2]))
    else:
        main()
