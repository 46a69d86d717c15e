"""The location classes.

{WholeImage, WholeImageInverted, PolygonRegion} x {Random, PoissonDisk, Grid}.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING

from slidepatch.locations.base import DistanceUnits, Geometry, LocationsBase
from slidepatch.locations.params import PerRegion
from slidepatch.locations.patchset import LevelOrMpp

if TYPE_CHECKING:
    from slidepatch.annotations import PolygonSource
    from slidepatch.masks import MaskSource
    from slidepatch.options import BackendName, ReadOptions


class WholeImageRandomPatches(LocationsBase):
    """Patches inside the tissue mask's bounding box.

    A given number of uniformly random patches per region (``num_patches``).
    """

    _region_kind = "whole"
    _sampling_kind = "random"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        weak_label: str = "",
        num_patches: PerRegion[int],
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            region_args={"weak_label": weak_label},
            sampling_args={"num_patches": num_patches},
        )


class WholeImagePoissonDiskPatches(LocationsBase):
    """Patches inside the tissue mask's bounding box.

    Poisson-disk patches: top-left corners at least ``poisson_spacing`` apart (mask pixels as
    in the reference, or read-level pixels with ``distance_units="read"``).
    """

    _region_kind = "whole"
    _sampling_kind = "poisson"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        weak_label: str = "",
        poisson_spacing: PerRegion[float] = 50,
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            region_args={"weak_label": weak_label},
            sampling_args={"poisson_spacing": poisson_spacing},
        )


class WholeImageGridPatches(LocationsBase):
    """Patches inside the tissue mask's bounding box.

    A grid of patches, step ``patch_stride`` x patch size (0.5 = half overlap).
    """

    _region_kind = "whole"
    _sampling_kind = "grid"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        weak_label: str = "",
        patch_stride: PerRegion[float] = 1,
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            region_args={"weak_label": weak_label},
            sampling_args={"patch_stride": patch_stride},
        )


class WholeImageInvertedRandomPatches(LocationsBase):
    """Patches outside the (label-filtered) polygons.

    A given number of uniformly random patches per region (``num_patches``).
    """

    _region_kind = "inverted"
    _sampling_kind = "random"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        polygon_data: PolygonSource,
        weak_label: str = "",
        included_labels: Sequence[str] = (),
        excluded_labels: Sequence[str] = (),
        exclusion_labels: Sequence[str] = (),
        num_patches: PerRegion[int],
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            region_args={
                "polygon_data": polygon_data,
                "weak_label": weak_label,
                "included_labels": list(included_labels),
                "excluded_labels": list(excluded_labels),
                "exclusion_labels": list(exclusion_labels),
            },
            sampling_args={"num_patches": num_patches},
        )


class WholeImageInvertedPoissonDiskPatches(LocationsBase):
    """Patches outside the (label-filtered) polygons.

    Poisson-disk patches: top-left corners at least ``poisson_spacing`` apart (mask pixels as
    in the reference, or read-level pixels with ``distance_units="read"``).
    """

    _region_kind = "inverted"
    _sampling_kind = "poisson"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        polygon_data: PolygonSource,
        weak_label: str = "",
        included_labels: Sequence[str] = (),
        excluded_labels: Sequence[str] = (),
        exclusion_labels: Sequence[str] = (),
        poisson_spacing: PerRegion[float] = 50,
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            region_args={
                "polygon_data": polygon_data,
                "weak_label": weak_label,
                "included_labels": list(included_labels),
                "excluded_labels": list(excluded_labels),
                "exclusion_labels": list(exclusion_labels),
            },
            sampling_args={"poisson_spacing": poisson_spacing},
        )


class WholeImageInvertedGridPatches(LocationsBase):
    """Patches outside the (label-filtered) polygons.

    A grid of patches, step ``patch_stride`` x patch size (0.5 = half overlap).
    """

    _region_kind = "inverted"
    _sampling_kind = "grid"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        polygon_data: PolygonSource,
        weak_label: str = "",
        included_labels: Sequence[str] = (),
        excluded_labels: Sequence[str] = (),
        exclusion_labels: Sequence[str] = (),
        patch_stride: PerRegion[float] = 1,
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            region_args={
                "polygon_data": polygon_data,
                "weak_label": weak_label,
                "included_labels": list(included_labels),
                "excluded_labels": list(excluded_labels),
                "exclusion_labels": list(exclusion_labels),
            },
            sampling_args={"patch_stride": patch_stride},
        )


class PolygonRegionRandomPatches(LocationsBase):
    """Patches inside each polygon (holes excluded), labelled by the polygon.

    A given number of uniformly random patches per region (``num_patches``).
    """

    _region_kind = "polygon"
    _sampling_kind = "random"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        polygon_data: PolygonSource,
        check_polygons: bool = True,
        polygons_overlap_threshold: float | None = None,
        included_labels: Sequence[str] = (),
        excluded_labels: Sequence[str] = (),
        exclusion_labels: Sequence[str] = (),
        num_patches: PerRegion[int],
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            polygons_overlap_threshold=polygons_overlap_threshold,
            region_args={
                "polygon_data": polygon_data,
                "check_polygons": check_polygons,
                "included_labels": list(included_labels),
                "excluded_labels": list(excluded_labels),
                "exclusion_labels": list(exclusion_labels),
            },
            sampling_args={"num_patches": num_patches},
        )


class PolygonRegionPoissonDiskPatches(LocationsBase):
    """Patches inside each polygon (holes excluded), labelled by the polygon.

    Poisson-disk patches: top-left corners at least ``poisson_spacing`` apart (mask pixels as
    in the reference, or read-level pixels with ``distance_units="read"``).
    """

    _region_kind = "polygon"
    _sampling_kind = "poisson"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        polygon_data: PolygonSource,
        check_polygons: bool = True,
        polygons_overlap_threshold: float | None = None,
        included_labels: Sequence[str] = (),
        excluded_labels: Sequence[str] = (),
        exclusion_labels: Sequence[str] = (),
        poisson_spacing: PerRegion[float] = 50,
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            polygons_overlap_threshold=polygons_overlap_threshold,
            region_args={
                "polygon_data": polygon_data,
                "check_polygons": check_polygons,
                "included_labels": list(included_labels),
                "excluded_labels": list(excluded_labels),
                "exclusion_labels": list(exclusion_labels),
            },
            sampling_args={"poisson_spacing": poisson_spacing},
        )


class PolygonRegionGridPatches(LocationsBase):
    """Patches inside each polygon (holes excluded), labelled by the polygon.

    A grid of patches, step ``patch_stride`` x patch size (0.5 = half overlap).
    """

    _region_kind = "polygon"
    _sampling_kind = "grid"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        polygon_data: PolygonSource,
        check_polygons: bool = True,
        polygons_overlap_threshold: float | None = None,
        included_labels: Sequence[str] = (),
        excluded_labels: Sequence[str] = (),
        exclusion_labels: Sequence[str] = (),
        patch_stride: PerRegion[float] = 1,
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            polygons_overlap_threshold=polygons_overlap_threshold,
            region_args={
                "polygon_data": polygon_data,
                "check_polygons": check_polygons,
                "included_labels": list(included_labels),
                "excluded_labels": list(excluded_labels),
                "exclusion_labels": list(exclusion_labels),
            },
            sampling_args={"patch_stride": patch_stride},
        )


class WholeImageCustomPatches(LocationsBase):
    """Given level-0 top-left ``points``, kept where they pass the whole-image tests."""

    _region_kind = "whole"
    _sampling_kind = "custom"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        points: Sequence[Sequence[float]],
        weak_label: str = "",
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            region_args={"weak_label": weak_label},
            sampling_args={"points": list(points)},
        )


class WholeImageInvertedCustomPatches(LocationsBase):
    """Given level-0 top-left ``points``, kept where they lie outside the polygons."""

    _region_kind = "inverted"
    _sampling_kind = "custom"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        polygon_data: PolygonSource,
        points: Sequence[Sequence[float]],
        weak_label: str = "",
        included_labels: Sequence[str] = (),
        excluded_labels: Sequence[str] = (),
        exclusion_labels: Sequence[str] = (),
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            region_args={
                "polygon_data": polygon_data,
                "weak_label": weak_label,
                "included_labels": list(included_labels),
                "excluded_labels": list(excluded_labels),
                "exclusion_labels": list(exclusion_labels),
            },
            sampling_args={"points": list(points)},
        )


class PolygonRegionCustomPatches(LocationsBase):
    """Given level-0 top-left ``points``; one patch per polygon each point passes in."""

    _region_kind = "polygon"
    _sampling_kind = "custom"

    def __init__(
        self,
        *,
        wsi_file: str | PathLike[str],
        mask_data: MaskSource,
        polygon_data: PolygonSource,
        points: Sequence[Sequence[float]],
        check_polygons: bool = True,
        polygons_overlap_threshold: float | None = None,
        included_labels: Sequence[str] = (),
        excluded_labels: Sequence[str] = (),
        exclusion_labels: Sequence[str] = (),
        patch_size: int = 256,
        level_or_mpp: LevelOrMpp = 0,
        foreground_ratio: PerRegion[float] = 0.95,
        overlap_ratio: PerRegion[float] = 0.95,
        polygon_buffer: PerRegion[float] = 0,
        seed: int | None = None,
        slide_mpp: float | None = None,
        backend: BackendName = "auto",
        read_options: ReadOptions | None = None,
        geometry: Geometry = "reference",
        distance_units: DistanceUnits = "mask",
    ) -> None:
        super().__init__(
            wsi_file=wsi_file,
            mask_data=mask_data,
            patch_size=patch_size,
            level_or_mpp=level_or_mpp,
            foreground_ratio=foreground_ratio,
            overlap_ratio=overlap_ratio,
            polygon_buffer=polygon_buffer,
            seed=seed,
            slide_mpp=slide_mpp,
            backend=backend,
            read_options=read_options,
            geometry=geometry,
            distance_units=distance_units,
            polygons_overlap_threshold=polygons_overlap_threshold,
            region_args={
                "polygon_data": polygon_data,
                "check_polygons": check_polygons,
                "included_labels": list(included_labels),
                "excluded_labels": list(excluded_labels),
                "exclusion_labels": list(exclusion_labels),
            },
            sampling_args={"points": list(points)},
        )
