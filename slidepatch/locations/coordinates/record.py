"""The in-memory form of one slide's coordinate file, and slidepatch's own keys in it.

Each format module turns its file into a :class:`CoordinateRecord`; ``files`` turns that
into a PatchSet. slidepatch writes a few keys of its own beside the tool's (prefixed
``slidepatch_``, plus a ``labels`` array) so that locations -> file -> locations is
identical; the tools ignore keys they do not know, and files without them are read from
the tool's own keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.errors import CoordinateFileError
from slidepatch.locations.patchset import LevelOrMpp, PatchSet

LEVEL_OR_MPP = "slidepatch_level_or_mpp"
LABEL_NAMES = "slidepatch_label_names"
SLIDE_MPP = "slidepatch_slide_mpp"
LABELS = "labels"


@dataclass(frozen=True)
class CoordinateRecord:
    """One slide's coordinates as a file holds them (level-0 top-left ``x``, ``y``)."""

    file: str
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    size: int | None = None
    widths: npt.NDArray[np.int64] | None = None
    heights: npt.NDArray[np.int64] | None = None
    level_or_mpp: LevelOrMpp | None = None
    level0_ratio: float | None = None
    labels: tuple[str, ...] | None = None
    label_names: tuple[str, ...] = ()
    slide_mpp: float | None = None
    dimensions: tuple[tuple[int, tuple[int, int]], ...] = ()


def extra_keys(patch_set: PatchSet) -> dict[str, object]:
    """slidepatch's own keys for ``patch_set`` (scalars and strings)."""
    value = patch_set.level_or_mpp
    keys: dict[str, object] = {
        LEVEL_OR_MPP: np.int64(value) if isinstance(value, int) else np.float64(value),
        LABEL_NAMES: json.dumps(list(patch_set.label_names)),
    }
    if patch_set.slide_mpp is not None:
        keys[SLIDE_MPP] = np.float64(patch_set.slide_mpp)
    return keys


def read_extras(
    get: Callable[[str], object], *, file: str
) -> tuple[LevelOrMpp | None, tuple[str, ...], float | None]:
    """``(level_or_mpp, label_names, slide_mpp)`` from slidepatch's keys (None where absent)."""
    raw = get(LEVEL_OR_MPP)
    level_or_mpp: LevelOrMpp | None = None
    if raw is not None:
        arr = np.asarray(raw)
        if np.issubdtype(arr.dtype, np.integer):
            level_or_mpp = int(arr)
        elif np.issubdtype(arr.dtype, np.floating):
            level_or_mpp = float(arr)
        else:
            raise CoordinateFileError(file, f"{LEVEL_OR_MPP} must be a number, got {raw!r}")
    names: tuple[str, ...] = ()
    text = get(LABEL_NAMES)
    if text is not None:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        try:
            names = tuple(str(n) for n in json.loads(str(np.asarray(text).item())))
        except (ValueError, TypeError) as exc:
            raise CoordinateFileError(file, f"{LABEL_NAMES} is not a JSON list: {exc}") from exc
    mpp = get(SLIDE_MPP)
    return level_or_mpp, names, None if mpp is None else float(np.asarray(mpp))


def coords_array(value: object, *, file: str, what: str = "coords") -> npt.NDArray[np.int64]:
    """A tool's ``(N, 2)`` integer coordinate array, checked; ``(0, 2)`` and ``(0,)`` are empty."""
    arr = np.asarray(value)
    if arr.size == 0:
        return np.zeros((0, 2), np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CoordinateFileError(file, f"{what} must have shape (N, 2), got {arr.shape}")
    return integer_array(arr, file=file, what=what)


def integer_array(arr: npt.NDArray[Any], *, file: str, what: str) -> npt.NDArray[np.int64]:
    """``arr`` as int64; floats must be whole numbers (a silently truncated grid is wrong)."""
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise CoordinateFileError(file, f"{what} must be whole level-0 pixels")
        return arr.astype(np.int64)
    raise CoordinateFileError(file, f"{what} must be integers, got dtype {arr.dtype}")


def as_int(value: object, *, file: str, what: str) -> int:
    """A scalar attribute that must be a whole number."""
    try:
        number = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError) as exc:
        raise CoordinateFileError(file, f"{what} must be a number, got {value!r}") from exc
    if number != round(number):
        raise CoordinateFileError(file, f"{what} must be a whole number, got {value!r}")
    return int(number)


def as_float(value: object, *, file: str, what: str) -> float:
    try:
        return float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError) as exc:
        raise CoordinateFileError(file, f"{what} must be a number, got {value!r}") from exc


def as_pair(value: object, *, file: str, what: str) -> tuple[int, int]:
    """A ``(width, height)`` attribute."""
    arr = np.asarray(value).reshape(-1)
    if arr.shape[0] != 2:
        raise CoordinateFileError(file, f"{what} must be (width, height), got {value!r}")
    return (as_int(arr[0], file=file, what=what), as_int(arr[1], file=file, what=what))
