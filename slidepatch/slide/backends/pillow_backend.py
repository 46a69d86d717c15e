"""Pillow backend: plain images (PNG, JPEG, small TIFF...) as one-level slides without MPP.

8-bit JPEG and PNG are decoded by imagecodecs (the same libjpeg-turbo and libpng, the same
pixels), which has no decompression-bomb guard: a user who opens a 300 Mpx JPEG means it.
Other formats go through Pillow with its bomb warning silenced (its hard limit stays).
"""

from __future__ import annotations

import warnings
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
        direct = _decode_plain(path)
        if direct is not None:
            pixels, fmt, mode = direct
            has_alpha = pixels.shape[2] == 4
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
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


_PNG = b"\x89PNG\r\n\x1a\n"


def _decode_plain(path: str) -> tuple[npt.NDArray[np.uint8], str, str] | None:
    """(h, w, 3 or 4) pixels of an 8-bit JPEG or PNG via imagecodecs, or None for Pillow.

    Only layouts whose pixels are Pillow's own are taken: JPEG with 1 or 3 components, PNG
    of 8-bit grey, grey+alpha, RGB or RGBA without a tRNS transparency chunk.
    """
    import imagecodecs

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        if data.startswith(b"\xff\xd8"):
            pixels, fmt = np.asarray(imagecodecs.jpeg8_decode(data)), "JPEG"
        elif data.startswith(_PNG) and data[24] == 8 and data[25] in (0, 2, 4, 6):
            if b"tRNS" in data[: data.find(b"IDAT")]:
                return None
            pixels, fmt = np.asarray(imagecodecs.png_decode(data)), "PNG"
        else:
            return None
    except Exception:  # let Pillow try, and report, what imagecodecs cannot decode
        return None
    if pixels.dtype != np.uint8:
        return None
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    channels = pixels.shape[2]
    modes = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
    if channels not in modes or (fmt == "JPEG" and channels not in (1, 3)):
        return None
    mode = modes[channels]
    if channels == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    elif channels == 2:
        pixels = np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)
    return pixels, fmt, mode
