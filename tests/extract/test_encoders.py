"""Encoders: valid files that Pillow decodes; lossless formats round-trip exactly."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidepatch import Slide
from slidepatch.extract import PatchEncoder
from slidepatch.extract.encoders import encode_png, encode_png_zlib_fast, png_fast_encoder_name


@pytest.fixture(scope="module")
def patch(cmu_small: Path) -> np.ndarray:
    with Slide.open(cmu_small) as slide:
        return slide.read_region((600, 900), 0, (256, 200))


def decode(data: bytes) -> tuple[str, np.ndarray]:
    image = Image.open(io.BytesIO(data))
    return str(image.format), np.asarray(image.convert("RGB"))


@pytest.mark.parametrize(
    ("image_type", "fmt"), [("png", "PNG"), ("tif", "TIFF"), ("tiff", "TIFF"), ("PNG", "PNG")]
)
def test_lossless_round_trip(patch: np.ndarray, image_type: str, fmt: str) -> None:
    enc = PatchEncoder.create(image_type=image_type)
    got_fmt, pixels = decode(enc.encode(patch))
    assert got_fmt == fmt
    assert np.array_equal(pixels, patch)


@pytest.mark.parametrize("level", [None, 0, 1, 6, 9])
def test_png_levels_round_trip(patch: np.ndarray, level: int | None) -> None:
    assert np.array_equal(decode(encode_png(patch, compression=level))[1], patch)


def test_png_odd_shapes_and_views(patch: np.ndarray) -> None:
    for image in (patch[:1, :1], patch[:7, :13], patch[::2, ::3], patch[:, 5:90]):
        assert np.array_equal(decode(encode_png(image))[1], image)


@pytest.mark.parametrize("image_type", ["jpg", "jpeg"])
def test_jpeg_quality(patch: np.ndarray, image_type: str) -> None:
    low = PatchEncoder.create(image_type=image_type, jpeg_quality=20).encode(patch)
    high = PatchEncoder.create(image_type=image_type, jpeg_quality=95).encode(patch)
    assert len(low) < len(high)
    fmt, pixels = decode(high)
    assert fmt == "JPEG"
    assert np.abs(pixels.astype(int) - patch.astype(int)).mean() < 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"image_type": "bmp"},
        {"image_type": None},
        {"image_type": "png", "png_compression": 10},
        {"image_type": "png", "png_compression": True},
        {"image_type": "jpg", "jpeg_quality": 0},
        {"image_type": "jpg", "jpeg_quality": 101},
    ],
)
def test_bad_options(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PatchEncoder.create(**kwargs)


def test_zlib_fallback_round_trip(patch: np.ndarray) -> None:
    assert png_fast_encoder_name() in ("fpng", "imagecodecs-zlib1-rle-sub")
    for image in (patch, patch[:3, :5], patch[::2, ::2]):
        assert np.array_equal(decode(encode_png_zlib_fast(image))[1], image)
