"""WebDataset tar shards plus a Parquet index: one slide's samples, in patch order.

A sample is one group (a patch, or a multi-resolution set): its images as
``<key>.<ext>`` (``<key>.level1.png`` ... for a set) and ``<key>.json``, appended by
:class:`~slidepatch.extract.shards.ShardWriter`. The journal lists the index and every
shard before its first byte; :meth:`ShardSink.finish` closes the last shard and formats
the index, which the extractor writes with the manifests (see ``shards.py``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from slidepatch.extract.attempt import AttemptJournal
from slidepatch.extract.manifest import WrittenPatch, csv_values, manifest_base_name
from slidepatch.extract.resume import MANIFEST_DIR
from slidepatch.extract.shard_index import format_index
from slidepatch.extract.shards import (
    INDEX_DIR,
    SHARD_COLUMNS,
    SHARD_DIR,
    MemberPlace,
    ShardWriter,
    index_rel_path,
    sample_key,
    sample_metadata,
)
from slidepatch.extract.sink import EncodedPatch, ManifestValue, SinkOutputs, SlideTarget


class ShardSink:
    """Appends each group as one sample, in patch order, from one thread."""

    ordered = True

    def __init__(
        self, target: SlideTarget, *, limits: tuple[int, int], extension: str, multires: bool
    ) -> None:
        self._output_dir = target.output_dir
        self._slide_path = target.slide_path
        self._manifest_id = target.manifest_id
        self._wsi_id = target.wsi_id
        self._qc_columns = target.qc_columns
        self._limits = limits
        self._extension = extension
        self._multires = multires
        base = manifest_base_name(target.manifest_id, target.wsi_id)
        self._index_rel = index_rel_path(manifest_base=base)
        self._journal = AttemptJournal(target)
        self._writer: ShardWriter | None = None
        self._written: list[WrittenPatch] = []
        self._places: list[MemberPlace] = []
        self._json_places: list[MemberPlace] = []

    @property
    def members(self) -> list[MemberPlace]:
        """Where each image member was written, in patch order."""
        return list(self._places)

    def destination(self, rel_path: str) -> str:
        return os.path.join(self._output_dir, SHARD_DIR)

    def start(self) -> None:
        index_rel = self._index_rel
        self._journal.start([index_rel])
        maxcount, maxsize = self._limits
        self._writer = ShardWriter(
            output_dir=self._output_dir,
            wsi_id=self._wsi_id,
            manifest_id=self._manifest_id,
            maxcount=maxcount,
            maxsize=maxsize,
            on_new_shard=lambda shards: self._journal.extend([*shards, index_rel]),
        )
        try:
            for folder in (MANIFEST_DIR, SHARD_DIR, INDEX_DIR):
                os.makedirs(os.path.join(self._output_dir, folder), exist_ok=True)
        except BaseException:
            self.abort()
            raise

    def add(self, group: int, patches: Sequence[EncodedPatch]) -> None:
        assert self._writer is not None, "start() first"
        key = sample_key(
            wsi_id=self._wsi_id, manifest_id=self._manifest_id, index=patches[0].record.patch_index
        )
        members = [(f"{key}.{self._member_ext(p.record)}", p.data) for p in patches]
        records = [p.record for p in patches]
        meta = sample_metadata(
            key=key,
            slide_path=self._slide_path,
            wsi_id=self._wsi_id,
            members=[m for m, _ in members],
            records=records,
            passthrough=[p.passthrough for p in patches],
        )
        placed = self._writer.add([*members, (f"{key}.json", meta)])
        json_place = placed[-1]
        for record, place in zip(records, placed, strict=False):
            self._written.append(replace(record, path=place.shard))
            self._places.append(place)
            self._json_places.append(json_place)

    def _member_ext(self, record: WrittenPatch) -> str:
        """``png`` for one resolution; ``level1.png`` / ``mpp0.5.png`` for a multi-res set."""
        if not self._multires:
            return self._extension
        return f"{record.resolution.comment}.{self._extension}"

    def finish(self, *, expected: int) -> SinkOutputs:
        assert self._writer is not None, "start() first"
        shards = self._writer.close()
        extra: list[tuple[ManifestValue, ...]] = [
            (
                p.member.partition(".")[0],
                p.member,
                p.offset,
                p.size,
                j.offset,
                j.size,
                *(() if w.qc is None else w.qc.values()),
            )
            for p, j, w in zip(self._places, self._json_places, self._written, strict=True)
        ]
        rows: list[list[ManifestValue]] = [
            [
                *csv_values(
                    w,
                    slide_path=self._slide_path,
                    wsi_id=self._wsi_id,
                    manifest_id=self._manifest_id,
                ),
                *e,
            ]
            for w, e in zip(self._written, extra, strict=True)
        ]
        index = format_index(rows=rows, extra_float_columns=self._qc_columns)
        return SinkOutputs(
            records=list(self._written),
            extra_columns=(*SHARD_COLUMNS, *self._qc_columns),
            extra_values=extra,
            saved_rel_paths=[*shards, self._index_rel],
            index=(self._index_rel, index),
        )

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        self._written, self._places, self._json_places = [], [], []
        self._journal.discard()

    def close(self) -> None:
        self._journal.close()
