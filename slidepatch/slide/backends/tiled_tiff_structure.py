"""Which TIFF files the direct tile decoder reads, and their pyramid, as OpenSlide sees them.

The direct decoder must agree with OpenSlide on every number a user sees (levels,
downsamples, MPP, vendor, properties), so this module mirrors OpenSlide 4's ``aperio`` and
``generic-tiff`` drivers: the same directories become levels, downsamples are averaged
the same way, and properties carry the same names and number formatting. Anything it is
not sure to read exactly as OpenSlide does is refused with ``UnsupportedSlideError``, so
``backend="auto"`` falls back to OpenSlide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import tifffile

from slidepatch.errors import UnsupportedSlideError

JPEG = 7
# TIFF compression codes the decoder handles losslessly (none, LZW, deflate, zstd).
LOSSLESS_CODECS = {1: "none", 5: "lzw", 8: "deflate", 32946: "deflate", 50000: "zstd"}
# JPEG 2000 codes: Aperio's YCbCr (33003) and RGB (33005), the generic ones (33004, 34712).
APERIO_J2K_YCBCR = 33003
VIPS_J2K = 33004
JPEG2000_CODECS = (33003, 33004, 33005, 34712)


def j2k_holds_ycbcr(compression: int, photometric: int) -> bool:
    """Whether JPEG 2000 tiles decode (after the codestream's own MCT) to Y, Cb, Cr.

    Aperio's 33003 says so by its code, as does a YCbCr photometric. 33004 is what libvips
    writes, and libvips always stores Y, Cb, Cr under it (photometric RGB) and always
    converts back when reading (libvips ``vips2tiff.c`` and ``tiff2vips.c``).
    """
    if compression not in JPEG2000_CODECS:
        return False
    return compression in (APERIO_J2K_YCBCR, VIPS_J2K) or photometric == PHOTOMETRIC_YCBCR


SUPPORTED_VENDORS = ("aperio", "generic-tiff")
PHOTOMETRIC_RGB = 2
PHOTOMETRIC_YCBCR = 6

# TIFF tags OpenSlide exposes as ``tiff.<Name>`` properties (from the first directory).
_TIFF_STRING_TAGS = (
    "ImageDescription",
    "Make",
    "Model",
    "Software",
    "DateTime",
    "Artist",
    "HostComputer",
    "Copyright",
    "DocumentName",
)
_RESOLUTION_UNITS = {1: "none", 2: "inch", 3: "centimeter"}


@dataclass(frozen=True)
class TiledLevel:
    """One pyramid level: its geometry, where its tiles are, and how they are coded."""

    width: int
    height: int
    tile_width: int
    tile_height: int
    tiles_across: int
    tiles_down: int
    offsets: npt.NDArray[np.int64]
    bytecounts: npt.NDArray[np.int64]
    codec: str  # "jpeg", "jpeg2000" or one of LOSSLESS_CODECS' values
    jpeg_colorspace: str | None  # "RGB" or "YCBCR" for JPEG tiles
    jpeg_tables: bytes | None
    horizontal_predictor: bool
    planes: int = 1
    """1: each tile holds the three samples interleaved; 3: one tile per sample (R, G, B),
    ``offsets`` plane-major (all R tiles, then G, then B)."""
    striped: bool = False
    """Strips are tiles as wide as the level; the last one may hold fewer rows."""
    ycbcr_to_rgb: bool = False
    """JPEG 2000 tiles whose decoded components are Y, Cb, Cr (convert after decoding)."""


@dataclass(frozen=True)
class TiledStructure:
    """Everything the backend needs about a file, read once at open time."""

    vendor: str | None
    levels: tuple[TiledLevel, ...]
    downsamples: tuple[float, ...]
    properties: dict[str, str]
    mpp: tuple[float, float] | None


def format_double(value: float) -> str:
    """Format like OpenSlide: the shortest of %.15g / %.17g that reads back exactly."""
    short = f"{value:.15g}"
    return short if float(short) == value else f"{value:.17g}"


def detect_vendor(path: str) -> str | None:
    """OpenSlide's name for the format of ``path`` (None when it would not read it)."""
    try:
        import openslide
    except ImportError:  # pragma: no cover - openslide is a dependency
        return None
    try:
        vendor = openslide.OpenSlide.detect_format(path)
    except Exception:  # detect_format raises on unreadable files on some versions
        return None
    return None if vendor is None else str(vendor)


def read_structure(path: str) -> TiledStructure:
    """Parse ``path`` into a :class:`TiledStructure` or raise ``UnsupportedSlideError``.

    Aperio and generic pyramids are read as OpenSlide reads them. OME-TIFF, SubIFD pyramids
    (vips ``--subifd``, QuPath, bioformats) and plain TIFFs OpenSlide refuses (striped or
    single-level) are read as tifffile's first series: its levels are the pyramid.
    """
    vendor = detect_vendor(path)
    try:
        with tifffile.TiffFile(path) as tif:
            if tif.is_ndpi:
                raise UnsupportedSlideError(path, "NDPI is left to OpenSlide")
            if vendor == "aperio":
                return _openslide_layout(path, tif, vendor)
            if vendor in (None, "generic-tiff") and (tif.is_ome or _has_subifds(tif)):
                from slidepatch.slide.backends.tiff_series import series_structure

                return series_structure(path, tif, vendor="generic-tiff")
            if vendor == "generic-tiff":
                return _openslide_layout(path, tif, vendor)
            if vendor is None and set(tif.flags) <= PLAIN_TIFF_FLAGS:
                from slidepatch.slide.backends.tiff_series import series_structure

                return series_structure(path, tif, vendor=None)
    except UnsupportedSlideError:
        raise
    except Exception as exc:  # tifffile raises many kinds on malformed files
        raise UnsupportedSlideError(path, f"cannot parse the TIFF structure: {exc}") from exc
    raise UnsupportedSlideError(
        path,
        "the direct TIFF decoder reads Aperio, generic, OME and SubIFD TIFF only "
        f"(OpenSlide says {vendor})",
    )


# tifffile format flags of a TIFF with no vendor-specific layout.
PLAIN_TIFF_FLAGS = frozenset({"uniform", "shaped", "bigtiff"})


def _has_subifds(tif: Any) -> bool:
    return bool(tif.pages[0].subifds)


def _openslide_layout(path: str, tif: Any, vendor: str) -> TiledStructure:
    """Levels, properties and MPP exactly as OpenSlide's aperio/generic-tiff drivers."""
    pages = [tif.pages[i] for i in range(len(tif.pages))]
    first = pages[0]
    if vendor == "aperio":
        chosen = [p for p in pages if p.is_tiled]
    else:
        chosen = [
            p for i, p in enumerate(pages) if p.is_tiled and (i == 0 or int(p.subfiletype) & 1)
        ]
        chosen.sort(key=lambda p: -int(p.imagewidth))
    if not chosen:
        raise UnsupportedSlideError(path, "no tiled pyramid levels")
    levels = tuple(_level(path, p, i) for i, p in enumerate(chosen))
    tags = {tag.name: tag.value for tag in first.tags}
    associated = _aperio_associated(pages) if vendor == "aperio" else {}
    icc = chosen[0].tags.get("InterColorProfile")
    icc_size = len(icc.value) if icc is not None and icc.value else 0
    downsamples = _downsamples(levels)
    properties, mpp = _properties(vendor, tags, levels, downsamples)
    for name, (width, height) in associated.items():
        properties[f"openslide.associated.{name}.width"] = str(width)
        properties[f"openslide.associated.{name}.height"] = str(height)
    if icc_size:
        properties["openslide.icc-size"] = str(icc_size)
    return TiledStructure(
        vendor=vendor, levels=levels, downsamples=downsamples, properties=properties, mpp=mpp
    )


def _level(path: str, page: Any, index: int, *, channels: list[Any] | None = None) -> TiledLevel:
    """Check one page is something the decoder reproduces exactly, and describe it.

    The page is tiled or striped (strips become full-width tiles) and holds 8-bit RGB,
    interleaved or as separate planes; ``channels`` instead gives three one-sample pages
    (OME-TIFF's separate R, G and B channels) that together make the level.
    """
    what = f"level {index}"
    pages = channels if channels is not None else [page]
    first = pages[0]
    for p in pages:
        if int(p.imagedepth) != 1 or (p.is_tiled and int(p.tiledepth) != 1):
            raise UnsupportedSlideError(path, f"{what}: volumetric tiles are not supported")
        if int(p.bitspersample) != 8:
            raise UnsupportedSlideError(path, f"{what}: only 8-bit images are supported")
    samples = int(first.samplesperpixel)
    if channels is not None:
        if len(pages) != 3 or any(int(p.samplesperpixel) != 1 for p in pages):
            raise UnsupportedSlideError(path, f"{what}: expected three one-sample channel pages")
        geometry = {
            (int(p.imagewidth), int(p.imagelength), int(p.compression), _chunk(p)) for p in pages
        }
        if len(geometry) != 1:
            raise UnsupportedSlideError(path, f"{what}: the channel pages differ in layout")
        planes = 3
    elif samples != 3:
        raise UnsupportedSlideError(path, f"{what}: only 8-bit, 3-sample images are supported")
    else:
        planes = 1 if int(first.planarconfig) == 1 else 3
    compression = int(first.compression)
    photometric = int(first.photometric)
    predictor = int(getattr(first, "predictor", 1) or 1)
    jpeg_colorspace: str | None = None
    ycbcr = False
    if compression == JPEG:
        codec = "jpeg"
        if planes == 3:
            jpeg_colorspace = "GRAY"
        elif photometric == PHOTOMETRIC_RGB:
            jpeg_colorspace = "RGB"
        elif photometric == PHOTOMETRIC_YCBCR:
            jpeg_colorspace = "YCBCR"
        else:
            raise UnsupportedSlideError(path, f"{what}: JPEG with photometric {photometric}")
    elif compression in JPEG2000_CODECS:
        codec = "jpeg2000"
        ycbcr = planes == 1 and j2k_holds_ycbcr(compression, photometric)
    elif compression in LOSSLESS_CODECS:
        codec = LOSSLESS_CODECS[compression]
        if photometric not in (PHOTOMETRIC_RGB, 1) or (photometric == 1 and planes != 3):
            raise UnsupportedSlideError(path, f"{what}: photometric {photometric} not supported")
        if predictor not in (1, 2):
            raise UnsupportedSlideError(path, f"{what}: predictor {predictor} not supported")
    else:
        raise UnsupportedSlideError(
            path, f"{what}: compression {compression} is not read by the direct decoder"
        )
    width, height = int(first.imagewidth), int(first.imagelength)
    striped = not first.is_tiled
    if striped:
        tw, th = width, min(int(first.rowsperstrip or height), height)
    else:
        tw, th = int(first.tilewidth), int(first.tilelength)
    across, down = -(-width // tw), -(-height // th)
    offsets = np.concatenate([np.asarray(p.dataoffsets, dtype=np.int64) for p in pages])
    counts = np.concatenate([np.asarray(p.databytecounts, dtype=np.int64) for p in pages])
    if offsets.size != across * down * planes or counts.size != across * down * planes:
        raise UnsupportedSlideError(path, f"{what}: tile table does not match the tile grid")
    jpeg_tables = first.jpegtables
    return TiledLevel(
        width=width,
        height=height,
        tile_width=tw,
        tile_height=th,
        tiles_across=across,
        tiles_down=down,
        offsets=offsets,
        bytecounts=counts,
        codec=codec,
        jpeg_colorspace=jpeg_colorspace,
        jpeg_tables=bytes(jpeg_tables) if jpeg_tables else None,
        horizontal_predictor=predictor == 2,
        planes=planes,
        striped=striped,
        ycbcr_to_rgb=ycbcr,
    )


def _chunk(page: Any) -> tuple[int, int]:
    if page.is_tiled:
        return int(page.tilewidth), int(page.tilelength)
    return int(page.imagewidth), int(page.rowsperstrip or page.imagelength)


def _aperio_associated(pages: list[Any]) -> dict[str, tuple[int, int]]:
    """Aperio's untiled pages: the second is the thumbnail, others say label/macro."""
    found: dict[str, tuple[int, int]] = {}
    for i, page in enumerate(pages):
        if page.is_tiled or i == 0:
            continue
        name: str | None = "thumbnail" if i == 1 else None
        if name is None:
            lines = str(page.description or "").splitlines()
            words = lines[1].split() if len(lines) > 1 else []
            name = words[0] if words and words[0] in ("label", "macro") else None
        if name is not None:
            found[name] = (int(page.imagewidth), int(page.imagelength))
    return found


def _downsamples(levels: tuple[TiledLevel, ...]) -> tuple[float, ...]:
    """OpenSlide's downsample: the mean of the width and height ratios to level 0."""
    w0, h0 = levels[0].width, levels[0].height
    return tuple((w0 / lv.width + h0 / lv.height) / 2 for lv in levels)


def _properties(
    vendor: str,
    tags: dict[str, Any],
    levels: tuple[TiledLevel, ...],
    downsamples: tuple[float, ...],
) -> tuple[dict[str, str], tuple[float, float] | None]:
    """OpenSlide-named properties and the (x, y) MPP they imply."""
    props: dict[str, str] = {"openslide.vendor": vendor}
    for name in _TIFF_STRING_TAGS:
        value = tags.get(name)
        if isinstance(value, str) and value:
            props[f"tiff.{name}"] = value
    unit = tags.get("ResolutionUnit", 2)  # the TIFF default is inch
    if int(unit) in _RESOLUTION_UNITS:
        props["tiff.ResolutionUnit"] = _RESOLUTION_UNITS[int(unit)]
    resolution: dict[str, float] = {}
    for axis in ("XResolution", "YResolution"):
        value = tags.get(axis)
        if isinstance(value, tuple) and len(value) == 2 and value[1]:
            # libtiff hands OpenSlide a float32
            resolution[axis] = float(np.float32(value[0] / value[1]))
            props[f"tiff.{axis}"] = format_double(resolution[axis])
    description = props.get("tiff.ImageDescription")
    if description is not None:
        props["openslide.comment"] = description
    mpp: tuple[float, float] | None = None
    if vendor == "aperio" and description is not None:
        for part in description.split("|")[1:]:
            key, sep, value = part.partition(" = ")
            if sep:
                props[f"aperio.{key.strip()}"] = value.strip()
        mpp = _aperio_mpp(props)
        if "aperio.AppMag" in props:
            props["openslide.objective-power"] = props["aperio.AppMag"]
    elif vendor == "generic-tiff":
        mpp = _resolution_mpp(props.get("tiff.ResolutionUnit"), resolution)
    if mpp is not None:
        props["openslide.mpp-x"] = format_double(mpp[0])
        props["openslide.mpp-y"] = format_double(mpp[1])
    props["openslide.level-count"] = str(len(levels))
    for i, (lv, ds) in enumerate(zip(levels, downsamples, strict=True)):
        props[f"openslide.level[{i}].width"] = str(lv.width)
        props[f"openslide.level[{i}].height"] = str(lv.height)
        props[f"openslide.level[{i}].downsample"] = format_double(ds)
        props[f"openslide.level[{i}].tile-width"] = str(lv.tile_width)
        props[f"openslide.level[{i}].tile-height"] = str(lv.tile_height)
    return props, mpp


def _aperio_mpp(props: dict[str, str]) -> tuple[float, float] | None:
    try:
        value = float(props["aperio.MPP"])
    except (KeyError, ValueError):
        return None
    return (value, value) if value > 0 and np.isfinite(value) else None


def _resolution_mpp(unit: str | None, resolution: dict[str, float]) -> tuple[float, float] | None:
    per_unit = {"centimeter": 10000.0, "inch": 25400.0}.get(unit or "")
    xres, yres = resolution.get("XResolution"), resolution.get("YResolution")
    if per_unit is None or not xres or not yres:
        return None
    return per_unit / xres, per_unit / yres
