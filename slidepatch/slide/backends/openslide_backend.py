"""OpenSlide backend: every format OpenSlide 4 reads (SVS, NDPI, MIRAX, DICOM, generic TIFF...)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import openslide

from slidepatch.errors import SlideReadError, UnsupportedSlideError
from slidepatch.slide.backends.base import mpp_from_properties


class OpenSlideBackend:
    """Reads through ``openslide.OpenSlide`` (thread-safe in OpenSlide itself)."""

    name = "openslide"

    def __init__(self, path: str) -> None:
        self._path = path
        try:
            self._slide = openslide.OpenSlide(path)
        except openslide.OpenSlideUnsupportedFormatError as exc:
            raise UnsupportedSlideError(path, "not a slide OpenSlide can read") from exc
        except openslide.OpenSlideError as exc:
            raise UnsupportedSlideError(path, f"OpenSlide cannot open it: {exc}") from exc
        if self._slide.properties.get(openslide.PROPERTY_NAME_VENDOR) == "generic-tiff":
            from slidepatch.slide.backends.tiff_series import openslide_misreads

            reason = openslide_misreads(path)
            if reason is not None:
                self._slide.close()
                raise UnsupportedSlideError(path, reason)
        self._dims = tuple((int(w), int(h)) for w, h in self._slide.level_dimensions)
        self._downsamples = tuple(float(d) for d in self._slide.level_downsamples)

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        return self._dims

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self._downsamples

    @property
    def properties(self) -> Mapping[str, str]:
        return dict(self._slide.properties)

    @property
    def vendor(self) -> str | None:
        return self._slide.properties.get(openslide.PROPERTY_NAME_VENDOR)

    @property
    def mpp(self) -> tuple[float, float] | None:
        return mpp_from_properties(
            self._slide.properties,
            x_key=openslide.PROPERTY_NAME_MPP_X,
            y_key=openslide.PROPERTY_NAME_MPP_Y,
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
        ds = self._downsamples[level]
        ax, x0 = _aligned_anchor(x, ds)
        ay, y0 = _aligned_anchor(y, ds)
        try:
            image = self._slide.read_region((x0, y0), level, (w + x - ax, h + y - ay))
        except openslide.OpenSlideError as exc:
            raise SlideReadError(
                self._path, f"cannot read level {level} window at ({x}, {y}) size {w}x{h}: {exc}"
            ) from exc
        rgba = np.asarray(image)[y - ay :, x - ax :]
        out[...] = rgba[..., :3]
        transparent = rgba[..., 3] == 0
        if transparent.any():
            out[transparent] = fill

    def close(self) -> None:
        self._slide.close()


ALIGNMENT_TOLERANCE = 1e-3
"""Largest fraction of a level pixel at which OpenSlide still returns unblended pixels."""
MAX_ANCHOR_DISTANCE = 4096


def _aligned_anchor(x: int, downsample: float) -> tuple[int, int]:
    """A level coordinate ``a <= x`` and the level-0 coordinate OpenSlide maps exactly to it.

    OpenSlide divides the level-0 coordinate by the level's downsample and, when that
    lands between two level pixels, blends them (bilinear). With an integer downsample
    ``x * downsample`` lands exactly. Otherwise the nearest ``a`` at or before ``x`` whose
    level-0 coordinate lands within ``ALIGNMENT_TOLERANCE`` of a pixel is used, and the caller
    reads from ``a`` and crops; ``a = 0`` always qualifies. Beyond ``MAX_ANCHOR_DISTANCE``
    pixels without such an ``a`` the nearest level-0 coordinate is used (slight blending).
    """
    if downsample == round(downsample):
        return x, x * round(downsample)
    candidates = np.arange(x, max(-1, x - MAX_ANCHOR_DISTANCE), -1, dtype=np.int64)
    level0 = np.rint(candidates * downsample)
    aligned = np.flatnonzero(np.abs(level0 / downsample - candidates) < ALIGNMENT_TOLERANCE)
    if aligned.size == 0:
        return x, round(x * downsample)
    i = int(aligned[0])
    return int(candidates[i]), int(level0[i])
