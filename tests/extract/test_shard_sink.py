"""ShardSink: samples in patch order, keys and member names, the journal, the index."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from slidepatch.extract.manifest import WrittenPatch
from slidepatch.extract.qc import QC_COLUMNS, QcScores
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


def _fixed_record(i: int, level: LevelOrMpp, *, qc: bool, label: str, set_id: str) -> WrittenPatch:
    """Varied values: unicode and quotes in labels, NaN and None scores, None MPP, floats."""
    scores = None
    if qc:
        scores = QcScores(
            tissue=0.5 + i / 1000,
            white=0.0,
            black=1 / 3,
            gray=float("nan") if i == 7 else 0.1,
            blur=1234.5678 * i,
            artifact=None if i % 2 else 0.25,
            mask_tissue=None,
        )
    scale = 1.0 if level == 0 else (4.0 if level == 2 else 1.6180339)
    return WrittenPatch(
        path=f"p/{i}.png",
        patch_index=i,
        label=label,
        level_or_mpp=level,
        x_level0=100 * i + 3,
        y_level0=7 * i,
        width_read_px=256 if i % 3 else 300,
        height_read_px=256,
        level0_per_pixel=scale,
        mpp_read=None if i % 5 == 4 else (0.2523 if level == 0 else 1.0 / 3),
        set_id=set_id,
        qc=scores,
    )


# sha256 of the shards the code before the faster writer (templated JSON, writev) wrote
_GOLDEN = {
    (False, True): [
        "7c108597ac7f815b34f709c586ea198f475c065759a849a5beeb880f5715f9b5",
        "bc4969ba4e7aa11f966fccad14634a6bc6c7ad10d1e4db6ed7e4ae42cff1faf8",
        "c8f0d05a40084e0d7b085567e57d30ed4ed5e4be68353be5e2ae23aeeb7d0d7b",
    ],
    (True, False): [
        "a3f1c22cd39f5df343859394f7e75e3607e0767ce0684ab67f3415d9a0f426a6",
        "43da6051a470f133ae6851f6c56cbc16d7acc7e4f00a63ad3be1d84086f78d9f",
        "74f81ba1d302a18268af77429dde3b106848c053f55846d3cbb05639aaf177b8",
    ],
}


@pytest.mark.parametrize(("multires", "qc"), sorted(_GOLDEN))
def test_shard_bytes_are_unchanged(tmp_path: Path, multires: bool, qc: bool) -> None:
    target = SlideTarget(
        output_dir=str(tmp_path),
        slide_path="/slides/é s.1.svs",
        manifest_id="abc123",
        wsi_id="s.1",
        qc_columns=QC_COLUMNS if qc else (),
    )
    sink = ShardSink(target, limits=(5, 10**9), extension="png", multires=multires)
    sink.start()
    for g in range(13):
        label = ["tumor", 'nör"mal', "a\\b"][g % 3]
        if multires:
            patches = [
                EncodedPatch(
                    data=bytes([g]) * (1000 + g * 37),
                    record=_fixed_record(g, lv, qc=qc, label=label, set_id=f"set{g + 1}"),
                    passthrough=g % 4 == 0,
                )
                for lv in (0, 2, 0.5)
            ]
        else:
            level = 0 if g % 2 else 1.5
            patches = [
                EncodedPatch(
                    data=bytes([g]) * (1000 + g * 511),
                    record=_fixed_record(g, level, qc=qc, label=label, set_id=""),
                    passthrough=g % 4 == 0,
                )
            ]
        sink.add(g, patches)
    sink.finish(expected=0)
    shards = sorted((tmp_path / "shards").glob("*.tar"))
    got = [hashlib.sha256(p.read_bytes()).hexdigest() for p in shards]
    assert got == _GOLDEN[multires, qc]


def test_many_samples_read_back_at_their_offsets(tmp_path: Path) -> None:
    # more samples than one writev gathers, some larger than its ~1 MB, in one shard
    sink = _sink(tmp_path, multires=False, maxcount=10**6)
    sink.start()
    datas = [bytes([g % 256]) * (1 + (g * 997) % 3000) for g in range(1500)]
    datas[700] = b"x" * (3 << 20)
    for g, data in enumerate(datas):
        sink.add(g, [_patch(g, 0, data)])
    out = sink.finish(expected=len(datas))
    (shard,) = {m.shard for m in sink.members}
    blob = (tmp_path / shard).read_bytes()
    for m, data in zip(sink.members, datas, strict=True):
        assert blob[m.offset : m.offset + m.size] == data
    for row, m in zip(out.extra_values, sink.members, strict=True):
        json_offset, json_size = int(row[4]), int(row[5])  # type: ignore[arg-type]
        meta = json.loads(blob[json_offset : json_offset + json_size])
        assert meta["images"][0]["member"] == m.member
    with tarfile.open(tmp_path / shard) as tar:
        assert len(tar.getnames()) == 2 * len(datas)
