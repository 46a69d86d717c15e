"""Mask: a boolean array in image orientation plus its slide's level-0 size, so it
knows its scale; saving, loading and overlays."""

from __future__ import annotations

from os import PathLike, fspath
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from slidepatch.errors import MaskError
from slidepatch.masks.morphology import BoolArray

if TYPE_CHECKING:
    from slidepatch.options import ReadOptions

ASPECT_TOLERANCE_PX = 1.5

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
        self._read_options: ReadOptions | None = None
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
        with Slide.open(self._wsi_file, read_options=self._read_options) as slide:
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
