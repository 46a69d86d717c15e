"""Reads at an MPP that matches no native level ("tile" and "wsi" resampling modes).

Both modes use the same geometry: output pixel ``i`` of a region at level-0 ``x`` covers the
level-0 span ``[x + i * z, x + (i + 1) * z)`` where ``z`` is level-0 pixels per output pixel.
The pixels come from the nearest finer native level, resized with Pillow's antialiased
Lanczos filter whose source box is given in fractional level coordinates, so the output
grid is aligned to the level-0 location exactly (no rounding of the source window).

* "tile" resamples each region on its own.
* "wsi" resamples the whole slide once, strip by strip (never decoding the full-resolution
  slide into memory at once), keeps the copy on the Slide and crops regions from it; a
  region starts at the copy pixel nearest to ``x / z``. So both modes give the same pixels
  when ``x`` and ``y`` are multiples of ``z``, and otherwise differ by a shift of at most half
  an output pixel.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image

if TYPE_CHECKING:
    from slidepatch.slide.slide import ReadPlan, Slide

LANCZOS_SUPPORT = 3
"""Lanczos-3 reaches 3 output pixels (3 * scale source pixels) each side."""
STRIP_BYTES = 64 * 2**20
"""Budget for one source strip while building a resampled copy of a whole slide."""


def _margin(scale: float) -> int:
    return math.ceil(LANCZOS_SUPPORT * max(scale, 1.0)) + 1


def resize_window(
    slide: Slide,
    *,
    level: int,
    box: tuple[float, float, float, float],
    size: tuple[int, int],
    streamed: bool = False,
) -> npt.NDArray[np.uint8]:
    """Resize the fractional level box ``(x0, y0, x1, y1)`` of ``level`` to ``size`` (w, h).

    Reads the box plus the filter's reach (padded with the fill colour beyond the level).
    """
    x0, y0, x1, y1 = box
    w, h = size
    margin = _margin(max((x1 - x0) / w, (y1 - y0) / h))
    sx0, sy0 = math.floor(x0) - margin, math.floor(y0) - margin
    sx1, sy1 = math.ceil(x1) + margin, math.ceil(y1) + margin
    src = np.empty((sy1 - sy0, sx1 - sx0, 3), dtype=np.uint8)
    slide.read_level_window(level=level, x=sx0, y=sy0, out=src, streamed=streamed)
    resized = Image.fromarray(src).resize(
        (w, h), Image.Resampling.LANCZOS, box=(x0 - sx0, y0 - sy0, x1 - sx0, y1 - sy0)
    )
    return np.asarray(resized)


def fill_outside(
    out: npt.NDArray[np.uint8],
    *,
    location: tuple[int, int],
    level0_per_pixel: float,
    dimensions: tuple[int, int],
    fill: tuple[int, int, int],
) -> None:
    """Set output pixels whose level-0 footprint lies wholly outside the slide to ``fill``."""
    h, w = out.shape[:2]
    z = level0_per_pixel
    for axis, start, extent, count in (
        (1, location[0], dimensions[0], w),
        (0, location[1], dimensions[1], h),
    ):
        starts = start + np.arange(count) * z
        outside = (starts >= extent) | (starts + z <= 0)
        if outside.any():
            if axis == 1:
                out[:, outside] = fill
            else:
                out[outside] = fill


def read_tile_mode(
    slide: Slide,
    plan: ReadPlan,
    location: tuple[int, int],
    size: tuple[int, int],
    out: npt.NDArray[np.uint8],
) -> None:
    """Resample one region from the nearest finer native level into ``out``."""
    ds = slide.level_downsamples[plan.level]
    w, h = size
    x0, y0 = location[0] / ds, location[1] / ds
    box = (x0, y0, x0 + w * plan.scale, y0 + h * plan.scale)
    out[...] = resize_window(slide, level=plan.level, box=box, size=size)
    fill_outside(
        out,
        location=location,
        level0_per_pixel=plan.level0_per_pixel,
        dimensions=slide.dimensions,
        fill=slide.fill,
    )


def resampled_size(dimensions: tuple[int, int], level0_per_pixel: float) -> tuple[int, int]:
    """Size of the whole slide resampled to ``level0_per_pixel`` (every slide pixel covered)."""
    return (
        max(1, math.ceil(dimensions[0] / level0_per_pixel - 1e-9)),
        max(1, math.ceil(dimensions[1] / level0_per_pixel - 1e-9)),
    )


def resample_whole_slide(
    slide: Slide,
    *,
    level: int,
    level0_per_pixel: float,
    size: tuple[int, int],
    strip_bytes: int = STRIP_BYTES,
) -> npt.NDArray[np.uint8]:
    """The whole slide at ``level0_per_pixel``, built from ``level`` one strip at a time.

    Memory: the result plus one source strip of about ``strip_bytes``.
    """
    ds = slide.level_downsamples[level]
    scale = level0_per_pixel / ds
    out_w, out_h = size
    level_w = slide.level_dimensions[level][0]
    source_row_bytes = (level_w + 2 * _margin(scale)) * 3
    rows_per_strip = max(1, int(strip_bytes / (source_row_bytes * max(scale, 1.0))))
    result = np.empty((out_h, out_w, 3), dtype=np.uint8)
    for r0 in range(0, out_h, rows_per_strip):
        r1 = min(out_h, r0 + rows_per_strip)
        box = (0.0, r0 * scale, out_w * scale, r1 * scale)
        result[r0:r1] = resize_window(
            slide, level=level, box=box, size=(out_w, r1 - r0), streamed=True
        )
    return result


def read_from_copy(
    copy: npt.NDArray[np.uint8],
    *,
    location: tuple[int, int],
    level0_per_pixel: float,
    out: npt.NDArray[np.uint8],
    fill: tuple[int, int, int],
) -> bool:
    """Crop a region of a resampled copy into ``out``; False when it lies wholly outside."""
    h, w = out.shape[:2]
    ch, cw = copy.shape[:2]
    cx = math.floor(location[0] / level0_per_pixel + 0.5)
    cy = math.floor(location[1] / level0_per_pixel + 0.5)
    x1, y1 = max(cx, 0), max(cy, 0)
    x2, y2 = min(cx + w, cw), min(cy + h, ch)
    if x2 <= x1 or y2 <= y1:
        return False
    if (x1, y1, x2, y2) != (cx, cy, cx + w, cy + h):
        out[...] = fill
    out[y1 - cy : y2 - cy, x1 - cx : x2 - cx] = copy[y1:y2, x1:x2]
    return True
