"""Tar shards in WebDataset convention: the writer, the names, the per-slide Parquet index.

A slide's samples go, in patch order, into POSIX (ustar/pax) tar files
``shards/<wsi_id>_<manifest_id>-<NNNNNN>.tar``; a sample is the members
``<key>.<ext>`` (one image per resolution) and ``<key>.json``, never split across shards.
A new shard starts when the current one holds ``maxcount`` samples or the next sample would
take it past ``maxsize`` bytes. Each shard appears under its name only when complete
(:class:`~slidepatch.extract.atomic_write.AtomicFile`); the index
``index/manifest__<id>__<wsi_id>.parquet`` lists every image member's shard, offset and
size with the CSV manifest's columns, and is written with the manifests, after the last
shard, so a slide's shards and index are committed together by its text manifest.
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slidepatch.errors import MissingDependencyError
from slidepatch.extract.atomic_write import AtomicFile
from slidepatch.extract.manifest import CSV_COLUMNS, WrittenPatch, csv_values

SHARD_DIR = "shards"
INDEX_DIR = "index"
OUTPUT_FORMATS = ("files", "webdataset")
DEFAULT_SHARD_MAXCOUNT = 100_000
DEFAULT_SHARD_MAXSIZE = 1_000_000_000  # bytes: about 1 GB per shard
SHARD_COLUMNS = ("key", "member", "offset", "size", "json_offset", "json_size")
_BLOCK = 512


def check_output_format(value: object) -> str:
    if value not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {value!r}")
    assert isinstance(value, str)
    return value


def check_shard_limits(*, maxcount: object, maxsize: object) -> tuple[int, int]:
    for name, value in (("shard_maxcount", maxcount), ("shard_maxsize", maxsize)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    assert isinstance(maxcount, int) and isinstance(maxsize, int)
    return maxcount, maxsize


def sample_key(*, wsi_id: str, manifest_id: str, index: int) -> str:
    """``<wsi_id>_<manifest_id>_<index>``, dots replaced (WebDataset splits keys at dots)."""
    return f"{wsi_id.replace('.', '-')}_{manifest_id}_{index:06d}"


def shard_rel_path(*, wsi_id: str, manifest_id: str, number: int) -> str:
    return f"{SHARD_DIR}/{wsi_id}_{manifest_id}-{number:06d}.tar"


def index_rel_path(*, manifest_base: str) -> str:
    return f"{INDEX_DIR}/{manifest_base}.parquet"


def require_pyarrow() -> None:
    """The index needs pyarrow (``slidepatch[shards]``): say so before anything runs."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            'output_format="webdataset" writes a Parquet index and needs pyarrow: '
            'pip install "slidepatch[shards]"'
        ) from exc


#: The CSV manifest columns that describe one image (level_or_mpp ... height_level0).
PER_IMAGE_COLUMNS = CSV_COLUMNS[7:]


def sample_metadata(
    *,
    key: str,
    slide_path: str,
    wsi_id: str,
    members: Sequence[str],
    records: Sequence[WrittenPatch],
    passthrough: Sequence[bool],
) -> bytes:
    """A sample's ``<key>.json``: the slide, the patch, and per image member its resolution,
    level-0 place and sizes (the CSV manifest's columns), first image's also at the top."""
    images = []
    for member, record, raw in zip(members, records, passthrough, strict=True):
        values = csv_values(record, slide_path=slide_path, wsi_id=wsi_id, manifest_id="")
        image: dict[str, object] = {"member": member}
        image.update(zip(PER_IMAGE_COLUMNS, values[7:], strict=True))
        image["level_or_mpp"] = record.resolution.value
        image["mpp_read"] = record.mpp_read
        for name in ("width_level0", "height_level0"):
            number = float(image[name])  # type: ignore[arg-type]
            image[name] = int(number) if number.is_integer() else number
        image["jpeg_passthrough"] = raw
        if record.qc is not None:
            image.update(record.qc.as_dict())
        images.append(image)
    first = records[0]
    record_ = {
        "key": key,
        "slide_path": slide_path,
        "wsi_id": wsi_id,
        "patch_index": first.patch_index,
        "label": first.label,
        "set_id": first.set_id,
        **{k: v for k, v in images[0].items() if k != "member"},
        "images": images,
    }
    return json.dumps(record_, sort_keys=True).encode("utf-8")


@dataclass(frozen=True)
class MemberPlace:
    """Where one member's bytes lie: shard (relative to output_dir), data offset, size."""

    shard: str
    member: str
    offset: int
    size: int


def _header(name: str, size: int) -> bytes:
    """A ustar header (mode 644, owner 0, mtime 0), built directly for the usual short names
    (tarfile's is measured at ~40 µs a member): the template around the name and size, its
    checksum the template's sum plus theirs; tarfile's pax header for the others."""
    encoded = name.encode("utf-8")
    if len(encoded) < 100 and size < 8**11:
        size_field = b"%011o\0" % size
        checksum = _USTAR_SUM + sum(encoded) + sum(size_field)
        return b"".join(
            (
                encoded,
                _USTAR_TEMPLATE[len(encoded) : 124],
                size_field,
                _USTAR_TEMPLATE[136:148],
                b"%06o\0 " % checksum,  # the field's last byte stays a space
                _USTAR_TEMPLATE[156:],
            )
        )
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0  # shards of the same samples are byte-identical
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _ustar_template() -> bytes:
    h = bytearray(_BLOCK)
    h[100:108] = b"0000644\0"  # mode
    h[108:116] = b"0000000\0"  # uid
    h[116:124] = b"0000000\0"  # gid
    h[136:148] = b"00000000000\0"  # mtime
    h[148:156] = b" " * 8  # checksum, while it is computed
    h[156:157] = b"0"  # a regular file
    h[257:265] = b"ustar\x0000"
    return bytes(h)


_USTAR_TEMPLATE = _ustar_template()  # name and size all zeros, checksum all spaces
_USTAR_SUM = sum(_USTAR_TEMPLATE)
_PADS = [b"\0" * k for k in range(_BLOCK)]
_FLUSH_BYTES = 1 << 20  # samples are written in one writev per about this many bytes
_FLUSH_PIECES = 512  # ... or this many pieces (IOV_MAX is 1024 on Linux)


class ShardWriter:
    """Appends samples to one slide's shards, in the order given (one call at a time).

    Samples are gathered and written with one ``writev`` per ~1 MB (no copy into one
    buffer, few system calls); a shard is flushed before it is committed.
    """

    def __init__(
        self,
        *,
        output_dir: str,
        wsi_id: str,
        manifest_id: str,
        maxcount: int,
        maxsize: int,
        on_new_shard: Callable[[list[str]], None],
    ) -> None:
        self._output_dir = output_dir
        self._wsi_id = wsi_id
        self._manifest_id = manifest_id
        self._maxcount = maxcount
        self._maxsize = maxsize
        self._on_new_shard = on_new_shard
        self._shards: list[str] = []
        self._file: AtomicFile | None = None
        self._count = 0
        self._size = 0  # the current shard's bytes, flushed or not
        self._pieces: list[bytes] = []  # not yet written
        self._pending = 0  # their bytes

    @property
    def shards(self) -> list[str]:
        """The shard paths (relative to ``output_dir``) started so far."""
        return list(self._shards)

    @property
    def current(self) -> str:
        """The shard the last sample went into."""
        return self._shards[-1]

    def add(self, members: Sequence[tuple[str, bytes]]) -> list[int]:
        """Append one sample's members; return each one's data offset in :attr:`current`."""
        headers = [_header(name, len(data)) for name, data in members]
        size = 0
        for header, (_, data) in zip(headers, members, strict=True):
            size += len(header) + len(data) + (-len(data)) % _BLOCK
        if (
            self._file is None
            or self._count >= self._maxcount
            or (self._count and self._size + size + 2 * _BLOCK > self._maxsize)
        ):
            self._next_shard()
        offsets = []
        pieces = self._pieces
        offset = self._size
        for header, (_, data) in zip(headers, members, strict=True):
            offset += len(header)
            offsets.append(offset)
            pad = (-len(data)) % _BLOCK
            pieces += (header, data, _PADS[pad]) if pad else (header, data)
            offset += len(data) + pad
        self._size = offset
        self._pending += size
        self._count += 1
        if self._pending >= _FLUSH_BYTES or len(pieces) >= _FLUSH_PIECES:
            self._flush()
        return offsets

    def close(self) -> list[str]:
        """Finish the last shard (a slide without samples writes none); return all."""
        if self._file is not None:
            self._finish()
        return self.shards

    def abort(self) -> None:
        self._pieces, self._pending = [], 0
        if self._file is not None:
            self._file.abort()
            self._file = None

    def _flush(self) -> None:
        assert self._file is not None
        if self._pieces:
            self._file.writev(self._pieces)
        self._pieces, self._pending = [], 0

    def _finish(self) -> None:
        assert self._file is not None
        self._pieces.append(b"\0" * (2 * _BLOCK))  # the end-of-archive marker
        self._flush()
        self._file.commit()
        self._file = None

    def _next_shard(self) -> None:
        if self._file is not None:
            self._finish()
        rel = shard_rel_path(
            wsi_id=self._wsi_id, manifest_id=self._manifest_id, number=len(self._shards)
        )
        self._shards.append(rel)
        self._on_new_shard(self.shards)  # the journal lists it before any byte is written
        self._file = AtomicFile(os.path.join(self._output_dir, rel))
        self._count = 0
        self._size = 0
