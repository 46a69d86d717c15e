"""The slides of a training stream: fixed location sets, and online recipes drawn per epoch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from slidepatch.extract.base import filter_patch_set
from slidepatch.locations.online import OnlineRandomPatches
from slidepatch.locations.patchset import PatchSet
from slidepatch.pools._inputs import collect_patch_sets
from slidepatch.pools._stream_order import sample_seed
from slidepatch.pools._stream_plan import kept_indices

Source = PatchSet | OnlineRandomPatches


@dataclass(frozen=True)
class EpochSources:
    """Per slide: a label-filtered PatchSet and its kept indices, or an online recipe."""

    sources: tuple[Source, ...]
    kept: tuple[npt.NDArray[np.int64] | None, ...]
    online_kept: tuple[bool, ...]  # an online slide's weak label passes the label filter

    @classmethod
    def collect(
        cls, patches_pool: object, *, included: Sequence[str], excluded: Sequence[str]
    ) -> EpochSources:
        items: list[object]
        if isinstance(patches_pool, (list, tuple)) and any(
            isinstance(item, OnlineRandomPatches) for item in patches_pool
        ):
            items = list(patches_pool)
        else:
            items = list(collect_patch_sets(patches_pool))
        sources: list[Source] = []
        kept: list[npt.NDArray[np.int64] | None] = []
        ok: list[bool] = []
        for item in items:
            if isinstance(item, OnlineRandomPatches):
                sources.append(item)
                kept.append(None)
                label = item.weak_label
                ok.append(label in included if included else label not in excluded)
                continue
            (ps,) = collect_patch_sets([item])
            sources.append(filter_patch_set(ps, included=included, excluded=excluded))
            kept.append(kept_indices(ps, included=included, excluded=excluded))
            ok.append(True)
        return cls(sources=tuple(sources), kept=tuple(kept), online_kept=tuple(ok))

    @property
    def online(self) -> bool:
        return any(isinstance(src, OnlineRandomPatches) for src in self.sources)

    @property
    def slide_paths(self) -> list[str]:
        return [src.slide_path for src in self.sources]

    def labels(self) -> list[tuple[str, ...]]:
        """Every slide's labels this epoch (known before an online slide is drawn)."""
        out = []
        for src, ok in zip(self.sources, self.online_kept, strict=True):
            if isinstance(src, PatchSet):
                out.append(src.labels)
            else:
                out.append((src.weak_label,) * src.num_patches if ok else ())
        return out

    def epoch_set(self, s: int, *, seed: int, epoch: int) -> PatchSet:
        """Slide ``s``'s locations in ``epoch`` (an online slide is drawn here)."""
        src = self.sources[s]
        if isinstance(src, PatchSet):
            return src
        if not self.online_kept[s]:
            return src.empty()
        return src.sample(seed=sample_seed(seed=seed, epoch=epoch, slide=s))

    def epoch_sets(self, *, needed: Iterable[int], seed: int, epoch: int) -> list[PatchSet]:
        """Every slide's set this epoch; online slides not ``needed`` stay empty (not drawn)."""
        want = set(needed)
        return [
            self.epoch_set(s, seed=seed, epoch=epoch)
            if isinstance(src, PatchSet) or s in want
            else src.empty()
            for s, src in enumerate(self.sources)
        ]

    def kept_of(self, s: int, ps: PatchSet) -> npt.NDArray[np.int64]:
        """Input patch indices of slide ``s``'s set (an online draw is its own input)."""
        kept = self.kept[s]
        return np.arange(len(ps), dtype=np.int64) if kept is None else kept
