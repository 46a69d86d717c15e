"""Per-patch CPU µs of each stage of a disk extraction, one thread: files against shards.

Reads one synthetic slide's 432 patches of 256 px once, encodes them (PNG, or JPEG q=90),
then hands the same encoded patches to a ``FilesSink`` and a ``ShardSink`` in turns
(``add`` for every patch, then ``finish``: the shards' index), each into a fresh folder
after an ``os.sync()``; last, the ordered hand-off of :func:`run_in_order` per task with
no work (1 and 2 threads). CPU is the thread's (``time.thread_time``) for the stages and
the process's for the hand-off. Outputs are deleted at the end: a files case right after
a deletion of many files pays ext4's slower inode allocation (see ``README.md``).

Usage: ``python benchmarks/bench_sink_stages.py [--image-type png|jpg] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slidepatch import Slide
from slidepatch.extract.encoders import PatchEncoder
from slidepatch.extract.files_sink import FilesSink
from slidepatch.extract.manifest import WrittenPatch
from slidepatch.extract.ordered import run_in_order
from slidepatch.extract.shard_sink import ShardSink
from slidepatch.extract.sink import EncodedPatch, EncodedSink, SlideTarget
from slidepatch.testing import write_synthetic_slide

PATCH = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-type", default="png", choices=("png", "jpg"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where outputs go (default: a temp folder)")
    args = parser.parse_args()
    root = Path(args.dir or tempfile.gettempdir()) / "slidepatch-bench-stages"
    root.mkdir(parents=True, exist_ok=True)
    path = root / "stages_0.svs"
    if not path.exists():
        write_synthetic_slide(
            path, width=6144, height=4608, tile_size=PATCH, downsamples=(1, 4), seed=0
        )
    spots = [(x, y) for y in range(0, 4608, PATCH) for x in range(0, 6144, PATCH)]
    n = len(spots)
    encoder = PatchEncoder.create(image_type=args.image_type, jpeg_quality=90, png_compression=None)
    with Slide.open(path) as slide:
        start = time.thread_time()
        images = [slide.read_region(s, 0, (PATCH, PATCH))[..., :3].copy() for s in spots]
        read_us = (time.thread_time() - start) / n * 1e6
    start = time.thread_time()
    datas = [encoder.encode(image) for image in images]
    encode_us = (time.thread_time() - start) / n * 1e6
    kb = sum(len(d) for d in datas) / n / 1e3
    print(f"read {read_us:.0f} µs, {args.image_type} encode {encode_us:.0f} µs ({kb:.0f} KB)")

    def patches(manifest_id: str) -> list[EncodedPatch]:
        return [
            EncodedPatch(
                data=data,
                record=WrittenPatch(
                    path=f"s_{manifest_id}_x{x}_y{y}.{encoder.extension}",
                    patch_index=i,
                    label="t",
                    level_or_mpp=0,
                    x_level0=x,
                    y_level0=y,
                    width_read_px=PATCH,
                    height_read_px=PATCH,
                    level0_per_pixel=1.0,
                    mpp_read=0.25,
                ),
            )
            for i, ((x, y), data) in enumerate(zip(spots, datas, strict=True))
        ]

    add: dict[str, list[float]] = {"files": [], "shards": []}
    finish: dict[str, list[float]] = {"files": [], "shards": []}
    for r in range(args.rounds):
        for kind in ("files", "shards") if r % 2 == 0 else ("shards", "files"):
            out = root / f"out-{kind}-{r}"
            out.mkdir()
            manifest_id = f"m{r}{kind}"
            target = SlideTarget(
                output_dir=str(out), slide_path=str(path), manifest_id=manifest_id, wsi_id="s"
            )
            ps = patches(manifest_id)
            sink: EncodedSink
            if kind == "files":
                sink = FilesSink(
                    target,
                    rel_paths=[p.record.path for p in ps],
                    set_dirs=[],
                    label_dirs=[],
                    groups=n,
                    pool_mode=False,
                )
            else:
                sink = ShardSink(
                    target, limits=(100_000, 10**9), extension=encoder.extension, multires=False
                )
            os.sync()
            sink.start()
            start = time.thread_time()
            for g, p in enumerate(ps):
                sink.add(g, [p])
            middle = time.thread_time()
            sink.finish(expected=n)
            end = time.thread_time()
            sink.close()
            add[kind].append((middle - start) / n * 1e6)
            finish[kind].append((end - middle) / n * 1e6)
    for kind in ("files", "shards"):
        print(
            f"{kind:6s} sink add {statistics.median(add[kind]):6.1f} µs/patch, finish "
            f"{statistics.median(finish[kind]):5.1f} (per round add "
            f"{', '.join(f'{v:.0f}' for v in add[kind])})"
        )
    tasks = 20_000
    for workers in (1, 2):
        start = time.process_time()
        run_in_order(
            lambda i: i, tasks, commit=lambda i, r: None, num_workers=workers, window=4 * workers
        )
        per_task = (time.process_time() - start) / tasks * 1e6
        print(f"ordered hand-off, {workers} thread(s): {per_task:.1f} µs/task")
    for old in root.glob("out-*"):
        shutil.rmtree(old)


if __name__ == "__main__":
    main()
