"""What a coordinate file says about a slide, computed from the slide itself.

Writing needs the slide's real geometry (level sizes, downsamples, MPP) so that the level-0
patch size in the file is the one slidepatch reads; reading needs it to turn a tool's patch
size and magnification back into a ``level_or_mpp`` and to check that a file was made for
this slide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from slidepatch.errors import CoordinateFileError
from slidepatch.locations.patchset import PatchSet
from slidepatch.options import BackendName, ReadOptions
from slidepatch.resolution import Level, Mpp, Resolution

if TYPE_CHECKING:
    from slidepatch.slide import Slide

LEVEL_MATCH = 1e-3
"""Relative difference under which a footprint ratio is taken to be a level's downsample."""


@dataclass(frozen=True)
class SlideGeometry:
    """The facts about one slide that coordinate files record."""

    path: str
    slide_id: str
    dimensions: tuple[int, int]
    level_dimensions: tuple[tuple[int, int], ...]
    level_downsamples: tuple[float, ...]
    mpp: float | None
    objective_power: float | None
    backend_name: str
    mpp_tolerance: float

    @classmethod
    def of(
        cls,
        path: str,
        *,
        read_options: ReadOptions | None = None,
        slide_mpp: float | None = None,
        backend: BackendName | None = None,
    ) -> SlideGeometry:
        from slidepatch.slide import Slide

        with Slide.open(path, read_options=read_options, mpp=slide_mpp, backend=backend) as slide:
            return cls.from_slide(slide)

    @classmethod
    def from_slide(cls, slide: Slide) -> SlideGeometry:
        from slidepatch.slide.slide import slide_id_from_path

        mpp = slide.mpp
        power: float | None = None
        text = slide.properties.get("openslide.objective-power")
        if text:
            try:
                power = float(text)
            except ValueError:
                power = None
        return cls(
            path=slide.path,
            slide_id=slide_id_from_path(slide.path),
            dimensions=slide.dimensions,
            level_dimensions=slide.level_dimensions,
            level_downsamples=slide.level_downsamples,
            mpp=None if mpp is None else float(mpp[0]),
            objective_power=power,
            backend_name=slide.backend_name,
            mpp_tolerance=slide.mpp_tolerance,
        )

    def level_mpp(self, level: int) -> float | None:
        return None if self.mpp is None else self.mpp * self.level_downsamples[level]

    def level_for_ratio(self, ratio: float) -> int | None:
        """The level whose downsample is ``ratio`` (level-0 px per read px), if any."""
        for level, ds in enumerate(self.level_downsamples):
            if abs(ds - ratio) <= LEVEL_MATCH * ratio:
                return level
        return None

    def resolution_for_ratio(self, ratio: float, *, file: str) -> Resolution:
        """The resolution that reads ``ratio`` level-0 px per output pixel: a pyramid level
        when one has that downsample, else the MPP."""
        level = self.level_for_ratio(ratio)
        if level is not None:
            return Level(level)
        if self.mpp is None:
            raise CoordinateFileError(
                file,
                f"its patches cover {ratio:g} level-0 px per pixel, which is no pyramid level "
                f"of {self.path}, and the slide has no MPP; pass slide_mpp=",
            )
        return Mpp(self.mpp * ratio)

    def check_dimensions(self, level: int, dims: tuple[int, int], *, file: str) -> None:
        """Raise unless level ``level`` of this slide is ``dims`` (else: made for another slide)."""
        if level >= len(self.level_dimensions):
            raise CoordinateFileError(
                file,
                f"was made at pyramid level {level}, but {self.path} has only "
                f"{len(self.level_dimensions)} levels: is it paired with the right slide?",
            )
        actual = tuple(int(v) for v in self.level_dimensions[level])
        if actual != tuple(int(v) for v in dims):
            where = "level 0" if level == 0 else f"level {level}"
            raise CoordinateFileError(
                file,
                f"was made for a slide of {dims[0]} x {dims[1]} px at {where}, but {self.path} "
                f"is {actual[0]} x {actual[1]}: is it paired with the right slide?",
            )


@dataclass(frozen=True)
class PatchGeometry:
    """How one PatchSet's patches are read from its slide: the numbers every format writes."""

    patch_size: int
    resolution: Resolution
    level0_per_pixel: float
    read_level: int
    is_native: bool
    read_mpp: float | None

    @property
    def patch_size_level0(self) -> int:
        """The patch side in level-0 pixels, from the slide's real downsample or MPP."""
        return round(self.patch_size * self.level0_per_pixel)

    @property
    def native_level(self) -> int | None:
        return self.read_level if self.is_native else None


def uniform_patch_size(patch_set: PatchSet, *, fmt: str, default: int | None = None) -> int:
    """The single square patch side that TRIDENT, CLAM and hs2p files can hold."""
    if len(patch_set) == 0:
        size = patch_set.param_info.get("patch_size", default)
        return int(size) if isinstance(size, (int, np.integer)) else int(default or 0)
    sizes = np.unique(np.concatenate([patch_set.width, patch_set.height]))
    if sizes.shape[0] != 1:
        raise CoordinateFileError(
            patch_set.slide_path,
            f"{fmt} files hold one square patch size per slide; these patches have sizes "
            f"{sorted(int(s) for s in sizes)[:6]}: save them as format='csv'",
        )
    return int(sizes[0])


def describe(patch_set: PatchSet, *, patch_size: int) -> tuple[SlideGeometry, PatchGeometry]:
    """The slide's geometry and the read plan slidepatch's extractors use for ``patch_set``
    (resampled MPPs included)."""
    from slidepatch.slide import Slide

    with Slide.open(patch_set.slide_path, read_options=patch_set.read_options) as opened:
        slide = SlideGeometry.from_slide(opened)
        plan = opened.plan(patch_set.resolution, resampling_mode="tile")
    return slide, PatchGeometry(
        patch_size=patch_size,
        resolution=patch_set.resolution,
        level0_per_pixel=float(plan.level0_per_pixel),
        read_level=int(plan.level),
        is_native=plan.is_native,
        read_mpp=plan.mpp,
    )
