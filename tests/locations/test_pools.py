"""Locations pools equal running the classes one by one, in input order, re-iterable."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from worker_faults import KillWorkerOn, workers_left

from slidepatch import PatchSet, WorkerDiedError
from slidepatch.annotations import AnnotationPolygon
from slidepatch.locations import (
    PolygonRegionRandomPatches,
    PolygonRegionRandomPatchesPool,
    WholeImageGridPatches,
    WholeImageGridPatchesPool,
)
from slidepatch.locations.pools import expand_patches_args, preview_file_name


def test_grid_pool_matches_classes_and_iterates_twice(
    cmu_small: Path, synthetic_slide: Path, full_mask: npt.NDArray[np.bool_], tmp_path: Path
) -> None:
    synth_mask = np.ones((2048 // 16, 3072 // 16), dtype=bool)
    slides = [synthetic_slide, cmu_small, synthetic_slide]
    masks = [synth_mask, full_mask, synth_mask]
    args = {"patch_size": 128, "weak_label": ["s", "c", "s2"], "foreground_ratio": 0.9}
    pool = WholeImageGridPatchesPool(
        wsi_file_list=slides,
        mask_data_list=masks,
        patches_args=args,
        proc_num_workers=2,
        save_preview_image_args={"image_file": tmp_path / "preview.png"},
        start_method="spawn",  # the same name as the extractor pools'
    )
    singles = [
        WholeImageGridPatches(
            wsi_file=s, mask_data=m, patch_size=128, weak_label=w, foreground_ratio=0.9
        )
        for s, m, w in zip(slides, masks, ["s", "c", "s2"], strict=True)
    ]
    first = [item.patch_data for item in pool]
    assert first == [s.patch_data for s in singles]
    assert [item.patch_data for item in pool] == first  # iterable more than once
    assert [item.wsi_file for item in pool] == [str(s) for s in slides]
    assert pool.patch_count == sum(s.patch_count for s in singles)
    assert pool.patch_info == {
        "c": singles[1].patch_count,
        "s": singles[0].patch_count,
        "s2": singles[2].patch_count,
    }
    assert [d[0] for d in pool.patch_details] == [str(s) for s in slides]
    assert len(pool.pids) == 3
    assert all(item.class_name == "WholeImageGridPatches" for item in pool)
    # Two slides share the id "synth": their previews are told apart by index.
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["CMU-1-Small-Region_preview.png", "synth_0_preview.png", "synth_2_preview.png"]


def test_polygon_pool_nested_lists(
    cmu_small: Path, full_mask: npt.NDArray[np.bool_], polygons: list[AnnotationPolygon]
) -> None:
    args = {"num_patches": [[3, 1], [2, 2]], "seed": 5, "patch_size": 64, "foreground_ratio": 0.0}
    pool = PolygonRegionRandomPatchesPool(
        wsi_file_list=[cmu_small, cmu_small],
        mask_data_list=[full_mask, full_mask],
        polygon_data_list=[polygons, polygons],
        patches_args=args,
        proc_num_workers=1,
    )
    assert pool.patch_info == {"normal": 3, "tumor": 5}
    one = PolygonRegionRandomPatches(
        wsi_file=cmu_small,
        mask_data=full_mask,
        polygon_data=polygons,
        num_patches=[3, 1],
        seed=5,
        patch_size=64,
        foreground_ratio=0.0,
    )
    assert pool[0].patch_data == one.patch_data


def test_pool_argument_errors(cmu_small: Path, full_mask: npt.NDArray[np.bool_]) -> None:
    with pytest.raises(ValueError, match="mask_data_list has 1"):
        WholeImageGridPatchesPool(
            wsi_file_list=[cmu_small, cmu_small],
            mask_data_list=[full_mask],
            patches_args={},
            proc_num_workers=1,
        )
    with pytest.raises(ValueError, match="start_method must be one of"):
        WholeImageGridPatchesPool(
            wsi_file_list=[cmu_small],
            mask_data_list=[full_mask],
            patches_args={},
            start_method="threads",  # rejected even when one process would not use it
        )
    with pytest.raises(ValueError, match="may not contain"):
        expand_patches_args({"wsi_file": "x"}, 2)
    with pytest.raises(ValueError, match="one entry per slide"):
        expand_patches_args({"num_patches": [1, 2, 3]}, 2)
    assert expand_patches_args({"included_labels": ["a"]}, 2) == [
        {"included_labels": ["a"]},
        {"included_labels": ["a"]},
    ]
    assert expand_patches_args({"included_labels": [["a"], ["b"]]}, 2)[1] == {
        "included_labels": ["b"]
    }
    with pytest.raises(ValueError):
        expand_patches_args({"included_labels": "a"}, 2)
    with pytest.raises(TypeError):
        WholeImageGridPatchesPool(
            wsi_file_list=[cmu_small],
            mask_data_list=[full_mask],
            patches_args={"bogus": 1},
            proc_num_workers=1,
        )
    assert preview_file_name("/tmp/_p.tif", "/a/w1.svs", index=None) == "/tmp/w1_p.tif"
    assert preview_file_name("/tmp/p.tif", "/a/w1.svs", index=None) == "/tmp/w1_p.tif"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_killed_worker_names_its_slide(
    cmu_small: Path, full_mask: npt.NDArray[np.bool_], tmp_path: Path, start_method: str
) -> None:
    (tmp_path / "stalled").mkdir()
    victim = tmp_path / "stalled" / cmu_small.name
    os.mkfifo(victim)  # its worker hangs opening it and is killed from outside
    stalled = PatchSet.from_patch_data(slide_path=victim, level_or_mpp=0, patch_data=[])
    with (
        KillWorkerOn(stalled) as killer,
        pytest.raises(WorkerDiedError, match="SIGKILL") as info,
    ):
        WholeImageGridPatchesPool(
            wsi_file_list=[cmu_small, victim, cmu_small],
            mask_data_list=[full_mask] * 3,
            patches_args={"patch_size": 256},
            proc_num_workers=2,
            start_method=start_method,
        )
    assert info.value.path == str(victim)
    assert f"pid {killer.killed}" in str(info.value) and "locating" in str(info.value)
    assert workers_left() == []  # the other worker is stopped too


def test_worker_error_is_raised_as_raised(
    cmu_small: Path, full_mask: npt.NDArray[np.bool_]
) -> None:
    with pytest.raises(TypeError, match="bogus"):
        WholeImageGridPatchesPool(
            wsi_file_list=[cmu_small, cmu_small],
            mask_data_list=[full_mask] * 2,
            patches_args={"bogus": 1},
            proc_num_workers=2,
        )


def test_pool_runs_on_any_executor_and_a_killed_task_names_its_slide(
    cmu_small: Path, synthetic_slide: Path, full_mask: npt.NDArray[np.bool_]
) -> None:
    from fork_executor import ForkPerTask

    synth_mask = np.ones((2048 // 16, 3072 // 16), dtype=bool)
    kwargs = {
        "wsi_file_list": [synthetic_slide, cmu_small],
        "mask_data_list": [synth_mask, full_mask],
        "patches_args": {"patch_size": 128, "foreground_ratio": 0.9},
        "proc_num_workers": 2,
    }
    local = WholeImageGridPatchesPool(**kwargs)  # type: ignore[arg-type]
    executor = ForkPerTask()
    other = WholeImageGridPatchesPool(**kwargs, executor=executor)  # type: ignore[arg-type]
    assert executor.ran == [0, 1]
    assert [item.patch_data for item in other] == [item.patch_data for item in local]
    assert other.pids != local.pids and set(other.pids).isdisjoint({os.getpid()})
    with pytest.raises(WorkerDiedError) as info:
        WholeImageGridPatchesPool(**kwargs, executor=ForkPerTask(kill=[str(cmu_small)]))  # type: ignore[arg-type]
    assert info.value.path == str(cmu_small)
