"""Pillow backend: plain images (PNG, JPEG, small TIFF...) as one-level slides without MPP."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from slidepatch.errors import SlideReadError, UnsupportedSlideError


class PillowBackend:
    """Decodes the whole image once at open; reads are array slices (thread-safe)."""

    name = "pillow"

    def __init__(self, path: str) -> None:
        self._path = path
        try:
            with Image.open(path) as image:
                image.load()
                fmt = image.format or "unknown"
                mode = image.mode
                has_alpha = mode in ("RGBA", "LA", "PA") or "transparency" in image.info
                converted = image.convert("RGBA" if has_alpha else "RGB")
        except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
            raise UnsupportedSlideError(path, f"Pillow cannot open it: {exc}") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise UnsupportedSlideError(path, f"Pillow cannot decode it: {exc}") from exc
        pixels = np.asarray(converted)
        self._rgb: npt.NDArray[np.uint8] = np.ascontiguousarray(pixels[..., :3])
        self._transparent: npt.NDArray[np.bool_] | None = pixels[..., 3] == 0 if has_alpha else None
        height, width = self._rgb.shape[:2]
        self._dims = ((int(width), int(height)),)
        self._properties = {"pillow.format": fmt, "pillow.mode": mode}

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        return self._dims

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return (1.0,)

    @property
    def properties(self) -> Mapping[str, str]:
        return self._properties

    @property
    def vendor(self) -> str | None:
        return None

    @property
    def mpp(self) -> tuple[float, float] | None:
        return None

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
        if level != 0 or x < 0 or y < 0 or x + w > self._dims[0][0] or y + h > self._dims[0][1]:
            raise SlideReadError(
                self._path, f"level {level} window at ({x}, {y}) size {w}x{h} is outside the image"
            )
        out[...] = self._rgb[y : y + h, x : x + w]
        if self._transparent is not None:
            transparent = self._transparent[y : y + h, x : x + w]
            if transparent.any():
                out[transparent] = fill

    def close(self) -> None:
        """Nothing to release: the pixels live in memory."""
