"""Reading a run's WebDataset shards back: random access through the Parquet index.

:func:`open_shards` lists the finished slides of an output directory (those whose text
manifest exists, so an interrupted slide's leftovers are never read), loads their indexes,
and serves samples by reading each member at its indexed offset with one ``pread``: no tar
scan, no decompression of other samples. It is a map-style dataset (``len``, ``[i]``) and
works as a PyTorch map-style ``Dataset`` as it is (file handles are opened lazily, per
process, so DataLoader workers can share it).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from os import PathLike, fspath
from typing import TYPE_CHECKING

import numpy as np

from slidepatch.errors import EarlierRunWarning, OutputError
from slidepatch.extract.manifest import manifest_base_name
from slidepatch.extract.resume import MANIFEST_DIR
from slidepatch.extract.shards import INDEX_DIR, PER_IMAGE_COLUMNS, require_pyarrow

if TYPE_CHECKING:
    import pyarrow as pa

Metadata = dict[str, object]
_ROW_FIELDS = (
    "slide_path",
    "wsi_id",
    "manifest_id",
    "set_id",
    "patch_index",
    "label",
    "key",
)
_IMAGE_FIELDS = ("member", "path", "offset", "size", *PER_IMAGE_COLUMNS)


@dataclass(frozen=True)
class _Sample:
    first_row: int
    row_count: int


def _decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.array(image.convert("RGB"))  # writable, so torch.from_numpy takes it


class ShardDataset:
    """The samples of a run's shards: slide by slide (by ``wsi_id``), in patch order.

    ``ds[i]`` is ``(image, metadata)``: ``image`` a ``(h, w, 3)`` uint8 array, or
    ``(L, h, w, 3)`` for a multi-resolution set (one per level, in ``levels_or_mpps``
    order); ``metadata`` the sample's slide, key, label, patch index, set id and, per image,
    its member, shard, offset, resolution and level-0 place. ``transform`` (if given) is
    applied to the image. :meth:`raw` gives the members' stored bytes.
    """

    def __init__(
        self,
        directory: str | PathLike[str],
        *,
        transform: Callable[[np.ndarray], object] | None = None,
    ) -> None:
        require_pyarrow()
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._dir = fspath(directory)
        index_dir = os.path.join(self._dir, INDEX_DIR)
        if not os.path.isdir(index_dir):
            raise OutputError(f"{self._dir} holds no shard index (no {INDEX_DIR}/ folder)")
        tables = []
        runs: dict[str, list[str]] = {}  # slide -> manifest ids of its finished runs
        names = [
            n for n in os.listdir(index_dir) if n.endswith(".parquet") and not n.startswith(".")
        ]
        # slide by slide in wsi_id order (then manifest id): the same order for the same run
        names.sort(key=lambda n: tuple(reversed(n[: -len(".parquet")].split("__")[1:3])))
        for name in names:
            base = name[: -len(".parquet")]
            if not os.path.exists(os.path.join(self._dir, MANIFEST_DIR, base + ".txt")):
                continue  # an unfinished slide: not part of the run
            table = pq.read_table(os.path.join(index_dir, name))
            if table.num_rows:
                slide = str(table.column("slide_path")[0])
                runs.setdefault(slide, []).append(base.split("__")[1])
            tables.append(table)
        twice = {slide: ids for slide, ids in runs.items() if len(ids) > 1}
        if twice:
            shown = "; ".join(f"{s} (manifest ids {', '.join(i)})" for s, i in twice.items())
            warnings.warn(
                f"{self._dir} holds more than one finished extraction of {len(twice)} slides, "
                f"so their patches come more than once: {shown}; rerun with overwrite=True "
                "(or resume=True) to keep one",
                EarlierRunWarning,
                stacklevel=3,
            )
        self._table: pa.Table = pa.concat_tables(tables) if tables else pa.table({})
        self._transform = transform
        keys = self._table.column("key").to_pylist() if tables else []
        self._columns = {n: self._table.column(n).to_pylist() for n in self._table.column_names}
        samples: list[_Sample] = []
        start = 0
        for r in range(1, len(keys) + 1):
            if r == len(keys) or keys[r] != keys[start]:
                samples.append(_Sample(start, r - start))
                start = r
        self._samples = samples
        self._keys = [keys[s.first_row] for s in samples]
        self._fds: dict[str, int] = {}
        self._pid = os.getpid()

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, i: int) -> tuple[object, Metadata]:
        sample = self._sample(i)
        arrays = [_decode(data) for data in self._read(sample)]
        image = arrays[0] if len(arrays) == 1 else np.stack(arrays)
        out = image if self._transform is None else self._transform(image)
        return out, self.metadata(i)

    def __iter__(self) -> Iterator[tuple[object, Metadata]]:
        for i in range(len(self)):
            yield self[i]

    def raw(self, i: int) -> dict[str, bytes]:
        """Member name -> the bytes stored in the shard (e.g. passthrough JPEG tiles), the
        images then ``<key>.json``, as the shard holds them."""
        sample = self._sample(i)
        names = self._columns["member"][sample.first_row : sample.first_row + sample.row_count]
        out = dict(zip(names, self._read(sample), strict=True))
        out[f"{self._keys[i]}.json"] = self.raw_json(i)
        return out

    def raw_json(self, i: int) -> bytes:
        """The sample's ``<key>.json`` member as stored."""
        row = self._sample(i).first_row
        shard = self._columns["path"][row]
        offset, size = self._columns["json_offset"][row], self._columns["json_size"][row]
        return self._pread(shard, offset, size, self._keys[i] + ".json")

    def metadata(self, i: int) -> Metadata:
        sample = self._sample(i)
        r = sample.first_row
        meta: Metadata = {name: self._columns[name][r] for name in _ROW_FIELDS}
        meta["images"] = [
            {name: self._columns[name][row] for name in _IMAGE_FIELDS}
            for row in range(r, r + sample.row_count)
        ]
        return meta

    @property
    def keys(self) -> list[str]:
        """Every sample's key, in order."""
        return list(self._keys)

    @property
    def table(self) -> pa.Table:
        """The finished slides' index rows (one per image member) as one pyarrow Table."""
        return self._table

    @property
    def directory(self) -> str:
        return self._dir

    # ------------------------------------------------------------------ internals
    def _sample(self, i: int) -> _Sample:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"sample index must be an int, got {i!r}")
        n = len(self._samples)
        if not -n <= i < n:
            raise IndexError(f"sample {i} out of range: {self._dir} holds {n} samples")
        return self._samples[int(i)]

    def _read(self, sample: _Sample) -> list[bytes]:
        rows = range(sample.first_row, sample.first_row + sample.row_count)
        out = []
        for row in rows:
            shard = self._columns["path"][row]
            offset, size = self._columns["offset"][row], self._columns["size"][row]
            out.append(self._pread(shard, offset, size, self._columns["member"][row]))
        return out

    def _pread(self, shard: str, offset: int, size: int, member: str) -> bytes:
        data = os.pread(self._fd(shard), size, offset)
        if len(data) != size:
            raise OutputError(
                f"{os.path.join(self._dir, shard)}: member {member} is cut short "
                f"({len(data)} of {size} bytes at offset {offset})"
            )
        return data

    def _fd(self, shard: str) -> int:
        if os.getpid() != self._pid:  # a forked DataLoader worker: its own descriptors
            self._fds, self._pid = {}, os.getpid()
        fd = self._fds.get(shard)
        if fd is None:
            fd = os.open(os.path.join(self._dir, shard), os.O_RDONLY)
            self._fds[shard] = fd
        return fd

    def close(self) -> None:
        """Close the shard files (reopened on the next access)."""
        if os.getpid() == self._pid:
            for fd in self._fds.values():
                os.close(fd)
        self._fds = {}

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_fds"] = {}
        return state

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def open_shards(
    directory: str | PathLike[str],
    *,
    transform: Callable[[np.ndarray], object] | None = None,
) -> ShardDataset:
    """The finished slides' samples of a ``output_format="webdataset"`` run in ``directory``."""
    return ShardDataset(directory, transform=transform)


def index_path(directory: str, *, manifest_id: str, wsi_id: str) -> str:
    """Where a slide's Parquet index lies in a run's ``directory``."""
    return os.path.join(directory, INDEX_DIR, manifest_base_name(manifest_id, wsi_id) + ".parquet")
