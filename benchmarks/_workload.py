"""Shared benchmark machinery: synthetic slides, patch locations, timed cases, peak memory.

Every case runs in a fresh child process so that its peak memory (resident memory summed
over the child and any processes it starts, plus shared memory, sampled from /proc and
/dev/shm) and its caches belong to it alone. The child
times only the work itself and prints one JSON line; the parent adds the memory figure.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PATCH = 256


def cache_dir() -> Path:
    """Where workloads are kept between runs ($SLIDEPATCH_BENCH_DIR, else a temp folder)."""
    root = os.environ.get("SLIDEPATCH_BENCH_DIR") or os.path.join(
        tempfile.gettempdir(), "slidepatch-bench"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class SlideSpec:
    width: int = 12288
    height: int = 9216
    tile_size: int = 256
    downsamples: tuple[int, ...] = (1, 4, 16)
    mpp: float = 0.25
    tissue_fraction: float = 0.7
    jpeg_quality: int = 85

    def name(self, seed: int) -> str:
        return (
            f"synthetic_{self.width}x{self.height}_t{self.tile_size}_q{self.jpeg_quality}"
            f"_tf{self.tissue_fraction:g}_s{seed}.svs"
        )


def build_slides(count: int, spec: SlideSpec | None = None) -> list[str]:
    """``count`` synthetic SVS slides (made once, then reused from the cache folder)."""
    from slidepatch.testing import write_synthetic_slide

    spec = spec or SlideSpec()
    paths = []
    for seed in range(count):
        path = cache_dir() / spec.name(seed)
        if not path.exists():
            tmp = path.with_suffix(".part.svs")
            write_synthetic_slide(
                tmp,
                width=spec.width,
                height=spec.height,
                tile_size=spec.tile_size,
                downsamples=spec.downsamples,
                layout="svs",
                mpp=spec.mpp,
                jpeg_quality=spec.jpeg_quality,
                tissue_fraction=spec.tissue_fraction,
                seed=seed,
            )
            tmp.rename(path)
        paths.append(str(path))
    return paths


@functools.cache
def _tissue_mask(spec: SlideSpec, seed: int) -> npt.NDArray[np.bool_]:
    """The synthetic slide's tissue mask at downsample 16 (made once per slide and seed)."""
    from slidepatch.testing import synthetic_tissue_mask

    mask = synthetic_tissue_mask(
        width=spec.width,
        height=spec.height,
        downsample=16,
        tissue_fraction=spec.tissue_fraction,
        seed=seed,
    )
    mask.setflags(write=False)
    return mask


def tissue_grid(path: str, spec: SlideSpec | None = None, *, seed: int) -> list[tuple[int, int]]:
    """Level-0 top-lefts of the tile-aligned 256 px patches whose centre is tissue."""
    spec = spec or SlideSpec()
    mask = _tissue_mask(spec, seed)
    out = []
    for y in range(0, spec.height - PATCH + 1, PATCH):
        for x in range(0, spec.width - PATCH + 1, PATCH):
            if mask[(y + PATCH // 2) // 16, (x + PATCH // 2) // 16]:
                out.append((x, y))
    return out


def tissue_random(
    path: str, count: int, spec: SlideSpec | None = None, *, seed: int
) -> list[tuple[int, int]]:
    """``count`` unaligned 256 px patches at random places whose centre is tissue."""
    spec = spec or SlideSpec()
    mask = _tissue_mask(spec, seed)
    rng = np.random.default_rng([seed, 99])
    out: list[tuple[int, int]] = []
    while len(out) < count:
        x = int(rng.integers(1, spec.width - PATCH))
        y = int(rng.integers(1, spec.height - PATCH))
        if x % PATCH and y % PATCH and mask[(y + PATCH // 2) // 16, (x + PATCH // 2) // 16]:
            out.append((x, y))
    return out


def warm_page_cache(paths: list[str]) -> None:
    """Read ``paths`` whole, so that a case finds every slide byte in the page cache.

    Some machines (this project's VM among them) evict file pages that went unread for a
    minute; without this, a case that reads a level the others skip (a lower level, say)
    would pay disk reads the other cases do not.
    """
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            while fh.read(1 << 24):
                pass


# ---------------------------------------------------------------------- the codec baseline
def raw_decode(sets: list[list[Any]], *, aligned: bool = False) -> tuple[int, float]:
    """One core, one thread: pread + imagecodecs JPEG decode of the level-0 tile under each
    point of ``sets`` (``[[slide, [[x, y], ...]], ...]``) into one reused buffer.

    The buffer starts 16 bytes past a 32-byte boundary, where libjpeg-turbo decodes
    fastest (ordinary stores); ``aligned=True`` puts it on the boundary instead, where
    libjpeg-turbo switches to non-temporal stores (see ``slidepatch.slide.buffers``).
    Returns (tiles decoded, seconds).
    """
    import imagecodecs
    import tifffile

    jobs = []
    for slide, points in sets:
        with tifffile.TiffFile(slide) as tif:
            page = tif.pages[0]
            tile = int(page.tilewidth)
            across = -(-int(page.imagewidth) // tile)
            colorspace = "YCBCR" if int(page.photometric) == 6 else "RGB"
            jobs.append(
                (
                    os.open(slide, os.O_RDONLY),
                    page.dataoffsets,
                    page.databytecounts,
                    page.jpegtables,
                    colorspace,
                    [(y // tile) * across + x // tile for x, y in points],
                )
            )
    raw = np.empty(PATCH * PATCH * 3 + 64, dtype=np.uint8)
    lead = (0 if aligned else 16) - raw.ctypes.data
    out = raw[lead % 32 :][: PATCH * PATCH * 3].reshape(PATCH, PATCH, 3)
    count = 0
    start = timer()
    for fd, offsets, counts, tables, colorspace, index in jobs:
        for i in index:
            data = os.pread(fd, counts[i], offsets[i])
            imagecodecs.jpeg8_decode(
                data, tables=tables, colorspace=colorspace, outcolorspace="RGB", out=out
            )
            count += 1
    seconds = timer() - start
    for job in jobs:
        os.close(job[0])
    return count, seconds


# ---------------------------------------------------------------------- running cases
def _tree_memory_bytes(pid: int) -> int:
    """Resident anonymous + file-backed memory of ``pid`` and its descendants (Linux /proc).

    Shared memory (``RssShmem``) is left out here: pages written with ``pwrite`` are not
    mapped by anyone, so shared memory is counted once, from /dev/shm, by the caller.
    """
    total = 0
    stack = [pid]
    seen = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith(("RssAnon:", "RssFile:")):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def _shm_used_bytes() -> int:
    """Bytes in use in /dev/shm (0 where there is none)."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return 0
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def run_case(
    script: str, case: str, args: dict[str, Any], *, python: str | None = None
) -> dict[str, Any]:
    """Run ``script case args`` in a child; return its JSON result plus ``peak_rss_mib``.

    The peak is the largest memory seen by a 20 Hz sampler: resident anonymous and
    file-backed memory summed over the child's process tree, plus the growth of /dev/shm
    since the child started (shared memory, mapped or not). Where /proc is missing it
    falls back to the child's own maximum RSS.
    """
    cmd = [python or sys.executable, str(BENCH_DIR / script), case, json.dumps(args)]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    peak = 0
    done = threading.Event()
    shm_before = _shm_used_bytes()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            shm = max(0, _shm_used_bytes() - shm_before)
            peak = max(peak, _tree_memory_bytes(proc.pid) + shm)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed ({proc.returncode}):\n{stderr[-3000:]}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    child_max = int(result.pop("self_maxrss_kib", 0)) * 1024
    result["peak_rss_mib"] = max(peak, child_max) / 2**20
    return result


def child_result(patches: int, seconds: float, **extra: Any) -> None:
    """Print a case's result (called in the child)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"patches": patches, "seconds": seconds, "self_maxrss_kib": usage, **extra},
            default=float,
        ),
        flush=True,
    )


# ---------------------------------------------------------------------- printing
@dataclass
class Row:
    name: str
    rate: float
    peak_rss_mib: float
    ratios: dict[str, float]


def print_table(title: str, rows: list[Row], ratio_names: list[str]) -> None:
    print(f"\n## {title}\n")
    head = ["case", "patches/s", *ratio_names, "peak memory MiB"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * len(head)) + "|")
    for r in rows:
        ratios = [f"{r.ratios[n]:.2f}" if n in r.ratios else "" for n in ratio_names]
        cells = [r.name, f"{r.rate:,.0f}", *ratios, f"{r.peak_rss_mib:,.0f}"]
        print("| " + " | ".join(cells) + " |")


def verdict(name: str, value: float, target: float) -> str:
    ok = math.isfinite(value) and value >= target
    return f"{'PASS' if ok else 'FAIL'}  {name}: {value:.2f} (target >= {target:g})"


def timer() -> float:
    return time.perf_counter()
