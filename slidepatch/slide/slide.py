"""Slide: open a whole-slide image, answer geometry questions, read regions at a level or MPP."""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from os import PathLike, fspath
from types import TracebackType
from typing import Literal

import numpy as np
import numpy.typing as npt

from slidepatch.errors import (
    InvalidRegionError,
    LevelOutOfRangeError,
    MetadataWarning,
    MppUnavailableError,
    ResamplingRequiredError,
    SlideNotFoundError,
    SlideReadError,
)
from slidepatch.options import DEFAULT_MPP_TOLERANCE, WHITE, ReadOptions, read_options_of
from slidepatch.options import BackendName as BackendName  # re-exported
from slidepatch.resolution import Level, LevelOrMpp, Mpp, Resolution, resolution_of
from slidepatch.slide.backends.base import Backend
from slidepatch.slide.buffers import decode_buffer

ResamplingMode = Literal["tile", "wsi"] | None
MppSource = Literal["metadata", "override", "missing"]

MAX_BOUNDED_PIXELS = 2**24
"""Largest level (16.8 Mpx, 50 MB of RGB) that masks and previews read whole, as the
reference does; a larger one (a single-level scan) is read as a downsample of this size,
so a tissue mask peaks near 500 MB whatever the slide's size."""
MAX_RESAMPLED_COPY_BYTES = 16 * 2**30
"""Largest whole-slide copy "wsi" resampling may build (an absurd MPP or slide is an error)."""
BOUNDED_STRIP_BYTES = 16 * 2**20
"""Source strip budget when streaming a larger level into that size."""
HOW_TO_PASS_MPP = "pass mpp=<µm per pixel> to Slide.open (or slide_mpp= to the location class)"
"""The advice every missing-MPP message ends with (the command line says it in flags)."""
PLAUSIBLE_MPP = (0.05, 20.0)
"""µm/px a scanner or microscope image can have; metadata outside is a screen default
(72, 96 or 300 dpi copied from a JPEG or PNG) and is treated as missing."""


@dataclass(frozen=True)
class ReadPlan:
    """How a ``level_or_mpp`` request is served.

    ``level`` is the native level the pixels come from; ``scale`` is how many of that
    level's pixels make one output pixel (1.0 for a native read); ``mpp`` is the output
    resolution in µm/px when known.
    """

    level: int
    scale: float
    level0_per_pixel: float
    mpp: float | None

    @property
    def is_native(self) -> bool:
        return self.scale == 1.0


class Slide:
    """A whole-slide image opened through a backend.

    Use :meth:`Slide.open`; a Slide is a context manager and may be read from many threads.
    """

    def __init__(
        self,
        *,
        path: str,
        backend: Backend,
        mpp: float | None = None,
        mpp_tolerance: float = DEFAULT_MPP_TOLERANCE,
        fill: tuple[int, int, int] = WHITE,
    ) -> None:
        self._path = path
        self._backend = backend
        self._mpp_tolerance = float(mpp_tolerance)
        self._fill = tuple(int(c) for c in fill)
        if len(self._fill) != 3 or not all(0 <= c <= 255 for c in self._fill):
            raise ValueError(f"{path}: fill must be an (r, g, b) tuple of 0..255, got {fill!r}")
        self._read_options: ReadOptions | None = None
        self._copies: dict[float, npt.NDArray[np.uint8]] = {}
        self._copies_lock = threading.Lock()
        if mpp is not None:
            if not (isinstance(mpp, (int, float)) and math.isfinite(mpp) and mpp > 0):
                raise ValueError(f"{path}: mpp override must be a positive number, got {mpp!r}")
            self._mpp: tuple[float, float] | None = (float(mpp), float(mpp))
            self._mpp_source: MppSource = "override"
        else:
            self._mpp = plausible_mpp(path, backend.mpp)
            self._mpp_source = "metadata" if self._mpp is not None else "missing"
            if backend.mpp is None:
                _warn_unitless_resolution(path, backend.properties)
        self._ignored_mpp = backend.mpp if self._mpp is None else None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        path: str | PathLike[str],
        *,
        read_options: ReadOptions | None = None,
        backend: BackendName | None = None,
        mpp: float | None = None,
        mpp_tolerance: float | None = None,
        fill: tuple[int, int, int] | None = None,
    ) -> Slide:
        """Open ``path`` as ``read_options`` say; ``mpp`` overrides missing or wrong MPP
        metadata (µm/px). ``backend``, ``mpp``, ``mpp_tolerance`` and ``fill`` are
        shorthands that replace the matching fields of ``read_options``.

        ``path`` is a slide file or a DICOM WSI series folder (one slide per series).
        """
        from slidepatch.slide import dicom_series
        from slidepatch.slide.backends import open_backend

        opts = read_options_of(read_options, backend=backend, mpp=mpp, path=path)
        spath = fspath(path)
        if mpp_tolerance is not None or fill is not None:
            try:
                opts = replace(
                    opts,
                    mpp_tolerance=opts.mpp_tolerance if mpp_tolerance is None else mpp_tolerance,
                    fill=opts.fill if fill is None else fill,
                )
            except ValueError as exc:
                raise ValueError(f"{spath}: {exc}") from None
        if not os.path.exists(spath):
            raise SlideNotFoundError(spath, "no such file")
        if os.path.isdir(spath):
            source = dicom_series.volume_file(spath)  # a DICOM series is its folder
        else:
            source = spath
            if dicom_series.is_dicom_file(spath):
                dicom_series.check_instance_file(spath)
        slide = cls(
            path=spath,
            backend=open_backend(source, opts.backend),
            mpp=opts.mpp,
            mpp_tolerance=opts.mpp_tolerance,
            fill=opts.fill,
        )
        if opts.tile_cache_bytes is not None:
            slide.limit_tile_cache(opts.tile_cache_bytes)
        slide._read_options = opts
        return slide

    @property
    def read_options(self) -> ReadOptions:
        """The options this slide was opened with."""
        opts = self._read_options
        if opts is None:
            opts = ReadOptions(
                backend=self._backend.name,  # type: ignore[arg-type]
                mpp=self._mpp[0] if self._mpp_source == "override" and self._mpp else None,
                mpp_tolerance=self._mpp_tolerance,
                fill=self.fill,
            )
        return opts

    def close(self) -> None:
        self._backend.close()

    def limit_tile_cache(self, max_bytes: int) -> None:
        """Bound this slide's decoded-tile cache (a reader keeping many slides open splits
        its memory between them); backends without a cache ignore it."""
        cache = getattr(self._backend, "tile_cache", None)
        if cache is not None:
            cache.resize(max_bytes)

    def __enter__(self) -> Slide:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Slide({self._path!r}, backend={self._backend.name!r})"

    # ------------------------------------------------------------------ geometry
    @property
    def path(self) -> str:
        return self._path

    @property
    def slide_name(self) -> str:
        """The file name (basename)."""
        return os.path.basename(self._path)

    @property
    def slide_id(self) -> str:
        """The file name without its extension; double extensions such as '.ome.tiff' go too."""
        return slide_id_from_path(self._path)

    @property
    def backend_name(self) -> str:
        return self._backend.name

    @property
    def dimensions(self) -> tuple[int, int]:
        return self._backend.level_dimensions[0]

    @property
    def level_count(self) -> int:
        return len(self._backend.level_dimensions)

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        return self._backend.level_dimensions

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return self._backend.level_downsamples

    @property
    def properties(self) -> Mapping[str, str]:
        return self._backend.properties

    @property
    def vendor(self) -> str | None:
        return self._backend.vendor

    @property
    def mpp(self) -> tuple[float, float] | None:
        """(x, y) µm per level-0 pixel, or None when unknown."""
        return self._mpp

    @property
    def mpp_source(self) -> MppSource:
        return self._mpp_source

    @property
    def level_mpps(self) -> tuple[float, ...] | None:
        if self._mpp is None:
            return None
        return tuple(self._mpp[0] * ds for ds in self.level_downsamples)

    @property
    def fill(self) -> tuple[int, int, int]:
        return self._fill  # type: ignore[return-value]

    @property
    def mpp_tolerance(self) -> float:
        return self._mpp_tolerance

    def check_level(self, level: int) -> int:
        if not 0 <= level < self.level_count:
            raise LevelOutOfRangeError(
                self._path,
                f"level {level} out of range: the slide has levels 0..{self.level_count - 1}",
            )
        return level

    def require_mpp(self, what: str) -> tuple[float, float]:
        if self._mpp is None:
            said = (
                "it has no MPP metadata"
                if self._ignored_mpp is None
                else f"its resolution metadata ({self._ignored_mpp[0]:.4g} µm/px) is a "
                "screen default, not a scanner's"
            )
            raise MppUnavailableError(
                self._path, f"{what} needs the slide's MPP, but {said}; {HOW_TO_PASS_MPP}"
            )
        return self._mpp

    def native_level_for_mpp(self, mpp: float) -> int | None:
        """The native level whose MPP is within the tolerance of ``mpp``, if any."""
        base = self.require_mpp(f"MPP {mpp}")[0]
        for level, ds in enumerate(self.level_downsamples):
            if abs(base * ds - mpp) <= self._mpp_tolerance * mpp:
                return level
        return None

    def plan(
        self, level_or_mpp: Resolution | LevelOrMpp, *, resampling_mode: ResamplingMode = None
    ) -> ReadPlan:
        """Resolve a :class:`Level` or :class:`Mpp` (or the reference's int / float, parsed
        here) into the native level and scale that serve it."""
        match resolution_of(level_or_mpp):
            case Level(index=index):
                level = self.check_level(index)
                ds = self.level_downsamples[level]
                mpp = None if self._mpp is None else self._mpp[0] * ds
                return ReadPlan(level=level, scale=1.0, level0_per_pixel=ds, mpp=mpp)
            case Mpp(um_per_px=value):
                return self._plan_mpp(value, resampling_mode)

    def _plan_mpp(self, value: float, resampling_mode: ResamplingMode) -> ReadPlan:
        base = self.require_mpp(f"reading at MPP {value}")[0]
        native = self.native_level_for_mpp(value)
        if native is not None:
            ds = self.level_downsamples[native]
            return ReadPlan(level=native, scale=1.0, level0_per_pixel=ds, mpp=base * ds)
        if resampling_mode is None:
            natives = ", ".join(f"{m:.4g}" for m in self.level_mpps or ())
            raise ResamplingRequiredError(
                self._path,
                f"MPP {value} matches no native level (native MPPs: {natives}); pass "
                "resampling_mode='tile' or 'wsi' to resample",
            )
        wanted = value / base  # level-0 pixels per output pixel
        level = 0
        for i, ds in enumerate(self.level_downsamples):
            if ds <= wanted * (1 + 1e-9):
                level = i
        scale = wanted / self.level_downsamples[level]
        return ReadPlan(level=level, scale=scale, level0_per_pixel=wanted, mpp=value)

    # ------------------------------------------------------------------ reading
    def read_region(
        self,
        location: tuple[int, int],
        level_or_mpp: LevelOrMpp | Resolution,
        size: tuple[int, int],
        *,
        resampling_mode: ResamplingMode = None,
        out: npt.NDArray[np.uint8] | None = None,
    ) -> npt.NDArray[np.uint8]:
        """Read a (h, w, 3) uint8 RGB region whose top-left is level-0 ``location``.

        ``level_or_mpp`` is an int level or a float MPP (parsed here) or a :class:`Level` /
        :class:`Mpp`. ``size`` is (w, h) at the requested resolution. Parts beyond the slide
        are filled with the fill colour. With ``out`` the pixels are written into that buffer.
        """
        w, h = int(size[0]), int(size[1])
        if w <= 0 or h <= 0:
            raise InvalidRegionError(self._path, f"region size must be positive, got {size!r}")
        if resampling_mode not in (None, "tile", "wsi"):
            raise ValueError(
                f"{self._path}: resampling_mode must be None, 'tile' or 'wsi', "
                f"got {resampling_mode!r}"
            )
        out = self._check_out(out, w, h)
        resolution = resolution_of(level_or_mpp)
        plan = self.plan(resolution, resampling_mode=resampling_mode)
        x, y = int(location[0]), int(location[1])
        self._check_footprint(x, y, w, h, plan, resolution)
        try:
            if plan.is_native:
                self._read_level(plan.level, (x, y), w, h, out)
            elif resampling_mode == "wsi":
                self._read_from_copy(plan, (x, y), out)
            else:
                from slidepatch.slide.resample import read_tile_mode

                read_tile_mode(self, plan, (x, y), (w, h), out)
        except SlideReadError as exc:
            raise SlideReadError(
                self._path,
                f"region at level-0 ({x}, {y}) size {w}x{h} at {resolution.text}: {exc.message}",
            ) from exc
        return out

    def _check_footprint(
        self, x: int, y: int, w: int, h: int, plan: ReadPlan, resolution: Resolution
    ) -> None:
        """Refuse a region whose level-0 footprint does not touch the slide."""
        z = plan.level0_per_pixel
        width, height = self.dimensions
        if x >= width or y >= height or x + w * z <= 0 or y + h * z <= 0:
            raise InvalidRegionError(
                self._path,
                f"region at level-0 ({x}, {y}) size {w}x{h} at {resolution.text} lies entirely "
                f"outside the slide ({width}x{height})",
            )

    def _read_from_copy(
        self, plan: ReadPlan, location: tuple[int, int], out: npt.NDArray[np.uint8]
    ) -> None:
        from slidepatch.slide.resample import read_from_copy

        copy = self.resampled_copy(plan)
        if not read_from_copy(
            copy,
            location=location,
            level0_per_pixel=plan.level0_per_pixel,
            out=out,
            fill=self.fill,
        ):
            h, w = out.shape[:2]
            raise InvalidRegionError(
                self._path,
                f"region at level-0 {location} size {w}x{h} at MPP {plan.mpp} lies outside the "
                "resampled slide",
            )

    def resampled_copy(self, plan: ReadPlan) -> npt.NDArray[np.uint8]:
        """The whole slide resampled as ``plan`` says ("wsi" mode), built once and cached.

        Built from the nearest finer native level strip by strip. Only coarser-than-level-0
        resolutions are allowed: a finer copy would be larger than the full-resolution slide.
        The array is read-only and shared by every thread reading this Slide.
        """
        if plan.level0_per_pixel < 1.0:
            raise ResamplingRequiredError(
                self._path,
                f"MPP {plan.mpp} is finer than the slide's level 0 ({self.level_mpps or ()}); "
                "resampling_mode='wsi' only makes coarser copies, use resampling_mode='tile'",
            )
        key = plan.level0_per_pixel
        from slidepatch.slide.resample import resampled_size

        cw, ch = resampled_size(self.dimensions, key)
        if cw * ch * 3 > MAX_RESAMPLED_COPY_BYTES:
            raise ResamplingRequiredError(
                self._path,
                f"resampling_mode='wsi' at MPP {plan.mpp} would hold a {cw:,} x {ch:,} copy "
                f"of the slide ({cw * ch * 3 / 2**30:.1f} GiB, over "
                f"{MAX_RESAMPLED_COPY_BYTES // 2**30} GiB); use resampling_mode='tile'",
            )
        with self._copies_lock:
            copy = self._copies.get(key)
            if copy is None:
                from slidepatch.slide.resample import resample_whole_slide, resampled_size

                copy = resample_whole_slide(
                    self,
                    level=plan.level,
                    level0_per_pixel=key,
                    size=resampled_size(self.dimensions, key),
                )
                copy.setflags(write=False)
                self._copies[key] = copy
        return copy

    def get_thumbnail(self, *, max_size: tuple[int, int] = (800, 800)) -> npt.NDArray[np.uint8]:
        """The whole slide as an (h, w, 3) array fitting in ``max_size`` (w, h), aspect kept.

        Read from the lowest-resolution level that is still at least as fine as the
        thumbnail, then downscaled with Lanczos strip by strip; never upscaled.
        """
        mw, mh = int(max_size[0]), int(max_size[1])
        if mw <= 0 or mh <= 0:
            raise InvalidRegionError(self._path, f"max_size must be positive, got {max_size!r}")
        from slidepatch.slide.resample import resample_whole_slide

        width, height = self.dimensions
        z = max(width / mw, height / mh, 1.0)
        size = (
            min(mw, max(1, round(width / z))),
            min(mh, max(1, round(height / z))),
        )
        z = max(width / size[0], height / size[1])
        level = self.best_level_for_downsample(z)
        if z == 1.0:
            return self.read_level(0)
        return resample_whole_slide(self, level=level, level0_per_pixel=z, size=size)

    def _check_out(
        self, out: npt.NDArray[np.uint8] | None, w: int, h: int
    ) -> npt.NDArray[np.uint8]:
        if out is None:
            return decode_buffer((h, w, 3))
        if out.dtype != np.uint8 or out.shape != (h, w, 3) or not out.flags.c_contiguous:
            raise ValueError(
                f"{self._path}: out must be a C-contiguous uint8 array of shape {(h, w, 3)}, "
                f"got {out.dtype} {out.shape}"
            )
        return out

    def _read_level(
        self, level: int, location: tuple[int, int], w: int, h: int, out: npt.NDArray[np.uint8]
    ) -> None:
        """Fill ``out`` with level pixels whose top-left is level-0 ``location`` (padded)."""
        xl, yl = self.level_location(level, location)
        self.read_level_window(level=level, x=xl, y=yl, out=out)

    def level_location(self, level: int, location: tuple[int, int]) -> tuple[int, int]:
        """The level coordinates of level-0 ``location`` (the pixel a native read starts at)."""
        ds = self.level_downsamples[level]
        return math.floor(location[0] / ds + 1e-9), math.floor(location[1] / ds + 1e-9)

    def raw_jpeg_tile_for(
        self,
        location: tuple[int, int],
        level_or_mpp: LevelOrMpp | Resolution,
        size: tuple[int, int],
    ) -> bytes | None:
        """The source JPEG tile that *is* this region, as a standalone JPEG file, or None.

        Bytes come back only when ``read_region(location, level_or_mpp, size)`` would be
        exactly one stored JPEG tile: a native level (no resampling), the region aligned
        on the tile grid, the tile's size, and entirely inside the level (an edge tile's
        stored padding is not slide pixels, so partial edge tiles never qualify). Only the
        direct TIFF backend offers this. Decoded, the bytes give read_region's pixels.
        """
        tile_source = getattr(self._backend, "standalone_jpeg_tile", None)
        tile_size = getattr(self._backend, "tile_size", None)
        if tile_source is None or tile_size is None:
            return None
        plan = self.plan(level_or_mpp, resampling_mode="tile")
        if not plan.is_native:
            return None
        level = plan.level
        xl, yl = self.level_location(level, (int(location[0]), int(location[1])))
        tw, th = tile_size(level)
        lw, lh = self.level_dimensions[level]
        if (int(size[0]), int(size[1])) != (tw, th) or xl % tw or yl % th:
            return None
        if xl < 0 or yl < 0 or xl + tw > lw or yl + th > lh:
            return None
        data: bytes | None = tile_source(level, xl // tw, yl // th)
        return data

    def read_level_window(
        self,
        *,
        level: int,
        x: int,
        y: int,
        out: npt.NDArray[np.uint8],
        streamed: bool = False,
    ) -> None:
        """Fill ``out`` (h, w, 3) from level coordinates ``(x, y)``; outside pixels get the fill.

        ``streamed`` marks one strip of a whole-level pass: a backend that caches decoded
        tiles then leaves them out of its cache (bounded memory, patches' tiles kept).
        """
        h, w = out.shape[:2]
        lw, lh = self.level_dimensions[level]
        x1, y1 = max(x, 0), max(y, 0)
        x2, y2 = min(x + w, lw), min(y + h, lh)
        if x2 <= x1 or y2 <= y1:
            raise InvalidRegionError(
                self._path,
                f"region at level {level} ({x}, {y}) size {w}x{h} lies entirely outside the "
                f"level ({lw}x{lh})",
            )
        inside = (x1 - x, y1 - y, x2 - x, y2 - y)
        if inside != (0, 0, w, h):
            out[...] = self._fill
        view = out[inside[1] : inside[3], inside[0] : inside[2]]
        read = self._backend.read_window
        if streamed:
            read = getattr(self._backend, "read_window_streamed", read)
        read(level=level, x=x1, y=y1, out=view, fill=self.fill)

    def read_level(self, level: int) -> npt.NDArray[np.uint8]:
        """The whole of one (low-resolution) level as an (h, w, 3) array."""
        self.check_level(level)
        lw, lh = self.level_dimensions[level]
        out = np.empty((lh, lw, 3), dtype=np.uint8)
        self.read_level_window(level=level, x=0, y=0, out=out)
        return out

    def read_level_bounded(
        self, level: int, *, max_pixels: int = MAX_BOUNDED_PIXELS
    ) -> tuple[npt.NDArray[np.uint8], int]:
        """The whole of ``level``, or an integer downsample of it of at most ``max_pixels``.

        Returns the pixels and the factor ``k`` (1 when the level itself fits). A larger level
        is streamed strip by strip through :func:`resample_whole_slide`, so the peak memory is
        the result plus one strip, whatever the slide's size (masks and previews of
        single-level or huge images).
        """
        self.check_level(level)
        lw, lh = self.level_dimensions[level]
        if lw * lh <= max_pixels:
            return self.read_level(level), 1
        from slidepatch.slide.resample import resample_whole_slide

        k = math.ceil(math.sqrt(lw * lh / max_pixels))
        while math.ceil(lw / k) * math.ceil(lh / k) > max_pixels:
            k += 1
        size = (math.ceil(lw / k), math.ceil(lh / k))
        z = self.level_downsamples[level] * k
        pixels = resample_whole_slide(
            self, level=level, level0_per_pixel=z, size=size, strip_bytes=BOUNDED_STRIP_BYTES
        )
        return pixels, k

    def best_level_for_downsample(self, downsample: float) -> int:
        """The lowest-resolution level whose downsample does not exceed ``downsample``."""
        best = 0
        for i, ds in enumerate(self.level_downsamples):
            if ds <= downsample * (1 + 1e-9):
                best = i
        return best


def plausible_mpp(path: str, mpp: tuple[float, float] | None) -> tuple[float, float] | None:
    """``mpp`` if it lies in :data:`PLAUSIBLE_MPP`, else None with a :class:`MetadataWarning`."""
    if mpp is None:
        return None
    low, high = PLAUSIBLE_MPP
    if all(low <= m <= high for m in mpp):
        return mpp
    warnings.warn(
        f"{path}: the resolution metadata gives {mpp[0]:.4g} x {mpp[1]:.4g} µm/px, outside "
        f"the {low:g}-{high:g} µm/px of scanned slides (a screen default such as 72 dpi); "
        f"it is treated as missing; {HOW_TO_PASS_MPP}",
        MetadataWarning,
        stacklevel=1,  # one place: the default filter shows it once per slide and process
    )
    return None


def _warn_unitless_resolution(path: str, properties: Mapping[str, str]) -> None:
    """One warning for TIFF resolution tags whose unit is "none" (no physical size)."""
    if properties.get("tiff.ResolutionUnit") != "none" or "tiff.XResolution" not in properties:
        return
    warnings.warn(
        f"{path}: the TIFF resolution tags have no unit (ResolutionUnit none), so they give "
        f"no MPP; it is treated as missing; {HOW_TO_PASS_MPP}",
        MetadataWarning,
        stacklevel=1,  # one place: the default filter shows it once per slide and process
    )


DOUBLE_EXTENSIONS = (".ome.tiff", ".ome.tif", ".ome.zarr", ".nii.gz", ".tar.gz")


def slide_id_from_path(path: str | PathLike[str]) -> str:
    """The basename without extension, treating '.ome.tiff'-style double extensions as one."""
    name = os.path.basename(fspath(path))
    lower = name.lower()
    for ext in DOUBLE_EXTENSIONS:
        if lower.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    stem, _ = os.path.splitext(name)
    return stem or name
