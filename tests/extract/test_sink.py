"""Sinks: a new output is a new sink, plugged into the extractors as they are."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from slidepatch import ExtractionError, PatchSet, Slide
from slidepatch.extract import DiskPatchExtractor, MultiResDiskPatchExtractor
from slidepatch.extract.disk import _DiskBase, _Job
from slidepatch.extract.sink import (
    Buffer,
    Destination,
    EncodedPatch,
    EncodedSink,
    PixelSink,
    SinkOutputs,
    read_to_sink,
)

SPOTS = [((0, 0), (32, 32), "a"), ((64, 32), (32, 48), "b"), ((128, 96), (48, 32), "a")]


class ListSink:
    """Keeps every image's bytes in memory; says what it was asked to do."""

    def __init__(self, *, ordered: bool) -> None:
        self.ordered = ordered
        self.calls: list[str] = []
        self.groups: dict[int, list[EncodedPatch]] = {}
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def destination(self, rel_path: str) -> str:
        return f"memory:{rel_path}"

    def start(self) -> None:
        self.calls.append("start")

    def add(self, group: int, patches: Sequence[EncodedPatch]) -> None:
        with self._lock:
            if self.ordered:
                assert group == max(self.groups, default=-1) + 1, "out of patch order"
            self.groups[group] = list(patches)
            self.threads.add(threading.current_thread().name)

    def finish(self, *, expected: int) -> SinkOutputs:
        self.calls.append("finish")
        patches = [p for g in sorted(self.groups) for p in self.groups[g]]
        assert len(patches) == expected
        records = [p.record for p in patches]
        return SinkOutputs(records=records, saved_rel_paths=[r.path for r in records])

    def abort(self) -> None:
        self.calls.append("abort")
        self.groups.clear()

    def close(self) -> None:
        self.calls.append("close")


class _SinkMixin(_DiskBase):
    """An extractor whose output is the given sink (what a new output format would add)."""

    def __init__(self, *, sink: EncodedSink, **kwargs: Any) -> None:
        self._test_sink = sink
        super().__init__(**kwargs)

    def _make_sink(self, groups: Sequence[Sequence[_Job]]) -> EncodedSink:
        return self._test_sink


class _ToSink(_SinkMixin, DiskPatchExtractor):
    pass


class _MultiResToSink(_SinkMixin, MultiResDiskPatchExtractor):
    pass


def _spots(path: Path, spots: list[Any]) -> PatchSet:
    return PatchSet.from_patch_data(slide_path=path, level_or_mpp=0, patch_data=spots)


def _decoded(data: bytes) -> npt.NDArray[np.uint8]:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.parametrize("ordered", [True, False])
def test_a_new_sink_gets_every_patch_in_patch_order(
    cmu_small: Path, tmp_path: Path, ordered: bool
) -> None:
    sink = ListSink(ordered=ordered)
    ps = PatchSet.from_patch_data(
        slide_path=cmu_small,
        level_or_mpp=0,
        patch_data=[((x + k, y), size, lab) for k, ((x, y), size, lab) in enumerate(SPOTS * 3)],
    )
    ex = _ToSink(sink=sink, patches=ps, num_workers=3, output_dir=tmp_path, image_type="png")
    assert sink.calls == ["start", "finish", "close"]
    got = [p for g in sorted(sink.groups) for p in sink.groups[g]]
    assert [p.record.patch_index for p in got] == list(range(len(ps)))
    # ordered: handed over by the calling thread; else by the reading threads
    main = threading.current_thread().name
    assert (sink.threads == {main}) if ordered else (main not in sink.threads)
    with Slide.open(cmu_small) as slide:
        for p in got:
            r = p.record
            want = slide.read_region(
                (r.x_level0, r.y_level0), 0, (r.width_read_px, r.height_read_px)
            )
            np.testing.assert_array_equal(_decoded(p.data), want)
            assert not p.passthrough
    # the manifests list what the sink received, in patch order; the sink wrote no file
    assert ex.written_paths == [p.record.path for p in got]
    manifests = sorted(q.name for q in (tmp_path / "manifests").iterdir())
    assert [n.rsplit(".", 1)[-1] for n in manifests] == ["csv", "json", "txt"]
    assert sorted(q.name for q in tmp_path.iterdir()) == ["manifests"]


def test_a_new_sink_gets_multires_sets_as_groups(h1_slide: Path, tmp_path: Path) -> None:
    sink = ListSink(ordered=True)
    ps = _spots(h1_slide, SPOTS[:2])
    _MultiResToSink(
        sink=sink,
        patches=ps,
        levels_or_mpps=[0, 1],
        num_workers=2,
        output_dir=tmp_path,
        image_type="png",
    )
    assert sorted(sink.groups) == [0, 1]
    for g, patches in sink.groups.items():
        assert [p.record.level_or_mpp for p in patches] == [0, 1]
        assert {p.record.patch_index for p in patches} == {g}
        assert {p.record.set_id for p in patches} == {f"set{g + 1}"}


def test_qc_dropped_patches_never_reach_the_sink(cmu_small: Path, tmp_path: Path) -> None:
    sink = ListSink(ordered=False)
    ps = _spots(cmu_small, [*SPOTS, ((1000, 1400), (64, 64), "a")])  # corner: glass
    ex = _ToSink(
        sink=sink,
        patches=ps,
        num_workers=1,
        output_dir=tmp_path,
        image_type="png",
        qc_scores=True,
        qc={"max_white": 0.5},
    )
    dropped = ex.qc_dropped["white"]
    assert dropped >= len(SPOTS)
    kept = [p for g in sorted(sink.groups) for p in sink.groups[g]]
    assert len(kept) == len(ps) - dropped == len(ex.written_paths)
    assert all(p.record.qc is not None and p.record.qc.white <= 0.5 for p in kept)
    assert sink.calls == ["start", "finish", "close"]


def test_a_read_failing_midway_aborts_the_sink_and_leaves_nothing(
    cmu_small: Path, tmp_path: Path
) -> None:
    sink = ListSink(ordered=True)
    ps = _spots(cmu_small, [SPOTS[0], SPOTS[1], ((99999, 0), (32, 32), "a"), SPOTS[2]])
    with pytest.raises(ExtractionError, match=r"patch 2 at level-0 \(99999, 0\)"):
        _ToSink(sink=sink, patches=ps, num_workers=1, output_dir=tmp_path, image_type="png")
    assert sink.calls == ["start", "abort"]
    assert sink.groups == {}
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


class _Collect:
    """A pixel sink keeping one array per patch and resolution."""

    def __init__(self, patch_set: PatchSet, levels: int, *, copy_out: bool) -> None:
        self.images = [
            [
                np.zeros((int(h), int(w), 3), np.uint8)
                for h, w in zip(patch_set.height, patch_set.width, strict=True)
            ]
            for _ in range(levels)
        ]
        self.locations: npt.NDArray[np.int64] | None = None
        self._copy_out = copy_out

    def destination(self, level: int) -> Destination:
        if not self._copy_out:
            return self.images[level]

        def put(k: int, pixels: Buffer) -> None:
            self.images[level][k][...] = pixels

        return put

    def put_locations(self, locations: npt.NDArray[np.int64]) -> None:
        self.locations = locations.copy()


@pytest.mark.parametrize("copy_out", [False, True])
def test_read_to_sink_equals_direct_reads(h1_slide: Path, copy_out: bool) -> None:
    ps = _spots(h1_slide, SPOTS)
    with Slide.open(h1_slide) as slide:
        one: PixelSink = _Collect(ps, 1, copy_out=copy_out)
        read_to_sink(
            slide=slide,
            patch_set=ps,
            sink=one,
            levels_or_mpps=None,
            resampling_mode=None,
            num_workers=2,
            chunksize=1,
        )
        assert isinstance(one, _Collect) and one.locations is None
        for k, ((x, y), size, _) in enumerate(SPOTS):
            np.testing.assert_array_equal(one.images[0][k], slide.read_region((x, y), 0, size))

        multi = _Collect(ps, 2, copy_out=copy_out)
        read_to_sink(
            slide=slide,
            patch_set=ps,
            sink=multi,
            levels_or_mpps=[0, 1],
            resampling_mode=None,
            num_workers=2,
            chunksize=2,
        )
        assert multi.locations is not None and multi.locations.shape == (len(ps), 2, 2)
        for k, (_, size, _) in enumerate(SPOTS):
            for j in range(2):
                x, y = (int(v) for v in multi.locations[k, j])
                np.testing.assert_array_equal(
                    multi.images[j][k], slide.read_region((x, y), j, size)
                )


class _Watching(DiskPatchExtractor):
    """Notes what is on disk when the attempt-started hook runs (the Dask pools' hook)."""

    seen: list[str]

    def _attempt_started(self) -> None:
        root = Path(self.output_dir)
        self.seen = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("output_format", ["files", "webdataset"])
def test_the_attempt_is_recorded_before_the_first_image(
    cmu_small: Path, tmp_path: Path, output_format: str
) -> None:
    if output_format == "webdataset":
        pytest.importorskip("pyarrow")
    ex = _Watching(
        patches=_spots(cmu_small, SPOTS),
        num_workers=2,
        output_dir=tmp_path,
        image_type="png",
        output_format=output_format,
    )
    journal = f"manifests/.partial__{ex.manifest_id}__CMU-1-Small-Region.json"
    assert ex.seen == [journal]  # the journal, and not one image yet
    assert not (tmp_path / journal).exists()  # gone once the slide is complete


class _FullSink(ListSink):
    def add(self, group: int, patches: Sequence[EncodedPatch]) -> None:
        if group == 1:
            raise OSError("no space left on the sink")
        super().add(group, patches)


@pytest.mark.parametrize("ordered", [True, False])
def test_a_sink_error_aborts_and_stops_the_readers(
    cmu_small: Path, tmp_path: Path, ordered: bool
) -> None:
    sink = _FullSink(ordered=ordered)
    spots = [((x, 0), (32, 32), "a") for x in range(0, 2000, 40)]
    with pytest.raises(OSError, match="no space left on the sink"):
        _ToSink(
            sink=sink,
            patches=_spots(cmu_small, spots),
            num_workers=4,
            output_dir=tmp_path,
            image_type="png",
        )
    assert [t for t in threading.enumerate() if t.name.startswith("slidepatch")] == []
    assert sink.calls == ["start", "abort"]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
