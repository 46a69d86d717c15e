"""Every error slidepatch raises.

Each error that concerns a slide names it: the path is the first thing a user with ten
thousand slides needs to find the bad one. Errors subclass the builtin a caller would
naturally catch (``ValueError``, ``OSError``...) so code written for the reference
library, which raised builtins, keeps working.
"""

from __future__ import annotations

from os import PathLike


class SlidepatchError(Exception):
    """Base class of every slidepatch error."""


class SlideError(SlidepatchError):
    """An error concerning one slide; ``path`` names it."""

    def __init__(self, path: str | PathLike[str] | None, message: str) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)

    def __reduce__(self) -> tuple[type[SlideError], tuple[str | None, str]]:
        """Pickle as (path, message) so errors cross process boundaries intact."""
        return (type(self), (self.path, self.message))


class SlideNotFoundError(SlideError, FileNotFoundError):
    """The slide path does not exist."""


class SlideIsDirectoryError(SlideError, IsADirectoryError):
    """The slide path is a directory (MIRAX/DICOM folders must be opened by their file)."""


class UnsupportedSlideError(SlideError, ValueError):
    """The file exists but no backend can open it as a slide."""


class SlideReadError(SlideError, OSError):
    """Reading pixels failed (corrupt tile, truncated file...); the message names the region."""


class LevelOutOfRangeError(SlideError, IndexError, ValueError):
    """A pyramid level that the slide does not have."""


class MppUnavailableError(SlideError, ValueError):
    """An MPP was requested but the slide has no MPP metadata and no override was given."""


class ResamplingRequiredError(SlideError, ValueError):
    """The requested MPP matches no native level and no resampling mode was chosen."""


class InvalidRegionError(SlideError, ValueError):
    """A region with a non-positive size, or one lying entirely outside the slide."""


class MaskError(SlideError, ValueError):
    """A mask that does not fit its slide (shape, aspect ratio, dimensions)."""


class AnnotationError(SlidepatchError, ValueError):
    """A malformed annotation file or polygon; the message names the file and element."""

    def __init__(self, path: str | PathLike[str] | None, message: str) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)

    def __reduce__(self) -> tuple[type[AnnotationError], tuple[str | None, str]]:
        return (type(self), (self.path, self.message))


class LocationError(SlideError, ValueError):
    """Patch locations cannot be computed (bad parameters, too little tissue...)."""


class OutputError(SlidepatchError, OSError):
    """An output path that is unsafe or unusable (outside ``output_dir``, not a directory...)."""


class ExtractionError(SlideError, RuntimeError):
    """Extracting a slide's patches failed; ``__cause__`` holds the original error."""


class WorkerDiedError(ExtractionError):
    """A worker process died (segfault, OOM kill) while it was extracting a slide."""


class UnsafeOutputNameError(OutputError, ValueError):
    """A label, comment or separator that cannot be used in an output path (also a
    ``ValueError``, which the reference raised for empty label directories)."""


class AnnotationWarning(UserWarning):
    """An annotation file read with parts skipped or repaired; the message names the file,
    each feature's index and the reason."""
