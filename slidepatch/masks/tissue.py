"""WSITissueMask: tissue found on a slide level (or a bounded downsample of it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from os import PathLike, fspath
from typing import TYPE_CHECKING, Literal

import numpy as np

from slidepatch.errors import MaskError
from slidepatch.masks.colour import lab_a_star, otsu_threshold, saturation
from slidepatch.masks.mask import Mask
from slidepatch.masks.morphology import close_mask, fill_holes, remove_small_objects

if TYPE_CHECKING:
    from slidepatch.options import BackendName, ReadOptions

TissueMode = Literal["saturation_otsu", "hsv", "otsu", "lab"]

# Size of the reference's "level factor": 256 x 256 level-0 pixels.
REFERENCE_AREA_LEVEL0 = 256 * 256


def resolve_level_or_minsize(
    level_or_minsize: int, level_dimensions: Sequence[tuple[int, int]], *, path: str | None
) -> int:
    """An int <= 99 is a level; larger is a minimum size (smallest level at least that big)."""
    if isinstance(level_or_minsize, bool) or not isinstance(level_or_minsize, (int, np.integer)):
        raise MaskError(path, f"level_or_minsize must be an int, got {level_or_minsize!r}")
    value = int(level_or_minsize)
    if value < 0:
        raise MaskError(path, f"level_or_minsize must be >= 0, got {value}")
    if value <= 99:
        if value >= len(level_dimensions):
            raise MaskError(
                path,
                f"level {value} out of range: the slide has levels 0..{len(level_dimensions) - 1}",
            )
        return value
    chosen = 0
    for level, (w, h) in enumerate(level_dimensions):
        if w >= value and h >= value:
            chosen = level
    return chosen


#: Glass is nearly unsaturated (< 0.05) while even pale eosin is above ~0.15. When tissue
#: fills most of the image, Otsu splits pale pink from purple instead of glass from
#: tissue; the cap keeps pale tissue in the mask.
SATURATION_OTSU_CAP = 0.15


class WSITissueMask(Mask):
    """Tissue mask of a slide computed from one low-resolution level.

    Modes: ``"saturation_otsu"`` (default; tissue = saturation above its Otsu threshold,
    capped at :data:`SATURATION_OTSU_CAP` and never below ``color_threshold``), ``"hsv"``
    (the reference's rule: saturation above ``(1 + color_threshold) * mean``) and
    ``"otsu"`` (grey level at or below Otsu) and ``"lab"`` (the reference's rule on CIELAB:
    a* above ``(1 + color_threshold) * mean``; stain is red/purple, glass neutral).
    Clean-up sizes are fractions of a 256x256 level-0 area, scaled by the real downsample.
    """

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        level_or_minsize: int,
        mode: TissueMode = "saturation_otsu",
        color_threshold: float = 0.1,
        remove_small_holes_ratio: float = 0.1,
        remove_small_objects_ratio: float = 0.1,
        remove_all_holes: bool = False,
        close_fill_kernel_size: int = 0,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
    ) -> None:
        from slidepatch.options import read_options_of
        from slidepatch.slide import Slide

        path = fspath(wsi_file)
        opts = read_options_of(read_options, backend=backend, mpp=slide_mpp, path=path)
        with Slide.open(path, read_options=opts) as slide:
            level = resolve_level_or_minsize(level_or_minsize, slide.level_dimensions, path=path)
            # a huge level (single-level slides) is streamed into a bounded downsample
            rgb, reduced_by = slide.read_level_bounded(level)
            dims = slide.dimensions
        if mode == "saturation_otsu":
            sat = saturation(rgb)
            cut = min(otsu_threshold(sat), SATURATION_OTSU_CAP)
            tissue = sat > max(cut, float(color_threshold))
        elif mode == "hsv":
            sat = saturation(rgb)
            tissue = sat > (1.0 + float(color_threshold)) * float(sat.mean())
        elif mode == "otsu":
            grey = rgb.mean(axis=2)
            tissue = grey <= otsu_threshold(grey)
        elif mode == "lab":
            a_star = lab_a_star(rgb)
            cut = (1.0 + float(color_threshold)) * float(a_star.mean(dtype=np.float64))
            tissue = a_star > cut
        else:
            raise MaskError(
                path,
                f"mode must be 'saturation_otsu', 'hsv', 'otsu' or 'lab', got {mode!r}",
            )
        ds = (dims[0] / rgb.shape[1]) * (dims[1] / rgb.shape[0])
        area = REFERENCE_AREA_LEVEL0 / ds
        if remove_all_holes:
            tissue = fill_holes(tissue)
        if remove_small_holes_ratio:
            tissue = fill_holes(tissue, max_size=math.ceil(remove_small_holes_ratio * area))
        if close_fill_kernel_size and close_fill_kernel_size > 0:
            tissue = close_mask(tissue, kernel_size=int(close_fill_kernel_size))
        if remove_small_objects_ratio:
            tissue = remove_small_objects(
                tissue, min_size=math.ceil(remove_small_objects_ratio * area)
            )
        super().__init__(
            array=tissue,
            slide_dimensions=dims,
            level=level if reduced_by == 1 else None,
            wsi_file=path,
            source=f"tissue mask level {level}"
            + ("" if reduced_by == 1 else f" reduced {reduced_by}x"),
        )
        self._read_options = opts
