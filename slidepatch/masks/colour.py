"""Colour measures for tissue detection: Otsu thresholds, saturation, CIELAB a*."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


def otsu_threshold(values: npt.NDArray[np.generic], *, bins: int = 256) -> float:
    """Otsu's threshold of ``values`` (any range)."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = float(flat.min()), float(flat.max())
    if hi <= lo:
        return lo
    hist, edges = np.histogram(flat, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist).astype(np.float64)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mean0 = np.divide(m0, w0, out=np.zeros_like(m0), where=w0 > 0)
    mean1 = np.divide(m0[-1] - m0, w1, out=np.zeros_like(m0), where=w1 > 0)
    between = w0 * w1 * (mean0 - mean1) ** 2
    return float(centres[int(np.argmax(between))])


def saturation(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """HSV saturation in [0, 1] of an (h, w, 3) uint8 image."""
    mx = rgb.max(axis=2).astype(np.float32)
    mn = rgb.min(axis=2).astype(np.float32)
    return np.asarray(np.divide(mx - mn, mx, out=np.zeros_like(mx), where=mx > 0))


# --------------------------------------------------------------------------- CIELAB
#: Linear sRGB (IEC 61966-2-1) to CIE XYZ, D65 illuminant.
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
#: CIE XYZ of the D65 reference white (Y = 1).
D65_WHITE = np.array([0.95047, 1.0, 1.08883])
#: Pixels converted at a time, so a large level needs ~12 bytes/px of scratch per band only.
LAB_BAND_PIXELS = 1 << 20


def _srgb_linear_table() -> npt.NDArray[np.float32]:
    """Gamma expansion of every 8-bit sRGB value: the 256-entry lookup table."""
    c = np.arange(256, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear.astype(np.float32)


_SRGB_LINEAR = _srgb_linear_table()
#: XYZ rows already divided by the white point: ``lin @ _XYZ_N.T`` gives X/Xn, Y/Yn, Z/Zn.
_XYZ_N = (SRGB_TO_XYZ / D65_WHITE[:, None]).astype(np.float32)


def _lab_f(t: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The CIE f(t): cube root above (6/29)^3, the linear segment below."""
    delta = 6.0 / 29.0
    linear = t / np.float32(3 * delta * delta) + np.float32(4.0 / 29.0)
    return np.asarray(np.where(t > np.float32(delta**3), np.cbrt(t), linear), dtype=np.float32)


def _lab_bands(
    rgb: npt.NDArray[np.uint8], rows: Sequence[int], out: npt.NDArray[np.float32]
) -> None:
    """Fill ``out`` (h, w, len(rows)) with f(X/Xn), f(Y/Yn), f(Z/Zn) for the XYZ ``rows``."""
    h, w = rgb.shape[:2]
    step = max(1, LAB_BAND_PIXELS // max(w, 1))
    matrix = _XYZ_N[list(rows)].T
    for r0 in range(0, h, step):
        linear = _SRGB_LINEAR[rgb[r0 : r0 + step]]
        out[r0 : r0 + step] = _lab_f(linear @ matrix)


def _check_rgb(rgb: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got {arr.dtype} {arr.shape}")
    return arr


def srgb_to_lab(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """CIELAB (D65) of an (h, w, 3) uint8 sRGB image: (h, w, 3) float32 ``L*, a*, b*``."""
    arr = _check_rgb(rgb)
    f = np.empty(arr.shape, dtype=np.float32)
    _lab_bands(arr, (0, 1, 2), f)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def lab_a_star(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """CIELAB a* (green-red axis) of an (h, w, 3) uint8 sRGB image, (h, w) float32.

    Computed band by band without building the full Lab image.
    """
    arr = _check_rgb(rgb)
    h, w = arr.shape[:2]
    a = np.empty((h, w), dtype=np.float32)
    step = max(1, LAB_BAND_PIXELS // max(w, 1))
    f = np.empty((min(step, h), w, 2), dtype=np.float32)
    for r0 in range(0, h, step):
        band = f[: min(step, h - r0)]
        _lab_bands(arr[r0 : r0 + step], (0, 1), band)
        np.subtract(band[..., 0], band[..., 1], out=a[r0 : r0 + step])
    a *= np.float32(500.0)
    return a


# --------------------------------------------------------------------------- Mask
#: Key and value that mark an NPZ mask written by slidepatch as (height, width).
