"""Connected-component clean-up of boolean masks, with numpy only (run-length labelling
with a vectorised union-find), so scipy/scikit-image are not needed."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- components
def _runs(mask: BoolArray) -> tuple[npt.NDArray[np.int64], ...]:
    """Horizontal runs of True pixels: (rows, starts, ends) with ``end`` exclusive."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    diff = np.diff(padded, axis=1)
    rows, starts = np.nonzero(diff == 1)
    _, ends = np.nonzero(diff == -1)
    return rows.astype(np.int64), starts.astype(np.int64), ends.astype(np.int64)


def _run_components(
    rows: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], w: int
) -> npt.NDArray[np.int64]:
    """Component id (smallest run index) of every run, with 4-connectivity."""
    n = rows.shape[0]
    parent = np.arange(n, dtype=np.int64)
    if n == 0:
        return parent
    stride = w + 2
    key_start = rows * stride + starts
    key_end = rows * stride + ends
    prev = rows - 1
    lo = np.searchsorted(key_end, prev * stride + starts, side="right")
    hi = np.searchsorted(key_start, prev * stride + ends, side="left")
    counts = np.maximum(hi - lo, 0)
    b = np.repeat(np.arange(n, dtype=np.int64), counts)
    offsets = np.arange(b.shape[0], dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    a = np.repeat(lo, counts) + offsets
    while a.shape[0]:
        low = np.minimum(parent[a], parent[b])
        np.minimum.at(parent, parent[a], low)
        np.minimum.at(parent, parent[b], low)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        if np.array_equal(parent[a], parent[b]):
            break
    return parent


def _paint_runs(
    mask: BoolArray,
    rows: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    value: bool,
) -> BoolArray:
    h, w = mask.shape
    delta = np.zeros((h, w + 1), dtype=np.int32)
    np.add.at(delta, (rows, starts), 1)
    np.add.at(delta, (rows, ends), -1)
    painted = np.cumsum(delta, axis=1)[:, :w] > 0
    return (mask | painted) if value else (mask & ~painted)


def remove_small_objects(mask: BoolArray, *, min_size: float) -> BoolArray:
    """Remove 4-connected True components with fewer than ``min_size`` pixels."""
    rows, starts, ends = _runs(mask)
    comp = _run_components(rows, starts, ends, mask.shape[1])
    sizes = np.bincount(comp, weights=ends - starts, minlength=comp.shape[0])
    small = sizes[comp] < min_size
    return _paint_runs(mask, rows[small], starts[small], ends[small], False)


def fill_holes(mask: BoolArray, *, max_size: float | None = None) -> BoolArray:
    """Fill holes (background components not touching the border), all or up to ``max_size``."""
    h, w = mask.shape
    rows, starts, ends = _runs(~mask)
    comp = _run_components(rows, starts, ends, w)
    n = comp.shape[0]
    sizes = np.bincount(comp, weights=ends - starts, minlength=n)
    border = (rows == 0) | (rows == h - 1) | (starts == 0) | (ends == w)
    touches = np.bincount(comp, weights=border, minlength=n) > 0
    fill = ~touches[comp]
    if max_size is not None:
        fill &= sizes[comp] <= max_size
    return _paint_runs(mask, rows[fill], starts[fill], ends[fill], True)


def _box_count(mask: BoolArray, k: int) -> npt.NDArray[np.int64]:
    """Number of True pixels in the k x k window centred on each pixel (zero outside)."""
    h, w = mask.shape
    before = k // 2
    after = k - 1 - before
    padded = np.pad(mask.astype(np.int64), ((before + 1, after), (before + 1, after)))
    s = padded.cumsum(0).cumsum(1)
    out = s[k:, k:] - s[:-k, k:][:h] - s[k:, :-k][:, :w] + s[:h, :w]
    return np.asarray(out, dtype=np.int64)


def close_mask(mask: BoolArray, *, kernel_size: int) -> BoolArray:
    """Morphological closing with a ``kernel_size`` square (dilation, then erosion)."""
    dilated = _box_count(mask, kernel_size) > 0
    return np.asarray(_box_count(dilated, kernel_size) == kernel_size * kernel_size)
