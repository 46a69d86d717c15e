"""Online random sampling: a recipe for new random patch locations every epoch.

A fixed location set shows a model the same patches every epoch. An
:class:`OnlineRandomPatches` instead says how to draw ``num_patches`` random patches
from a slide's tissue mask; the stream and the PyTorch adapter draw a new set each epoch,
seeded by ``(seed, epoch, slide)`` so every rank and worker draws the same locations and
each takes its own part. The draw is :class:`~slidepatch.locations.WholeImageRandomPatches`'
(same foreground and overlap rules); its patches are then put in row-band order so that a
visit of consecutive patches reads neighbouring tiles.

With ``qc=`` (the extractors' thresholds), each candidate is scored by
:func:`~slidepatch.extract.qc.qc_scores` on a cheap view: the candidate read at the slide's
coarsest pyramid level where it still spans ``QC_VIEW_MIN_PX`` pixels a side. Failing
candidates are replaced by further seeded draws (at most ``QC_MAX_ROUNDS`` of
``num_patches`` candidates each), so the result is still a function of the seed alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from os import PathLike, fspath
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from slidepatch.errors import LocationError
from slidepatch.extract.qc import QcFilter, qc_scores
from slidepatch.locations.patchset import LevelOrMpp, PatchSet, check_level_or_mpp
from slidepatch.options import ReadOptions, read_options_of

if TYPE_CHECKING:
    from slidepatch.masks import MaskSource

QC_VIEW_MIN_PX = 64  # a candidate's side in its QC view (fractions need no more)
QC_MAX_ROUNDS = 8  # draws of num_patches candidates before a slide is given up
# Scores that need more than the candidate's pixels at a low level.
_QC_UNSUPPORTED = ("max_artifact", "min_mask_tissue", "min_blur")


@dataclass(frozen=True)
class OnlineRandomPatches:
    """``num_patches`` new random patches of ``wsi_file`` per epoch, inside ``mask_data``.

    ``mask_data`` is what :class:`~slidepatch.locations.WholeImageRandomPatches` takes (a
    :class:`~slidepatch.masks.Mask` is cheapest: it is not reloaded every epoch).
    Pass these objects in ``patches_pool``, alone or next to fixed location sets.
    """

    wsi_file: str | PathLike[str]
    mask_data: MaskSource
    num_patches: int
    patch_size: int = 256
    level_or_mpp: LevelOrMpp = 0
    weak_label: str = ""
    foreground_ratio: float = 0.95
    overlap_ratio: float = 0.95
    slide_mpp: float | None = None
    read_options: ReadOptions | None = None
    qc: Mapping[str, float] | QcFilter | None = None

    def __post_init__(self) -> None:
        n = self.num_patches
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{fspath(self.wsi_file)}: num_patches must be an int >= 0, got {n!r}")
        object.__setattr__(self, "level_or_mpp", check_level_or_mpp(self.level_or_mpp))
        qc = QcFilter.create(self.qc)
        bad = [k for k in _QC_UNSUPPORTED if qc is not None and getattr(qc, k) is not None]
        if bad:
            raise ValueError(
                f"{self.slide_path}: online sampling scores candidates on a low pyramid "
                f"level and does not support qc thresholds {bad} (use them at extraction)"
            )
        object.__setattr__(self, "qc", qc)

    @property
    def slide_path(self) -> str:
        return fspath(self.wsi_file)

    def with_read_options(self, read_options: ReadOptions | None) -> OnlineRandomPatches:
        """This recipe read with ``read_options`` (a stream's); its MPP override is kept
        when ``read_options`` has none."""
        if read_options is None:
            return self
        own = read_options_of(self.read_options, mpp=self.slide_mpp)
        if read_options.mpp is None and own.mpp is not None:
            read_options = replace(read_options, mpp=own.mpp)
        return replace(self, read_options=read_options)

    def sample(self, *, seed: int) -> PatchSet:
        """This epoch's locations: exactly ``num_patches`` of them, or a LocationError."""
        if self.num_patches == 0:
            return self.empty()
        ps, footprint = self._draw(seed=seed)
        if isinstance(self.qc, QcFilter):
            ps = self._filtered(ps, seed=seed, footprint=footprint)
        if len(ps) != self.num_patches:
            raise LocationError(
                self.slide_path,
                f"online sampling drew {len(ps)} patches instead of {self.num_patches}",
            )
        band = max(1, round(footprint))
        return ps.select(np.lexsort((ps.x, ps.y // band)))

    def _draw(self, *, seed: int) -> tuple[PatchSet, float]:
        """One draw of ``num_patches`` candidates, and their level-0 side."""
        from slidepatch.locations.classes import WholeImageRandomPatches

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
            read_options=self.read_options,
        )
        return locations.patch_set, locations.level0_footprint

    def _filtered(self, first: PatchSet, *, seed: int, footprint: float) -> PatchSet:
        """The first ``num_patches`` candidates that pass ``qc``, over seeded redraws."""
        from slidepatch.slide import Slide

        assert isinstance(self.qc, QcFilter)
        kept: list[tuple[int, int]] = []  # (draw, index) in the order kept
        seen: set[tuple[int, int]] = set()
        draws: list[PatchSet] = []
        rejected: Counter[str] = Counter()
        scored = 0
        with Slide.open(
            self.wsi_file, read_options=read_options_of(self.read_options, mpp=self.slide_mpp)
        ) as slide:
            level = _view_level(slide.level_downsamples, footprint)
            ds = slide.level_downsamples[level]
            side = max(1, round(footprint / ds))
            for r in range(QC_MAX_ROUNDS):
                ps = first if r == 0 else self._draw(seed=_round_seed(seed, r))[0]
                draws.append(ps)
                for i in range(len(ps)):
                    xy = (int(ps.x[i]), int(ps.y[i]))
                    if xy in seen:
                        continue  # drawn in an earlier round
                    seen.add(xy)
                    scored += 1
                    view = slide.read_region(xy, level, (side, side))
                    reason = self.qc.reason(qc_scores(view))
                    if reason is not None:
                        rejected[reason] += 1
                        continue
                    kept.append((r, i))
                    if len(kept) == self.num_patches:
                        return _gather(draws, kept)
        raise LocationError(
            self.slide_path,
            f"online sampling with qc={self.qc.as_dict()}: only {len(kept)} of "
            f"{self.num_patches} candidates passed after {scored} scored in "
            f"{QC_MAX_ROUNDS} draws (rejected: {dict(rejected)}); loosen qc or lower "
            "num_patches",
        )

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
            read_options=read_options_of(self.read_options, mpp=self.slide_mpp),
        )


def _round_seed(seed: int, r: int) -> int:
    """Draw ``r``'s seed: a function of the epoch's seed only (same on every rank)."""
    return int(np.random.SeedSequence([seed, r]).generate_state(1)[0])


def _view_level(downsamples: tuple[float, ...], footprint: float) -> int:
    """The coarsest level where a candidate spans at least ``QC_VIEW_MIN_PX`` a side."""
    ok = [k for k, d in enumerate(downsamples) if footprint / d >= QC_VIEW_MIN_PX]
    return max(ok) if ok else 0


def _gather(draws: list[PatchSet], kept: list[tuple[int, int]]) -> PatchSet:
    """The kept ``(draw, index)`` candidates as one set, in the order kept."""

    def col(name: str) -> npt.NDArray[np.int64]:
        return np.array([getattr(draws[d], name)[i] for d, i in kept], dtype=np.int64)

    labels = tuple(draws[d].labels[i] for d, i in kept)
    return replace(
        draws[0], x=col("x"), y=col("y"), width=col("width"), height=col("height"), labels=labels
    )
