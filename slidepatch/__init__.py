"""slidepatch: fast patch extraction from whole-slide images."""

from slidepatch.errors import (
    AnnotationError,
    ExtractionError,
    InvalidRegionError,
    LevelOutOfRangeError,
    LocationError,
    MaskError,
    MppUnavailableError,
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
from slidepatch.locations.patchset import PatchSet, as_patchset
from slidepatch.slide import ReadPlan, Slide

__version__ = "0.1.0"

__all__ = [
    "AnnotationError",
    "ExtractionError",
    "InvalidRegionError",
    "LevelOutOfRangeError",
    "LocationError",
    "MaskError",
    "MppUnavailableError",
    "OutputError",
    "PatchSet",
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
    "as_patchset",
]
