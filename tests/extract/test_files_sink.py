"""FilesSink: per-patch files, label and set folders, the journal, the every-file check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slidepatch import ExtractionError, OutputError
from slidepatch.extract.files_sink import FilesSink
from slidepatch.extract.manifest import WrittenPatch
from slidepatch.extract.sink import EncodedPatch, SlideTarget

SLIDE = "/slides/s1.svs"


def _patch(path: str, index: int, data: bytes) -> EncodedPatch:
    record = WrittenPatch(
        path=path,
        patch_index=index,
        label=path.split("/")[0],
        level_or_mpp=0,
        x_level0=10 * index,
        y_level0=0,
        width_read_px=8,
        height_read_px=8,
        level0_per_pixel=1.0,
        mpp_read=0.5,
    )
    return EncodedPatch(data=data, record=record)


def _sink(out: Path, rel_paths: list[str], **kw: object) -> FilesSink:
    args: dict[str, object] = {
        "rel_paths": rel_paths,
        "set_dirs": [],
        "label_dirs": ["a", "b"],
        "groups": len(rel_paths),
        "pool_mode": False,
    }
    args.update(kw)
    target = SlideTarget(output_dir=str(out), slide_path=SLIDE, manifest_id="m1", wsi_id="s1")
    return FilesSink(target, **args)  # type: ignore[arg-type]


def _journal(out: Path) -> dict[str, object]:
    (path,) = (out / "manifests").glob(".partial__*")
    record: dict[str, object] = json.loads(path.read_text())
    return record


def test_files_land_in_patch_order_whatever_order_they_come(tmp_path: Path) -> None:
    rels = ["a/p0.png", "b/p1.png", "a/p2.png"]
    sink = _sink(tmp_path, rels)
    sink.start()
    assert _journal(tmp_path)["paths"] == rels  # before any image
    assert (tmp_path / "a").is_dir() and (tmp_path / "b").is_dir()
    for g in (2, 0, 1):  # reading threads finish in any order
        sink.add(g, [_patch(rels[g], g, b"image %d" % g)])
    out = sink.finish(expected=3)
    assert [r.path for r in out.records] == rels
    assert out.saved_rel_paths == rels and out.index is None
    assert out.extra_columns == () and out.extra_values == [(), (), ()]
    assert [(tmp_path / r).read_bytes() for r in rels] == [b"image 0", b"image 1", b"image 2"]
    sink.close()
    assert list((tmp_path / "manifests").iterdir()) == []


def test_an_existing_set_folder_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "set1").mkdir()
    rels = ["set1/p0.png"]
    sink = _sink(tmp_path, rels, set_dirs=["set1"], label_dirs=[])
    with pytest.raises(OutputError, match=r"s1.svs: patch-set directory set1 already exists"):
        sink.start()
    assert not (tmp_path / "manifests").exists()
    pooled = _sink(tmp_path, rels, set_dirs=["set1"], label_dirs=[], pool_mode=True)
    pooled.start()  # a pool's slides share set folders
    assert _journal(tmp_path)["set_dirs"] == ["set1"]


def test_a_missing_file_fails_the_slide_and_abort_removes_the_rest(tmp_path: Path) -> None:
    rels = ["a/p0.png", "a/p1.png"]
    sink = _sink(tmp_path, rels)
    sink.start()
    for g, rel in enumerate(rels):
        sink.add(g, [_patch(rel, g, b"x")])
    (tmp_path / rels[0]).unlink()
    with pytest.raises(OutputError, match=r"expected 2 files, wrote 2; missing after writing"):
        sink.finish(expected=2)
    sink.abort()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_fewer_files_than_expected_fail_the_slide(tmp_path: Path) -> None:
    sink = _sink(tmp_path, ["a/p0.png", "a/p1.png"])
    sink.start()
    sink.add(0, [_patch("a/p0.png", 0, b"x")])
    with pytest.raises(OutputError, match=r"s1.svs: expected 2 files, wrote 1"):
        sink.finish(expected=2)


def test_a_write_error_names_the_patch_and_the_file(tmp_path: Path) -> None:
    sink = _sink(tmp_path, ["a/p0.png"])
    sink.start()
    (tmp_path / "a" / "p0.png").mkdir()  # something in the way
    with pytest.raises(ExtractionError, match=r"patch 0 at level-0 \(0, 0\): writing .*p0.png"):
        sink.add(0, [_patch("a/p0.png", 0, b"x")])
