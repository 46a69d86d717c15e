"""Masks: tissue masks, polygon masks, and ``mask_data`` inputs, each aware of its scale.

A mask is a boolean numpy array in image orientation, shape ``(height, width)``, plus the
level-0 size of its slide. Its scale is ``slide size / mask size`` on each axis, so a mask
made from any thumbnail works, not only one the size of a pyramid level; mask pixel
``(row, col)`` covers level-0 ``[col*sx, (col+1)*sx) x [row*sy, (row+1)*sy)``.

Connected-component clean-up (small objects, small holes) is done here with numpy only
(run-length labelling with a vectorised union-find), so scipy/scikit-image are not needed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from os import PathLike, fspath
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from slidepatch.errors import MaskError, MaskFileNotFoundError

if TYPE_CHECKING:
    from slidepatch.slide.slide import BackendName

BoolArray = npt.NDArray[np.bool_]
TissueMode = Literal["saturation_otsu", "hsv", "otsu", "lab"]

# Size of the reference's "level factor": 256 x 256 level-0 pixels.
REFERENCE_AREA_LEVEL0 = 256 * 256
ASPECT_TOLERANCE_PX = 1.5


# --------------------------------------------------------------------------- components
def _runs(mask: BoolArray) -> tuple[npt.NDArray[np.int64], ...]:
    """Horizontal runs of True pixels: (rows, starts, ends) with ``end`` exclusive."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    diff = np.diff(padded, axis=1)
    rows, starts = np.nonzero(diff == 1)
    _, ends = np.nonzero(diff == -1)
    return rows.astype(np.int64), starts.astype(np.int64), ends.astype(np.int64)


def _run_components(
    rows: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], w: int
) -> npt.NDArray[np.int64]:
    """Component id (smallest run index) of every run, with 4-connectivity."""
    n = rows.shape[0]
    parent = np.arange(n, dtype=np.int64)
    if n == 0:
        return parent
    stride = w + 2
    key_start = rows * stride + starts
    key_end = rows * stride + ends
    prev = rows - 1
    lo = np.searchsorted(key_end, prev * stride + starts, side="right")
    hi = np.searchsorted(key_start, prev * stride + ends, side="left")
    counts = np.maximum(hi - lo, 0)
    b = np.repeat(np.arange(n, dtype=np.int64), counts)
    offsets = np.arange(b.shape[0], dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    a = np.repeat(lo, counts) + offsets
    while a.shape[0]:
        low = np.minimum(parent[a], parent[b])
        np.minimum.at(parent, parent[a], low)
        np.minimum.at(parent, parent[b], low)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        if np.array_equal(parent[a], parent[b]):
            break
    return parent


def _paint_runs(
    mask: BoolArray,
    rows: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    value: bool,
) -> BoolArray:
    h, w = mask.shape
    delta = np.zeros((h, w + 1), dtype=np.int32)
    np.add.at(delta, (rows, starts), 1)
    np.add.at(delta, (rows, ends), -1)
    painted = np.cumsum(delta, axis=1)[:, :w] > 0
    return (mask | painted) if value else (mask & ~painted)


def remove_small_objects(mask: BoolArray, *, min_size: float) -> BoolArray:
    """Remove 4-connected True components with fewer than ``min_size`` pixels."""
    rows, starts, ends = _runs(mask)
    comp = _run_components(rows, starts, ends, mask.shape[1])
    sizes = np.bincount(comp, weights=ends - starts, minlength=comp.shape[0])
    small = sizes[comp] < min_size
    return _paint_runs(mask, rows[small], starts[small], ends[small], False)


def fill_holes(mask: BoolArray, *, max_size: float | None = None) -> BoolArray:
    """Fill holes (background components not touching the border), all or up to ``max_size``."""
    h, w = mask.shape
    rows, starts, ends = _runs(~mask)
    comp = _run_components(rows, starts, ends, w)
    n = comp.shape[0]
    sizes = np.bincount(comp, weights=ends - starts, minlength=n)
    border = (rows == 0) | (rows == h - 1) | (starts == 0) | (ends == w)
    touches = np.bincount(comp, weights=border, minlength=n) > 0
    fill = ~touches[comp]
    if max_size is not None:
        fill &= sizes[comp] <= max_size
    return _paint_runs(mask, rows[fill], starts[fill], ends[fill], True)


def _box_count(mask: BoolArray, k: int) -> npt.NDArray[np.int64]:
    """Number of True pixels in the k x k window centred on each pixel (zero outside)."""
    h, w = mask.shape
    before = k // 2
    after = k - 1 - before
    padded = np.pad(mask.astype(np.int64), ((before + 1, after), (before + 1, after)))
    s = padded.cumsum(0).cumsum(1)
    out = s[k:, k:] - s[:-k, k:][:h] - s[k:, :-k][:, :w] + s[:h, :w]
    return np.asarray(out, dtype=np.int64)


def close_mask(mask: BoolArray, *, kernel_size: int) -> BoolArray:
    """Morphological closing with a ``kernel_size`` square (dilation, then erosion)."""
    dilated = _box_count(mask, kernel_size) > 0
    return np.asarray(_box_count(dilated, kernel_size) == kernel_size * kernel_size)


def otsu_threshold(values: npt.NDArray[Any], *, bins: int = 256) -> float:
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
NPZ_LAYOUT_KEY = "slidepatch_layout"
NPZ_LAYOUT = "height_width"


def _fits(mask_size: tuple[int, int], slide_size: tuple[int, int]) -> bool:
    w, h = mask_size
    w0, h0 = slide_size
    return (
        abs(h - h0 * w / w0) <= ASPECT_TOLERANCE_PX or abs(w - w0 * h / h0) <= ASPECT_TOLERANCE_PX
    )


class Mask:
    """A boolean mask in image orientation ``(height, width)`` for a slide of a given size."""

    def __init__(
        self,
        *,
        array: npt.ArrayLike,
        slide_dimensions: tuple[int, int],
        level: int | None = None,
        wsi_file: str | PathLike[str] | None = None,
        source: str = "array",
    ) -> None:
        arr = np.asarray(array)
        path = None if wsi_file is None else fspath(wsi_file)
        if arr.ndim != 2:
            raise MaskError(
                path, f"{source}: a mask must be 2-D (height, width), got shape {arr.shape}"
            )
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise MaskError(path, f"{source}: the mask is empty (shape {arr.shape})")
        w0, h0 = int(slide_dimensions[0]), int(slide_dimensions[1])
        mask_size = (int(arr.shape[1]), int(arr.shape[0]))
        if not _fits(mask_size, (w0, h0)):
            hint = ""
            if _fits((mask_size[1], mask_size[0]), (w0, h0)):
                hint = (
                    "; its transpose fits: arrays are (height, width) — pass mask.T "
                    "(the reference used (width, height))"
                )
            raise MaskError(
                path,
                f"{source}: mask size {mask_size[0]}x{mask_size[1]} (width x height, array "
                f"shape {arr.shape}) does not match the aspect ratio of the slide "
                f"{w0}x{h0}{hint}",
            )
        boolean = np.ascontiguousarray(arr != 0)
        boolean.setflags(write=False)
        self._array = boolean
        self._slide_dimensions = (w0, h0)
        self._level = level
        self._wsi_file = path
        self._source = source
        self._integral: npt.NDArray[np.int64] | None = None

    @property
    def array(self) -> BoolArray:
        """The mask, (height, width), read-only."""
        return self._array

    @property
    def dimensions(self) -> tuple[int, int]:
        """Mask size (width, height)."""
        return (int(self._array.shape[1]), int(self._array.shape[0]))

    @property
    def slide_dimensions(self) -> tuple[int, int]:
        return self._slide_dimensions

    @property
    def downsample(self) -> tuple[float, float]:
        """Level-0 pixels per mask pixel, (x, y)."""
        w, h = self.dimensions
        return (self._slide_dimensions[0] / w, self._slide_dimensions[1] / h)

    @property
    def level(self) -> int | None:
        """The pyramid level the mask was made at, when known."""
        return self._level

    @property
    def wsi_file(self) -> str | None:
        return self._wsi_file

    @property
    def source(self) -> str:
        """Short description of where the mask came from (for ``param_info``)."""
        return self._source

    def integral(self) -> npt.NDArray[np.int64]:
        """Summed-area table, shape (h+1, w+1): ``I[r, c]`` = True pixels above-left."""
        if self._integral is None:
            h, w = self._array.shape
            table = np.zeros((h + 1, w + 1), dtype=np.int64)
            np.cumsum(self._array, axis=0, out=table[1:, 1:])
            np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
            table.setflags(write=False)
            self._integral = table
        return self._integral

    def foreground_fraction(
        self,
        *,
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        width: float,
        height: float,
    ) -> npt.NDArray[np.float64]:
        """Fraction of each level-0 box ``(x, y, width, height)`` covered by the mask.

        Exact area weighting (the summed-area table is bilinear inside each pixel); the
        parts of a box outside the mask count as background.
        """
        sx, sy = self.downsample
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        u0, u1 = x / sx, (x + width) / sx
        v0, v1 = y / sy, (y + height) / sy
        total = (u1 - u0) * (v1 - v0)
        area = (
            self._area_to(u1, v1)
            - self._area_to(u0, v1)
            - self._area_to(u1, v0)
            + self._area_to(u0, v0)
        )
        return np.asarray(np.divide(area, total, out=np.zeros_like(area), where=total > 0))

    def _area_to(self, u: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> Any:
        table = self.integral()
        h, w = self._array.shape
        u = np.clip(u, 0.0, float(w))
        v = np.clip(v, 0.0, float(h))
        c0 = np.minimum(np.floor(u).astype(np.int64), w - 1)
        r0 = np.minimum(np.floor(v).astype(np.int64), h - 1)
        fu = u - c0
        fv = v - r0
        t00 = table[r0, c0]
        t01 = table[r0, c0 + 1]
        t10 = table[r0 + 1, c0]
        t11 = table[r0 + 1, c0 + 1]
        return (t00 * (1 - fu) + t01 * fu) * (1 - fv) + (t10 * (1 - fu) + t11 * fu) * fv

    def foreground_bbox(self) -> tuple[float, float, float, float] | None:
        """Level-0 bounding box ``(xmin, ymin, xmax, ymax)`` of the True pixels, or None."""
        cols = np.flatnonzero(self._array.any(axis=0))
        if cols.size == 0:
            return None
        rows = np.flatnonzero(self._array.any(axis=1))
        sx, sy = self.downsample
        return (
            float(cols[0] * sx),
            float(rows[0] * sy),
            float((cols[-1] + 1) * sx),
            float((rows[-1] + 1) * sy),
        )

    def save_png(
        self,
        png_file: str | PathLike[str] | None = None,
        *,
        path: str | PathLike[str] | None = None,
    ) -> None:
        """Save as a 1-bit PNG in image orientation.

        ``png_file`` is the reference's name; ``path`` (slidepatch's earlier name) is kept
        as an alias.
        """
        from PIL import Image

        target = _save_target("save_png", "png_file", png_file, path)
        Image.fromarray(self._array).save(target, format="PNG")

    def save_array(
        self,
        array_file: str | PathLike[str] | None = None,
        *,
        path: str | PathLike[str] | None = None,
    ) -> None:
        """Save as compressed NPZ: key ``"data"``, shape (height, width), and a layout marker.

        The reference wrote ``"data"`` as (width, height) and no marker; :func:`load_mask`
        tells the two apart by the marker. ``array_file`` is the reference's name; ``path``
        (slidepatch's earlier name) is kept as an alias.
        """
        target = _save_target("save_array", "array_file", array_file, path)
        arrays = {"data": self._array, NPZ_LAYOUT_KEY: np.asarray(NPZ_LAYOUT)}
        np.savez_compressed(target, **arrays)  # type: ignore[arg-type]

    def save_overlay_png(
        self,
        png_file: str | PathLike[str] | None = None,
        *,
        path: str | PathLike[str] | None = None,
        mask_color: str | None = "green",
        mask_alpha: float = 0.5,
        outline_color: str | None = "blue",
        outline_thickness: int = 2,
    ) -> None:
        """Save the slide's level image with the mask drawn on it, to check a mask by eye.

        Tissue pixels are blended with ``mask_color`` (``(1 - mask_alpha) * pixel +
        mask_alpha * colour``, rounded half up); the mask boundary (mask pixels with a
        non-mask 4-neighbour, the image edge counting as non-mask) is then drawn in
        ``outline_color``, grown to ``outline_thickness`` pixels by a square dilation.
        ``None`` turns either layer off. Colours are Pillow colour names or ``#RRGGBB``.
        The level is re-read from the slide, so the mask must know its slide and level
        and be that level's size (true of :class:`WSITissueMask` and
        :class:`WSIPolygonMask`). ``png_file`` is the reference's name; ``path`` is
        kept as an alias.
        """
        from PIL import Image

        target = _save_target("save_overlay_png", "png_file", png_file, path)

        fill = _parse_color(mask_color, "mask_color")
        outline = _parse_color(outline_color, "outline_color")
        if isinstance(mask_alpha, bool) or not isinstance(mask_alpha, (int, float, np.number)):
            raise ValueError(f"mask_alpha must be a number in [0, 1], got {mask_alpha!r}")
        alpha = float(mask_alpha)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"mask_alpha must be in [0, 1], got {mask_alpha!r}")
        if (
            isinstance(outline_thickness, bool)
            or not isinstance(outline_thickness, (int, np.integer))
            or outline_thickness < 1
        ):
            raise ValueError(f"outline_thickness must be an int >= 1, got {outline_thickness!r}")
        rgb = self._read_own_level()
        if fill is not None:
            _blend_where(rgb, self._array, fill, alpha)
        if outline is not None:
            edge = _dilate_square(_boundary(self._array), int(outline_thickness))
            rgb[edge] = outline
            del edge
        Image.fromarray(rgb).save(target, format="PNG")

    def _read_own_level(self) -> npt.NDArray[np.uint8]:
        """The RGB level image this mask was made at, re-read from its slide."""
        from slidepatch.slide import Slide

        if self._wsi_file is None or self._level is None:
            raise MaskError(
                self._wsi_file,
                f"the mask ({self._source}) does not know its slide and level: only masks made "
                "by WSITissueMask or WSIPolygonMask can draw an overlay",
            )
        with Slide.open(self._wsi_file) as slide:
            if tuple(slide.dimensions) != self._slide_dimensions:
                raise MaskError(
                    self._wsi_file,
                    f"the slide is now {tuple(slide.dimensions)}, the mask was made for "
                    f"{self._slide_dimensions}",
                )
            slide.check_level(self._level)
            if tuple(slide.level_dimensions[self._level]) != self.dimensions:
                raise MaskError(
                    self._wsi_file,
                    f"level {self._level} is {tuple(slide.level_dimensions[self._level])}, the "
                    f"mask is {self.dimensions}: an overlay needs a mask the size of its level",
                )
            return slide.read_level(self._level)

    def __repr__(self) -> str:
        w, h = self.dimensions
        return f"{type(self).__name__}({w}x{h} for slide {self._slide_dimensions}, {self._source})"


# --------------------------------------------------------------------------- overlay helpers
def _save_target(
    method: str,
    name: str,
    value: str | PathLike[str] | None,
    path: str | PathLike[str] | None,
) -> str:
    """The file a save method writes: ``name`` (the reference's keyword) or its alias ``path``."""
    if value is not None and path is not None:
        raise TypeError(f"{method}() got both {name}= and its alias path=; pass one")
    chosen = value if value is not None else path
    if chosen is None:
        raise TypeError(f"{method}() missing the file to write: pass {name}=")
    return fspath(chosen)


def _parse_color(color: str | None, name: str) -> tuple[int, int, int] | None:
    """``None``, or the RGB of a Pillow colour name / ``#RRGGBB`` (any alpha is dropped)."""
    from PIL import ImageColor

    if color is None:
        return None
    if not isinstance(color, str):
        raise ValueError(f"{name} must be a colour name, '#RRGGBB' or None, got {color!r}")
    try:
        rgba = ImageColor.getrgb(color)
    except ValueError as exc:
        raise ValueError(f"{name}: unknown colour {color!r} ({exc})") from None
    return (int(rgba[0]), int(rgba[1]), int(rgba[2]))


def _blend_where(
    rgb: npt.NDArray[np.uint8], mask: BoolArray, color: tuple[int, int, int], alpha: float
) -> None:
    """In place: ``rgb[mask] = round((1 - alpha) * rgb + alpha * color)``, per channel.

    A 256-entry table per channel keeps it exact and free of full-size float copies.
    """
    values = np.arange(256, dtype=np.float64)
    for ch in range(3):
        table = np.floor((1.0 - alpha) * values + alpha * color[ch] + 0.5)
        channel = rgb[..., ch]
        channel[mask] = table.astype(np.uint8)[channel[mask]]


def _boundary(mask: BoolArray) -> BoolArray:
    """Mask pixels with a non-mask 4-neighbour (outside the image counts as non-mask)."""
    padded = np.pad(mask, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return np.asarray(mask & ~interior)


def _dilate_square(mask: BoolArray, size: int) -> BoolArray:
    """Dilation by a ``size`` x ``size`` square, done as two 1-D passes of shifted ORs.

    Output pixel ``i`` (on each axis) is set when an input pixel in
    ``[i - size // 2, i + size - 1 - size // 2]`` is.
    """
    if size <= 1:
        return np.array(mask, dtype=bool)
    before = size // 2
    after = size - 1 - before
    out = mask
    for axis in (0, 1):
        grown = out.copy()
        n = out.shape[axis]
        for shift in range(-after, before + 1):
            if shift == 0 or abs(shift) >= n:
                continue
            src = [slice(None), slice(None)]
            dst = [slice(None), slice(None)]
            # grown[i] |= out[i - shift]: shifts in [-after, before] cover the window
            if shift > 0:
                dst[axis], src[axis] = slice(shift, None), slice(None, n - shift)
            else:
                dst[axis], src[axis] = slice(None, n + shift), slice(-shift, None)
            grown[tuple(dst)] |= out[tuple(src)]
        out = grown
    return out


# --------------------------------------------------------------------------- slide helpers
def resolve_level_or_minsize(
    level_or_minsize: int, level_dimensions: Sequence[tuple[int, int]], *, path: str | None
) -> int:
    """An int <= 99 is a level; larger is a minimum size (smallest level at least that big)."""
    if isinstance(level_or_minsize, bool) or not isinstance(level_or_minsize, (int, np.integer)):
        raise MaskError(path, f"level_or_minsize must be an int, got {level_or_minsize!r}")
    value = int(level_or_minsize)
    if value < 0:
        raise MaskError(path, f"level_or_minsize must be >= 0, got {value}")
    if value <= 99:
        if value >= len(level_dimensions):
            raise MaskError(
                path,
                f"level {value} out of range: the slide has levels 0..{len(level_dimensions) - 1}",
            )
        return value
    chosen = 0
    for level, (w, h) in enumerate(level_dimensions):
        if w >= value and h >= value:
            chosen = level
    return chosen


#: Glass is nearly unsaturated (< 0.05) while even pale eosin is above ~0.15. When tissue
#: fills most of the image, Otsu splits pale pink from purple instead of glass from
#: tissue; the cap keeps pale tissue in the mask.
SATURATION_OTSU_CAP = 0.15


class WSITissueMask(Mask):
    """Tissue mask of a slide computed from one low-resolution level.

    Modes: ``"saturation_otsu"`` (default; tissue = saturation above its Otsu threshold,
    capped at :data:`SATURATION_OTSU_CAP` and never below ``color_threshold``), ``"hsv"``
    (the reference's rule: saturation above ``(1 + color_threshold) * mean``) and
    ``"otsu"`` (grey level at or below Otsu) and ``"lab"`` (the reference's rule on CIELAB:
    a* above ``(1 + color_threshold) * mean``; stain is red/purple, glass neutral).
    Clean-up sizes are fractions of a 256x256 level-0 area, scaled by the real downsample.
    """

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        level_or_minsize: int,
        mode: TissueMode = "saturation_otsu",
        color_threshold: float = 0.1,
        remove_small_holes_ratio: float = 0.1,
        remove_small_objects_ratio: float = 0.1,
        remove_all_holes: bool = False,
        close_fill_kernel_size: int = 0,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
    ) -> None:
        from slidepatch.slide import Slide

        path = fspath(wsi_file)
        with Slide.open(path, mpp=slide_mpp, backend=backend) as slide:
            level = resolve_level_or_minsize(level_or_minsize, slide.level_dimensions, path=path)
            # a huge level (single-level slides) is streamed into a bounded downsample
            rgb, reduced_by = slide.read_level_bounded(level)
            dims = slide.dimensions
        if mode == "saturation_otsu":
            sat = saturation(rgb)
            cut = min(otsu_threshold(sat), SATURATION_OTSU_CAP)
            tissue = sat > max(cut, float(color_threshold))
        elif mode == "hsv":
            sat = saturation(rgb)
            tissue = sat > (1.0 + float(color_threshold)) * float(sat.mean())
        elif mode == "otsu":
            grey = rgb.mean(axis=2)
            tissue = grey <= otsu_threshold(grey)
        elif mode == "lab":
            a_star = lab_a_star(rgb)
            cut = (1.0 + float(color_threshold)) * float(a_star.mean(dtype=np.float64))
            tissue = a_star > cut
        else:
            raise MaskError(
                path,
                f"mode must be 'saturation_otsu', 'hsv', 'otsu' or 'lab', got {mode!r}",
            )
        ds = (dims[0] / rgb.shape[1]) * (dims[1] / rgb.shape[0])
        area = REFERENCE_AREA_LEVEL0 / ds
        if remove_all_holes:
            tissue = fill_holes(tissue)
        if remove_small_holes_ratio:
            tissue = fill_holes(tissue, max_size=math.ceil(remove_small_holes_ratio * area))
        if close_fill_kernel_size and close_fill_kernel_size > 0:
            tissue = close_mask(tissue, kernel_size=int(close_fill_kernel_size))
        if remove_small_objects_ratio:
            tissue = remove_small_objects(
                tissue, min_size=math.ceil(remove_small_objects_ratio * area)
            )
        super().__init__(
            array=tissue,
            slide_dimensions=dims,
            level=level if reduced_by == 1 else None,
            wsi_file=path,
            source=f"tissue mask level {level}"
            + ("" if reduced_by == 1 else f" reduced {reduced_by}x"),
        )


def rasterize_polygons(
    polygons: Sequence[Any], *, mask_size: tuple[int, int], slide_dimensions: tuple[int, int]
) -> BoolArray:
    """Rasterise level-0 AnnotationPolygons (holes honoured) onto a ``mask_size`` grid.

    Pixel ``(row, col)`` is set when its centre, level-0 ``((col + 0.5) * sx,
    (row + 0.5) * sy)``, lies inside the union of the polygons. A numpy scanline fill
    (even-odd over every ring of the union) applies this rule exactly; Pillow's polygon
    fill also sets the pixels its edges touch, which biased left and top edges by a pixel.

    A centre exactly on the boundary follows the half-open rule of the pixel boxes: it is
    inside on a left or top edge, outside on a right or bottom edge (at a downsample of 16,
    a square from 200 to 800 gets columns 12..49, column 12 centred on 200).
    """
    import shapely

    w, h = int(mask_size[0]), int(mask_size[1])
    sx, sy = slide_dimensions[0] / w, slide_dimensions[1] / h
    union = shapely.unary_union([p.to_shapely() for p in polygons])
    mask = np.zeros((h, w), dtype=bool)
    rows, cols = _scanline_crossings(_ring_edges(union), sx, sy, w, h)
    inside = cols < w  # crossings right of the last centre toggle no pixel
    rows, cols = rows[inside], cols[inside]
    if rows.size == 0:
        return mask
    # A crossing toggles the pixels from the first centre at or right of it to the row's
    # end, so a pixel is inside when an odd number of crossings lie at or left of its
    # centre: mark the odd-count starts, then a running XOR along each row (in place, in
    # the mask's own bytes: 0 and 1 are valid booleans).
    starts, counts = np.unique(rows * w + cols, return_counts=True)
    flat = mask.reshape(-1).view(np.uint8)
    flat[starts[counts % 2 == 1]] = 1
    box = mask.view(np.uint8)[int(rows.min()) : int(rows.max()) + 1, int(cols.min()) :]
    np.bitwise_xor.accumulate(box, axis=1, out=box)
    return mask


def _ring_edges(geometry: Any) -> npt.NDArray[np.float64]:
    """Edges ``(x0, y0, x1, y1)``, shape (n, 4), of every ring of every polygon in ``geometry``."""
    import shapely

    parts = shapely.get_parts(geometry)
    while True:
        nested = shapely.get_type_id(parts) >= 4  # multi-geometries and collections
        if not nested.any():
            break
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    rings = shapely.get_rings(parts[shapely.get_type_id(parts) == 3])
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]  # consecutive vertices of one (closed) ring
    return np.concatenate([coords[:-1][same], coords[1:][same]], axis=1).astype(np.float64)


def _scanline_crossings(
    edges: npt.NDArray[np.float64], sx: float, sy: float, w: int, h: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row and column (first centre at or right of it, 0..w) of each edge-scanline crossing.

    An edge, ordered so ``y0 <= y1``, crosses the rows whose centre ``yc`` has
    ``y0 <= yc < y1``: horizontal edges cross none and a vertex counts once (or twice,
    or not at all, at a local extremum), so the crossings of every row pair up.
    """
    down = edges[:, 1] <= edges[:, 3]
    xa = np.where(down, edges[:, 0], edges[:, 2])
    ya = np.where(down, edges[:, 1], edges[:, 3])
    xb = np.where(down, edges[:, 2], edges[:, 0])
    yb = np.where(down, edges[:, 3], edges[:, 1])
    first = _first_centre(ya, sy, h)
    n = _first_centre(yb, sy, h) - first
    spans = n > 0
    xa, ya, xb, yb, first, n = xa[spans], ya[spans], xb[spans], yb[spans], first[spans], n[spans]
    edge = np.repeat(np.arange(n.shape[0]), n)
    rows = first[edge] + np.arange(edge.shape[0]) - np.repeat(np.cumsum(n) - n, n)
    slope = (xb - xa) / (yb - ya)
    x = xa[edge] + ((rows + 0.5) * sy - ya[edge]) * slope[edge]
    return rows.astype(np.int64), _first_centre(x, sx, w)


def _first_centre(t: npt.NDArray[np.float64], scale: float, n: int) -> npt.NDArray[np.int64]:
    """Smallest ``k`` in ``0..n`` whose centre ``(k + 0.5) * scale`` is ``>= t`` (else ``n``).

    The estimate from ``t / scale`` is corrected against the centres as computed elsewhere,
    so the comparison with ``t`` is exact in floating point.
    """
    k = np.clip(np.ceil(t / scale - 0.5), -1, n + 1).astype(np.int64)
    k -= ((k - 0.5) * scale >= t).astype(np.int64)
    k += ((k + 0.5) * scale < t).astype(np.int64)
    return np.clip(k, 0, n)


class WSIPolygonMask(Mask):
    """Mask of annotation polygons at one level.

    ``polygon_data`` (the reference's keyword; ``polygons`` is its 0.0.4 name): a list of
    AnnotationPolygon, a JSON string or a JSON file, in pixels *of the mask level*, drawn as
    the reference draws them: vertices truncated to integers, every pixel inside or on the
    outline set, holes filled (a warning says so). ``polygons_level0``: polygons in level-0
    pixels (from the annotation readers), holes honoured, a pixel set when its centre is
    inside.
    """

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        level_or_minsize: int,
        polygon_data: Any = None,
        polygons: Any = None,
        polygons_level0: Any = None,
        slide_mpp: float | None = None,
    ) -> None:
        from slidepatch.annotations import load_polygon_data
        from slidepatch.slide import Slide

        path = fspath(wsi_file)
        given = [v is not None for v in (polygon_data, polygons, polygons_level0)]
        if sum(given) != 1:
            raise TypeError(
                f"{path}: WSIPolygonMask needs exactly one of polygon_data (mask-level "
                "pixels), polygons (its old name) or polygons_level0 (level-0 pixels)"
            )
        with Slide.open(path, mpp=slide_mpp) as slide:
            level = resolve_level_or_minsize(level_or_minsize, slide.level_dimensions, path=path)
            size = slide.level_dimensions[level]
            dims = slide.dimensions
        if polygons_level0 is not None:
            array = rasterize_polygons(
                load_polygon_data(polygons_level0), mask_size=size, slide_dimensions=dims
            )
        else:
            data = polygon_data if polygon_data is not None else polygons
            array = rasterize_mask_level_polygons(
                load_polygon_data(data), mask_size=size, path=path
            )
        super().__init__(
            array=array,
            slide_dimensions=dims,
            level=level,
            wsi_file=path,
            source=f"polygon mask level {level}",
        )


def rasterize_mask_level_polygons(
    polygons: Sequence[Any], *, mask_size: tuple[int, int], path: str | None = None
) -> BoolArray:
    """Draw polygons given in mask pixels as the reference does, shape (height, width).

    Vertices are truncated to integers; pixel ``(row, col)`` is set when the point
    ``(col, row)`` lies inside a polygon's outline or on it. Holes are filled (the
    reference ignored them). A vertex beyond the mask size is an error.
    """
    import shapely

    w, h = int(mask_size[0]), int(mask_size[1])
    mask = np.zeros((h, w), dtype=bool)
    with_holes = 0
    for i, polygon in enumerate(polygons):
        points = np.asarray(polygon.points, dtype=np.float64).astype(np.int64)
        if points.shape[0] == 0:
            continue
        if int(points[:, 0].max()) > w or int(points[:, 1].max()) > h:
            raise MaskError(
                path,
                f"polygon {i}: coordinates up to ({int(points[:, 0].max())}, "
                f"{int(points[:, 1].max())}) exceed the mask size {w}x{h}; polygon_data is in "
                "mask-level pixels (use polygons_level0= for level-0 coordinates)",
            )
        with_holes += bool(polygon.holes)
        c0, r0 = max(int(points[:, 0].min()), 0), max(int(points[:, 1].min()), 0)
        c1, r1 = min(int(points[:, 0].max()), w - 1), min(int(points[:, 1].max()), h - 1)
        if c1 < c0 or r1 < r0:
            continue
        outline = shapely.Polygon(points) if points.shape[0] >= 3 else shapely.LineString(points)
        if not outline.is_valid:
            outline = shapely.make_valid(outline)
        shapely.prepare(outline)
        rows, cols = np.mgrid[r0 : r1 + 1, c0 : c1 + 1]
        inside = shapely.intersects_xy(outline, cols.ravel(), rows.ravel())
        mask[r0 : r1 + 1, c0 : c1 + 1] |= inside.reshape(rows.shape)
    if with_holes:
        warnings.warn(
            f"{path}: {with_holes} polygon(s) with holes: polygon_data masks fill holes as "
            "the reference does (use polygons_level0= to keep them)",
            stacklevel=3,
        )
    return mask


# --------------------------------------------------------------------------- mask_data
def load_mask(
    mask_data: object, *, slide_dimensions: tuple[int, int], wsi_file: str | None = None
) -> Mask:
    """Turn ``mask_data`` (Mask, PNG/NPY/NPZ/GeoJSON path, numpy array or PIL image) into a
    Mask (a GeoJSON file: level-0 polygons, see :func:`geojson_mask`)."""
    from PIL import Image

    if isinstance(mask_data, Mask):
        if tuple(mask_data.slide_dimensions) != tuple(slide_dimensions):
            raise MaskError(
                wsi_file,
                f"mask object was made for a slide of {mask_data.slide_dimensions}, this slide "
                f"is {tuple(slide_dimensions)}",
            )
        return mask_data
    if isinstance(mask_data, (str, PathLike)):
        mpath = Path(fspath(mask_data))
        if not mpath.is_file():
            raise MaskFileNotFoundError(wsi_file, f"mask file not found: {mpath}")
        suffix = mpath.suffix.lower()
        if suffix in GEOJSON_SUFFIXES:
            return geojson_mask(mpath, slide_dimensions=slide_dimensions, wsi_file=wsi_file)
        try:
            if suffix == ".npy":
                array = _reference_layout(
                    np.load(mpath, allow_pickle=False), slide_dimensions, mpath, marked=False
                )
            elif suffix == ".npz":
                with np.load(mpath, allow_pickle=False) as npz:
                    keys = [k for k in npz if k != NPZ_LAYOUT_KEY]
                    if "data" in keys:
                        array = npz["data"]
                    elif len(keys) == 1:
                        array = npz[keys[0]]
                    else:
                        raise MaskError(
                            wsi_file, f"mask file {mpath}: NPZ needs a 'data' array, has {keys}"
                        )
                    marked = NPZ_LAYOUT_KEY in npz
                array = _reference_layout(array, slide_dimensions, mpath, marked=marked)
            else:
                with Image.open(mpath) as image:
                    array = _image_array(image, wsi_file, str(mpath))
        except (OSError, ValueError) as exc:
            if isinstance(exc, MaskError):
                raise
            raise MaskError(wsi_file, f"cannot read mask file {mpath}: {exc}") from exc
        return Mask(
            array=array, slide_dimensions=slide_dimensions, wsi_file=wsi_file, source=str(mpath)
        )
    if isinstance(mask_data, np.ndarray):
        return Mask(
            array=mask_data,
            slide_dimensions=slide_dimensions,
            wsi_file=wsi_file,
            source=f"array {mask_data.shape}",
        )
    if isinstance(mask_data, Image.Image):
        return Mask(
            array=_image_array(mask_data, wsi_file, "PIL image"),
            slide_dimensions=slide_dimensions,
            wsi_file=wsi_file,
            source=f"PIL image {mask_data.size}",
        )
    raise TypeError(
        "mask_data must be a mask object, a PNG/NPY/NPZ/GeoJSON path, a numpy array or a "
        f"PIL image, got {type(mask_data).__name__}"
    )


GEOJSON_SUFFIXES = (".geojson", ".json")
GEOJSON_MASK_SIDE = 4096  # the longest side of the grid a GeoJSON mask file is drawn on


def geojson_mask(
    path: str | PathLike[str],
    *,
    slide_dimensions: tuple[int, int],
    wsi_file: str | None = None,
    max_side: int = GEOJSON_MASK_SIDE,
) -> Mask:
    """A mask from a GeoJSON file of level-0 polygons (QuPath, GrandQC or HistoQC export).

    Drawn with :func:`rasterize_polygons` (holes honoured, pixel centres inside) on a grid
    of the slide's aspect ratio at most ``max_side`` pixels a side (downsample about
    ``ceil(longest side / max_side)``), so a covered fraction is exact to that grid. An empty file
    (no polygons) gives an empty mask, with a warning naming the file.
    """
    from slidepatch.annotations import read_geojson

    spath = fspath(path)
    try:
        polygons = read_geojson(spath)
    except Exception as exc:
        raise MaskError(wsi_file, f"cannot read GeoJSON mask {spath}: {exc}") from exc
    w0, h0 = int(slide_dimensions[0]), int(slide_dimensions[1])
    down = max(1, math.ceil(max(w0, h0) / max_side))
    size = (max(1, math.ceil(w0 / down)), max(1, math.ceil(h0 / down)))
    if polygons:
        array = rasterize_polygons(polygons, mask_size=size, slide_dimensions=(w0, h0))
    else:
        warnings.warn(
            f"{wsi_file}: GeoJSON mask {spath} has no polygons: it marks nothing",
            stacklevel=2,
        )
        array = np.zeros((size[1], size[0]), dtype=bool)
    return Mask(
        array=array,
        slide_dimensions=(w0, h0),
        wsi_file=wsi_file,
        source=f"GeoJSON {spath} ({len(polygons)} polygons, downsample {down})",
    )


def _reference_layout(
    array: npt.NDArray[Any], slide_dimensions: tuple[int, int], path: Path, *, marked: bool
) -> npt.NDArray[Any]:
    """A mask array read from a file, in (height, width).

    Files the reference wrote hold (width, height). An NPZ without slidepatch's layout
    marker is the reference's when its transpose fits the slide; an NPY is transposed only
    when it fits the slide transposed and not as it is. Either transposition is announced.
    """
    if marked or array.ndim != 2:
        return array
    size = (int(array.shape[1]), int(array.shape[0]))
    fits_as_is = _fits(size, slide_dimensions)
    fits_transposed = _fits((size[1], size[0]), slide_dimensions)
    npz = path.suffix.lower() == ".npz"
    if fits_transposed and (npz or not fits_as_is):
        warnings.warn(
            f"{path}: read as the reference's (width, height) layout and transposed "
            f"to (height, width) {array.shape[::-1]}",
            stacklevel=4,
        )
        return np.ascontiguousarray(array.T)
    return array


def _image_array(image: Any, wsi_file: str | None, source: str) -> npt.NDArray[Any]:
    if image.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "LA", "PA", "RGBX"):
        raise MaskError(
            wsi_file, f"mask {source} has mode {image.mode}: a mask must be one channel"
        )
    return np.asarray(image)
