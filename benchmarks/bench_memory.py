"""Peak memory of a whole MemPatchExtractorPool run against the bytes of its pixels.

Issue 5 asks that the run stay within 1.15 x the pixel bytes plus a constant. Resident-set
sums double-count shared memory (every process that touches a page counts it), so this
samples, at 100 Hz from before the pool starts until the caller has read every pixel, the
private memory of this process and all its children (``RssAnon``) plus the growth of the
machine's shared memory (``Shmem`` in ``/proc/meminfo``), and reports the peak of their
sum against the pixel bytes.

    python benchmarks/bench_memory.py [--slides 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _workload import PATCH, build_slides, tissue_grid, verdict

LIMIT = 1.15


def _meminfo(key: str) -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/meminfo")


def _anon_bytes(pid: int) -> int:
    """RssAnon of ``pid`` and its descendants (0 for a process that has gone)."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    total += int(line.split()[1]) * 1024
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return total
    return total + sum(_anon_bytes(c) for c in children)


class PeakMemory:
    """The peak of (private memory of this process tree + shared memory made since start)."""

    def __init__(self) -> None:
        self._shmem0 = _meminfo("Shmem")
        self.peak = 0
        self.peak_shared = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        shared = max(0, _meminfo("Shmem") - self._shmem0)
        self.peak_shared = max(self.peak_shared, shared)
        self.peak = max(self.peak, _anon_bytes(os.getpid()) + shared)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(0.01)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=4)
    opts = parser.parse_args()
    from slidepatch import MemPatchExtractorPool, PatchSet

    slides = build_slides(opts.slides)
    sets = [
        PatchSet.from_patch_data(
            slide_path=path,
            level_or_mpp=0,
            patch_data=[((x, y), (PATCH, PATCH), "tissue") for x, y in tissue_grid(path, seed=i)],
        )
        for i, path in enumerate(slides)
    ]
    n = sum(len(ps) for ps in sets)
    pixels = n * PATCH * PATCH * 3
    idle = _anon_bytes(os.getpid())
    with PeakMemory() as peak:
        pool = MemPatchExtractorPool(patches_pool=sets, proc_num_workers=2, thread_num_workers=2)
        checksum = int(pool.images.sum(dtype=np.uint64))  # the caller reads every pixel
        peak.sample()
    print(f"{n} patches of {PATCH} px: pixels {pixels / 2**20:,.0f} MiB (checksum {checksum})")
    print(
        f"peak: {peak.peak / 2**20:,.0f} MiB (shared {peak.peak_shared / 2**20:,.0f} MiB; "
        f"this interpreter alone before the run: {idle / 2**20:,.0f} MiB)"
    )
    ratio = (peak.peak - idle) / pixels
    print(f"(peak - idle interpreter) / pixel bytes = {ratio:.3f}")
    print(verdict(f"{LIMIT} / that ratio", LIMIT / ratio, 1.0))
    pool.close()


if __name__ == "__main__":
    main()
