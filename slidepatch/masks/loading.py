"""load_mask: every ``mask_data`` input (arrays, images, files, Mask objects) as a Mask."""

from __future__ import annotations

import warnings
from os import PathLike, fspath
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.errors import MaskError, MaskFileNotFoundError
from slidepatch.masks.mask import NPZ_LAYOUT_KEY, Mask, _fits


def load_mask(
    mask_data: object, *, slide_dimensions: tuple[int, int], wsi_file: str | None = None
) -> Mask:
    """Turn ``mask_data`` (Mask, PNG/NPY/NPZ path, numpy array or PIL image) into a Mask."""
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
        "mask_data must be a mask object, a PNG/NPY/NPZ path, a numpy array or a PIL image, "
        f"got {type(mask_data).__name__}"
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
