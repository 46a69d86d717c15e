"""Every error slidepatch raises.

Each error that concerns a slide names it: the path is the first thing a user with ten
thousand slides needs to find the bad one. Errors subclass the builtin a caller would
naturally catch (``ValueError``, ``OSError``...) so code written for the reference
library, which raised builtins, keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike


def _openslide_unsupported() -> type[Exception]:
    """OpenSlide's "unsupported or missing file" error when OpenSlide imports, so that code
    catching what the reference raised for a bad slide keeps working."""
    try:
        from openslide import OpenSlideUnsupportedFormatError
    except Exception:  # no openslide-python, or no library: nothing to be compatible with

        class OpenSlideUnsupportedFormatError(Exception):  # type: ignore[no-redef]
            """Stand-in used when OpenSlide is not importable."""

    return OpenSlideUnsupportedFormatError


_OpenSlideUnsupported = _openslide_unsupported()


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


class SlideNotFoundError(SlideError, FileNotFoundError, _OpenSlideUnsupported):  # type: ignore[misc,valid-type]
    """The slide path does not exist (also OpenSlide's error, which the reference raised)."""


class SlideIsDirectoryError(SlideError, IsADirectoryError):
    """The slide path is a directory (MIRAX/DICOM folders must be opened by their file)."""


class UnsupportedSlideError(SlideError, ValueError, _OpenSlideUnsupported):  # type: ignore[misc,valid-type]
    """The file exists but no backend can open it as a slide (also OpenSlide's error)."""


class UnsupportedLayoutError(UnsupportedSlideError):
    """The file is a readable image, but its pixel layout (fluorescence channels, 16-bit...)
    is not RGB; no backend is tried after this, since each would show it wrong."""


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


class MaskFileNotFoundError(MaskError, FileNotFoundError):
    """A mask file that does not exist (a ``FileNotFoundError``, as in the reference)."""


class AnnotationError(SlidepatchError, ValueError):
    """A malformed annotation file or polygon; the message names the file and element."""

    def __init__(self, path: str | PathLike[str] | None, message: str) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)

    def __reduce__(self) -> tuple[type[AnnotationError], tuple[str | None, str]]:
        return (type(self), (self.path, self.message))


class AnnotationFileNotFoundError(AnnotationError, FileNotFoundError):
    """A ``polygon_data`` or annotation file that does not exist."""


class LocationError(SlideError, ValueError):
    """Patch locations cannot be computed (bad parameters, too little tissue...)."""


class OutputError(SlidepatchError, OSError):
    """An output path that is unsafe or unusable (outside ``output_dir``, not a directory...)."""


class ExtractionError(SlideError, RuntimeError):
    """Extracting a slide's patches failed; ``__cause__`` holds the original error."""


class InvalidPatchError(ExtractionError, ValueError):
    """A patch the slide cannot give (outside it, a bad size): a ``ValueError``, as the
    reference raised."""


class WorkerDiedError(ExtractionError):
    """A worker process died (segfault, OOM kill) while it was extracting a slide."""


class UnsafeOutputNameError(OutputError, ValueError):
    """A label, comment or separator that cannot be used in an output path (also a
    ``ValueError``, which the reference raised for empty label directories)."""


class DuplicatePatchSetError(SlideError, ValueError):
    """The same PatchSet of one slide (same locations and resolution) was given twice."""


class RunMismatchError(OutputError, ValueError):
    """Resuming into an output directory where slides were finished with other parameters.

    ``mismatches`` holds ``(slide_path, differences)`` per slide, the differences written as
    ``seed=1, now seed=2``.
    """

    def __init__(self, mismatches: Sequence[tuple[str, str]], hint: str) -> None:
        self.mismatches = tuple(mismatches)
        self.hint = hint
        super().__init__(format_mismatches(self.mismatches, hint=hint))

    def __reduce__(self) -> tuple[type[RunMismatchError], tuple[tuple[tuple[str, str], ...], str]]:
        return (type(self), (self.mismatches, self.hint))


def format_mismatches(mismatches: Sequence[tuple[str, str]], *, hint: str) -> str:
    """``a.svs: finished earlier with seed=1, now seed=2; <hint>`` (all slides, one line)."""
    if len(mismatches) == 1:
        ((slide, diff),) = mismatches
        return f"{slide}: finished earlier with {diff}; {hint}"
    listed = "; ".join(f"{slide}: {diff}" for slide, diff in mismatches)
    return f"{len(mismatches)} slides were finished earlier with other parameters: {listed}; {hint}"


class OutputExistsError(OutputError):
    """An output folder that already holds manifests or journals of the slides to extract."""


class EarlierRunWarning(UserWarning):
    """An output directory already holds files of the same slides from earlier runs."""


class QcDroppedAllWarning(UserWarning):
    """The quality filters (``qc=``, artifact masks) dropped every patch of a slide."""


class CoordinateFileError(SlidepatchError, ValueError):
    """A coordinate file (TRIDENT, CLAM, hs2p, CSV) that cannot be read or written as asked;
    the message names the file (and the slide it was paired with)."""

    def __init__(self, path: str | PathLike[str] | None, message: str) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)

    def __reduce__(self) -> tuple[type[CoordinateFileError], tuple[str | None, str]]:
        return (type(self), (self.path, self.message))


class MissingDependencyError(SlidepatchError, ImportError):
    """An optional dependency that a feature needs is not installed; says which extra."""


class NoPatchesWarning(UserWarning):
    """A location class found no patch; the message names the slide and says why.

    A warning, not an error, because the reference returned an empty result here and
    drop-in code may rely on that; the reason is also on the object (``empty_reason``).
    """


class MetadataWarning(UserWarning):
    """Slide metadata that slidepatch ignores (a screen-default resolution...); the message
    names the slide and what to pass instead."""


class AnnotationWarning(UserWarning):
    """An annotation file read with parts skipped or repaired; the message names the file,
    each feature's index and the reason."""
