"""tiffslide backend: TIFF-family slides (SVS, generic tiled TIFF, NDPI...) through tifffile."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import tiffslide

from slidepatch.errors import SlideReadError, UnsupportedSlideError
from slidepatch.slide.backends.base import mpp_from_properties


class _LevelCoordinateTiffSlide(tiffslide.TiffSlide):
    """A TiffSlide whose ``read_region`` location is in coordinates of the level read.

    tiffslide documents ``_read_region_loc_transform`` as the hook for changing how the
    location is interpreted; slidepatch computes level coordinates itself.
    """

    def _read_region_loc_transform(self, location: tuple[int, int], level: int) -> tuple[int, int]:
        return int(location[0]), int(location[1])


def _undecodable_compressions(slide: tiffslide.TiffSlide) -> list[int]:
    """TIFF compression codes of the slide's levels that tifffile has no decoder for."""
    import tifffile

    unknown: list[int] = []
    for level in slide.ts_tifffile.series[0].levels:
        compression = int(level.keyframe.compression)
        if compression not in tifffile.TIFF.DECOMPRESSORS and compression not in unknown:
            unknown.append(compression)
    return unknown


def _ycbcr_levels(slide: tiffslide.TiffSlide) -> tuple[bool, ...]:
    """Per level: JPEG 2000 tiles holding Y, Cb, Cr, which tifffile returns unconverted."""
    from slidepatch.slide.backends.tiled_tiff_structure import j2k_holds_ycbcr

    return tuple(
        j2k_holds_ycbcr(int(level.keyframe.compression), int(level.keyframe.photometric))
        for level in slide.ts_tifffile.series[0].levels
    )


class TiffSlideBackend:
    """Reads through ``tiffslide.TiffSlide`` (tifffile + imagecodecs, no OpenSlide)."""

    name = "tiffslide"

    def __init__(self, path: str) -> None:
        self._path = path
        try:
            self._slide = _LevelCoordinateTiffSlide(path)
            dims = self._slide.level_dimensions
            downsamples = self._slide.level_downsamples
            props = dict(self._slide.properties)
        except Exception as exc:  # tifffile raises many types for non-TIFF input
            raise UnsupportedSlideError(path, f"tiffslide cannot open it: {exc}") from exc
        if not dims:
            raise UnsupportedSlideError(path, "tiffslide found no image levels")
        unknown = _undecodable_compressions(self._slide)
        if unknown:
            self._slide.close()
            raise UnsupportedSlideError(
                path, f"tiffslide cannot decode its pixels (TIFF compression {unknown})"
            )
        self._ycbcr = _ycbcr_levels(self._slide)
        self._dims = tuple((int(w), int(h)) for w, h in dims)
        self._downsamples = tuple(float(d) for d in downsamples)
        self._properties = {k: str(v) for k, v in props.items() if v is not None}

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        return self._dims

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self._downsamples

    @property
    def properties(self) -> Mapping[str, str]:
        return self._properties

    @property
    def vendor(self) -> str | None:
        return self._properties.get("tiffslide.vendor")

    @property
    def mpp(self) -> tuple[float, float] | None:
        return mpp_from_properties(
            self._properties, x_key="tiffslide.mpp-x", y_key="tiffslide.mpp-y"
        )

    def read_window(
        self,
        *,
        level: int,
        x: int,
        y: int,
        out: npt.NDArray[np.uint8],
        fill: tuple[int, int, int],
    ) -> None:
        h, w = out.shape[:2]
        try:
            region = self._slide.read_region((x, y), level, (w, h), as_array=True, padding=False)
        except Exception as exc:  # decoder errors come from imagecodecs/tifffile
            raise SlideReadError(
                self._path, f"cannot read level {level} window at ({x}, {y}) size {w}x{h}: {exc}"
            ) from exc
        arr: npt.NDArray[np.uint8] = np.asarray(region)
        if self._ycbcr[level] and arr.ndim == 3 and arr.shape[2] >= 3:
            from slidepatch.slide.backends.tiled_tiff import ycbcr_to_rgb

            arr = ycbcr_to_rgb(np.asarray(arr[..., :3], dtype=np.uint8))
        if arr.dtype != np.uint8 or arr.shape[:2] != (h, w):
            raise SlideReadError(
                self._path,
                f"level {level} window at ({x}, {y}) size {w}x{h}: unexpected pixel data "
                f"{arr.dtype} {arr.shape}",
            )
        if arr.shape[2] == 1:
            out[...] = arr
        else:
            out[...] = arr[..., :3]
            if arr.shape[2] == 4:
                transparent = arr[..., 3] == 0
                if transparent.any():
                    out[transparent] = fill

    def close(self) -> None:
        self._slide.close()
