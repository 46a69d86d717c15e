"""JPEG passthrough: write a source JPEG tile's compressed bytes instead of re-encoding.

When a JPEG output patch is exactly one stored JPEG tile of a native level (tile-aligned,
tile-sized, inside the level, no resampling), decoding it and encoding it again only costs
time and adds a second generation of JPEG loss. With ``jpeg_passthrough=True`` the disk
extractors write the tile's own bytes as a standalone JPEG file instead (see
:meth:`slidepatch.slide.slide.Slide.raw_jpeg_tile_for`); any other patch is read and
encoded as usual. A passed-through file keeps the scanner's JPEG quality, not
``jpeg_quality``, and decodes to the same pixels as ``Slide.read_region``.
"""

from __future__ import annotations

from slidepatch.resolution import Resolution
from slidepatch.slide.slide import Slide

JPEG_TYPES = ("jpg", "jpeg")


def check_jpeg_passthrough(value: object, *, image_type: str) -> bool:
    """Validate ``jpeg_passthrough``: a bool, and True only for JPEG output."""
    if not isinstance(value, bool):
        raise TypeError(f"jpeg_passthrough must be True or False, got {value!r}")
    if value and image_type.lower().lstrip(".") not in JPEG_TYPES:
        raise ValueError(
            f"jpeg_passthrough=True needs image_type 'jpg' or 'jpeg', got {image_type!r}"
        )
    return value


def passthrough_jpeg(
    *,
    slide: Slide,
    location: tuple[int, int],
    resolution: Resolution,
    size: tuple[int, int],
) -> bytes | None:
    """The source tile's bytes as a JPEG file when the patch qualifies, else None.

    Resolution problems (a bad level, no MPP) are left to the normal read, which reports
    them with the patch; a tile that cannot be read raises ``SlideReadError``.
    """
    try:
        slide.plan(resolution, resampling_mode="tile")
    except (ValueError, TypeError):  # LevelOutOfRange, MppUnavailable...: left to the read
        return None
    return slide.raw_jpeg_tile_for(location, resolution, size)
