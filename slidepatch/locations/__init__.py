"""Patch locations: sampling classes, their pools, and the PatchSet value."""

from slidepatch.locations.base import LocationsBase
from slidepatch.locations.classes import (
    PolygonRegionCustomPatches,
    PolygonRegionGridPatches,
    PolygonRegionPoissonDiskPatches,
    PolygonRegionRandomPatches,
    WholeImageCustomPatches,
    WholeImageGridPatches,
    WholeImageInvertedCustomPatches,
    WholeImageInvertedGridPatches,
    WholeImageInvertedPoissonDiskPatches,
    WholeImageInvertedRandomPatches,
    WholeImagePoissonDiskPatches,
    WholeImageRandomPatches,
)
from slidepatch.locations.coordinates import read_coordinates, save_coordinates
from slidepatch.locations.coordinates.pool import CoordinateFilesPool
from slidepatch.locations.custom import CustomPatches, PatchesMock
from slidepatch.locations.empty import NoPatchesReason
from slidepatch.locations.online import OnlineRandomPatches
from slidepatch.locations.patchset import PatchSet, as_patchset
from slidepatch.locations.pools import (
    LocationsPool,
    PolygonRegionCustomPatchesPool,
    PolygonRegionGridPatchesPool,
    PolygonRegionPoissonDiskPatchesPool,
    PolygonRegionRandomPatchesPool,
    WholeImageCustomPatchesPool,
    WholeImageGridPatchesPool,
    WholeImageInvertedCustomPatchesPool,
    WholeImageInvertedGridPatchesPool,
    WholeImageInvertedPoissonDiskPatchesPool,
    WholeImageInvertedRandomPatchesPool,
    WholeImagePoissonDiskPatchesPool,
    WholeImageRandomPatchesPool,
)

__all__ = [
    "CoordinateFilesPool",
    "CustomPatches",
    "LocationsBase",
    "LocationsPool",
    "NoPatchesReason",
    "OnlineRandomPatches",
    "PatchSet",
    "PatchesMock",
    "PolygonRegionCustomPatches",
    "PolygonRegionCustomPatchesPool",
    "PolygonRegionGridPatches",
    "PolygonRegionGridPatchesPool",
    "PolygonRegionPoissonDiskPatches",
    "PolygonRegionPoissonDiskPatchesPool",
    "PolygonRegionRandomPatches",
    "PolygonRegionRandomPatchesPool",
    "WholeImageCustomPatches",
    "WholeImageCustomPatchesPool",
    "WholeImageGridPatches",
    "WholeImageGridPatchesPool",
    "WholeImageInvertedCustomPatches",
    "WholeImageInvertedCustomPatchesPool",
    "WholeImageInvertedGridPatches",
    "WholeImageInvertedGridPatchesPool",
    "WholeImageInvertedPoissonDiskPatches",
    "WholeImageInvertedPoissonDiskPatchesPool",
    "WholeImageInvertedRandomPatches",
    "WholeImageInvertedRandomPatchesPool",
    "WholeImagePoissonDiskPatches",
    "WholeImagePoissonDiskPatchesPool",
    "WholeImageRandomPatches",
    "WholeImageRandomPatchesPool",
    "as_patchset",
    "read_coordinates",
    "save_coordinates",
]
