"""The per-slide Parquet index of a slide's shards: the CSV manifest's rows, typed.

One row per image member, with every CSV manifest column (``path`` is the shard) and the
member's ``key``, ``member`` name, data ``offset`` and ``size`` in its shard, so a reader
seeks straight to the bytes. The index files of a run read together as one
``pyarrow.dataset.dataset(<output_dir>/index)``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from slidepatch.extract.manifest import CSV_COLUMNS
from slidepatch.extract.shards import SHARD_COLUMNS

_INTS = {
    "patch_index",
    "x_level0",
    "y_level0",
    "width_read_px",
    "height_read_px",
    "offset",
    "size",
    "json_offset",
    "json_size",
}
_FLOATS = {"mpp_read", "width_level0", "height_level0"}


def index_columns(extra: Sequence[str] = ()) -> tuple[str, ...]:
    return (*CSV_COLUMNS, *SHARD_COLUMNS, *extra)


def format_index(
    *, rows: Sequence[Sequence[str | int | float | None]], extra_float_columns: Sequence[str] = ()
) -> bytes:
    """Parquet bytes of ``rows`` (values in :func:`index_columns` order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = index_columns(extra_float_columns)
    floats = _FLOATS | set(extra_float_columns)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    arrays = []
    fields = []
    for name, values in zip(names, columns, strict=True):
        if name in _INTS:
            arrays.append(pa.array([int(v) for v in values], type=pa.int64()))
            fields.append(pa.field(name, pa.int64()))
        elif name in floats:
            arrays.append(
                pa.array(
                    [None if v is None or v == "" else float(v) for v in values],
                    type=pa.float64(),
                )
            )
            fields.append(pa.field(name, pa.float64()))
        else:
            arrays.append(pa.array([str(v) for v in values], type=pa.string()))
            fields.append(pa.field(name, pa.string()))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()
