"""Coordinate files in and out: TRIDENT, CLAM and hs2p patch files, and plain CSV.

Locations are level-0 top-left corners in every format; the level-0 patch size written is
the one slidepatch reads, from the slide's real downsample or MPP.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike

from slidepatch.locations.coordinates.files import (
    FORMATS,
    CoordinateFormat,
    detect_format,
    save,
    save_many,
)
from slidepatch.locations.coordinates.files import read as read_coordinates
from slidepatch.locations.coordinates.trident import Magnification, bucket_magnification
from slidepatch.locations.patchset import PatchSet, as_patchset


def save_coordinates(
    locations: object,
    path_or_dir: str | PathLike[str],
    *,
    format: CoordinateFormat,
    trident_magnification: Magnification = "bucket",
) -> list[str]:
    """Write the coordinates of a location object, a PatchSet, or many of them (a pool, a
    list) as ``format`` files; return the paths written, in input order."""
    if isinstance(locations, Iterable) and not isinstance(locations, PatchSet):
        sets = [as_patchset(item) for item in locations]
        return save_many(
            sets, path_or_dir, format=format, trident_magnification=trident_magnification
        )
    return [
        save(
            as_patchset(locations),
            path_or_dir,
            format=format,
            trident_magnification=trident_magnification,
        )
    ]


__all__ = [
    "FORMATS",
    "CoordinateFormat",
    "bucket_magnification",
    "detect_format",
    "read_coordinates",
    "save_coordinates",
]
