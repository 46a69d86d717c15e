"""Issue 6's benchmark in one command: the single-core reader table, then the pools table.

    python benchmarks/bench_all.py [--skip-dplabtools] [--rounds 3] [--verbose]

Builds its own workload (synthetic SVS slides in the benchmark cache folder) and prints,
in one run: the raw tile-decode rate, a plain OpenSlide loop and our reader on tile-aligned
and unaligned level-0 patches, a lower level and an MPP that needs resampling
(``bench_read.py``); then the pools: memory (aligned and unaligned), disk PNG, disk JPEG
and multi-resolution, two OpenSlide loops and dplabtools' pools when installed, with the
issue targets (``bench_pools.py``). Every row gives patches/s, ratios and peak memory.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_pools
import bench_read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-dplabtools", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="pool runs per case (median)")
    parser.add_argument("--verbose", action="store_true", help="print every pool run")
    opts = parser.parse_args()
    print("# Readers, one core")
    bench_read.main([])
    print("\n# Pools")
    pool_args = ["--rounds", str(opts.rounds)]
    if opts.skip_dplabtools:
        pool_args.append("--skip-dplabtools")
    if opts.verbose:
        pool_args.append("--verbose")
    bench_pools.main(pool_args)


if __name__ == "__main__":
    main()
