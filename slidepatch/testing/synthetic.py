"""Synthetic pyramidal whole-slide images made from real histology texture.

Tests and benchmarks need slides of any size with several levels, but shipping large
scanner files is not an option. :func:`write_synthetic_slide` writes a JPEG-tiled pyramidal
TIFF with ``tifffile``: tissue regions are filled with texture cut from the bundled real
slide (CMU-1-Small-Region, H&E), tiled in 512 px cells with seeded choices of source block
and of flip/transpose, the rest is white-ish glass. Tiles are streamed one row of tiles at a
time, so memory stays bounded whatever the slide size.

Every level is rendered from the same description (texture box-averaged by the level's
downsample, tissue map sampled at the level's pixel centres), so a lower level looks like
the level 0 downsampled. :func:`synthetic_tissue_mask` returns that tissue map as ground
truth at any downsample.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

Layout = Literal["svs", "tiff"]

CELL = 512
"""Side of a texture cell, in level-0 pixels."""
SOURCE_STEP = 64
"""Source blocks start on multiples of this, so every supported downsample divides it."""
FIELD_STEP = 16
"""Tissue map resolution: one tissue/glass decision per 16x16 level-0 pixels."""
GLASS = (242, 241, 244)
MAX_DOWNSAMPLE = SOURCE_STEP

_TEXTURE_FILE = Path(__file__).resolve().parents[1] / "data" / "CMU-1-Small-Region.svs"


# ---------------------------------------------------------------------------- texture
@lru_cache(maxsize=1)
def _texture_level0() -> npt.NDArray[np.uint8]:
    """The CMU-1 pixels, cropped to multiples of SOURCE_STEP (read-only, decoded once)."""
    import tifffile

    image: npt.NDArray[np.uint8] = tifffile.imread(_TEXTURE_FILE, key=0)
    h = image.shape[0] // SOURCE_STEP * SOURCE_STEP
    w = image.shape[1] // SOURCE_STEP * SOURCE_STEP
    cropped = np.ascontiguousarray(image[:h, :w, :3])
    cropped.setflags(write=False)
    return cropped


@lru_cache(maxsize=8)
def _texture(downsample: int) -> npt.NDArray[np.uint8]:
    """The texture box-averaged by ``downsample`` (read-only)."""
    base = _texture_level0()
    if downsample == 1:
        return base
    from PIL import Image

    reduced: npt.NDArray[np.uint8] = np.array(Image.fromarray(base).reduce(downsample))
    reduced.setflags(write=False)
    return reduced


@lru_cache(maxsize=1)
def _source_blocks() -> npt.NDArray[np.int64]:
    """(n, 2) level-0 (x, y) of CELL-sized texture blocks that are almost all tissue."""
    base = _texture_level0()
    step = SOURCE_STEP
    small = base[::8, ::8].astype(np.int16)
    tissue = (small.min(axis=2) < 200) & (small.max(axis=2) - small.min(axis=2) > 20)
    cells = CELL // 8
    stride = step // 8
    found: list[tuple[int, int]] = []
    for y in range(0, tissue.shape[0] - cells + 1, stride):
        for x in range(0, tissue.shape[1] - cells + 1, stride):
            if tissue[y : y + cells, x : x + cells].mean() >= 0.85:
                found.append((x * 8, y * 8))
    if len(found) < 4:  # a texture this sparse would be a broken data file
        raise RuntimeError(f"{_TEXTURE_FILE}: too little tissue texture for synthetic slides")
    blocks = np.array(found, dtype=np.int64)
    blocks.setflags(write=False)
    return blocks


# ---------------------------------------------------------------------------- layout
def _cell_plan(
    width: int, height: int, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per 512 px cell: source block x, y and one of the 8 flips/transposes."""
    rng = np.random.default_rng([seed, 1])
    blocks = _source_blocks()
    rows, cols = math.ceil(height / CELL), math.ceil(width / CELL)
    choice = rng.integers(0, len(blocks), size=(rows, cols))
    variant = rng.integers(0, 8, size=(rows, cols))
    return blocks[choice, 0], blocks[choice, 1], variant


def _tissue_field(
    width: int, height: int, tissue_fraction: float, seed: int
) -> npt.NDArray[np.bool_]:
    """Tissue map with one value per FIELD_STEP x FIELD_STEP level-0 pixels."""
    gh, gw = math.ceil(height / FIELD_STEP), math.ceil(width / FIELD_STEP)
    if tissue_fraction <= 0:
        return np.zeros((gh, gw), dtype=bool)
    if tissue_fraction >= 1:
        return np.ones((gh, gw), dtype=bool)
    rng = np.random.default_rng([seed, 2])
    ys = (np.arange(gh, dtype=np.float32) + 0.5) / gh
    xs = (np.arange(gw, dtype=np.float32) + 0.5) / gw
    aspect = np.float32(width / height)
    field = np.full((gh, gw), -np.inf, dtype=np.float32)
    for _ in range(int(rng.integers(2, 6))):
        cx, cy = rng.uniform(0.2, 0.8, size=2)
        rx = rng.uniform(0.15, 0.35)
        ry = rx * rng.uniform(0.5, 1.5) * float(aspect)
        angle = rng.uniform(0, math.pi)
        harmonics = [
            (k, rng.uniform(0.0, 0.3 / k), rng.uniform(0, 2 * math.pi)) for k in range(2, 7)
        ]
        dx = (xs[None, :] - np.float32(cx)) * aspect
        dy = ys[:, None] - np.float32(cy)
        ca, sa = np.float32(math.cos(angle)), np.float32(math.sin(angle))
        u = (dx * ca + dy * sa) / np.float32(rx)
        v = (-dx * sa + dy * ca) / np.float32(ry) * aspect
        rho = np.sqrt(u * u + v * v)
        theta = np.arctan2(v, u)
        radius = np.ones_like(theta)
        for k, amp, phase in harmonics:
            radius += np.float32(amp) * np.cos(np.float32(k) * theta + np.float32(phase))
        np.maximum(field, 1 - rho / radius, out=field)
    threshold = np.quantile(field, 1 - tissue_fraction)
    tissue: npt.NDArray[np.bool_] = field > threshold
    return tissue


def _field_index(count: int, start: int, downsample: int, limit: int) -> npt.NDArray[np.intp]:
    """Field cell of each level pixel's centre, for ``count`` pixels from ``start``."""
    centres = (np.arange(start, start + count, dtype=np.float64) + 0.5) * downsample
    return np.minimum((centres // FIELD_STEP).astype(np.intp), limit - 1)


def synthetic_tissue_mask(
    *,
    width: int,
    height: int,
    downsample: int = 16,
    tissue_fraction: float = 0.5,
    seed: int = 0,
) -> npt.NDArray[np.bool_]:
    """Ground-truth tissue map of the slide written with the same parameters.

    Returns a boolean array of shape ``(ceil(height / downsample), ceil(width / downsample))``
    where True means the pixel at that downsample shows tissue (its centre lies in tissue).
    """
    _check_size(width, height)
    if downsample < 1:
        raise ValueError(f"downsample must be a positive integer, got {downsample!r}")
    field = _tissue_field(width, height, tissue_fraction, seed)
    rows = _field_index(math.ceil(height / downsample), 0, downsample, field.shape[0])
    cols = _field_index(math.ceil(width / downsample), 0, downsample, field.shape[1])
    mask: npt.NDArray[np.bool_] = field[rows][:, cols]
    return mask


# ---------------------------------------------------------------------------- rendering
def _orient(block: npt.NDArray[np.uint8], variant: int) -> npt.NDArray[np.uint8]:
    if variant & 4:
        block = block.transpose(1, 0, 2)
    if variant & 1:
        block = block[:, ::-1]
    if variant & 2:
        block = block[::-1]
    return block


def _render_band(
    *,
    y0: int,
    band_height: int,
    band_width: int,
    downsample: int,
    plan: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
    field: npt.NDArray[np.bool_],
) -> npt.NDArray[np.uint8]:
    """Level pixels [y0, y0 + band_height) x [0, band_width) at ``downsample``."""
    tex = _texture(downsample)
    src_x, src_y, variant = plan
    cell = CELL // downsample
    band = np.empty((band_height, band_width, 3), dtype=np.uint8)
    rows, cols = variant.shape
    for cy in range(y0 // cell, min(rows, math.ceil((y0 + band_height) / cell))):
        ya, yb = max(cy * cell, y0), min((cy + 1) * cell, y0 + band_height)
        for cx in range(min(cols, math.ceil(band_width / cell))):
            xa, xb = cx * cell, min((cx + 1) * cell, band_width)
            sx, sy = int(src_x[cy, cx]) // downsample, int(src_y[cy, cx]) // downsample
            block = _orient(tex[sy : sy + cell, sx : sx + cell], int(variant[cy, cx]))
            band[ya - y0 : yb - y0, xa:xb] = block[ya - cy * cell : yb - cy * cell, : xb - xa]
    filled = min(rows * cell, y0 + band_height) - y0
    if filled < band_height:
        band[max(filled, 0) :] = GLASS
    if cols * cell < band_width:
        band[:, cols * cell :] = GLASS
    _paint_glass(band, y0=y0, downsample=downsample, field=field)
    return band


def _paint_glass(
    band: npt.NDArray[np.uint8], *, y0: int, downsample: int, field: npt.NDArray[np.bool_]
) -> None:
    """Set the band's glass pixels to GLASS, one slice per run of glass (fast)."""
    band_height, band_width = band.shape[:2]
    r_idx = _field_index(band_height, y0, downsample, field.shape[0])
    c_idx = _field_index(band_width, 0, downsample, field.shape[1])
    glass_value = np.array(GLASS, dtype=np.uint8)
    row_starts = np.flatnonzero(np.diff(r_idx, prepend=-1))
    row_ends = np.append(row_starts[1:], band_height)
    for ra, rb in zip(row_starts.tolist(), row_ends.tolist(), strict=True):
        glass = ~field[r_idx[ra], c_idx]
        edges = np.diff(glass.astype(np.int8), prepend=0, append=0)
        starts = np.flatnonzero(edges == 1).tolist()
        ends = np.flatnonzero(edges == -1).tolist()
        for xa, xb in zip(starts, ends, strict=True):
            band[ra:rb, xa:xb] = glass_value


def _level_tiles(
    *,
    level_size: tuple[int, int],
    tile_size: int,
    downsample: int,
    plan: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
    field: npt.NDArray[np.bool_],
) -> Iterator[npt.NDArray[np.uint8]]:
    """Yield the level's tiles in row-major order; only one row of tiles is held at a time."""
    lw, lh = level_size
    band_width = math.ceil(lw / tile_size) * tile_size
    for y0 in range(0, lh, tile_size):
        band = _render_band(
            y0=y0,
            band_height=tile_size,
            band_width=band_width,
            downsample=downsample,
            plan=plan,
            field=field,
        )
        for x0 in range(0, band_width, tile_size):
            yield band[:, x0 : x0 + tile_size]


def render_synthetic_region(
    *,
    width: int,
    height: int,
    downsample: int,
    box: tuple[int, int, int, int],
    tissue_fraction: float = 0.5,
    seed: int = 0,
) -> npt.NDArray[np.uint8]:
    """The uncompressed pixels of level-``downsample`` box ``(x, y, w, h)`` (level coordinates).

    What the slide written with the same parameters holds before JPEG compression; useful
    as a reference that does not depend on any slide reader.
    """
    _check_size(width, height)
    _check_downsample(downsample)
    x, y, w, h = box
    plan = _cell_plan(width, height, seed)
    field = _tissue_field(width, height, tissue_fraction, seed)
    band = _render_band(
        y0=y, band_height=h, band_width=x + w, downsample=downsample, plan=plan, field=field
    )
    return np.ascontiguousarray(band[:, x : x + w])


# ---------------------------------------------------------------------------- writing
def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"slide size must be positive, got {width}x{height}")


def _check_downsample(downsample: int) -> None:
    if downsample < 1 or MAX_DOWNSAMPLE % downsample:
        raise ValueError(
            f"downsample {downsample!r} not supported: use a power of two up to {MAX_DOWNSAMPLE}"
        )


def _aperio_description(
    *,
    width: int,
    height: int,
    level_size: tuple[int, int],
    tile_size: int,
    quality: int,
    mpp: float | None,
    magnification: float | None,
) -> str:
    head = "Aperio Image Library v12.0.15 \r\n"
    geometry = f"{width}x{height} [0,0 {width}x{height}] ({tile_size}x{tile_size})"
    if level_size != (width, height):
        geometry += f" -> {level_size[0]}x{level_size[1]}"
    fields = [f"{geometry} JPEG/RGB Q={quality}"]
    if magnification is not None:
        fields.append(f"AppMag = {magnification:g}")
    if mpp is not None:
        fields.append(f"MPP = {mpp:g}")
    fields += ["ScanScope ID = SLIDEPATCH-SYNTHETIC", "Filename = synthetic"]
    return head + "|".join(fields)


def write_synthetic_slide(
    path: str | Path,
    *,
    width: int,
    height: int,
    tile_size: int = 256,
    downsamples: Sequence[int] = (1, 4, 16),
    layout: Layout = "svs",
    mpp: float | None = 0.25,
    magnification: float | None = 40,
    jpeg_quality: int = 85,
    tissue_fraction: float = 0.5,
    seed: int = 0,
) -> Path:
    """Write a JPEG-tiled pyramidal TIFF slide of real H&E texture and return its path.

    ``layout="svs"`` writes an Aperio SVS (ImageDescription with ``MPP`` and ``AppMag``:
    OpenSlide reports vendor ``aperio``); ``layout="tiff"`` writes a generic tiled TIFF whose
    MPP is in the resolution tags (vendor ``generic-tiff``). ``mpp=None`` writes no MPP.
    ``downsamples`` are the levels' integer downsamples (powers of two up to 64, starting
    with 1); level sizes are ``ceil(size / downsample)``. ``tile_size`` must be a multiple
    of 16. The same ``width``, ``height``, ``tissue_fraction`` and ``seed`` give the same
    tissue map, see :func:`synthetic_tissue_mask`.
    """
    import tifffile

    _check_size(width, height)
    if tile_size < 16 or tile_size % 16:
        raise ValueError(f"tile_size must be a positive multiple of 16, got {tile_size!r}")
    levels = [int(d) for d in downsamples]
    if not levels or levels[0] != 1 or sorted(set(levels)) != levels:
        raise ValueError(f"downsamples must start with 1 and increase, got {tuple(downsamples)!r}")
    for d in levels:
        _check_downsample(d)
    if layout not in ("svs", "tiff"):
        raise ValueError(f"layout must be 'svs' or 'tiff', got {layout!r}")
    if not 0 <= tissue_fraction <= 1:
        raise ValueError(f"tissue_fraction must be in [0, 1], got {tissue_fraction!r}")
    if mpp is not None and not mpp > 0:
        raise ValueError(f"mpp must be positive or None, got {mpp!r}")

    out_path = Path(path)
    plan = _cell_plan(width, height, seed)
    field = _tissue_field(width, height, tissue_fraction, seed)
    bigtiff = width * height * 3 > 2**31
    with tifffile.TiffWriter(out_path, bigtiff=bigtiff) as tif:
        for d in levels:
            level_size = (math.ceil(width / d), math.ceil(height / d))
            extra: dict[str, object] = {}
            if mpp is not None:
                per_cm = 1e4 / (mpp * d)
                extra["resolution"] = (per_cm, per_cm)
                extra["resolutionunit"] = tifffile.RESUNIT.CENTIMETER
            if d > 1 and layout == "tiff":
                extra["subfiletype"] = tifffile.FILETYPE.REDUCEDIMAGE
            if layout == "svs":
                extra["description"] = _aperio_description(
                    width=width,
                    height=height,
                    level_size=level_size,
                    tile_size=tile_size,
                    quality=jpeg_quality,
                    mpp=mpp,
                    magnification=magnification,
                )
            tif.write(
                _level_tiles(
                    level_size=level_size,
                    tile_size=tile_size,
                    downsample=d,
                    plan=plan,
                    field=field,
                ),
                shape=(level_size[1], level_size[0], 3),
                dtype=np.uint8,
                tile=(tile_size, tile_size),
                photometric="rgb",
                compression="jpeg",
                compressionargs={"level": jpeg_quality},
                metadata=None,
                **extra,  # type: ignore[arg-type]
            )
            if layout == "svs" and d == 1:  # Aperio's second page is a stripped thumbnail
                thumb = _thumbnail(width=width, height=height, plan=plan, field=field)
                tif.write(
                    thumb,
                    photometric="rgb",
                    compression="jpeg",
                    compressionargs={"level": jpeg_quality},
                    rowsperstrip=16,
                    metadata=None,
                    description=(
                        f"Aperio Image Library v12.0.15 \r\n{width}x{height} -> "
                        f"{thumb.shape[1]}x{thumb.shape[0]} - "
                    ),
                )
    return out_path


def _thumbnail(
    *,
    width: int,
    height: int,
    plan: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
    field: npt.NDArray[np.bool_],
    max_side: int = 768,
) -> npt.NDArray[np.uint8]:
    """A small whole-slide image (at most ``max_side`` px a side) for the SVS thumbnail page."""
    from PIL import Image

    d = 1
    while d < MAX_DOWNSAMPLE and max(width, height) / d > max_side:
        d *= 2
    lw, lh = math.ceil(width / d), math.ceil(height / d)
    image = _render_band(y0=0, band_height=lh, band_width=lw, downsample=d, plan=plan, field=field)
    pil = Image.fromarray(image)
    pil.thumbnail((max_side, max_side), Image.Resampling.BOX)
    return np.asarray(pil)
