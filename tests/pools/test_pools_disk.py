"""Disk pools: same files as the single-slide extractors, ids in input order, set numbering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slidepatch import PatchSet
from slidepatch.extract import DiskPatchExtractor, MultiResDiskPatchExtractor
from slidepatch.pools import DiskPatchExtractorPool, MultiResDiskPatchExtractorPool


def _files(root: Path, ids: list[str | None]) -> dict[str, bytes]:
    """Every image under ``root`` (manifests excluded), manifest ids replaced by ``ID<k>``."""
    found = {}
    for dirpath, _, names in os.walk(root):
        if Path(dirpath).name == "manifests":
            continue
        for name in names:
            full = Path(dirpath) / name
            rel = str(full.relative_to(root))
            for k, mid in enumerate(ids):
                assert mid is not None
                rel = rel.replace(mid, f"ID{k}")
            found[rel] = full.read_bytes()
    return found


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_disk_pool_equals_single_extractor(
    patch_sets: list[PatchSet], tmp_path: Path, start_method: str
) -> None:
    sets = patch_sets[:2]
    pooled, single = tmp_path / "pool", tmp_path / "single"
    pooled.mkdir()
    single.mkdir()
    pool = DiskPatchExtractorPool(
        patches_pool=sets,
        proc_num_workers=2,
        thread_num_workers=2,
        output_dir=pooled,
        image_type="png",
        filename_comment="c",
        create_subdirs=True,
        start_method=start_method,
    )
    ids = [
        DiskPatchExtractor(
            patches=ps,
            num_workers=1,
            output_dir=single,
            image_type="png",
            filename_comment="c",
            create_subdirs=True,
        ).manifest_id
        for ps in sets
    ]
    assert pool.patch_count == sum(len(ps) for ps in sets)
    assert len(pool.pids) == 2 and len(pool.manifest_ids) == 2
    got, want = _files(pooled, pool.manifest_ids), _files(single, ids)  # type: ignore[arg-type]
    assert len(got) == pool.patch_count
    assert got == want  # same names (per slide, in input order) and same bytes


def test_manifest_ids_follow_input_order(patch_sets: list[PatchSet], tmp_path: Path) -> None:
    pool = DiskPatchExtractorPool(
        patches_pool=patch_sets,
        proc_num_workers=2,
        thread_num_workers=1,
        output_dir=tmp_path,
        image_type="jpg",
    )
    manifests = os.listdir(tmp_path / "manifests")
    for ps, mid in zip(patch_sets, pool.manifest_ids, strict=True):
        wsi_id = Path(ps.slide_path).stem
        assert f"manifest__{mid}__{wsi_id}.txt" in manifests


def _set_dirs(root: Path) -> dict[str, set[str]]:
    """set directory name -> the manifest ids of the files in it."""
    dirs: dict[str, set[str]] = {}
    for dirpath, _, names in os.walk(root):
        if Path(dirpath).name.startswith(("set", "slide")) and names:
            dirs[Path(dirpath).name] = {n.split("_")[1] for n in names}
    return dirs


def test_multires_set_numbering_in_input_order(patch_sets: list[PatchSet], tmp_path: Path) -> None:
    sets = patch_sets[:2]
    out1, out2 = tmp_path / "one", tmp_path / "two"
    out1.mkdir()
    out2.mkdir()
    pool = MultiResDiskPatchExtractorPool(
        patches_pool=sets,
        levels_or_mpps=[0, 1],
        proc_num_workers=2,
        thread_num_workers=1,
        output_dir=out1,
        image_type="jpg",
        global_counter=5,
        included_labels=["tumor"],
    )
    n0, n1 = (sum(lab == "tumor" for lab in ps.labels) for ps in sets)
    assert pool.patchset_count == n0 + n1
    assert pool.patch_count == 2 * (n0 + n1)
    assert pool.set_ranges == [(5, 5 + n0 - 1), (5 + n0, 5 + n0 + n1 - 1)]
    dirs = _set_dirs(out1)
    assert sorted(dirs) == sorted(f"set{k}" for k in range(5, 5 + n0 + n1))
    for k in range(5, 5 + n0):
        assert dirs[f"set{k}"] == {pool.manifest_ids[0]}
    for k in range(5 + n0, 5 + n0 + n1):
        assert dirs[f"set{k}"] == {pool.manifest_ids[1]}
    # A second pool starts from its own counter (default 1): no state shared between pools.
    second = MultiResDiskPatchExtractorPool(
        patches_pool=sets[:1],
        levels_or_mpps=[0],
        proc_num_workers=1,
        thread_num_workers=1,
        output_dir=out2,
        image_type="jpg",
    )
    assert sorted(_set_dirs(out2)) == sorted(f"set{k}" for k in range(1, len(sets[0]) + 1))
    assert second.set_ranges == [(1, len(sets[0]))]


def test_multires_equals_single_extractor(patch_sets: list[PatchSet], tmp_path: Path) -> None:
    sets = patch_sets[:2]
    pooled, single = tmp_path / "pool", tmp_path / "single"
    pooled.mkdir()
    single.mkdir()
    pool = MultiResDiskPatchExtractorPool(
        patches_pool=sets,
        levels_or_mpps=[1, 0],
        proc_num_workers=2,
        thread_num_workers=2,
        output_dir=pooled,
        image_type="png",
        global_counter=None,
        start_method="forkserver",
    )
    ids = [
        MultiResDiskPatchExtractor(
            patches=ps,
            levels_or_mpps=[1, 0],
            num_workers=1,
            output_dir=single,
            image_type="png",
            global_counter=None,
        ).manifest_id
        for ps in sets
    ]
    assert pool.set_ranges == [None, None]
    assert _files(pooled, pool.manifest_ids) == _files(single, ids)  # type: ignore[arg-type]
    assert any(name.startswith("slide0__set") for name in os.listdir(pooled))


def test_patch_set_wsi_id_names_files_and_manifests(
    patch_sets: list[PatchSet], tmp_path: Path
) -> None:
    from dataclasses import replace

    from slidepatch.errors import UnsafeOutputNameError

    ps = replace(patch_sets[0], wsi_id="case-7")
    pool = DiskPatchExtractorPool(
        patches_pool=[ps],
        proc_num_workers=1,
        thread_num_workers=1,
        output_dir=tmp_path,
        image_type="png",
    )
    (mid,) = pool.manifest_ids
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(names) == len(ps) and all(n.startswith(f"case-7_{mid}_") for n in names)
    assert (tmp_path / "manifests" / f"manifest__{mid}__case-7.txt").is_file()
    assert (
        '"wsi_id": "case-7"'
        in (tmp_path / "manifests" / f"manifest__{mid}__case-7.json").read_text()
    )

    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(UnsafeOutputNameError, match=r"slide id '\.\./x' is not file-name safe"):
        DiskPatchExtractorPool(
            patches_pool=[replace(ps, wsi_id="../x")],
            proc_num_workers=1,
            thread_num_workers=1,
            output_dir=bad,
            image_type="png",
        )
    assert not any(bad.iterdir())
