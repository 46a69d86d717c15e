"""Disk pools in an output directory that already holds earlier runs of the same slides:
the reference's default (a new set beside the old, now with a warning), ``overwrite=True``,
``resume=True`` by fingerprint; and the same PatchSet given twice."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from slidepatch import (
    DiskPatchExtractorPool,
    MemPatchExtractorPool,
    MultiResDiskPatchExtractorPool,
    PatchSet,
    WholeImageRandomPatches,
)
from slidepatch.errors import DuplicatePatchSetError, EarlierRunWarning, RunMismatchError
from slidepatch.extract.resume import OutputDirIndex, write_journal

MakeGrid = Callable[..., PatchSet]


def _pool(sets: list[PatchSet], out: Path, **kw: object) -> DiskPatchExtractorPool:
    out.mkdir(exist_ok=True)
    options: dict[str, object] = {"proc_num_workers": 1, "thread_num_workers": 2}
    options.update(kw)
    return DiskPatchExtractorPool(
        patches_pool=sets,
        output_dir=out,
        image_type=str(options.pop("image_type", "png")),
        **options,  # type: ignore[arg-type]
    )


def _images(out: Path) -> list[str]:
    return sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and "manifests" not in p.parts and p.suffix in (".png", ".jpg", ".tif")
    )


def _without_ids(names: list[str]) -> list[str]:
    return sorted(re.sub(r"_[a-z0-9]{8}_", "_ID_", n) for n in names)


@pytest.fixture
def two_sets(synthetic_slides: list[Path], make_grid: MakeGrid) -> list[PatchSet]:
    return [make_grid(p, size=64, step=512) for p in synthetic_slides]


# ------------------------------------------------------------------ the fingerprint file
def test_each_slide_records_its_fingerprint(two_sets: list[PatchSet], tmp_path: Path) -> None:
    out = tmp_path / "out"
    pool = _pool(two_sets, out, filename_comment="c1", jpeg_quality=80, image_type="jpg")
    for ps, mid in zip(two_sets, pool.manifest_ids, strict=True):
        wsi_id = Path(ps.slide_path).stem
        record = json.loads((out / "manifests" / f"manifest__{mid}__{wsi_id}.json").read_text())
        st = os.stat(ps.slide_path)
        assert record["slide"] == {
            "path": os.path.realpath(ps.slide_path),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
        }
        assert record["image_type"] == "jpg" and record["jpeg_quality"] == 80
        assert record["filename_comment"] == "c1"
        assert record["patch_count"] == len(ps) and record["patch_size"] == "64x64"
        # the reference's text manifest is unchanged beside it
        assert (
            (out / "manifests" / f"manifest__{mid}__{wsi_id}.txt")
            .read_text()
            .startswith(f"Manifest ID:            {mid}\n")
        )


# ------------------------------------------------------------------ default: warn
def test_rerun_keeps_the_reference_default_but_warns(
    two_sets: list[PatchSet], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = _pool(two_sets, out)
    once = _images(out)
    with pytest.warns(EarlierRunWarning) as caught:
        _pool(two_sets, out)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert all(m is not None and m in message for m in first.manifest_ids)
    assert "slide0.svs" in message and "overwrite=True" in message
    assert len(_images(out)) == 2 * len(once)  # a new manifest id beside the old files


def test_no_warning_in_a_fresh_folder_or_for_other_slides(
    two_sets: list[PatchSet], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error", EarlierRunWarning)
        _pool(two_sets[:1], out)
        _pool(two_sets[1:], out)  # another slide in the same folder


def test_unfinished_attempt_is_warned_about(two_sets: list[PatchSet], tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "manifests").mkdir(parents=True)
    (out / "left.png").write_bytes(b"partial")
    write_journal(
        output_dir=str(out),
        manifest_id="abcdefgh",
        slide_path=two_sets[0].slide_path,
        rel_paths=["left.png"],
        set_dirs=[],
    )
    with pytest.warns(EarlierRunWarning, match="1 unfinished attempt "):
        _pool(two_sets[:1], out)
    assert (out / "left.png").exists()  # warned about, not removed (resume removes it)
    _pool(two_sets[:1], out, overwrite=True)
    assert not (out / "left.png").exists()


# ------------------------------------------------------------------ overwrite
def test_overwrite_removes_exactly_the_earlier_files(
    two_sets: list[PatchSet], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = _pool(two_sets, out, create_subdirs=True)
    clean = _without_ids(_images(out))
    (out / "notes.txt").write_text("mine")
    (out / "tumor" / "my_own.png").write_bytes(b"not a patch")
    with warnings.catch_warnings():
        warnings.simplefilter("error", EarlierRunWarning)
        again = _pool(two_sets, out, create_subdirs=True, overwrite=True)
    assert sorted(again.replaced_manifest_ids) == sorted(m for m in first.manifest_ids if m)
    images = _images(out)
    assert _without_ids([i for i in images if not i.endswith("my_own.png")]) == clean
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "tumor" / "my_own.png").exists()
    manifests = sorted(os.listdir(out / "manifests"))
    assert len(manifests) == 3 * len(two_sets)
    assert all(m in "".join(manifests) for m in again.manifest_ids if m)


def test_resume_and_overwrite_together_is_an_error(
    two_sets: list[PatchSet], tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="not both"):
        _pool(two_sets, tmp_path / "out", resume=True, overwrite=True)


# ------------------------------------------------------------------ resume by fingerprint
@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"filename_comment": "b"}, "filename_comment=a, now filename_comment=b"),
        ({"image_type": "jpg"}, "image_type=png, now image_type=jpg"),
        ({"create_subdirs": True}, "create_subdirs=False, now create_subdirs=True"),
        ({"included_labels": ["tumor"]}, "included_labels=[], now included_labels=[tumor]"),
        ({"filename_separator": "-"}, "filename_separator=_, now filename_separator=-"),
        ({"png_compression": 9}, "png_compression=None, now png_compression=9"),
    ],
)
def test_resume_with_another_parameter_names_it(
    two_sets: list[PatchSet], tmp_path: Path, changed: dict[str, object], expected: str
) -> None:
    out = tmp_path / "out"
    _pool(two_sets, out, filename_comment="a")
    before = sorted(p.name for p in out.rglob("*"))
    with pytest.raises(RunMismatchError) as info:
        _pool(two_sets, out, resume=True, **{"filename_comment": "a", **changed})
    message = str(info.value)
    assert expected in message
    assert "slide0.svs" in message and "slide1.svs" in message
    assert message.endswith("use overwrite=True or another output_dir")
    assert sorted(p.name for p in out.rglob("*")) == before  # nothing touched


def test_resume_with_another_seed_names_it(synthetic_slides: list[Path], tmp_path: Path) -> None:
    mask = np.ones((48, 64), dtype=bool)

    def sample(seed: int) -> WholeImageRandomPatches:
        return WholeImageRandomPatches(
            wsi_file=synthetic_slides[0], mask_data=mask, num_patches=6, patch_size=64, seed=seed
        )

    out = tmp_path / "out"
    _pool([sample(1)], out)
    with pytest.raises(RunMismatchError, match="finished earlier with seed=1, now seed=2"):
        _pool([sample(2)], out, resume=True)
    again = _pool([sample(1)], out, resume=True)
    assert again.resumed_slides == [str(synthetic_slides[0])]


def test_resume_with_other_locations(
    two_sets: list[PatchSet], tmp_path: Path, make_grid: MakeGrid
) -> None:
    out = tmp_path / "out"
    _pool(two_sets[:1], out)
    moved = make_grid(two_sets[0].slide_path, size=64, step=500)
    with pytest.raises(RunMismatchError, match="finished earlier with other patch locations"):
        _pool([moved], out, resume=True)


def test_resume_of_a_changed_slide_file(
    synthetic_slides: list[Path], make_grid: MakeGrid, tmp_path: Path
) -> None:
    slide = tmp_path / "copy.svs"
    slide.write_bytes(synthetic_slides[0].read_bytes())
    ps = make_grid(slide, size=64, step=512)
    out = tmp_path / "out"
    _pool([ps], out)
    os.utime(slide, ns=(0, 10**18))
    with pytest.raises(RunMismatchError, match="slide modified"):
        _pool([ps], out, resume=True)


def test_resume_multires_with_other_levels(two_sets: list[PatchSet], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    sets = [ps.select(list(range(3))) for ps in two_sets]
    kw = {"proc_num_workers": 1, "thread_num_workers": 1, "output_dir": out, "image_type": "png"}
    MultiResDiskPatchExtractorPool(patches_pool=sets, levels_or_mpps=[0, 1], **kw)  # type: ignore[arg-type]
    again = MultiResDiskPatchExtractorPool(
        patches_pool=sets,
        levels_or_mpps=[0, 1],
        resume=True,
        **kw,  # type: ignore[arg-type]
    )
    assert again.resumed_slides == [ps.slide_path for ps in sets]
    with pytest.raises(RunMismatchError, match=r"levels_or_mpps=\[0, 1\], now levels_or_mpps"):
        MultiResDiskPatchExtractorPool(
            patches_pool=sets,
            levels_or_mpps=[0, 2],
            resume=True,
            **kw,  # type: ignore[arg-type]
        )
    with pytest.raises(RunMismatchError, match="global_counter=1, now global_counter=5"):
        MultiResDiskPatchExtractorPool(
            patches_pool=sets,
            levels_or_mpps=[0, 1],
            global_counter=5,
            resume=True,
            **kw,  # type: ignore[arg-type]
        )


def test_resume_through_a_symlinked_folder_and_a_relative_path(
    synthetic_slides: list[Path],
    make_grid: MakeGrid,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    link = tmp_path / "linked"
    link.symlink_to(synthetic_slides[0].parent, target_is_directory=True)
    out = tmp_path / "out"
    first = _pool([make_grid(synthetic_slides[0], size=64, step=512)], out)
    files = _images(out)
    via_link = make_grid(link / synthetic_slides[0].name, size=64, step=512)
    again = _pool([via_link], out, resume=True)
    assert again.resumed_slides == [via_link.slide_path]
    assert again.manifest_ids == first.manifest_ids
    monkeypatch.chdir(synthetic_slides[0].parent)
    relative = make_grid(synthetic_slides[0].name, size=64, step=512)
    third = _pool([relative], out, resume=True)
    assert third.resumed_slides == [synthetic_slides[0].name]
    assert _images(out) == files  # no second copy


def test_resume_removes_unfinished_attempts_found_through_another_path(
    synthetic_slides: list[Path], make_grid: MakeGrid, tmp_path: Path
) -> None:
    link = tmp_path / "linked"
    link.symlink_to(synthetic_slides[0].parent, target_is_directory=True)
    out = tmp_path / "out"
    (out / "manifests").mkdir(parents=True)
    (out / "left.png").write_bytes(b"partial")
    write_journal(
        output_dir=str(out),
        manifest_id="abcdefgh",
        slide_path=str(link / synthetic_slides[0].name),
        rel_paths=["left.png"],
        set_dirs=[],
    )
    _pool([make_grid(synthetic_slides[0], size=64, step=512)], out, resume=True)
    assert not (out / "left.png").exists()
    assert not [n for n in os.listdir(out / "manifests") if n.startswith(".partial__")]


# ------------------------------------------------------------------ duplicates
def test_the_same_patch_set_twice_is_an_error(
    two_sets: list[PatchSet], synthetic_slides: list[Path], make_grid: MakeGrid, tmp_path: Path
) -> None:
    link = tmp_path / "alias.svs"
    link.symlink_to(synthetic_slides[0])
    alias = make_grid(link, size=64, step=512)
    for sets in ([two_sets[0], two_sets[1], two_sets[0]], [two_sets[0], alias]):
        with pytest.raises(DuplicatePatchSetError, match="items 0 and") as info:
            _pool(sets, tmp_path / "out")
        assert str(synthetic_slides[0].name) in str(info.value)
        with pytest.raises(DuplicatePatchSetError):
            MemPatchExtractorPool(patches_pool=sets, proc_num_workers=1, thread_num_workers=1)
    assert not list((tmp_path / "out").iterdir())  # refused before anything was written


def test_different_location_sets_of_one_slide_are_fine(
    synthetic_slides: list[Path], make_grid: MakeGrid, tmp_path: Path
) -> None:
    tumour = make_grid(synthetic_slides[0], size=64, step=512, labels=("tumor",))
    normal = make_grid(synthetic_slides[0], size=64, step=500, labels=("normal",))
    out = tmp_path / "out"
    pool = _pool([tumour, normal], out)
    assert pool.patch_count == len(tumour) + len(normal)
    again = _pool([tumour, normal], out, resume=True)
    assert again.resumed_slides == [tumour.slide_path, normal.slide_path]
    assert again.manifest_ids == pool.manifest_ids
    with MemPatchExtractorPool(
        patches_pool=[tumour, normal], proc_num_workers=1, thread_num_workers=1
    ) as mem:
        assert len(mem.patch_list) == len(tumour) + len(normal)


def test_a_slide_killed_after_its_manifest_counts_as_finished(
    two_sets: list[PatchSet], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = _pool(two_sets[:1], out)
    files = _images(out)
    mid = first.manifest_ids[0]
    assert mid is not None
    # killed between writing the text manifest and removing the journal
    write_journal(
        output_dir=str(out),
        manifest_id=mid,
        slide_path=two_sets[0].slide_path,
        rel_paths=files,
        set_dirs=[],
    )
    earlier = OutputDirIndex(output_dir=str(out), slide_paths=[two_sets[0].slide_path])
    assert [m.manifest_id for m in earlier.manifests] == [mid] and earlier.journals == []
    again = _pool(two_sets[:1], out, resume=True)
    assert again.resumed_slides == [two_sets[0].slide_path] and again.manifest_ids == [mid]
    assert _images(out) == files
    assert not [n for n in os.listdir(out / "manifests") if n.startswith(".partial__")]


def test_multires_overwrite_leaves_no_empty_set_folders(
    two_sets: list[PatchSet], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    kw = {"proc_num_workers": 1, "thread_num_workers": 1, "output_dir": out, "image_type": "png"}
    sets = [ps.select(list(range(3))) for ps in two_sets]
    MultiResDiskPatchExtractorPool(patches_pool=sets, levels_or_mpps=[0, 1], **kw)  # type: ignore[arg-type]
    first = sorted(p.name for p in out.iterdir())
    MultiResDiskPatchExtractorPool(
        patches_pool=sets[:1],
        levels_or_mpps=[0, 1],
        overwrite=True,
        **kw,  # type: ignore[arg-type]
    )
    # slide 0's set1..set3 were removed and written again; slide 1's set4..set6 untouched
    assert sorted(p.name for p in out.iterdir()) == first
    assert all(len(list(d.iterdir())) == 2 for d in out.iterdir() if d.name.startswith("set"))
