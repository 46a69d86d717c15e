"""The location computation shared by every sampling class.

Units: ``patch_size`` is pixels at the target ``level_or_mpp``; ``poisson_spacing`` and
``polygon_buffer`` are mask pixels like the reference's (``distance_units="mask"``, the
default) or pixels at the target ``level_or_mpp`` (``distance_units="read"``, which does not
change with the mask level). Everything else is level-0: sampling runs on level-0
coordinates and only the foreground test looks at the mask.

``geometry="reference"`` (default) places and tests candidates as the reference does: the
mask's scale is its pyramid level's downsample (one number for both axes), candidates are
tested at their unrounded position, and the foreground test counts the mask pixels of the
window rounded to whole mask pixels. ``geometry="exact"`` uses the mask's exact per-axis
scale, tests the rounded corner that will be read, and weights partial mask pixels by area.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from os import PathLike, fspath
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt

from slidepatch.annotations import AnnotationPolygon, PolygonSource, load_polygon_data
from slidepatch.annotations.polygon import shapes_of
from slidepatch.errors import LocationError, NoPatchesWarning
from slidepatch.locations import empty, sampling
from slidepatch.locations import regions as rg
from slidepatch.locations.params import PerRegion, check_positive, check_ratio, expand_param
from slidepatch.locations.patchset import (
    LevelOrMpp,
    PatchSet,
    PatchSetOutputs,
)
from slidepatch.masks import Mask, MaskSource, load_mask
from slidepatch.options import ReadOptions, read_options_of
from slidepatch.resolution import Level, Mpp, resolution_of

if TYPE_CHECKING:
    from slidepatch.slide import Slide
    from slidepatch.slide.slide import BackendName

MAX_GRID_STRIDE = 5
MAX_GRID_CANDIDATES = 100_000_000
"""More candidate positions than this (a grid, or Poisson-disk's background grid) means
a wrong MPP or patch size, not a real request: refused before anything is allocated."""
RANDOM_DRAW_FACTOR = 100
RANDOM_MIN_DRAWS = 10_000
# Poisson points are generated this much further apart (level-0 px) so that rounding the
# corners to integers never brings two closer than the requested spacing.
POISSON_ROUNDING_MARGIN = 1.5
#: The reference's default for reporting overlapping polygons, in patch areas.
POLYGONS_OVERLAP_THRESHOLD = 1.0

Geometry = Literal["reference", "exact"]
DistanceUnits = Literal["mask", "read"]


class RegionArgs(TypedDict, total=False):
    """The region keywords a location class hands to :class:`LocationsBase`."""

    weak_label: str
    polygon_data: PolygonSource
    included_labels: list[str]
    excluded_labels: list[str]
    exclusion_labels: list[str]
    check_polygons: bool


def _describe(value: object) -> object:
    if isinstance(value, (str, PathLike)):
        return fspath(value)
    if isinstance(value, np.ndarray):
        return f"array {value.shape} {value.dtype}"
    if isinstance(value, Mask):
        return repr(value)
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], AnnotationPolygon):
        # the coordinates, as the reference's manifest shows them: [points, label, holes]
        return [[_ring(p.points), p.label, [_ring(h) for h in p.holes]] for p in value]
    return value if isinstance(value, (int, float, bool, type(None), list, tuple)) else repr(value)


def _ring(points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """Vertices as tuples, whole numbers as ints (as they were usually given)."""
    # AnnotationPolygon vertices are (x, y) floats; one tuple per vertex, no generator
    # (100,000 cells have 2.4 million vertices).
    return [
        (int(x) if x.is_integer() else x, int(y) if y.is_integer() else y)
        for x, y in ((float(a), float(b)) for a, b in points)
    ]


class LocationsBase(PatchSetOutputs):
    """Computes patch locations eagerly at construction; see the concrete classes."""

    _region_kind = "whole"
    _sampling_kind = "grid"
    _default_overlap_threshold = POLYGONS_OVERLAP_THRESHOLD

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        patch_size: int,
        level_or_mpp: LevelOrMpp,
        foreground_ratio: PerRegion[float],
        overlap_ratio: PerRegion[float],
        polygon_buffer: PerRegion[float],
        seed: int | None,
        slide_mpp: float | None,
        region_args: RegionArgs,
        sampling_args: dict[str, object],
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
        polygons_overlap_threshold: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
    ) -> None:
        from slidepatch.slide import Slide

        path = fspath(wsi_file)
        self._wsi_file = path
        self._resolution = resolution_of(level_or_mpp)
        self._level_or_mpp = self._resolution.value
        if (
            isinstance(patch_size, bool)
            or not isinstance(patch_size, (int, np.integer))
            or (patch_size <= 0)
        ):
            raise LocationError(path, f"patch_size must be a positive int, got {patch_size!r}")
        self._patch_size = int(patch_size)
        self._seed = seed
        opts = read_options_of(read_options, backend=backend, mpp=slide_mpp, path=path)
        self._read_options = opts
        self._slide_mpp = opts.mpp
        self._slide: Slide | None = None
        if geometry not in ("reference", "exact"):
            raise LocationError(path, f"geometry must be 'reference' or 'exact', got {geometry!r}")
        if distance_units not in ("mask", "read"):
            raise LocationError(
                path, f"distance_units must be 'mask' or 'read', got {distance_units!r}"
            )
        self._geometry: Geometry = geometry
        self._distance_units: DistanceUnits = distance_units
        threshold = (
            type(self)._default_overlap_threshold
            if polygons_overlap_threshold is None
            else float(polygons_overlap_threshold)
        )
        self._polygons_overlap_threshold = threshold
        with Slide.open(path, read_options=opts) as slide:
            match self._resolution:
                case Level():
                    factor = float(slide.plan(self._resolution).level0_per_pixel)
                case Mpp(um_per_px=mpp):
                    factor = mpp / slide.require_mpp(f"patches at MPP {mpp}")[0]
            dims = slide.dimensions
            self._slide_mpp_used = None if slide.mpp is None else slide.mpp[0]
            self._mask = load_mask(mask_data, slide_dimensions=dims, wsi_file=path)
            self._mask_level = _matching_level(slide.level_dimensions, self._mask.dimensions)
            level_ds = (
                None if self._mask_level is None else slide.level_downsamples[self._mask_level]
            )
        self._factor = factor
        self._slide_dimensions = dims
        # Level-0 pixels per mask pixel, (x, y): the level's downsample as the reference
        # (and OpenSlide) report it, or the exact per-axis ratio.
        if geometry == "reference" and level_ds is not None:
            self._mask_scale: tuple[float, float] = (float(level_ds), float(level_ds))
        else:
            self._mask_scale = self._mask.downsample
        # poisson_spacing and polygon_buffer: level-0 pixels per unit
        self._distance_factor = self._mask_scale[0] if distance_units == "mask" else self._factor
        self._footprint = self._patch_size * factor
        self._param_info: dict[str, Any] = {
            "wsi_file": path,
            "mask_data": self._mask.source if isinstance(mask_data, Mask) else _describe(mask_data),
            "patch_size": self._patch_size,
            "level_or_mpp": self._level_or_mpp,
            "foreground_ratio": foreground_ratio,
            "overlap_ratio": overlap_ratio,
            "polygon_buffer": polygon_buffer,
            "seed": seed,
            "slide_mpp": slide_mpp,
            "geometry": geometry,
            "distance_units": distance_units,
        }
        self._param_info.update(
            {
                k: _describe(v)
                for k, v in region_args.items()
                if v or k != "exclusion_labels"  # only when used: manifests stay as before
            }
        )
        self._param_info.update(sampling_args)
        self._stats = empty.CandidateStats()
        self._empty_hint: empty.NoPatchesReason | None = None
        self._too_small = 0  # regions smaller than overlap_ratio x the patch area
        self._regions = self._build_regions(region_args, polygon_buffer)
        labels = [r.label for r in self._regions]
        fg = [
            check_ratio("foreground_ratio", v, path=path)
            for v in expand_param("foreground_ratio", foreground_ratio, labels, path=path)
        ]
        ov = [
            check_ratio("overlap_ratio", v, path=path)
            for v in expand_param("overlap_ratio", overlap_ratio, labels, path=path)
        ]
        ((name, value),) = sampling_args.items()
        if self._sampling_kind == "custom":
            if not isinstance(value, list):  # the custom classes pass list(points)
                raise TypeError(f"{path}: points must be a list, got {type(value).__name__}")
            per_region = [value] * len(labels)
            self._param_info[name] = [tuple(point) for point in value]  # as the reference
        else:
            per_region = expand_param(name, value, labels, path=path)
        rng = np.random.default_rng(seed)
        xs: list[npt.NDArray[np.int64]] = []
        ys: list[npt.NDArray[np.int64]] = []
        out_labels: list[str] = []
        for region, f, o, v in zip(self._regions, fg, ov, per_region, strict=True):
            x, y = self._sample(region, f, o, v, rng)
            xs.append(x)
            ys.append(y)
            out_labels.extend([region.label] * x.shape[0])
        x_all = np.concatenate(xs) if xs else np.zeros(0, np.int64)
        y_all = np.concatenate(ys) if ys else np.zeros(0, np.int64)
        keep = _first_unique(x_all, y_all, out_labels)
        n = int(keep.shape[0])
        self._empty_reason = None if n else self._explain_empty(fg, ov, per_region)
        if self._empty_reason is not None:
            warnings.warn(
                NoPatchesWarning(f"{path}: no patch locations: {self._empty_reason.message}"),
                stacklevel=3,
            )
        self._patch_set = PatchSet(
            slide_path=path,
            level_or_mpp=self._level_or_mpp,
            x=x_all[keep],
            y=y_all[keep],
            width=np.full(n, self._patch_size, np.int64),
            height=np.full(n, self._patch_size, np.int64),
            labels=tuple(out_labels[i] for i in keep),
            class_name=type(self).__name__,
            param_info=self._param_info,
            label_names=tuple(labels),
            read_options=opts,
        )

    # ------------------------------------------------------------------ regions
    def _build_regions(self, args: RegionArgs, polygon_buffer: PerRegion[float]) -> list[rg.Region]:
        import shapely

        path = self._wsi_file
        bbox = self._mask_bbox()
        if self._region_kind in ("whole", "inverted"):
            label = str(args.get("weak_label", "") or "")
            if bbox is None:
                self._empty_hint = empty.NoPatchesReason(
                    "no_tissue", "the mask has no tissue (not one foreground pixel)"
                )
                return []
            (buf,) = expand_param("polygon_buffer", polygon_buffer, [label], path=path)
            box = shapely.box(*bbox)
            supplied: list[AnnotationPolygon] = []
            geometry = None
            cut = None
            if self._region_kind == "inverted":
                kept, cut = rg.split_exclusions(
                    load_polygon_data(args["polygon_data"]),
                    args.get("exclusion_labels") or (),
                    args.get("included_labels") or (),
                    path=path,
                )
                supplied = rg.filter_polygons(
                    kept,
                    args.get("included_labels") or (),
                    args.get("excluded_labels") or (),
                    path=path,
                )
                excluded = shapely.unary_union([p.to_shapely() for p in supplied])
                geometry = rg._polygonal(box.difference(excluded))
            distance = float(buf) * self._distance_factor
            buffered = None
            if distance:
                geometry = rg.buffer_geometry(
                    box if geometry is None else geometry, distance, label=label, path=path
                )
                buffered = geometry
            if cut is not None:
                (geometry,) = rg.cut_out([box if geometry is None else geometry], cut)
            if geometry is not None and geometry.is_empty:
                self._empty_hint = empty.NoPatchesReason(
                    "no_tissue",
                    "the excluded polygons (and cut-out regions) cover all of the mask's tissue",
                )
                return []
            region_box = bbox if geometry is None else rg.bbox_of(geometry)
            return [rg.Region(label, region_box, geometry, supplied, buffered)]
        every = load_polygon_data(args["polygon_data"])
        included = args.get("included_labels") or ()
        excluded = args.get("excluded_labels") or ()
        kept, cut = rg.split_exclusions(
            every, args.get("exclusion_labels") or (), included, path=path
        )
        polygons = rg.filter_polygons(kept, included, excluded, path=path)
        if not polygons:
            self._empty_hint = empty.label_reason(
                wanted=[str(v) for v in (included or excluded)],
                present=[p.label for p in every],
                excluded=not included,
            )
        labels = [p.label for p in polygons]
        buffers = expand_param("polygon_buffer", polygon_buffer, labels, path=path)
        geoms = []
        buffered_list = []
        for p, shape, buf in zip(polygons, shapes_of(polygons), buffers, strict=True):
            distance = float(buf) * self._distance_factor
            g = rg.buffer_geometry(shape, distance, label=p.label, path=path)
            geoms.append(g)
            buffered_list.append(g if distance else None)
        if args.get("check_polygons", True):
            geoms = rg.resolve_containment(
                geoms,
                labels,
                path=path,
                overlap_area=self._polygons_overlap_threshold * self._footprint**2,
            )
        geoms = rg.cut_out(geoms, cut)
        boxes = shapely.bounds(np.array(geoms, dtype=object)).tolist() if geoms else []
        return [
            rg.Region(p.label, (0, 0, 0, 0) if g.is_empty else tuple(box), g, [p], b)
            for p, g, b, box in zip(polygons, geoms, buffered_list, boxes, strict=True)
        ]

    def _mask_bbox(self) -> tuple[float, float, float, float] | None:
        """Level-0 box of the mask's True pixels, at the scale ``geometry`` chose.

        ``"exact"`` widens the box to whole level-0 pixels, so that a rounded corner on
        its edge is inside it.
        """
        cols = np.flatnonzero(self._mask.array.any(axis=0))
        if cols.size == 0:
            return None
        rows = np.flatnonzero(self._mask.array.any(axis=1))
        sx, sy = self._mask_scale
        box = (cols[0] * sx, rows[0] * sy, (cols[-1] + 1) * sx, (rows[-1] + 1) * sy)
        if self._geometry == "exact":
            return (
                float(np.floor(box[0] + 1e-9)),
                float(np.floor(box[1] + 1e-9)),
                float(np.ceil(box[2] - 1e-9)),
                float(np.ceil(box[3] - 1e-9)),
            )
        return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))

    # ------------------------------------------------------------------ sampling
    def _sample(
        self, region: rg.Region, fg: float, ov: float, value: Any, rng: np.random.Generator
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        path = self._wsi_file
        fp = self._footprint
        nothing = np.zeros(0, np.int64)
        if region.geometry is not None and region.geometry.is_empty:
            return nothing, nothing
        too_small = (
            region.geometry is not None
            and ov > 0
            and region.geometry.area < ov * fp * fp * (1 - 1e-9)
        )
        if too_small and self._sampling_kind != "random":
            self._too_small += 1
            return nothing, nothing  # no patch can overlap it enough (a cell, a tiny fragment)
        if too_small and value:
            # One tiny fragment must not cost the slide its other regions (the reference
            # raised after 100 x num_patches draws and aborted the whole pool).
            self._too_small += 1
            x0, y0 = region.bbox[0], region.bbox[1]
            warnings.warn(
                f"{path}: region {region.label!r} at ({x0:.0f}, {y0:.0f}) covers "
                f"{region.geometry.area:.0f} level-0 px², less than overlap_ratio {ov} x the "
                f"patch area ({fp * fp:.0f} px²): no patch can lie in it, so it is skipped "
                f"(its {int(value)} random patches are not drawn)",
                UserWarning,
                stacklevel=4,
            )
            return nothing, nothing

        reference = self._geometry == "reference"

        def validate(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Any:
            xi, yi = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)
            ok = rg.valid_candidates(
                region,
                x if reference else xi.astype(np.float64),
                y if reference else yi.astype(np.float64),
                footprint=fp,
                mask=self._mask,
                foreground_ratio=fg,
                overlap_ratio=ov,
                mask_scale=self._mask_scale if reference else None,
                stats=self._stats,
            )
            return xi[ok], yi[ok]

        kind = self._sampling_kind
        if kind == "grid":
            stride = check_positive("patch_stride", value, path=path)
            if stride > MAX_GRID_STRIDE:
                raise LocationError(path, f"patch_stride must be <= {MAX_GRID_STRIDE}, got {value}")
            step = stride * fp
            if step < self._factor - 1e-9:
                raise LocationError(
                    path, f"patch_stride {value} gives a step under one pixel at the target level"
                )
            self._check_grid(region.bbox, step, "grid")
            if reference:  # in mask units, one extra row and column, as the reference
                sx, sy = self._mask_scale
                xmin, ymin, xmax, ymax = region.bbox
                gx, gy = sampling.grid_candidates(
                    (xmin / sx, ymin / sy, xmax / sx, ymax / sy), step / sx, extra=1
                )
                return validate(gx * sx, gy * sy)  # type: ignore[no-any-return]
            return validate(*sampling.grid_candidates(region.bbox, step))  # type: ignore[no-any-return]
        if kind == "custom":
            pts = np.asarray(value, dtype=np.float64).reshape(-1, 2)
            return validate(pts[:, 0], pts[:, 1])  # type: ignore[no-any-return]
        if kind == "poisson":
            spacing = check_positive("poisson_spacing", value, path=path)
            radius = spacing * self._distance_factor + POISSON_ROUNDING_MARGIN
            self._check_grid(region.bbox, radius / math.sqrt(2), "Poisson-disk grid")
            return validate(*sampling.poisson_disk(region.bbox, radius, rng))  # type: ignore[no-any-return]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise LocationError(path, f"num_patches must be an int >= 0, got {value!r}")
        return self._random(region, int(value), validate, rng)

    def _check_grid(self, bbox: tuple[float, float, float, float], step: float, what: str) -> None:
        """Refuse a grid of absurd size with one line naming the slide, MPP and grid size."""
        nx = math.ceil((bbox[2] - bbox[0]) / step)
        ny = math.ceil((bbox[3] - bbox[1]) / step)
        if nx * ny <= MAX_GRID_CANDIDATES:
            return
        mpp = "none" if self._slide_mpp_used is None else f"{self._slide_mpp_used:.4g} µm/px"
        raise LocationError(
            self._wsi_file,
            f"a {what} of {nx:,} x {ny:,} candidate patches (over {MAX_GRID_CANDIDATES:,}) "
            f"for {self._patch_size} px patches at {self._level_or_mpp!r} with slide MPP "
            f"{mpp}: check the slide's MPP (pass slide_mpp=) and the patch size",
        )

    def _random(
        self, region: rg.Region, wanted: int, validate: Any, rng: np.random.Generator
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        xs = np.zeros(0, np.int64)
        ys = np.zeros(0, np.int64)
        limit = max(RANDOM_DRAW_FACTOR * wanted, RANDOM_MIN_DRAWS)
        drawn = 0
        batch = max(4 * wanted, 1024)
        while xs.shape[0] < wanted and drawn < limit:
            x, y = validate(*sampling.random_candidates(region.bbox, batch, rng))
            drawn += batch
            xs = np.concatenate([xs, x])
            ys = np.concatenate([ys, y])
            keep = _first_unique(xs, ys, None)
            xs, ys = xs[keep], ys[keep]
        if xs.shape[0] < wanted:
            raise LocationError(
                self._wsi_file,
                f"region {region.label!r}: found only {xs.shape[0]} of {wanted} valid random "
                f"patches in {drawn} draws; lower num_patches, foreground_ratio or overlap_ratio",
            )
        return xs[:wanted], ys[:wanted]

    def _explain_empty(
        self, fg: Sequence[float], ov: Sequence[float], values: Sequence[Any]
    ) -> empty.NoPatchesReason:
        """Why no patch came out, most fundamental cause first."""
        too_large = empty.geometry_reason(
            footprint=self._footprint,
            patch_size=self._patch_size,
            resolution=self._resolution,
            slide_dimensions=self._slide_dimensions,
        )
        if too_large is not None:
            return too_large
        if self._empty_hint is not None:
            return self._empty_hint
        kind = self._sampling_kind
        if kind == "random" and all(int(v) == 0 for v in values):
            return empty.NoPatchesReason("none_asked", "num_patches is 0")
        if kind == "custom" and all(len(v) == 0 for v in values):
            return empty.NoPatchesReason("none_asked", "no points were given")
        if self._too_small and self._stats.candidates == 0:
            return empty.NoPatchesReason(
                "overlap",
                f"{self._too_small} regions are smaller than overlap_ratio x the patch area "
                f"({self._footprint**2:.0f} level-0 px²): no patch can lie in them",
            )
        return empty.candidate_reason(
            self._stats,
            foreground_ratio=max(fg, default=0.0),
            overlap_ratio=max(ov, default=0.0),
        )

    # ------------------------------------------------------------------ outputs

    @property
    def empty_reason(self) -> empty.NoPatchesReason | None:
        """Why this slide gave no patch (None when it gave some)."""
        return self._empty_reason

    @property
    def patch_data_mask_level(self) -> list[tuple[tuple[float, float], tuple[float, float], str]]:
        """``patch_data`` in mask pixels: ``((x, y), (size, size), label)``, floats."""
        sx, sy = self._mask_scale
        ps = self._patch_set
        size = (self._footprint / sx, self._footprint / sy)
        return [
            ((float(x) / sx, float(y) / sy), size, label)
            for x, y, label in zip(ps.x.tolist(), ps.y.tolist(), ps.labels, strict=True)
        ]

    @property
    def mask_scale(self) -> tuple[float, float]:
        """Level-0 pixels per mask pixel (x, y) used for sampling (see ``geometry``)."""
        return self._mask_scale

    @property
    def wsi_slide(self) -> Slide:
        """The slide, opened on first use (the reference's ``GenericSlide`` attribute)."""
        from slidepatch.slide import Slide

        if self._slide is None:
            self._slide = Slide.open(self._wsi_file, read_options=self._read_options)
        return self._slide

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_slide"] = None  # an open slide handle does not cross processes
        return state

    @property
    def polygons_overlap_threshold(self) -> float:
        """Overlaps of at least this many patch areas between polygons get a warning."""
        return self._polygons_overlap_threshold

    @classmethod
    def set_polygons_overlap_threshold(cls, polygons_overlap_threshold: float) -> None:
        """The reference's class-wide setter: the default for objects created afterwards.

        Prefer the ``polygons_overlap_threshold`` keyword, which affects one object only.
        """
        cls._default_overlap_threshold = float(polygons_overlap_threshold)

    @property
    def polygon_labels(self) -> list[str]:
        return [r.label for r in self._regions]

    @property
    def param_info(self) -> dict[str, object]:
        return dict(self._param_info)

    @property
    def class_name(self) -> str:
        return type(self).__name__

    @property
    def wsi_file(self) -> str:
        return self._wsi_file

    @property
    def level_or_mpp(self) -> LevelOrMpp:
        return self._level_or_mpp

    @property
    def patch_size(self) -> int:
        return self._patch_size

    @property
    def slide_mpp(self) -> float | None:
        return self._slide_mpp

    @property
    def read_options(self) -> ReadOptions:
        """How the slide is opened and read, here and in every extractor worker."""
        return self._read_options

    @property
    def mask(self) -> Mask:
        return self._mask

    @property
    def mask_shape(self) -> tuple[int, int]:
        """Mask array shape (height, width)."""
        return (int(self._mask.array.shape[0]), int(self._mask.array.shape[1]))

    @property
    def level0_footprint(self) -> float:
        """Patch side in level-0 pixels."""
        return self._footprint

    @property
    def shapely_polygons(self) -> list[Any]:
        """The regions as shapely geometries in mask pixels, as the reference gives them
        (``regions`` holds them in level-0 pixels)."""
        import shapely
        from shapely import affinity

        sx, sy = self._mask_scale
        return [
            affinity.scale(
                shapely.box(*r.bbox) if r.geometry is None else r.geometry,
                xfact=1 / sx,
                yfact=1 / sy,
                origin=(0, 0),
            )
            for r in self._regions
        ]

    @property
    def regions(self) -> list[rg.Region]:
        return list(self._regions)

    def save_preview_image(
        self,
        image_file: str | PathLike[str],
        *,
        patch_color: str | None = "red",
        bbox_color: str | None = "lime",
        polygon_color: str | None = "blue",
        holes_color: str | None = "teal",
        buffer_color: str | None = "black",
        thickness: int = 2,
        patch_markers: bool = False,
        level_or_minsize: int | None = None,
        drawn_labels: Sequence[str] = (),
        drawn_patches_labels: Sequence[str] = (),
        max_size: int | None = None,
        legend: bool = False,
    ) -> None:
        """Save the slide at a low level with patches, boxes, polygons, holes and buffers.

        By default the image has the mask's size (as in the reference). ``max_size`` caps
        its long side (e.g. 2048); ``legend=True`` colours patches by label, draws a legend
        with the slide's name and counts, and saves a compact palette PNG.
        """
        from slidepatch.locations.preview import draw_preview

        draw_preview(
            self,
            image_file,
            patch_color=patch_color,
            bbox_color=bbox_color,
            polygon_color=polygon_color,
            holes_color=holes_color,
            buffer_color=buffer_color,
            thickness=thickness,
            patch_markers=patch_markers,
            level_or_minsize=level_or_minsize,
            drawn_labels=drawn_labels,
            drawn_patches_labels=drawn_patches_labels,
            max_size=max_size,
            legend=legend,
        )

    def __repr__(self) -> str:
        return f"{self.class_name}({self._wsi_file!r}, {self.patch_count} patches)"


def _matching_level(
    level_dimensions: Sequence[tuple[int, int]], size: tuple[int, int]
) -> int | None:
    """The highest-numbered level of exactly ``size`` (the reference's choice), or None."""
    for level in range(len(level_dimensions) - 1, -1, -1):
        if tuple(level_dimensions[level]) == tuple(size):
            return level
    return None


def _first_unique(
    x: npt.NDArray[np.int64], y: npt.NDArray[np.int64], labels: Sequence[str] | None
) -> npt.NDArray[np.int64]:
    """Indices of the first occurrence of each (x, y[, label]), in their original order."""
    if x.shape[0] == 0:
        return np.zeros(0, np.int64)
    if labels is None:
        codes = np.zeros(x.shape[0], np.int64)
    else:
        _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    keys = np.stack([x, y, codes.astype(np.int64)], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    return np.sort(first).astype(np.int64)
