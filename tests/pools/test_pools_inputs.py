"""Bad inputs are refused in the parent, before any process starts, with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slidepatch import PatchSet
from slidepatch.errors import OutputError
from slidepatch.pools import (
    DiskPatchExtractorPool,
    MemPatchExtractorPool,
    MultiResDiskPatchExtractorPool,
    MultiResMemPatchExtractorPool,
)


def _mem(**kw: Any) -> MemPatchExtractorPool:
    args: dict[str, Any] = {"proc_num_workers": 1, "thread_num_workers": 1}
    args.update(kw)
    return MemPatchExtractorPool(**args)


def test_empty_pool(patch_sets: list[PatchSet]) -> None:
    with pytest.raises(ValueError, match="empty"):
        _mem(patches_pool=[])
    with pytest.raises(ValueError, match="empty"):
        _mem(patches_pool=iter(()))


@pytest.mark.parametrize("bad", [None, 3, "slide.svs", object()])
def test_wrong_pool_type(bad: object) -> None:
    with pytest.raises(TypeError, match="patches_pool"):
        _mem(patches_pool=bad)


def test_wrong_item_type(patch_sets: list[PatchSet]) -> None:
    with pytest.raises(TypeError, match="item 1"):
        _mem(patches_pool=[patch_sets[0], "not a patch set"])


def test_single_patch_set_is_not_a_pool(patch_sets: list[PatchSet]) -> None:
    with pytest.raises(TypeError, match="patches_pool"):
        _mem(patches_pool=patch_sets[0])


@pytest.mark.parametrize("name", ["proc_num_workers", "thread_num_workers"])
@pytest.mark.parametrize("value", [0, -1])
def test_worker_counts(patch_sets: list[PatchSet], name: str, value: int) -> None:
    with pytest.raises(ValueError, match=name):
        _mem(patches_pool=patch_sets, **{name: value})


@pytest.mark.parametrize("name", ["proc_mp_chunksize", "thread_mp_chunksize"])
def test_chunksizes(patch_sets: list[PatchSet], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        _mem(patches_pool=patch_sets, **{name: 0})
    with pytest.raises(TypeError, match=name):
        _mem(patches_pool=patch_sets, **{name: None})


def test_both_label_filters(patch_sets: list[PatchSet]) -> None:
    with pytest.raises(ValueError, match="not both"):
        _mem(patches_pool=patch_sets, included_labels=["a"], excluded_labels=["b"])


def test_bad_options(patch_sets: list[PatchSet]) -> None:
    with pytest.raises(ValueError, match="start_method"):
        _mem(patches_pool=patch_sets, start_method="thread")
    with pytest.raises(ValueError, match="on_error"):
        _mem(patches_pool=patch_sets, on_error="ignore")
    with pytest.raises(ValueError, match="resampling_mode"):
        _mem(patches_pool=patch_sets, resampling_mode="bilinear")


def test_levels_or_mpps_empty(patch_sets: list[PatchSet], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="levels_or_mpps"):
        MultiResMemPatchExtractorPool(
            patches_pool=patch_sets, levels_or_mpps=[], proc_num_workers=1, thread_num_workers=1
        )
    with pytest.raises(ValueError, match="levels_or_mpps"):
        MultiResDiskPatchExtractorPool(
            patches_pool=patch_sets,
            levels_or_mpps=[],
            proc_num_workers=1,
            thread_num_workers=1,
            output_dir=tmp_path,
            image_type="png",
        )


def test_output_dir(patch_sets: list[PatchSet], tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="output_dir"):
        DiskPatchExtractorPool(  # type: ignore[call-arg]
            patches_pool=patch_sets, proc_num_workers=1, thread_num_workers=1, image_type="png"
        )
    with pytest.raises(OutputError, match="does not exist"):
        DiskPatchExtractorPool(
            patches_pool=patch_sets,
            proc_num_workers=1,
            thread_num_workers=1,
            output_dir=tmp_path / "missing",
            image_type="png",
        )
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        DiskPatchExtractorPool(
            patches_pool=patch_sets,
            proc_num_workers=1,
            thread_num_workers=1,
            output_dir=afile,
            image_type="png",
        )


def test_bad_image_type_fails_before_any_file(patch_sets: list[PatchSet], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DiskPatchExtractorPool(
            patches_pool=patch_sets,
            proc_num_workers=1,
            thread_num_workers=1,
            output_dir=tmp_path,
            image_type="bmpx",
        )
    assert list(tmp_path.iterdir()) == []


def test_array_mode_is_accepted(patch_sets: list[PatchSet]) -> None:
    pool = _mem(patches_pool=patch_sets[:1], array_mode=True)
    assert pool.patch_count == len(patch_sets[0])
