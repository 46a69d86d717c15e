"""SampleJson: a sample's JSON from a per-shape template, byte for byte sample_metadata's."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace

import pytest

from slidepatch.extract import sample_json
from slidepatch.extract.manifest import WrittenPatch
from slidepatch.extract.qc import QcScores
from slidepatch.extract.sample_json import SampleJson
from slidepatch.extract.shards import sample_metadata
from slidepatch.locations.patchset import LevelOrMpp

SLIDE = '/slides/é "x"\\s.1.svs'


def _record(i: int, level: LevelOrMpp, *, qc: bool) -> WrittenPatch:
    scores = None
    if qc:
        blur = [float("nan"), float("inf"), 0.1 + 0.2, 1e-300, 12345678901234.5][i % 5]
        scores = QcScores(
            tissue=i / 7, white=0.0, black=1.0, gray=0.5, blur=blur, artifact=None, mask_tissue=0.25
        )
    return WrittenPatch(
        path=f"p{i}.png",
        patch_index=i,
        label=["tumor", "nör\tmal", '"q"', ""][i % 4],
        level_or_mpp=level,
        x_level0=-3 if i == 2 else 1000 * i,
        y_level0=2**40 + i,
        width_read_px=256,
        height_read_px=200,
        level0_per_pixel=1.0 if level in (0, 0.25) else 4.5,
        mpp_read=None if i % 3 == 0 else 0.25 * (1 + i % 2),
        set_id=f"set{i}" if i % 2 else "",
        qc=scores,
    )


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real: Callable[..., bytes] = sample_json.sample_metadata

    def counted(**kwargs: object) -> bytes:
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(sample_json, "sample_metadata", counted)
    return calls


@pytest.mark.parametrize("qc", [False, True])
@pytest.mark.parametrize("levels", [(0,), (1,), (0.25,), (0, 2, 0.5)])
def test_same_bytes_as_sample_metadata(
    monkeypatch: pytest.MonkeyPatch, qc: bool, levels: tuple[LevelOrMpp, ...]
) -> None:
    renderer = SampleJson(slide_path=SLIDE, wsi_id="s.1")
    calls = _counting(monkeypatch)
    for i in range(40):
        key = f"s-1_m_{i:06d}"
        records = [_record(i, lv, qc=qc) for lv in levels]
        members = [f"{key}.l{j}.png" for j in range(len(levels))]
        raw = [(i + j) % 2 == 0 for j in range(len(levels))]
        got = renderer.render(key=key, members=members, records=records, passthrough=raw)
        want = sample_metadata(
            key=key,
            slide_path=SLIDE,
            wsi_id="s.1",
            members=members,
            records=records,
            passthrough=raw,
        )
        assert got == want
        meta = json.loads(got)
        assert meta["key"] == key and meta["x_level0"] == records[0].x_level0
        if qc and i % 5 == 0:
            assert math.isnan(meta["qc_blur"])
    # one shape per mpp_read (None, 0.25, 0.5): sample_metadata makes each one's template and
    # checks its first sample; every other sample is rendered from the template
    assert len(calls) == 2 * 3


def test_a_value_json_cannot_write_still_fails_as_json_dumps_does() -> None:
    import numpy as np

    renderer = SampleJson(slide_path=SLIDE, wsi_id="s.1")
    good = _record(1, 0, qc=False)
    renderer.render(key="k", members=["k.png"], records=[good], passthrough=[False])
    bad = replace(good, x_level0=np.int64(5))
    with pytest.raises(TypeError, match="not JSON serializable"):
        renderer.render(key="k", members=["k.png"], records=[bad], passthrough=[False])
