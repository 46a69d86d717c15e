"""load_mask: every ``mask_data`` input (arrays, images, files, Mask objects) as a Mask."""

from __future__ import annotations

import math
import warnings
from os import PathLike, fspath
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from slidepatch.errors import MaskError, MaskFileNotFoundError
from slidepatch.masks.mask import NPZ_LAYOUT_KEY, Mask, _fits
from slidepatch.masks.polygons import rasterize_polygons

if TYPE_CHECKING:
    from PIL import Image as PILImage

MaskSource: TypeAlias = "Mask | str | PathLike[str] | npt.NDArray[np.generic] | PILImage.Image"
"""What a ``mask_data`` keyword takes: a Mask, a PNG/NPY/NPZ/GeoJSON path, a 2-D array
(``(height, width)``) or a PIL image."""


def load_mask(
    mask_data: object, *, slide_dimensions: tuple[int, int], wsi_file: str | None = None
) -> Mask:
    """Turn ``mask_data`` (Mask, PNG/NPY/NPZ/GeoJSON path, numpy array or PIL image) into a
    Mask (a GeoJSON file: level-0 polygons, see :func:`geojson_mask`)."""
    from PIL import Image

    if isinstance(mask_data, Mask):
        if tuple(mask_data.slide_dimensions) != tuple(slide_dimensions):
            raise MaskError(
                wsi_file,
                f"mask object was made for a slide of {mask_data.slide_dimensions}, this slide "
                f"is {tuple(slide_dimensions)}",
            )
        return mask_data
    if isinstance(mask_data, (str, PathLike)):
        mpath = Path(fspath(mask_data))
        if not mpath.is_file():
            raise MaskFileNotFoundError(wsi_file, f"mask file not found: {mpath}")
        suffix = mpath.suffix.lower()
        if suffix in GEOJSON_SUFFIXES:
            return geojson_mask(mpath, slide_dimensions=slide_dimensions, wsi_file=wsi_file)
        try:
            if suffix == ".npy":
                array = _reference_layout(
                    np.load(mpath, allow_pickle=False), slide_dimensions, mpath, marked=False
                )
            elif suffix == ".npz":
                with np.load(mpath, allow_pickle=False) as npz:
                    keys = [k for k in npz if k != NPZ_LAYOUT_KEY]
                    if "data" in keys:
                        array = npz["data"]
                    elif len(keys) == 1:
                        array = npz[keys[0]]
                    else:
                        raise MaskError(
                            wsi_file, f"mask file {mpath}: NPZ needs a 'data' array, has {keys}"
                        )
                    marked = NPZ_LAYOUT_KEY in npz
                array = _reference_layout(array, slide_dimensions, mpath, marked=marked)
            else:
                with Image.open(mpath) as image:
                    array = _image_array(image, wsi_file, str(mpath))
        except (OSError, ValueError) as exc:
            if isinstance(exc, MaskError):
                raise
            raise MaskError(wsi_file, f"cannot read mask file {mpath}: {exc}") from exc
        return Mask(
            array=array, slide_dimensions=slide_dimensions, wsi_file=wsi_file, source=str(mpath)
        )
    if isinstance(mask_data, np.ndarray):
        return Mask(
            array=mask_data,
            slide_dimensions=slide_dimensions,
            wsi_file=wsi_file,
            source=f"array {mask_data.shape}",
        )
    if isinstance(mask_data, Image.Image):
        return Mask(
            array=_image_array(mask_data, wsi_file, "PIL image"),
            slide_dimensions=slide_dimensions,
            wsi_file=wsi_file,
            source=f"PIL image {mask_data.size}",
        )
    raise TypeError(
        "mask_data must be a mask object, a PNG/NPY/NPZ/GeoJSON path, a numpy array or a "
        f"PIL image, got {type(mask_data).__name__}"
    )


GEOJSON_SUFFIXES = (".geojson", ".json")
GEOJSON_MASK_SIDE = 4096  # the longest side of the grid a GeoJSON mask file is drawn on


def geojson_mask(
    path: str | PathLike[str],
    *,
    slide_dimensions: tuple[int, int],
    wsi_file: str | None = None,
    max_side: int = GEOJSON_MASK_SIDE,
) -> Mask:
    """A mask from a GeoJSON file of level-0 polygons (QuPath, GrandQC or HistoQC export).

    Drawn with :func:`rasterize_polygons` (holes honoured, pixel centres inside) on a grid
    of the slide's aspect ratio at most ``max_side`` pixels a side (downsample about
    ``ceil(longest side / max_side)``), so a covered fraction is exact to that grid. An empty file
    (no polygons) gives an empty mask, with a warning naming the file.
    """
    from slidepatch.annotations import read_geojson

    spath = fspath(path)
    try:
        polygons = read_geojson(spath)
    except Exception as exc:
        raise MaskError(wsi_file, f"cannot read GeoJSON mask {spath}: {exc}") from exc
    w0, h0 = int(slide_dimensions[0]), int(slide_dimensions[1])
    down = max(1, math.ceil(max(w0, h0) / max_side))
    size = (max(1, math.ceil(w0 / down)), max(1, math.ceil(h0 / down)))
    if polygons:
        array = rasterize_polygons(polygons, mask_size=size, slide_dimensions=(w0, h0))
    else:
        warnings.warn(
            f"{wsi_file}: GeoJSON mask {spath} has no polygons: it marks nothing",
            stacklevel=2,
        )
        array = np.zeros((size[1], size[0]), dtype=bool)
    return Mask(
        array=array,
        slide_dimensions=(w0, h0),
        wsi_file=wsi_file,
        source=f"GeoJSON {spath} ({len(polygons)} polygons, downsample {down})",
    )


def _reference_layout(
    array: npt.NDArray[Any], slide_dimensions: tuple[int, int], path: Path, *, marked: bool
) -> npt.NDArray[Any]:
    """A mask array read from a file, in (height, width).

    Files the reference wrote hold (width, height). An NPZ without slidepatch's layout
    marker is the reference's when its transpose fits the slide; an NPY is transposed only
    when it fits the slide transposed and not as it is. Either transposition is announced.
    """
    if marked or array.ndim != 2:
        return array
    size = (int(array.shape[1]), int(array.shape[0]))
    fits_as_is = _fits(size, slide_dimensions)
    fits_transposed = _fits((size[1], size[0]), slide_dimensions)
    npz = path.suffix.lower() == ".npz"
    if fits_transposed and (npz or not fits_as_is):
        warnings.warn(
            f"{path}: read as the reference's (width, height) layout and transposed "
            f"to (height, width) {array.shape[::-1]}",
            stacklevel=4,
        )
        return np.ascontiguousarray(array.T)
    return array


def _image_array(image: Any, wsi_file: str | None, source: str) -> npt.NDArray[Any]:
    if image.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "LA", "PA", "RGBX"):
        raise MaskError(
            wsi_file, f"mask {source} has mode {image.mode}: a mask must be one channel"
        )
    return np.asarray(image)
