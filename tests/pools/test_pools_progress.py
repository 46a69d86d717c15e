"""Pools draw a progress bar when asked (or on a terminal), and stay silent otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from slidepatch import DiskPatchExtractorPool, MemPatchExtractorPool
from slidepatch.locations.patchset import PatchSet


def test_memory_pool_draws_slides_and_patches(
    patch_sets: list[PatchSet], capsys: pytest.CaptureFixture[str], no_shm_leak: None
) -> None:
    total = sum(len(ps) for ps in patch_sets)
    with MemPatchExtractorPool(
        patches_pool=patch_sets, proc_num_workers=2, thread_num_workers=1, progress=True
    ):
        pass
    err = capsys.readouterr().err
    assert f"slides {len(patch_sets)}/{len(patch_sets)}" in err
    assert f"patches {total}/{total}" in err
    assert err.endswith("\n")


def test_disk_pool_is_silent_off_a_terminal(
    patch_sets: list[PatchSet], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    DiskPatchExtractorPool(
        patches_pool=patch_sets[:1],
        proc_num_workers=1,
        thread_num_workers=1,
        output_dir=tmp_path,
        image_type="jpg",
    )
    assert capsys.readouterr().err == ""


def test_disk_pool_counts_files_when_asked(
    patch_sets: list[PatchSet], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = DiskPatchExtractorPool(
        patches_pool=patch_sets[:2],
        proc_num_workers=1,
        thread_num_workers=1,
        output_dir=tmp_path,
        image_type="jpg",
        progress=True,
    )
    err = capsys.readouterr().err
    assert f"patches {pool.patch_count}/{pool.patch_count}" in err
    assert "slides 2/2" in err
