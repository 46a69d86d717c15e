"""Image encoders for patches written to disk: PNG (fast lossless), JPEG (quality), TIFF.

PNG is the default output of most pipelines and zlib-based PNG writers are slow (Pillow's
default manages ~170 patches/s per core on 256 px histology). The default PNG encoder is
therefore ``fpng`` when it is installed (~6,000 patches/s, valid PNG, lossless) and
otherwise imagecodecs' libpng with zlib level 1, RLE strategy and the SUB filter (~600
patches/s, releases the GIL). An explicit ``png_compression`` level (0-9) selects zlib
with that level and libpng's adaptive filters, for smaller files.
JPEG goes through imagecodecs' libjpeg-turbo (RGB, 4:2:0 like Pillow's default), TIFF is
written uncompressed (what the reference produced) by Pillow.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RGBArray = npt.NDArray[np.uint8]

IMAGE_TYPES = ("png", "jpg", "jpeg", "tif", "tiff")
DEFAULT_JPEG_QUALITY = 75


def check_image_type(image_type: object) -> str:
    """Validate ``image_type`` (an extension, case-insensitive); return it in lower case."""
    if not isinstance(image_type, str) or image_type.lower().lstrip(".") not in IMAGE_TYPES:
        raise ValueError(f"image_type must be one of {', '.join(IMAGE_TYPES)}, got {image_type!r}")
    return image_type.lower().lstrip(".")


def check_jpeg_quality(value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not (1 <= int(value) <= 100)
    ):
        raise ValueError(f"jpeg_quality must be an int in 1..100, got {value!r}")
    return int(value)


def check_png_compression(value: object) -> int | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not (0 <= int(value) <= 9)
    ):
        raise ValueError(f"png_compression must be None (fastest) or an int in 0..9, got {value!r}")
    return int(value)


def _fpng() -> Callable[[RGBArray], bytes] | None:
    try:
        import fpng
    except Exception:  # not installed, or its import failed: fall back to zlib
        return None
    encode: Callable[[RGBArray], bytes] = fpng.from_ndarray
    return encode


def png_fast_encoder_name() -> str:
    """Which encoder ``png_compression=None`` uses in this environment."""
    return "fpng" if _fpng() is not None else "imagecodecs-zlib1-rle-sub"


def encode_png(image: RGBArray, *, compression: int | None = None) -> bytes:
    """Lossless PNG; ``compression=None`` is the fastest available encoder."""
    import imagecodecs

    image = np.ascontiguousarray(image)
    if compression is None:
        fast = _fpng()
        return fast(image) if fast is not None else encode_png_zlib_fast(image)
    return bytes(imagecodecs.png_encode(image, level=compression))


def encode_png_zlib_fast(image: RGBArray) -> bytes:
    """The fallback fast PNG: zlib level 1, RLE strategy, SUB filter (releases the GIL)."""
    import imagecodecs

    return bytes(
        imagecodecs.png_encode(np.ascontiguousarray(image), level=1, strategy=3, filter=16)
    )


def encode_jpeg(image: RGBArray, *, quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    import imagecodecs

    return bytes(
        imagecodecs.jpeg8_encode(np.ascontiguousarray(image), level=quality, subsampling="420")
    )


def encode_tiff(image: RGBArray) -> bytes:
    """Uncompressed RGB TIFF, as the reference wrote."""
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(image)).save(buf, format="TIFF")
    return buf.getvalue()


@dataclass(frozen=True)
class PatchEncoder:
    """Encodes (h, w, 3) uint8 RGB arrays into the bytes of one image file.

    ``extension`` is the validated ``image_type`` used in file names.
    """

    extension: str
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    png_compression: int | None = None

    @classmethod
    def create(
        cls,
        *,
        image_type: object,
        jpeg_quality: object = DEFAULT_JPEG_QUALITY,
        png_compression: object = None,
    ) -> PatchEncoder:
        return cls(
            extension=check_image_type(image_type),
            jpeg_quality=check_jpeg_quality(jpeg_quality),
            png_compression=check_png_compression(png_compression),
        )

    def encode(self, image: RGBArray) -> bytes:
        if self.extension == "png":
            return encode_png(image, compression=self.png_compression)
        if self.extension in ("jpg", "jpeg"):
            return encode_jpeg(image, quality=self.jpeg_quality)
        return encode_tiff(image)
