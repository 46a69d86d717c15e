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

from slidepatch.extract.attempt import AttemptJournal
from slidepatch.extract.manifest import WrittenPatch, csv_values, manifest_base_name
from slidepatch.extract.resume import MANIFEST_DIR
from slidepatch.extract.sample_json import SampleJson
from slidepatch.extract.shard_index import format_index
from slidepatch.extract.shards import (
    INDEX_DIR,
    SHARD_COLUMNS,
    SHARD_DIR,
    MemberPlace,
    ShardWriter,
    index_rel_path,
    sample_key,
)
from slidepatch.extract.sink import EncodedPatch, ManifestValue, SinkOutputs, SlideTarget


class ShardSink:
    """Appends each group as one sample, in patch order, one call at a time."""

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
        self._json = SampleJson(slide_path=target.slide_path, wsi_id=target.wsi_id)
        self._key_prefix = sample_key(wsi_id=target.wsi_id, manifest_id=target.manifest_id, index=0)
        self._key_prefix = self._key_prefix[: self._key_prefix.rindex("_") + 1]
        self._records: list[WrittenPatch] = []  # as planned; ``path`` becomes the shard
        # per image: (shard, member, offset, size, json offset, json size)
        self._rows: list[tuple[str, str, int, int, int, int]] = []

    @property
    def members(self) -> list[MemberPlace]:
        """Where each image member was written, in patch order."""
        return [MemberPlace(row[0], row[1], row[2], row[3]) for row in self._rows]

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
        records = [p.record for p in patches]
        key = f"{self._key_prefix}{records[0].patch_index:06d}"  # sample_key's
        names = [f"{key}.{self._member_ext(r)}" for r in records]
        meta = self._json.render(
            key=key, members=names, records=records, passthrough=[p.passthrough for p in patches]
        )
        members = [(name, p.data) for name, p in zip(names, patches, strict=True)]
        members.append((f"{key}.json", meta))
        offsets = self._writer.add(members)
        shard = self._writer.current
        json_offset = offsets[-1]
        self._records += records
        for name, p, offset in zip(names, patches, offsets, strict=False):
            self._rows.append((shard, name, offset, len(p.data), json_offset, len(meta)))

    def _member_ext(self, record: WrittenPatch) -> str:
        """``png`` for one resolution; ``level1.png`` / ``mpp0.5.png`` for a multi-res set."""
        if not self._multires:
            return self._extension
        return f"{record.resolution.comment}.{self._extension}"

    def finish(self, *, expected: int) -> SinkOutputs:
        assert self._writer is not None, "start() first"
        shards = self._writer.close()
        written = [_with_path(r, row[0]) for r, row in zip(self._records, self._rows, strict=True)]
        extra: list[tuple[ManifestValue, ...]] = [
            (row[1].partition(".")[0], *row[1:], *(() if w.qc is None else w.qc.values()))
            for row, w in zip(self._rows, written, strict=True)
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
            for w, e in zip(written, extra, strict=True)
        ]
        index = format_index(rows=rows, extra_float_columns=self._qc_columns)
        return SinkOutputs(
            records=written,
            extra_columns=(*SHARD_COLUMNS, *self._qc_columns),
            extra_values=extra,
            saved_rel_paths=[*shards, self._index_rel],
            index=(self._index_rel, index),
        )

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        self._records, self._rows = [], []
        self._journal.discard()

    def close(self) -> None:
        self._journal.close()


def _with_path(record: WrittenPatch, path: str) -> WrittenPatch:
    """``replace(record, path=path)`` without its per-call cost (a frozen dataclass of
    plain fields: copy them, then set ``path``)."""
    new = object.__new__(WrittenPatch)
    new.__dict__.update(record.__dict__)
    new.__dict__["path"] = path
    return new
