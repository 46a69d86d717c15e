"""Online random sampling: a recipe for new random patch locations every epoch.

A fixed location set shows a model the same patches every epoch. An
:class:`OnlineRandomPatches` instead says how to draw ``num_patches`` random patches
from a slide's tissue mask; the stream and the PyTorch adapter draw a new set each epoch,
seeded by ``(seed, epoch, slide)`` so every rank and worker draws the same locations and
each takes its own part. The draw is :class:`~slidepatch.locations.WholeImageRandomPatches`'
(same foreground and overlap rules); its patches are then put in row-band order so that a
visit of consecutive patches reads neighbouring tiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike, fspath
from typing import Any

import numpy as np

from slidepatch.errors import LocationError
from slidepatch.locations.patchset import LevelOrMpp, PatchSet, check_level_or_mpp


@dataclass(frozen=True)
class OnlineRandomPatches:
    """``num_patches`` new random patches of ``wsi_file`` per epoch, inside ``mask_data``.

    ``mask_data`` is what :class:`~slidepatch.locations.WholeImageRandomPatches` takes (a
    :class:`~slidepatch.masks.Mask` is cheapest: it is not reloaded every epoch).
    Pass these objects in ``patches_pool``, alone or next to fixed location sets.
    """

    wsi_file: str | PathLike[str]
    mask_data: Any
    num_patches: int
    patch_size: int = 256
    level_or_mpp: LevelOrMpp = 0
    weak_label: str = ""
    foreground_ratio: float = 0.95
    overlap_ratio: float = 0.95
    slide_mpp: float | None = None

    def __post_init__(self) -> None:
        n = self.num_patches
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{fspath(self.wsi_file)}: num_patches must be an int >= 0, got {n!r}")
        object.__setattr__(self, "level_or_mpp", check_level_or_mpp(self.level_or_mpp))

    @property
    def slide_path(self) -> str:
        return fspath(self.wsi_file)

    def sample(self, *, seed: int) -> PatchSet:
        """This epoch's locations: exactly ``num_patches`` of them, or a LocationError."""
        from slidepatch.locations.classes import WholeImageRandomPatches

        if self.num_patches == 0:
            return self.empty()
        locations = WholeImageRandomPatches(
            wsi_file=self.wsi_file,
            mask_data=self.mask_data,
            weak_label=self.weak_label,
            num_patches=self.num_patches,
            patch_size=self.patch_size,
            level_or_mpp=self.level_or_mpp,
            foreground_ratio=self.foreground_ratio,
            overlap_ratio=self.overlap_ratio,
            seed=seed,
            slide_mpp=self.slide_mpp,
        )
        ps = locations.patch_set
        if len(ps) != self.num_patches:
            raise LocationError(
                self.slide_path,
                f"online sampling drew {len(ps)} patches instead of {self.num_patches}",
            )
        band = max(1, round(locations.level0_footprint))
        return ps.select(np.lexsort((ps.x, ps.y // band)))

    def empty(self) -> PatchSet:
        """No patches (a slide this shard does not read this epoch, or a filtered label)."""
        z = np.zeros(0, dtype=np.int64)
        return PatchSet(
            slide_path=self.slide_path,
            level_or_mpp=self.level_or_mpp,
            x=z,
            y=z,
            width=z,
            height=z,
            labels=(),
            class_name="OnlineRandomPatches",
            slide_mpp=self.slide_mpp,
        )
