"""Shards against files, JPEG passthrough into shards, and the cost of quality scores.

One run, cases interleaved round by round, in reverse order every other round (the machine
may be shared: ratios from the same round are what to read), each writing into a fresh
folder on the same file system after an ``os.sync()``; outputs are deleted only at the end
(right after thousands of files are deleted, ext4 creates files more slowly for a while,
which would fall on whichever files case came next):

* ``files-png``:   DiskPatchExtractorPool, one PNG file per patch (the default);
* ``shards-png``:  the same patches into WebDataset shards (``output_format="webdataset"``);
* ``shards-png-qc``: the same with ``qc_scores=True``;
* ``files-png-qc``: the default files output with ``qc_scores=True``;
* ``shards-jpeg-passthrough``: tile-aligned JPEG patches, stored tiles copied into shards;

then one ``qc_scores`` call alone and ``QcBatch`` per patch, warm and with cold caches.

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
    "files-png-qc": {"image_type": "png", "qc_scores": True},
    "shards-png-qc": {"image_type": "png", "output_format": "webdataset", "qc_scores": True},
    "shards-jpeg-passthrough": {
        "image_type": "jpg",
        "jpeg_passthrough": True,
        "output_format": "webdataset",
    },
}


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
    rates: dict[str, list[float]] = {name: [] for name in CASES}
    cpu_us: dict[str, list[float]] = {name: [] for name in CASES}
    for old in root.glob("out-*"):
        shutil.rmtree(old)
    for r in range(args.rounds):
        names = list(CASES) if r % 2 == 0 else list(CASES)[::-1]
        for name in names:
            kw = CASES[name]
            out = root / f"out-{name}-{r}"
            out.mkdir()
            os.sync()
            start = time.perf_counter()
            cpu0 = _cpu_seconds()
            pool = DiskPatchExtractorPool(
                patches_pool=sets,
                proc_num_workers=args.procs,
                thread_num_workers=args.threads,
                output_dir=out,
                **kw,  # type: ignore[arg-type]
            )
            seconds = time.perf_counter() - start
            cpu = _cpu_seconds() - cpu0
            assert pool.patch_count == n
            rates[name].append(n / seconds)
            cpu_us[name].append(cpu / n * 1e6)
            print(
                f"round {r + 1} {name:26s} {n / seconds:8.0f} patches/s  "
                f"{cpu / n * 1e6:6.0f} CPU-µs/patch",
                flush=True,
            )
    fs = os.popen(f"df -T {root} | tail -1").read().split()[1]
    print(
        f"\n{n} patches of {PATCH} px, {args.slides} slides, {args.procs} x {args.threads} "
        f"workers, {os.cpu_count()} CPUs, outputs on {fs} ({root})"
    )
    for name, values in rates.items():
        print(f"{name:26s} median {statistics.median(values):8.0f}  best {max(values):8.0f}")

    def ratio(a: str, b: str) -> str:
        per_round = [x / y for x, y in zip(rates[a], rates[b], strict=True)]
        shown = ", ".join(f"{v:.2f}" for v in per_round)
        return f"{statistics.median(per_round):.2f} (per round {shown})"

    print(f"shards-png / files-png:        {ratio('shards-png', 'files-png')}")
    print(f"shards-png-qc / shards-png:    {ratio('shards-png-qc', 'shards-png')}")
    print(f"files-png-qc / files-png:      {ratio('files-png-qc', 'files-png')}")
    for base in ("files-png", "shards-png"):
        extra = [q / b - 1 for q, b in zip(cpu_us[base + "-qc"], cpu_us[base], strict=True)]
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
