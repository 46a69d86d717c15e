"""OME-TIFF, SubIFD pyramids and plain TIFFs for the direct decoder, read as tifffile's series.

OpenSlide's generic-tiff driver sees only top-level directories, so SubIFD pyramids (OME-TIFF
from QuPath, bioformats2raw/raw2ometiff, tifffile; vips ``--subifd``) look like one level,
and it refuses striped files. tifffile's series know their levels. The largest series is the
slide (OME label and macro images are other series, never levels); the MPP comes from the
OME-XML ``PhysicalSizeX/Y`` (with their units) before the resolution tags.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from slidepatch.errors import UnsupportedLayoutError, UnsupportedSlideError
from slidepatch.slide.backends.tiled_tiff_structure import (
    TiledLevel,
    TiledStructure,
    _downsamples,
    _level,
    _properties,
    format_double,
)

# µm per unit of OME's UnitsLength values that a pixel size can sensibly have.
_MICRONS_PER_UNIT = {
    "m": 1e6,
    "cm": 1e4,
    "mm": 1e3,
    "µm": 1.0,
    "μm": 1.0,
    "um": 1.0,
    "nm": 1e-3,
    "pm": 1e-6,
    "Å": 1e-4,
    "in": 25400.0,
}


def series_structure(path: str, tif: Any, *, vendor: str | None) -> TiledStructure:
    """The levels of the largest series of ``tif`` as a :class:`TiledStructure`."""
    series = max(tif.series, key=lambda s: _area(s))
    levels = _series_levels(path, tif, series)
    first = series.levels[0].keyframe
    tags = {tag.name: tag.value for tag in first.tags}
    downsamples = _downsamples(levels)
    properties, mpp = _properties(vendor or "generic-tiff", tags, levels, downsamples)
    if vendor is None:
        properties.pop("openslide.vendor", None)
    ome_mpp = _ome_mpp(tif, levels[0]) if tif.is_ome else None
    if ome_mpp is not None:
        mpp = ome_mpp
        properties["openslide.mpp-x"] = format_double(mpp[0])
        properties["openslide.mpp-y"] = format_double(mpp[1])
    properties["slidepatch.tiff-layout"] = _layout_name(tif, series, levels)
    return TiledStructure(
        vendor=vendor, levels=levels, downsamples=downsamples, properties=properties, mpp=mpp
    )


def _area(series: Any) -> int:
    page = series.levels[0].keyframe
    return int(page.imagewidth) * int(page.imagelength)


def _layout_name(tif: Any, series: Any, levels: tuple[TiledLevel, ...]) -> str:
    kind = "ome" if tif.is_ome else ("subifd" if tif.pages[0].subifds else "plain")
    planar = "planar" if levels[0].planes == 3 else "interleaved"
    chunks = "striped" if levels[0].striped else "tiled"
    return f"{kind} {chunks} {planar} {series.axes}"


def _series_levels(path: str, tif: Any, series: Any) -> tuple[TiledLevel, ...]:
    """One :class:`TiledLevel` per series level; non-RGB OME is refused by name."""
    axes = str(series.axes)
    shape = tuple(int(n) for n in series.shape)
    dtype = str(series.dtype)
    rgb = dtype == "uint8" and (
        (axes == "YXS" and shape[-1] == 3) or (axes in ("SYX", "CYX") and shape[0] == 3)
    )
    if not rgb:
        layout = f"axes {axes}, shape {shape}, {dtype}"
        if tif.is_ome:
            channels = shape[axes.index("C")] if "C" in axes else 1
            samples = shape[axes.index("S")] if "S" in axes else 1
            raise UnsupportedLayoutError(
                path,
                f"OME-TIFF with {channels} channel(s) of {samples} sample(s) ({layout}) is not "
                "an RGB brightfield image; only 8-bit RGB (3 samples, or 3 channels) is read",
            )
        raise UnsupportedSlideError(path, f"not an 8-bit RGB image ({layout})")
    if tif.is_ome and axes == "CYX":
        fluorescence = _fluorescence_channels(tif, series)
        if fluorescence:
            raise UnsupportedLayoutError(
                path,
                f"OME-TIFF with 3 fluorescence channels ({', '.join(fluorescence)}; axes "
                f"{axes}, {dtype}) is not an RGB brightfield image",
            )
    found: list[TiledLevel] = []
    for i, level in enumerate(series.levels):
        pages = [p.aspage() if hasattr(p, "aspage") else p for p in level.pages]
        if axes == "CYX":
            found.append(_level(path, pages[0], i, channels=pages[:3]))
        else:
            found.append(_level(path, pages[0], i))
    return tuple(sorted(found, key=lambda lv: -lv.width))


_FLUORESCENCE_ATTRIBUTES = ("Fluor", "EmissionWavelength", "ExcitationWavelength")


def _fluorescence_channels(tif: Any, series: Any) -> list[str]:
    """Names of the OME channels of ``series`` that the metadata says are fluorescence."""
    pixels = _ome_pixels(tif, int(series.keyframe.imagewidth), int(series.keyframe.imagelength))
    found: list[str] = []
    for i, channel in enumerate(
        c for c in (pixels if pixels is not None else []) if c.tag.endswith("Channel")
    ):
        illumination = (channel.get("IlluminationType") or "").lower()
        if "fluorescence" in illumination or any(channel.get(a) for a in _FLUORESCENCE_ATTRIBUTES):
            found.append(channel.get("Name") or f"channel {i}")
    return found


def _ome_pixels(tif: Any, width: int, height: int) -> ET.Element | None:
    """The OME ``Pixels`` element of the image of size ``width`` x ``height``."""
    xml = tif.ome_metadata
    if not xml:
        return None
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    for pixels in root.iter():
        if pixels.tag.endswith("Pixels") and (pixels.get("SizeX"), pixels.get("SizeY")) == (
            str(width),
            str(height),
        ):
            return pixels
    return None


def _ome_mpp(tif: Any, level0: TiledLevel) -> tuple[float, float] | None:
    """(x, y) µm/px of the OME Image whose size is level 0, from PhysicalSizeX/Y and units."""
    pixels = _ome_pixels(tif, level0.width, level0.height)
    if pixels is None:
        return None
    x = _physical_size(pixels.get("PhysicalSizeX"), pixels.get("PhysicalSizeXUnit"))
    y = _physical_size(pixels.get("PhysicalSizeY"), pixels.get("PhysicalSizeYUnit"))
    return (x, y) if x is not None and y is not None else None


def _physical_size(value: str | None, unit: str | None) -> float | None:
    try:
        size = float(value) if value is not None else None
    except ValueError:
        return None
    factor = _MICRONS_PER_UNIT.get(unit or "µm")
    if size is None or factor is None or not size > 0:
        return None
    return size * factor


def openslide_misreads(path: str) -> str | None:
    """Why OpenSlide would show this generic TIFF wrongly (OME channel pages), or None.

    OpenSlide reads the first page of an OME-TIFF whose channels are separate pages, so
    an RGB image stored as R, G and B pages comes back grey (the red plane only).
    """
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.is_ome:
                return None
            series = tif.series[0]
            axes, samples = str(series.axes), int(series.keyframe.samplesperpixel)
    except Exception:  # not a TIFF tifffile reads: nothing to say
        return None
    if "C" in axes and samples == 1:
        return (
            f"its OME channels ({axes}) are separate pages and OpenSlide reads only the first "
            "(grey); open it with backend='auto' or 'tiled_tiff'"
        )
    return None
