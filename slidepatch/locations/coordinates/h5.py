"""h5py, the optional dependency of the TRIDENT and CLAM formats (extra ``slidepatch[h5]``)."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from slidepatch.errors import CoordinateFileError, MissingDependencyError
from slidepatch.locations.coordinates import record as rec

if TYPE_CHECKING:
    from slidepatch.locations.patchset import PatchSet

CHUNK_ROWS = 4096


def require_h5py(what: str) -> ModuleType:
    """The ``h5py`` module, or an error that says which extra to install."""
    try:
        import h5py
    except ImportError as exc:
        raise MissingDependencyError(
            f"{what} needs h5py, which is not installed: pip install 'slidepatch[h5]'"
        ) from exc
    module: ModuleType = h5py
    return module


def h5_bytes(h5py: ModuleType, fill: Callable[[Any], None]) -> bytes:
    """An HDF5 file built in memory by ``fill(file)``, as bytes (written atomically later)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        fill(f)
    return buffer.getvalue()


def chunk_rows(n: int) -> int:
    """Rows per HDF5 chunk. TRIDENT and CLAM chunk by single rows, which makes reading 100,000
    coordinates take a second; any chunking reads the same, and ``maxshape`` stays
    ``(None, 2)`` so the tools can still append."""
    return max(1, min(n, CHUNK_ROWS))


def coords_h5_bytes(patch_set: PatchSet, attrs: dict[str, Any], *, what: str) -> bytes:
    """A TRIDENT/CLAM file: dataset ``coords`` (N, 2) int64 carrying ``attrs``, and
    slidepatch's ``labels`` beside it (``what`` names the format in a missing-h5py error)."""
    h5py = require_h5py(what)
    coords = np.stack([patch_set.x, patch_set.y], axis=1).astype(np.int64).reshape(-1, 2)

    def fill(f: Any) -> None:
        dset = f.create_dataset(
            "coords",
            data=coords,
            maxshape=(None, 2),
            chunks=(chunk_rows(len(coords)), 2),
            dtype=np.int64,
        )
        for key, value in attrs.items():
            dset.attrs[key] = value
        f.create_dataset(rec.LABELS, data=list(patch_set.labels), dtype=h5py.string_dtype())

    return h5_bytes(h5py, fill)


def read_coords_h5(
    path: str, *, tool: str
) -> tuple[dict[str, Any], npt.NDArray[np.int64], tuple[str, ...] | None]:
    """A TRIDENT/CLAM file's ``coords`` attributes, its (N, 2) coordinates and slidepatch's
    ``labels`` when present (``tool`` names the format in errors)."""
    h5py = require_h5py(f"reading {tool} coordinates")
    with h5py.File(path, "r") as f:
        if "coords" not in f:
            raise CoordinateFileError(path, f"no 'coords' dataset: not a {tool} patch file")
        dset = f["coords"]
        attrs = dict(dset.attrs)
        coords = rec.coords_array(dset[()], file=path)
        labels = tuple(f[rec.LABELS].asstr()[()]) if rec.LABELS in f else None
    return attrs, coords, labels
