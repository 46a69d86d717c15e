"""A sample's ``<key>.json`` at a fraction of ``json.dumps``' cost, byte for byte the same.

:func:`~slidepatch.extract.shards.sample_metadata` builds a dict of ~40 values per sample
and serialises it (~50 µs a sample, with the CSV-style formatting of each image). Most of
those values are the same for every sample of one shape (slide, resolution, sizes, scores
or not); only the key, index, label, set id, member names, places, passthrough flags and
scores change. :class:`SampleJson` serialises one sample per shape with placeholders in
the changing slots, keeps the text between them, and fills the slots of each sample with
the same JSON tokens ``json.dumps`` writes. A shape's first sample is checked against
``sample_metadata``; on any difference that shape keeps using ``sample_metadata``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import replace
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]

from slidepatch.extract.manifest import WrittenPatch
from slidepatch.extract.qc import QcScores
from slidepatch.extract.shards import sample_metadata

_Value = str | int | float | bool | None
_IMAGE_SLOTS = 4 + 7  # member, x, y, passthrough, then the seven QcScores values
_NO_QC = (None,) * 7


def _float_token(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _token(value: _Value) -> str:
    """``value`` as ``json.dumps`` writes it (ensure_ascii, NaN allowed); exact types first
    (the common case), subclasses as json treats them."""
    kind = type(value)
    if kind is str:
        return str(encode_basestring_ascii(value))  # type: ignore[arg-type]
    if kind is int:
        return int.__repr__(value)  # type: ignore[arg-type]
    if kind is float:
        return _float_token(value)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):  # e.g. numpy.float64, which json writes as a float
        return _float_token(value)
    return json.dumps(value)  # int and str subclasses, or what json refuses, as it does


class _Template:
    """The fixed text of one shape, around numbered slots."""

    def __init__(self, text: str, pattern: re.Pattern[str], slots: int) -> None:
        parts = pattern.split(text)  # text, slot, text, slot, ..., text
        self.fixed = parts[0::2]
        self.order = [int(k) for k in parts[1::2]]
        self.valid = all(k < slots for k in self.order)

    def render(self, values: Sequence[_Value]) -> bytes:
        tokens = [_token(v) for v in values]
        out = [self.fixed[0]]
        for k, text in zip(self.order, self.fixed[1:], strict=True):
            out += (tokens[k], text)
        return "".join(out).encode("utf-8")


def _shape(record: WrittenPatch) -> tuple[object, ...]:
    """What fixes an image's part of the JSON besides its slots (types too: 1 != 1.0)."""
    lm, mpp, scale = record.level_or_mpp, record.mpp_read, record.level0_per_pixel
    return (
        type(lm),
        lm,
        type(mpp),
        mpp,
        record.width_read_px,
        record.height_read_px,
        type(scale),
        scale,
        record.qc is None,
    )


class SampleJson:
    """Renders one slide's sample JSON (see the module docstring); not thread-safe (one
    shard writer calls it, one call at a time)."""

    def __init__(self, *, slide_path: str, wsi_id: str) -> None:
        self._slide_path = slide_path
        self._wsi_id = wsi_id
        self._nonce = secrets.token_hex(6)  # no slide path or label can collide with it
        self._pattern = re.compile(rf'"@@slot(\d+)-{self._nonce}@@"')
        self._templates: dict[tuple[object, ...], _Template | None] = {}

    def render(
        self,
        *,
        key: str,
        members: Sequence[str],
        records: Sequence[WrittenPatch],
        passthrough: Sequence[bool],
    ) -> bytes:
        """The bytes :func:`~slidepatch.extract.shards.sample_metadata` returns."""
        shape = tuple(_shape(r) for r in records)
        template = self._templates.get(shape, self)  # self: not built yet
        first = records[0]
        values: list[_Value] = [key, first.patch_index, first.label, first.set_id]
        for member, record, raw in zip(members, records, passthrough, strict=True):
            qc = _NO_QC if record.qc is None else record.qc.values()
            values += (member, record.x_level0, record.y_level0, raw, *qc)
        if isinstance(template, _Template):
            return template.render(values)
        expected = sample_metadata(
            key=key,
            slide_path=self._slide_path,
            wsi_id=self._wsi_id,
            members=members,
            records=records,
            passthrough=passthrough,
        )
        if template is self:
            built = self._build(records)
            ok = built is not None and built.render(values) == expected
            self._templates[shape] = built if ok else None
        return expected

    def _build(self, records: Sequence[WrittenPatch]) -> _Template | None:
        """The shape's template: ``sample_metadata`` of placeholders in every slot."""
        count = 4 + _IMAGE_SLOTS * len(records)
        slot = [f"@@slot{k}-{self._nonce}@@" for k in range(count)]
        fake: list[WrittenPatch] = []
        members, passthrough = [], []
        for j, record in enumerate(records):
            base = 4 + _IMAGE_SLOTS * j
            qc = None
            if record.qc is not None:
                qc = QcScores(*slot[base + 4 : base + 11])  # type: ignore[arg-type]
            fake.append(
                replace(
                    record,
                    patch_index=slot[1],  # type: ignore[arg-type]
                    label=slot[2],
                    set_id=slot[3],
                    x_level0=slot[base + 1],  # type: ignore[arg-type]
                    y_level0=slot[base + 2],  # type: ignore[arg-type]
                    qc=qc,
                )
            )
            members.append(slot[base])
            passthrough.append(slot[base + 3])
        text = sample_metadata(
            key=slot[0],
            slide_path=self._slide_path,
            wsi_id=self._wsi_id,
            members=members,
            records=fake,
            passthrough=passthrough,  # type: ignore[arg-type]
        ).decode("utf-8")
        template = _Template(text, self._pattern, count)
        return template if template.valid else None
