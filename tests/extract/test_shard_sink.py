"""ShardSink: samples in patch order, keys and member names, the journal, the index."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from slidepatch.extract.manifest import WrittenPatch
from slidepatch.extract.shard_sink import ShardSink
from slidepatch.extract.shards import SHARD_COLUMNS
from slidepatch.extract.sink import EncodedPatch, SlideTarget
from slidepatch.locations.patchset import LevelOrMpp

pq = pytest.importorskip("pyarrow.parquet")

SLIDE = "/slides/s.1.svs"


def _patch(index: int, level: LevelOrMpp, data: bytes, *, raw: bool = False) -> EncodedPatch:
    record = WrittenPatch(
        path=f"planned/p{index}.jpg",
        patch_index=index,
        label="tumor",
        level_or_mpp=level,
        x_level0=100 * index,
        y_level0=7,
        width_read_px=4,
        height_read_px=4,
        level0_per_pixel=1.0 if level == 0 else 4.0,
        mpp_read=0.25 if level == 0 else 1.0,
    )
    return EncodedPatch(data=data, record=record, passthrough=raw)


def _sink(out: Path, *, multires: bool, maxcount: int = 100) -> ShardSink:
    target = SlideTarget(output_dir=str(out), slide_path=SLIDE, manifest_id="m1", wsi_id="s.1")
    return ShardSink(target, limits=(maxcount, 10**9), extension="jpg", multires=multires)


def _journal_paths(out: Path) -> list[str]:
    (path,) = (out / "manifests").glob(".partial__*")
    return list(json.loads(path.read_text())["paths"])


def test_samples_keys_members_and_index(tmp_path: Path) -> None:
    sink = _sink(tmp_path, multires=False, maxcount=2)
    sink.start()
    assert _journal_paths(tmp_path) == ["index/manifest__m1__s.1.parquet"]
    for g in range(3):
        sink.add(g, [_patch(g, 0, b"jpeg %d" % g, raw=g == 1)])
    assert _journal_paths(tmp_path)[-1] == "index/manifest__m1__s.1.parquet"
    out = sink.finish(expected=3)
    shards = ["shards/s.1_m1-000000.tar", "shards/s.1_m1-000001.tar"]
    assert out.saved_rel_paths == [*shards, "index/manifest__m1__s.1.parquet"]
    assert [r.path for r in out.records] == [shards[0], shards[0], shards[1]]
    assert out.extra_columns == SHARD_COLUMNS
    keys = [f"s-1_m1_{g:06d}" for g in range(3)]  # dots replaced: WebDataset splits at dots
    assert [m.member for m in sink.members] == [f"{k}.jpg" for k in keys]
    for g, m in enumerate(sink.members):
        raw = (tmp_path / m.shard).read_bytes()
        assert raw[m.offset : m.offset + m.size] == b"jpeg %d" % g
    with tarfile.open(tmp_path / shards[0]) as tar:
        assert tar.getnames() == [
            f"{keys[0]}.jpg",
            f"{keys[0]}.json",
            f"{keys[1]}.jpg",
            f"{keys[1]}.json",
        ]
        meta = json.loads(tar.extractfile(f"{keys[1]}.json").read())  # type: ignore[union-attr]
    assert meta["patch_index"] == 1 and meta["jpeg_passthrough"] is True
    assert out.index is not None and out.index[0] == "index/manifest__m1__s.1.parquet"
    table = pq.read_table(io.BytesIO(out.index[1]))
    assert table.column("member").to_pylist() == [m.member for m in sink.members]
    assert table.column("offset").to_pylist() == [m.offset for m in sink.members]
    sink.close()
    assert list((tmp_path / "manifests").iterdir()) == []


def test_a_multires_set_is_one_sample(tmp_path: Path) -> None:
    sink = _sink(tmp_path, multires=True)
    sink.start()
    sink.add(0, [_patch(0, 0, b"a"), _patch(0, 2, b"b")])
    sink.finish(expected=2)
    key = "s-1_m1_000000"
    assert [m.member for m in sink.members] == [f"{key}.level0.jpg", f"{key}.level2.jpg"]
    with tarfile.open(tmp_path / sink.members[0].shard) as tar:
        meta = json.loads(tar.extractfile(f"{key}.json").read())  # type: ignore[union-attr]
    assert [i["member"] for i in meta["images"]] == [m.member for m in sink.members]


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    sink = _sink(tmp_path, multires=False, maxcount=1)
    sink.start()
    sink.add(0, [_patch(0, 0, b"a")])
    sink.add(1, [_patch(1, 0, b"b")])  # the first shard is complete, the second open
    sink.abort()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert sink.members == []
