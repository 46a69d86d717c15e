"""Run one dplabtools 0.0.5 extractor pool (executed by dplabtools' own interpreter).

    <dplabtools python> _dplabtools_case.py mem|disk '<json>'

Imports nothing from slidepatch: dplabtools lives in a separate virtual environment whose
dependencies conflict with ours. Prints one JSON line like ``_workload.child_result``.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main(kind: str, args: dict) -> None:  # type: ignore[type-arg]
    import dplabtools.config

    dplabtools.config.print_messages = False
    import numpy as np
    from dplabtools.slides.patches import (
        DiskPatchExtractorPool,
        MemPatchExtractorPool,
        PatchesMock,
    )

    mocks = [
        PatchesMock(
            patch_data=[((x, y), (256, 256), "tissue") for x, y in points],
            wsi_file=slide,
            level_or_mpp=0,
        )
        for slide, points in args["sets"]
    ]
    start = time.perf_counter()
    if kind == "mem":
        pool = MemPatchExtractorPool(
            patches_pool=mocks, proc_num_workers=args["procs"], thread_num_workers=args["threads"]
        )
        count = sum(1 for image, _label in pool.patch_list if np.asarray(image).size)
    else:
        pool = DiskPatchExtractorPool(
            patches_pool=mocks,
            proc_num_workers=args["procs"],
            thread_num_workers=args["threads"],
            output_dir=args["output_dir"],
            image_type=args["image_type"],
        )
        count = pool.patch_count
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"patches": count, "seconds": seconds, "self_maxrss_kib": usage}))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
