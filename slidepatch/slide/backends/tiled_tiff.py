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
from slidepatch.slide.buffers import ScratchBuffers, decode_buffer, decodes_fast_into


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
        self._scratch = ScratchBuffers()

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
        self._read_window(level=level, x=x, y=y, out=out, fill=fill, streamed=False)

    def read_window_streamed(
        self,
        *,
        level: int,
        x: int,
        y: int,
        out: npt.NDArray[np.uint8],
        fill: tuple[int, int, int],
    ) -> None:
        """:meth:`read_window` for one strip of a whole-level pass (masks, previews, "wsi"
        copies): tiles not already cached are decoded without entering the cache, so the
        pass holds one strip, not the level, and does not evict the patches' tiles."""
        self._read_window(level=level, x=x, y=y, out=out, fill=fill, streamed=True)

    def _read_window(
        self,
        *,
        level: int,
        x: int,
        y: int,
        out: npt.NDArray[np.uint8],
        fill: tuple[int, int, int],
        streamed: bool,
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
                if streamed and not self._cache.contains((level, ty * lv.tiles_across + tx)):
                    tile = self._uncached(level, lv, tx, ty, (x, y, w, h))
                else:
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
        An ``out`` on a 32-byte boundary would send libjpeg-turbo down its slow
        non-temporal path (see :mod:`slidepatch.slide.buffers`), so such a tile is decoded
        into this thread's scratch buffer and copied. Returns False when the tile is
        cached or missing, leaving the general path to it.
        """
        index = ty * lv.tiles_across + tx
        if (
            lv.codec != "jpeg"
            or lv.planes != 1
            or lv.striped
            or self._cache.contains((level, index))
        ):
            return False
        offset, count = int(lv.offsets[index]), int(lv.bytecounts[index])
        if count <= 0 or offset <= 0:
            return False
        window = (tx * lv.tile_width, ty * lv.tile_height, lv.tile_width, lv.tile_height)
        if decodes_fast_into(out):
            self._decode(level, lv, tx, ty, offset, count, window, out)
        else:
            out[...] = self._decode(
                level, lv, tx, ty, offset, count, window, self._scratch.get(out.shape)
            )
        return True

    def _uncached(
        self, level: int, lv: TiledLevel, tx: int, ty: int, window: tuple[int, int, int, int]
    ) -> Tile | None:
        index = ty * lv.tiles_across + tx
        offset, count = int(lv.offsets[index]), int(lv.bytecounts[index])
        if count <= 0 or offset <= 0:
            return None
        return self._decode(level, lv, tx, ty, offset, count, window)

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
            rows = min(lv.tile_height, lv.height - ty * lv.tile_height) if lv.striped else None
            if lv.planes == 1:
                tile = self._decode_bytes(lv, _pread(fd, count, offset), out, rows)
            else:
                tile = self._decode_planes(lv, ty * lv.tiles_across + tx, rows)
        except Exception as exc:
            x, y, w, h = window
            raise SlideReadError(
                self._path,
                f"cannot read level {level} window at ({x}, {y}) size {w}x{h}: "
                f"tile ({tx}, {ty}) at byte {offset} does not decode: {exc}",
            ) from exc
        return tile

    @staticmethod
    def _decode_bytes(
        lv: TiledLevel, data: bytes, out: npt.NDArray[np.uint8] | None, rows: int | None = None
    ) -> Tile:
        """Decode one tile's bytes (JPEG into ``out``, else into a new decode buffer).

        ``rows`` is how many rows the chunk holds when fewer than the tile height (a
        level's last strip).
        """
        rows = lv.tile_height if rows is None else rows
        shape = (rows, lv.tile_width, 3)
        if lv.codec == "jpeg":
            tile = imagecodecs.jpeg8_decode(
                data,
                tables=lv.jpeg_tables,
                colorspace=lv.jpeg_colorspace,
                outcolorspace="RGB",
                out=decode_buffer(shape) if out is None else out,
            )
        elif lv.codec == "jpeg2000":
            tile = imagecodecs.jpeg2k_decode(data)
            if lv.ycbcr_to_rgb:
                tile = ycbcr_to_rgb(tile)
        else:
            size = shape[0] * shape[1] * 3
            raw = _inflate(lv.codec, data, size)
            if len(raw) < size:
                raise ValueError(f"decoded {len(raw)} bytes, expected {size}")
            tile = np.frombuffer(raw, dtype=np.uint8, count=size).reshape(shape)
            if lv.horizontal_predictor:
                tile = imagecodecs.delta_decode(tile, axis=-2)
        tile = np.asarray(tile, dtype=np.uint8)
        if tile.shape != shape:
            raise ValueError(f"decoded tile has shape {tile.shape}, expected {shape}")
        return tile

    def _decode_planes(self, lv: TiledLevel, index: int, rows: int | None) -> Tile:
        """Decode the R, G and B plane tiles of tile ``index`` into one (rows, w, 3) tile."""
        rows = lv.tile_height if rows is None else rows
        tile = decode_buffer((rows, lv.tile_width, 3))
        per_plane = lv.tiles_across * lv.tiles_down
        for plane in range(3):
            i = plane * per_plane + index
            offset, count = int(lv.offsets[i]), int(lv.bytecounts[i])
            if count <= 0 or offset <= 0:
                raise ValueError(f"sample plane {plane} of the tile is missing")
            tile[..., plane] = self._decode_plane(lv, _pread(self._fd, count, offset), rows)
        return tile

    @staticmethod
    def _decode_plane(lv: TiledLevel, data: bytes, rows: int) -> npt.NDArray[np.uint8]:
        """Decode one sample plane's tile (separate R, G or B) to a (rows, width) array."""
        shape = (rows, lv.tile_width)
        if lv.codec == "jpeg":
            plane = imagecodecs.jpeg8_decode(data, tables=lv.jpeg_tables)
        elif lv.codec == "jpeg2000":
            plane = imagecodecs.jpeg2k_decode(data)
        else:
            size = shape[0] * shape[1]
            raw = _inflate(lv.codec, data, size)
            if len(raw) < size:
                raise ValueError(f"decoded {len(raw)} bytes, expected {size}")
            plane = np.frombuffer(raw, dtype=np.uint8, count=size).reshape(shape)
            if lv.horizontal_predictor:
                plane = imagecodecs.delta_decode(plane, axis=-1)
        result: npt.NDArray[np.uint8] = np.asarray(plane, dtype=np.uint8)
        result = result.reshape(result.shape[:2])
        if tuple(result.shape) != shape:
            raise ValueError(f"decoded plane has shape {result.shape}, expected {shape}")
        return result

    def standalone_jpeg_tile(self, level: int, tile_x: int, tile_y: int) -> bytes | None:
        """Tile (tile_x, tile_y) of ``level`` as the bytes of a standalone JPEG file.

        The stored compressed bytes are reused as they are (no decode, no re-encode): the
        level's shared JPEGTables are spliced in and the colour space is stated. None when
        the level is not JPEG, the file omits the tile, or the tile's own markers contradict
        the TIFF colour space. The full stored tile is returned, so edge tiles include their
        padding beyond the level: callers pass only tiles that lie inside the level.
        """
        lv = self._levels[level]
        if lv.codec != "jpeg" or lv.jpeg_colorspace is None or lv.planes != 1 or lv.striped:
            return None  # a plane's tile is one colour of the patch; a strip is not a tile
        if not (0 <= tile_x < lv.tiles_across and 0 <= tile_y < lv.tiles_down):
            return None
        index = tile_y * lv.tiles_across + tile_x
        offset, count = int(lv.offsets[index]), int(lv.bytecounts[index])
        if count <= 0 or offset <= 0:
            return None
        try:
            if self._fd < 0:
                raise ValueError("the slide is closed")
            data = os.pread(self._fd, count, offset)
            if len(data) != count:
                raise ValueError(f"file truncated: read {len(data)} of {count} bytes")
        except Exception as exc:
            raise SlideReadError(
                self._path,
                f"cannot read level {level} tile ({tile_x}, {tile_y}) at byte {offset}: {exc}",
            ) from exc
        return tiff_jpeg_as_file(data, tables=lv.jpeg_tables, colorspace=lv.jpeg_colorspace)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
        self._cache.clear()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            os.close(fd)


def _pread(fd: int, count: int, offset: int) -> bytes:
    data = os.pread(fd, count, offset)
    if len(data) != count:
        raise ValueError(f"file truncated: read {len(data)} of {count} bytes")
    return data


_ZLIB_DECODE = (
    imagecodecs.zlibng_decode
    if getattr(getattr(imagecodecs, "ZLIBNG", None), "available", False)
    else imagecodecs.zlib_decode
)
"""zlib-ng decodes Deflate tiles several times faster than zlib (same bytes out)."""


def _inflate(codec: str, data: bytes, size: int) -> bytes:
    """Decompress a lossless chunk; ``size`` is the decoded size (pre-sizes the output)."""
    if codec == "deflate":
        try:
            return bytes(_ZLIB_DECODE(data, out=size))
        except Exception:  # a chunk holding more than its pixels: decode it all
            return bytes(imagecodecs.zlib_decode(data))
    if codec == "lzw":
        return bytes(imagecodecs.lzw_decode(data))
    if codec == "zstd":
        return bytes(imagecodecs.zstd_decode(data))
    return data


def ycbcr_to_rgb(ycc: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Full-range (JFIF) Y, Cb, Cr to R, G, B, rounded and clipped as OpenSlide does."""
    y = ycc[..., 0].astype(np.float32)
    cb = ycc[..., 1].astype(np.float32) - 128.0
    cr = ycc[..., 2].astype(np.float32) - 128.0
    rgb = np.empty((*ycc.shape[:2], 3), dtype=np.float32)
    rgb[..., 0] = y + 1.402 * cr
    rgb[..., 1] = y - 0.344136 * cb - 0.714136 * cr
    rgb[..., 2] = y + 1.772 * cb
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_SOS = 0xDA
_APP0 = 0xE0
_APP14 = 0xEE
# Adobe APP14 with transform 0: "the three components are RGB, do not convert".
_ADOBE_RGB = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"
# JFIF APP0 (version 1.1, no density): "the three components are YCbCr".
_JFIF = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def _header_segments(stream: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of the segments between SOI and the first scan."""
    found: list[tuple[int, bytes]] = []
    i = 2
    while i + 4 <= len(stream) and stream[i] == 0xFF:
        marker = stream[i + 1]
        if marker == _SOS:
            break
        length = int.from_bytes(stream[i + 2 : i + 4], "big")
        found.append((marker, stream[i + 4 : i + 2 + length]))
        i += 2 + length
    return found


def _colour_marker(stream: bytes, colorspace: str) -> bytes | None:
    """The APP marker to insert so decoders convert ``stream`` as TIFF says (b"" if the
    stream already says it, None if it says something else)."""
    segments = _header_segments(stream)
    jfif = any(m == _APP0 and p.startswith(b"JFIF\x00") for m, p in segments)
    adobe = [p[11] for m, p in segments if m == _APP14 and p.startswith(b"Adobe") and len(p) >= 12]
    if colorspace == "RGB":
        if jfif or any(t != 0 for t in adobe):
            return None
        return b"" if adobe else _ADOBE_RGB
    if any(t != 1 for t in adobe):
        return None
    return b"" if jfif or adobe else _JFIF


def tiff_jpeg_as_file(stream: bytes, *, tables: bytes | None, colorspace: str) -> bytes | None:
    """A TIFF JPEG tile (``stream``, maybe abbreviated) as a standalone JPEG file.

    The file is SOI, a colour-space marker when needed (Aperio stores RGB in JPEG without
    saying so; decoders would take it for YCbCr), the JPEGTables' segments, and the rest
    of the tile's stream. None when the stream is not JPEG or contradicts ``colorspace``.
    """
    if not stream.startswith(_SOI):
        return None
    marker = _colour_marker(stream, colorspace)
    if marker is None:
        return None
    shared = b""
    if tables:
        if not (tables.startswith(_SOI) and tables.endswith(_EOI)):
            return None
        shared = tables[2:-2]
    return _SOI + marker + shared + stream[2:]
