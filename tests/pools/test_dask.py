"""Extractor pools on a Dask cluster: same results as local processes, reruns after a killed
worker neither duplicate nor lose files, errors name their slide."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from worker_faults import KillAfterFirstFile, KillWorkerOn, stalled_copy

from slidepatch import PatchSet
from slidepatch.errors import SlideNotFoundError
from slidepatch.pools import (
    DiskPatchExtractorPool,
    MemPatchExtractorPool,
    MultiResDiskPatchExtractorPool,
    MultiResMemPatchExtractorPool,
)

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.usefixtures("no_shm_leak")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two single-threaded worker processes.

    A test kills a worker at most once per task, and a task may also be a bystander on a
    killed worker once: so two deaths per task are allowed.
    """
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 2}),
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as local,
    ):
        yield local


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c


def _worker_pids(client: Any) -> set[int]:
    return set(client.run(os.getpid).values())


def _same_memory_results(dask_pool: Any, local_pool: Any) -> None:
    assert dask_pool.patch_count == local_pool.patch_count
    assert np.array_equal(dask_pool.images, local_pool.images)
    assert dask_pool.labels.tolist() == local_pool.labels.tolist()
    assert np.array_equal(dask_pool.locations, local_pool.locations)
    assert np.array_equal(dask_pool.slide_index, local_pool.slide_index)


def test_memory_pool_equals_local(
    client: Any, patch_sets: list[PatchSet], synthetic_slides: list[Path], make_grid: Any
) -> None:
    # one patch size, so that .images is one array (the same set twice would be refused)
    sets = [patch_sets[0], make_grid(synthetic_slides[1])]
    local = MemPatchExtractorPool(patches_pool=sets, proc_num_workers=1, thread_num_workers=2)
    on_dask = MemPatchExtractorPool(
        patches_pool=sets, proc_num_workers=1, thread_num_workers=2, client=client
    )
    _same_memory_results(on_dask, local)
    assert set(on_dask.pids) <= _worker_pids(client) and os.getpid() not in on_dask.pids


def test_mixed_sizes_and_chunks_equal_local(client: Any, patch_sets: list[PatchSet]) -> None:
    local = MemPatchExtractorPool(
        patches_pool=patch_sets,
        proc_num_workers=1,
        thread_num_workers=1,
        excluded_labels=["normal"],
    )
    on_dask = MemPatchExtractorPool(
        patches_pool=patch_sets,
        proc_num_workers=1,
        thread_num_workers=2,
        proc_mp_chunksize=2,
        excluded_labels=["normal"],
        client=client,
    )
    assert len(on_dask.patch_list) == len(local.patch_list)
    for (image, label), (ref_image, ref_label) in zip(
        on_dask.patch_list, local.patch_list, strict=True
    ):
        assert label == ref_label
        assert np.array_equal(image, ref_image)


def test_multires_memory_pool_by_address_equals_local(
    cluster: Any, patch_sets: list[PatchSet]
) -> None:
    sets = patch_sets[:2]
    kwargs: dict[str, Any] = {
        "patches_pool": sets,
        "levels_or_mpps": [0, 1],
        "proc_num_workers": 1,
        "thread_num_workers": 1,
    }
    local = MultiResMemPatchExtractorPool(**kwargs)
    on_dask = MultiResMemPatchExtractorPool(**kwargs, scheduler_address=cluster.scheduler_address)
    assert on_dask.patchset_count == local.patchset_count
    for got, ref in zip(on_dask.patch_list, local.patch_list, strict=True):
        assert [label for _, label in got] == [label for _, label in ref]
        assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(got, ref, strict=True))
    assert np.array_equal(on_dask.locations, local.locations)


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, manifest ids replaced by ``ID``, manifests' text left out."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            out[rel] = b"" if rel.startswith("manifests/") else path.read_bytes()
    return out


def _without_ids(files: dict[str, bytes], ids: list[str | None]) -> dict[str, bytes]:
    renamed = {}
    for rel, data in files.items():
        for manifest_id in ids:
            assert manifest_id is not None
            rel = rel.replace(manifest_id, "ID")
        renamed[rel] = data
    return renamed


def _disk_pool(cls: Any, out: Path, sets: list[PatchSet], **extra: Any) -> Any:
    out.mkdir()
    kwargs: dict[str, Any] = {
        "patches_pool": sets,
        "proc_num_workers": 1,
        "thread_num_workers": 2,
        "output_dir": out,
        "image_type": "png",
        "png_compression": 1,
        "create_subdirs": True,
    }
    if cls is MultiResDiskPatchExtractorPool:
        kwargs["levels_or_mpps"] = [0, 1]
    return cls(**kwargs, **extra)


@pytest.mark.parametrize("cls", [DiskPatchExtractorPool, MultiResDiskPatchExtractorPool])
def test_disk_pool_equals_local(
    client: Any, patch_sets: list[PatchSet], tmp_path: Path, cls: Any
) -> None:
    sets = patch_sets[:2]
    local = _disk_pool(cls, tmp_path / "local", sets)
    on_dask = _disk_pool(cls, tmp_path / "dask", sets, client=client)
    assert on_dask.patch_count == local.patch_count
    got = _without_ids(_files(tmp_path / "dask"), on_dask.manifest_ids)
    want = _without_ids(_files(tmp_path / "local"), local.manifest_ids)
    assert got == want  # same files, same bytes, manifests included, nothing else
    assert len([n for n in got if n.endswith(".txt")]) == len(sets)


def test_killed_worker_disk_rerun_leaves_exact_files(
    client: Any, patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    sets = patch_sets[:2]
    local = _disk_pool(DiskPatchExtractorPool, tmp_path / "local", sets)
    # The first attempt at slide1 is killed after writing a file; Dask reruns it.
    before = _worker_pids(client)
    with KillAfterFirstFile(sets[1].slide_path, tmp_path / "dask"):
        on_dask = _disk_pool(DiskPatchExtractorPool, tmp_path / "dask", sets, client=client)
    assert len(before - _worker_pids(client)) == 1  # a worker really died
    assert not on_dask.failed_slides
    got = _without_ids(_files(tmp_path / "dask"), on_dask.manifest_ids)
    want = _without_ids(_files(tmp_path / "local"), local.manifest_ids)
    assert got == want  # no file of the dead attempt, none missing, no journal left


def test_killed_worker_shards_rerun_leaves_exact_samples(
    client: Any, patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    pytest.importorskip("pyarrow")
    from slidepatch import open_shards

    sets = patch_sets[:2]

    def shards(out: Path, **extra: Any) -> DiskPatchExtractorPool:
        out.mkdir()
        return DiskPatchExtractorPool(
            patches_pool=sets,
            proc_num_workers=1,
            thread_num_workers=2,
            output_dir=out,
            image_type="png",
            output_format="webdataset",
            shard_maxcount=4,
            **extra,
        )

    local = shards(tmp_path / "local")
    # The first attempt at slide1 is killed mid-slide, after its first shard is on disk.
    before = _worker_pids(client)
    with KillAfterFirstFile(sets[1].slide_path, tmp_path / "dask"):
        on_dask = shards(tmp_path / "dask", client=client)
    assert len(before - _worker_pids(client)) == 1  # a worker really died
    assert not on_dask.failed_slides and on_dask.patch_count == local.patch_count
    got = _without_ids(_files(tmp_path / "dask"), on_dask.manifest_ids)
    want = _without_ids(_files(tmp_path / "local"), local.manifest_ids)
    assert sorted(got) == sorted(want)  # the same shards, index and manifests, no leftovers
    a, b = open_shards(tmp_path / "dask"), open_shards(tmp_path / "local")
    assert len(a) == len(b)
    for i in range(len(a)):
        image_a, _json_a = a.raw(i).values()
        image_b, _json_b = b.raw(i).values()
        assert image_a == image_b


def test_killed_worker_memory_rerun(
    client: Any, patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    sets = patch_sets[:2]
    local = MemPatchExtractorPool(patches_pool=sets, proc_num_workers=1, thread_num_workers=1)
    # The first attempt at slide1 is killed before reading (a stalled copy whose real
    # file is put back as the worker dies); Dask reruns it.
    victim = stalled_copy(sets[1], tmp_path)
    before = _worker_pids(client)
    with KillWorkerOn(victim, then_restore=sets[1].slide_path):
        on_dask = MemPatchExtractorPool(
            patches_pool=[sets[0], victim], proc_num_workers=1, thread_num_workers=1, client=client
        )
    assert len(before - _worker_pids(client)) == 1  # a worker really died
    assert not on_dask.failed_slides
    assert len(on_dask.patch_list) == len(local.patch_list)
    for (image, label), (ref_image, ref_label) in zip(
        on_dask.patch_list, local.patch_list, strict=True
    ):
        assert label == ref_label
        assert np.array_equal(image, ref_image)
    assert np.array_equal(on_dask.locations, local.locations)


def test_failing_slide_names_it(client: Any, patch_sets: list[PatchSet], tmp_path: Path) -> None:
    missing = PatchSet.from_patch_data(
        slide_path=tmp_path / "gone.svs", level_or_mpp=0, patch_data=patch_sets[0].patch_data
    )
    with pytest.raises(SlideNotFoundError) as info:
        MemPatchExtractorPool(
            patches_pool=[patch_sets[0], missing],
            proc_num_workers=1,
            thread_num_workers=1,
            client=client,
        )
    assert info.value.path == str(tmp_path / "gone.svs")
    pool = _disk_pool(
        DiskPatchExtractorPool,
        tmp_path / "out",
        [missing, patch_sets[0]],
        client=client,
        on_error="skip",
    )
    assert list(pool.failed_slides) == [str(tmp_path / "gone.svs")]
    assert pool.patch_count == len(patch_sets[0])
    assert pool.manifest_ids[0] is None and pool.manifest_ids[1] is not None


def test_bad_targets(client: Any, patch_sets: list[PatchSet]) -> None:
    with pytest.raises(ValueError, match="not both"):
        MemPatchExtractorPool(
            patches_pool=patch_sets,
            proc_num_workers=1,
            thread_num_workers=1,
            client=client,
            scheduler_address="tcp://127.0.0.1:1",
        )
    with pytest.raises(TypeError, match="Client"):
        MemPatchExtractorPool(
            patches_pool=patch_sets, proc_num_workers=1, thread_num_workers=1, client=object()
        )


def test_resume_on_dask_skips_finished_slides(
    client: Any, patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    import inspect

    if "resume" not in inspect.signature(DiskPatchExtractorPool).parameters:
        pytest.skip("the disk pools do not support resume")
    sets = patch_sets[:2]
    first = _disk_pool(DiskPatchExtractorPool, tmp_path / "out", sets, client=client)
    before = _files(tmp_path / "out")
    again = DiskPatchExtractorPool(
        patches_pool=sets,
        proc_num_workers=1,
        thread_num_workers=2,
        output_dir=tmp_path / "out",
        image_type="png",
        png_compression=1,
        create_subdirs=True,
        resume=True,
        client=client,
    )
    assert again.resumed_slides == [ps.slide_path for ps in sets]
    assert again.manifest_ids == first.manifest_ids
    assert _files(tmp_path / "out") == before
