"""Bad input through the public API, as a user calls it: each fails with an error whose
message names the slide (where there is one) and says what is wrong, before or instead of
writing anything."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from slidepatch import (
    DiskPatchExtractorPool,
    MemPatchExtractorPool,
    MultiResDiskPatchExtractorPool,
    PatchSet,
    SlideError,
)
from slidepatch.errors import UnsafeOutputNameError
from slidepatch.testing import write_synthetic_slide

Patch = tuple[tuple[int, int], tuple[int, int], str]
OK: list[Patch] = [((0, 0), (64, 64), "a")]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad_input")
    text = root / "notes.svs"
    text.write_text("not a slide\n")
    out = root / "out"
    out.mkdir()
    slide = write_synthetic_slide(root / "s.svs", width=1024, height=768, downsamples=(1, 4))
    no_mpp = write_synthetic_slide(
        root / "nompp.tiff",
        width=1024,
        height=768,
        downsamples=(1, 4),
        layout="tiff",
        mpp=None,
        magnification=None,
    )
    return {
        "root": str(root),
        "slide": str(slide),
        "no_mpp": str(no_mpp),
        "text": str(text),
        "out": str(out),
    }


def _set(path: str, data: Sequence[Patch] = OK, level_or_mpp: int | float = 0) -> PatchSet:
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=level_or_mpp, patch_data=data)


def _disk(f: dict[str, str], sets: list[PatchSet], **kw: Any) -> None:
    args: dict[str, Any] = {
        "patches_pool": sets,
        "proc_num_workers": 1,
        "thread_num_workers": 1,
        "output_dir": f["out"],
        "image_type": "png",
    }
    args.update(kw)
    DiskPatchExtractorPool(**args)


def _mem(f: dict[str, str], sets: list[PatchSet], **kw: Any) -> None:
    args: dict[str, Any] = {"patches_pool": sets, "proc_num_workers": 1, "thread_num_workers": 1}
    args.update(kw)
    MemPatchExtractorPool(**args)


Case = Callable[[dict[str, str]], None]
CASES: dict[str, tuple[Case, type[BaseException], list[str]]] = {
    "nonexistent path": (
        lambda f: _mem(f, [_set(f["root"] + "/nope.svs")]),
        FileNotFoundError,
        ["{root}/nope.svs", "no such file"],
    ),
    "a directory": (
        lambda f: _disk(f, [_set(f["root"])]),
        IsADirectoryError,
        ["{root}", "directory"],
    ),
    "a text file": (
        lambda f: _mem(f, [_set(f["text"])]),
        ValueError,
        ["{text}", "not a slide"],
    ),
    "level out of range": (
        lambda f: _disk(f, [_set(f["slide"], level_or_mpp=5)]),
        IndexError,
        ["{slide}", "level 5 out of range", "0..1"],
    ),
    "mpp unavailable": (
        lambda f: _mem(f, [_set(f["no_mpp"], level_or_mpp=0.5)]),
        ValueError,
        ["{no_mpp}", "no MPP"],
    ),
    "zero patch size": (
        lambda f: _disk(f, [_set(f["slide"], [((0, 0), (0, 64), "a")])]),
        ValueError,
        ["{slide}", "sizes must be positive"],
    ),
    "negative patch size": (
        lambda f: _mem(f, [_set(f["slide"], [((0, 0), (64, -1), "a")])]),
        ValueError,
        ["{slide}", "sizes must be positive"],
    ),
    "patch outside the slide": (
        lambda f: _disk(f, [_set(f["slide"], [*OK, ((5000, 5000), (64, 64), "a")])]),
        SlideError,
        ["{slide}", "patch 1", "(5000, 5000)", "entirely outside"],
    ),
    "empty patch list": (
        lambda f: _disk(f, []),
        ValueError,
        ["patches_pool is empty"],
    ),
    "duplicate locations": (
        lambda f: _disk(f, [_set(f["slide"], OK + OK)]),
        RuntimeError,
        ["{slide}", "same file", "repeated location"],
    ),
    "label with a path separator": (
        lambda f: _disk(f, [_set(f["slide"], [((0, 0), (64, 64), "a/../../b")])]),
        UnsafeOutputNameError,
        ["{slide}", "label 'a/../../b'", "outside"],
    ),
    "label '..' as a directory": (
        lambda f: _disk(f, [_set(f["slide"], [((0, 0), (64, 64), "..")])], create_subdirs=True),
        UnsafeOutputNameError,
        ["{slide}", "label '..'", "directory name"],
    ),
    "unknown image_type": (
        lambda f: _disk(f, [_set(f["slide"])], image_type="gif"),
        ValueError,
        ["image_type", "'gif'"],
    ),
    "both label filters": (
        lambda f: _mem(f, [_set(f["slide"])], included_labels=["a"], excluded_labels=["b"]),
        ValueError,
        ["included_labels or excluded_labels, not both"],
    ),
    "empty levels_or_mpps": (
        lambda f: MultiResDiskPatchExtractorPool(
            patches_pool=[_set(f["slide"])],
            levels_or_mpps=[],
            proc_num_workers=1,
            thread_num_workers=1,
            output_dir=f["out"],
            image_type="png",
        ),
        ValueError,
        ["levels_or_mpps must not be empty"],
    ),
    "zero processes": (
        lambda f: _disk(f, [_set(f["slide"])], proc_num_workers=0),
        ValueError,
        ["proc_num_workers must be >= 1, got 0"],
    ),
    "negative threads": (
        lambda f: _mem(f, [_set(f["slide"])], thread_num_workers=-2),
        ValueError,
        ["thread_num_workers must be >= 1, got -2"],
    ),
    "output_dir is a file": (
        lambda f: _disk(f, [_set(f["slide"])], output_dir=f["text"]),
        OSError,
        ["output_dir {text}", "not a directory"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_error_message(name: str, files: dict[str, str]) -> None:
    run, error, words = CASES[name]
    before = sorted(os.listdir(files["out"]))
    with pytest.raises(error) as info:
        run(files)
    message = str(info.value)
    for word in words:
        assert word.format(**files) in message
    # nothing written: at most the (empty) manifests folder
    after = set(os.listdir(files["out"])) - set(before)
    assert after <= {"manifests"}
    assert not any(Path(files["out"], "manifests").glob("*"))


def test_a_bad_label_on_a_later_slide_stops_the_run_before_any_file(
    files: dict[str, str],
) -> None:
    """Labels are checked in the parent for every slide before a worker starts."""
    good = _set(files["slide"])
    bad = _set(files["slide"], [((64, 0), (64, 64), "../escape")])  # another location set
    with pytest.raises(UnsafeOutputNameError, match="escape"):
        _disk(files, [good, bad])
    assert [p for p in Path(files["out"]).rglob("*") if p.is_file()] == []
