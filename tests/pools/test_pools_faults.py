"""Failures: a killed worker, a failing slide, Ctrl-C — clear errors, no hang, no /dev/shm left."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from worker_faults import KillWorkerOn, stalled_copy

from slidepatch import PatchSet, WorkerDiedError
from slidepatch.errors import ExtractionError, SlideError, SlideNotFoundError
from slidepatch.pools import MemPatchExtractorPool, MultiResMemPatchExtractorPool

pytestmark = pytest.mark.usefixtures("no_shm_leak")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
def test_killed_worker_names_its_slide(
    patch_sets: list[PatchSet], tmp_path: Path, start_method: str
) -> None:
    victim = stalled_copy(patch_sets[1], tmp_path)  # its worker is killed from outside
    started = time.monotonic()
    with (
        KillWorkerOn(victim) as killer,
        pytest.raises(WorkerDiedError, match="SIGKILL") as info,
    ):
        MemPatchExtractorPool(
            patches_pool=[patch_sets[0], victim, patch_sets[2]],
            proc_num_workers=2,
            thread_num_workers=1,
            start_method=start_method,
        )
    assert info.value.path == victim.slide_path
    assert f"pid {killer.killed}" in str(info.value)
    assert time.monotonic() - started < 20


def test_killed_worker_skipped(patch_sets: list[PatchSet], tmp_path: Path) -> None:
    victim = stalled_copy(patch_sets[0], tmp_path)
    with KillWorkerOn(victim):
        pool = MemPatchExtractorPool(
            patches_pool=[victim, *patch_sets[1:]],
            proc_num_workers=1,
            thread_num_workers=1,
            on_error="skip",
        )
    assert list(pool.failed_slides) == [victim.slide_path]
    assert isinstance(pool.failed_slides[victim.slide_path], WorkerDiedError)
    assert pool.patch_count == len(patch_sets[1]) + len(patch_sets[2])
    assert pool.slide_index.tolist() == [1] * len(patch_sets[1]) + [2] * len(patch_sets[2])
    assert pool.pids[0] is None and pool.pids[1] is not None


def _missing(tmp_path: Path, like: PatchSet) -> PatchSet:
    return PatchSet.from_patch_data(
        slide_path=tmp_path / "gone.svs", level_or_mpp=0, patch_data=like.patch_data
    )


def test_failing_slide_raises_naming_it(patch_sets: list[PatchSet], tmp_path: Path) -> None:
    missing = _missing(tmp_path, patch_sets[0])
    with pytest.raises(SlideNotFoundError) as info:
        MemPatchExtractorPool(
            patches_pool=[patch_sets[0], missing], proc_num_workers=2, thread_num_workers=1
        )
    assert info.value.path == missing.slide_path


def test_failing_slide_skipped(
    patch_sets: list[PatchSet], tmp_path: Path, synthetic_slides: list[Path], make_grid: Any
) -> None:
    missing = _missing(tmp_path, patch_sets[0])
    other = make_grid(synthetic_slides[1])  # same patch size and count, another slide
    pool = MemPatchExtractorPool(
        patches_pool=[patch_sets[0], missing, other],
        proc_num_workers=2,
        thread_num_workers=1,
        on_error="skip",
    )
    assert set(pool.failed_slides) == {missing.slide_path}
    n = len(patch_sets[0])
    assert pool.patch_count == 2 * n
    images = pool.images  # a copy that leaves out the failed slide
    assert images.shape[0] == 2 * n
    with MemPatchExtractorPool(
        patches_pool=[other], proc_num_workers=1, thread_num_workers=1
    ) as alone:
        assert (images[n:] == alone.images).all()


def test_bad_patch_error_names_slide_and_patch(synthetic_slides: list[Path]) -> None:
    outside = PatchSet.from_patch_data(
        slide_path=synthetic_slides[0],
        level_or_mpp=0,
        patch_data=[((0, 0), (64, 64), "a"), ((100_000, 100_000), (64, 64), "a")],
    )
    with pytest.raises(SlideError) as info:
        MultiResMemPatchExtractorPool(
            patches_pool=[outside], levels_or_mpps=[0], proc_num_workers=1, thread_num_workers=1
        )
    assert info.value.path == str(synthetic_slides[0])
    assert isinstance(info.value, ExtractionError) and "patch 1" in str(info.value)


@pytest.mark.timeout(60)
def test_ctrl_c_terminates_workers_and_frees_memory(
    patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    stalled = [stalled_copy(ps, tmp_path) for ps in patch_sets[:2]]  # workers hang on these
    children_before = set(_children())
    timer = threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            MemPatchExtractorPool(
                patches_pool=[*stalled, patch_sets[2]], proc_num_workers=2, thread_num_workers=1
            )
    finally:
        timer.cancel()
    assert time.monotonic() - started < 15
    assert set(_children()) <= children_before


def _children() -> list[int]:
    """Live child pids of this process (Linux /proc)."""
    pids: list[int] = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return pids


def test_disk_pool_skip_writes_only_complete_slides(
    patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    from slidepatch.pools import DiskPatchExtractorPool

    out = tmp_path / "out"
    out.mkdir()
    missing = _missing(tmp_path, patch_sets[0])
    pool = DiskPatchExtractorPool(
        patches_pool=[patch_sets[0], missing],
        proc_num_workers=2,
        thread_num_workers=1,
        output_dir=out,
        image_type="jpg",
        on_error="skip",
    )
    assert set(pool.failed_slides) == {missing.slide_path}
    assert pool.manifest_ids[1] is None and pool.manifest_ids[0] is not None
    assert pool.patch_count == len(patch_sets[0])
    manifests = os.listdir(out / "manifests")
    assert all("gone" not in name for name in manifests)


@pytest.mark.timeout(60)
def test_disk_pool_killed_worker_leaves_no_process(
    patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    from slidepatch.pools import MultiResDiskPatchExtractorPool

    victim = stalled_copy(patch_sets[2], tmp_path / "stalled")
    (tmp_path / "out").mkdir()
    before = set(_children())
    with KillWorkerOn(victim), pytest.raises(WorkerDiedError) as info:
        MultiResDiskPatchExtractorPool(
            patches_pool=[*patch_sets[:2], victim],
            levels_or_mpps=[0],
            proc_num_workers=2,
            thread_num_workers=1,
            output_dir=tmp_path / "out",
            image_type="png",
        )
    assert info.value.path == victim.slide_path
    assert set(_children()) <= before
