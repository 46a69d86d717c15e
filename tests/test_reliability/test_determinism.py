"""The same inputs give byte-identical images and manifests (apart from manifest ids and
dates) across runs and multiprocessing start methods."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from slidepatch import DiskPatchExtractorPool, MultiResDiskPatchExtractorPool, PatchSet


@pytest.mark.timeout(90)
def test_disk_pool_identical_across_runs_and_start_methods(
    small_sets: list[PatchSet], tmp_path: Path, snapshot: Callable
) -> None:
    snaps = []
    for k, method in enumerate(["fork", "spawn", "fork"]):
        out = tmp_path / f"run{k}"
        out.mkdir()
        DiskPatchExtractorPool(
            patches_pool=small_sets[:3],
            proc_num_workers=2,
            thread_num_workers=2,
            output_dir=out,
            image_type="jpg",
            start_method=method,
        )
        multi = out / "multi"
        multi.mkdir()
        MultiResDiskPatchExtractorPool(
            patches_pool=[ps.select(list(range(5))) for ps in small_sets[:2]],
            levels_or_mpps=[0, 1.0],
            resampling_mode="wsi",
            proc_num_workers=2,
            thread_num_workers=1,
            output_dir=multi,
            image_type="png",
            start_method=method,
        )
        snaps.append(snapshot(out))
    assert len(snaps[0]) == 3 * 80 + 3 * 3 + 2 * 5 * 2 + 2 * 3  # images + manifests (3 each)
    assert snaps[0] == snaps[1] == snaps[2]
