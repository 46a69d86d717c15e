"""slidepatch: fast patch extraction from whole-slide images."""

from slidepatch.annotations import (
    AnnotationPolygon,
    load_polygon_data,
    read_asap_xml,
    read_geojson,
    read_sedeen_xml,
    save_polygons_json,
)
from slidepatch.contact_sheet import contact_sheet_from_output, make_contact_sheet
from slidepatch.errors import (
    AnnotationError,
    ExtractionError,
    InvalidRegionError,
    LevelOutOfRangeError,
    LocationError,
    MaskError,
    MppUnavailableError,
    NoPatchesWarning,
    OutputError,
    ResamplingRequiredError,
    SlideError,
    SlideIsDirectoryError,
    SlideNotFoundError,
    SlidepatchError,
    SlideReadError,
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
from slidepatch.masks import Mask, WSIPolygonMask, WSITissueMask, load_mask
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
from slidepatch.slide import ReadPlan, Slide

__version__ = "0.1.0"

__all__ = [
    *_locations_all,
    "AnnotationPolygon",
    "DiskPatchExtractor",
    "DiskPatchExtractorPool",
    "Mask",
    "MemPatchExtractor",
    "MemPatchExtractorPool",
    "MultiResDiskPatchExtractor",
    "MultiResDiskPatchExtractorPool",
    "MultiResMemPatchExtractor",
    "MultiResMemPatchExtractorPool",
    "PatchBatch",
    "PatchList",
    "PatchStream",
    "WSIPolygonMask",
    "WSITissueMask",
    "contact_sheet_from_output",
    "iter_patch_batches",
    "make_contact_sheet",
    "load_mask",
    "load_polygon_data",
    "multires_locations",
    "read_asap_xml",
    "read_geojson",
    "read_patches_into",
    "read_sedeen_xml",
    "save_polygons_json",
    "AnnotationError",
    "ExtractionError",
    "InvalidRegionError",
    "LevelOutOfRangeError",
    "LocationError",
    "MaskError",
    "MppUnavailableError",
    "NoPatchesWarning",
    "OutputError",
    "ReadPlan",
    "ResamplingRequiredError",
    "Slide",
    "SlideError",
    "SlideIsDirectoryError",
    "SlideNotFoundError",
    "SlideReadError",
    "SlidepatchError",
    "UnsupportedSlideError",
    "WorkerDiedError",
    "__version__",
]
