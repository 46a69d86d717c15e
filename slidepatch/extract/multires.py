"""Multi-resolution centring: one patch per level or MPP, same pixel size, same centre.

For a base patch with level-0 top-left ``(x, y)`` and size ``(w, h)`` read at a resolution
whose level-0 pixels per output pixel is ``f_base``, the centre is
``(x + w * f_base / 2, y + h * f_base / 2)``; the patch for an entry with factor ``f_t`` has
top-left ``round(centre - size * f_t / 2)`` (Python rounding, half to even, as the reference
does, so file names match). Integer levels use the slide's exact downsamples, so pure-level
requests need no MPP metadata; float entries use ``mpp / slide_mpp``.
Locations may be negative or beyond the slide; reads pad them with the fill colour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from slidepatch.locations.patchset import LevelOrMpp, PatchSet
from slidepatch.resolution import Level, Mpp, Resolution, resolution_of
from slidepatch.slide.slide import Slide


def check_resolutions(values: object) -> list[Resolution]:
    """Parse a non-empty sequence of levels (int) and MPPs (float), once, into Level / Mpp."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"levels_or_mpps must be a list of ints and floats, got {values!r}")
    parsed = [resolution_of(v) for v in values]
    if not parsed:
        raise ValueError("levels_or_mpps must not be empty")
    return parsed


def level0_factor(*, slide: Slide, resolution: Resolution) -> float:
    """Level-0 pixels per output pixel: the level's downsample, or ``mpp / slide MPP``."""
    match resolution:
        case Level(index=level):
            return float(slide.level_downsamples[slide.check_level(level)])
        case Mpp(um_per_px=mpp):
            return mpp / slide.require_mpp(f"multi-resolution patch at MPP {mpp}")[0]


def multires_locations(
    *, slide: Slide, patch_set: PatchSet, levels_or_mpps: Sequence[Resolution | LevelOrMpp]
) -> npt.NDArray[np.int64]:
    """Level-0 top-lefts ``(N, L, 2)`` of every base patch at every entry, centred.

    Entry ``[i, j]`` is the top-left of base patch ``i`` at ``levels_or_mpps[j]`` (ints and
    floats, or :class:`Level` / :class:`Mpp`); all patches keep the base patch's pixel size.
    """
    entries = check_resolutions(levels_or_mpps)
    base = level0_factor(slide=slide, resolution=patch_set.resolution)
    factors = [level0_factor(slide=slide, resolution=e) for e in entries]
    n = len(patch_set)
    result = np.empty((n, len(entries), 2), dtype=np.int64)
    sizes = np.stack([patch_set.width, patch_set.height], axis=1).astype(np.float64)
    corners = np.stack([patch_set.x, patch_set.y], axis=1).astype(np.float64)
    centres = corners + sizes * base / 2.0
    for j, f in enumerate(factors):
        # np.rint rounds half to even, like Python's round()
        result[:, j, :] = np.rint(centres - sizes * f / 2.0).astype(np.int64)
    return result
