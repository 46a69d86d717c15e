"""Why a slide gave no patch locations: one reason, in words a user can act on.

Zero patches is never silent: the location classes attach a :class:`NoPatchesReason` to an
empty result and warn with it, and the command line prints it for the slide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from slidepatch.resolution import Resolution

NoPatchesKind = Literal[
    "labels", "no_polygons", "no_tissue", "patch_too_large", "foreground", "overlap", "none_asked"
]


@dataclass(frozen=True)
class NoPatchesReason:
    """``kind`` for code, ``message`` for people; ``labels``: labels the annotations have."""

    kind: NoPatchesKind
    message: str
    labels: tuple[str, ...] = ()


@dataclass
class CandidateStats:
    """Counts kept while candidates are validated, to explain an empty result."""

    candidates: int = 0
    foreground_passed: int = 0
    best_foreground: float = 0.0


def _quoted(labels: Sequence[str]) -> str:
    return ", ".join(repr(label) for label in labels) if labels else "none"


def label_reason(
    *, wanted: Sequence[str], present: Sequence[str], excluded: bool
) -> NoPatchesReason:
    """No polygon left after label filtering: say which labels the file has, and near misses."""
    have = tuple(sorted(set(present)))
    if not have:
        return NoPatchesReason("no_polygons", "the annotations hold no polygon")
    if excluded:
        return NoPatchesReason(
            "labels",
            f"excluded labels {_quoted(wanted)} remove every polygon; the annotations have "
            f"labels {_quoted(have)}",
            have,
        )
    near = []
    for label in wanted:
        same = [h for h in have if h != label and h.casefold() == str(label).casefold()]
        if same:
            near.append(f"{label!r} differs from {same[0]!r} only in case")
    hint = f" ({'; '.join(near)})" if near else ""
    return NoPatchesReason(
        "labels",
        f"no polygon has an included label {_quoted(wanted)}; the annotations have labels "
        f"{_quoted(have)}{hint}",
        have,
    )


def geometry_reason(
    *,
    footprint: float,
    patch_size: int,
    resolution: Resolution,
    slide_dimensions: tuple[int, int],
) -> NoPatchesReason | None:
    """The patch does not fit in the slide at all."""
    w, h = slide_dimensions
    if footprint <= w and footprint <= h:
        return None
    what = resolution.describe()
    return NoPatchesReason(
        "patch_too_large",
        f"the patch ({patch_size} px at {what} = {footprint:.0f} level-0 px) is larger than "
        f"the slide ({w} x {h} level-0 px)",
    )


def candidate_reason(
    stats: CandidateStats, *, foreground_ratio: float, overlap_ratio: float
) -> NoPatchesReason:
    """Every candidate was rejected: by the foreground test, or by the overlap test."""
    n = stats.candidates
    if n == 0:
        return NoPatchesReason("overlap", "no candidate position lies in any region")
    if stats.foreground_passed == 0:
        return NoPatchesReason(
            "foreground",
            f"all {n} candidate patches failed foreground_ratio={foreground_ratio:g} (the "
            f"most tissue in any was {stats.best_foreground:.0%})",
        )
    return NoPatchesReason(
        "overlap",
        f"all {stats.foreground_passed} candidate patches with enough tissue failed "
        f"overlap_ratio={overlap_ratio:g} (too little of each lies inside its region)",
    )
