"""Shared by the mask tests: the real slide's size, overlay colours, pixel helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from slidepatch.masks import Mask

CMU = (2220, 2967)
BLUE = (0, 0, 255)
GREEN = (0, 128, 0)  # Pillow's "green"


def blend(pixel: np.ndarray, color: tuple[int, int, int], alpha: float) -> np.ndarray:
    exact = (1 - alpha) * pixel.astype(np.float64) + alpha * np.array(color, dtype=np.float64)
    return np.floor(exact + 0.5).astype(np.uint8)


def box_sums(mask: Mask, radius: int) -> np.ndarray:
    """Mask pixels in the (2r+1)^2 box around each pixel at least r from the edge."""
    t = mask.integral()
    k = 2 * radius + 1
    return np.asarray(t[k:, k:] - t[:-k, k:] - t[k:, :-k] + t[:-k, :-k])


def boundary(arr: np.ndarray) -> np.ndarray:
    p = np.pad(arr, 1)
    return arr & ~(p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:])


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGB"
        return np.asarray(image)
