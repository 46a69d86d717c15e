"""Streaming patches with bounded memory, against the in-memory pool on the same workload.

    python benchmarks/bench_stream.py [--slides 4] [--stride 90] [--compare-patches 12000]
                                      [--batch-size 64] [--budget 256MiB] [--repeats 2]
                                      [--full-repeats 1]

Workload: synthetic 12k x 9k JPEG SVS slides (256 px tiles, 0.25 µm/px; built once and
cached, see ``_workload.py``) with an overlapping grid of 256 px level-0 patches every
``--stride`` px over the whole slide: 4 slides x 134 x 100 = 53,600 patches by default.
Both modes use 2 processes x 2 threads.

1. The whole workload (>= 50k patches, 10.5 GB of pixels) is streamed through a ring
   bounded by ``--budget``: patches/s and peak RSS of the whole process tree (parent and
   workers, shared pages counted in every process that touches them) against 1 GiB.
2. Throughput ratio: the stream and ``MemPatchExtractorPool`` on the same subset (the
   first ``--compare-patches`` patches, spread over all slides; 0 = the whole workload,
   which needs /dev/shm and RAM for all of it), interleaved, best of ``--repeats``.
   Target: stream >= 0.9 x the in-memory pool.
3. Mixing for training: the same stream with ``shuffle=True``, 4 open slides, 16 patches
   per visit and a 4,096-patch shuffle buffer, on the whole workload (peak RSS against
   1 GiB; interleaved with the ordered stream, best of ``--full-repeats``) and on the
   subset (interleaved, best of ``--repeats``). Target: mixed >= 0.8 x ordered.

Each case runs in a fresh child process (see ``_workload.run_case``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _workload import (
    PATCH,
    Row,
    SlideSpec,
    build_slides,
    child_result,
    print_table,
    run_case,
    timer,
    verdict,
)

SCRIPT = "bench_stream.py"
PROCS, THREADS = 2, 2
RSS_LIMIT_MIB = 1024.0
Work = dict[str, Any]  # {"slides": [path, ...], "stride": px, "per_slide": n or 0 (all)}


# ---------------------------------------------------------------------- cases (in a child)
def _patch_sets(work: Work) -> list[Any]:
    from slidepatch import PatchSet

    points = grid(work["stride"], SlideSpec())
    if work["per_slide"]:
        points = points[: work["per_slide"]]
    return [
        PatchSet.from_patch_data(
            slide_path=path,
            level_or_mpp=0,
            patch_data=[((x, y), (PATCH, PATCH), "tissue") for x, y in points],
        )
        for path in work["slides"]
    ]


MIXING = {"shuffle": True, "open_slides": 4, "patches_per_visit": 16, "shuffle_buffer": 4096}


def case_stream(work: Work, batch_size: int, budget: str, mixed: bool = False) -> None:
    """Stream every patch, touching each batch as a training loop would hand it on."""
    from slidepatch.pools.stream import iter_patch_batches

    patch_sets = _patch_sets(work)
    mixing: dict[str, Any] = MIXING if mixed else {}
    start = timer()
    count = 0
    checksum = 0
    with iter_patch_batches(
        patches_pool=patch_sets,
        batch_size=batch_size,
        memory_budget=budget,
        proc_num_workers=PROCS,
        thread_num_workers=THREADS,
        **mixing,
    ) as stream:
        ring = stream.ring_bytes
        for batch in stream:
            count += len(batch)
            checksum += int(batch.images[:, 0, 0, 0].sum())
    child_result(count, timer() - start, ring_mib=ring / 2**20, checksum=checksum)


def case_mem(work: Work) -> None:
    """The in-memory pool: extract everything, then visit every patch."""
    from slidepatch.pools import MemPatchExtractorPool

    patch_sets = _patch_sets(work)
    start = timer()
    pool = MemPatchExtractorPool(
        patches_pool=patch_sets, proc_num_workers=PROCS, thread_num_workers=THREADS
    )
    images = pool.images
    count = int(images.shape[0])
    checksum = int(images[:, 0, 0, 0].sum())
    child_result(count, timer() - start, checksum=checksum)


CASES: dict[str, Callable[..., None]] = {"stream": case_stream, "mem": case_mem}


# ---------------------------------------------------------------------- workload
def grid(stride: int, spec: SlideSpec) -> list[list[int]]:
    """Level-0 top-lefts of an overlapping grid of 256 px patches over the whole slide."""
    return [
        [x, y]
        for y in range(0, spec.height - PATCH + 1, stride)
        for x in range(0, spec.width - PATCH + 1, stride)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=4)
    parser.add_argument("--stride", type=int, default=90)
    parser.add_argument("--compare-patches", type=int, default=12000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--budget", default="256MiB")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--full-repeats", type=int, default=1)
    args = parser.parse_args()

    spec = SlideSpec()
    slides = build_slides(args.slides, spec)
    points = grid(args.stride, spec)
    total = len(points) * len(slides)
    print(
        f"workload: {args.slides} slides {spec.width}x{spec.height}, {total:,} patches of "
        f"{PATCH} px ({total * PATCH * PATCH * 3 / 2**30:.1f} GiB of pixels), stride "
        f"{args.stride}, {PROCS} processes x {THREADS} threads, batch {args.batch_size}, "
        f"budget {args.budget}"
    )
    stream_args = {"batch_size": args.batch_size, "budget": args.budget}

    work = {"slides": slides, "stride": args.stride, "per_slide": 0}
    whole: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, args.full_repeats)):  # ordered and mixed, interleaved
        for name, extra in (("ordered", {}), ("mixed", {"mixed": True})):
            res = run_case(SCRIPT, "stream", {"work": work, **stream_args, **extra})
            rate = res["patches"] / res["seconds"]
            if name not in whole or rate > whole[name]["rate"]:
                whole[name] = {**res, "rate": rate}
    full, full_mixed = whole["ordered"], whole["mixed"]
    full_rate, full_mixed_rate = full["rate"], full_mixed["rate"]

    per_slide = -(-args.compare_patches // len(slides)) if args.compare_patches > 0 else 0
    small = {**work, "per_slide": per_slide}
    best: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, args.repeats)):
        for name, case, extra in (
            ("mem", "mem", {}),
            ("stream", "stream", stream_args),
            ("mixed", "stream", {**stream_args, "mixed": True}),
        ):
            res = run_case(SCRIPT, case, {"work": small, **extra})
            rate = res["patches"] / res["seconds"]
            if name not in best or rate > best[name]["rate"]:
                best[name] = {**res, "rate": rate}
    if not best["mem"]["checksum"] == best["stream"]["checksum"] == best["mixed"]["checksum"]:
        raise SystemExit("the streams and the memory pool delivered different pixels")
    ratio = best["stream"]["rate"] / best["mem"]["rate"]
    mixed_ratio = best["mixed"]["rate"] / best["stream"]["rate"]
    n_small = best["mem"]["patches"]

    rows = [
        Row(f"stream, all {full['patches']:,} patches", full_rate, full["peak_rss_mib"], {}),
        Row(
            f"memory pool, {n_small:,} patches",
            best["mem"]["rate"],
            best["mem"]["peak_rss_mib"],
            {"vs memory pool": 1.0},
        ),
        Row(
            f"stream, same {n_small:,} patches",
            best["stream"]["rate"],
            best["stream"]["peak_rss_mib"],
            {"vs memory pool": ratio, "vs ordered stream": 1.0},
        ),
        Row(
            f"stream, mixed, all {full_mixed['patches']:,} patches",
            full_mixed_rate,
            full_mixed["peak_rss_mib"],
            {"vs ordered stream": full_mixed_rate / full_rate},
        ),
        Row(
            f"stream, mixed, same {n_small:,} patches",
            best["mixed"]["rate"],
            best["mixed"]["peak_rss_mib"],
            {
                "vs memory pool": best["mixed"]["rate"] / best["mem"]["rate"],
                "vs ordered stream": mixed_ratio,
            },
        ),
    ]
    print_table("Streaming vs in-memory pool", rows, ["vs memory pool", "vs ordered stream"])
    print("mixed: shuffle=True, open_slides=4, patches_per_visit=16, shuffle_buffer=4096")
    print(f"\nring: {full['ring_mib']:.0f} MiB (budget {args.budget})")
    checks = [
        ("streamed patches (>= 50,000)", full["patches"] / 50000, 1.0),
        ("1 GiB / peak RSS of the full stream", RSS_LIMIT_MIB / full["peak_rss_mib"], 1.0),
        ("stream / memory pool throughput", ratio, 0.9),
        (
            "1 GiB / peak RSS of the full mixed stream",
            RSS_LIMIT_MIB / full_mixed["peak_rss_mib"],
            1.0,
        ),
        ("mixed / ordered stream throughput, subset", mixed_ratio, 0.8),
        ("mixed / ordered stream throughput, whole workload", full_mixed_rate / full_rate, 0.8),
    ]
    print(f"\npeak RSS of the full stream: {full['peak_rss_mib']:.0f} MiB (limit 1024 MiB)")
    for name, value, target in checks:
        print("- " + verdict(name, value, target))
    print(
        json.dumps(
            {
                "stream_rate": full_rate,
                "ratio": ratio,
                "peak_rss_mib": full["peak_rss_mib"],
                "mixed_rate": full_mixed_rate,
                "mixed_ratio": mixed_ratio,
                "mixed_peak_rss_mib": full_mixed["peak_rss_mib"],
            },
            default=float,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in CASES:
        CASES[sys.argv[1]](**json.loads(sys.argv[2]))
    else:
        main()
