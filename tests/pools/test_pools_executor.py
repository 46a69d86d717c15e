"""Extractor pools run on any Executor (``executor=``): a test-only one that forks a process
per task gives the same patches and files as local processes, adapts to workers that do
not share memory or that rerun tasks, and reports a killed task against its slide."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fork_executor import ForkPerTask
from worker_faults import KillAfterFirstFile

from slidepatch import PatchSet, WorkerDiedError
from slidepatch.engine import InProcessRunner, ProcessRunner
from slidepatch.pools import (
    DiskPatchExtractorPool,
    MemPatchExtractorPool,
    MultiResMemPatchExtractorPool,
)

pytestmark = pytest.mark.usefixtures("no_shm_leak")


def _files(root: Path, ids: list[str | None]) -> dict[str, bytes]:
    """Every file under ``root`` with manifest ids replaced by ``ID`` (manifests' text
    left out: it names the run)."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            for manifest_id in ids:
                assert manifest_id is not None
                rel = rel.replace(manifest_id, "ID")
            out[rel] = b"" if rel.startswith("manifests/") else path.read_bytes()
    return out


def _disk(out: Path, sets: list[PatchSet], **extra: Any) -> DiskPatchExtractorPool:
    out.mkdir()
    return DiskPatchExtractorPool(
        patches_pool=sets,
        proc_num_workers=2,
        thread_num_workers=2,
        output_dir=out,
        image_type="png",
        png_compression=1,
        **extra,
    )


def test_memory_pool_on_another_executor_equals_local(patch_sets: list[PatchSet]) -> None:
    local = MemPatchExtractorPool(patches_pool=patch_sets, proc_num_workers=2, thread_num_workers=2)
    runs = {}
    for shares_memory in (True, False):
        executor = ForkPerTask(shares_memory=shares_memory)
        other = MemPatchExtractorPool(
            patches_pool=patch_sets, proc_num_workers=2, thread_num_workers=2, executor=executor
        )
        assert executor.ran == [0, 1, 2]  # it really ran the tasks
        runs[shares_memory] = set(executor.funcs)
        assert other.patch_count == local.patch_count > 0
        pairs = zip(other.patch_list, local.patch_list, strict=True)
        for (image, label), (ref, ref_label) in pairs:
            assert label == ref_label and np.array_equal(image, ref)
        assert np.array_equal(other.locations, local.locations)
        assert np.array_equal(other.slide_index, local.slide_index)
    # Workers that do not share memory got other tasks: their results carry the pixels.
    assert runs[True].isdisjoint(runs[False])


def test_multires_memory_pool_by_copy_equals_local(patch_sets: list[PatchSet]) -> None:
    kwargs: dict[str, Any] = {
        "patches_pool": patch_sets[:2],
        "levels_or_mpps": [0, 1],
        "proc_num_workers": 1,
        "thread_num_workers": 2,
        "proc_mp_chunksize": 2,
    }
    local = MultiResMemPatchExtractorPool(**kwargs)
    other = MultiResMemPatchExtractorPool(**kwargs, executor=ForkPerTask(shares_memory=False))
    assert other.patchset_count == local.patchset_count > 0
    for got, ref in zip(other.patch_list, local.patch_list, strict=True):
        assert [label for _, label in got] == [label for _, label in ref]
        assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(got, ref, strict=True))
    assert np.array_equal(other.locations, local.locations)  # came back with the pixels


@pytest.mark.parametrize("shares_memory", [True, False])
def test_memory_pool_killed_task_fails_its_slide(
    patch_sets: list[PatchSet], shares_memory: bool
) -> None:
    victim = patch_sets[1].slide_path
    executor = ForkPerTask(kill=[victim], shares_memory=shares_memory)
    pool = MemPatchExtractorPool(
        patches_pool=patch_sets,
        proc_num_workers=2,
        thread_num_workers=1,
        on_error="skip",
        executor=executor,
    )
    assert len(executor.killed) == 1
    assert list(pool.failed_slides) == [victim]
    error = pool.failed_slides[victim]
    assert isinstance(error, WorkerDiedError) and error.path == victim
    assert pool.pids[1] is None and None not in (pool.pids[0], pool.pids[2])
    assert set(pool.slide_index.tolist()) == {0, 2}
    raising = ForkPerTask(kill=[victim], shares_memory=shares_memory)
    with pytest.raises(WorkerDiedError) as info:
        MemPatchExtractorPool(
            patches_pool=patch_sets, proc_num_workers=2, thread_num_workers=1, executor=raising
        )
    assert info.value.path == victim
    assert raising.ran == [0, 1]  # the first error ends the run: the third slide never starts


def test_disk_pool_on_another_executor_equals_local(
    patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    sets = patch_sets[:2]
    local = _disk(tmp_path / "local", sets)
    other = _disk(tmp_path / "other", sets, executor=ForkPerTask())
    assert other.patch_count == local.patch_count > 0
    assert _files(tmp_path / "other", other.manifest_ids) == _files(
        tmp_path / "local", local.manifest_ids
    )


def test_disk_pool_killed_task_fails_its_slide_and_leaves_none_of_it(
    patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    sets = patch_sets[:2]
    victim = sets[1].slide_path
    pool = _disk(tmp_path / "out", sets, on_error="skip", executor=ForkPerTask(kill=[victim]))
    assert list(pool.failed_slides) == [victim]
    assert isinstance(pool.failed_slides[victim], WorkerDiedError)
    assert pool.manifest_ids[1] is None and pool.patch_count == len(sets[0])
    stem = Path(victim).stem
    assert not [p for p in (tmp_path / "out").rglob("*") if stem in p.name]


@pytest.mark.timeout(120)
def test_disk_pool_on_a_rerunning_executor_leaves_exact_files(
    patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    # An executor that reruns a task after its process died gets the recorded tasks
    # (as Dask does): the rerun removes what the killed attempt wrote.
    sets = patch_sets[:2]
    local = _disk(tmp_path / "local", sets)
    executor = ForkPerTask(attempts=2)
    with KillAfterFirstFile(sets[1].slide_path, tmp_path / "other") as killer:
        other = _disk(tmp_path / "other", sets, executor=executor)
    assert killer.killed is not None and executor.ran == [0, 1, 1]
    assert not other.failed_slides
    assert _files(tmp_path / "other", other.manifest_ids) == _files(
        tmp_path / "local", local.manifest_ids
    )  # no file of the killed attempt, none missing, no record or journal left


def test_executor_and_a_dask_target_are_refused(patch_sets: list[PatchSet]) -> None:
    with pytest.raises(ValueError, match="executor or client/scheduler_address"):
        MemPatchExtractorPool(
            patches_pool=patch_sets,
            proc_num_workers=1,
            thread_num_workers=1,
            executor=ForkPerTask(),
            scheduler_address="tcp://127.0.0.1:1",
        )
    with pytest.raises(TypeError, match="executor must be"):
        MemPatchExtractorPool(
            patches_pool=patch_sets,
            proc_num_workers=1,
            thread_num_workers=1,
            executor="processes",  # type: ignore[arg-type]
        )


def test_the_engines_own_executors_can_be_given(patch_sets: list[PatchSet]) -> None:
    local = MemPatchExtractorPool(patches_pool=patch_sets, proc_num_workers=2, thread_num_workers=2)
    here = MemPatchExtractorPool(
        patches_pool=patch_sets,
        proc_num_workers=2,
        thread_num_workers=2,
        executor=InProcessRunner(),
    )
    assert here.pids == [os.getpid()] * len(patch_sets)  # no worker process at all
    spawned = MemPatchExtractorPool(
        patches_pool=patch_sets,
        proc_num_workers=1,
        thread_num_workers=2,
        executor=ProcessRunner(num_processes=2, start_method="spawn"),
    )
    assert len(set(spawned.pids)) == 2  # the executor's two processes, not proc_num_workers
    for pool in (here, spawned):
        assert np.array_equal(pool.locations, local.locations)
        for (image, _), (ref, _) in zip(pool.patch_list, local.patch_list, strict=True):
            assert np.array_equal(image, ref)
