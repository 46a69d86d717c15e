"""Direct tile decoder for Aperio SVS and generic tiled TIFF: tifffile for the layout,
imagecodecs for the codecs, ``os.pread`` for the bytes.

Reading a patch decodes only the tiles it overlaps and copies the overlap into the
caller's buffer. Decoded tiles live in a bounded LRU cache owned by the backend object and
shared by all threads reading through it; imagecodecs releases the GIL while decoding, so
threads decode in parallel. Pixels equal OpenSlide's: the JPEG decoder is the same
libjpeg-turbo, told the same colour space (Aperio stores RGB, not YCbCr, inside JPEG).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import imagecodecs
import numpy as np
import numpy.typing as npt

from slidepatch.errors import SlideReadError, UnsupportedSlideError
from slidepatch.slide.backends.tile_cache import DEFAULT_CACHE_BYTES, Tile, TileCache
from slidepatch.slide.backends.tiled_tiff_structure import TiledLevel, read_structure


class TiledTiffBackend:
    """Reads tiled TIFF-family slides by decoding their tiles directly (thread-safe)."""

    name = "tiled_tiff"

    def __init__(self, path: str, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._path = path
        structure = read_structure(path)
        self._levels = structure.levels
        self._downsamples = structure.downsamples
        self._properties = structure.properties
        self._vendor = structure.vendor
        self._mpp = structure.mpp
        self._dims = tuple((lv.width, lv.height) for lv in self._levels)
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise UnsupportedSlideError(path, f"cannot open the file: {exc}") from exc
        self._cache = TileCache(max_bytes=cache_bytes)

    # ------------------------------------------------------------------ geometry
    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        return self._dims

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self._downsamples

    @property
    def properties(self) -> Mapping[str, str]:
        return dict(self._properties)

    @property
    def vendor(self) -> str | None:
        return self._vendor

    @property
    def mpp(self) -> tuple[float, float] | None:
        return self._mpp

    @property
    def tile_cache(self) -> TileCache:
        """The decoded-tile cache shared by the threads reading this slide."""
        return self._cache

    def tile_size(self, level: int) -> tuple[int, int]:
        """(width, height) of the tiles of ``level``."""
        lv = self._levels[level]
        return lv.tile_width, lv.tile_height

    # ------------------------------------------------------------------ reading
    def read_window(
        self,
        *,
        level: int,
        x: int,
        y: int,
        out: npt.NDArray[np.uint8],
        fill: tuple[int, int, int],
    ) -> None:
        lv = self._levels[level]
        h, w = out.shape[:2]
        tw, th = lv.tile_width, lv.tile_height
        if (
            w == tw
            and h == th
            and x % tw == 0
            and y % th == 0
            and out.flags.c_contiguous
            and self._decode_whole_tile_into(level, lv, x // tw, y // th, out, fill)
        ):
            return
        for ty in range(y // th, (y + h - 1) // th + 1):
            top, bottom = max(y, ty * th), min(y + h, (ty + 1) * th)
            for tx in range(x // tw, (x + w - 1) // tw + 1):
                left, right = max(x, tx * tw), min(x + w, (tx + 1) * tw)
                target = out[top - y : bottom - y, left - x : right - x]
                tile = self._tile(level, lv, tx, ty, (x, y, w, h))
                if tile is None:
                    target[...] = fill
                else:
                    target[...] = tile[
                        top - ty * th : bottom - ty * th, left - tx * tw : right - tx * tw
                    ]

    def _decode_whole_tile_into(
        self,
        level: int,
        lv: TiledLevel,
        tx: int,
        ty: int,
        out: npt.NDArray[np.uint8],
        fill: tuple[int, int, int],
    ) -> bool:
        """Serve a window that is exactly one uncached tile by decoding straight into ``out``.

        A tile-aligned patch is the one case where caching cannot pay (no other window of
        the same size needs that tile), so the decode skips the cache and the extra copy.
        Returns False when the tile is cached or missing, leaving the general path to it.
        """
        index = ty * lv.tiles_across + tx
        if lv.codec != "jpeg" or self._cache.contains((level, index)):
            return False
        offset, count = int(lv.offsets[index]), int(lv.bytecounts[index])
        if count <= 0 or offset <= 0:
            return False
        window = (tx * lv.tile_width, ty * lv.tile_height, lv.tile_width, lv.tile_height)
        self._decode(level, lv, tx, ty, offset, count, window, out)
        return True

    def _tile(
        self, level: int, lv: TiledLevel, tx: int, ty: int, window: tuple[int, int, int, int]
    ) -> Tile | None:
        """The decoded tile (tx, ty) of ``level``, or None for a tile the file omits."""
        index = ty * lv.tiles_across + tx
        offset, count = int(lv.offsets[index]), int(lv.bytecounts[index])
        if count <= 0 or offset <= 0:
            return None  # OpenSlide shows missing tiles as transparent: the fill colour
        return self._cache.get(
            (level, index), lambda: self._decode(level, lv, tx, ty, offset, count, window)
        )

    def _decode(
        self,
        level: int,
        lv: TiledLevel,
        tx: int,
        ty: int,
        offset: int,
        count: int,
        window: tuple[int, int, int, int],
        out: npt.NDArray[np.uint8] | None = None,
    ) -> Tile:
        fd = self._fd
        try:
            if fd < 0:
                raise ValueError("the slide is closed")
            data = os.pread(fd, count, offset)
            if len(data) != count:
                raise ValueError(f"file truncated: read {len(data)} of {count} bytes")
            tile = self._decode_bytes(lv, data, out)
        except Exception as exc:
            x, y, w, h = window
            raise SlideReadError(
                self._path,
                f"cannot read level {level} window at ({x}, {y}) size {w}x{h}: "
                f"tile ({tx}, {ty}) at byte {offset} does not decode: {exc}",
            ) from exc
        return tile

    @staticmethod
    def _decode_bytes(lv: TiledLevel, data: bytes, out: npt.NDArray[np.uint8] | None) -> Tile:
        """Decode one tile's bytes (JPEG straight into ``out`` when given)."""
        shape = (lv.tile_height, lv.tile_width, 3)
        if lv.codec == "jpeg":
            tile = imagecodecs.jpeg8_decode(
                data,
                tables=lv.jpeg_tables,
                colorspace=lv.jpeg_colorspace,
                outcolorspace="RGB",
                out=out,
            )
        else:
            if lv.codec == "deflate":
                raw = imagecodecs.zlib_decode(data)
            elif lv.codec == "lzw":
                raw = imagecodecs.lzw_decode(data)
            elif lv.codec == "zstd":
                raw = imagecodecs.zstd_decode(data)
            else:
                raw = data
            size = shape[0] * shape[1] * 3
            if len(raw) < size:
                raise ValueError(f"decoded {len(raw)} bytes, expected {size}")
            tile = np.frombuffer(raw, dtype=np.uint8, count=size).reshape(shape)
            if lv.horizontal_predictor:
                tile = imagecodecs.delta_decode(tile, axis=-2)
        tile = np.asarray(tile, dtype=np.uint8)
        if tile.shape != shape:
            raise ValueError(f"decoded tile has shape {tile.shape}, expected {shape}")
        return tile

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
        self._cache.clear()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            os.close(fd)
