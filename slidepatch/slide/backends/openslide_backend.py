"""OpenSlide backend: every format OpenSlide 4 reads (SVS, NDPI, MIRAX, DICOM, generic TIFF...)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import openslide

from slidepatch.errors import SlideReadError, UnsupportedSlideError


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
        props = self._slide.properties
        try:
            mx = float(props[openslide.PROPERTY_NAME_MPP_X])
            my = float(props[openslide.PROPERTY_NAME_MPP_Y])
        except (KeyError, ValueError):
            return None
        return (mx, my) if mx > 0 and my > 0 else None

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
        x0 = int(round(x * ds))
        y0 = int(round(y * ds))
        try:
            rgba = np.asarray(self._slide.read_region((x0, y0), level, (w, h)))
        except openslide.OpenSlideError as exc:
            raise SlideReadError(
                self._path, f"cannot read level {level} window at ({x}, {y}) size {w}x{h}: {exc}"
            ) from exc
        out[...] = rgba[..., :3]
        transparent = rgba[..., 3] == 0
        if transparent.any():
            out[transparent] = fill

    def close(self) -> None:
        self._slide.close()
