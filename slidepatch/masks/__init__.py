"""Masks: tissue masks, polygon masks, and ``mask_data`` inputs, each aware of its scale.

A mask is a boolean numpy array in image orientation, shape ``(height, width)``, plus the
level-0 size of its slide. Its scale is ``slide size / mask size`` on each axis, so a mask
made from any thumbnail works, not only one the size of a pyramid level; mask pixel
``(row, col)`` covers level-0 ``[col*sx, (col+1)*sx) x [row*sy, (row+1)*sy)``.

By concern: ``mask`` (the Mask value, saving, overlays), ``tissue`` (WSITissueMask),
``polygons`` (WSIPolygonMask, rasterisers), ``loading`` (load_mask), with the numpy-only
clean-up in ``morphology`` and the colour measures in ``colour``.
"""

from slidepatch.masks.colour import lab_a_star, otsu_threshold, saturation, srgb_to_lab
from slidepatch.masks.loading import MaskSource, load_mask
from slidepatch.masks.mask import ASPECT_TOLERANCE_PX, NPZ_LAYOUT, NPZ_LAYOUT_KEY, Mask
from slidepatch.masks.morphology import BoolArray, close_mask, fill_holes, remove_small_objects
from slidepatch.masks.polygons import (
    WSIPolygonMask,
    rasterize_mask_level_polygons,
    rasterize_polygons,
)
from slidepatch.masks.tissue import (
    REFERENCE_AREA_LEVEL0,
    SATURATION_OTSU_CAP,
    TissueMode,
    WSITissueMask,
    resolve_level_or_minsize,
)

__all__ = [
    "ASPECT_TOLERANCE_PX",
    "NPZ_LAYOUT",
    "NPZ_LAYOUT_KEY",
    "REFERENCE_AREA_LEVEL0",
    "SATURATION_OTSU_CAP",
    "BoolArray",
    "Mask",
    "MaskSource",
    "TissueMode",
    "WSIPolygonMask",
    "WSITissueMask",
    "close_mask",
    "fill_holes",
    "lab_a_star",
    "load_mask",
    "otsu_threshold",
    "rasterize_mask_level_polygons",
    "rasterize_polygons",
    "remove_small_objects",
    "resolve_level_or_minsize",
    "saturation",
    "srgb_to_lab",
]
