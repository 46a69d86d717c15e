"""slidepatch: fast patch extraction from whole-slide images."""

from slidepatch.annotations import (
    AnnotationPolygon,
    PolygonSource,
    load_polygon_data,
    read_annotations,
    read_asap_xml,
    read_geojson,
    read_halo_xml,
    read_imagescope_xml,
    read_sedeen_xml,
    save_polygons_json,
)
from slidepatch.contact_sheet import contact_sheet_from_output, make_contact_sheet
from slidepatch.engine import Executor, RunPolicy, Task
from slidepatch.errors import (
    AnnotationError,
    AnnotationFileNotFoundError,
    AnnotationWarning,
    CoordinateFileError,
    DuplicatePatchSetError,
    EarlierRunWarning,
    ExtractionError,
    InvalidPatchError,
    InvalidRegionError,
    LevelOutOfRangeError,
    LocationError,
    MaskError,
    MaskFileNotFoundError,
    MetadataWarning,
    MissingDependencyError,
    MppUnavailableError,
    NoPatchesWarning,
    OutputError,
    OutputExistsError,
    QcDroppedAllWarning,
    ResamplingRequiredError,
    RunMismatchError,
    SlideError,
    SlideIsDirectoryError,
    SlideNotFoundError,
    SlidepatchError,
    SlideReadError,
    UnsupportedLayoutError,
    UnsupportedSlideError,
    WorkerDiedError,
)
from slidepatch.extract import (
    DiskPatchExtractor,
    MemPatchExtractor,
    MultiResDiskPatchExtractor,
    MultiResMemPatchExtractor,
    multires_locations,
    read_patches_into,
)
from slidepatch.locations import *  # noqa: F403  (the location classes and their pools)
from slidepatch.locations import __all__ as _locations_all
from slidepatch.locations.params import PerRegion
from slidepatch.locations.patchset import PatchItem, PatchSource
from slidepatch.masks import Mask, MaskSource, WSIPolygonMask, WSITissueMask, load_mask
from slidepatch.options import ReadOptions
from slidepatch.pools import (
    DiskPatchExtractorPool,
    MemPatchExtractorPool,
    MultiResDiskPatchExtractorPool,
    MultiResMemPatchExtractorPool,
    PatchBatch,
    PatchList,
    PatchStream,
    iter_patch_batches,
)
from slidepatch.reference_data import MaskData, PolygonData
from slidepatch.resolution import Level, Mpp, Resolution
from slidepatch.shard_dataset import ShardDataset, open_shards
from slidepatch.slide import ReadPlan, Slide, SlideIdentity, slide_identity


def _version() -> str:
    """The installed distribution's version (pyproject.toml is the one place it is set)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("slidepatch")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"


__version__ = _version()

__all__ = [
    *_locations_all,
    "AnnotationPolygon",
    "DiskPatchExtractor",
    "DiskPatchExtractorPool",
    "Executor",
    "Mask",
    "MaskSource",
    "MaskData",
    "MemPatchExtractor",
    "MemPatchExtractorPool",
    "MultiResDiskPatchExtractor",
    "MultiResDiskPatchExtractorPool",
    "MultiResMemPatchExtractor",
    "MultiResMemPatchExtractorPool",
    "PatchBatch",
    "PatchList",
    "ReadOptions",
    "PatchItem",
    "RunPolicy",
    "PatchSource",
    "PerRegion",
    "PolygonSource",
    "Level",
    "Mpp",
    "Resolution",
    "PatchStream",
    "PolygonData",
    "ShardDataset",
    "Task",
    "WSIPolygonMask",
    "WSITissueMask",
    "contact_sheet_from_output",
    "iter_patch_batches",
    "make_contact_sheet",
    "load_mask",
    "load_polygon_data",
    "multires_locations",
    "open_shards",
    "read_annotations",
    "read_asap_xml",
    "read_geojson",
    "read_halo_xml",
    "read_imagescope_xml",
    "read_patches_into",
    "read_sedeen_xml",
    "save_polygons_json",
    "slide_identity",
    "AnnotationError",
    "AnnotationWarning",
    "AnnotationFileNotFoundError",
    "CoordinateFileError",
    "DuplicatePatchSetError",
    "EarlierRunWarning",
    "ExtractionError",
    "InvalidPatchError",
    "InvalidRegionError",
    "LevelOutOfRangeError",
    "LocationError",
    "MaskError",
    "MaskFileNotFoundError",
    "MissingDependencyError",
    "MetadataWarning",
    "MppUnavailableError",
    "NoPatchesWarning",
    "OutputError",
    "QcDroppedAllWarning",
    "OutputExistsError",
    "ReadPlan",
    "ResamplingRequiredError",
    "RunMismatchError",
    "Slide",
    "SlideError",
    "SlideIdentity",
    "SlideIsDirectoryError",
    "SlideNotFoundError",
    "SlideReadError",
    "SlidepatchError",
    "UnsupportedLayoutError",
    "UnsupportedSlideError",
    "WorkerDiedError",
    "__version__",
]
