"""Shards against files in three regimes, JPEG passthrough into shards, and the cost of
quality scores.

One run, cases interleaved round by round, in reverse order every other round (the machine
may be shared: ratios from the same round are what to read), each writing into a fresh
folder on the same file system after an ``os.sync()``. Cases:

* ``files-png``:   DiskPatchExtractorPool, one PNG file per patch (the default);
* ``shards-png``:  the same patches into WebDataset shards (``output_format="webdataset"``);
* ``files-jpeg`` / ``shards-jpeg``: the same with JPEG q=90 (a cheap encode, so file
  creation weighs more);
* ``shards-png-qc`` / ``files-png-qc``: with ``qc_scores=True``;
* ``shards-jpeg-passthrough``: tile-aligned JPEG patches, stored tiles copied into shards.

The four files/shards cases run in three regimes:

* ``cache``: timed until the pool returns (the data is in the page cache; outputs are
  deleted only at the end, so no case follows a mass deletion);
* ``disk``: ``os.sync()`` inside the timed region, so the data is on disk (the rate of a
  dataset bigger than RAM, whose writeback cannot be deferred);
* ``rerun``: a second phase, after every ``cache``/``disk`` round: each case right after
  ``rm -rf`` of its own earlier output of the same patches (an untimed run just before:
  for files that is N = one file per patch plus manifests, 1,728 + 12 by default; for
  shards, one tar and index per slide), which is what a user meets rerunning into a
  cleaned folder: right after thousands of files are deleted, ext4's inode allocator
  skips the freed inodes and creating files is slower for minutes.

An untimed files and shards run warms up first. Then one ``qc_scores`` call alone and
``QcBatch`` per patch, warm and with cold caches.

Usage: ``python benchmarks/bench_shards.py [--slides 4] [--rounds 3] [--procs 2]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slidepatch import DiskPatchExtractorPool, PatchSet
from slidepatch.extract.qc_batch import QC_BATCH_SIZE as QC_BATCH
from slidepatch.testing import write_synthetic_slide

PATCH = 256


def _slides(count: int, root: Path) -> list[Path]:
    paths = []
    for seed in range(count):
        path = root / f"shards_bench_{seed}.svs"
        if not path.exists():
            write_synthetic_slide(
                path, width=6144, height=4608, tile_size=PATCH, downsamples=(1, 4), seed=seed
            )
        paths.append(path)
    return paths


def _grid(path: Path) -> PatchSet:
    data = [
        ((x, y), (PATCH, PATCH), "t") for y in range(0, 4608, PATCH) for x in range(0, 6144, PATCH)
    ]
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=0, patch_data=data)


CASES: dict[str, dict[str, object]] = {
    "files-png": {"image_type": "png"},
    "shards-png": {"image_type": "png", "output_format": "webdataset"},
    "files-jpeg": {"image_type": "jpg", "jpeg_quality": 90},
    "shards-jpeg": {"image_type": "jpg", "jpeg_quality": 90, "output_format": "webdataset"},
    "files-png-qc": {"image_type": "png", "qc_scores": True},
    "shards-png-qc": {"image_type": "png", "output_format": "webdataset", "qc_scores": True},
    "shards-jpeg-passthrough": {
        "image_type": "jpg",
        "jpeg_passthrough": True,
        "output_format": "webdataset",
    },
}
PAIRS = (("shards-png", "files-png"), ("shards-jpeg", "files-jpeg"))
REGIMES = ("cache", "disk", "rerun")
TARGET = 2.0  # issue 19: PNG into shards >= 2 x the per-file pool


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _score_call_us(sets: list[PatchSet]) -> tuple[float, float, float, float]:
    """Median µs of one ``qc_scores`` call on a real patch: warm (called again at once) and
    cold (after an 8 MB walk evicts the caches, as the read and encode between two patches
    do): the gap is why a call costs more inside the extractor than alone. Then the same
    per patch for a ``QcBatch`` of 32 patches (added and scored), warm and cold."""
    import numpy as np

    from slidepatch import Slide
    from slidepatch.extract.qc import qc_scores
    from slidepatch.extract.qc_batch import QC_BATCH_SIZE, QcBatch

    with Slide.open(sets[0].slide_path) as slide:
        patch = np.ascontiguousarray(slide.read_region((PATCH, PATCH), 0, (PATCH, PATCH))[..., :3])
    junk = np.zeros(8 << 20, np.uint8)
    warm, cold = [], []
    for _ in range(300):
        junk[::64] += 1
        start = time.perf_counter()
        qc_scores(patch)
        middle = time.perf_counter()
        qc_scores(patch)
        cold.append(middle - start)
        warm.append(time.perf_counter() - middle)

    def batch() -> float:
        start = time.perf_counter()
        qb = QcBatch()
        scores = [qb.add(patch) for _ in range(QC_BATCH_SIZE)]
        assert scores[0].blur >= 0
        return (time.perf_counter() - start) / QC_BATCH_SIZE

    batch_warm, batch_cold = [], []
    for _ in range(50):
        junk[::64] += 1
        batch_cold.append(batch())
        batch_warm.append(batch())
    return (
        statistics.median(warm) * 1e6,
        statistics.median(cold) * 1e6,
        statistics.median(batch_warm) * 1e6,
        statistics.median(batch_cold) * 1e6,
    )


def _run(
    name: str, sets: list[PatchSet], out: Path, args: argparse.Namespace, *, sync: bool
) -> tuple[float, float]:
    """One case into a new folder ``out``: (patches/s, CPU µs per patch); with ``sync``,
    the timed region ends once ``os.sync()`` has the data on disk."""
    out.mkdir()
    for ps in sets:  # every case finds the slides in the page cache
        Path(ps.slide_path).read_bytes()
    os.sync()
    start = time.perf_counter()
    cpu0 = _cpu_seconds()
    pool = DiskPatchExtractorPool(
        patches_pool=sets,
        proc_num_workers=args.procs,
        thread_num_workers=args.threads,
        output_dir=out,
        **CASES[name],  # type: ignore[arg-type]
    )
    if sync:
        os.sync()
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu0
    n = sum(len(ps) for ps in sets)
    assert pool.patch_count == n
    return n / seconds, cpu / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dir", default=None, help="where outputs go (default: a temp folder)")
    args = parser.parse_args()
    root = Path(args.dir or tempfile.gettempdir()) / "slidepatch-bench-shards"
    root.mkdir(parents=True, exist_ok=True)
    sets = [_grid(p) for p in _slides(args.slides, root)]
    n = sum(len(ps) for ps in sets)
    pair_cases = [c for pair in PAIRS for c in pair]
    # (case, regime) -> per-round values
    rates: dict[tuple[str, str], list[float]] = {}
    cpu_us: dict[tuple[str, str], list[float]] = {}
    for old in root.glob("out-*"):
        shutil.rmtree(old)

    def record(name: str, regime: str, r: int, rate: float, cpu: float) -> None:
        rates.setdefault((name, regime), []).append(rate)
        cpu_us.setdefault((name, regime), []).append(cpu)
        print(
            f"round {r + 1} {regime:6s} {name:24s} {rate:8.0f} patches/s  {cpu:6.0f} CPU-µs/patch",
            flush=True,
        )

    for name in ("files-png", "shards-png"):  # warm-up (imports, caches), not timed
        _run(name, sets, root / f"out-warm-up-{name}", args, sync=True)
    # phase 1: nothing deleted until the end (page cache, then on disk)
    for r in range(args.rounds):
        runs = [(c, "cache") for c in CASES] + [(c, "disk") for c in pair_cases]
        for name, regime in runs if r % 2 == 0 else runs[::-1]:
            rate, cpu = _run(
                name, sets, root / f"out-{name}-{regime}-{r}", args, sync=regime == "disk"
            )
            record(name, regime, r, rate, cpu)
    for old in root.glob("out-*"):
        shutil.rmtree(old)
    # phase 2: each case right after rm -rf of its own earlier output
    for r in range(args.rounds):
        for name in pair_cases if r % 2 == 0 else pair_cases[::-1]:
            earlier = root / f"out-{name}-earlier"
            _run(name, sets, earlier, args, sync=True)
            shutil.rmtree(earlier)
            rate, cpu = _run(name, sets, root / f"out-{name}-rerun-{r}", args, sync=False)
            shutil.rmtree(root / f"out-{name}-rerun-{r}")
            record(name, "rerun", r, rate, cpu)

    fs = os.popen(f"df -T {root} | tail -1").read().split()[1]
    print(
        f"\n{n} patches of {PATCH} px, {args.slides} slides, {args.procs} x {args.threads} "
        f"workers, {os.cpu_count()} CPUs, outputs on {fs} ({root}); median (best) patches/s "
        "and CPU µs per patch"
    )
    for (name, regime), values in rates.items():
        print(
            f"{regime:6s} {name:24s} {statistics.median(values):8.0f} ({max(values):6.0f})  "
            f"{statistics.median(cpu_us[name, regime]):5.0f} µs"
        )

    def ratio(a: tuple[str, str], b: tuple[str, str]) -> tuple[float, str]:
        per_round = [x / y for x, y in zip(rates[a], rates[b], strict=True)]
        shown = ", ".join(f"{v:.2f}" for v in per_round)
        return statistics.median(per_round), shown

    print()
    for shards, files in PAIRS:
        for regime in REGIMES:
            value, shown = ratio((shards, regime), (files, regime))
            cpu = statistics.median(
                s / f for s, f in zip(cpu_us[shards, regime], cpu_us[files, regime], strict=True)
            )
            meets = "meets" if value >= TARGET else "does not meet"
            print(
                f"{shards} / {files}, {regime:6s}: {value:.2f} x ({meets} {TARGET:g} x; per "
                f"round {shown}); CPU per patch {cpu:.2f} x"
            )
    for a, b in (("shards-png-qc", "shards-png"), ("files-png-qc", "files-png")):
        value, shown = ratio((a, "cache"), (b, "cache"))
        print(f"{a} / {b}: {value:.2f} (per round {shown})")
    for base in ("files-png", "shards-png"):
        extra = [
            q / b - 1
            for q, b in zip(cpu_us[base + "-qc", "cache"], cpu_us[base, "cache"], strict=True)
        ]
        shown = ", ".join(f"{100 * v:+.1f} %" for v in extra)
        cost = 100 * statistics.median(extra)
        print(
            f"QC cost on {base}: {cost:+.1f} % of CPU per patch (target <= 10 %: "
            f"{'PASS' if cost <= 10 else 'FAIL'}; per round {shown}; CPU time of the "
            "workers and the caller per patch)"
        )
    warm, cold, batch_warm, batch_cold = _score_call_us(sets)
    print(
        f"one qc_scores call: {warm:.0f} µs warm, {cold:.0f} µs with cold caches; "
        f"QcBatch of {QC_BATCH}, added back to back: {batch_warm:.0f} µs a patch warm, "
        f"{batch_cold:.0f} µs after an eviction"
    )
    for old in root.glob("out-*"):
        shutil.rmtree(old)


if __name__ == "__main__":
    main()
