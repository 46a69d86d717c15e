"""``MaskData`` and ``PolygonData``: the reference's input wrappers, under its names.

Code written for the reference builds these to inspect or convert its inputs; the location
and mask classes accept the same inputs directly, so slidepatch itself does not use them.
"""

from __future__ import annotations

from os import PathLike, fspath
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from slidepatch.annotations import AnnotationPolygon, PolygonSource, load_polygon_data
from slidepatch.errors import MaskError, MaskFileNotFoundError
from slidepatch.masks import NPZ_LAYOUT_KEY, Mask, MaskSource


class MaskData:
    """A mask from an image (file or PIL), a numpy array (file or object) or a Mask.

    :attr:`mask_array` is in the reference's ``(width, height)`` layout; :attr:`array` is
    the same mask as ``(height, width)``, the layout slidepatch uses. Arrays and ``.npy``
    files are taken as ``(width, height)``, as the reference takes them; ``.npz`` files
    written by slidepatch carry a marker and are read as ``(height, width)``.
    """

    def __init__(self, *, mask_data: MaskSource) -> None:
        from PIL import Image

        self._source = mask_data
        hw: npt.NDArray[Any]
        if isinstance(mask_data, Mask):
            hw = mask_data.array
        elif isinstance(mask_data, Image.Image):
            hw = np.asarray(mask_data)
        elif isinstance(mask_data, np.ndarray):
            hw = mask_data.T
        elif isinstance(mask_data, (str, PathLike)):
            path = Path(fspath(mask_data))
            if not path.is_file():
                raise MaskFileNotFoundError(None, f"mask file not found: {path}")
            suffix = path.suffix.lower()
            if suffix == ".npy":
                hw = np.load(path, allow_pickle=False).T
            elif suffix == ".npz":
                with np.load(path, allow_pickle=False) as npz:
                    data = npz["data"]
                    hw = data if NPZ_LAYOUT_KEY in npz else data.T
            else:
                with Image.open(path) as image:
                    hw = np.asarray(image)
        else:
            raise TypeError("Mask data must be image or NumPy array, either file or memory object")
        if hw.ndim != 2:
            raise MaskError(None, f"mask data {self}: expected a 2-D mask, got shape {hw.shape}")
        self._array = np.ascontiguousarray(hw != 0)

    @property
    def mask_array(self) -> npt.NDArray[np.bool_]:
        """The mask as ``(width, height)``, as the reference returns it."""
        transposed: npt.NDArray[np.bool_] = self._array.T
        return transposed

    @property
    def array(self) -> npt.NDArray[np.bool_]:
        """The mask as ``(height, width)``."""
        return self._array

    def __str__(self) -> str:
        if isinstance(self._source, (str, PathLike)):
            return fspath(self._source)
        shape = self._array.T.shape
        return f"NumPy array [shape={shape}, size={self._array.size}, type=bool]"

    __repr__ = __str__


class PolygonData:
    """Polygons from a list of AnnotationPolygon, a JSON string or a JSON file."""

    def __init__(self, *, polygon_data: PolygonSource) -> None:
        self._polygons = load_polygon_data(polygon_data)

    @property
    def polygons(self) -> list[AnnotationPolygon]:
        return list(self._polygons)
